#!/usr/bin/env node
// Commands from the shell, as whole processes: a read command (`settings list`) and `payment
// record` that restores a suspended subscriber on the lab router (API mode, in a worker thread),
// on the embedded database through its server (the default; the server already running) and on
// PostgreSQL (a throwaway cluster; skipped when initdb is not installed).
//
// Targets: the read command under 400 ms on the embedded database; payment record under 500 ms
// median on the embedded database and on PostgreSQL. Each target figure carries as its baseline
// the same command run by the unbundled build of this same code (oclif from node_modules, the
// commands from dist/src/ loaded module by module: what `ispctl` was before bin/run.js ran the
// bundle), in pairs alternating which side runs first. Also printed, without a verdict: bare
// `node -e 0`, `ispctl --version`, and the embedded database opened in the command's own
// process (ISPCTL_EMBEDDED_SERVER=0: PGlite's start-up in every command, the alternative the
// server replaced; not in a --quick run).
//
//   npm run build && node bench/startup.mjs        (BENCH_RUNS=20 BENCH_PAYMENTS=10 by default)
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { loadSnapshot, QUICK, quantile, report, ROOT, sized, startLabWorker, startPostgres } from './lib.mjs';

const RUNS = Number(process.env.BENCH_RUNS ?? sized(20, 5));
const PAYMENTS = Number(process.env.BENCH_PAYMENTS ?? sized(10, 3));
const dir = mkdtempSync(join(tmpdir(), 'ispctl-bench-'));
const bundled = join(ROOT, 'bin', 'run.js');
const base = { ...process.env, ISPCTL_CONFIG_DIR: join(dir, 'config'), NO_COLOR: '1', ISPCTL_DATABASE_URL: '', DATABASE_URL: '' };
const embedded = { ...base, ISPCTL_DATA_DIR: join(dir, 'data') };
const inProcess = { ...base, ISPCTL_DATA_DIR: join(dir, 'own-data'), ISPCTL_EMBEDDED_SERVER: '0' };

/**
 * The unbundled build of the same code, as a package of its own: package.json naming the commands
 * in dist/src/, node_modules, dist and templates linked, its own manifest, and a bin/run.js that
 * runs oclif from node_modules (bin/run.js before the bundle).
 */
async function unbundledBin() {
  const root = join(dir, 'unbundled');
  mkdirSync(join(root, 'bin'), { recursive: true });
  for (const f of ['node_modules', 'dist', 'templates']) symlinkSync(join(ROOT, f), join(root, f));
  const pjson = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
  pjson.oclif = { ...pjson.oclif, commands: './dist/src/commands', hooks: { ...pjson.oclif.hooks, command_not_found: './dist/src/hooks/not-found' }, helpClass: './dist/src/cli/help' };
  writeFileSync(join(root, 'package.json'), JSON.stringify(pjson, null, 2));
  writeFileSync(join(root, 'bin', 'run.js'), "#!/usr/bin/env node\nimport { execute, settings } from '@oclif/core';\nsettings.enableAutoTranspile = false;\nawait execute({ dir: import.meta.url });\n");
  const { Plugin } = await import(pathToFileURL(join(ROOT, 'node_modules', '@oclif', 'core', 'lib', 'index.js')).href);
  const plugin = new Plugin({ root, type: 'core', ignoreManifest: true, errorOnManifestCreate: true, isRoot: true });
  await plugin.load();
  writeFileSync(join(root, 'oclif.manifest.json'), JSON.stringify(plugin.manifest));
  return join(root, 'bin', 'run.js');
}

function spawnMs(args, env) {
  const t0 = performance.now();
  const r = spawnSync(process.execPath, args, { env, encoding: 'utf8' });
  const ms = performance.now() - t0;
  return { ms, r };
}

function run(env, args, { bin = bundled, ok = [0] } = {}) {
  const { ms, r } = spawnMs([bin, ...args], env);
  if (!ok.includes(r.status)) throw new Error(`ispctl ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
  return ms;
}

/** `n` pairs of (bundled, unbundled) runs of `args(i)`, alternating which side goes first. */
function paired(n, env, args, unbundled) {
  const a = [];
  const b = [];
  for (let i = 0; i < n; i++) {
    const sides = [() => a.push(run(env, args(i))), () => b.push(run(env, args(i + n), { bin: unbundled }))];
    if (i % 2) sides.reverse();
    for (const side of sides) side();
  }
  return [a, b];
}

/** A target line: the bundled build's figure, the unbundled build of the same run as its baseline. */
function line(name, samples, target, baseline) {
  const note = `p95 ${Math.round(quantile(samples, 0.95))} ms; median < ${target} ms is the target; baseline: the unbundled build, in pairs alternating which ran first`;
  report(name, samples, 'ms', `< ${target}`, { baseline: { name: 'unbundled', samples: baseline }, ok: quantile(samples, 0.5) < target, note });
}

function info(name, samples, baseline, note) {
  report(name, samples, 'ms', 'info', { ...(baseline ? { baseline } : {}), note: `p95 ${Math.round(quantile(samples, 0.95))} ms${note ? `; ${note}` : ''}` });
}

/** Stops the embedded server of `env`'s data directory, if one runs. */
async function stopServer(env) {
  const { lockHello } = await import(pathToFileURL(join(ROOT, 'dist/src/core/db/lock.js')).href);
  const lock = join(env.ISPCTL_DATA_DIR, 'db.lock');
  const h = await lockHello(lock);
  if (h && h !== 'free' && h.serves) {
    process.kill(h.pid, 'SIGTERM');
    for (let i = 0; i < 200 && (await lockHello(lock)) !== 'free'; i++) await new Promise((r) => setTimeout(r, 50));
  }
}

const NOW = (t) => ({ ISPCTL_NOW: t });
/** Subscribers <prefix>0..<prefix><n-1> suspended for an unpaid invoice, on the lab router. */
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
  run(at('2026-11-22T09:00:00+08:00'), ['collections', 'run', '--force']);
}

const pay = (prefix) => (i) => ['payment', 'record', '--subscriber', `${prefix}${i}`, '--amount', '1500', '--method', 'cash', '--reference', `OR-${prefix}${i}`];
const payEnv = (env) => ({ ...env, ...NOW('2026-11-23T10:00:00+08:00') });

const lab = await startLabWorker();
let pg;
try {
  const unbundled = await unbundledBin();
  process.stderr.write(`startup bench: load ${JSON.stringify(loadSnapshot())}\n`);

  // Node alone, and --version (Node and the CLI framework), each side of the build.
  const bare = Array.from({ length: RUNS }, () => spawnMs(['-e', '0'], base).ms);
  info('cli.node-bare', bare, undefined, '`node -e 0`: the floor under every command');
  run(base, ['--version']); // warm the file cache
  const [version, versionBefore] = paired(RUNS, base, () => ['--version'], unbundled);
  info('cli.version', version, { name: 'unbundled', samples: versionBefore }, `\`ispctl --version\`; bare node ${Math.round(quantile(bare, 0.5))} ms`);

  // Embedded, through the server: a read command and payment record, each against the unbundled build.
  setup(embedded, lab, 'a', 2 * PAYMENTS, true);
  run(embedded, ['settings', 'list']); // the server is up
  const [list, listBefore] = paired(RUNS, embedded, () => ['settings', 'list'], unbundled);
  line('cli.settings-list.embedded', list, 400, listBefore);
  const [payments, paymentsBefore] = paired(PAYMENTS, payEnv(embedded), pay('a'), unbundled);
  line('cli.payment-record.embedded', payments, 500, paymentsBefore);
  await stopServer(embedded);

  try {
    pg = await startPostgres();
  } catch (err) {
    // Not measured is not met: the targets name PostgreSQL too.
    for (const [name, target] of [['cli.settings-list.postgres', 400], ['cli.payment-record.postgres', 500]]) {
      console.log(JSON.stringify({ name, runs: 0, unit: 'ms', target: `< ${target}`, error: `not measured: no PostgreSQL (${err.message.split('\n')[0]})` }));
    }
  }
  if (pg) {
    const onPg = { ...base, ISPCTL_DATA_DIR: join(dir, 'pg-data'), ISPCTL_DATABASE_URL: pg.url };
    setup(onPg, lab, 'c', 2 * PAYMENTS, true);
    const [pgList, pgListBefore] = paired(RUNS, onPg, () => ['settings', 'list'], unbundled);
    line('cli.settings-list.postgres', pgList, 400, pgListBefore);
    const [pgPayments, pgPaymentsBefore] = paired(PAYMENTS, payEnv(onPg), pay('c'), unbundled);
    line('cli.payment-record.postgres', pgPayments, 500, pgPaymentsBefore);
  }

  // The embedded database opened by each command itself (no server): what the server saves.
  // Every command of its set-up opens PGlite too (seconds each), so a quick run leaves it out.
  if (!QUICK) {
    const n = 3;
    setup(inProcess, lab, 'b', n, true);
    const own = Array.from({ length: n }, () => run(inProcess, ['settings', 'list']));
    info('cli.settings-list.embedded-in-process', own, { name: 'cli.settings-list.embedded', samples: list }, 'ISPCTL_EMBEDDED_SERVER=0: PGlite opened by the command');
    const ownPayments = Array.from({ length: n }, (_, i) => run(payEnv(inProcess), pay('b')(i)));
    info('cli.payment-record.embedded-in-process', ownPayments, { name: 'cli.payment-record.embedded', samples: payments }, 'ISPCTL_EMBEDDED_SERVER=0');
  }
} finally {
  await stopServer(embedded).catch(() => undefined);
  pg?.stop();
  await lab.close();
  rmSync(dir, { recursive: true, force: true });
}
