// The fault suite runs short in the ordinary test run and with full counts on its own
// (`npm run test:faults`, which sets ISPCTL_FAULTS_FULL=1).
import { spawn } from 'node:child_process';
import { join } from 'node:path';
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
