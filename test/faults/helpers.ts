// The fault suite runs short in the ordinary test run and with full counts on its own
// (`npm run test:faults`, which sets ISPCTL_FAULTS_FULL=1).
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { inject } from 'vitest';
import { ROOT } from '../helpers/cli.js';

export const FULL = process.env.ISPCTL_FAULTS_FULL === '1';

/** The count for this run: `short` in the ordinary suite, `full` in the fault suite. */
export function count(short: number, full: number): number {
  return FULL ? full : short;
}

export const DIST = join(ROOT, 'dist', 'src');
export const WORKERS = join(ROOT, 'test', 'faults', 'workers');

export interface NodeResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/**
 * Makes `dataDir` hold a migrated embedded database: the run's PGlite snapshot (a tar of a data
 * directory, made once by the global setup) unpacked into `dataDir/pgdata`. For tests whose point
 * is not a first start: opening it skips PGlite's initdb, the costliest part of a first start.
 */
export function unpackPgliteSnapshot(dataDir: string): void {
  const pgdata = join(dataDir, 'pgdata');
  mkdirSync(pgdata, { recursive: true, mode: 0o700 });
  // The tar's names are absolute (PGlite's dump): tar strips the leading slash and says so on stderr.
  execFileSync('tar', ['-xf', inject('pgliteSnapshot'), '-C', pgdata], { stdio: 'ignore' });
}

/** Runs a Node script to its end. */
export function runNode(script: string, args: string[], opts: { env?: Record<string, string>; timeoutMs?: number } = {}): Promise<NodeResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [script, ...args], { env: { ...process.env, ...opts.env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 300_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

/** A small seeded PRNG (mulberry32), so a failing run can be repeated with ISPCTL_FAULTS_SEED. */
export function random(seed = Number(process.env.ISPCTL_FAULTS_SEED ?? Date.now() % 1_000_000)): { seed: number; next(): number; between(a: number, b: number): number } {
  let s = seed >>> 0;
  const next = () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return { seed, next, between: (a, b) => a + (b - a) * next() };
}

export interface Killed {
  /** Exit code when it ended by itself before the kill. */
  code: number | null;
  killed: boolean;
  elapsedMs: number;
  stdout: string;
  stderr: string;
}

/** Runs the ispctl binary and kills it with SIGKILL after `afterMs` (if still running). */
export function runCliKilledAfter(args: string[], afterMs: number, env: Record<string, string>): Promise<Killed> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(process.execPath, [join(ROOT, 'bin', 'run.js'), ...args], { env: { ...process.env, NO_COLOR: '1', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let killed = false;
    child.stdout.setEncoding('utf8').on('data', (d) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d) => (stderr += d));
    const timer = setTimeout(() => {
      killed = child.exitCode === null;
      child.kill('SIGKILL');
    }, afterMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, killed, elapsedMs: performance.now() - started, stdout, stderr });
    });
  });
}

/**
 * Runs the ispctl binary and kills it with SIGKILL the moment `arm`'s trigger is pulled: `arm`
 * gets a kill function to call from an event the test observes in its own process (the lab
 * router receiving a command), so the kill lands at that point of the run, not when a timer
 * happens to fire. The run that ends by itself first has `killed: false`.
 */
export function runCliKilledOn(args: string[], env: Record<string, string>, arm: (kill: () => void) => void): Promise<Killed> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(process.execPath, [join(ROOT, 'bin', 'run.js'), ...args], { env: { ...process.env, NO_COLOR: '1', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let killed = false;
    child.stdout.setEncoding('utf8').on('data', (d) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d) => (stderr += d));
    arm(() => {
      if (killed || child.exitCode !== null || child.signalCode !== null) return;
      killed = child.kill('SIGKILL');
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, killed, elapsedMs: performance.now() - started, stdout, stderr }));
  });
}

export interface DaemonProcess {
  child: import('node:child_process').ChildProcess;
  output(): string;
  /** Resolves when the daemon's output contains `text` (rejects after `ms`). */
  waitFor(text: string | RegExp, ms?: number): Promise<void>;
  /** SIGTERM, then SIGKILL if it has not stopped within 15 s. */
  stop(): Promise<number | null>;
}

/** Starts `ispctl daemon` (text logs, verbose) as a real process. */
export function startDaemon(env: Record<string, string>, args: string[] = []): DaemonProcess {
  const child = spawn(process.execPath, [join(ROOT, 'bin', 'run.js'), 'daemon', '--verbose', ...args], { env: { ...process.env, NO_COLOR: '1', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let text = '';
  const waiters = new Set<() => void>();
  const onData = (d: string) => {
    text += d;
    for (const w of waiters) w();
  };
  child.stdout!.setEncoding('utf8').on('data', onData);
  child.stderr!.setEncoding('utf8').on('data', onData);
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  return {
    child,
    output: () => text,
    waitFor(pattern, ms = 60_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          if (typeof pattern === 'string' ? text.includes(pattern) : pattern.test(text)) {
            waiters.delete(check);
            clearTimeout(timer);
            resolve();
          }
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`the daemon never printed ${String(pattern)}:\n${text.slice(-3000)}`));
        }, ms);
        waiters.add(check);
        check();
      });
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 15_000);
      const code = await exited;
      clearTimeout(t);
      return code;
    },
  };
}
