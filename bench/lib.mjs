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
import { chmodSync, chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
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

function pgBin(name) {
  const root = '/usr/lib/postgresql';
  if (existsSync(root)) {
    for (const v of readdirSync(root).sort((a, b) => Number(b) - Number(a))) {
      const p = join(root, v, 'bin', name);
      if (existsSync(p)) return p;
    }
  }
  return name;
}

async function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/**
 * A throwaway PostgreSQL cluster (initdb + pg_ctl on a free loopback port): { url, stop() }.
 * `settings`: more server settings, e.g. { shared_buffers: '256MB' }.
 */
export async function startPostgres({ settings = {} } = {}) {
  const root = userInfo().uid === 0;
  const dir = mkdtempSync(join(tmpdir(), 'ispctl-bench-pg-'));
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
  run('initdb', ['-D', data, '-U', 'postgres', '-A', 'trust', '-E', 'UTF8', '--no-sync', '--locale=C.UTF-8']);
  const port = await freePort();
  const opts = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off${Object.entries(settings)
    .map(([k, v]) => ` -c ${k}=${v}`)
    .join('')}`;
  run('pg_ctl', ['-D', data, '-o', opts, '-l', join(dir, 'server.log'), '-w', '-t', '60', 'start']);
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    stop() {
      try {
        run('pg_ctl', ['-D', data, '-m', 'immediate', '-w', 'stop']);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}
