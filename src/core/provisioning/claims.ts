// Who holds a running provisioning job, and whether that holder still lives. A runner claims jobs
// as `host:pid:start` (start: when the process started, ms since the epoch), so a job left
// running by a process killed with -9 is recognised as abandoned at once on its own host, even
// when its pid now belongs to another process (pid reuse; ispctl as PID 1 in a restarted
// container). Jobs of a daemon on another host are abandoned when its heartbeat stopped.
// Otherwise the claim timeout (CLAIM_TIMEOUT_MS in jobs.ts) ends a claim.
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import type { Knex } from 'knex';
import { releaseWorkersJobs } from './jobs.js';

/** Heartbeat rule shared with the daemon's status: gone after this many missed heartbeats… */
const HEARTBEAT_MISSES = 3;
/** …and never sooner than this (ms). Keep in step with src/core/daemon/store.ts. */
const MIN_STALE_MS = 15_000;
/** Two readings of one process's start time differ by less than this (ms). */
const START_TOLERANCE_MS = 5_000;

/** When this process started (ms since the epoch, whole). */
function startedAt(): number {
  return Math.round(performance.timeOrigin);
}

/** The identity a runner claims jobs under: `host:pid:start`. */
export function workerId(): string {
  return `${hostname()}:${process.pid}:${startedAt()}`;
}

export interface ParsedWorker {
  host: string;
  pid: number;
  /** Start time (ms since the epoch); undefined in the older `host:pid` form. */
  start?: number;
}

export function parseWorkerId(w: string): ParsedWorker | undefined {
  const m = /^([^:]*):(\d+)(?::(\d+))?$/.exec(w);
  if (!m) return undefined;
  const pid = Number(m[2]);
  if (!Number.isSafeInteger(pid) || pid <= 0) return undefined;
  return { host: m[1]!, pid, ...(m[3] !== undefined ? { start: Number(m[3]) } : {}) };
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Start time of a process (ms since the epoch) from /proc on Linux; undefined elsewhere. */
function processStart(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Field 22 (starttime, clock ticks since boot) counted after the command's closing parenthesis.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[19]);
    const btime = Number(/^btime (\d+)$/m.exec(readFileSync('/proc/stat', 'utf8'))?.[1]);
    if (!Number.isFinite(ticks) || !Number.isFinite(btime)) return undefined;
    return btime * 1000 + (ticks * 1000) / 100; // USER_HZ is 100 on Linux
  } catch {
    return undefined;
  }
}

/** True when the process that claimed as `w` on this host is certainly gone. */
export function holderDeadHere(w: ParsedWorker): boolean {
  if (w.pid === process.pid) return w.start !== undefined && Math.abs(w.start - startedAt()) > START_TOLERANCE_MS;
  if (!pidAlive(w.pid)) return true;
  if (w.start === undefined) return false;
  const start = processStart(w.pid);
  // The pid lives, but belongs to a process that started at another time: it was reused.
  return start !== undefined && Math.abs(start - w.start) > START_TOLERANCE_MS;
}

/**
 * Provisioning jobs a dead runner left `running` go back to the queue now, instead of after the
 * claim timeout: jobs claimed by a process of this host that no longer exists (or whose pid was
 * reused), and jobs claimed by a daemon instance on another host whose heartbeat stopped. A job
 * whose target meanwhile got a newer pending job is cancelled (the newer one covers it).
 * Returns how many were released.
 */
export async function releaseDeadClaims(db: Knex, now: Date, host = hostname()): Promise<number> {
  const running: Array<{ claimed_by: string }> = await db('provisioning_jobs').where({ status: 'running' }).whereNotNull('claimed_by').distinct('claimed_by');
  if (!running.length) return 0;
  const dead = new Set<string>();
  for (const { claimed_by: w } of running) {
    const parsed = parseWorkerId(w);
    if (parsed && parsed.host === host && holderDeadHere(parsed)) dead.add(w);
  }
  const stale: Array<{ worker_id: string }> = await db('daemon_instances')
    .whereIn('worker_id', running.map((r) => r.claimed_by))
    .whereNot('host', host)
    .where((q) =>
      q.whereNotNull('stopped_at').orWhereRaw('heartbeat_at < now() - make_interval(secs => greatest(heartbeat_every_ms * ?, ?) / 1000.0)', [HEARTBEAT_MISSES, MIN_STALE_MS]),
    )
    .select('worker_id');
  for (const s of stale) dead.add(s.worker_id);
  // The state change itself lives with the others in jobs.ts.
  return releaseWorkersJobs(db, [...dead], now);
}
