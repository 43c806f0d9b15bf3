// A collections run carried through to the routers, as `collections run` and the daemon do it:
// the run (chunk by chunk), then the held suspension notices of those it suspended (their
// suspensions wait for them, see src/core/notify/hold.ts), then the router work, bounded by the
// router timeout (what does not make it stays queued for the daemon). The run queues its router
// work held by this process already (each job written twice, not claimed a third time); what the
// router work does not get to goes back to the queue, and so does all of it when a step fails.
//
// One step after the run, not a step after each chunk while the run goes on: tried, with each
// chunk's work applied while the next chunk was worked out, 10,000 suspensions reached the lab
// router later, not sooner (PostgreSQL 3.4-4.0 s against 3.3-3.6 s; embedded 7.1-7.5 s against
// 4.7-6.0 s): on two cores the run and the router work share the same processors, and each
// step pays its connect and its read of the router's secrets again (bench/collections.mjs).
// Nor with one router session for the whole run, fed each chunk's jobs as it committed: no
// sooner either, and more CPU (docs/benchmarks.md, "Where the command's time goes").
import type { ServiceContext } from '../context.js';
import { NOTICE_BEFORE_ACTION_MS } from '../notify/hold.js';
import type { NotificationTransport, SendSummary } from '../notify/outbox.js';
import { applyNow, type ApplyOptions, type ApplyOutcome } from '../provisioning/apply.js';
import { releaseJobs, workerId } from '../provisioning/jobs.js';
import { runCollections, type RunCollectionsOptions, type RunCollectionsResult } from './run.js';

export interface ThroughOptions {
  /** How the router work is applied (timeout, drivers). */
  apply?: ApplyOptions;
  /** The notices' transport (default: the configured gateways). */
  transport?: NotificationTransport;
}

export interface CollectionsThroughResult {
  run: RunCollectionsResult;
  /** The held suspension notices sent before their suspensions (null: none were due). */
  notices: SendSummary | null;
  /** The run's router work (status none: it queued none, or a dry run). */
  routers: ApplyOutcome;
}

const NONE: ApplyOutcome = { status: 'none', jobs: 0, applied: 0, failed: 0, routers: [], remaining: 0, queued: [], message: null };

/** Two send summaries as one. */
export function mergeSends(a: SendSummary | null, b: SendSummary): SendSummary {
  if (!a) return b;
  return {
    claimed: a.claimed + b.claimed,
    sent: a.sent + b.sent,
    retrying: a.retrying + b.retrying,
    failed: a.failed + b.failed,
    deferred: a.deferred + b.deferred,
    givenUp: a.givenUp + b.givenUp,
    cancelled: a.cancelled + b.cancelled,
    more: a.more || b.more,
    errors: [...a.errors, ...b.errors],
  };
}

export async function runCollectionsThrough(ctx: ServiceContext, runOpts: RunCollectionsOptions = {}, opts: ThroughOptions = {}): Promise<CollectionsThroughResult> {
  const holder = workerId();
  // The jobs of the chunks committed so far: when a step fails before the router work, they go
  // back to the queue for the daemon, not left held by a process that gives up on them.
  const queued: number[] = [];
  const giveBack = () => releaseJobs(ctx.db, queued, ctx.clock.now(), holder).catch(() => undefined);
  let run: RunCollectionsResult;
  try {
    run = await runCollections(ctx, {
      ...runOpts,
      jobHolder: holder,
      onChunk: (chunk) => {
        queued.push(...chunk.jobIds);
        return runOpts.onChunk?.(chunk);
      },
    });
  } catch (err) {
    await giveBack();
    throw err;
  }
  if (run.dryRun) return { run, notices: null, routers: { ...NONE, routers: [], queued: [] } };
  let notices: SendSummary | null = null;
  try {
    if (run.suspended.length && run.notifications) {
      const { sendNotifications } = await import('../notify/outbox.js');
      notices = await sendNotifications(ctx, { heldOnly: true, subscriberIds: run.suspended, budgetMs: NOTICE_BEFORE_ACTION_MS, ...(opts.transport ? { transport: opts.transport } : {}) });
    }
  } catch (err) {
    queued.splice(0, queued.length, ...run.jobIds);
    await giveBack();
    throw err;
  }
  const routers = await applyNow(ctx, run.jobIds, { ...opts.apply, held: true });
  return { run, notices, routers };
}
