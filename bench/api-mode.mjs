// API-mode provisioning benchmarks: ispctl's core against the lab router (in a worker thread, its
// own event loop, as a real router is its own machine) over loopback TCP, with an in-memory
// PGlite database seeded set-based. Prints one JSON line per benchmark:
// { name, runs, median, p99, unit, target }.
//
//   npm run build && node bench/api-mode.mjs
//   BENCH_DATABASE_URL=postgres://user@127.0.0.1/postgres node bench/api-mode.mjs
//
// With BENCH_DATABASE_URL the database is PostgreSQL: a throwaway database is created on that
// server for the run and dropped afterwards (the one in the URL is only used to create it).
//
// (a) sync --dry-run planning on a router holding 10,000 PPP secrets: read the router whole,
//     build the desired state, diff (target < 2 s);
// (b) a plan speed change reaching 10,000 subscribers in API mode, worst case queue shaping:
//     recompute access and queue the jobs, then run them (10,000 queue sets pipelined on one
//     connection) until every job is done (target < 5 s).
import { dist, openBenchDatabase, report, sized, startLabWorker } from './lib.mjs';

const SERVICES = Number(process.env.BENCH_SERVICES ?? sized(10_000, 2_000));
const PLAN_RUNS = Number(process.env.BENCH_RUNS ?? sized(5, 2));
const CHANGE_RUNS = Number(process.env.BENCH_RUNS ?? sized(5, 2));

const { migrateLatest } = await import(dist('src/core/db/migrate.js'));
const { initialise } = await import(dist('src/core/settings/init.js'));
const { addRouter, editRouter, getRouter } = await import(dist('src/core/routers/service.js'));
const { createPlan } = await import(dist('src/core/plans/service.js'));
const { provisionChanges, refreshAccess } = await import(dist('src/core/provisioning/access.js'));
const { runJobs } = await import(dist('src/core/provisioning/runner.js'));
const { apiDriver, planSync, applySync, readMenu } = await import(dist('src/core/provisioning/routeros/index.js'));
const { RouterOSClient } = await import(dist('src/core/routeros/index.js'));
const { FixedClock } = await import(dist('src/core/clock.js'));

const database = await openBenchDatabase();
const db = database.knex;
const engine = database.engine;
await migrateLatest(db);

let clock = new FixedClock('2026-11-24T00:00:00Z');
const ctx = () => ({ db, engine, clock, actor: { user: 'bench', command: 'bench/api-mode.mjs' }, env: { ISPCTL_SECRET_KEY: 'be'.repeat(32) } });
const drivers = {
  api: apiDriver,
  radius: { run: async (_c, _r, jobs) => jobs.map((j) => ({ id: j.id, ok: false, error: 'not benchmarked' })) },
};

const lab = await startLabWorker();
try {
  await initialise(ctx(), { values: { 'isp-name': 'Bench ISP', currency: 'PHP', timezone: 'Asia/Manila' } });
  await addRouter(ctx(), { name: 'bench1', host: '127.0.0.1', apiPort: lab.port, apiUser: 'admin', apiPassword: lab.password, mode: 'api' });
  await createPlan(ctx(), { name: 'Fiber 50', price: '1500', download: '50M', upload: '20M' });
  const router = await getRouter(db, 'bench1');
  const plan = await db('plans').where({ name: 'Fiber 50' }).first();

  // Seed set-based: 10,000 subscribers with a service each, every one with a static IP.
  for (let i = 0; i < SERVICES; i += 1000) {
    const n = Math.min(1000, SERVICES - i);
    const subs = await db('subscribers')
      .insert(Array.from({ length: n }, (_, k) => ({ full_name: `Subscriber ${i + k}` })))
      .returning('id');
    await db('services').insert(
      subs.map((s, k) => {
        const x = i + k;
        return {
          subscriber_id: s.id,
          plan_id: plan.id,
          router_id: router.id,
          username: `sub${x}`,
          password: `pw-${x}`,
          static_ip: `10.${100 + Math.floor(x / 65536)}.${Math.floor(x / 256) % 256}.${x % 256}`,
          started_on: '2026-11-01',
        };
      }),
    );
  }
  await refreshAccess(db, ctx(), { all: true });

  // The router holds the desired state: 10,000 secrets written by sync itself.
  const [first] = await planSync(ctx(), { router: 'bench1' });
  if (first.status !== 'planned') throw new Error(`could not plan: ${first.reason}`);
  const [seeded] = await applySync(ctx(), [first], {});
  if (seeded.counts.failed) throw new Error(`seeding failed: ${JSON.stringify(seeded.failures?.slice(0, 3))}`);

  // (a) sync --dry-run planning.
  const planTimes = [];
  for (let run = 0; run < PLAN_RUNS + 1; run++) {
    const t0 = performance.now();
    const [p] = await planSync(ctx(), { router: 'bench1' });
    const ms = performance.now() - t0;
    if (p.status !== 'planned' || p.changes) throw new Error(`expected a clean plan, got ${JSON.stringify(p.counts)}`);
    if (run > 0) planTimes.push(ms); // the first run warms up
  }
  report(`api-mode.sync-dry-run-${SERVICES / 1000}k-secrets.${engine}`, planTimes, 'ms', '< 2000');

  // (b) a plan speed change with queue shaping: 10,000 queue sets.
  await editRouter(ctx(), 'bench1', { shaping: 'queue' });
  const [toQueue] = await planSync(ctx(), { router: 'bench1' });
  const [queued] = await applySync(ctx(), [toQueue], {});
  if (queued.counts.failed || queued.counts.created !== SERVICES) throw new Error(`queue setup: ${JSON.stringify(queued.counts)}`);

  const client = await RouterOSClient.connect({ host: '127.0.0.1', port: lab.port, user: 'admin', password: lab.password, timeoutMs: 60_000 });
  const changeTimes = [];
  const driverTimes = [];
  for (let run = 0; run < CHANGE_RUNS; run++) {
    const download = run % 2 === 0 ? 60_000 : 50_000;
    clock = new FixedClock(new Date(clock.now().getTime() + 60_000));
    await db('plans').where({ id: plan.id }).update({ download_kbps: download });
    const t0 = performance.now();
    const { jobIds } = await provisionChanges(db, ctx(), { planIds: [plan.id] }, { plansChanged: [plan.id] });
    const t1 = performance.now();
    const summary = await runJobs(ctx(), drivers, { ids: jobIds, timeoutMs: 60_000 });
    const ms = performance.now() - t0;
    driverTimes.push(performance.now() - t1);
    if (jobIds.length !== SERVICES || summary.done !== SERVICES || summary.failed) {
      throw new Error(`run ${run}: ${jobIds.length} jobs, ${summary.done} done, ${summary.failed} failed (${summary.routers[0]?.error ?? ''})`);
    }
    const queues = (await readMenu(client, 'queue')).filter((q) => q.dynamic !== 'true');
    const want = `20000000/${download * 1000}`;
    const right = queues.filter((q) => q['max-limit'] === want).length;
    if (right !== SERVICES) throw new Error(`run ${run}: ${right} of ${SERVICES} queues at ${want}`);
    changeTimes.push(ms);
  }
  await client.close();
  report(`api-mode.plan-speed-change-${SERVICES / 1000}k-queues.${engine}`, changeTimes, 'ms', '< 5000');
  report(`api-mode.plan-speed-change-${SERVICES / 1000}k-queues.router-part.${engine}`, driverTimes, 'ms', 'info');
} finally {
  await lab.close();
  await database.close();
}
