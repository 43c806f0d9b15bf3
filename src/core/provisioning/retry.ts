// `ispctl jobs retry`: run queued router jobs now, including those waiting out a backoff after
// a failure, and report each job's state afterwards.
import type { ServiceContext } from '../context.js';
import { idArray, rowsOf } from '../db/sql.js';
import { invalid } from '../errors.js';
import { getRouter } from '../routers/service.js';
import { defaultDrivers } from './drivers.js';
import { listJobs, toJob, type Job, type JobRow } from './jobs.js';
import { runJobs, type Drivers, type RouterRunSummary } from './runner.js';

export interface RetryOptions {
  /** Only jobs of this router (name). */
  router?: string;
  /** Only these jobs. */
  ids?: number[];
  /** How long to wait for each router (ms). */
  timeoutMs: number;
  drivers?: Drivers;
  /** Keep watching unreachable routers this long (ms): each one's jobs go the moment it answers again. */
  waitMs?: number;
  /** Called when the watching starts. */
  onWait?: () => void;
}

export interface RetriedJob extends Job {
  /** The router's name. */
  router: string;
}

export interface RetryResult {
  tried: number;
  done: number;
  failed: number;
  /** Jobs still queued afterwards. */
  remaining: number;
  routers: RouterRunSummary[];
  /** The jobs asked about, in their state afterwards. */
  jobs: RetriedJob[];
}

/**
 * Takes the pending jobs (of one router, or the ids given, or all), carries them to their
 * routers now whatever their backoff says, and returns each job as it stands afterwards.
 * @throws IspctlError JOB_NOT_FOUND when an id names no job; ROUTER_NOT_FOUND
 */
export async function retryJobs(ctx: ServiceContext, opts: RetryOptions): Promise<RetryResult> {
  const router = opts.router !== undefined ? await getRouter(ctx.db, opts.router) : undefined;
  const ids = opts.ids?.length ? [...new Set(opts.ids)] : undefined;
  if (ids) {
    const found = new Set((await rowsOf<{ id: bigint }>(ctx.db, 'select id from provisioning_jobs where id = any(?::bigint[])', [idArray(ids)])).map((r) => Number(r.id)));
    const missing = ids.filter((id) => !found.has(id));
    if (missing.length) throw invalid('JOB_NOT_FOUND', `There is no job ${missing.join(', ')}.`, ['ispctl jobs list --status open shows the queued jobs']);
  }
  // Open jobs: pending ones, and running ones (a killed run's are taken back by runJobs; another
  // live process's are waited for).
  const before = await listJobs(ctx.db, { status: 'open', routerId: router?.id, limit: 1_000_000 });
  const asked = ids ? before.filter((j) => ids.includes(j.id)) : before;
  if (asked.length === 0) return { tried: 0, done: 0, failed: 0, remaining: 0, routers: [], jobs: [] };
  const drivers = opts.drivers ?? (await defaultDrivers());
  const summary = await runJobs(ctx, drivers, {
    ids: asked.map((j) => j.id),
    routerIds: router ? [router.id] : undefined,
    ignoreBackoff: true,
    timeoutMs: opts.timeoutMs,
  });
  let doneLater = 0;
  if (opts.waitMs && summary.remaining.pending + summary.remaining.running > 0) {
    const { retryAsRoutersReturn } = await import('./probe.js');
    opts.onWait?.();
    doneLater = await retryAsRoutersReturn(ctx, drivers, { ids: asked.map((j) => j.id), waitMs: opts.waitMs, timeoutMs: opts.timeoutMs });
  }
  const rows = await rowsOf<JobRow & { router_name: string }>(
    ctx.db,
    `select j.*, coalesce(r.name, '#' || j.router_id) as router_name
       from provisioning_jobs j left join routers r on r.id = j.router_id
      where j.id = any(?::bigint[]) order by j.id`,
    [idArray(asked.map((j) => j.id))],
  );
  const jobs = rows.map((r) => ({ ...toJob(r), router: r.router_name }));
  const remaining = jobs.filter((j) => j.status === 'pending' || j.status === 'running').length;
  return { tried: summary.claimed, done: summary.done + doneLater, failed: summary.failed, remaining, routers: summary.routers, jobs };
}
