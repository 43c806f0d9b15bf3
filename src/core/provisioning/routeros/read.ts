// Reading what a router holds: whole menus (sync, big batches of jobs), or only the rows a few
// jobs touch, by name or exact comment, in OR queries of a bounded size.
import { menu, q, type Query, type Row, type RouterOSWriter } from '../../routeros/index.js';
import { MENU, PROPLIST, SESSION_PROPLIST, type ActualState, type ObjectKind } from './types.js';

/** Terms per OR query: long enough to save round trips, short enough for any router. */
export const OR_BATCH = 50;

export interface ReadOptions {
  signal?: AbortSignal;
  timeoutMs?: number;
}

function commandOptions(opts: ReadOptions): { signal?: AbortSignal; timeoutMs?: number } {
  const out: { signal?: AbortSignal; timeoutMs?: number } = {};
  if (opts.signal) out.signal = opts.signal;
  if (opts.timeoutMs !== undefined) out.timeoutMs = opts.timeoutMs;
  return out;
}

/** Every row of a kind. */
export function readMenu(client: RouterOSWriter, kind: ObjectKind, opts: ReadOptions = {}): Promise<Row[]> {
  return menu.print(client, MENU[kind], { proplist: PROPLIST[kind], ...commandOptions(opts) });
}

/** Every live PPP session (id, user name, address). */
export function readSessions(client: RouterOSWriter, opts: ReadOptions = {}): Promise<Row[]> {
  return menu.print(client, '/ppp/active', { proplist: SESSION_PROPLIST, ...commandOptions(opts) });
}

/** The whole router: pools, profiles, secrets, queues and sessions, read at once on one connection. */
export async function readFullState(client: RouterOSWriter, opts: ReadOptions & { sessions?: boolean } = {}): Promise<ActualState> {
  const [pools, profiles, secrets, queues, sessions] = await Promise.all([
    readMenu(client, 'pool', opts),
    readMenu(client, 'profile', opts),
    readMenu(client, 'secret', opts),
    readMenu(client, 'queue', opts),
    opts.sessions === false ? Promise.resolve(undefined) : readSessions(client, opts),
  ]);
  return sessions ? { pools, profiles, secrets, queues, sessions } : { pools, profiles, secrets, queues };
}

/**
 * Rows of `path` where any of `field=value` holds, for the given pairs, in OR queries of
 * {@link OR_BATCH} terms sent at once. Duplicates (a row matching two terms) come back once.
 */
export async function printWhereAny(
  client: RouterOSWriter,
  path: string,
  terms: ReadonlyArray<readonly [string, string]>,
  proplist: readonly string[],
  opts: ReadOptions = {},
): Promise<Row[]> {
  const unique = [...new Map(terms.filter(([, v]) => v !== '').map((t) => [`${t[0]}=${t[1]}`, t])).values()];
  if (unique.length === 0) return [];
  const batches: Array<Array<readonly [string, string]>> = [];
  for (let i = 0; i < unique.length; i += OR_BATCH) batches.push(unique.slice(i, i + OR_BATCH));
  const results = await Promise.all(
    batches.map((batch) => {
      const words: Query[] = batch.map(([f, v]) => q.eq(f, v));
      const where = words.length === 1 ? words : [q.or(...words)];
      return menu.print(client, path, { where, proplist, ...commandOptions(opts) });
    }),
  );
  const byId = new Map<string, Row>();
  for (const rows of results) for (const r of rows) byId.set(r['.id'] ?? `${byId.size}`, r);
  return [...byId.values()];
}

/** What to look up on the router for a scoped run. */
export interface ScopedLookup {
  /** Secret names and exact comments. */
  secrets: { names: string[]; comments: string[] };
  /** Queue names and exact comments. */
  queues: { names: string[]; comments: string[] };
}

/** Only the rows a few jobs touch (pools and profiles are few and always read whole). */
export async function readScopedState(client: RouterOSWriter, lookup: ScopedLookup, opts: ReadOptions = {}): Promise<ActualState> {
  const terms = (l: { names: string[]; comments: string[] }) => [...l.names.map((n) => ['name', n] as const), ...l.comments.map((c) => ['comment', c] as const)];
  const [pools, profiles, secrets, queues] = await Promise.all([
    readMenu(client, 'pool', opts),
    readMenu(client, 'profile', opts),
    printWhereAny(client, MENU.secret, terms(lookup.secrets), PROPLIST.secret, opts),
    printWhereAny(client, MENU.queue, terms(lookup.queues), PROPLIST.queue, opts),
  ]);
  return { pools, profiles, secrets, queues };
}
