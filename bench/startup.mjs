#!/usr/bin/env node
// Commands from the shell, as whole processes: `ispctl --version` (the baseline: Node and the
// CLI framework alone), a read command (`settings list`) and `payment record` that restores a
// suspended subscriber on the lab router (API mode, in a worker thread), each on
//   - the embedded database opened in the command's own process (ISPCTL_EMBEDDED_SERVER=0),
//   - the embedded database through its server (the default; the server already running),
//   - PostgreSQL (a throwaway cluster; skipped when initdb is not installed).
// Targets: a read command under 400 ms on the embedded database; payment record under 500 ms
// median on the embedded database and on PostgreSQL. Each line carries the --version median of
// the same run as its baseline.
//
//   npm run build && node bench/startup.mjs        (BENCH_RUNS=20 BENCH_PAYMENTS=10 by default)
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadSnapshot, quantile, report, ROOT, sized, startLabWorker, startPostgres } from './lib.mjs';

const RUNS = Number(process.env.BENCH_RUNS ?? sized(20, 5));
const PAYMENTS = Number(process.env.BENCH_PAYMENTS ?? sized(10, 3));
const bin = join(ROOT, 'bin', 'run.js');
const dir = mkdtempSync(join(tmpdir(), 'ispctl-bench-'));
const base = { ...process.env, ISPCTL_CONFIG_DIR: join(dir, 'config'), NO_COLOR: '1', ISPCTL_DATABASE_URL: '', DATABASE_URL: '' };
const embedded = { ...base, ISPCTL_DATA_DIR: join(dir, 'data') };
const inProcess = { ...embedded, ISPCTL_EMBEDDED_SERVER: '0' };

function run(env, args, { ok = [0] } = {}) {
  const t0 = performance.now();
  const r = spawnSync(process.execPath, [bin, ...args], { env, encoding: 'utf8' });
  const ms = performance.now() - t0;
  if (!ok.includes(r.status)) throw new Error(`ispctl ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
  return ms;
}

/** One line in the shared format, with p95 too and `ispctl --version` of this run as baseline. */
function line(name, samples, target, baseline) {
  const note = `p95 ${Math.round(quantile(samples, 0.95))} ms; median < ${target} ms is the target`;
  report(name, samples, 'ms', `< ${target}`, { ...(baseline ? { baseline: { name: 'cli.version', samples: baseline } } : {}), ok: quantile(samples, 0.5) < target, note });
}

/** Stops the embedded server of `env`'s data directory, if one runs (so in-process runs open PGlite themselves). */
async function stopServer() {
  const { lockHello } = await import(join(ROOT, 'dist/src/core/db/lock.js'));
  const h = await lockHello(join(embedded.ISPCTL_DATA_DIR, 'db.lock'));
  if (h && h !== 'free' && h.serves) {
    process.kill(h.pid, 'SIGTERM');
    for (let i = 0; i < 200 && (await lockHello(join(embedded.ISPCTL_DATA_DIR, 'db.lock'))) !== 'free'; i++) await new Promise((r) => setTimeout(r, 50));
  }
}

const NOW = (t) => ({ ISPCTL_NOW: t });
/** Subscribers p0..p<n-1> suspended for an unpaid invoice, on the lab router. */
function setup(env, lab, prefix, n, first) {
  const at = (t) => ({ ...env, ...NOW(t) });
  if (first) {
    run(at('2026-10-01T09:00:00+08:00'), ['init', '--isp-name', 'Bench ISP', '--currency', 'PHP', '--timezone', 'Asia/Manila', '--billing-day', '1', '--due-days', '15', '--grace-days', '5', '--yes']);
    run(env, ['router', 'add', 'lab', '--host', '127.0.0.1', '--api-port', String(lab.port), '--api-user', 'admin', '--api-password', lab.password, '--mode', 'api']);
    run(env, ['plan', 'create', 'Fiber 1500', '--price', '1500', '--download', '50M', '--upload', '20M']);
  }
  for (let i = 0; i < n; i++) {
    run(at('2026-10-01T09:00:00+08:00'), ['subscriber', 'add', '--name', `Bench ${prefix}${i}`, '--username', `${prefix}${i}`, '--password', `${prefix}${i}-pa55`, '--plan', 'Fiber 1500', '--router', 'lab', '--start-date', '2026-10-01']);
  }
  run(at('2026-11-01T06:00:00+08:00'), ['billing', 'generate']);
  run(at('2026-11-22T09:00:00+08:00'), ['collections', 'run']);
}

function payments(env, prefix, n) {
  return Array.from({ length: n }, (_, i) =>
    run({ ...env, ...NOW('2026-11-23T10:00:00+08:00') }, ['payment', 'record', '--subscriber', `${prefix}${i}`, '--amount', '1500', '--method', 'cash', '--reference', `OR-${prefix}${i}`]),
  );
}

const lab = await startLabWorker();
let pg;
try {
  run(base, ['--version']); // warm the file cache
  const version = Array.from({ length: RUNS }, () => run(base, ['--version']));
  const v = version;
  line('cli.version', version, 300);
  process.stderr.write(`startup bench: load ${JSON.stringify(loadSnapshot())}\n`);

  // Embedded: set up through the server (fast), two sets of suspended subscribers.
  setup(embedded, lab, 'a', PAYMENTS, true);
  setup(embedded, lab, 'b', PAYMENTS, false);

  run(embedded, ['settings', 'list']); // the server is up
  const served = Array.from({ length: RUNS }, () => run(embedded, ['settings', 'list']));
  line('cli.settings-list.embedded-served', served, 400, v);
  line('cli.payment-record.embedded-served', payments(embedded, 'a', PAYMENTS), 500, v);

  await stopServer();
  const own = Array.from({ length: Math.min(RUNS, 8) }, () => run(inProcess, ['settings', 'list']));
  line('cli.settings-list.embedded-in-process', own, 400, v);
  line('cli.payment-record.embedded-in-process', payments(inProcess, 'b', PAYMENTS), 500, v);

  try {
    pg = await startPostgres();
  } catch (err) {
    console.log(JSON.stringify({ name: 'cli.*.postgres', skipped: `no PostgreSQL: ${err.message.split('\n')[0]}` }));
  }
  if (pg) {
    const onPg = { ...base, ISPCTL_DATA_DIR: join(dir, 'pg-data'), ISPCTL_DATABASE_URL: pg.url };
    setup(onPg, lab, 'c', PAYMENTS, true);
    const list = Array.from({ length: RUNS }, () => run(onPg, ['settings', 'list']));
    line('cli.settings-list.postgres', list, 400, v);
    line('cli.payment-record.postgres', payments(onPg, 'c', PAYMENTS), 500, v);
  }
} finally {
  await stopServer().catch(() => undefined);
  pg?.stop();
  await lab.close();
  rmSync(dir, { recursive: true, force: true });
}
