// Applying a plan on one connection: every command of a phase sent at once (tagged, pipelined,
// a bounded number in flight), each object's outcome collected on its own so one bad object
// never stops the rest. Objects that change the same way (a mass suspension's secrets: each
// `disabled=yes`), objects to remove and live sessions to drop go many to a command, as a list
// of ids, which RouterOS takes for `set` and `remove`; a list the router refuses goes again one
// object a command, so the others still go through and the refused one carries its own error.
//
// Phases, in order:
//   1. remove secrets and queues (frees names a create or rename may need)
//   2. create and update address pools, then profiles (a profile can only name a pool that
//      exists, a secret only a profile that exists)
//   3. create and update secrets and queues
//   4. drop live sessions that must reconnect (blocked, new address, new speed, …)
//   5. remove profiles (after no managed secret uses them), then pools (after no profile does)
import { menu, RouterOSCancelledError, RouterOSConnectionClosedError, RouterOSFatalError, RouterOSProtocolError, RouterOSTimeoutError, RouterOSTrapError, type Row, type RouterOSWriter } from '../../routeros/index.js';
import { finalName, rowKey, type RouterPlan, type RemoveOp, type SessionDrop, type UpdateOp } from './diff.js';
import type { MarkerKey } from './naming.js';
import { printWhereAny, readSessions } from './read.js';
import { MENU, SESSION_PROPLIST, type ObjectKind } from './types.js';
import { describeError } from '../../error-text.js';

export const DEFAULT_IN_FLIGHT = 500;
/**
 * Objects in one command that changes them alike (ids in one `.id` list): 10,000 suspensions
 * are 100 commands instead of 10,000, for the router to parse and answer and for us to send.
 */
export const IDS_PER_COMMAND = 100;
/** Above this many sessions to look up by name, read `/ppp/active` whole. */
export const FULL_READ_THRESHOLD = 200;

export interface ApplyOptions {
  signal?: AbortSignal;
  /** Per-command timeout (ms). */
  timeoutMs?: number;
  /** Commands in flight at once. Default 500. */
  inFlight?: number;
  /** Called as each object's outcome is known (the router is answering). */
  onOutcome?: (outcome: OpOutcome) => void;
}

export type OpKind = 'create' | 'update' | 'remove' | 'drop';

export interface OpOutcome {
  op: OpKind;
  kind: ObjectKind | 'session';
  key?: MarkerKey;
  name: string;
  ok: boolean;
  error?: string;
  /** drop: how many sessions were dropped. */
  count?: number;
  /** The connection failed (no reply in time, closed, cancelled): nothing more will get through it. */
  fatal?: boolean;
}

export interface ApplyCounts {
  created: number;
  updated: number;
  removed: number;
  /** Sessions dropped. */
  dropped: number;
  failed: number;
}

export interface ApplyResult {
  outcomes: OpOutcome[];
  counts: ApplyCounts;
}

/** Runs `fn` over `items` with at most `limit` running at once; never rejects. */
async function pool<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const lane = async () => {
    while (next < items.length) {
      const item = items[next++]!;
      await fn(item);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, lane));
}

/** True for errors that end what a connection can do (as opposed to a trap about one object). */
export function isConnectionFailure(err: unknown): boolean {
  return (
    err instanceof RouterOSTimeoutError ||
    err instanceof RouterOSConnectionClosedError ||
    err instanceof RouterOSCancelledError ||
    err instanceof RouterOSFatalError ||
    err instanceof RouterOSProtocolError
  );
}

export function errorText(err: unknown): string {
  if (err instanceof RouterOSTrapError) return err.message;
  return describeError(err);
}

function commandOptions(opts: ApplyOptions): { signal?: AbortSignal; timeoutMs?: number } {
  const out: { signal?: AbortSignal; timeoutMs?: number } = {};
  if (opts.signal) out.signal = opts.signal;
  if (opts.timeoutMs !== undefined) out.timeoutMs = opts.timeoutMs;
  return out;
}

/**
 * One command for a list of objects (`send`). Refused as a list (a trap: one of them gone
 * meanwhile, or a value one of them cannot take), each goes again on its own (`one`), so only the
 * one at fault fails; a connection failure fails them all.
 */
async function asList<T>(items: readonly T[], how: { send: () => Promise<unknown>; done: (item: T) => void; one: (item: T) => Promise<void>; failed: (item: T, err: unknown) => void }): Promise<void> {
  try {
    await how.send();
  } catch (err) {
    if (isConnectionFailure(err)) for (const item of items) how.failed(item, err);
    else await Promise.all(items.map(how.one));
    return;
  }
  for (const item of items) how.done(item);
}

/** Updates of one kind that set the same fields to the same values (and unset nothing). */
interface UpdateBatch {
  kind: ObjectKind;
  fields: Record<string, string>;
  ops: UpdateOp[];
}

/**
 * Updates that can go many to a command (same kind, the same values set, nothing unset, no new
 * name: a name is one object's) in lists of at most {@link IDS_PER_COMMAND}; the rest one each.
 */
export function batchUpdates(updates: readonly UpdateOp[]): { single: UpdateOp[]; batches: UpdateBatch[] } {
  const single: UpdateOp[] = [];
  const alike = new Map<string, UpdateBatch>();
  for (const u of updates) {
    if (u.changes.some((ch) => ch.to === undefined || ch.field === 'name')) {
      single.push(u);
      continue;
    }
    const fields: Record<string, string> = {};
    for (const ch of u.changes) fields[ch.field] = ch.to!;
    const key = JSON.stringify([u.kind, ...u.changes.map((ch) => [ch.field, ch.to!]).sort((a, b) => (a[0]! < b[0]! ? -1 : a[0]! > b[0]! ? 1 : 0))]);
    const group = alike.get(key);
    if (group) group.ops.push(u);
    else alike.set(key, { kind: u.kind, fields, ops: [u] });
  }
  const batches: UpdateBatch[] = [];
  for (const g of alike.values()) {
    if (g.ops.length === 1) {
      single.push(g.ops[0]!);
      continue;
    }
    for (let i = 0; i < g.ops.length; i += IDS_PER_COMMAND) batches.push({ kind: g.kind, fields: g.fields, ops: g.ops.slice(i, i + IDS_PER_COMMAND) });
  }
  return { single, batches };
}

/** Applies `plan` on the router behind `client`. Resolves with every object's outcome. */
export async function applyPlan(client: RouterOSWriter, plan: RouterPlan, opts: ApplyOptions = {}): Promise<ApplyResult> {
  const outcomes: OpOutcome[] = [];
  const limit = opts.inFlight ?? DEFAULT_IN_FLIGHT;
  const co = commandOptions(opts);
  const record = (o: OpOutcome) => {
    outcomes.push(o);
    opts.onOutcome?.(o);
  };
  const attempt = async (base: Omit<OpOutcome, 'ok' | 'error'>, fn: () => Promise<void>) => {
    try {
      await fn();
      record({ ...base, ok: true });
    } catch (err) {
      record({ ...base, ok: false, error: `${base.kind} ${base.name}: ${errorText(err)}`, ...(isConnectionFailure(err) ? { fatal: true } : {}) });
    }
  };

  const removeOne = (r: RemoveOp) => attempt({ op: 'remove', kind: r.kind, key: r.key, name: r.name }, () => menu.remove(client, MENU[r.kind], r.id, co));
  const removes = (kinds: ObjectKind[]) => {
    const lists: RemoveOp[][] = [];
    for (const kind of kinds) {
      const of = plan.remove.filter((r) => r.kind === kind);
      for (let i = 0; i < of.length; i += IDS_PER_COMMAND) lists.push(of.slice(i, i + IDS_PER_COMMAND));
    }
    return pool(lists, limit, (list) =>
      list.length === 1
        ? removeOne(list[0]!)
        : asList(list, {
            send: () => menu.remove(client, MENU[list[0]!.kind], list.map((r) => r.id), co),
            done: (r) => record({ op: 'remove', kind: r.kind, key: r.key, name: r.name, ok: true }),
            one: removeOne,
            failed: (r, err) => record({ op: 'remove', kind: r.kind, key: r.key, name: r.name, ok: false, error: `${r.kind} ${r.name}: ${errorText(err)}`, fatal: true }),
          }),
    );
  };
  const updateOne = (u: UpdateOp) =>
    attempt({ op: 'update', kind: u.kind, key: u.key, name: finalName(u) }, async () => {
      const set: Record<string, string> = {};
      const unset: string[] = [];
      for (const ch of u.changes) {
        if (ch.to === undefined) unset.push(ch.field);
        else set[ch.field] = ch.to;
      }
      // Sent together: the router runs them in order on this connection.
      await Promise.all([
        Object.keys(set).length ? menu.set(client, MENU[u.kind], u.id, set, co) : Promise.resolve(),
        ...unset.map((field) => client.write(`${MENU[u.kind]}/unset`, { '.id': u.id, 'value-name': field }, co)),
      ]);
    });
  // Objects given the same values: one `set` for each list of them.
  const updateMany = (b: UpdateBatch) =>
    asList(b.ops, {
      send: () => menu.set(client, MENU[b.kind], b.ops.map((u) => u.id), b.fields, co),
      done: (u) => record({ op: 'update', kind: u.kind, key: u.key, name: finalName(u), ok: true }),
      one: updateOne,
      failed: (u, err) => record({ op: 'update', kind: u.kind, key: u.key, name: finalName(u), ok: false, error: `${u.kind} ${finalName(u)}: ${errorText(err)}`, fatal: true }),
    });
  const writes = (kinds: ObjectKind[]) => {
    const { single, batches } = batchUpdates(plan.update.filter((u) => kinds.includes(u.kind)));
    return pool(
      [...plan.create.filter((c) => kinds.includes(c.kind)).map((c) => ({ c })), ...single.map((u) => ({ u })), ...batches.map((b) => ({ b }))],
      limit,
      (item) => {
        if ('c' in item) {
          const c = item.c;
          return attempt({ op: 'create', kind: c.kind, key: c.key, name: c.name }, async () => {
            await menu.add(client, MENU[c.kind], c.fields, co);
          });
        }
        return 'u' in item ? updateOne(item.u) : updateMany(item.b);
      },
    );
  };

  await removes(['secret', 'queue']);
  await writes(['pool']);
  await writes(['profile']);
  await writes(['secret', 'queue']);

  // Sessions: those the plan names, and those of secrets on a profile whose rate changed.
  const failedKeys = new Set(outcomes.filter((o) => !o.ok && o.key).map((o) => o.key!));
  const drops = new Map<string, SessionDrop>();
  for (const d of plan.sessions) if (!d.key || !failedKeys.has(d.key) || d.reason === 'blocked') drops.set(d.name, d);
  if (plan.sessionProfiles.length) {
    try {
      const onProfiles = await printWhereAny(client, MENU.secret, plan.sessionProfiles.map((p) => ['profile', p] as const), ['name', 'comment'], co);
      for (const row of onProfiles) {
        if (row.name && !drops.has(row.name)) {
          const key = rowKey('secret', row);
          drops.set(row.name, key ? { name: row.name, key, reason: 'speed changed' } : { name: row.name, reason: 'speed changed' });
        }
      }
    } catch (err) {
      for (const p of plan.sessionProfiles) record({ op: 'drop', kind: 'session', name: `on ${p}`, ok: false, error: `sessions on profile ${p}: ${errorText(err)}`, ...(isConnectionFailure(err) ? { fatal: true } : {}) });
    }
  }
  if (drops.size) await dropSessions(client, [...drops.values()], limit, co, record);

  await removes(['profile']);
  await removes(['pool']);

  const counts: ApplyCounts = { created: 0, updated: 0, removed: 0, dropped: 0, failed: 0 };
  for (const o of outcomes) {
    if (!o.ok) counts.failed++;
    else if (o.op === 'create') counts.created++;
    else if (o.op === 'update') counts.updated++;
    else if (o.op === 'remove') counts.removed++;
    else counts.dropped += o.count ?? 0;
  }
  return { outcomes, counts };
}

/** Finds the live sessions of `drops` (by user name, read now) and removes them. */
async function dropSessions(
  client: RouterOSWriter,
  drops: SessionDrop[],
  limit: number,
  co: { signal?: AbortSignal; timeoutMs?: number },
  record: (o: OpOutcome) => void,
): Promise<void> {
  let sessions: Row[];
  try {
    sessions =
      drops.length > FULL_READ_THRESHOLD
        ? await readSessions(client, co)
        : await printWhereAny(client, '/ppp/active', drops.map((d) => ['name', d.name] as const), SESSION_PROPLIST, co);
  } catch (err) {
    for (const d of drops) record({ op: 'drop', kind: 'session', key: d.key, name: d.name, ok: false, error: `session ${d.name}: ${errorText(err)}`, ...(isConnectionFailure(err) ? { fatal: true } : {}) });
    return;
  }
  const byName = new Map<string, string[]>();
  for (const s of sessions) {
    if (!s.name || !s['.id']) continue;
    const list = byName.get(s.name) ?? [];
    list.push(s['.id']);
    byName.set(s.name, list);
  }
  const work = drops.filter((d) => byName.has(d.name));
  const dropOne = async (d: SessionDrop) => {
    const ids = byName.get(d.name)!;
    try {
      await Promise.all(
        ids.map((id) =>
          menu.remove(client, '/ppp/active', id, co).catch((err: unknown) => {
            // Gone already (the subscriber hung up meanwhile): that is what we wanted.
            if (err instanceof RouterOSTrapError && /no such item/i.test(err.message)) return;
            throw err;
          }),
        ),
      );
      record({ op: 'drop', kind: 'session', key: d.key, name: d.name, ok: true, count: ids.length });
    } catch (err) {
      record({ op: 'drop', kind: 'session', key: d.key, name: d.name, ok: false, error: `session ${d.name}: ${errorText(err)}`, ...(isConnectionFailure(err) ? { fatal: true } : {}) });
    }
  };
  // Many sessions a command (a mass suspension drops thousands); a list the router refuses (one
  // of them hung up meanwhile) goes again one user at a time, where a session gone is no error.
  const batches: SessionDrop[][] = [];
  let batch: SessionDrop[] = [];
  let batchIds = 0;
  for (const d of work) {
    const n = byName.get(d.name)!.length;
    if (batch.length && batchIds + n > IDS_PER_COMMAND) {
      batches.push(batch);
      batch = [];
      batchIds = 0;
    }
    batch.push(d);
    batchIds += n;
  }
  if (batch.length) batches.push(batch);
  await pool(batches, limit, (b) =>
    b.length === 1
      ? dropOne(b[0]!)
      : asList(b, {
          send: () => menu.remove(client, '/ppp/active', b.flatMap((d) => byName.get(d.name)!), co),
          done: (d) => record({ op: 'drop', kind: 'session', key: d.key, name: d.name, ok: true, count: byName.get(d.name)!.length }),
          one: dropOne,
          failed: (d, err) => record({ op: 'drop', kind: 'session', key: d.key, name: d.name, ok: false, error: `session ${d.name}: ${errorText(err)}`, fatal: true }),
        }),
  );
}
