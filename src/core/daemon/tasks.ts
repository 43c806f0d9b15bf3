// The daemon's schedules: what each one does when it runs. Each is a thin call into the core
// service that does the work (billing, collections, the outbox, router health), which are all
// safe to run again: a run that crashed half way is simply run again.
import type { ServiceContext } from '../context.js';
import { toDecimalString } from '../money.js';
import type { NotificationTransport } from '../notify/outbox.js';
import type { ApplyOutcome } from '../provisioning/apply.js';
import type { Drivers, RunSummary } from '../provisioning/runner.js';
import { probeTargets, type ProbeTarget } from '../provisioning/probe.js';
import type { DaemonConfig } from './config.js';
import { checkRoutersHealth } from './health.js';
import type { LogLevel, TaskLog } from './logger.js';
import { closeStaleSessions } from './radius-stale.js';
import { releaseDeadClaims } from '../provisioning/claims.js';
import type { InstanceInfo, ScheduleName } from './store.js';

export interface TaskEnv {
  ctx: ServiceContext;
  config: DaemonConfig;
  log: TaskLog;
  drivers(): Promise<Drivers>;
  /** How long to wait for a router before leaving its work queued (ms). */
  routerTimeoutMs: number;
  leader: boolean;
  instance: InstanceInfo;
  notificationTransport?: NotificationTransport;
  /** Routers the reachability probe saw come back since the last jobs run (taken once). */
  takeReturnedRouters?(): number[];
  /** Tells the probe which routers have failed work to watch. */
  watchRouters?(targets: ProbeTarget[]): void;
  /** Routers the probe reported back whose work failed again: watched as unreachable again. */
  routersFailedAgain?(routerIds: number[]): void;
  /**
   * Between two transactions of a long task (a collections run between its chunks): on the
   * embedded database served to several processes, lets a waiting command (a payment) have its
   * turn. Absent on PostgreSQL, where they run side by side.
   */
  yieldTurn?(): Promise<void>;
}

export interface TaskResult {
  outcome: 'ok' | 'skipped';
  message: string;
  /** Log level of the message: debug for runs that found nothing to do. */
  level?: LogLevel;
  summary?: Record<string, unknown>;
  /** Work is left that the run had no time for: run it again at once, not after the interval. */
  again?: boolean;
}

export interface TaskDef {
  name: ScheduleName;
  /** Runs on the leader only (scheduled work runs once); jobs run on every instance. */
  leaderOnly: boolean;
  /** Needs `ispctl init` (billing terms, time zone). */
  needsInit: boolean;
  /** Interval schedules: time between runs. Billing runs at its slots instead. */
  intervalMs?(config: DaemonConfig): number;
  run(env: TaskEnv, slot?: string): Promise<TaskResult>;
}

/** How long one run of the outbox may keep starting sends before it yields to the other schedules. */
export const NOTIFY_RUN_BUDGET_MS = 20_000;
/** The same on the embedded database, where a running schedule keeps commands waiting. */
export const EMBEDDED_NOTIFY_RUN_BUDGET_MS = 5_000;

/** How often the stale-session sweep runs. */
export const RADIUS_STALE_INTERVAL_MS = 60_000;

function applyLine(o: ApplyOutcome): string {
  const routers = o.routers.filter((r) => r.error).map((r) => `${r.router}: ${r.error}`);
  return `${o.applied} router change(s) applied${o.failed ? `, ${o.failed} failed and will be retried` : ''}${o.remaining ? `, ${o.remaining} queued` : ''}${routers.length ? ` (${routers.join('; ')})` : ''}`;
}

function applySummary(o: ApplyOutcome): Record<string, unknown> {
  return { jobs: o.jobs, done: o.applied, failed: o.failed, pending: o.remaining };
}

function jobsLine(s: RunSummary): string {
  const open = s.remaining.pending + s.remaining.running;
  const routers = s.routers.filter((r) => r.error).map((r) => `${r.router}: ${r.error}`);
  return `${s.done} router change(s) applied${s.failed ? `, ${s.failed} failed and will be retried` : ''}${open ? `, ${open} queued` : ''}${routers.length ? ` (${routers.join('; ')})` : ''}`;
}

function jobsSummary(s: RunSummary): Record<string, unknown> {
  return { claimed: s.claimed, done: s.done, failed: s.failed, pending: s.remaining.pending, failing: s.remaining.failing };
}

const billing: TaskDef = {
  name: 'billing',
  leaderOnly: true,
  needsInit: true,
  async run(env, slot) {
    const [{ generateInvoices }, { applyNow }] = await Promise.all([import('../billing/generate.js'), import('../provisioning/apply.js')]);
    const r = await generateInvoices(env.ctx, slot ? { period: slot } : {});
    const applied = await applyNow(env.ctx, r.jobIds, { timeoutMs: env.routerTimeoutMs, drivers: env.drivers });
    const total = `${toDecimalString(r.totalMinor, r.currency)} ${r.currency}`;
    return {
      outcome: 'ok',
      message:
        `Billing for ${r.period.key} (${r.period.start} to ${r.period.end}): ${r.invoices} invoice(s) created` +
        `${r.invoicesExtended ? `, ${r.invoicesExtended} extended` : ''}, ${r.lines} line(s), total ${total}` +
        `${r.alreadyInvoiced ? `; ${r.alreadyInvoiced} service-period(s) were invoiced already` : ''}${r.skipped.length ? `; ${r.skipped.length} skipped` : ''}` +
        `${applied.status === 'none' ? '' : `; ${applyLine(applied)}`}`,
      summary: {
        period: r.period.key,
        prepaidPeriod: r.prepaidPeriod.key,
        issueDate: r.issueDate,
        invoices: r.invoices,
        invoicesExtended: r.invoicesExtended,
        lines: r.lines,
        totalMinor: r.totalMinor.toString(),
        currency: r.currency,
        alreadyInvoiced: r.alreadyInvoiced,
        skipped: r.skipped.length,
        firstNumber: r.firstNumber,
        lastNumber: r.lastNumber,
        jobs: applied.status === 'none' ? null : applySummary(applied),
      },
    };
  },
};

const collections: TaskDef = {
  name: 'collections',
  leaderOnly: true,
  needsInit: true,
  intervalMs: (c) => c.collectionsIntervalMs,
  async run(env) {
    const { runCollectionsThrough } = await import('../collections/through.js');
    // The run, then its suspension notices (the suspensions wait for them, see
    // src/core/notify/hold.ts), then its router work.
    const { run: r, routers: applied } = await runCollectionsThrough(
      env.ctx,
      { onChunk: () => env.yieldTurn?.() },
      { apply: { timeoutMs: env.routerTimeoutMs, drivers: env.drivers }, ...(env.notificationTransport ? { transport: env.notificationTransport } : {}) },
    );
    const jobs = applied.status === 'none' ? undefined : applied;
    const counts = { reminded: r.reminded.length, warned: r.warned.length, suspended: r.suspended.length, restored: r.restored.length, cleared: r.cleared.length };
    const anything = r.events > 0 || r.jobIds.length > 0;
    // The daemon never forces past the per-run cap: it holds the suspensions and raises the alert
    // (a warning in the log and the run's summary; the audit log has the cap-exceeded row).
    const held = r.suspensionsHeld;
    const alert =
      held?.reason === 'cap'
        ? ` ALERT: ${held.services} service(s) due for suspension, more than the ${held.limit} allowed in one run (collections-max-suspensions): no one suspended; check payments, then run ispctl collections run --force`
        : held?.reason === 'paused'
          ? ` Collections is paused: ${held.services} service(s) due for suspension are not suspended.`
          : '';
    return {
      outcome: 'ok',
      level: held?.reason === 'cap' ? 'warn' : anything ? 'info' : 'debug',
      message: `Collections for ${r.today}: ${counts.reminded} reminded, ${counts.warned} warned, ${counts.suspended} suspended, ${counts.restored} restored, ${counts.cleared} back to current; ${r.notifications} message(s) queued${jobs ? `; ${applyLine(jobs)}` : ''}.${alert}`,
      summary: { today: r.today, ...counts, events: r.events, notifications: r.notifications, jobs: jobs ? applySummary(jobs) : null, paused: r.paused !== null, suspensionsHeld: held },
    };
  },
};

const jobs: TaskDef = {
  name: 'jobs',
  leaderOnly: false,
  needsInit: false,
  intervalMs: (c) => c.jobsIntervalMs,
  async run(env) {
    const { runJobs } = await import('../provisioning/runner.js');
    // The leader gives the work of dead runners back to the queue first (sooner than the claim timeout).
    const released = env.leader ? await releaseDeadClaims(env.ctx.db, env.ctx.clock.now()) : 0;
    if (released) env.log.warn(`Took back ${released} router job(s) a stopped process had left running`, { released });
    // Routers that answer again: their work goes now, whatever its backoff said.
    const back = env.takeReturnedRouters?.() ?? [];
    if (back.length) {
      const r = await runJobs(env.ctx, await env.drivers(), { routerIds: back, ignoreBackoff: true, timeoutMs: env.routerTimeoutMs });
      if (r.claimed) env.log.info(`Queued work of returning router(s): ${jobsLine(r)}`, { claimed: r.claimed, done: r.done });
      env.routersFailedAgain?.(r.failedRouterIds.filter((id) => back.includes(id)));
    }
    // A long run (a mass suspension across hundreds of routers) still takes routers that answer
    // again between turns.
    const s = await runJobs(env.ctx, await env.drivers(), { timeoutMs: env.routerTimeoutMs, ...(env.takeReturnedRouters ? { returnedRouters: env.takeReturnedRouters } : {}) });
    env.routersFailedAgain?.(s.failedRouterIds);
    if (env.watchRouters) env.watchRouters(await probeTargets(env.ctx));
    return {
      outcome: 'ok',
      level: s.claimed ? (s.failed ? 'warn' : 'info') : 'debug',
      message: s.claimed ? jobsLine(s) : `Nothing due (${s.remaining.pending} queued${s.remaining.failing ? `, ${s.remaining.failing} failing` : ''})`,
      summary: { ...jobsSummary(s), released },
    };
  },
};

const health: TaskDef = {
  name: 'health',
  leaderOnly: true,
  needsInit: false,
  intervalMs: (c) => c.healthIntervalMs,
  async run(env) {
    const c = env.config;
    const r = await checkRoutersHealth(env.ctx, {
      degradedAfter: c.healthDegradedAfter,
      offlineAfter: c.healthOfflineAfter,
      timeoutMs: Math.min(env.routerTimeoutMs, c.healthIntervalMs),
    });
    for (const ch of r.changes) {
      const level = ch.to === 'online' ? 'info' : 'warn';
      env.log[level](`Router ${ch.router}: ${ch.from} → ${ch.to}${ch.error ? ` (${ch.failures} failed check(s) in a row: ${ch.error})` : ''}`, { router: ch.router, from: ch.from, to: ch.to, failures: ch.failures });
    }
    for (const x of r.registering) env.log.warn(x.advice, { router: x.router, status: 'registering' });
    for (const e of r.errors) env.log.error(`Router ${e.router} could not be checked: ${e.error}`, { router: e.router });
    let jobs: RunSummary | undefined;
    if (r.returned.length) {
      // Back online: its queued work goes now, whatever the backoff said.
      const { runJobs } = await import('../provisioning/runner.js');
      jobs = await runJobs(env.ctx, await env.drivers(), { routerIds: r.returned, ignoreBackoff: true, timeoutMs: env.routerTimeoutMs });
      if (jobs.claimed) env.log.info(`Queued work of returning router(s): ${jobsLine(jobs)}`, { claimed: jobs.claimed, done: jobs.done });
    }
    return {
      outcome: 'ok',
      level: r.changes.length || r.errors.length ? 'info' : 'debug',
      message: `${r.checked} router(s) checked: ${r.online} online, ${r.degraded} degraded, ${r.offline} offline${r.changes.length ? `; ${r.changes.length} changed` : ''}`,
      summary: {
        checked: r.checked,
        online: r.online,
        degraded: r.degraded,
        offline: r.offline,
        changes: r.changes.map((ch) => ({ router: ch.router, from: ch.from, to: ch.to })),
        errors: r.errors.length,
        returnedJobs: jobs ? jobsSummary(jobs) : null,
      },
    };
  },
};

const radiusStale: TaskDef = {
  name: 'radius-stale',
  leaderOnly: true,
  needsInit: false,
  intervalMs: () => RADIUS_STALE_INTERVAL_MS,
  async run(env) {
    const minutes = env.config.radiusStaleMinutes;
    if (minutes <= 0) return { outcome: 'skipped', level: 'debug', message: 'radius-stale-minutes is 0: stale sessions are left open' };
    const r = await closeStaleSessions(env.ctx.db, { now: env.ctx.clock.now(), staleMinutes: minutes });
    return {
      outcome: 'ok',
      level: r.closed ? 'info' : 'debug',
      message: r.closed
        ? `Closed ${r.closed} RADIUS session(s) with no accounting for ${minutes} min: ${r.sessions.slice(0, 5).map((s) => `${s.username ?? '?'}@${s.nas}`).join(', ')}${r.closed > 5 ? ', …' : ''}`
        : 'No stale RADIUS sessions',
      summary: { closed: r.closed, staleMinutes: minutes },
    };
  },
};

const notifications: TaskDef = {
  name: 'notifications',
  leaderOnly: true,
  needsInit: true,
  intervalMs: (c) => c.notifyIntervalMs,
  async run(env) {
    const { sendNotifications } = await import('../notify/outbox.js');
    // Drains the queue at the gateways' pace, NOTIFY_RUN_BUDGET_MS at a time so the other
    // schedules get their turn; on PostgreSQL a run that had more to send runs again at once.
    // The embedded database is held while a tick works, so there a run is shorter and waits
    // for the next interval: commands get in between.
    const postgres = env.ctx.engine === 'postgres';
    const r = await sendNotifications(env.ctx, { budgetMs: postgres ? NOTIFY_RUN_BUDGET_MS : EMBEDDED_NOTIFY_RUN_BUDGET_MS, ...(env.notificationTransport ? { transport: env.notificationTransport } : {}) });
    for (const e of r.errors.slice(0, 5)) env.log.warn(`Message #${e.id} (${e.channel}) not delivered: ${e.error}`, { id: e.id, channel: e.channel });
    return {
      outcome: 'ok',
      level: r.claimed ? (r.errors.length ? 'warn' : 'info') : 'debug',
      message: r.claimed
        ? `${r.sent} message(s) sent${r.retrying ? `, ${r.retrying} to retry` : ''}${r.failed ? `, ${r.failed} failed for good` : ''}${r.deferred ? `, ${r.deferred} put off (gateway busy or out of time)` : ''}${r.givenUp ? `; ${r.givenUp} suspension notice(s) given up (hold passed)` : ''}${r.cancelled ? `; ${r.cancelled} suspension notice(s) cancelled (no longer suspended)` : ''}`
        : r.givenUp || r.cancelled
          ? [r.givenUp ? `${r.givenUp} suspension notice(s) given up (hold passed)` : '', r.cancelled ? `${r.cancelled} suspension notice(s) cancelled (no longer suspended)` : ''].filter(Boolean).join('; ')
          : 'Nothing to send',
      summary: { claimed: r.claimed, sent: r.sent, retrying: r.retrying, failed: r.failed, deferred: r.deferred, givenUp: r.givenUp, cancelled: r.cancelled },
      again: postgres && r.more && r.sent + r.retrying + r.failed > 0,
    };
  },
};

/** Every schedule, in the order a tick runs them: invoices before collections, messages last. */
export const TASKS: readonly TaskDef[] = [billing, collections, jobs, health, radiusStale, notifications];
