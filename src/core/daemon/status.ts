// `ispctl daemon status`: which daemon instances run and which leads, when each schedule last ran
// and how it ended, the router work that waits, and router health.
import type { ServiceContext } from '../context.js';
import type { Db } from '../db/tx.js';
import { countOpenJobs, type JobCounts } from '../provisioning/jobs.js';
import type { RouterStatus } from '../routers/service.js';
import { loadDaemonConfig, type DaemonConfig } from './config.js';
import { DAEMON_LOCK_NAMESPACE, LEADER_LOCK_KEY } from './leader.js';
import { billingSlots, describeInterval } from './schedule.js';
import { HEARTBEAT_MISSES, MIN_STALE_MS, SCHEDULE_NAMES, type ScheduleName } from './store.js';
import { RADIUS_STALE_INTERVAL_MS, TASKS } from './tasks.js';
import type { DaemonInstanceRow, RouterRow, ScheduleRunRow } from '../db/rows.js';
import { rowsOf } from '../db/sql.js';

export interface InstanceView {
  id: string;
  name: string;
  host: string;
  pid: number;
  engine: string;
  version: string | null;
  startedAt: Date;
  heartbeatAt: Date;
  /** Seconds since the last heartbeat (database time). */
  heartbeatAgeSeconds: number;
  /** running: heartbeat recent; stopped: stopped cleanly; gone: heartbeat stopped (crash, kill -9, lost host). */
  state: 'running' | 'stopped' | 'gone';
  leader: boolean;
  leaderSince: Date | null;
}

export interface ScheduleView {
  schedule: ScheduleName;
  /** "every 5 min", or for billing when it runs. */
  when: string;
  leaderOnly: boolean;
  lastStartedAt: Date | null;
  lastFinishedAt: Date | null;
  /** interrupted: it was running on an instance that is gone. */
  outcome: 'running' | 'ok' | 'failed' | 'skipped' | 'interrupted' | 'never';
  error: string | null;
  /** The instance (name) that ran it last. */
  instance: string | null;
  slot: string | null;
  summary: Record<string, unknown> | null;
  durationMs: number | null;
  runs: number;
  consecutiveFailures: number;
  lastOkAt: Date | null;
}

export interface DaemonStatus {
  engine: string;
  /** At least one instance has a recent heartbeat. */
  running: boolean;
  leader: InstanceView | null;
  /** Running instances, and those seen in the last 24 hours. */
  instances: InstanceView[];
  schedules: ScheduleView[];
  billing: { nextPeriod: string; nextRunAt: Date; lastPeriod: string; lastDueAt: Date } | null;
  jobs: JobCounts;
  routers: Record<RouterStatus, number> & { total: number; attention: Array<{ name: string; status: RouterStatus; failures: number; lastContactAt: Date | null; lastError: string | null }> };
}

function when(name: ScheduleName, c: DaemonConfig): string {
  switch (name) {
    case 'billing':
      return `billing day ${c.billingDay}${c.invoiceLeadDays ? ` minus ${c.invoiceLeadDays} lead day(s)` : ''} at ${String(c.billingHour).padStart(2, '0')}:00 ${c.timezone}`;
    case 'collections':
      return describeInterval(c.collectionsIntervalMs);
    case 'jobs':
      return `${describeInterval(c.jobsIntervalMs)}, and on new jobs`;
    case 'health':
      return describeInterval(c.healthIntervalMs);
    case 'radius-stale':
      return c.radiusStaleMinutes > 0 ? `${describeInterval(RADIUS_STALE_INTERVAL_MS)} (after ${c.radiusStaleMinutes} min without accounting)` : 'off (radius-stale-minutes 0)';
    case 'notifications':
      return describeInterval(c.notifyIntervalMs);
  }
}

/** The backend pid that holds the leader lock (PostgreSQL), or null. */
async function leaderBackendPid(db: Db): Promise<number | null> {
  const r = await rowsOf<{ pid: number | null }>(
    db,
    `select pid from pg_locks where locktype = 'advisory' and classid = ?::int::oid and objid = ?::int::oid and objsubid = 2 and granted limit 1`,
    [DAEMON_LOCK_NAMESPACE, LEADER_LOCK_KEY],
  );
  const row = r[0];
  return row?.pid == null ? null : Number(row.pid);
}

async function liveBackends(db: Db): Promise<Set<number>> {
  const r = await rowsOf<{ pid: number }>(db, `select pid from pg_stat_activity where datname = current_database()`);
  return new Set(r.map((x) => Number(x.pid)));
}

export async function daemonStatus(ctx: Pick<ServiceContext, 'db' | 'engine' | 'clock'>): Promise<DaemonStatus> {
  const db = ctx.db;
  const config = await loadDaemonConfig(db);
  const rows: Array<DaemonInstanceRow & { age_s: number; alive: boolean }> = await db('daemon_instances')
    .select(
      '*',
      db.raw('extract(epoch from (now() - heartbeat_at))::float8 as age_s'),
      db.raw('(stopped_at is null and heartbeat_at >= now() - make_interval(secs => greatest(heartbeat_every_ms * ?, ?) / 1000.0)) as alive', [HEARTBEAT_MISSES, MIN_STALE_MS]),
    )
    .whereRaw(`heartbeat_at >= now() - interval '1 day'`)
    .orderBy('started_at');
  const lockPid = ctx.engine === 'postgres' ? await leaderBackendPid(db) : null;
  // PostgreSQL: an instance whose lock connection is gone has died (kill -9 closes its sockets
  // at once; a live one reconnects and records its new connection within a heartbeat).
  const backends = ctx.engine === 'postgres' ? await liveBackends(db) : undefined;
  const instances: InstanceView[] = rows.map((r) => {
    const connected = !backends || r.lock_backend_pid == null || backends.has(Number(r.lock_backend_pid));
    const alive = Boolean(r.alive) && connected;
    const leader = alive && (ctx.engine === 'postgres' ? lockPid !== null && Number(r.lock_backend_pid) === lockPid : Boolean(r.is_leader));
    return {
      id: r.id,
      name: r.name,
      host: r.host,
      pid: Number(r.pid),
      engine: r.engine,
      version: r.version ?? null,
      startedAt: r.started_at,
      heartbeatAt: r.heartbeat_at,
      heartbeatAgeSeconds: Math.max(0, Math.round(Number(r.age_s))),
      state: alive ? 'running' : r.stopped_at ? 'stopped' : 'gone',
      leader,
      leaderSince: leader ? (r.leader_since ?? null) : null,
    };
  });
  const byId = new Map(instances.map((i) => [i.id, i]));
  const nameOf = async (id: string | null): Promise<string | null> => {
    if (!id) return null;
    const known = byId.get(id);
    if (known) return known.name;
    const row: Pick<DaemonInstanceRow, 'name'> | undefined = await db('daemon_instances').where({ id }).first('name');
    return row ? row.name : id.slice(0, 8);
  };
  const aliveIds = new Set(instances.filter((i) => i.state === 'running').map((i) => i.id));

  const runRows: ScheduleRunRow[] = await db('schedule_runs').select('*');
  const runs = new Map(runRows.map((r) => [r.schedule, r]));
  const schedules: ScheduleView[] = [];
  for (const name of SCHEDULE_NAMES) {
    const r = runs.get(name);
    const raw = r?.last_outcome ?? null;
    const outcome: ScheduleView['outcome'] = !r || !raw ? 'never' : raw === 'running' && !aliveIds.has(String(r.last_instance)) ? 'interrupted' : (raw as ScheduleView['outcome']);
    const summary = r?.last_summary;
    schedules.push({
      schedule: name,
      when: when(name, config),
      leaderOnly: TASKS.find((t) => t.name === name)?.leaderOnly ?? true,
      lastStartedAt: r?.last_started_at ?? null,
      lastFinishedAt: r?.last_finished_at ?? null,
      outcome,
      error: r?.last_error ?? null,
      instance: await nameOf(r?.last_instance ?? null),
      slot: r?.last_slot ?? null,
      summary: summary == null ? null : typeof summary === 'string' ? (JSON.parse(summary) as ScheduleView['summary']) : summary,
      durationMs: r?.last_duration_ms == null ? null : Number(r.last_duration_ms),
      runs: Number(r?.runs ?? 0),
      consecutiveFailures: Number(r?.consecutive_failures ?? 0),
      lastOkAt: r?.last_ok_at ?? null,
    });
  }

  let billing: DaemonStatus['billing'] = null;
  if (config.initialised) {
    const { last, next } = billingSlots(ctx.clock.now(), config);
    billing = { lastPeriod: last.periodKey, lastDueAt: last.at, nextPeriod: next.periodKey, nextRunAt: next.at };
  }

  const routerRows: Array<Pick<RouterRow, 'name' | 'status' | 'consecutive_failures' | 'last_contact_at' | 'last_error'>> = await db('routers').select('name', 'status', 'consecutive_failures', 'last_contact_at', 'last_error').orderBy('name');
  const routers: DaemonStatus['routers'] = { total: routerRows.length, pending: 0, registering: 0, unknown: 0, online: 0, degraded: 0, offline: 0, attention: [] };
  for (const r of routerRows) {
    const status = r.status;
    routers[status]++;
    if (status !== 'online') {
      routers.attention.push({ name: r.name, status, failures: Number(r.consecutive_failures ?? 0), lastContactAt: r.last_contact_at ?? null, lastError: r.last_error ?? null });
    }
  }

  const leader = instances.find((i) => i.leader) ?? null;
  return {
    engine: ctx.engine,
    running: aliveIds.size > 0,
    leader,
    instances,
    schedules,
    billing,
    jobs: await countOpenJobs(db),
    routers,
  };
}
