// Small helpers shared by the benchmarks: statistics, the JSON line every benchmark prints, and
// a lab router in a worker thread (its own event loop, as a real router is its own machine) or
// in its own process (when the client's CPU must be told from the router's).
// Benchmarks import the compiled code from dist/: run `npm run build` first.
//
// The line every benchmark prints on stdout, one per figure (bench/run.mjs collects them):
//   { name, runs, median, p99, unit, target, ok?, higherIsBetter?,
//     baseline?: { name, median, unit? }, ratio?, pairs?, note? }
// - target: '< 1000', '<= 2000', '>= 5000', 'ratio >= 0.95', 'ratio <= 16' or 'info' (no verdict).
//   Without `ok`, run.mjs judges the median (or, for 'ratio ...', the ratio) against it.
// - baseline: what the figure is compared with, measured in the same run (the other library,
//   the stock tables, the hand-written SQL, the same work at a tenth of the size); ratio is
//   median / baseline median unless the benchmark computed it otherwise (e.g. the median of
//   paired ratios) and says so in `note`.
// Logs go to stderr. `--quick` (or BENCH_QUICK=1, which run.mjs sets) asks for small sizes.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { chmodSync, chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { cpus, loadavg, tmpdir, userInfo } from 'node:os';
import { createInterface } from 'node:readline';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

/** URL of a compiled module, e.g. dist('src/lab/index.js'); fails clearly before a build. */
export function dist(path) {
  const file = join(ROOT, 'dist', path);
  if (!existsSync(file)) throw new Error(`${file} is missing: run \`npm run build\` first`);
  return pathToFileURL(file).href;
}

/** True when the run asked for small sizes (`--quick` or BENCH_QUICK=1). */
export const QUICK = process.argv.includes('--quick') || process.env.BENCH_QUICK === '1';

/** `full`, or `quick` in a quick run. */
export function sized(full, quick) {
  return QUICK ? quick : full;
}

/** The machine's load: 1-minute load average and the number of cores. */
export function loadSnapshot() {
  return { loadavg1: Math.round(loadavg()[0] * 100) / 100, cores: cpus().length };
}

/** Print one result line in the shape above (fields left undefined are dropped). */
export function emit(row) {
  process.stdout.write(`${JSON.stringify(row)}\n`);
  return row;
}

/** The q-quantile (0..1) of numbers, nearest-rank. */
export function quantile(values, q) {
  const sorted = [...values].sort((a, b) => a - b);
  if (sorted.length === 0) return NaN;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[rank];
}

export function round(n) {
  return Math.round(n * 100) / 100;
}

/**
 * Print one result line: { name, runs, median, p99, unit, target }. For a rate (higher is
 * better) p99 is the rate 99% of runs reach (the 1st percentile); for a time it is the 99th
 * percentile.
 */
export function report(name, samples, unit, target, { higherIsBetter = false, baseline, ratio, ok, note, pairs } = {}) {
  const line = {
    name,
    runs: samples.length,
    median: round(quantile(samples, 0.5)),
    p99: round(quantile(samples, higherIsBetter ? 0.01 : 0.99)),
    unit,
    target,
  };
  if (higherIsBetter) line.higherIsBetter = true;
  if (baseline) {
    // { name, samples } or { name, median }
    const median = baseline.samples ? quantile(baseline.samples, 0.5) : baseline.median;
    line.baseline = { name: baseline.name, median: round(median) };
    if (baseline.unit && baseline.unit !== unit) line.baseline.unit = baseline.unit;
    line.ratio = ratio ?? round(line.median / median);
  } else if (ratio !== undefined) line.ratio = ratio;
  if (ok !== undefined) line.ok = ok;
  if (note) line.note = note;
  if (pairs) line.pairs = pairs;
  return emit(line);
}

/**
 * Print one result line for work that should grow linearly with its size, with its baseline
 * measured in the same run: the same work at a tenth of the size. `ratio` is
 * median / baseline median (10 when linear); the target is on the ratio, so a busy or slow
 * machine slows both alike and the figure still means something.
 *   { name, runs, size, median, p99, unit, baseline: { size, median, p99 }, repeats, ratio, target, ok }
 * (each sample is the mean of `repeats` runs, enough for a baseline sample to last 50 ms).
 */
export async function reportScaling(name, { size, baselineSize = Math.max(1, Math.round(size / 10)), runs = 7, unit = 'ms', maxRatio }, measure) {
  // Warm up, then repeat each measurement enough times that a baseline sample lasts at least
  // 50 ms: a 1 ms sample is mostly timer and JIT noise, and the ratio would mean nothing.
  for (let i = 0; i < 3; i++) await measure(baselineSize);
  await measure(size);
  let reps = 1;
  for (;;) {
    let t = 0;
    for (let r = 0; r < reps; r++) t += await measure(baselineSize);
    if (t >= 50 || reps >= 1024) break;
    reps *= 2;
  }
  const sample = async (n) => {
    let t = 0;
    for (let r = 0; r < reps; r++) t += await measure(n);
    return t / reps;
  };
  const base = [];
  const full = [];
  for (let i = 0; i < runs; i++) {
    // Interleaved, so a burst of load hits both series.
    base.push(await sample(baselineSize));
    full.push(await sample(size));
  }
  const median = quantile(full, 0.5);
  const baseMedian = quantile(base, 0.5);
  const ratio = round(median / Math.max(baseMedian, 1e-6));
  const limit = maxRatio ?? (size / baselineSize) * 1.6;
  const line = {
    name,
    runs,
    size,
    median: round(median),
    p99: round(quantile(full, 0.99)),
    unit,
    baseline: { name: `size ${baselineSize}`, size: baselineSize, median: round(baseMedian), p99: round(quantile(base, 0.99)) },
    repeats: reps,
    ratio,
    target: `ratio <= ${round(limit)} (linear: ${round(size / baselineSize)})`,
    ok: ratio <= limit,
  };
  process.stdout.write(`${JSON.stringify(line)}\n`);
  return line;
}

/** Milliseconds fn() takes (awaited). */
export async function time(fn) {
  const t0 = performance.now();
  await fn();
  return performance.now() - t0;
}

const WORKER = `
import { parentPort, workerData } from 'node:worker_threads';
const { startLabRouter } = await import(workerData.labModule);
const router = await startLabRouter({ adminPassword: workerData.password, ...workerData.options });
parentPort.on('message', async (msg) => {
  if (msg.type === 'seed-secrets') {
    const s = router.state;
    if (!s.menu('/ppp/profile').get('bench')) s.menu('/ppp/profile').add({ name: 'bench', 'rate-limit': '10M/50M', 'remote-address': '10.0.0.1' });
    for (let i = 0; i < msg.count; i++) {
      s.menu('/ppp/secret').add({ name: 'sub' + i, password: 'pw-' + i, profile: 'bench', service: 'pppoe', comment: 'ispctl:svc=' + i });
    }
    parentPort.postMessage({ type: 'seeded', count: s.menu('/ppp/secret').size });
  } else if (msg.type === 'close') {
    await router.close();
    parentPort.postMessage({ type: 'closed' });
  }
});
parentPort.postMessage({ type: 'ready', port: router.port });
`;

/**
 * A lab router in a worker thread. Resolves with { port, password, seedSecrets(n), close() }.
 */
export async function startLabWorker(options = {}) {
  const password = 'bench-pw';
  const worker = new Worker(new URL(`data:text/javascript,${encodeURIComponent(WORKER)}`), {
    workerData: { labModule: dist('src/lab/index.js'), password, options },
  });
  const next = (type) =>
    new Promise((resolve, reject) => {
      const onMessage = (msg) => {
        if (msg.type !== type) return;
        worker.off('message', onMessage);
        worker.off('error', reject);
        resolve(msg);
      };
      worker.on('message', onMessage);
      worker.once('error', reject);
    });
  const ready = await next('ready');
  return {
    port: ready.port,
    password,
    async seedSecrets(count) {
      const done = next('seeded');
      worker.postMessage({ type: 'seed-secrets', count });
      return (await done).count;
    },
    async close() {
      const done = next('closed');
      worker.postMessage({ type: 'close' });
      await done;
      await worker.terminate();
    },
  };
}

/**
 * A lab router in its own process (bench/clients/lab-router.mjs). Resolves with
 * { port, password, pid, cpuMs(), seedSecrets(n), close() }; cpuMs() is the CPU the router
 * process has used so far, so a benchmark can say whether the router was the bottleneck.
 */
export async function startLabProcess() {
  const password = 'bench-pw';
  const child = spawn(process.execPath, [join(ROOT, 'bench/clients/lab-router.mjs'), dist('src/lab/index.js'), password], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const next = (type) =>
    new Promise((resolve, reject) => {
      const onMessage = (msg) => {
        if (msg.type !== type) return;
        child.off('message', onMessage);
        child.off('exit', onExit);
        resolve(msg);
      };
      const onExit = (code) => reject(new Error(`lab router process exited with ${code}`));
      child.on('message', onMessage);
      child.once('exit', onExit);
    });
  const ready = await next('ready');
  return {
    port: ready.port,
    password,
    pid: child.pid,
    async cpuMs() {
      const got = next('cpu');
      child.send({ type: 'cpu' });
      return (await got).ms;
    },
    async seedSecrets(count) {
      const done = next('seeded');
      child.send({ type: 'seed-secrets', count });
      return (await done).count;
    },
    async close() {
      if (child.exitCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.send({ type: 'close' });
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/**
 * A process driven one line at a time: it prints a JSON line once ready, then answers each line
 * written to its stdin with one JSON line. Resolves with { ask(line), close() }.
 */
export async function startDriver(command, args, { label = command } = {}) {
  const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout });
  const waiting = [];
  let failure;
  const fail = (err) => {
    failure = err;
    while (waiting.length) waiting.shift().reject(err);
  };
  lines.on('line', (line) => {
    const w = waiting.shift();
    if (!w) return;
    try {
      w.resolve(JSON.parse(line));
    } catch {
      w.reject(new Error(`${label} printed ${JSON.stringify(line)}`));
    }
  });
  child.once('error', (err) => fail(new Error(`${label} failed to start: ${err.message}`)));
  child.once('exit', (code) => fail(new Error(`${label} exited with ${code}`)));
  const reply = () => new Promise((resolve, reject) => (failure ? reject(failure) : waiting.push({ resolve, reject })));
  await reply();
  return {
    ask(line) {
      const r = reply();
      child.stdin.write(`${line}\n`);
      return r;
    },
    async close() {
      if (child.exitCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.stdin.end('quit\n');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** A PostgreSQL tool from the newest /usr/lib/postgresql/<version>/bin, else from PATH. */
export function pgBin(name) {
  const root = '/usr/lib/postgresql';
  if (existsSync(root)) {
    for (const v of readdirSync(root).sort((a, b) => Number(b) - Number(a))) {
      const p = join(root, v, 'bin', name);
      if (existsSync(p)) return p;
    }
  }
  return name;
}

/** A free TCP port on 127.0.0.1. */
export async function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/** A free UDP port on 127.0.0.1, not one of `exclude`. */
export function freeUdpPort(exclude = []) {
  return new Promise((resolve, reject) => {
    const s = createSocket('udp4');
    s.once('error', reject);
    s.bind(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => (exclude.includes(port) ? freeUdpPort(exclude).then(resolve, reject) : resolve(port)));
    });
  });
}

/**
 * A throwaway PostgreSQL cluster on a free loopback port: { url, port, stop() }. Durability is
 * off (fsync, synchronous_commit, full_page_writes), as in every benchmark. Run as root, the
 * cluster belongs to the postgres user.
 * - `settings`: more server settings, e.g. { shared_buffers: '256MB' }.
 * - `replicaOf`: the port of a primary on 127.0.0.1: the cluster is its streaming replica
 *   (pg_basebackup -R) instead of a fresh initdb.
 */
export async function startPostgres({ settings = {}, replicaOf } = {}) {
  const root = userInfo().uid === 0;
  const dir = mkdtempSync(join(tmpdir(), replicaOf ? 'ispctl-bench-pg-replica-' : 'ispctl-bench-pg-'));
  const data = join(dir, 'data');
  if (root) {
    chownSync(dir, Number(execFileSync('id', ['-u', 'postgres']).toString()), Number(execFileSync('id', ['-g', 'postgres']).toString()));
    chmodSync(dir, 0o700);
  }
  const run = (bin, args) => {
    const r = root
      ? spawnSync('runuser', ['-u', 'postgres', '--', pgBin(bin), ...args], { encoding: 'utf8', cwd: dir })
      : spawnSync(pgBin(bin), args, { encoding: 'utf8', cwd: dir });
    if (r.status !== 0) throw new Error(`${bin} failed: ${r.stderr || r.stdout || r.error?.message}`);
  };
  try {
    if (replicaOf) run('pg_basebackup', ['-h', '127.0.0.1', '-p', String(replicaOf), '-U', 'postgres', '-D', data, '-R', '-X', 'stream', '--no-sync', '-c', 'fast']);
    else run('initdb', ['-D', data, '-U', 'postgres', '-A', 'trust', '-E', 'UTF8', '--no-sync', '--locale=C.UTF-8']);
    const port = await freePort();
    const opts = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off${Object.entries(settings)
      .map(([k, v]) => ` -c ${k}=${v}`)
      .join('')}`;
    run('pg_ctl', ['-D', data, '-o', opts, '-l', join(dir, 'server.log'), '-w', '-t', '120', 'start']);
    return {
      url: `postgres://postgres@127.0.0.1:${port}/postgres`,
      port,
      /** The server's log file (gone after stop). */
      log: join(dir, 'server.log'),
      /** The postmaster's process id (first line of postmaster.pid). */
      pid: Number(readFileSync(join(data, 'postmaster.pid'), 'utf8').split('\n')[0]),
      stop() {
        try {
          run('pg_ctl', ['-D', data, '-m', 'immediate', '-w', 'stop']);
        } finally {
          rmSync(dir, { recursive: true, force: true });
        }
      },
    };
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
}

// ---- FreeRADIUS and radclient ------------------------------------------------------------------

/**
 * radclient sending the Access-Requests in `file` to 127.0.0.1:port, `parallel` in flight.
 * Resolves with { seconds, rate (requests/s for `count` requests), passed (accepted), failed
 * (rejected or lost), out }.
 */
export function radclient(port, file, { secret, parallel = 100, count } = {}) {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn('radclient', ['-q', '-s', '-p', String(parallel), '-r', '3', '-t', '5', '-f', file, `127.0.0.1:${port}`, 'auth', secret], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    child.once('error', reject);
    child.once('close', () => {
      const seconds = (performance.now() - t0) / 1000;
      const n = (label) => Number(new RegExp(`${label}\\s*:\\s*(\\d+)`).exec(out)?.[1] ?? NaN);
      resolve({ seconds, rate: (count ?? n('Accepted')) / seconds, passed: n('Accepted'), failed: n('Rejected') + n('Lost'), out });
    });
  });
}

/**
 * One radclient request file of `count` PAP requests for subscribers sub<n>/pw-<n>, n drawn at
 * random from 1..subscribers (skipping those `skip(n)` is true for).
 */
export function requestFile(dir, tag, { count, subscribers, skip = () => false }) {
  const lines = [];
  for (let i = 0; i < count; i++) {
    let n;
    do n = 1 + Math.floor(Math.random() * subscribers);
    while (skip(n));
    lines.push(`User-Name = "sub${n}", User-Password = "pw-${n}", NAS-IP-Address = 127.0.0.1, NAS-Port-Type = Ethernet, Service-Type = Framed-User, Framed-Protocol = PPP\n`);
  }
  const file = join(dir, `requests-${tag}.txt`);
  writeFileSync(file, lines.join('\n'));
  return file;
}

/**
 * A FreeRADIUS daemon (foreground, threaded: -f, not -X, whose debug output would be the
 * bottleneck) on a configuration written by ispctl's writer, listening on free loopback ports.
 * `db` (and `authDb`, where authorize reads) as writeFreeRadiusConfig takes them. Resolves once
 * it accepts sub1/pw-1 with { name, authPort, pid, stop() }.
 */
export async function startFreeRadius({ name, sourceDir, db, authDb, secret }) {
  const { writeFreeRadiusConfig } = await import(dist('src/core/provisioning/radius/freeradius-config.js'));
  const dir = mkdtempSync(join(tmpdir(), `ispctl-bench-fr-${name}-`));
  const authPort = await freeUdpPort();
  const acctPort = await freeUdpPort([authPort]);
  const config = await writeFreeRadiusConfig({
    targetDir: join(dir, 'raddb'),
    sourceDir,
    db,
    ...(authDb ? { authDb } : {}),
    listen: { address: '127.0.0.1', authPort, acctPort },
    runAsCurrentUser: true,
    logDir: join(dir, 'log'),
    rejectDelaySeconds: 0,
  });
  const bin = ['/usr/sbin/freeradius', '/usr/sbin/radiusd', '/usr/local/sbin/radiusd'].find((p) => existsSync(p)) ?? 'freeradius';
  const child = spawn(bin, ['-f', '-d', config.configDir], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    }
    rmSync(dir, { recursive: true, force: true });
  };
  const probe = join(dir, 'probe.txt');
  writeFileSync(probe, 'User-Name = "sub1", User-Password = "pw-1", NAS-IP-Address = 127.0.0.1\n');
  const deadline = Date.now() + 60_000;
  try {
    for (;;) {
      if (child.exitCode !== null) throw new Error(`FreeRADIUS (${name}) exited: ${stderr}${config.logFile && existsSync(config.logFile) ? readFileSync(config.logFile, 'utf8').slice(-3000) : ''}`);
      const r = await radclient(authPort, probe, { secret, parallel: 1, count: 1 });
      if (r.passed === 1) return { name, authPort, pid: child.pid, stop };
      if (Date.now() > deadline) throw new Error(`FreeRADIUS (${name}) never accepted sub1: ${r.out}`);
      await new Promise((res) => setTimeout(res, 200));
    }
  } catch (err) {
    await stop();
    throw err;
  }
}

// ---- a benchmark's database ----------------------------------------------------------------------

/**
 * The database a benchmark seeds: an in-memory PGlite (the embedded engine), or, with
 * BENCH_DATABASE_URL (a server URL), a throwaway database created on that PostgreSQL server and
 * dropped by close(). Both with ispctl's type parsers (bigint money as BigInt, numeric and dates
 * as text). Resolves with { knex, engine: 'pglite' | 'postgres', close() }; not migrated.
 */
export async function openBenchDatabase({ prefix = 'ispctl_bench' } = {}) {
  const { default: knexFactory } = await import('knex');
  const server = process.env.BENCH_DATABASE_URL;
  if (!server) {
    const { PGlite } = await import('@electric-sql/pglite');
    const { default: ClientPgLite } = await import('knex-pglite');
    const pglite = new PGlite({ parsers: { 20: (v) => BigInt(v), 1700: (v) => v, 1082: (v) => v } });
    await pglite.waitReady;
    const knex = knexFactory({ client: ClientPgLite, dialect: 'postgres', connection: () => ({ pglite }) });
    return {
      engine: 'pglite',
      knex,
      close: async () => {
        await knex.destroy();
        if (!pglite.closed) await pglite.close();
      },
    };
  }
  const { openDatabase } = await import(dist('src/core/db/connection.js'));
  const name = `${prefix}_${process.pid}_${Date.now()}`;
  const admin = knexFactory({ client: 'pg', connection: server, pool: { min: 0, max: 1 } });
  await admin.raw(`create database ${name}`);
  const url = new URL(server);
  url.pathname = `/${name}`;
  const opened = await openDatabase({ engine: 'postgres', url: url.toString() });
  return {
    engine: 'postgres',
    knex: opened.knex,
    close: async () => {
      await opened.close();
      await admin.raw(`drop database if exists ${name} with (force)`);
      await admin.destroy();
    },
  };
}
