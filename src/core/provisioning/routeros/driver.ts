// The API-mode provisioning driver: carries one router's queued jobs to it over one RouterOS API
// connection. A job says which target to converge, never what to write: the desired state is
// read from the database now, so a job run late, twice, or after newer changes does no harm.
//
//   service  converge the service's PPP secret (and its queue with queue shaping) and its live
//            session (blocked: dropped; new address, user name, password or speed: dropped so it
//            reconnects with what was written)
//   profile  converge the plan's profiles; sessions on a profile whose rate changed reconnect
//   remove   the service left this router (moved or deleted): its managed objects go
//
// Few jobs: only the rows they touch are read (by name or exact comment). Many jobs: whole menus,
// once. Jobs go in growing chunks whose results are reported as each chunk is acknowledged; a
// connection failure throws, and the runner fails the jobs not reported yet, to be retried.
import type { ServiceContext } from '../../context.js';
import { RouterOSClient, RouterOSConnectError, RouterOSLoginError, RouterOSTimeoutError } from '../../routeros/index.js';
import type { RouterRow } from '../../db/rows.js';
import { connectOptionsFromRow, routerConnectOptions } from '../../routers/check.js';
import { recordRouterContact, type Router } from '../../routers/service.js';
import type { Job } from '../jobs.js';
import type { DriverRunOptions, JobResult, ProvisioningDriver } from '../runner.js';
import { buildDesiredState } from './desired.js';
import { diffState, indexRows, rowsInScope, type RouterPlan, type RowIndex } from './diff.js';
import { applyPlan, FULL_READ_THRESHOLD, isConnectionFailure, type OpOutcome } from './execute.js';
import { planKey, poolKey, queueName, serviceKey, type MarkerKey } from './naming.js';
import { readFullState, readMenu, readScopedState } from './read.js';
import type { ActualState, DesiredObject, DesiredService, DesiredState } from './types.js';
import { describeError } from '../../error-text.js';

/** Longest wait to open the connection, whatever the deadline. */
const CONNECT_TIMEOUT_CAP_MS = 10_000;

function idFromTarget(target: string, prefix: string): number | undefined {
  if (!target.startsWith(`${prefix}:`)) return undefined;
  const n = Number(target.slice(prefix.length + 1));
  return Number.isSafeInteger(n) && n > 0 ? n : undefined;
}

/** User names a job tells of besides the service's current one (the name it had on the router). */
function formerNames(job: Job): string[] {
  const out: string[] = [];
  const p = job.payload ?? {};
  if (typeof p.username === 'string' && p.username) out.push(p.username);
  if (Array.isArray(p.usernames)) for (const u of p.usernames) if (typeof u === 'string' && u) out.push(u);
  return out;
}

export function connectionErrorText(router: Router, err: unknown): string {
  if (err instanceof RouterOSLoginError) return `${router.name} refused the API user or password (${err.message})`;
  const msg = describeError(err);
  return router.host && msg.includes(router.host) ? msg : `${router.name}: ${msg}`;
}

/** Runs a database step (a runner's gate on its share of connections; by default at once). */
type DbStep = <T>(step: () => Promise<T>) => Promise<T>;
const direct: DbStep = (step) => step();

/**
 * Opens the API connection to `router`, recording the contact or the error (health checks own
 * the status). `via.row`: the router's row already read (no read here); `via.db`: the gate every
 * database step goes through (never held while the router is waited for).
 */
export async function connectRouter(ctx: ServiceContext, router: Router, timeoutMs: number, signal?: AbortSignal, via: { row?: RouterRow; db?: DbStep } = {}): Promise<RouterOSClient> {
  const withDb = via.db ?? direct;
  const opts = via.row ? connectOptionsFromRow(ctx, via.row, { timeoutMs }) : await withDb(() => routerConnectOptions(ctx, router, { timeoutMs }));
  opts.connectTimeoutMs = Math.min(timeoutMs, CONNECT_TIMEOUT_CAP_MS);
  if (signal) opts.signal = signal;
  try {
    const client = await RouterOSClient.connect(opts);
    await withDb(() => recordRouterContact(ctx.db, router.id, { at: ctx.clock.now() })).catch(() => undefined);
    return client;
  } catch (err) {
    const error = connectionErrorText(router, err);
    // Given up by the runner: it records the failure itself, and may have closed the database.
    if (!signal?.aborted) await withDb(() => recordRouterContact(ctx.db, router.id, { at: ctx.clock.now(), error })).catch(() => undefined);
    throw new RouterOSConnectError(error, { cause: err });
  }
}

interface Work {
  serviceIds: Set<number>;
  planIds: Set<number>;
  extraNames: string[];
  /** Sessions to drop for RADIUS disconnect jobs left from when the router was in RADIUS mode. */
  disconnects: Map<number, string>;
  results: JobResult[];
}

function classify(jobs: readonly Job[]): Work {
  const work: Work = { serviceIds: new Set(), planIds: new Set(), extraNames: [], disconnects: new Map(), results: [] };
  for (const job of jobs) {
    switch (job.kind) {
      case 'service':
      case 'remove': {
        const id = job.serviceId ?? idFromTarget(job.target, 'service');
        if (id === undefined) {
          work.results.push({ id: job.id, ok: false, error: `job ${job.id} names no service (${job.target})` });
          break;
        }
        work.serviceIds.add(id);
        work.extraNames.push(...formerNames(job));
        break;
      }
      case 'profile': {
        const raw = job.payload?.planId;
        const id = typeof raw === 'number' ? raw : idFromTarget(job.target, 'plan');
        if (id === undefined) work.results.push({ id: job.id, ok: false, error: `job ${job.id} names no plan (${job.target})` });
        else work.planIds.add(id);
        break;
      }
      case 'radius_disconnect': {
        const name = formerNames(job)[0];
        if (name) work.disconnects.set(job.id, name);
        else work.results.push({ id: job.id, ok: true, detail: 'no user name to disconnect' });
        break;
      }
      case 'radius_coa':
        // The router is in API mode now: the rate lives on its profile or queue, converged by
        // service and profile jobs; there is no RADIUS session to change.
        work.results.push({ id: job.id, ok: true, detail: 'not applicable in API mode' });
        break;
      default:
        work.results.push({ id: job.id, ok: false, error: `unknown job kind ${String(job.kind)}` });
    }
  }
  return work;
}

/** What to read for a scoped run: desired names and comments, plus names the jobs tell of. */
function lookupFor(desired: DesiredState, extraNames: string[]) {
  const inScope = <T extends { key: MarkerKey }>(list: T[]) => list.filter((o) => !desired.scope || desired.scope.has(o.key));
  const secrets = inScope(desired.secrets);
  const queues = inScope(desired.queues);
  const names = [...new Set([...secrets.map((s) => s.name), ...[...desired.services.values()].filter((s) => s.username).map((s) => s.username), ...extraNames])];
  return {
    secrets: { names, comments: [...new Set([...secrets, ...queues].map((s) => s.fields.comment!))] },
    queues: { names: [...new Set([...queues.map((x) => x.name), ...names.map(queueName)])], comments: [...new Set(queues.map((x) => x.fields.comment!))] },
  };
}

/** Per-job results from the plan and what applying it did. */
function jobResults(router: Router, jobs: readonly Job[], work: Work, plan: RouterPlan, outcomes: readonly OpOutcome[]): JobResult[] {
  const errors = new Map<MarkerKey, string[]>();
  const done = new Map<MarkerKey, string[]>();
  const add = (map: Map<MarkerKey, string[]>, key: MarkerKey, text: string) => {
    const list = map.get(key) ?? [];
    list.push(text);
    map.set(key, list);
  };
  for (const i of plan.invalid) add(errors, i.key, i.error);
  for (const o of outcomes) {
    if (!o.key) continue;
    if (o.ok) add(done, o.key, o.op === 'drop' ? `dropped ${o.count ?? 1} session(s) of ${o.name}` : `${o.op}d ${o.kind} ${o.name}`);
    else add(errors, o.key, o.error ?? 'failed');
  }
  const droppedByName = new Map(outcomes.filter((o) => o.op === 'drop').map((o) => [o.name, o]));
  const profileQueryFailures = outcomes.filter((o) => o.op === 'drop' && !o.ok && !o.key && o.name.startsWith('on '));
  const settled = new Set(work.results.map((r) => r.id));
  const results = [...work.results];
  const summarise = (texts: string[] | undefined) => (texts?.length ? texts.slice(0, 5).join('; ') + (texts.length > 5 ? `; … ${texts.length - 5} more` : '') : 'already as desired');
  for (const job of jobs) {
    if (settled.has(job.id)) continue;
    if (job.kind === 'service' || job.kind === 'remove') {
      const key = serviceKey(job.serviceId ?? Number(job.target.split(':')[1]));
      const errs = errors.get(key);
      results.push(errs?.length ? { id: job.id, ok: false, error: summarise(errs) } : { id: job.id, ok: true, detail: summarise(done.get(key)) });
    } else if (job.kind === 'profile') {
      const id = typeof job.payload?.planId === 'number' ? (job.payload.planId as number) : Number(job.target.split(':')[1]);
      const keys = [planKey(id), planKey(id, true), poolKey('plan', id), poolKey('router', router.id)];
      const errs = [...keys.flatMap((k) => errors.get(k) ?? []), ...profileQueryFailures.map((o) => o.error ?? 'failed')];
      results.push(errs.length ? { id: job.id, ok: false, error: summarise(errs) } : { id: job.id, ok: true, detail: summarise(keys.flatMap((k) => done.get(k) ?? [])) });
    } else if (job.kind === 'radius_disconnect') {
      const name = work.disconnects.get(job.id)!;
      const o = droppedByName.get(name);
      results.push(o && !o.ok ? { id: job.id, ok: false, error: o.error ?? 'failed' } : { id: job.id, ok: true, detail: o ? `dropped ${o.count ?? 1} session(s)` : 'no live session' });
    }
  }
  return results;
}

/**
 * The part of `desired` that speaks for `serviceIds` (profiles and pools stay whole): scoped to
 * their keys, with only their services, secrets and queues (a scoped diff looks at no other, so
 * it plans the same as on the whole lists). Many chunks of one turn narrow the same desired
 * state: `byKey` (from {@link desiredByKey}, made once) spares going through all of it each time.
 */
export function narrowed(desired: DesiredState, serviceIds: ReadonlySet<number>, byKey: DesiredByKey = desiredByKey(desired)): DesiredState {
  const keys = new Set<MarkerKey>();
  const services = new Map<MarkerKey, DesiredService>();
  const secrets: Array<[number, DesiredObject]> = [];
  const queues: Array<[number, DesiredObject]> = [];
  for (const id of serviceIds) {
    const key = serviceKey(id);
    keys.add(key);
    const s = desired.services.get(key);
    if (s) services.set(key, s);
    const own = byKey.get(key);
    if (own) {
      secrets.push(...own.secrets);
      queues.push(...own.queues);
    }
  }
  // In the whole lists' order, as the diff would meet them there.
  const inOrder = (list: Array<[number, DesiredObject]>) => list.sort((a, b) => a[0] - b[0]).map(([, o]) => o);
  return { ...desired, scope: keys, services, secrets: inOrder(secrets), queues: inOrder(queues) };
}

/** A desired state's secrets and queues by service key, each with its place in its list. */
export type DesiredByKey = Map<MarkerKey, { secrets: Array<[number, DesiredObject]>; queues: Array<[number, DesiredObject]> }>;

export function desiredByKey(desired: DesiredState): DesiredByKey {
  const out: DesiredByKey = new Map();
  const entry = (key: MarkerKey) => {
    let e = out.get(key);
    if (!e) out.set(key, (e = { secrets: [], queues: [] }));
    return e;
  };
  desired.secrets.forEach((o, i) => entry(o.key).secrets.push([i, o]));
  desired.queues.forEach((o, i) => entry(o.key).queues.push([i, o]));
  return out;
}

/** Jobs in a router's first chunk: small, so a router that fails early has little in flight. */
export const FIRST_CHUNK = 50;
/** Chunks double after each one that went through, up to this many jobs. */
export const MAX_CHUNK = 1000;
/** Commands in flight on one router's connection during a run (each within its own timeout). */
export const RUN_IN_FLIGHT = 100;

/** Thrown when a router stops answering part-way: the jobs not yet reported fail with its text. */
export class RouterGaveUpError extends Error {}

/**
 * The text for a router that stopped answering: "no answer from NAME within N s" for a timeout
 * (a stalled router), otherwise what the connection said.
 */
export function routerFailureText(router: Router, err: unknown, timeoutMs: number): string {
  const cause = err instanceof Error && err.cause !== undefined ? err.cause : undefined;
  if (err instanceof RouterOSTimeoutError || cause instanceof RouterOSTimeoutError || (err instanceof Error && /\btimed out\b/.test(err.message))) {
    return `no answer from ${router.name} within ${Math.round(timeoutMs / 100) / 10} s`;
  }
  return describeError(err);
}

/**
 * Runs one router's jobs on one connection, in chunks that grow (50, 100, 200 … 1000 jobs): each
 * chunk is read, diffed and applied, and its jobs' results are handed to `report` (the runner
 * records them at once), so what went through stays done when the router stalls part-way.
 * Every command has its own timeout (`commandTimeoutMs`); a command that gets no reply (or a
 * connection that closes) ends the run with a {@link RouterGaveUpError}, and the jobs not yet
 * reported are the runner's to fail. Returns the results not handed to `report`.
 * Exported for tests and sync; the runner calls it through apiDriver.
 */
export async function runApiJobs(ctx: ServiceContext, router: Router, jobs: Job[], opts: DriverRunOptions): Promise<JobResult[]> {
  const timeoutMs = opts.commandTimeoutMs ?? Math.max(1000, opts.deadline - Date.now());
  const kept: JobResult[] = [];
  const report = opts.report ?? (async (r: JobResult[]) => void kept.push(...r));
  // Profiles first: a secret can only name a profile that exists.
  const ordered = [...jobs.filter((j) => j.kind === 'profile'), ...jobs.filter((j) => j.kind !== 'profile')];
  const first = classify(ordered);
  if (first.serviceIds.size === 0 && first.planIds.size === 0 && first.disconnects.size === 0) {
    await report(first.results);
    return kept;
  }

  let client: RouterOSClient;
  try {
    client = await connectRouter(ctx, router, timeoutMs, opts.signal, { ...(opts.row ? { row: opts.row } : {}), ...(opts.db ? { db: opts.db } : {}) });
  } catch (err) {
    throw new RouterGaveUpError(routerFailureText(router, err, timeoutMs), { cause: err });
  }
  opts.progress?.();
  const read = { timeoutMs };
  const full = ordered.length > FULL_READ_THRESHOLD;
  // Many jobs: the router's secrets and queues are read whole while the desired state is read
  // from the database (neither waits for the other).
  const firstRead = full ? readFullState(client, { ...read, sessions: false }) : undefined;
  firstRead?.catch(() => undefined); // met (and its failure handled) in the first chunk
  // The desired state of the whole turn, read once (after the connect: the runner's watch for
  // silence is over, a slow database is not the router's fault); each chunk diffs its part.
  let desiredAll: DesiredState;
  try {
    desiredAll = await (opts.db ?? direct)(() => buildDesiredState(ctx.db, router, { serviceIds: [...first.serviceIds], planIds: [...first.planIds] }));
  } catch (err) {
    client.destroy();
    throw err;
  }
  // One listener for the whole run (not one per command): when the runner gives up, the
  // connection goes, and every command still in flight fails with it.
  const byKey = desiredByKey(desiredAll);
  const onAbort = () => client.destroy();
  opts.signal.addEventListener('abort', onAbort, { once: true });
  if (opts.signal.aborted) onAbort();
  try {
    let base: ActualState | undefined;
    let index: { secrets: RowIndex; queues: RowIndex } | undefined;
    let size = Math.max(1, opts.firstChunk ?? FIRST_CHUNK);
    for (let i = 0; i < ordered.length; ) {
      if (opts.signal.aborted) throw new RouterGaveUpError(`stopped before ${router.name} was done`);
      const chunk = ordered.slice(i, i + size);
      i += chunk.length;
      size = Math.min(MAX_CHUNK, size * 2);
      const work = classify(chunk);
      if (work.serviceIds.size === 0 && work.planIds.size === 0 && work.disconnects.size === 0) {
        await report(work.results);
        continue;
      }
      const desired = narrowed(desiredAll, work.serviceIds, byKey);
      let actual: ActualState;
      try {
        if (full) {
          // Secrets and queues read whole once; pools and profiles (few, and shared by every
          // chunk) again for each chunk, so one chunk sees what the one before created.
          if (!base) {
            base = await (firstRead ?? readFullState(client, { ...read, sessions: false }));
            index = { secrets: indexRows('secret', base.secrets), queues: indexRows('queue', base.queues) };
          } else {
            const [pools, profiles] = await Promise.all([readMenu(client, 'pool', read), readMenu(client, 'profile', read)]);
            base = { ...base, pools, profiles };
          }
          // Each chunk diffs only the rows its services can touch (as a scoped read would
          // return them), not every secret and queue of the router again.
          const keys = desired.scope;
          const names = <T extends { key: MarkerKey; name: string }>(list: readonly T[]) => list.filter((o) => keys!.has(o.key)).map((o) => o.name);
          actual = keys && index ? { ...base, secrets: rowsInScope(index.secrets, keys, names(desired.secrets)), queues: rowsInScope(index.queues, keys, names(desired.queues)) } : base;
        } else {
          actual = await readScopedState(client, lookupFor(desired, work.extraNames), read);
        }
      } catch (err) {
        throw isConnectionFailure(err) ? new RouterGaveUpError(routerFailureText(router, err, timeoutMs), { cause: err }) : err;
      }
      opts.progress?.();
      const plan = diffState(desired, actual);
      const dropping = new Set(plan.sessions.map((s) => s.name));
      for (const name of new Set(work.disconnects.values())) if (!dropping.has(name)) plan.sessions.push({ name, reason: 'disconnect' });
      const applied = await applyPlan(client, plan, { timeoutMs, inFlight: RUN_IN_FLIGHT, ...(opts.progress ? { onOutcome: opts.progress } : {}) });
      await report(jobResults(router, chunk, work, plan, applied.outcomes));
      const broken = applied.outcomes.find((o) => !o.ok && o.fatal);
      if (broken) throw new RouterGaveUpError(/no reply/.test(broken.error ?? '') ? `no answer from ${router.name} within ${Math.round(timeoutMs / 100) / 10} s` : `${router.name}: ${broken.error}`);
    }
    return kept;
  } finally {
    opts.signal.removeEventListener('abort', onAbort);
    await client.close().catch(() => undefined);
  }
}

/** The driver for API-mode routers. */
export const apiDriver: ProvisioningDriver = {
  run: (ctx, router, jobs, opts) => runApiJobs(ctx, router, jobs, opts),
};
