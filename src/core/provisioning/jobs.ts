// The durable outbox. A job says "converge this target on this router"; whoever runs it reads
// the desired state at that moment, so a job run twice, or after newer changes, does no harm.
import type { Knex } from 'knex';
import type { Db } from '../db/tx.js';
import { isUniqueViolation, mapDbError } from '../db/errors.js';
import { workerId as ownWorkerId } from './claims.js';

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

const BATCH = 1000;

/**
 * Queues jobs, coalescing with a pending job for the same router, kind and target (payload keys merge, the newer
 * value winning; the earlier due time stays). Set-based: one statement per thousand jobs.
 * Returns the ids of the pending jobs that now stand for the specs.
 */
export async function enqueueJobs(db: Db, specs: JobSpec[], now: Date): Promise<number[]> {
  const ids: number[] = [];
  const unique = new Map<string, JobSpec>();
  for (const s of specs) unique.set(`${s.routerId}|${s.kind}|${s.target}`, s);
  const all = [...unique.values()];
  for (let i = 0; i < all.length; i += BATCH) {
    const rows = all.slice(i, i + BATCH).map((s) => ({
      router_id: s.routerId,
      service_id: s.serviceId ?? null,
      kind: s.kind,
      target: s.target,
      payload: JSON.stringify(s.payload ?? {}),
      status: 'pending',
      attempts: 0,
      next_attempt_at: now,
      created_at: now,
      updated_at: now,
    }));
    const result = await db.raw(
      `? on conflict (router_id, kind, target) where status = 'pending'
         do update set payload = provisioning_jobs.payload || excluded.payload,
                       service_id = coalesce(excluded.service_id, provisioning_jobs.service_id),
                       next_attempt_at = least(provisioning_jobs.next_attempt_at, excluded.next_attempt_at),
                       updated_at = excluded.updated_at
       returning id`,
      [db('provisioning_jobs').insert(rows)],
    );
    for (const r of result.rows as Array<{ id: bigint }>) ids.push(Number(r.id));
  }
  if (ids.length) await notifyJobs(db);
  return ids;
}

/** Wakes daemons listening for new jobs (PostgreSQL LISTEN/NOTIFY; harmless on PGlite). */
export async function notifyJobs(db: Db): Promise<void> {
  await db.raw(`select pg_notify('ispctl_jobs', '')`);
}

export interface ClaimFilter {
  ids?: number[];
  routerIds?: number[];
  serviceIds?: number[];
  /** Ignore backoff: take pending jobs even if their next attempt is later (jobs retry). */
  ignoreBackoff?: boolean;
  limit?: number;
}

export { workerId } from './claims.js';

/**
 * Takes due jobs for this runner: pending ones whose time has come, and running ones abandoned
 * by a dead runner. FOR UPDATE SKIP LOCKED lets several runners share the queue on PostgreSQL.
 */
export async function claimJobs(db: Knex, filter: ClaimFilter, now: Date, worker = ownWorkerId()): Promise<Job[]> {
  const stale = new Date(now.getTime() - CLAIM_TIMEOUT_MS);
  const sub = db('provisioning_jobs')
    .select('id')
    .where((q) => {
      q.where((p) => {
        p.where('status', 'pending');
        if (!filter.ignoreBackoff) p.where('next_attempt_at', '<=', now);
      }).orWhere((r) => r.where('status', 'running').where('claimed_at', '<', stale));
    })
    .orderBy('id')
    .limit(filter.limit ?? 50_000)
    .forUpdate()
    .skipLocked();
  if (filter.ids) sub.whereIn('id', filter.ids);
  if (filter.routerIds) sub.whereIn('router_id', filter.routerIds);
  if (filter.serviceIds) sub.whereIn('service_id', filter.serviceIds);
  const rows = await db('provisioning_jobs')
    .update({ status: 'running', claimed_at: now, claimed_by: worker, updated_at: now })
    .whereIn('id', sub)
    .returning('*');
  return (rows as JobRow[]).map(toJob).sort((a, b) => a.id - b.id);
}

export async function completeJobs(db: Db, ids: number[], now: Date): Promise<void> {
  for (let i = 0; i < ids.length; i += 10_000) {
    await db('provisioning_jobs')
      .whereIn('id', ids.slice(i, i + 10_000))
      .where('status', 'running')
      .update({ status: 'done', done_at: now, updated_at: now, last_error: null, claimed_at: null, claimed_by: null });
  }
}

/**
 * Puts failed jobs back in the queue with their error and next try (backoff 5 s, 10 s, 20 s …
 * capped at 10 minutes, ±20 % jitter). If a newer pending job for the same target arrived
 * meanwhile, the failed one is cancelled: the newer one covers it. Set-based.
 */
export async function failJobs(db: Db, failures: Array<{ id: number; error: string }>, now: Date): Promise<void> {
  for (let i = 0; i < failures.length; i += 5000) {
    const chunk = failures.slice(i, i + 5000);
    try {
      await failChunk(db, chunk, now);
    } catch (err) {
      // Two running jobs for one target failed together: the second cannot become pending in
      // the same statement. Rare; settle them one at a time so each sees the other.
      if (!isUniqueViolation(err) || chunk.length === 1) throw mapDbError(err);
      for (const f of chunk) await failChunk(db, [f], now);
    }
  }
}

async function failChunk(db: Db, chunk: Array<{ id: number; error: string }>, now: Date): Promise<void> {
  const values = chunk.map(() => '(?::bigint, ?::text)').join(', ');
  const bindings = chunk.flatMap((f) => [f.id, f.error.slice(0, 2000)]);
  await db.raw(
    `with f(id, err) as (values ${values})
     update provisioning_jobs j
        set attempts = j.attempts + 1,
            last_error = f.err,
            updated_at = ?::timestamptz,
            claimed_at = null,
            claimed_by = null,
            status = case when exists (select 1 from provisioning_jobs p
                                        where p.router_id = j.router_id and p.kind = j.kind and p.target = j.target and p.status = 'pending')
                          then 'cancelled' else 'pending' end,
            done_at = case when exists (select 1 from provisioning_jobs p
                                        where p.router_id = j.router_id and p.kind = j.kind and p.target = j.target and p.status = 'pending')
                           then ?::timestamptz else null end,
            next_attempt_at = ?::timestamptz + make_interval(secs => least(5 * power(2, j.attempts), 600) * (0.8 + 0.4 * random()))
       from f
      where j.id = f.id and j.status = 'running'`,
    [...bindings, now, now, now],
  );
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
  if (filter.ids) q.whereIn('id', filter.ids);
  if (filter.routerIds) q.whereIn('router_id', filter.routerIds);
  const r = (await q.first()) as Record<string, bigint>;
  return { pending: Number(r.pending), running: Number(r.running), failing: Number(r.failing) };
}

/** listJobs with each job's router named (`#id` for a router that no longer exists). */
export async function listJobsWithRouter(db: Db, filter: JobListFilter = {}): Promise<Array<Job & { router: string }>> {
  const jobs = await listJobs(db, filter);
  const names = new Map(((await db('routers').select('id', 'name')) as Array<{ id: number; name: string }>).map((r) => [Number(r.id), r.name]));
  return jobs.map((j) => ({ ...j, router: names.get(j.routerId) ?? `#${j.routerId}` }));
}
