// `ispctl jobs retry`: run queued router jobs now, including those waiting out a backoff after
// a failure, and report each job's state afterwards.
import type { ServiceContext } from '../context.js';
import { idArray, rowsOf } from '../db/sql.js';
import { invalid } from '../errors.js';
import { getRouter } from '../routers/service.js';
import { defaultDrivers } from './drivers.js';
import { toJob, type Job, type JobRow } from './jobs.js';
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
  // Open jobs: pending ones, and running ones (a killed run's are taken back by runJobs; another
  // live process's are waited for). Their ids only, read once: a queue of 10,000 jobs was read
  // whole (every column) before and again after, and the ids asked for were each looked up in a
  // list (a quadratic pass).
  const found = await rowsOf<{ id: bigint | number; router_id: number; open: boolean }>(
    ctx.db,
    ids
      ? `select id, router_id, status in ('pending', 'running') as open from provisioning_jobs where id = any(?::bigint[]) order by id`
      : `select id, router_id, true as open from provisioning_jobs where status in ('pending', 'running') ${router ? 'and router_id = ?' : ''} order by id`,
    ids ? [idArray(ids)] : router ? [router.id] : [],
  );
  if (ids) {
    const known = new Set(found.map((r) => Number(r.id)));
    const missing = ids.filter((id) => !known.has(id));
    if (missing.length) throw invalid('JOB_NOT_FOUND', `There is no job ${missing.join(', ')}.`, ['ispctl jobs list --status open shows the queued jobs']);
  }
  const asked = found.filter((r) => r.open && (!router || Number(r.router_id) === router.id)).map((r) => Number(r.id));
  if (asked.length === 0) return { tried: 0, done: 0, failed: 0, remaining: 0, routers: [], jobs: [] };
  const drivers = opts.drivers ?? (await defaultDrivers());
  const summary = await runJobs(ctx, drivers, {
    ids: asked,
    routerIds: router ? [router.id] : undefined,
    ignoreBackoff: true,
    timeoutMs: opts.timeoutMs,
  });
  let doneLater = 0;
  if (opts.waitMs && summary.remaining.pending + summary.remaining.running > 0) {
    const { retryAsRoutersReturn } = await import('./probe.js');
    opts.onWait?.();
    doneLater = await retryAsRoutersReturn(ctx, drivers, { ids: asked, waitMs: opts.waitMs, timeoutMs: opts.timeoutMs });
  }
  const rows = await rowsOf<JobRow & { router_name: string }>(
    ctx.db,
    `select j.*, coalesce(r.name, '#' || j.router_id) as router_name
       from provisioning_jobs j left join routers r on r.id = j.router_id
      where j.id = any(?::bigint[]) order by j.id`,
    [idArray(asked)],
  );
  const jobs = rows.map((r) => ({ ...toJob(r), router: r.router_name }));
  const remaining = jobs.filter((j) => j.status === 'pending' || j.status === 'running').length;
  return { tried: summary.claimed, done: summary.done + doneLater, failed: summary.failed, remaining, routers: summary.routers, jobs };
}
