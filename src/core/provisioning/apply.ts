// Applying router work now: the one core step that carries what a change queued to the routers,
// bounded by a timeout, and says how it went. Services return the ids of the jobs they queued;
// whoever made the change (a command, the daemon, the dashboard, a payment webhook) hands them
// here and renders the outcome. What does not make it in time stays queued: the daemon retries
// it with backoff, and `ispctl jobs retry` tries it at once.
import type { ServiceContext } from '../context.js';
import type { Db } from '../db/tx.js';
import { releaseJobs, workerId, type JobKind } from './jobs.js';
// The runner (and the router clients behind it) loads only when there is work: every command
// imports this module, most never apply anything.
import type { Drivers, RouterRunSummary } from './runner.js';
import { rowsOf } from '../db/sql.js';

/** What a change queued for the routers: the ids of its pending jobs. */
export type QueuedWork = readonly number[] | { readonly jobIds: readonly number[] };

/** A job still queued after the attempt. */
export interface QueuedJob {
  id: number;
  router: string;
  kind: JobKind;
  target: string;
  /** Why the last attempt failed (null: not tried yet, e.g. the timeout ran out first). */
  error: string | null;
}

export type ApplyStatus = 'none' | 'applied' | 'partial';

export interface ApplyOutcome {
  /** none: nothing was queued; applied: every job reached its router; partial: some stay queued. */
  status: ApplyStatus;
  /** Jobs handed in. */
  jobs: number;
  /** Jobs applied now. */
  applied: number;
  /** Jobs tried that failed (they stay queued, with their error). */
  failed: number;
  routers: RouterRunSummary[];
  /** How many of the jobs handed in are still queued. */
  remaining: number;
  /** The jobs still queued (the first {@link QUEUED_LIST_LIMIT}). */
  queued: QueuedJob[];
  /** A sentence for people when something stays queued; null otherwise. */
  message: string | null;
}

export interface ApplyOptions {
  /** How long to wait for the routers (ms): the longest a command waits for a reply, and for the whole attempt. Default 5 s. */
  timeoutMs?: number;
  /** The drivers (default: the real ones, loaded on first use). */
  drivers?: Drivers | (() => Promise<Drivers>);
  /** Take jobs even while they wait out a backoff after a failure (retries by hand). */
  ignoreBackoff?: boolean;
  /** The jobs were queued held by this process (see RunOptions.held). */
  held?: boolean;
}

/** At most this many still-queued jobs are listed in an outcome (the count is always exact). */
export const QUEUED_LIST_LIMIT = 1000;

const NOTHING: ApplyOutcome = { status: 'none', jobs: 0, applied: 0, failed: 0, routers: [], remaining: 0, queued: [], message: null };

export function jobIdsOf(work: QueuedWork): number[] {
  const ids = Array.isArray(work) ? (work as readonly number[]) : (work as { jobIds: readonly number[] }).jobIds;
  return [...new Set(ids)];
}

/** Merges what several steps queued. */
export function mergeQueued(...works: QueuedWork[]): number[] {
  return [...new Set(works.flatMap(jobIdsOf))];
}

interface QueuedRow {
  id: string | number | bigint;
  router: string | null;
  router_id: number;
  kind: JobKind;
  target: string;
  last_error: string | null;
}

/** The jobs among `ids` that are still pending or running, with their router's name. */
async function stillQueued(db: Db, ids: readonly number[]): Promise<{ count: number; jobs: QueuedJob[] }> {
  if (ids.length === 0) return { count: 0, jobs: [] };
  const rows = await rowsOf<QueuedRow>(
    db,
    `select j.id, r.name as router, j.router_id, j.kind, j.target, j.last_error
       from provisioning_jobs j left join routers r on r.id = j.router_id
      where j.id = any(?::bigint[]) and j.status in ('pending', 'running')
      order by j.id`,
    [`{${ids.join(',')}}`],
  );
  return {
    count: rows.length,
    jobs: rows.slice(0, QUEUED_LIST_LIMIT).map((r) => ({ id: Number(r.id), router: r.router ?? `#${r.router_id}`, kind: r.kind, target: r.target, error: r.last_error })),
  };
}

/** The sentence a person reads when work stays queued. */
export function describeOutcome(o: Pick<ApplyOutcome, 'remaining' | 'routers'>): string {
  const why = o.routers.filter((r) => r.error).map((r) => `${r.router}: ${r.error}`).join('; ');
  return `Saved, but ${o.remaining} router change${o.remaining === 1 ? '' : 's'} could not be applied yet and stay${o.remaining === 1 ? 's' : ''} queued${why ? ` (${why})` : ''}. They are retried automatically; run ispctl jobs retry to try now.`;
}

/** Two outcomes of one change's work applied in steps, as one: each router once, its counts added up. */
export function mergeOutcomes(a: ApplyOutcome, b: ApplyOutcome): ApplyOutcome {
  if (a.status === 'none') return b;
  if (b.status === 'none') return a;
  const routers = new Map<string, RouterRunSummary>();
  for (const r of [...a.routers, ...b.routers]) {
    const seen = routers.get(r.router);
    routers.set(r.router, seen ? { router: r.router, done: seen.done + r.done, failed: seen.failed + r.failed, ...((r.error ?? seen.error) ? { error: (r.error ?? seen.error)! } : {}) } : { ...r });
  }
  const remaining = a.remaining + b.remaining;
  const outcome: ApplyOutcome = {
    status: remaining > 0 ? 'partial' : 'applied',
    jobs: a.jobs + b.jobs,
    applied: a.applied + b.applied,
    failed: a.failed + b.failed,
    routers: [...routers.values()],
    remaining,
    queued: [...a.queued, ...b.queued].slice(0, QUEUED_LIST_LIMIT),
    message: null,
  };
  if (outcome.status === 'partial') outcome.message = describeOutcome(outcome);
  return outcome;
}

/**
 * Runs the queued jobs now, bounded by `timeoutMs` per router, and reports what happened. Call
 * after the transaction that queued them has committed. Never throws for a router that cannot
 * be reached: its jobs stay queued and the outcome says so (status `partial`).
 */
export async function applyNow(ctx: ServiceContext, work: QueuedWork, opts: ApplyOptions = {}): Promise<ApplyOutcome> {
  const ids = jobIdsOf(work);
  if (ids.length === 0) return { ...NOTHING, routers: [], queued: [] };
  let drivers: Drivers;
  let runner: typeof import('./runner.js');
  try {
    drivers = typeof opts.drivers === 'function' ? await opts.drivers() : (opts.drivers ?? (await (await import('./drivers.js')).defaultDrivers()));
    runner = await import('./runner.js');
  } catch (err) {
    // Held by this process and never to be run by it: back to the queue (runJobs does the same
    // for what it does not get to).
    if (opts.held) await releaseJobs(ctx.db, ids, ctx.clock.now(), workerId()).catch(() => undefined);
    throw err;
  }
  const { runJobs, DEFAULT_CONCURRENCY } = runner;
  const timeoutMs = opts.timeoutMs ?? 5_000;
  // The command waits `timeoutMs` at most, whatever the size of the work: what a router had not
  // acknowledged by then stays queued for the daemon (what it had stays done).
  // A lane per router at most, and there are no more routers than jobs (one job: one lane, which
  // looks for due routers once, not once for each of 32 lanes).
  const summary = await runJobs(ctx, drivers, { ids, timeoutMs, budgetMs: timeoutMs, concurrency: Math.min(ids.length, DEFAULT_CONCURRENCY), ...(opts.ignoreBackoff ? { ignoreBackoff: true } : {}), ...(opts.held ? { held: true } : {}) });
  // The run counted what is still open of these jobs: listed only when something is.
  const open = summary.remaining.pending + summary.remaining.running;
  const left = open === 0 ? { count: 0, jobs: [] } : await stillQueued(ctx.db, ids);
  const outcome: ApplyOutcome = {
    status: left.count > 0 ? 'partial' : 'applied',
    jobs: ids.length,
    // Done by this process, or by another one (the daemon) that held the job meanwhile.
    applied: summary.done + summary.doneElsewhere,
    failed: summary.failed,
    routers: summary.routers,
    remaining: left.count,
    queued: left.jobs,
    message: null,
  };
  if (outcome.status === 'partial') outcome.message = describeOutcome(outcome);
  return outcome;
}
