#!/usr/bin/env node
// The dashboard on PostgreSQL: how long from a payment committed by another connection (another
// shell) until the dashboard's source has a new snapshot that shows it: LISTEN/NOTIFY, the
// debounce, and the snapshot query. The poll is set to a minute, so only the notification counts.
//
//   npm run build && BENCH_DATABASE_URL=postgres://user@127.0.0.1/postgres node bench/dashboard.mjs
//
// Without BENCH_DATABASE_URL it prints nothing and says why (LISTEN needs PostgreSQL).
// Environment: BENCH_RUNS (default 20).
import knexFactory from 'knex';
import { dist, report, sized } from './lib.mjs';

const server = process.env.BENCH_DATABASE_URL;
if (!server) {
  process.stderr.write('bench/dashboard.mjs: set BENCH_DATABASE_URL to a PostgreSQL superuser URL (LISTEN/NOTIFY needs PostgreSQL); skipped.\n');
  process.exit(0);
}
const RUNS = Number(process.env.BENCH_RUNS ?? sized(20, 5));

const { migrateLatest } = await import(dist('src/core/db/migrate.js'));
const { openDatabase } = await import(dist('src/core/db/connection.js'));
const { initialise } = await import(dist('src/core/settings/init.js'));
const { addRouter } = await import(dist('src/core/routers/service.js'));
const { createPlan } = await import(dist('src/core/plans/service.js'));
const { addSubscriber } = await import(dist('src/core/subscribers/service.js'));
const { recordPayment } = await import(dist('src/core/payments/service.js'));
const { coreSource } = await import(dist('src/tui/source.js'));
const { FixedClock } = await import(dist('src/core/clock.js'));

const name = `ispctl_bench_dash_${process.pid}_${Date.now()}`;
const admin = knexFactory({ client: 'pg', connection: server, pool: { min: 0, max: 1 } });
await admin.raw(`create database ${name}`);
const url = new URL(server);
url.pathname = `/${name}`;
const target = { engine: 'postgres', url: url.toString() };
const other = await openDatabase(target);
const clock = new FixedClock('2026-12-01T02:00:00Z');
const env = { ISPCTL_SECRET_KEY: 'e7'.repeat(32) };
const ctxOf = (db, command) => ({ db: db.knex, engine: 'postgres', clock, actor: { user: 'bench', command }, env });
let source;
let stop = () => undefined;
try {
  await migrateLatest(other.knex);
  const ctx = ctxOf(other, 'bench');
  await initialise(ctx, { values: { 'isp-name': 'Bench ISP', currency: 'PHP', timezone: 'Asia/Manila' } });
  await addRouter(ctx, { name: 'core1', host: '127.0.0.1', apiPort: 1, apiUser: 'u', apiPassword: 'p' });
  await createPlan(ctx, { name: 'Fiber 50', price: '1500', download: '50M', upload: '10M' });
  await addSubscriber(ctx, { fullName: 'Juan Dela Cruz', username: 'juan', plan: 'Fiber 50', router: 'core1' });
  source = await coreSource({
    open: async () => {
      const db = await openDatabase(target);
      return { ctx: ctxOf(db, 'ispctl dashboard'), close: () => db.close() };
    },
    engine: 'postgres',
    databaseUrl: url.toString(),
    pollMs: 60_000,
  });
  // What the dashboard does on a notification: take a new snapshot.
  let waiting;
  stop = source.watch(() => {
    void source.snapshot().then((s) => waiting?.(s));
  });
  await new Promise((r) => setTimeout(r, 500)); // the LISTEN connection is up
  const samples = [];
  for (let i = 0; i < RUNS + 2; i++) {
    const reference = `G-BENCH-${i}`;
    const seen = new Promise((resolve) => {
      waiting = (s) => {
        if (s.events.some((e) => e.kind === 'payment' && (s.money.today.reduce((n, m) => n + m.count, 0) >= i + 1))) resolve(performance.now());
      };
    });
    const t = performance.now();
    await recordPayment(ctxOf(other, 'ispctl payment record'), { subscriber: 'juan', amount: '100', method: 'gcash', reference });
    const at = await Promise.race([seen, new Promise((r) => setTimeout(() => r(undefined), 10_000))]);
    if (at === undefined) throw new Error(`payment ${reference} never appeared on the dashboard`);
    if (i >= 2) samples.push(at - t); // two warm-up runs
  }
  report('dashboard: payment from another connection to a snapshot showing it (PostgreSQL LISTEN/NOTIFY)', samples, 'ms', '< 1000', {
    note: 'includes the 50 ms debounce and one snapshot query; poll set to 60 s',
  });
} finally {
  stop();
  await source?.close();
  await other.close();
  await admin.raw(`drop database if exists ${name} with (force)`);
  await admin.destroy();
}
