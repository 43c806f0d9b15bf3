// Small helpers shared by the benchmarks: statistics, the JSON line every benchmark prints, and
// a lab router in a worker thread (its own event loop, as a real router is its own machine).
// Benchmarks import the compiled code from dist/: run `npm run build` first.
import { existsSync } from 'node:fs';
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

/** The q-quantile (0..1) of numbers, nearest-rank. */
export function quantile(values, q) {
  const sorted = [...values].sort((a, b) => a - b);
  if (sorted.length === 0) return NaN;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[rank];
}

function round(n) {
  return Math.round(n * 100) / 100;
}

/**
 * Print one result line: { name, runs, median, p99, unit, target }. For a rate (higher is
 * better) p99 is the rate 99% of runs reach (the 1st percentile); for a time it is the 99th
 * percentile.
 */
export function report(name, samples, unit, target, { higherIsBetter = false } = {}) {
  const line = {
    name,
    runs: samples.length,
    median: round(quantile(samples, 0.5)),
    p99: round(quantile(samples, higherIsBetter ? 0.01 : 0.99)),
    unit,
    target,
  };
  process.stdout.write(`${JSON.stringify(line)}\n`);
  return line;
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
    baseline: { size: baselineSize, median: round(baseMedian), p99: round(quantile(base, 0.99)) },
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
