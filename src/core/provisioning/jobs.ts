// The durable outbox. A job says "converge this target on this router"; whoever runs it reads
// the desired state at that moment, so a job run twice, or after newer changes, does no harm.
import type { Knex } from 'knex';
import type { Db } from '../db/tx.js';
import { isUniqueViolation, mapDbError } from '../db/errors.js';
import { heldBindings, JOB_HELD_BY_NOTICE_SQL } from '../notify/hold.js';
import { workerId as ownWorkerId } from './claims.js';
import { idArray, rowsOf } from '../db/sql.js';

export const JOB_KINDS = ['service', 'profile', 'remove', 'radius_coa', 'radius_disconnect'] as const;
export type JobKind = (typeof JOB_KINDS)[number];
export type JobStatus = 'pending' | 'running' | 'done' | 'cancelled';

export interface JobSpec {
  routerId: number;
  kind: JobKind;
  /** e.g. `service:42`, `plan:3`; one pending job per router, kind and target. */
  target: string;
  serviceId?: number | null;
  payload?: Record<string, unknown>;
}

export interface Job {
  id: number;
  routerId: number;
  serviceId: number | null;
  kind: JobKind;
  target: string;
  payload: Record<string, unknown>;
  status: JobStatus;
  attempts: number;
  lastError: string | null;
  nextAttemptAt: Date;
  createdAt: Date;
  doneAt: Date | null;
}

/** A running job older than this is assumed abandoned (its process died) and taken again. */
export const CLAIM_TIMEOUT_MS = 5 * 60_000;

/** A raw row of provisioning_jobs. */
export interface JobRow {
  id: bigint | number;
  router_id: number;
  service_id: number | null;
  kind: JobKind;
  target: string;
  payload: Record<string, unknown> | null;
  status: JobStatus;
  attempts: number;
  last_error: string | null;
  next_attempt_at: Date;
  created_at: Date;
  done_at: Date | null;
}

/** The columns of a job row (JobRow). */
const JOB_COLUMNS = ['id', 'router_id', 'service_id', 'kind', 'target', 'payload', 'status', 'attempts', 'last_error', 'next_attempt_at', 'created_at', 'done_at'];

/** The one mapping of a job row. */
export function toJob(r: JobRow): Job {
  return {
    id: Number(r.id),
    routerId: r.router_id,
    serviceId: r.service_id ?? null,
    kind: r.kind,
    target: r.target,
    payload: r.payload ?? {},
    status: r.status,
    attempts: r.attempts,
    lastError: r.last_error ?? null,
    nextAttemptAt: r.next_attempt_at,
    createdAt: r.created_at,
    doneAt: r.done_at ?? null,
  };
}

const BATCH = 5000;

/**
 * Queues jobs, coalescing with a pending job for the same router, kind and target (payload keys merge, the newer
 * value winning; the earlier due time stays). Set-based: one statement per 5,000 jobs.
 * Returns the ids of the pending jobs that now stand for the specs.
 */
export interface EnqueueOptions {
  /**
   * Queue them held already by this runner (`running`, claimed by it), for a caller that carries
   * them to the routers itself right after its transaction (a collections run): the runner then
   * reads them (takeHeldJobs) instead of claiming, and each job is written twice, not three
   * times. A pending job of the same target is taken over. What the runner does not get to, it
   * puts back (runJobs with `held`); a holder that dies leaves them to releaseDeadClaims.
   */
  holder?: string;
}

export async function enqueueJobs(db: Db, specs: JobSpec[], now: Date, opts: EnqueueOptions = {}): Promise<number[]> {
  const ids: number[] = [];
  const unique = new Map<string, JobSpec>();
  for (const s of specs) unique.set(`${s.routerId}|${s.kind}|${s.target}`, s);
  // In one order, whoever queues: two transactions queueing the same shared targets (a plan's
  // profile, from two chunks of a collections run or a payment beside one) take their keys in
  // the same order, so one waits for the other instead of each waiting for the other.
  const all = [...unique.values()].sort((a, b) => a.routerId - b.routerId || compare(a.kind, b.kind) || compare(a.target, b.target));
  // The rows travel as one JSON parameter (not ten placeholders a row): on the embedded database
  // binding thousands of parameters cost more than the insert.
  for (let i = 0; i < all.length; i += BATCH) {
    // One letter a key, no key for a null or no payload (JOB_ROWS reads them back as null and {}):
    // a mass run's chunk sends 1,000 jobs, and the columns' names were half of the JSON.
    const rows = all.slice(i, i + BATCH).map((s) => ({ r: s.routerId, s: s.serviceId ?? undefined, k: s.kind, t: s.target, p: s.payload }));
    if (opts.holder !== undefined) {
      for (const r of await rowsOf<{ id: bigint }>(db, HELD_INSERT, [JSON.stringify(rows), now, opts.holder, now, now, now, now, now, opts.holder])) ids.push(Number(r.id));
      continue;
    }
    const result = await rowsOf<{ id: bigint }>(
      db,
      `insert into provisioning_jobs (router_id, service_id, kind, target, payload, status, attempts, next_attempt_at, created_at, updated_at)
       select x.router_id, x.service_id, x.kind, x.target, x.payload, 'pending', 0, ?::timestamptz, ?::timestamptz, ?::timestamptz
         from (${JOB_ROWS}) as x
       on conflict (router_id, kind, target) where status = 'pending'
         do update set payload = provisioning_jobs.payload || excluded.payload,
                       service_id = coalesce(excluded.service_id, provisioning_jobs.service_id),
                       next_attempt_at = least(provisioning_jobs.next_attempt_at, excluded.next_attempt_at),
                       updated_at = excluded.updated_at
       returning id`,
      [now, now, now, JSON.stringify(rows)],
    );
    for (const r of result) ids.push(Number(r.id));
  }
  // Held jobs are this runner's: no one else is to be woken for them.
  if (ids.length && opts.holder === undefined) await notifyJobs(db);
  return ids;
}

const compare = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** The jobs enqueueJobs sends (`?`: their JSON, one letter a key) as rows with the columns' names. */
const JOB_ROWS = `select r.r as router_id, r.s as service_id, r.k as kind, r.t as target, coalesce(r.p, '{}'::jsonb) as payload
  from json_to_recordset(?::json) as r(r int, s int, k text, t text, p jsonb)`;

/**
 * enqueueJobs with a holder: the pending jobs of the same targets taken over (held, their payload
 * merged), the others inserted held. Bindings: the rows; claimed_at, claimed_by, updated_at (the
 * take-over); next_attempt_at, created_at, updated_at, claimed_at, claimed_by (the insert).
 */
const HELD_INSERT = `
  with x as (${JOB_ROWS}),
  took as (
    update provisioning_jobs p
       set status = 'running', claimed_at = ?::timestamptz, claimed_by = ?, updated_at = ?::timestamptz,
           payload = p.payload || x.payload, service_id = coalesce(x.service_id, p.service_id)
      from x
     where p.status = 'pending' and p.router_id = x.router_id and p.kind = x.kind and p.target = x.target
    returning p.id, p.router_id, p.kind, p.target),
  ins as (
    insert into provisioning_jobs (router_id, service_id, kind, target, payload, status, attempts, next_attempt_at, created_at, updated_at, claimed_at, claimed_by)
    select x.router_id, x.service_id, x.kind, x.target, x.payload, 'running', 0, ?::timestamptz, ?::timestamptz, ?::timestamptz, ?::timestamptz, ?
      from x
     where not exists (select 1 from took t where t.router_id = x.router_id and t.kind = x.kind and t.target = x.target)
    returning id)
  select id from took union all select id from ins`;

/** Wakes daemons listening for new jobs (PostgreSQL LISTEN/NOTIFY; harmless on PGlite). */
export async function notifyJobs(db: Db): Promise<void> {
  await db.raw(`select pg_notify('ispctl_jobs', '')`);
}

// ---- State changes ---------------------------------------------------------------------------
// Every change of a job's status is made here, each conditioned on the state it leaves:
//
//   pending ──claim──► running ──complete──► done
//      ▲                 │
//      └──fail/release───┘  (cancelled instead when a newer pending job covers the same target)
//
// complete, fail and release also require the claim to be the caller's (`claimed_by`), so a
// runner whose claim was taken back (its process looked dead, the claim timed out) never
// overwrites what the new holder did.

export interface ClaimFilter {
  ids?: number[];
  routerIds?: number[];
  serviceIds?: number[];
  /** Ignore backoff: take pending jobs even if their next attempt is later (jobs retry). */
  ignoreBackoff?: boolean;
  limit?: number;
  /** dueRouters only: jobs this runner holds already (queued held, see EnqueueOptions) count as due too. */
  holder?: string;
}

export { workerId } from './claims.js';

/** The jobs `filter` asks for that are due: pending ones whose time has come, and abandoned running ones. */
function dueJobs(db: Knex, filter: ClaimFilter, now: Date): Knex.QueryBuilder {
  const stale = new Date(now.getTime() - CLAIM_TIMEOUT_MS);
  const q = db('provisioning_jobs').where((w) => {
    w.where((p) => {
      p.where('status', 'pending');
      if (!filter.ignoreBackoff) p.where('next_attempt_at', '<=', now);
    }).orWhere((r) => r.where('status', 'running').where('claimed_at', '<', stale));
    if (filter.holder !== undefined) w.orWhere((h) => h.where('status', 'running').where('claimed_by', filter.holder!));
  });
  // Lists of ids travel as one array parameter each: a mass run asks for 10,000 jobs by id, and
  // 10,000 placeholders cost more to send and plan than the claim itself.
  if (filter.ids) q.whereRaw('id = any(?::bigint[])', [idArray(filter.ids)]);
  if (filter.routerIds) q.whereRaw('router_id = any(?::int[])', [idArray(filter.routerIds)]);
  if (filter.serviceIds) q.whereRaw('service_id = any(?::bigint[])', [idArray(filter.serviceIds)]);
  // A suspension waits for its notice to be delivered or given up (src/core/notify/hold.ts).
  q.whereRaw(`not ${JOB_HELD_BY_NOTICE_SQL}`, heldBindings(now));
  return q;
}

/**
 * Takes due jobs for this runner: pending ones whose time has come, and running ones abandoned
 * by a dead runner. FOR UPDATE SKIP LOCKED lets several runners share the queue on PostgreSQL.
 */
export async function claimJobs(db: Knex, filter: ClaimFilter, now: Date, worker = ownWorkerId()): Promise<Job[]> {
  const sub = dueJobs(db, { ...filter, holder: undefined }, now)
    .select('id')
    .orderBy('id')
    .limit(filter.limit ?? 50_000)
    .forUpdate()
    .skipLocked();
  // The columns of a job, not `*`: a mass run claims 10,000 rows at once, and the claim's own
  // columns (claimed_at, claimed_by, updated_at) were two more timestamps a row to send and parse.
  const rows = await db('provisioning_jobs')
    .update({ status: 'running', claimed_at: now, claimed_by: worker, updated_at: now })
    .whereIn('id', sub)
    .returning(JOB_COLUMNS);
  return (rows as JobRow[]).map(toJob).sort((a, b) => a.id - b.id);
}

/**
 * The jobs `filter` asks for that this runner holds already (queued held, see EnqueueOptions),
 * but those in `skip` (taken before) and suspensions still waiting for their notice: read, not
 * written, where a claim writes every row again. Oldest first, at most `filter.limit`.
 */
export async function takeHeldJobs(db: Knex, filter: ClaimFilter, now: Date, worker: string, skip: readonly number[] = []): Promise<Job[]> {
  const q = db('provisioning_jobs').select(JOB_COLUMNS).where({ status: 'running', claimed_by: worker });
  if (filter.ids) q.whereRaw('id = any(?::bigint[])', [idArray(filter.ids)]);
  if (filter.routerIds) q.whereRaw('router_id = any(?::int[])', [idArray(filter.routerIds)]);
  if (filter.serviceIds) q.whereRaw('service_id = any(?::bigint[])', [idArray(filter.serviceIds)]);
  if (skip.length) q.whereRaw('not (id = any(?::bigint[]))', [idArray(skip)]);
  q.whereRaw(`not ${JOB_HELD_BY_NOTICE_SQL}`, heldBindings(now));
  const rows = (await q.orderBy('id').limit(filter.limit ?? 50_000)) as JobRow[];
  return rows.map(toJob);
}

/** Open jobs from which the statistics' picture of the queue is checked (see keepQueueStatistics). */
export const QUEUE_STATISTICS_FROM = 10_000;

/**
 * The queue's open jobs go from none to hundreds of thousands in a second (a mass suspension)
 * and back. PostgreSQL's statistics, gathered by autovacuum up to a minute later (on the
 * embedded database, which has no autovacuum, only when its server vacuums after a pause), then say the open jobs' indexes are empty,
 * and the planner walks one of them whole for every row: putting a failing router's 400 jobs
 * back took 17 s on a queue of 200,000 open jobs (9 ms once the statistics knew of them), and a
 * mass suspension with 50 routers away converged in two minutes instead of twenty seconds.
 * When the due jobs are many more than the statistics know of, they are gathered again
 * (ANALYZE of the status column reads a sample of 9,000 rows: about 80 ms at 880,000 jobs). Returns whether it did.
 */
export async function keepQueueStatistics(db: Knex, dueJobs: number): Promise<boolean> {
  if (dueJobs < QUEUE_STATISTICS_FROM) return false;
  const [known] = await rowsOf<{ n: number | string | null }>(db, `select reltuples::float8 as n from pg_class where oid = 'provisioning_jobs_due_idx'::regclass`);
  // -1: never gathered.
  if (dueJobs <= 2 * Math.max(0, Number(known?.n ?? 0))) return false;
  // The status column alone (a sample of 9,000 rows, see migration 20261209010000): ANALYZE
  // updates every index's size from it, which is what the planner was missing.
  await db.raw('analyze provisioning_jobs (status)');
  return true;
}

/** A router with due work, as the runner schedules it. */
export interface DueRouter {
  routerId: number;
  /** Due jobs (pending or abandoned). */
  jobs: number;
  /** Every due job has failed before: the router was unreachable or failing last time. */
  failing: boolean;
}

/**
 * Routers with due work: routers whose work is new first (their work has never failed), then
 * those whose work failed before, each group oldest work first. One statement.
 */
export async function dueRouters(db: Knex, filter: ClaimFilter, now: Date): Promise<DueRouter[]> {
  const rows = (await dueJobs(db, filter, now)
    .select('router_id')
    .count({ n: '*' })
    .min({ first: 'id' })
    .select(db.raw('bool_and(attempts > 0) as failing'))
    .groupBy('router_id')
    .orderByRaw('bool_and(attempts > 0), min(id)')) as Array<{ router_id: number; n: bigint | number | string; first: unknown; failing: boolean }>;
  return rows.map((r) => ({ routerId: Number(r.router_id), jobs: Number(r.n), failing: r.failing }));
}

/** running → done, for jobs this worker holds. */
export async function completeJobs(db: Db, ids: number[], now: Date, worker = ownWorkerId()): Promise<void> {
  for (let i = 0; i < ids.length; i += 10_000) {
    await db('provisioning_jobs')
      .whereRaw('id = any(?::bigint[])', [idArray(ids.slice(i, i + 10_000))])
      .where({ status: 'running', claimed_by: worker })
      .update({ status: 'done', done_at: now, updated_at: now, last_error: null, claimed_at: null, claimed_by: null });
  }
}

/**
 * The one statement that puts running jobs back in the queue: pending again, or cancelled when a
 * newer pending job for the same router, kind and target arrived meanwhile (it covers them).
 * `failed`: the attempt counts (attempts + 1, the error kept, backoff 5 s, 10 s, 20 s … capped
 * at 10 minutes, ±20 % jitter); otherwise the job is due again at once, its attempts unchanged.
 * `from` and `where` narrow the rows (`j` is the job); their bindings follow `now`.
 */
function requeueStatement(opts: { with?: string; from?: string; where: string; failed: boolean }): string {
  const covered = `exists (select 1 from provisioning_jobs p
                            where p.router_id = j.router_id and p.kind = j.kind and p.target = j.target and p.status = 'pending')`;
  return `${opts.with ?? ''}
    update provisioning_jobs j
       set status = case when ${covered} then 'cancelled' else 'pending' end,
           done_at = case when ${covered} then ?::timestamptz else null end,
           claimed_at = null,
           claimed_by = null,
           updated_at = ?::timestamptz,
           ${
             opts.failed
               ? `attempts = j.attempts + 1,
           last_error = f.err,
           next_attempt_at = ?::timestamptz + make_interval(secs => least(5 * power(2, j.attempts), 600) * (0.8 + 0.4 * random()))`
               : `next_attempt_at = ?::timestamptz`
           }
      ${opts.from ?? ''}
     where j.status = 'running' and ${opts.where}`;
}

/** Runs a requeue; two jobs of one target cannot both become pending in one statement, so on that conflict each goes alone. */
async function requeue(db: Db, ids: number[], run: (ids: number[]) => Promise<number>): Promise<number> {
  try {
    return await run(ids);
  } catch (err) {
    if (!isUniqueViolation(err) || ids.length <= 1) throw mapDbError(err);
    let n = 0;
    for (const id of ids) n += await run([id]);
    return n;
  }
}

const affected = (r: { rowCount?: number | null; affectedRows?: number }) => Number(r.rowCount ?? r.affectedRows ?? 0);

/**
 * running → pending with the error and a backoff (or cancelled, see requeueStatement), for jobs
 * this worker holds. Set-based.
 */
export async function failJobs(db: Db, failures: Array<{ id: number; error: string }>, now: Date, worker = ownWorkerId()): Promise<void> {
  for (let i = 0; i < failures.length; i += 5000) {
    const chunk = failures.slice(i, i + 5000);
    const errors = new Map(chunk.map((f) => [f.id, f.error]));
    await requeue(db, [...errors.keys()], async (ids) => {
      const values = ids.map(() => '(?::bigint, ?::text)').join(', ');
      const bindings = ids.flatMap((id) => [id, errors.get(id)!.slice(0, 2000)]);
      const sql = requeueStatement({ with: `with f(id, err) as (values ${values})`, from: 'from f', where: 'j.id = f.id and j.claimed_by = ?', failed: true });
      return affected(await db.raw(sql, [...bindings, now, now, now, worker]));
    });
  }
}

/**
 * running → pending, due at once, attempts unchanged (or cancelled, see requeueStatement), for
 * jobs this worker holds that it did not get to: the run ran out of time while the router was
 * answering. Not a failure, so no backoff. Returns how many went back.
 */
export async function releaseJobs(db: Db, ids: number[], now: Date, worker = ownWorkerId()): Promise<number> {
  let n = 0;
  for (let i = 0; i < ids.length; i += 10_000) {
    n += await requeue(db, ids.slice(i, i + 10_000), async (chunk) =>
      affected(await db.raw(requeueStatement({ where: 'j.id = any(?::bigint[]) and j.claimed_by = ?', failed: false }), [now, now, now, `{${chunk.join(',')}}`, worker])),
    );
  }
  return n;
}

/**
 * running → pending, due at once (or cancelled, see requeueStatement), for every job held by
 * one of `workers` (runners known to be dead). Returns how many went back.
 */
export async function releaseWorkersJobs(db: Db, workers: readonly string[], now: Date): Promise<number> {
  if (workers.length === 0) return 0;
  const run = async (where: string, binding: string | number) => affected(await db.raw(requeueStatement({ where, failed: false }), [now, now, now, binding]));
  const list = `{${workers.map((w) => `"${w.replace(/["\\]/g, '\\$&')}"`).join(',')}}`;
  try {
    return await run('j.claimed_by = any(?::text[])', list);
  } catch (err) {
    if (!isUniqueViolation(err)) throw mapDbError(err);
    const ids: Array<{ id: bigint | number }> = await db('provisioning_jobs').where({ status: 'running' }).whereIn('claimed_by', [...workers]).select('id').orderBy('id');
    let n = 0;
    for (const { id } of ids) n += await run('j.id = ?', Number(id));
    return n;
  }
}

/** Finished jobs (done or cancelled) are kept this many days, then the daemon's housekeeping forgets them. */
export const FINISHED_JOBS_KEEP_DAYS = 30;
/** Jobs forgotten per statement, and at most per pass (a pass stays short however much is due). */
const FORGET_BATCH = 10_000;
const FORGET_PER_PASS = 200_000;

/**
 * Forgets finished jobs (done or cancelled) older than `keepDays` before `now` (the clock that
 * wrote their done_at: the service clock, which a simulation may run fast or ISPCTL_NOW freeze),
 * oldest first, at most `max` in one call, in statements of FORGET_BATCH. Every router change
 * is a job, and a mass suspension at a million subscribers is a million of them: kept forever,
 * the queue's table would grow with every run. Open jobs (pending, running) are never touched.
 * Returns how many were forgotten.
 */
export async function forgetFinishedJobs(db: Db, now: Date, opts: { keepDays?: number; max?: number } = {}): Promise<number> {
  const keepDays = opts.keepDays ?? FINISHED_JOBS_KEEP_DAYS;
  const before = new Date(now.getTime() - keepDays * 86_400_000);
  const max = opts.max ?? FORGET_PER_PASS;
  let n = 0;
  while (n < max) {
    const batch = Math.min(FORGET_BATCH, max - n);
    // The oldest first, by id: they are at the start of the primary key, so each statement reads
    // about as many rows as it deletes.
    const gone = affected(
      await db.raw(
        `delete from provisioning_jobs where id in (
           select id from provisioning_jobs
            where status in ('done', 'cancelled') and done_at < ?::timestamptz
            order by id limit ?)`,
        [before, batch],
      ),
    );
    n += gone;
    if (gone < batch) break;
  }
  return n;
}

export interface JobListFilter {
  status?: JobStatus | 'open';
  routerId?: number;
  serviceId?: number;
  limit?: number;
}

export async function listJobs(db: Db, filter: JobListFilter = {}): Promise<Job[]> {
  const q = db('provisioning_jobs').select('*').orderBy('id', 'desc').limit(filter.limit ?? 100);
  if (filter.status === 'open' || filter.status === undefined) q.whereIn('status', ['pending', 'running']);
  else q.where('status', filter.status);
  if (filter.routerId !== undefined) q.where('router_id', filter.routerId);
  if (filter.serviceId !== undefined) q.where('service_id', filter.serviceId);
  return ((await q) as JobRow[]).map(toJob);
}

export interface JobCounts {
  pending: number;
  running: number;
  /** Pending jobs that have failed at least once. */
  failing: number;
}

export async function countOpenJobs(db: Db, filter: { ids?: number[]; routerIds?: number[] } = {}): Promise<JobCounts> {
  const q = db('provisioning_jobs')
    .whereIn('status', ['pending', 'running'])
    .select(db.raw(`count(*) filter (where status = 'pending') as pending`), db.raw(`count(*) filter (where status = 'running') as running`), db.raw(`count(*) filter (where status = 'pending' and attempts > 0) as failing`));
  if (filter.ids) q.whereRaw('id = any(?::bigint[])', [idArray(filter.ids)]);
  if (filter.routerIds) q.whereRaw('router_id = any(?::int[])', [idArray(filter.routerIds)]);
  const r = (await q.first()) as Record<string, bigint>;
  return { pending: Number(r.pending), running: Number(r.running), failing: Number(r.failing) };
}

/** listJobs with each job's router named (`#id` for a router that no longer exists). */
export async function listJobsWithRouter(db: Db, filter: JobListFilter = {}): Promise<Array<Job & { router: string }>> {
  const jobs = await listJobs(db, filter);
  const names = new Map(((await db('routers').select('id', 'name')) as Array<{ id: number; name: string }>).map((r) => [Number(r.id), r.name]));
  return jobs.map((j) => ({ ...j, router: names.get(j.routerId) ?? `#${j.routerId}` }));
}
