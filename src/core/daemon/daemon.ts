// `ispctl daemon`: runs the schedules (billing on the billing day, collections, router work,
// router health, stale RADIUS sessions, messages) until told to stop.
//
// PostgreSQL: a knex pool for the work, and one dedicated connection for the leader lock and
// LISTEN. Only the leader runs scheduled work; every instance runs provisioning jobs (claimed
// with SKIP LOCKED). New jobs wake the daemon at once through NOTIFY.
//
// Embedded (PGlite): one process may use the database at a time, so the daemon opens it for each
// tick and closes it after, and CLI commands run in between. No LISTEN; jobs are polled.
//
// Stopping (stop(), from SIGTERM or SIGINT): the task in hand finishes, no new one starts, the
// leader lock is released and the instance is marked stopped. A crash loses nothing: billing is
// one transaction and idempotent, jobs left running are taken back.
import { randomUUID } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import schedule from 'node-schedule';
import type { Knex } from 'knex';
import { clockRate, type Clock } from '../clock.js';
import type { Actor, ServiceContext } from '../context.js';
import type { DatabaseTarget } from '../db/config.js';
import { openDatabase, type Database } from '../db/connection.js';
import { acquireFileLock, type FileLock } from '../db/lock.js';
import { isUpToDate, migrateLatest } from '../db/migrate.js';
import { IspctlError, isIspctlError } from '../errors.js';
import type { NotificationTransport } from '../notify/outbox.js';
import type { Drivers } from '../provisioning/runner.js';
import { FINISHED_JOBS_KEEP_DAYS, workerId } from '../provisioning/jobs.js';
import { ReturnWatcher } from '../provisioning/probe.js';
import { loadDaemonConfig, type DaemonConfig } from './config.js';
import { PgControl, type WakeChannel } from './leader.js';
import { taskLog, type DaemonLogger, type TaskLog } from './logger.js';
import { billingSlots, nextIntervalDue, retryDelayMs } from './schedule.js';
import {
  billingSlotDone,
  heartbeat,
  housekeeping,
  markStopped,
  recordRunEnd,
  recordRunStart,
  registerInstance,
  scheduleAges,
  type InstanceInfo,
  type RunOutcome,
  type ScheduleName,
} from './store.js';
import { TASKS, type TaskDef, type TaskEnv } from './tasks.js';
import { parseListenSetting, startIntakeServer, type IntakeServer } from '../intake/server.js';
import { describeError } from '../error-text.js';

export interface DaemonOptions {
  target: DatabaseTarget;
  env: Record<string, string | undefined>;
  clock: Clock;
  actor: Actor;
  logger: DaemonLogger;
  /** Shown in status and logs; default the host name. */
  instanceName?: string;
  /** ispctl version, recorded with the instance. */
  version?: string;
  /** Run every due schedule once, then stop. */
  once?: boolean;
  /** Embedded: how long each tick waits for a command holding the database (ms). Default 60 s. */
  lockTimeoutMs?: number;
  /** How long to wait for a router before leaving its work queued (ms). Default 5 s. */
  routerTimeoutMs?: number;
  /** PostgreSQL: how often followers try the leader lock and everyone writes a heartbeat (ms). Default 2 s. */
  controlIntervalMs?: number;
  /** Only these schedules (tests, special set-ups). Default all. */
  schedules?: readonly ScheduleName[];
  /** Provisioning drivers (default: the real ones). */
  drivers?: () => Promise<Drivers>;
  /** Message transport (default: from the settings). */
  notificationTransport?: NotificationTransport;
}

export interface TaskReport {
  schedule: ScheduleName;
  outcome: RunOutcome;
  message: string;
  slot?: string;
  error?: string;
  summary?: Record<string, unknown>;
  durationMs?: number;
}

export interface DaemonRunResult {
  instanceId: string;
  name: string;
  engine: DatabaseTarget['engine'];
  /** Led at some point of the run. */
  leader: boolean;
  /** With once: what each schedule did. */
  tasks: TaskReport[];
  stoppedBy?: string;
}

interface TaskState {
  def: TaskDef;
  lastStartedMs?: number;
  failures: number;
  retryAtMs?: number;
  running?: Promise<void>;
  /** Run at the next tick whatever the interval says (NOTIFY, a returning router). */
  requested: boolean;
  /** Billing: the period whose run is known to be done. */
  doneSlot?: string;
}

interface Session {
  db: Knex;
  close(): Promise<void>;
  /** The embedded database served to several processes: lets a waiting command have its turn. */
  yieldTurn?(): Promise<void>;
}

/** Embedded: at most this long between ticks (and heartbeats). */
const PGLITE_MAX_TICK_MS = 30_000;
const HOUSEKEEPING_EVERY_MS = 3_600_000;
const DEFAULT_CONTROL_INTERVAL_MS = 2_000;
const TICK_FAILURE_PAUSE_MS = 1_000;
/** How often due reachability probes of routers with failed work are sent. */
const PROBE_TICK_MS = 1_000;

export class Daemon {
  readonly instance: InstanceInfo;
  readonly #opts: DaemonOptions;
  readonly #log: TaskLog;
  readonly #tasks: TaskState[];
  #pool: Database | undefined;
  #daemonLock: FileLock | undefined;
  #control: PgControl | undefined;
  #leader = false;
  #leaderKnown = false;
  /** Led at some point of the run (reported after the lock is released). */
  #led = false;
  /** After losing the control connection, leave the lock to the others for a moment. */
  #noLeadUntil = 0;
  #stopping = false;
  #stoppedBy: string | undefined;
  #config: DaemonConfig | undefined;
  #lastControlMs = 0;
  #lastHousekeepingMs = 0;
  #wake: (() => void) | undefined;
  #migrated = false;
  #notInitialisedLogged = false;
  #reports: TaskReport[] = [];
  /** Errors of the ticks and when each was last logged: the same error is logged once a minute. */
  #recentErrors = new Map<string, number>();
  /** The last tick failed: wait a moment before the next rather than spin. */
  #tickFailed = false;
  #drivers: Promise<Drivers> | undefined;
  /** Probes routers with failed work; #returned holds those that answer again until the jobs task takes them. */
  readonly #watcher = new ReturnWatcher();
  readonly #returned = new Set<number>();
  /** Embedded, with once: the database opened at start, kept for the one tick and the stop. */
  #held: Session | undefined;
  /** The HTTP listener for payment notifications and payment pages (intake-listen). */
  #intake: IntakeServer | undefined;

  constructor(opts: DaemonOptions) {
    this.#opts = opts;
    this.#log = taskLog(opts.logger, 'daemon');
    const engine = opts.target.engine;
    const controlMs = opts.controlIntervalMs ?? DEFAULT_CONTROL_INTERVAL_MS;
    this.instance = {
      id: randomUUID(),
      name: opts.instanceName?.trim() || hostname(),
      host: hostname(),
      pid: process.pid,
      workerId: workerId(),
      engine,
      version: opts.version,
      heartbeatEveryMs: engine === 'postgres' ? controlMs : PGLITE_MAX_TICK_MS,
    };
    const only = opts.schedules ? new Set(opts.schedules) : undefined;
    this.#tasks = TASKS.filter((t) => !only || only.has(t.name)).map((def) => ({ def, failures: 0, requested: false }));
  }

  get leader(): boolean {
    return this.#leader;
  }

  get stopping(): boolean {
    return this.#stopping;
  }

  /** Finish the work in hand, then stop. Safe to call more than once. */
  stop(reason = 'stop requested'): void {
    if (!this.#stopping) {
      this.#stopping = true;
      this.#stoppedBy = reason;
      this.#log.info(`Stopping (${reason}): finishing the work in hand`);
    }
    this.#wake?.();
  }

  /** Runs until stop() (or one round with once). Rejects only when it cannot start at all. */
  async run(): Promise<DaemonRunResult> {
    await this.#start();
    let probing: NodeJS.Timeout | undefined;
    try {
      if (!this.#opts.once) await this.#startIntake();
      // Routers with failed work are probed every second or so (without the database): one
      // that answers again gets its work at the next tick, whatever the backoff said.
      if (!this.#opts.once) {
        probing = setInterval(() => void this.#probe(), PROBE_TICK_MS);
        probing.unref();
      }
      while (!this.#stopping) {
        await this.#tick();
        if (this.#opts.once) break;
        await this.#sleep();
      }
      await this.#drain();
    } finally {
      if (probing) clearInterval(probing);
      await this.#shutdown();
    }
    return {
      instanceId: this.instance.id,
      name: this.instance.name,
      engine: this.instance.engine,
      leader: this.#led,
      tasks: this.#reports,
      ...(this.#stoppedBy ? { stoppedBy: this.#stoppedBy } : {}),
    };
  }

  // ---- start and stop -----------------------------------------------------------------------

  async #start(): Promise<void> {
    const { target } = this.#opts;
    const i = this.instance;
    if (target.engine === 'pglite') {
      mkdirSync(target.dataDir, { recursive: true, mode: 0o700 });
      try {
        this.#daemonLock = await acquireFileLock(join(target.dataDir, 'daemon.lock'), { timeoutMs: 0, command: `ispctl daemon (${i.name})` });
      } catch (err) {
        if (!isIspctlError(err) || err.code !== 'DATABASE_LOCKED') throw err;
        const holder = isIspctlError(err) ? (err.details?.holder as { pid?: number } | undefined) : undefined;
        throw new IspctlError('DAEMON_ALREADY_RUNNING', `Another ispctl daemon${holder?.pid ? ` (process ${holder.pid})` : ''} already runs on the embedded database in ${target.dataDir}.`, {
          kind: 'conflict',
          cause: err,
          suggestions: ['Run one daemon per embedded database; stop the other one first', 'Use PostgreSQL (DATABASE_URL) to run several daemons at once'],
        });
      }
    } else {
      this.#pool = await openDatabase(target, { poolMax: 10 });
      this.#control = new PgControl(target.url, `ispctl daemon ${i.name}`.slice(0, 63), {
        onNotify: (channel) => this.#onNotify(channel),
        onLost: (error, wasLeader) => {
          this.#leader = false;
          // Whoever lost its connection may have a network problem: give the others a few
          // rounds to take the lock before trying again.
          if (wasLeader) this.#noLeadUntil = Date.now() + 3 * this.instance.heartbeatEveryMs;
          this.#log.warn(`Lost the database control connection${wasLeader ? ', and with it the leadership' : ''}: ${error}`);
          this.#lastControlMs = 0;
          this.#wake?.();
        },
      });
    }
    try {
      const s = await this.#session(true);
      // The first session opens or throws (DATABASE_LOCKED among others); never undefined.
      if (!s) throw new Error('the daemon\'s first database session neither opened nor failed');
      try {
        await registerInstance(s.db, i);
      } finally {
        // With once on the embedded database, keep it for the one tick: opening it costs time.
        if (this.#opts.once && !this.#pool) this.#held = s;
        else await s.close();
      }
    } catch (err) {
      await this.#held?.close().catch(() => undefined);
      this.#held = undefined;
      await this.#control?.close();
      await this.#pool?.close();
      this.#daemonLock?.release();
      throw err;
    }
    this.#log.info(
      `Started on ${target.engine === 'postgres' ? 'PostgreSQL' : 'the embedded database'} as ${i.name} (pid ${i.pid}, instance ${i.id.slice(0, 8)})${this.#opts.once ? ', running each due schedule once' : ''}`,
      { instance: i.id, engine: target.engine },
    );
  }

  async #drain(): Promise<void> {
    const running = this.#tasks.map((t) => t.running).filter((p): p is Promise<void> => p !== undefined);
    if (running.length) await Promise.allSettled(running);
  }

  /** Serves payment notifications and payment pages when intake-listen is set. */
  async #startIntake(): Promise<void> {
    const s = await this.#session(true);
    if (!s) return;
    let listen: { host: string; port: number } | null;
    try {
      const row = await s.db('settings').where({ key: 'intake-listen' }).first('value');
      listen = parseListenSetting(row?.value ?? 'off');
    } finally {
      await s.close();
    }
    if (!listen) return;
    const log = taskLog(this.#opts.logger, 'intake');
    this.#intake = await startIntakeServer({
      ...listen,
      // Each request takes the database as a tick does: the pool, or the embedded database opened for it.
      withContext: async (fn) => {
        const session = await this.#session(false, 10_000);
        if (!session) throw new Error('the embedded database stayed busy');
        try {
          return await fn(this.#ctx(session.db));
        } finally {
          await session.close();
        }
      },
      apply: {
        timeoutMs: this.#opts.routerTimeoutMs ?? 5_000,
        drivers: () => (this.#drivers ??= this.#opts.drivers ? this.#opts.drivers() : import('../provisioning/drivers.js').then((m) => m.defaultDrivers())),
      },
      log: (level, message) => (level === 'warn' ? log.warn(message) : log.info(message)),
    }).catch((err: unknown) => {
      throw new IspctlError('INTAKE_LISTEN_FAILED', `Cannot listen on ${listen.host}:${listen.port} for payment notifications: ${errorText(err)}.`, {
        kind: 'failure',
        cause: err,
        suggestions: ['Pick a free port: ispctl settings set intake-listen 127.0.0.1:8470', 'Or turn the listener off: ispctl settings set intake-listen off'],
      });
    });
  }

  async #shutdown(): Promise<void> {
    await this.#intake?.close().catch(() => undefined);
    this.#intake = undefined;
    try {
      const s = await this.#session(false, 10_000).catch(() => undefined);
      if (s) {
        try {
          await markStopped(s.db, this.instance.id);
        } finally {
          await s.close();
        }
      }
    } catch (err) {
      this.#log.warn(`Could not mark the instance stopped: ${errorText(err)}`);
    }
    const held = this.#held;
    this.#held = undefined;
    await held?.close().catch(() => undefined);
    const wasLeader = this.#leader && this.#control !== undefined;
    await this.#control?.close();
    this.#leader = false;
    await this.#pool?.close();
    this.#daemonLock?.release();
    this.#log.info(`Stopped${wasLeader ? ' (leadership released)' : ''}`);
  }

  /**
   * The database for one tick: the pool on PostgreSQL; on the embedded database, opened now
   * (waiting for a command that holds it) and closed by the caller. Undefined when the embedded
   * database stayed busy (logged; the next tick tries again).
   */
  async #session(first = false, lockTimeoutMs = this.#opts.lockTimeoutMs ?? 60_000): Promise<Session | undefined> {
    if (this.#held) {
      const held = this.#held;
      return { db: held.db, close: async () => undefined, ...(held.yieldTurn ? { yieldTurn: held.yieldTurn } : {}) };
    }
    if (this.#pool) {
      const knex = this.#pool.knex;
      if (!this.#migrated) await this.#migrate(knex);
      return { db: knex, close: async () => undefined };
    }
    const target = this.#opts.target;
    let announced = false;
    let db: Database;
    try {
      db = await openDatabase(target, {
        lockTimeoutMs,
        command: `ispctl daemon (${this.instance.name})`,
        onLockWait: (holder) => {
          announced = true;
          this.#log.info(`Waiting for the embedded database, in use by ${holder ? `process ${holder.pid} (${holder.command})` : 'another process'}`);
        },
      });
    } catch (err) {
      if (first || !(isIspctlError(err) && err.code === 'DATABASE_LOCKED')) throw err;
      this.#log.warn(`The embedded database stayed busy; trying again at the next tick (${errorText(err)})`);
      return undefined;
    }
    if (announced) this.#log.debug('Got the embedded database');
    try {
      if (!this.#migrated) await this.#migrate(db.knex);
    } catch (err) {
      await db.close();
      throw err;
    }
    return { db: db.knex, close: () => db.close(), ...(db.yieldTurn ? { yieldTurn: () => db.yieldTurn!() } : {}) };
  }

  async #migrate(knex: Knex): Promise<void> {
    if (!(await isUpToDate(knex))) {
      const applied = await migrateLatest(knex);
      if (applied.length) this.#log.info(`Applied database migrations: ${applied.join(', ')}`);
    }
    this.#migrated = true;
  }

  // ---- the loop -----------------------------------------------------------------------------

  #ctx(db: Knex): ServiceContext {
    return { db, engine: this.instance.engine, clock: this.#opts.clock, actor: this.#opts.actor, env: this.#opts.env };
  }

  #onNotify(channel: WakeChannel): void {
    const jobs = this.#task('jobs');
    if (jobs) jobs.requested = true;
    if (channel === 'ispctl_payments') {
      const c = this.#task('collections');
      if (c && this.#leader) c.requested = true;
    }
    this.#wake?.();
  }

  async #probe(): Promise<void> {
    if (this.#stopping || this.#watcher.size === 0) return;
    const back = await this.#watcher.tick().catch(() => [] as number[]);
    if (back.length === 0 || this.#stopping) return;
    for (const id of back) this.#returned.add(id);
    this.#log.info(`${back.length} router(s) with queued work answer again: trying their work now`, { routers: back });
    const jobs = this.#task('jobs');
    if (jobs) jobs.requested = true;
    this.#wake?.();
  }

  #task(name: ScheduleName): TaskState | undefined {
    return this.#tasks.find((t) => t.def.name === name);
  }

  async #tick(): Promise<void> {
    this.#tickFailed = false;
    const session = await this.#session().catch((err: unknown) => {
      this.#tickError(`Cannot reach the database: ${errorText(err)}`);
      return undefined;
    });
    if (!session) return;
    try {
      const now = Date.now();
      if (!this.#config || this.#opts.once || now - this.#lastControlMs >= this.instance.heartbeatEveryMs || !this.#pool) {
        await this.#controlRound(session.db);
      }
      const config = this.#config;
      if (!config) return;
      const due = await this.#dueTasks(session.db, config);
      const sequential = this.#opts.once || !this.#pool;
      for (const { state, slot } of due) {
        if (this.#stopping) break;
        if (state.running) continue;
        if (sequential) {
          await this.#runTask(state, session.db, config, slot, session.yieldTurn);
        } else {
          state.running = this.#runTask(state, session.db, config, slot).finally(() => {
            state.running = undefined;
            this.#wake?.();
          });
        }
      }
    } catch (err) {
      this.#tickError(`Tick failed: ${errorText(err)}`);
    } finally {
      await session.close().catch((err: unknown) => this.#log.warn(`Could not close the embedded database: ${errorText(err)}`));
    }
  }

  /** Logs a tick error; the same one again within a minute only at debug level (a database that is down). */
  #tickError(text: string): void {
    const now = Date.now();
    this.#tickFailed = true;
    const last = this.#recentErrors.get(text);
    if (last !== undefined && now - last < 60_000) {
      this.#log.debug(text);
      return;
    }
    this.#recentErrors.set(text, now);
    this.#log.error(text);
  }

  /** Settings, leadership and the heartbeat. */
  async #controlRound(db: Knex): Promise<void> {
    this.#lastControlMs = Date.now();
    this.#config = await loadDaemonConfig(db);
    const cfg = this.#config;
    if (!this.#pool) this.instance.heartbeatEveryMs = Math.min(PGLITE_MAX_TICK_MS, cfg.jobsIntervalMs) + 5_000;
    const wasLeader = this.#leader;
    if (this.#control) {
      try {
        this.#leader = await this.#control.tryLead(Date.now() >= this.#noLeadUntil);
      } catch (err) {
        this.#leader = false;
        this.#tickError(`Cannot reach the database for the leader lock: ${errorText(err)}`);
      }
    } else {
      this.#leader = true; // embedded: one daemon per database (daemon.lock)
    }
    if (this.#leader) this.#led = true;
    if (this.#leader !== wasLeader || !this.#leaderKnown) {
      this.#leaderKnown = true;
      if (this.#leader) {
        this.#log.info(this.#pool ? 'Now the leader: running the scheduled work' : 'Running the scheduled work');
        // Carry on where the previous leader left off rather than run everything again.
        const ages = await scheduleAges(db).catch(() => new Map<string, number>());
        for (const t of this.#tasks) {
          if (!t.def.leaderOnly || t.lastStartedMs !== undefined || this.#opts.once) continue;
          const age = ages.get(t.def.name);
          if (age !== undefined && t.def.intervalMs) t.lastStartedMs = this.#nowMs() - age;
        }
      } else {
        this.#log.info('Following: another instance leads; running router jobs only');
      }
    }
    await heartbeat(db, this.instance, { leader: this.#leader, lockBackendPid: this.#control?.backendPid ?? null });
    if (this.#leader || !this.#control || this.#control.connected) this.#recentErrors.clear();
    if (this.#leader && Date.now() - this.#lastHousekeepingMs > HOUSEKEEPING_EVERY_MS) {
      this.#lastHousekeepingMs = Date.now();
      const h = await housekeeping(db, this.#opts.clock.now()).catch(() => undefined);
      if (h && (h.instances || h.history || h.jobs)) this.#log.debug(`Housekeeping: forgot ${h.instances} old instance(s), ${h.history} old history row(s), ${h.jobs} router job(s) finished over ${FINISHED_JOBS_KEEP_DAYS} days ago`);
    }
  }

  /** Why a schedule cannot run on this instance now (leadership, init), or undefined. */
  #blocked(state: TaskState, config: DaemonConfig): string | undefined {
    if (state.def.leaderOnly && !this.#leader) return 'another instance leads: it runs this schedule';
    if (state.def.needsInit && !config.initialised) return 'ispctl init has not been run on this database';
    return undefined;
  }

  /**
   * "Now" for the schedules, in ms: the clock's time when the clock moves (the system clock, or a
   * simulation clock running faster), real time when it is frozen (ISPCTL_NOW), so intervals
   * still elapse.
   */
  #nowMs(): number {
    return clockRate(this.#opts.clock) > 0 ? this.#opts.clock.now().getTime() : Date.now();
  }

  /** Real milliseconds to sleep for `ms` of schedule time. */
  #realMs(ms: number): number {
    const rate = clockRate(this.#opts.clock);
    return rate > 0 ? ms / rate : ms;
  }

  async #dueTasks(db: Knex, config: DaemonConfig): Promise<Array<{ state: TaskState; slot?: string }>> {
    const due: Array<{ state: TaskState; slot?: string }> = [];
    const now = this.#nowMs();
    for (const state of this.#tasks) {
      const def = state.def;
      if (state.running) continue;
      const blocked = this.#blocked(state, config);
      if (blocked) {
        if (this.#opts.once) this.#report({ schedule: def.name, outcome: 'skipped', message: blocked });
        else if (def.needsInit && !config.initialised && !this.#notInitialisedLogged) {
          this.#notInitialisedLogged = true;
          this.#log.warn('ispctl init has not been run on this database: billing, collections and messages wait for it');
        }
        continue;
      }
      if (state.retryAtMs !== undefined && now < state.retryAtMs && !state.requested) continue;
      if (def.name === 'billing') {
        const { last, next } = billingSlots(this.#opts.clock.now(), config);
        const notDue = `not due: ${last.periodKey} is invoiced; next run ${next.runDate} ${pad(config.billingHour)}:00 ${config.timezone} for ${next.periodKey}`;
        if (state.doneSlot !== last.periodKey && (await billingSlotDone(db, last.periodKey))) state.doneSlot = last.periodKey;
        if (state.doneSlot === last.periodKey) {
          if (this.#opts.once) this.#report({ schedule: 'billing', outcome: 'skipped', message: notDue });
          continue;
        }
        due.push({ state, slot: last.periodKey });
        continue;
      }
      const interval = def.intervalMs!(config);
      if (state.requested || this.#opts.once || nextIntervalDue(state.lastStartedMs, interval) <= now) due.push({ state });
    }
    return due;
  }

  async #runTask(state: TaskState, db: Knex, config: DaemonConfig, slot?: string, yieldTurn?: () => Promise<void>): Promise<void> {
    const def = state.def;
    const log = taskLog(this.#opts.logger, def.name);
    state.lastStartedMs = this.#nowMs();
    state.requested = false;
    const startedAt = new Date();
    const started = performance.now();
    await recordRunStart(db, def.name, this.instance.id, slot).catch((err: unknown) => log.warn(`Could not record the start: ${errorText(err)}`));
    if (def.name === 'billing') log.info(`Generating invoices for ${slot}`, { period: slot });
    const env: TaskEnv = {
      ctx: this.#ctx(db),
      config,
      log,
      drivers: () => (this.#drivers ??= this.#opts.drivers ? this.#opts.drivers() : import('../provisioning/drivers.js').then((m) => m.defaultDrivers())),
      routerTimeoutMs: this.#opts.routerTimeoutMs ?? 5_000,
      leader: this.#leader,
      instance: this.instance,
      notificationTransport: this.#opts.notificationTransport,
      takeReturnedRouters: () => {
        const ids = [...this.#returned];
        this.#returned.clear();
        return ids;
      },
      watchRouters: (targets) => this.#watcher.setTargets(targets),
      routersFailedAgain: (ids) => this.#watcher.failedAgain(ids),
      ...(yieldTurn ? { yieldTurn } : {}),
    };
    let report: TaskReport;
    try {
      const r = await def.run(env, slot);
      const durationMs = performance.now() - started;
      // The run stopped with work left (its time budget ran out): run it again at once.
      if (r.again && !this.#opts.once) state.requested = true;
      state.failures = 0;
      state.retryAtMs = undefined;
      if (slot) state.doneSlot = slot;
      log[r.level ?? 'info'](r.message, { ms: Math.round(durationMs) });
      report = { schedule: def.name, outcome: r.outcome, message: r.message, ...(slot ? { slot } : {}), ...(r.summary ? { summary: r.summary } : {}), durationMs };
    } catch (err) {
      const durationMs = performance.now() - started;
      state.failures++;
      const interval = def.intervalMs?.(config) ?? 0;
      const delay = retryDelayMs(state.failures, interval);
      state.retryAtMs = this.#nowMs() + delay;
      const error = errorText(err);
      log.error(`Failed: ${error}; trying again in ${Math.round(delay / 1000)} s`, { failures: state.failures });
      if (this.#opts.env.DEBUG && err instanceof Error && err.stack) log.debug(err.stack);
      report = { schedule: def.name, outcome: 'failed', message: `failed: ${error}`, ...(slot ? { slot } : {}), error, durationMs };
    }
    this.#report(report);
    await recordRunEnd(db, {
      schedule: def.name,
      instanceId: this.instance.id,
      outcome: report.outcome,
      startedAt,
      durationMs: report.durationMs ?? 0,
      slot,
      error: report.error,
      summary: report.summary,
    }).catch((err: unknown) => log.warn(`Could not record the run: ${errorText(err)}`));
  }

  #report(r: TaskReport): void {
    if (!this.#opts.once) return;
    this.#reports = this.#reports.filter((x) => x.schedule !== r.schedule);
    this.#reports.push(r);
  }

  /**
   * Sleeps until the next schedule is due, the next control round, a NOTIFY, or stop(). Schedule
   * times are on the daemon's clock (a simulation clock may run faster than real time); control
   * rounds and heartbeats are real time.
   */
  async #sleep(): Promise<void> {
    if (this.#stopping) return;
    const now = Date.now();
    const config = this.#config;
    let until = now + (this.#pool ? this.instance.heartbeatEveryMs : PGLITE_MAX_TICK_MS);
    if (this.#pool) until = Math.min(until, this.#lastControlMs + this.instance.heartbeatEveryMs);
    if (config) {
      const clockNow = this.#nowMs();
      /** Real instant for a schedule instant. */
      const real = (at: number) => now + Math.max(0, this.#realMs(at - clockNow));
      for (const t of this.#tasks) {
        if (t.running || this.#blocked(t, config)) continue;
        if (t.requested) until = now;
        if (t.retryAtMs !== undefined) {
          until = Math.min(until, real(t.retryAtMs));
          continue;
        }
        if (t.def.name === 'billing') {
          const billingNow = this.#opts.clock.now().getTime();
          const { last, next } = billingSlots(new Date(billingNow), config);
          const at = t.doneSlot === last.periodKey ? next.at.getTime() : billingNow;
          until = Math.min(until, now + Math.max(0, this.#realMs(at - billingNow)));
        } else if (t.def.intervalMs) {
          until = Math.min(until, real(nextIntervalDue(t.lastStartedMs, t.def.intervalMs(config))));
        }
      }
    }
    if (this.#tickFailed) until = Math.max(until, now + TICK_FAILURE_PAUSE_MS);
    if (until <= now) return;
    await new Promise<void>((resolve) => {
      let job: schedule.Job | null = null;
      const done = () => {
        this.#wake = undefined;
        job?.cancel();
        resolve();
      };
      this.#wake = done;
      // node-schedule fires at an instant (and copes with waits longer than setTimeout allows).
      job = schedule.scheduleJob(new Date(until), done);
      if (!job) done();
    });
  }
}

function pad(n: number): string {
  return String(n).padStart(2, '0');
}

function errorText(err: unknown): string {
  return describeError(err);
}
