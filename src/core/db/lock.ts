// The embedded database allows one process at a time. A lock file in the data directory names
// the holder; other processes wait for it, then fail with a clear error.
import { closeSync, openSync, readFileSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { IspctlError } from '../errors.js';

export interface LockHolder {
  pid: number;
  command: string;
  since: string;
}

export interface LockOptions {
  /** How long to wait for another process, in ms. 0 fails at once. */
  timeoutMs: number;
  /** Shown to waiters: what this process is doing. */
  command: string;
  /** Called once when we start waiting, with the current holder. */
  onWait?: (holder: LockHolder | undefined) => void;
  pollMs?: number;
  now?: () => Date;
}

export interface FileLock {
  path: string;
  release(): void;
}

function readHolder(path: string): LockHolder | undefined {
  try {
    const h = JSON.parse(readFileSync(path, 'utf8')) as LockHolder;
    return typeof h.pid === 'number' ? h : undefined;
  } catch {
    return undefined;
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function tryCreate(path: string, holder: LockHolder): boolean {
  let fd: number;
  try {
    fd = openSync(path, 'wx', 0o600);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  }
  try {
    writeSync(fd, JSON.stringify(holder));
  } finally {
    closeSync(fd);
  }
  return true;
}

/** Removes a lock whose holder is gone. Renaming first keeps two cleaners from racing. */
function clearIfStale(path: string): boolean {
  const holder = readHolder(path);
  if (holder && isAlive(holder.pid) && holder.pid !== process.pid) return false;
  if (holder && holder.pid === process.pid) return false;
  const aside = `${path}.stale-${process.pid}-${Date.now()}`;
  try {
    renameSync(path, aside);
    unlinkSync(aside);
  } catch {
    // someone else cleared or re-took it; retry the create
  }
  return true;
}

export async function acquireFileLock(path: string, opts: LockOptions): Promise<FileLock> {
  const now = opts.now ?? (() => new Date());
  const me: LockHolder = { pid: process.pid, command: opts.command, since: now().toISOString() };
  const started = Date.now();
  const poll = opts.pollMs ?? 100;
  let announced = false;
  for (;;) {
    if (tryCreate(path, me)) break;
    if (clearIfStale(path) && tryCreate(path, me)) break;
    const holder = readHolder(path);
    if (Date.now() - started >= opts.timeoutMs) {
      const who = holder ? `process ${holder.pid} (${holder.command}, since ${holder.since})` : 'another process';
      throw new IspctlError('DATABASE_LOCKED', `The embedded database is in use by ${who}; gave up after ${Math.round(opts.timeoutMs / 1000)} s.`, {
        kind: 'failure',
        suggestions: [
          'Wait for that command to finish and try again',
          'Raise the wait with --lock-timeout <seconds> or ISPCTL_LOCK_TIMEOUT',
          'Use PostgreSQL (DATABASE_URL) to run several processes at once',
        ],
        details: holder ? { holder } : undefined,
      });
    }
    if (!announced) {
      announced = true;
      opts.onWait?.(holder);
    }
    await new Promise((r) => setTimeout(r, poll));
  }
  let released = false;
  const release = () => {
    if (released) return;
    released = true;
    process.removeListener('exit', release);
    const holder = readHolder(path);
    if (holder?.pid === process.pid) {
      try {
        unlinkSync(path);
      } catch {
        // already gone
      }
    }
  };
  process.on('exit', release);
  return { path, release };
}
