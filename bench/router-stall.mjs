#!/usr/bin/env node
// A stalled router and `--router-timeout 2`: how long the real binary lives, measured by the
// process itself (a preload prints its age at exit), against the same command on a healthy
// router in the same run; and how long after printing its result (its last words, the router's
// outcome among them) it exits. Target: the stall costs at most the timeout plus one second, and
// the process exits within a second of its result.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dist, emit, quantile, report, round, ROOT, sized } from './lib.mjs';

const BIN = join(ROOT, 'bin', 'run.js');
const PRELOAD = join(ROOT, 'test', 'faults', 'workers', 'exit-time.cjs');
const { startLabRouter } = await import(dist('src/lab/index.js'));
const lab = await startLabRouter({ adminPassword: 'bench-pw' });
const dir = mkdtempSync(join(tmpdir(), 'ispctl-bench-stall-'));
const env = { ...process.env, ISPCTL_DATA_DIR: join(dir, 'data'), ISPCTL_CONFIG_DIR: join(dir, 'config'), DATABASE_URL: '', ISPCTL_DATABASE_URL: '', NO_COLOR: '1', ISPCTL_SECRET_KEY: 'b5'.repeat(32) };

/** Runs ispctl to its end (never spawnSync: the lab router answers from this event loop). */
function setup(args) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (d) => (out += d));
    child.stderr.setEncoding('utf8').on('data', (d) => (out += d));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`ispctl ${args.join(' ')} failed (${code}): ${out}`))));
  });
}

/** One command against the lab router: { lived, afterResult } in ms, and its exit code. */
function once(args) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['-r', PRELOAD, BIN, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    // The result is the command's last words (on either stream): a command says what it saved,
    // then waits for the router, then says how that went. The preload's exit line is not one.
    let printedAt = 0;
    child.stdout.on('data', () => (printedAt = performance.now()));
    child.stderr.setEncoding('utf8').on('data', (d) => {
      err += d;
      if (d.replace(/^.*exit-at-ms=\d+.*$/m, '').trim()) printedAt = performance.now();
    });
    child.on('error', reject);
    child.on('close', (code) => {
      const lived = Number(/exit-at-ms=(\d+)/.exec(err)?.[1]);
      resolve({ code, lived, afterResult: performance.now() - printedAt });
    });
  });
}

try {
  await setup(['init', '--isp-name', 'Bench ISP', '--currency', 'PHP', '--timezone', 'Asia/Manila', '--yes']);
  await setup(['router', 'add', 'lab1', '--host', '127.0.0.1', '--api-port', String(lab.port), '--api-user', 'admin', '--api-password', 'bench-pw']);
  await setup(['plan', 'create', 'Fiber 50', '--price', '1500', '--download', '50M', '--upload', '10M']);
  await setup(['subscriber', 'add', '--name', 'Ana Stall', '--username', 'ana', '--plan', 'Fiber 50', '--router', 'lab1', '--router-timeout', '5']);
  const healthy = [];
  const stalled = [];
  const after = [];
  const afterHealthy = [];
  const pairs = sized(7, 3);
  for (let i = 0; i < pairs; i++) {
    lab.faults.stallReplies = false;
    const h = await once(['subscriber', 'suspend', 'ana', '--reason', 'bench', '--yes', '--router-timeout', '2']);
    if (h.code !== 0) throw new Error(`healthy run exited ${h.code}`);
    healthy.push(h.lived);
    afterHealthy.push(h.afterResult);
    lab.faults.stallReplies = true;
    const s = await once(['subscriber', 'resume', 'ana', '--router-timeout', '2']);
    if (s.code !== 3) throw new Error(`stalled run exited ${s.code}, not 3`);
    stalled.push(s.lived);
    after.push(s.afterResult);
    lab.faults.stallReplies = false;
    // The resume left queued: carry it now so the next healthy run starts from the same state.
    await setup(['jobs', 'retry', '--timeout', '5']);
  }
  const extra = stalled.map((s, i) => s - healthy[i]);
  report('stalled router, --router-timeout 2: extra process lifetime over a healthy run', extra, 'ms', '< 3000', {
    baseline: { name: 'the same command on a healthy router (whole process)', samples: healthy },
    ratio: round(quantile(extra, 0.5) / 2000),
    note: 'ratio = median extra lifetime / the 2 s timeout; target: timeout + 1 s',
  });
  // The embedded database is closed (and checkpointed) after the result is printed: that part is
  // the same with a healthy router, so the target is on the difference.
  const lateBy = after.map((a, i) => a - afterHealthy[i]);
  report('stalled router, --router-timeout 2: result printed -> process exit, beyond a healthy run', lateBy, 'ms', '< 1000', {
    baseline: { name: 'result printed -> process exit, healthy router', samples: afterHealthy },
    ratio: round(quantile(after, 0.5) / quantile(afterHealthy, 0.5)),
    note: `stalled: median ${round(quantile(after, 0.5))} ms from the result to the exit`,
  });
  emit({ name: 'stalled router, --router-timeout 2: whole process lifetime', runs: stalled.length, median: round(quantile(stalled, 0.5)), p99: round(quantile(stalled, 0.99)), unit: 'ms', target: 'info' });
} finally {
  await lab.close();
  rmSync(dir, { recursive: true, force: true });
}
