// What the daemon writes about itself: its instances and their heartbeats, and what each
// schedule did last. Times here are the database's (now()), not the injected clock: they say
// when things really happened, so a frozen ISPCTL_NOW never makes a dead daemon look alive.
import type { Knex } from 'knex';
import type { Engine } from '../db/config.js';
import type { Db } from '../db/tx.js';
import { forgetFinishedJobs } from '../provisioning/jobs.js';

export const SCHEDULE_NAMES = ['billing', 'collections', 'jobs', 'health', 'radius-stale', 'notifications'] as const;
export type ScheduleName = (typeof SCHEDULE_NAMES)[number];

export type RunOutcome = 'ok' | 'failed' | 'skipped';

/** An instance is gone when its heartbeat is older than this many heartbeat intervals. */
export const HEARTBEAT_MISSES = 3;
/** …and never sooner than this (ms), so a slow tick is not taken for a death. */
export const MIN_STALE_MS = 15_000;

export interface InstanceInfo {
  id: string;
  name: string;
  host: string;
  pid: number;
  workerId: string;
  engine: Engine;
  version?: string;
  heartbeatEveryMs: number;
}

export async function registerInstance(db: Db, i: InstanceInfo): Promise<void> {
  await db('daemon_instances')
    .insert({
      id: i.id,
      name: i.name,
      host: i.host,
      pid: i.pid,
      worker_id: i.workerId,
      engine: i.engine,
      version: i.version ?? null,
      started_at: db.fn.now(),
      heartbeat_at: db.fn.now(),
      heartbeat_every_ms: i.heartbeatEveryMs,
      is_leader: false,
    })
    .onConflict('id')
    .merge(['heartbeat_at', 'heartbeat_every_ms']);
}

export interface Heartbeat {
  leader: boolean;
  /** Backend pid of the lock connection (PostgreSQL). */
  lockBackendPid?: number | null;
}

/** Records a sign of life and the leadership; re-creates the row if housekeeping removed it. */
export async function heartbeat(db: Db, i: InstanceInfo, hb: Heartbeat): Promise<void> {
  const n = await db('daemon_instances')
    .where({ id: i.id })
    .update({
      heartbeat_at: db.fn.now(),
      heartbeat_every_ms: i.heartbeatEveryMs,
      is_leader: hb.leader,
      leader_since: hb.leader ? db.raw('coalesce(case when is_leader then leader_since end, now())') : null,
      lock_backend_pid: hb.lockBackendPid ?? null,
      stopped_at: null,
    });
  if (affected(n) === 0) {
    await registerInstance(db, i);
    await heartbeat(db, i, hb);
  }
}

export async function markStopped(db: Db, instanceId: string): Promise<void> {
  await db('daemon_instances').where({ id: instanceId }).update({ stopped_at: db.fn.now(), is_leader: false, leader_since: null, heartbeat_at: db.fn.now() });
}

/** A schedule starts: status shows it running. */
export async function recordRunStart(db: Db, schedule: ScheduleName, instanceId: string, slot?: string): Promise<void> {
  await db('schedule_runs')
    .insert({ schedule, last_started_at: db.fn.now(), last_outcome: 'running', last_instance: instanceId, last_slot: slot ?? null, last_error: null })
    .onConflict('schedule')
    .merge(['last_started_at', 'last_outcome', 'last_instance', 'last_slot', 'last_error']);
}

export interface RunRecord {
  schedule: ScheduleName;
  instanceId: string;
  outcome: RunOutcome;
  startedAt: Date;
  durationMs: number;
  slot?: string;
  error?: string;
  summary?: Record<string, unknown>;
}

function summaryJson(summary: Record<string, unknown> | undefined): string | null {
  if (!summary) return null;
  return JSON.stringify(summary, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v));
}

/**
 * A schedule finished. Billing runs (and failed runs of any schedule) are also kept in the
 * history; a billing period with an ok run there is not run again.
 */
export async function recordRunEnd(db: Db, r: RunRecord): Promise<void> {
  await db.transaction((trx) => writeRunEnd(trx, r));
}

async function writeRunEnd(db: Knex.Transaction, r: RunRecord): Promise<void> {
  const ok = r.outcome !== 'failed';
  await db('schedule_runs')
    .insert({
      schedule: r.schedule,
      last_started_at: r.startedAt,
      last_finished_at: db.fn.now(),
      last_outcome: r.outcome,
      last_error: r.error?.slice(0, 2000) ?? null,
      last_instance: r.instanceId,
      last_slot: r.slot ?? null,
      last_summary: summaryJson(r.summary),
      last_duration_ms: Math.round(r.durationMs),
      last_ok_at: ok ? db.fn.now() : null,
      runs: 1,
      consecutive_failures: ok ? 0 : 1,
    })
    .onConflict('schedule')
    .merge({
      last_finished_at: db.fn.now(),
      last_outcome: r.outcome,
      last_error: r.error?.slice(0, 2000) ?? null,
      last_instance: r.instanceId,
      last_slot: r.slot ?? null,
      last_summary: summaryJson(r.summary),
      last_duration_ms: Math.round(r.durationMs),
      last_ok_at: ok ? db.fn.now() : db.raw('schedule_runs.last_ok_at'),
      runs: db.raw('schedule_runs.runs + 1'),
      consecutive_failures: ok ? 0 : db.raw('schedule_runs.consecutive_failures + 1'),
    } as never);
  if (r.schedule === 'billing' || r.outcome === 'failed') {
    await db('schedule_run_history').insert({
      schedule: r.schedule,
      slot: r.slot ?? null,
      instance_id: r.instanceId,
      started_at: r.startedAt,
      finished_at: db.fn.now(),
      outcome: r.outcome === 'failed' ? 'failed' : 'ok',
      error: r.error?.slice(0, 2000) ?? null,
      summary: summaryJson(r.summary),
    });
  }
}

/** Whether billing already ran successfully for a period (by any instance, ever). */
export async function billingSlotDone(db: Db, periodKey: string): Promise<boolean> {
  const row = await db('schedule_run_history').where({ schedule: 'billing', slot: periodKey, outcome: 'ok' }).first('id');
  return Boolean(row);
}

/** How long ago (ms, database time) each schedule last started, for a new leader to carry on. */
export async function scheduleAges(db: Db): Promise<Map<string, number>> {
  const rows: Array<{ schedule: string; age_ms: number | string | null }> = await db('schedule_runs')
    .whereNotNull('last_started_at')
    .select('schedule', db.raw('(extract(epoch from (now() - last_started_at)) * 1000)::float8 as age_ms'));
  return new Map(rows.filter((r) => r.age_ms !== null).map((r) => [r.schedule, Number(r.age_ms)]));
}

/** Rows a knex write touched: a number on pg, a result object from the PGlite client's delete. */
function affected(r: unknown): number {
  if (typeof r === 'number') return r;
  const o = r as { rowCount?: number; affectedRows?: number } | null;
  return Number(o?.rowCount ?? o?.affectedRows ?? 0);
}

/**
 * Forgets instances not seen for a week, failed-run history older than 90 days (both by the
 * database's clock, as they were written) and router jobs finished more than
 * FINISHED_JOBS_KEEP_DAYS before `now`, the service clock their done_at was written with (a
 * bounded number per pass).
 */
export async function housekeeping(db: Db, now: Date): Promise<{ instances: number; history: number; jobs: number }> {
  const instances = affected(await db('daemon_instances').whereRaw(`heartbeat_at < now() - interval '7 days'`).delete());
  const history = affected(await db('schedule_run_history').whereNot('schedule', 'billing').whereRaw(`started_at < now() - interval '90 days'`).delete());
  const jobs = await forgetFinishedJobs(db, now);
  return { instances, history, jobs };
}
