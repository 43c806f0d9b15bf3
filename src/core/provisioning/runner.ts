// Runs queued provisioning jobs: claims them, hands each router's jobs to the driver for its
// mode, and records what was done and what failed (to be retried with backoff). A router that
// cannot be reached fails only its own jobs; nothing is lost.
import type { Knex } from 'knex';
import type { ServiceContext } from '../context.js';
import { toRouter, type Router } from '../routers/service.js';
import { releaseDeadClaims } from './claims.js';
import { claimJobs, completeJobs, countOpenJobs, failJobs, type ClaimFilter, type Job, type JobCounts } from './jobs.js';

export type JobResult = { id: number; ok: true; detail?: string } | { id: number; ok: false; error: string };

/** Carries one router's jobs to it. Per-job failures are results; a throw fails every job. */
export interface ProvisioningDriver {
  run(ctx: ServiceContext, router: Router, jobs: Job[], opts: { deadline: number; signal: AbortSignal }): Promise<JobResult[]>;
}

export type Drivers = Record<Router['mode'], ProvisioningDriver>;

export interface RunOptions extends ClaimFilter {
  /** Give up on routers that have not answered by then (ms). Default 5 s. */
  timeoutMs?: number;
  /** Routers worked on at once. */
  concurrency?: number;
}

export interface RouterRunSummary {
  router: string;
  done: number;
  failed: number;
  error?: string;
}

export interface RunSummary {
  claimed: number;
  done: number;
  /**
   * Jobs among `ids` that another process (a daemon, another command) held and completed while
   * this run waited for them: the router was changed, just not by this process.
   */
  doneElsewhere: number;
  failed: number;
  routers: RouterRunSummary[];
  /** Jobs still open (of those asked about, when ids were given). */
  remaining: JobCounts;
}

class DeadlineError extends Error {}

/** After giving up on a router, how long its abandoned work may take to wind down (ms). */
const ABANDON_GRACE_MS = 1_000;

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export async function runJobs(ctx: ServiceContext, drivers: Drivers, opts: RunOptions = {}): Promise<RunSummary> {
  const db = ctx.db as Knex;
  const timeoutMs = opts.timeoutMs ?? 5_000;
  const started = Date.now();
  // Work a killed runner left `running` goes back to the queue first, so it is not stuck until
  // the claim timeout (src/core/provisioning/claims.ts).
  await releaseDeadClaims(db, ctx.clock.now());
  const jobs = await claimJobs(db, opts, ctx.clock.now());
  const byRouter = new Map<number, Job[]>();
  for (const j of jobs) {
    const list = byRouter.get(j.routerId) ?? [];
    list.push(j);
    byRouter.set(j.routerId, list);
  }
  const routerRows: Array<Record<string, unknown>> = byRouter.size ? await db('routers').whereIn('id', [...byRouter.keys()]) : [];
  const routers = new Map(routerRows.map((r) => [Number(r.id), toRouter(r as never)]));

  const summaries: RouterRunSummary[] = [];
  let done = 0;
  let failed = 0;
  const queue = [...byRouter.entries()];
  const workers = Array.from({ length: Math.min(opts.concurrency ?? 8, queue.length) }, async () => {
    for (let next = queue.shift(); next; next = queue.shift()) {
      const [routerId, routerJobs] = next;
      const router = routers.get(routerId);
      let results: JobResult[];
      let routerError: string | undefined;
      if (!router) {
        results = routerJobs.map((j) => ({ id: j.id, ok: false, error: 'router no longer exists' }));
      } else {
        const controller = new AbortController();
        const deadline = Date.now() + timeoutMs;
        let timer: NodeJS.Timeout | undefined;
        const work = drivers[router.mode].run(ctx, router, routerJobs, { deadline, signal: controller.signal });
        try {
          results = await Promise.race([
            work,
            new Promise<never>((_, reject) => {
              timer = setTimeout(() => reject(new DeadlineError(`no answer from ${router.name} within ${Math.round(timeoutMs / 100) / 10} s`)), timeoutMs);
            }),
          ]);
        } catch (err) {
          controller.abort();
          routerError = err instanceof Error ? err.message : String(err);
          results = routerJobs.map((j) => ({ id: j.id, ok: false, error: routerError! }));
          // The abort destroys the driver's connection; wait for it to wind down so nothing it
          // started (a connect, a write to the database) outlives this run.
          let grace: NodeJS.Timeout | undefined;
          await Promise.race([work.catch(() => undefined), new Promise<void>((r) => (grace = setTimeout(r, ABANDON_GRACE_MS)))]);
          clearTimeout(grace);
        } finally {
          if (timer) clearTimeout(timer);
        }
      }
      const seen = new Set(results.map((r) => r.id));
      for (const j of routerJobs) if (!seen.has(j.id)) results.push({ id: j.id, ok: false, error: 'the driver did not report on this job' });
      const ok = results.filter((r) => r.ok).map((r) => r.id);
      const bad = results.filter((r): r is Extract<JobResult, { ok: false }> => !r.ok).map((r) => ({ id: r.id, error: r.error }));
      const now = ctx.clock.now();
      await completeJobs(db, ok, now);
      await failJobs(db, bad, now);
      done += ok.length;
      failed += bad.length;
      summaries.push({ router: router?.name ?? `#${routerId}`, done: ok.length, failed: bad.length, ...(routerError || bad[0] ? { error: routerError ?? bad[0]!.error } : {}) });
    }
  });
  await Promise.all(workers);
  const doneElsewhere = opts.ids ? await awaitOthers(db, opts.ids, new Set(jobs.map((j) => j.id)), started + timeoutMs) : 0;
  const remaining = await countOpenJobs(db, { ids: opts.ids, routerIds: opts.routerIds });
  return { claimed: jobs.length, done, doneElsewhere, failed, routers: summaries.sort((a, b) => a.router.localeCompare(b.router)), remaining };
}

/**
 * Jobs asked for by id that another process held (claimed before us: the daemon woken by the
 * same change, another command) are not ours to run, but their outcome is the caller's outcome:
 * wait for them until `deadlineMs`, and count those that were done.
 */
async function awaitOthers(db: Knex, ids: readonly number[], ours: ReadonlySet<number>, deadlineMs: number): Promise<number> {
  const theirs = ids.filter((id) => !ours.has(id));
  if (theirs.length === 0) return 0;
  let pause = 50;
  for (;;) {
    const rows = (await db('provisioning_jobs').whereIn('id', theirs).select('id', 'status')) as Array<{ id: unknown; status: string }>;
    const running = rows.filter((r) => r.status === 'running').length;
    if (running === 0 || Date.now() + pause > deadlineMs) {
      // Done by someone else while we looked: they were pending or running when we claimed.
      return rows.filter((r) => r.status === 'done').length;
    }
    await sleep(pause);
    pause = Math.min(250, pause * 2);
  }
}
