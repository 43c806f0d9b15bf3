// `ispctl sync`: read each API-mode router whole, diff it against the desired state, show the
// plan, then apply it. Planning and applying are separate calls so the command can show the plan
// and ask before anything is removed.
import { reporter, type OnProgress } from '../../progress.js';
import type { ServiceContext } from '../../context.js';
import { RouterOSError } from '../../routeros/index.js';
import { getRouter, toRouter, type Router } from '../../routers/service.js';
import { runJobs, type Drivers, type RunSummary } from '../runner.js';
import { buildDesiredState } from './desired.js';
import { diffState, planCounts, planHasChanges, type PlanCounts, type RouterPlan } from './diff.js';
import { apiDriver, connectRouter } from './driver.js';
import { applyPlan, type ApplyCounts, type OpOutcome } from './execute.js';
import { readFullState } from './read.js';
import type { RouterRow } from '../../db/rows.js';
import { describeError } from '../../error-text.js';

export const DEFAULT_SYNC_TIMEOUT_MS = 30_000;

export interface SyncOptions {
  /** One router by name; default every router. */
  router?: string;
  prune?: boolean;
  adopt?: boolean;
  /** Per-command timeout talking to a router (ms). */
  timeoutMs?: number;
  /** Routers read at once. */
  concurrency?: number;
  /** How many routers are done (the core never prints). */
  onProgress?: OnProgress;
}

export interface SyncRouterInfo {
  id: number;
  name: string;
  host: string;
  port: number;
  mode: Router['mode'];
  shaping: Router['shaping'];
}

export type SyncStatus = 'planned' | 'skipped' | 'unreachable' | 'failed';

export interface RouterSyncPlan {
  router: SyncRouterInfo;
  status: SyncStatus;
  /** Why a router was skipped, or could not be read. */
  reason?: string;
  plan?: RouterPlan;
  counts?: PlanCounts;
  /** True when applying would change something. */
  changes?: boolean;
}

export interface RouterSyncOutcome {
  router: string;
  status: 'applied' | 'unchanged' | 'unreachable' | 'failed' | 'skipped';
  counts?: ApplyCounts;
  failures?: Array<Pick<OpOutcome, 'op' | 'kind' | 'name' | 'error'>>;
  error?: string;
  /** Queued jobs of the router run after the sync (they find little or nothing left to do). */
  jobs?: Pick<RunSummary, 'done' | 'failed'>;
}

function info(r: Router): SyncRouterInfo {
  return { id: r.id, name: r.name, host: r.host ?? '(pending)', port: r.apiPort, mode: r.mode, shaping: r.shaping };
}

async function routersFor(ctx: ServiceContext, name?: string): Promise<Router[]> {
  if (name !== undefined) return [await getRouter(ctx.db, name)];
  const rows: RouterRow[] = await ctx.db('routers').orderByRaw('lower(name)');
  return rows.map(toRouter);
}

async function eachLimited<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await fn(items[i]!);
      }
    }),
  );
  return out;
}

function describe(err: unknown): { status: 'unreachable' | 'failed'; reason: string } {
  const reason = describeError(err);
  return { status: err instanceof RouterOSError ? 'unreachable' : 'failed', reason };
}

/** Reads one API-mode router and computes its plan (a RADIUS-mode router is skipped). */
export async function planRouterSync(ctx: ServiceContext, router: Router, opts: SyncOptions = {}): Promise<RouterSyncPlan> {
  if (router.host === null) {
    return { router: info(router), status: 'skipped', reason: `pending: not onboarded yet (ispctl router onboard ${router.name})` };
  }
  if (router.mode !== 'api') {
    return {
      router: info(router),
      status: 'skipped',
      reason: 'RADIUS mode: FreeRADIUS answers this router from the database; there are no PPP secrets to sync',
    };
  }
  const timeoutMs = opts.timeoutMs ?? DEFAULT_SYNC_TIMEOUT_MS;
  try {
    const desired = await buildDesiredState(ctx.db, router);
    const client = await connectRouter(ctx, router, timeoutMs);
    try {
      const actual = await readFullState(client, { timeoutMs });
      const plan = diffState(desired, actual, { prune: opts.prune, adopt: opts.adopt });
      return { router: info(router), status: 'planned', plan, counts: planCounts(plan), changes: planHasChanges(plan) };
    } finally {
      await client.close().catch(() => undefined);
    }
  } catch (err) {
    return { router: info(router), ...describe(err) };
  }
}

/** Plans every router (or the one named), reading several at once. */
export async function planSync(ctx: ServiceContext, opts: SyncOptions = {}): Promise<RouterSyncPlan[]> {
  const routers = await routersFor(ctx, opts.router);
  const progress = reporter(opts.onProgress);
  let done = 0;
  progress({ phase: 'Reading routers', done, total: routers.length });
  return eachLimited(routers, opts.concurrency ?? 8, async (r) => {
    const plan = await planRouterSync(ctx, r, opts);
    progress({ phase: 'Reading routers', done: ++done, total: routers.length });
    return plan;
  });
}

/** Drivers for the jobs a sync lets run: only API-mode routers' jobs are run here. */
const syncDrivers: Drivers = {
  api: apiDriver,
  radius: { run: async (_c, _r, jobs) => jobs.map((j) => ({ id: j.id, ok: false as const, error: 'RADIUS-mode jobs are not run by sync' })) },
};

/** Applies one router's plan on a new connection, then lets the router's queued jobs run. */
export async function applyRouterSync(ctx: ServiceContext, planned: RouterSyncPlan, opts: SyncOptions = {}): Promise<RouterSyncOutcome> {
  const name = planned.router.name;
  if (planned.status !== 'planned' || !planned.plan) {
    const status = planned.status === 'planned' ? 'failed' : planned.status;
    return { router: name, status, ...(planned.reason ? { error: planned.reason } : {}) };
  }
  const timeoutMs = opts.timeoutMs ?? DEFAULT_SYNC_TIMEOUT_MS;
  let outcome: RouterSyncOutcome;
  if (!planned.changes) {
    outcome = { router: name, status: 'unchanged' };
  } else {
    try {
      const router = toRouter(await ctx.db('routers').where({ id: planned.router.id }).first());
      const client = await connectRouter(ctx, router, timeoutMs);
      try {
        const applied = await applyPlan(client, planned.plan, { timeoutMs });
        const failures = applied.outcomes.filter((o) => !o.ok).map((o) => ({ op: o.op, kind: o.kind, name: o.name, error: o.error }));
        outcome = { router: name, status: failures.length ? 'failed' : 'applied', counts: applied.counts, ...(failures.length ? { failures } : {}) };
      } finally {
        await client.close().catch(() => undefined);
      }
    } catch (err) {
      const d = describe(err);
      return { router: name, status: d.status, error: d.reason };
    }
  }
  // Jobs queued for this router converge to the state just written: they finish quickly, and
  // any session work they carry (e.g. a drop after a failed attempt) is done now.
  const open = await ctx.db('provisioning_jobs').where({ router_id: planned.router.id }).whereIn('status', ['pending']).count({ n: '*' }).first();
  if (Number((open as { n?: unknown } | undefined)?.n ?? 0) > 0) {
    const summary = await runJobs(ctx, syncDrivers, { routerIds: [planned.router.id], ignoreBackoff: true, timeoutMs });
    outcome.jobs = { done: summary.done, failed: summary.failed };
  }
  return outcome;
}

/** Applies the plans (routers one after the other's connection, several at once). */
export async function applySync(ctx: ServiceContext, plans: readonly RouterSyncPlan[], opts: SyncOptions = {}): Promise<RouterSyncOutcome[]> {
  const progress = reporter(opts.onProgress);
  let done = 0;
  progress({ phase: 'Applying to routers', done, total: plans.length });
  return eachLimited(plans, opts.concurrency ?? 8, async (p) => {
    const outcome = await applyRouterSync(ctx, p, opts);
    progress({ phase: 'Applying to routers', done: ++done, total: plans.length });
    return outcome;
  });
}
