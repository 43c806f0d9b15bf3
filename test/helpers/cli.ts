// Runs the built `ispctl` binary as a user would, and reads what it printed.
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { inject } from 'vitest';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const BIN = join(ROOT, 'bin', 'run.js');

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
  /** stdout parsed as JSON when it is JSON. */
  json?: any; // eslint-disable-line @typescript-eslint/no-explicit-any
}

export interface CliOptions {
  env?: Record<string, string | undefined>;
  input?: string;
  timeoutMs?: number;
}

export function runCli(args: string[], opts: CliOptions = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    // The embedded database server a command starts leaves 30 s after its last client (and at once
    // when the test removes its data directory), so none outlives the suite for long.
    const env: Record<string, string | undefined> = { ISPCTL_EMBEDDED_IDLE: '30', ...process.env, NO_COLOR: '1', ...opts.env };
    for (const [k, v] of Object.entries(env)) if (v === undefined) delete env[k];
    const child = spawn(process.execPath, [BIN, ...args], { env: env as NodeJS.ProcessEnv, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d) => (stderr += d));
    // Only for a command that hangs: on a busy machine a command can take a minute (an embedded
    // database created and migrated by init, with other test files running beside it).
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 180_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      let json: unknown;
      try {
        json = JSON.parse(stdout);
      } catch {
        json = undefined;
      }
      resolve({ code: code ?? -1, stdout, stderr, json });
    });
    child.stdin.end(opts.input ?? '');
  });
}

/**
 * A temporary data directory for the embedded database; remove() when done. With
 * `{ migrated: true }` its database is a copy of the run's migrated PGlite snapshot, so the first
 * command finds the schema in place (what `ispctl init` leaves before it writes the settings)
 * instead of creating and migrating a database, seconds of CPU in every file. Tests of creating
 * and migrating the embedded database itself start from an empty directory.
 */
export function tempDataDir(opts: { migrated?: boolean } = {}): { dir: string; env: Record<string, string>; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'ispctl-e2e-'));
  if (opts.migrated) {
    const pgdata = join(dir, 'data', 'pgdata');
    mkdirSync(pgdata, { recursive: true, mode: 0o700 });
    execFileSync('tar', ['-xf', inject('pgliteSnapshot'), '-C', pgdata], { stdio: 'ignore' });
  }
  return {
    dir,
    env: { ISPCTL_DATA_DIR: join(dir, 'data'), ISPCTL_CONFIG_DIR: join(dir, 'config'), ISPCTL_DATABASE_URL: '', DATABASE_URL: '' },
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}
