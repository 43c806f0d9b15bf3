#!/usr/bin/env node
// Scale-out on existing engines (docs/scale-out.md): a PostgreSQL primary and a streaming
// replica (pg_basebackup -R) on this machine, SUBSCRIBERS subscribers in RADIUS mode.
//
//   npm run build && node bench/scale-out.mjs [--quick]
//
// Figures (JSON lines, see lib.mjs):
// - scale-out.auth-rate-replica: radclient Access-Requests per second through a FreeRADIUS whose
//   authorize reads the replica (`ispctl radius config --radius-auth-db-url`), with the same
//   FreeRADIUS reading the primary as its baseline, in pairs alternating which side goes first.
// - scale-out.replication-lag-during-billing: the replica's replay lag (pg_stat_replication
//   on the primary, sampled every 50 ms) while `billing generate` runs for every service.
// - scale-out.replica-catch-up-after-billing: from the billing run's commit to the replica
//   having replayed it.
// - scale-out.auth-rate-replica-during-billing: the replica side's rate while billing runs on
//   the primary (one machine here: both share its two cores, so this is a floor).
// All are `info`: there is no target, they are the figures docs/scale-out.md quotes.
// Environment: BENCH_SUBSCRIBERS, BENCH_REQUESTS, BENCH_RUNS override the sizes.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dist, loadSnapshot, quantile, radclient, report, requestFile, round, sized, startFreeRadius, startPostgres } from './lib.mjs';

const SUBSCRIBERS = Number(process.env.BENCH_SUBSCRIBERS ?? sized(100_000, 10_000));
const REQUESTS = Number(process.env.BENCH_REQUESTS ?? sized(4_000, 1_000));
const RUNS = Number(process.env.BENCH_RUNS ?? sized(8, 2));
const PARALLEL = 100;
const SECRET = `bench-${randomBytes(8).toString('hex')}`;

const { default: knexFactory } = await import('knex');
const { openDatabase } = await import(dist('src/core/db/connection.js'));
const { migrateLatest } = await import(dist('src/core/db/migrate.js'));
const { FixedClock } = await import(dist('src/core/clock.js'));
const { initialise } = await import(dist('src/core/settings/init.js'));
const { generateInvoices } = await import(dist('src/core/billing/generate.js'));
const { refreshAccess } = await import(dist('src/core/provisioning/access.js'));
const { publishNasSecret } = await import(dist('src/core/provisioning/radius/nas-secret.js'));
const { detectFreeRadiusConfigDir } = await import(dist('src/core/provisioning/radius/freeradius-config.js'));
const { encryptSecret } = await import(dist('src/core/secrets.js'));

const log = (m) => process.stderr.write(`scale-out: ${m}\n`);
const cleanups = [];
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// ---- PostgreSQL: a primary and its streaming replica --------------------------------------------

/** The primary (initdb) or its streaming replica (pg_basebackup -R); durability off as in the other benchmarks. */
async function startCluster(replicaOf) {
  const pg = await startPostgres({ settings: { shared_buffers: '256MB', max_connections: 200 }, ...(replicaOf ? { replicaOf } : {}) });
  cleanups.push(() => pg.stop());
  return pg.port;
}

// ---- data -------------------------------------------------------------------------------------

async function seed(knex) {
  await migrateLatest(knex);
  const clock = new FixedClock('2026-10-01T02:00:00Z');
  const ctx = { db: knex, engine: 'postgres', clock, actor: { user: 'bench', command: 'bench' }, env: {} };
  await initialise(ctx, { values: { 'isp-name': 'Bench ISP', currency: 'PHP', timezone: 'Asia/Manila', 'billing-day': 1, 'due-days': 15 } });
  const key = randomBytes(32);
  const [router] = await knex('routers')
    .insert({ name: 'bench', host: '127.0.0.1', api_user: 'admin', api_password_enc: encryptSecret('unused', key), radius_secret_enc: encryptSecret(SECRET, key), mode: 'radius', nas_address: '127.0.0.1' })
    .returning('id');
  await publishNasSecret(knex, router.id, SECRET);
  const [plan] = await knex('plans').insert({ name: 'Fiber 50', price_minor: 150000, currency: 'PHP', download_kbps: 50000, upload_kbps: 10000 }).returning('id');
  await knex.raw(`insert into subscribers (full_name) select 'Subscriber ' || g from generate_series(1, ?::int) g`, [SUBSCRIBERS]);
  await knex.raw(
    `insert into services (subscriber_id, plan_id, router_id, username, password, started_on)
     select s.id, ?, ?, 'sub' || s.id, 'pw-' || s.id, date '2026-10-01' from subscribers s`,
    [plan.id, router.id],
  );
  await refreshAccess(knex, { clock }, { all: true });
  await knex.raw('vacuum analyze');
  return ctx;
}

// ---- FreeRADIUS -------------------------------------------------------------------------------

async function startSide(name, sourceDir, db, authDb) {
  const fr = await startFreeRadius({ name, sourceDir, db, authDb, secret: SECRET });
  cleanups.push(() => fr.stop());
  return fr;
}

const requests = (dir, tag) => requestFile(dir, tag, { count: REQUESTS, subscribers: SUBSCRIBERS });
const send = (port, file) => radclient(port, file, { secret: SECRET, parallel: PARALLEL, count: REQUESTS });

// ---- main -------------------------------------------------------------------------------------

const started = performance.now();
try {
  const sourceDir = detectFreeRadiusConfigDir();
  if (!sourceDir) throw new Error('FreeRADIUS is not installed (no radiusd.conf found)');
  const primaryPort = await startCluster();
  const admin = knexFactory({ client: 'pg', connection: `postgres://postgres@127.0.0.1:${primaryPort}/postgres`, pool: { min: 0, max: 1 } });
  cleanups.push(() => admin.destroy());
  await admin.raw('create database ispctl');
  // ispctl's own connection (its type parsers: bigint money as BigInt).
  const primaryDb = await openDatabase({ engine: 'postgres', url: `postgres://postgres@127.0.0.1:${primaryPort}/ispctl` });
  cleanups.push(() => primaryDb.close());
  const primary = primaryDb.knex;
  let t0 = performance.now();
  const ctx = await seed(primary);
  log(`primary: ${SUBSCRIBERS} subscribers in RADIUS mode in ${Math.round(performance.now() - t0)} ms`);
  t0 = performance.now();
  const replicaPort = await startCluster(primaryPort);
  log(`replica: pg_basebackup -R and start in ${Math.round(performance.now() - t0)} ms`);
  const replica = knexFactory({ client: 'pg', connection: `postgres://postgres@127.0.0.1:${replicaPort}/ispctl`, pool: { min: 0, max: 2 } });
  cleanups.push(() => replica.destroy());

  const db = (port) => ({ host: '127.0.0.1', port, user: 'postgres', database: 'ispctl' });
  const viaPrimary = await startSide('primary', sourceDir, db(primaryPort));
  const viaReplica = await startSide('replica', sourceDir, db(primaryPort), db(replicaPort));
  const work = mkdtempSync(join(tmpdir(), 'ispctl-bench-scale-'));
  cleanups.push(() => rmSync(work, { recursive: true, force: true }));

  // Authentication rate: the replica side against the primary side, alternating.
  const warm = requests(work, 'warm');
  for (const side of [viaPrimary, viaReplica]) {
    const r = await send(side.authPort, warm);
    if (r.passed !== REQUESTS) throw new Error(`warm-up on ${side.name}: ${r.out}`);
  }
  const rates = { primary: [], replica: [] };
  const ratios = [];
  const pairs = [];
  for (let run = 0; run < RUNS; run++) {
    const file = requests(work, run);
    const order = run % 2 === 0 ? [viaReplica, viaPrimary] : [viaPrimary, viaReplica];
    const got = {};
    for (const side of order) {
      const r = await send(side.authPort, file);
      if (r.passed !== REQUESTS) throw new Error(`run ${run} on ${side.name}: ${r.passed} accepted, ${r.failed} failed\n${r.out}`);
      got[side.name] = r.rate;
      rates[side.name].push(r.rate);
    }
    ratios.push(got.replica / got.primary);
    pairs.push({ first: order[0].name, replica: Math.round(got.replica), primary: Math.round(got.primary), ratio: round(got.replica / got.primary) });
    log(`run ${run + 1}/${RUNS}: replica ${Math.round(got.replica)}/s, primary ${Math.round(got.primary)}/s`);
  }
  report('scale-out.auth-rate-replica', rates.replica, 'requests/s', 'info', {
    higherIsBetter: true,
    baseline: { name: 'FreeRADIUS reading the primary', samples: rates.primary },
    ratio: round(quantile(ratios, 0.5)),
    note: `${SUBSCRIBERS} subscribers, ${REQUESTS} PAP requests per run, ${PARALLEL} in flight; ratio: median of ${RUNS} paired runs, alternating which side ran first`,
    pairs,
  });

  // Replication while billing runs on the primary, and authentication through the replica meanwhile.
  const lagMs = [];
  const lagBytes = [];
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      const r = (await primary.raw(`select coalesce(extract(epoch from replay_lag) * 1000, 0)::float8 as ms, pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn)::float8 as bytes from pg_stat_replication`)).rows[0];
      if (r) {
        lagMs.push(Number(r.ms));
        lagBytes.push(Number(r.bytes));
      }
      await sleep(50);
    }
  })();
  const during = [];
  let billing = true;
  const auth = (async () => {
    let k = 0;
    while (billing) {
      const r = await send(viaReplica.authPort, requests(work, `during-${k++}`));
      if (billing) during.push(r.rate);
    }
  })();
  ctx.clock.set('2026-11-01T08:00:00+08:00');
  t0 = performance.now();
  const bill = await generateInvoices(ctx);
  const billMs = performance.now() - t0;
  const lsn = (await primary.raw('select pg_current_wal_lsn()::text as lsn')).rows[0].lsn;
  const committed = performance.now();
  while ((await replica.raw('select pg_last_wal_replay_lsn() >= ?::pg_lsn as ok', [lsn])).rows[0].ok !== true) await sleep(10);
  const catchUpMs = performance.now() - committed;
  billing = false;
  sampling = false;
  await Promise.all([sampler, auth]);
  log(`billing: ${bill.invoices} invoices, ${bill.lines} lines in ${Math.round(billMs)} ms; replica caught up ${Math.round(catchUpMs)} ms after`);
  report('scale-out.replication-lag-during-billing', lagMs, 'ms', 'info', {
    note: `replay_lag sampled every 50 ms on the primary while billing generate ran for ${SUBSCRIBERS} services (${Math.round(billMs)} ms, ${bill.lines} lines); largest ${Math.round(Math.max(0, ...lagMs))} ms and ${Math.round(Math.max(0, ...lagBytes) / 1024)} KiB behind`,
  });
  report('scale-out.replica-catch-up-after-billing', [catchUpMs], 'ms', 'info', {
    note: `from the billing run's return (committed) until the replica had replayed its WAL; ${SUBSCRIBERS} services`,
  });
  if (during.length) {
    report('scale-out.auth-rate-replica-during-billing', during, 'requests/s', 'info', {
      higherIsBetter: true,
      baseline: { name: 'replica side, idle primary', samples: rates.replica },
      note: 'one machine: billing on the primary and FreeRADIUS share its cores, so this is a floor for separate machines',
    });
  }
  log(`done in ${Math.round((performance.now() - started) / 1000)} s; load ${JSON.stringify(loadSnapshot())}`);
} finally {
  for (const c of cleanups.reverse()) {
    try {
      await c();
    } catch (err) {
      log(`cleanup: ${err.message}`);
    }
  }
}
