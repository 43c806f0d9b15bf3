// Collections benchmarks: ispctl's core (the same calls `ispctl collections run` and `ispctl
// payment record` make, without the process start) against the lab router in a worker thread
// (its own event loop, as a real router is its own machine) with its PPPoE NAS, over loopback
// TCP, in API mode. The database is an in-memory PGlite seeded set-based, or, with
// BENCH_DATABASE_URL (a server URL), a throwaway database created on that PostgreSQL server and
// dropped at the end. Prints one JSON line per benchmark: { name, runs, median, p99, unit, target }.
//
//   npm run build && node bench/collections.mjs
//   BENCH_DATABASE_URL=postgres://user@127.0.0.1/postgres node bench/collections.mjs
//
// (a) collections.suspend-10k-api: 10,000 subscribers past due date plus grace; one collections
//     run moves them all to suspended (events, audit, 20,000 messages queued, access recomputed,
//     10,000 jobs), then the jobs run until every PPP secret is disabled on the router
//     (target < 5 s); with PostgreSQL also once through `ispctl collections run` itself;
// (b) collections.payment-to-full-speed-api: a suspended subscriber pays; from the start of
//     recordPayment (allocation, collections, receipt) through running its router job to the
//     lab NAS accepting a dial at the plan rate (target: median < 200 ms, p99 < 1 s).
import knexFactory from 'knex';
import { performance } from 'node:perf_hooks';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { dist, report, ROOT, sized } from './lib.mjs';

const SUBSCRIBERS = Number(process.env.BENCH_SUBSCRIBERS ?? sized(10_000, 2_000));
const RUNS = Number(process.env.BENCH_RUNS ?? sized(3, 1));
const PAYMENTS = Number(process.env.BENCH_PAYMENTS ?? sized(50, 10));
const FULL = '20M/50M';

const { migrateLatest } = await import(dist('src/core/db/migrate.js'));
const { initialise } = await import(dist('src/core/settings/init.js'));
const { setSettings } = await import(dist('src/core/settings/service.js'));
const { addRouter, getRouter } = await import(dist('src/core/routers/service.js'));
const { createPlan } = await import(dist('src/core/plans/service.js'));
const { provisionChanges, refreshAccess } = await import(dist('src/core/provisioning/access.js'));
const { runJobs } = await import(dist('src/core/provisioning/runner.js'));
const { apiDriver, planSync, applySync, readMenu } = await import(dist('src/core/provisioning/routeros/index.js'));
const { RouterOSClient } = await import(dist('src/core/routeros/index.js'));
const { FixedClock } = await import(dist('src/core/clock.js'));
const { runCollections } = await import(dist('src/core/collections/run.js'));
const { recordPayment } = await import(dist('src/core/payments/service.js'));

// ---- the lab router with its NAS, in a worker --------------------------------------------------
const WORKER = `
import { parentPort, workerData } from 'node:worker_threads';
const { startLabRouter } = await import(workerData.labModule);
const router = await startLabRouter({ adminPassword: workerData.password, nas: { nasAddress: '127.0.0.1' } });
parentPort.on('message', async (msg) => {
  if (msg.type === 'dial') {
    try {
      for (const s of router.nas.sessions().filter((x) => x.name === msg.username)) await router.nas.hangup(s.id);
      const s = await router.nas.dial({ username: msg.username, password: msg.password });
      parentPort.postMessage({ type: 'dialled', id: msg.id, ok: true, rateLimit: s.rateLimit });
    } catch (e) {
      parentPort.postMessage({ type: 'dialled', id: msg.id, ok: false, reason: e.reason ?? String(e) });
    }
  } else if (msg.type === 'close') {
    await router.close();
    parentPort.postMessage({ type: 'closed' });
  }
});
parentPort.postMessage({ type: 'ready', port: router.port });
`;

async function startLab() {
  const password = 'bench-pw';
  const worker = new Worker(new URL(`data:text/javascript,${encodeURIComponent(WORKER)}`), { workerData: { labModule: dist('src/lab/index.js'), password } });
  const waiting = new Map();
  let ready;
  const readyP = new Promise((r) => (ready = r));
  worker.on('message', (m) => {
    if (m.type === 'ready') ready(m);
    else if (m.type === 'dialled' || m.type === 'closed') waiting.get(m.id ?? 'close')?.(m);
  });
  const { port } = await readyP;
  let n = 0;
  return {
    port,
    password,
    dial(username, pw) {
      const id = ++n;
      return new Promise((resolve) => {
        waiting.set(id, (m) => (waiting.delete(id), resolve(m)));
        worker.postMessage({ type: 'dial', id, username, password: pw });
      });
    },
    async close() {
      await new Promise((resolve) => {
        waiting.set('close', resolve);
        worker.postMessage({ type: 'close' });
      });
      await worker.terminate();
    },
  };
}

// ---- the database: in-memory PGlite, or a throwaway database on the PostgreSQL server ---------
async function openDb() {
  const server = process.env.BENCH_DATABASE_URL;
  if (server) {
    const { openDatabase } = await import(dist('src/core/db/connection.js'));
    const name = `ispctl_bench_collections_${process.pid}_${Date.now()}`;
    const admin = knexFactory({ client: 'pg', connection: server, pool: { min: 0, max: 1 } });
    await admin.raw(`create database ${name}`);
    const url = new URL(server);
    url.pathname = `/${name}`;
    const opened = await openDatabase({ engine: 'postgres', url: url.toString() });
    return {
      db: opened.knex,
      engine: 'postgres',
      url: url.toString(),
      close: async () => {
        await opened.close();
        await admin.raw(`drop database if exists ${name} with (force)`);
        await admin.destroy();
      },
    };
  }
  const { PGlite } = await import('@electric-sql/pglite');
  const { default: ClientPgLite } = await import('knex-pglite');
  const pglite = new PGlite({ parsers: { 20: (v) => BigInt(v), 1700: (v) => v, 1082: (v) => v } });
  await pglite.waitReady;
  const db = knexFactory({ client: ClientPgLite, dialect: 'postgres', connection: () => ({ pglite }) });
  return { db, engine: 'pglite', close: async () => { await db.destroy(); if (!pglite.closed) await pglite.close(); } };
}

const { db, engine, close, url: cliUrl } = await openDb();
await migrateLatest(db);
let clock = new FixedClock('2026-11-24T01:00:00Z'); // 09:00 in Manila: due 2026-11-16 + 5 days' grace have passed
const SECRET_KEY = 'c0'.repeat(32);
const ctx = () => ({ db, engine, clock, actor: { user: 'bench', command: 'bench/collections.mjs' }, env: { ISPCTL_SECRET_KEY: SECRET_KEY } });
const drivers = {
  api: apiDriver,
  radius: { run: async (_c, _r, jobs) => jobs.map((j) => ({ id: j.id, ok: false, error: 'not benchmarked' })) },
};

const lab = await startLab();
try {
  await initialise(ctx(), { values: { 'isp-name': 'Bench ISP', currency: 'PHP', timezone: 'Asia/Manila', 'grace-days': 5, 'due-days': 15 } });
  // Messages are queued as in production (email and SMS set up); nothing is sent here, so the
  // suspensions do not wait for their notices (notify-suspension-hold-minutes 0; the notices
  // before the suspensions are bench/notify.mjs's subject).
  await setSettings(ctx(), {
    'smtp-url': 'smtp://127.0.0.1:2525',
    'mail-from': 'Bench ISP <billing@bench.example>',
    'sms-url': 'http://127.0.0.1:9/sms',
    'notify-suspension-hold-minutes': '0',
  });
  await addRouter(ctx(), { name: 'bench1', host: '127.0.0.1', apiPort: lab.port, apiUser: 'admin', apiPassword: lab.password, mode: 'api' });
  await createPlan(ctx(), { name: 'Fiber 1500', price: '1500', download: '50M', upload: '20M' });
  const router = await getRouter(db, 'bench1');
  const plan = await db('plans').where({ name: 'Fiber 1500' }).first();

  // Seed set-based: subscribers with email and phone, one service and one unpaid invoice each.
  const created = new Date('2026-10-01T00:00:00Z');
  for (let i = 0; i < SUBSCRIBERS; i += 1000) {
    const n = Math.min(1000, SUBSCRIBERS - i);
    const subs = await db('subscribers')
      .insert(Array.from({ length: n }, (_, k) => ({ full_name: `Subscriber ${i + k}`, email: `sub${i + k}@bench.example`, phone: `+63917${String(i + k).padStart(7, '0')}` })))
      .returning('id');
    await db('services').insert(
      subs.map((s, k) => ({ subscriber_id: s.id, plan_id: plan.id, router_id: router.id, username: `sub${i + k}`, password: `pw-${i + k}`, started_on: '2026-10-01', created_at: created, updated_at: created })),
    );
    await db('invoices').insert(
      subs.map((s, k) => ({
        number: `INV-2026-${String(i + k + 1).padStart(6, '0')}`,
        subscriber_id: s.id,
        period_key: '2026-11',
        period_start: '2026-11-01',
        period_end: '2026-11-30',
        issue_date: '2026-11-01',
        due_date: '2026-11-16',
        currency: 'PHP',
        subtotal_minor: 150000n,
        total_minor: 150000n,
        status: 'sent',
        created_at: created,
        updated_at: created,
      })),
    );
  }
  await refreshAccess(db, ctx(), { all: true });
  const [first] = await planSync(ctx(), { router: 'bench1' });
  if (first.status !== 'planned') throw new Error(`could not plan: ${first.reason}`);
  const [seeded] = await applySync(ctx(), [first], {});
  if (seeded.counts.failed) throw new Error(`seeding failed: ${JSON.stringify(seeded.failures?.slice(0, 3))}`);

  const client = await RouterOSClient.connect({ host: '127.0.0.1', port: lab.port, user: 'admin', password: lab.password, timeoutMs: 60_000 });
  const disabledSecrets = async () => (await readMenu(client, 'secret')).filter((s) => s.disabled === 'true').length;

  // (a) one collections run suspending everyone, then the router jobs.
  const times = [];
  for (let run = 0; run < RUNS; run++) {
    clock = new FixedClock(new Date(clock.now().getTime() + 60_000));
    const t0 = performance.now();
    const r = await runCollections(ctx(), { force: true });
    const t1 = performance.now();
    const s = await runJobs(ctx(), drivers, { ids: r.jobIds, timeoutMs: 60_000 });
    if (process.env.BENCH_VERBOSE) process.stderr.write(`run ${run}: collections ${(t1 - t0).toFixed(0)} ms, router jobs ${(performance.now() - t1).toFixed(0)} ms\n`);
    const ms = performance.now() - t0;
    if (r.suspended.length !== SUBSCRIBERS || r.jobIds.length !== SUBSCRIBERS || s.done !== SUBSCRIBERS || s.failed) {
      throw new Error(`run ${run}: ${r.suspended.length} suspended, ${r.jobIds.length} jobs, ${s.done} done, ${s.failed} failed (${s.routers[0]?.error ?? ''})`);
    }
    if (r.notifications !== 2 * SUBSCRIBERS) throw new Error(`run ${run}: ${r.notifications} messages queued`);
    const disabled = await disabledSecrets();
    if (disabled !== SUBSCRIBERS) throw new Error(`run ${run}: ${disabled} of ${SUBSCRIBERS} secrets disabled`);
    times.push(ms);
    if (run < RUNS - 1) {
      // Back to before the run (not timed): warned, no suspension events or messages, secrets enabled.
      await db('services').update({ collection_status: 'warned' });
      await db('collection_events').where('kind', 'suspension').del();
      await db('notifications').del();
      const back = await provisionChanges(db, ctx(), { all: true });
      await runJobs(ctx(), drivers, { ids: back.jobIds, timeoutMs: 60_000 });
    }
  }
  report(`collections.suspend-${SUBSCRIBERS / 1000}k-api (${engine})`, times, 'ms', '< 5000');

  // The same through the real command, process start included (PostgreSQL only: the CLI needs a
  // database it can open from another process).
  if (cliUrl) {
    await db('services').update({ collection_status: 'warned' });
    await db('collection_events').where('kind', 'suspension').del();
    await db('notifications').del();
    const back = await provisionChanges(db, ctx(), { all: true });
    await runJobs(ctx(), drivers, { ids: back.jobIds, timeoutMs: 60_000 });
    clock = new FixedClock(new Date(clock.now().getTime() + 60_000));
    const t0 = performance.now();
    const cli = spawnSync(process.execPath, [join(ROOT, 'bin', 'run.js'), 'collections', 'run', '--json'], {
      env: { ...process.env, DATABASE_URL: cliUrl, ISPCTL_NOW: clock.now().toISOString(), ISPCTL_SECRET_KEY: SECRET_KEY, ISPCTL_ROUTER_TIMEOUT: '60', NO_COLOR: '1' },
      encoding: 'utf8',
      maxBuffer: 256 * 1024 * 1024,
    });
    const ms = performance.now() - t0;
    const out = JSON.parse(cli.stdout || '{}');
    if (cli.status !== 0 || out.data?.suspended?.length !== SUBSCRIBERS || out.data?.routers?.done !== SUBSCRIBERS) {
      throw new Error(`ispctl collections run: exit ${cli.status}, ${out.data?.suspended?.length} suspended: ${cli.stderr.slice(0, 500)}`);
    }
    report(`collections.cli-suspend-${SUBSCRIBERS / 1000}k-api (${engine}, process start included)`, [ms], 'ms', '< 5000');
  }

  // (b) payment to full speed, one subscriber at a time; everyone is suspended now.
  const latencies = [];
  for (let i = 0; i < PAYMENTS; i++) {
    const user = `sub${i}`;
    const before = await lab.dial(user, `pw-${i}`);
    if (before.ok) throw new Error(`${user} could dial in while suspended`);
    clock = new FixedClock(new Date(clock.now().getTime() + 1000));
    const t0 = performance.now();
    const paid = await recordPayment(ctx(), { subscriber: user, amount: '1500', method: 'gcash', reference: `GC-BENCH-${i}` });
    if (!paid.collections.restored.length) throw new Error(`${user} was not restored`);
    const s = await runJobs(ctx(), drivers, { ids: paid.collections.jobIds, timeoutMs: 5_000 });
    if (s.failed || s.done !== paid.collections.jobIds.length) throw new Error(`${user}: jobs ${JSON.stringify(s)}`);
    let d = await lab.dial(user, `pw-${i}`);
    while (!(d.ok && d.rateLimit === FULL)) {
      if (performance.now() - t0 > 5000) throw new Error(`${user} not at full speed after 5 s: ${JSON.stringify(d)}`);
      d = await lab.dial(user, `pw-${i}`);
    }
    latencies.push(performance.now() - t0);
  }
  await client.close();
  report(`collections.payment-to-full-speed-api (${engine})`, latencies, 'ms', 'median < 200, p99 < 1000');
} finally {
  await lab.close();
  await close();
}
