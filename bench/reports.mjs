#!/usr/bin/env node
// report aging, report collections and report revenue over 100,000 subscribers on PostgreSQL (a
// throwaway cluster started here): 3 months of invoices (300,000 with their lines), 250,000
// payments with allocations, a month of collections by 3 cashiers. Prints one JSON line per
// report: { name, runs, median, p99, unit, target }.
//
//   npm run build && node bench/reports.mjs [--subscribers 100000] [--runs 5]
import { dist, report, sized, startPostgres } from './lib.mjs';

const arg = (name, def) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : def;
};
const N = arg('subscribers', sized(100_000, 10_000));
const RUNS = arg('runs', sized(5, 2));

const { openDatabase } = await import(dist('src/core/db/connection.js'));
const { migrateLatest } = await import(dist('src/core/db/migrate.js'));
const { FixedClock } = await import(dist('src/core/clock.js'));
const { initialise } = await import(dist('src/core/settings/init.js'));
const { agingReport, collectionsReport, revenueReport } = await import(dist('src/core/reports/service.js'));

async function seed(knex, clock) {
  const ctx = { db: knex, clock, actor: { user: 'bench', command: 'bench' }, env: {} };
  await initialise(ctx, { values: { 'isp-name': 'Bench ISP', currency: 'PHP', timezone: 'Asia/Manila', 'billing-day': 1, 'due-days': 15 } });
  const [router] = await knex('routers').insert({ name: 'core1', host: '127.0.0.1', api_user: 'u', api_password_enc: 'x', radius_secret_enc: 'x' }).returning('id');
  const plans = [];
  for (const [name, price] of [['Fiber 25', 99900n], ['Fiber 50', 150000n], ['Fiber 100', 249950n]]) {
    const [p] = await knex('plans').insert({ name, price_minor: price, currency: 'PHP', download_kbps: 50000, upload_kbps: 10000 }).returning(['id', 'price_minor']);
    plans.push(p);
  }
  await knex.raw(`insert into subscribers (full_name) select 'Subscriber ' || g from generate_series(1, ?::int) g`, [N]);
  await knex.raw(
    `insert into services (subscriber_id, plan_id, router_id, username, password, started_on, ended_on, collection_status, access_state, access_reason, rate_limit, created_at, updated_at)
     select s.id, (array[?, ?, ?]::int[])[1 + s.id % 3], ?, 'user' || s.id, 'pw' || s.id, date '2026-08-01',
            case when s.id % 97 = 0 then date '2026-10-20' end, case when s.id % 13 = 0 then 'suspended' else 'current' end,
            'active', 'ok', '10M/50M', ?::timestamptz, ?::timestamptz
       from subscribers s`,
    [plans[0].id, plans[1].id, plans[2].id, router.id, clock.now(), clock.now()],
  );
  // Three months of invoices, one line each.
  await knex.raw(
    `insert into invoices (number, subscriber_id, period_key, period_start, period_end, issue_date, due_date, currency, subtotal_minor, discount_minor, total_minor, status, created_at, updated_at)
     select 'INV-' || m.k || '-' || v.subscriber_id, v.subscriber_id, m.k, m.start, (m.start + interval '1 month' - interval '1 day')::date, m.start, m.start + 15,
            'PHP', p.price_minor, 0, p.price_minor, 'sent', m.start::timestamptz, m.start::timestamptz
       from services v join plans p on p.id = v.plan_id
      cross join (values ('2026-08', date '2026-08-01'), ('2026-09', date '2026-09-01'), ('2026-10', date '2026-10-01')) as m(k, start)`,
  );
  await knex.raw(
    `insert into invoice_lines (invoice_id, service_id, period_key, plan_id, description, price_source, unit_price_minor, days, period_days, amount_minor, discount_minor, total_minor, created_at)
     select i.id, v.id, i.period_key, v.plan_id, 'service', 'plan', i.total_minor, 30, 30, i.total_minor, 0, i.total_minor, i.created_at
       from invoices i join services v on v.subscriber_id = i.subscriber_id`,
  );
  // Payments for most invoices, spread over October by three cashiers and the gateway.
  await knex.raw(
    `insert into payments (subscriber_id, amount_minor, currency, method, reference, received_at, recorded_at, recorded_by, source)
     select i.subscriber_id, i.total_minor, 'PHP', (array['cash','gcash','bank'])[1 + i.id % 3], 'R' || i.id,
            timestamptz '2026-10-01 09:00+08' + (i.id % 30) * interval '1 day' + (i.id % 480) * interval '1 minute',
            timestamptz '2026-10-01 09:00+08' + (i.id % 30) * interval '1 day' + (i.id % 480) * interval '1 minute',
            (array['maria','jose','ana','webhook:paymongo'])[1 + i.id % 4], 'manual'
       from invoices i where i.id % 6 <> 0 and not (i.period_key = '2026-10' and i.subscriber_id % 3 = 0)`,
  );
  await knex.raw(
    `insert into payment_allocations (payment_id, invoice_id, amount_minor, created_at)
     select p.id, i.id, p.amount_minor, p.received_at from payments p join invoices i on 'R' || i.id = p.reference`,
  );
  await knex.raw(`update invoices i set paid_minor = i.total_minor, status = 'paid' where exists (select 1 from payment_allocations a where a.invoice_id = i.id)`);
  await knex.raw('analyze');
  const counts = (await knex.raw('select (select count(*) from invoices) as invoices, (select count(*) from payments) as payments')).rows[0];
  return { ctx, counts };
}

const pg = await startPostgres({ settings: { shared_buffers: '256MB' } });
try {
  const admin = await openDatabase({ engine: 'postgres', url: pg.url });
  await admin.knex.raw('create database bench');
  await admin.close();
  const db = await openDatabase({ engine: 'postgres', url: pg.url.replace(/\/postgres$/, '/bench') }, { poolMax: 2 });
  try {
    await migrateLatest(db.knex);
    const { counts } = await seed(db.knex, new FixedClock('2026-08-01T08:00:00+08:00'));
    process.stderr.write(`seeded ${N} subscribers, ${counts.invoices} invoices, ${counts.payments} payments\n`);
    const now = new Date('2026-11-05T08:00:00+08:00');
    if (process.argv.includes('--trace')) {
      // Time each statement on stderr, to see which one to make faster.
      const started = new Map();
      db.knex.on('query', (q) => started.set(q.__knexQueryUid, performance.now()));
      db.knex.on('query-response', (_r, q) => process.stderr.write(`${Math.round(performance.now() - started.get(q.__knexQueryUid))} ms  ${q.sql.replace(/\s+/g, ' ').slice(0, 110)}\n`));
    }
    const k = N >= 1000 ? `${Math.round(N / 1000)}k` : String(N);
    const cases = [
      ['aging', () => agingReport(db.knex, { now, detail: true, limit: 50 })],
      ['collections', () => collectionsReport(db.knex, { from: '2026-10-01', to: '2026-10-31', now })],
      ['revenue', () => revenueReport(db.knex, { from: '2026-01', to: '2026-12', now })],
    ];
    for (const [name, fn] of cases) {
      await fn();
      const times = [];
      for (let i = 0; i < RUNS; i++) {
        const t0 = performance.now();
        await fn();
        times.push(performance.now() - t0);
      }
      report(`reports.${name}-${k}.postgres`, times, 'ms', '< 2000');
    }
  } finally {
    await db.close();
  }
} finally {
  pg.stop();
}
