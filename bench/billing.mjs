#!/usr/bin/env node
// `billing generate` for 100,000 active services, on PostgreSQL (a throwaway cluster started
// here) and on PGlite (the embedded engine, in a temporary data directory). Prints one JSON line
// per measurement: { name, runs, median, p99, unit, target }.
//
//   npm run build && node bench/billing.mjs [--services 100000] [--runs 3]
//
// Each run generates November 2026 for every service from scratch (the previous run's invoices
// are deleted first), then a second run over the same period measures the idempotent no-op.
// Besides wall time, each engine reports the CPU time the run used (this process, plus the
// PostgreSQL backend serving it), which stays meaningful on a machine busy with other work.
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { dist, report } from './lib.mjs';

const arg = (name, def) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : def;
};
const SERVICES = arg('services', 100_000);
const RUNS = arg('runs', 3);

const { openDatabase } = await import(dist('src/core/db/connection.js'));
const { migrateLatest } = await import(dist('src/core/db/migrate.js'));
const { FixedClock } = await import(dist('src/core/clock.js'));
const { initialise } = await import(dist('src/core/settings/init.js'));
const { generateInvoices } = await import(dist('src/core/billing/generate.js'));

// ---- a throwaway PostgreSQL cluster (initdb + pg_ctl on a free loopback port) -----------------

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

async function startPostgres() {
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
    if (r.status !== 0) throw new Error(`${bin} failed: ${r.stderr || r.stdout}`);
  };
  run('initdb', ['-D', data, '-U', 'postgres', '-A', 'trust', '-E', 'UTF8', '--no-sync', '--locale=C.UTF-8']);
  const port = await freePort();
  const opts = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c shared_buffers=256MB`;
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

// ---- seeding, set-based ----------------------------------------------------------------------

async function seed(knex, clock) {
  const ctx = { db: knex, clock, actor: { user: 'bench', command: 'bench' }, env: {} };
  await initialise(ctx, { values: { 'isp-name': 'Bench ISP', currency: 'PHP', timezone: 'Asia/Manila', 'billing-day': 1, 'due-days': 15 } });
  const [router] = await knex('routers').insert({ name: 'core1', host: '127.0.0.1', api_user: 'u', api_password_enc: 'x', radius_secret_enc: 'x' }).returning('id');
  const [plan] = await knex('plans').insert({ name: 'Fiber 50', price_minor: 150000n, currency: 'PHP', download_kbps: 50000, upload_kbps: 10000 }).returning('id');
  await knex.raw(`insert into subscribers (full_name) select 'Subscriber ' || g from generate_series(1, ?::int) g`, [SERVICES]);
  await knex.raw(
    `insert into services (subscriber_id, plan_id, router_id, username, password, started_on, access_state, access_reason, rate_limit, created_at, updated_at)
     select s.id, ?, ?, 'user' || s.id, 'pw' || s.id, date '2026-10-01', 'active', 'ok', '10M/50M', ?::timestamptz, ?::timestamptz
       from subscribers s`,
    [plan.id, router.id, clock.now(), clock.now()],
  );
  await knex.raw('analyze');
  return ctx;
}

/** CPU milliseconds used so far by this process and, for PostgreSQL, by the backend `pid`. */
function cpuMs(backendPid) {
  const u = process.cpuUsage();
  let ms = (u.user + u.system) / 1000;
  if (backendPid) {
    try {
      const fields = readFileSync(`/proc/${backendPid}/stat`, 'utf8').split(') ')[1].split(' ');
      ms += ((Number(fields[11]) + Number(fields[12])) * 1000) / 100; // clock ticks (USER_HZ 100)
    } catch {
      // Not on this machine or not Linux: this process only.
    }
  }
  return ms;
}

async function measure(engine, knex, ctxBase) {
  const clock = new FixedClock('2026-11-01T08:00:00+08:00');
  const ctx = { ...ctxBase, clock, engine };
  const backendPid = engine === 'postgres' ? Number((await knex.raw('select pg_backend_pid() as pid')).rows[0].pid) : null;
  const times = [];
  const cpus = [];
  const noops = [];
  for (let run = 0; run < RUNS; run++) {
    await knex.raw('delete from invoice_lines');
    await knex.raw('delete from invoices');
    await knex.raw('vacuum analyze invoices').catch(() => undefined);
    await knex.raw('vacuum analyze invoice_lines').catch(() => undefined);
    const c0 = cpuMs(backendPid);
    const t0 = performance.now();
    const r = await generateInvoices(ctx);
    times.push(performance.now() - t0);
    cpus.push(cpuMs(backendPid) - c0);
    if (r.invoices !== SERVICES || r.lines !== SERVICES || r.totalMinor !== BigInt(SERVICES) * 150000n) {
      throw new Error(`${engine}: expected ${SERVICES} invoices of 1,500.00, got ${r.invoices} invoices, ${r.lines} lines, ${r.totalMinor}`);
    }
    const t1 = performance.now();
    const again = await generateInvoices(ctx);
    noops.push(performance.now() - t1);
    if (again.lines !== 0 || again.alreadyInvoiced !== SERVICES) throw new Error(`${engine}: the second run was not a no-op`);
  }
  const k = SERVICES >= 1000 ? `${Math.round(SERVICES / 1000)}k` : String(SERVICES);
  report(`billing.generate-${k}.${engine}`, times, 'ms', engine === 'postgres' ? '< 2000' : '< 10000');
  report(`billing.generate-${k}.${engine}.cpu`, cpus, 'ms', 'info');
  report(`billing.generate-${k}-again.${engine}`, noops, 'ms', 'info');
}

// PostgreSQL
const pg = await startPostgres();
try {
  const admin = await openDatabase({ engine: 'postgres', url: pg.url });
  await admin.knex.raw('create database bench');
  await admin.close();
  const db = await openDatabase({ engine: 'postgres', url: pg.url.replace(/\/postgres$/, '/bench') }, { poolMax: 1 });
  try {
    await migrateLatest(db.knex);
    const ctx = await seed(db.knex, new FixedClock('2026-10-01T08:00:00+08:00'));
    await measure('postgres', db.knex, ctx);
  } finally {
    await db.close();
  }
} finally {
  pg.stop();
}

// PGlite, as the embedded database is used: a data directory on disk.
const dir = mkdtempSync(join(tmpdir(), 'ispctl-bench-pglite-'));
try {
  const db = await openDatabase({ engine: 'pglite', dataDir: dir, path: join(dir, 'pgdata') });
  try {
    await migrateLatest(db.knex);
    const ctx = await seed(db.knex, new FixedClock('2026-10-01T08:00:00+08:00'));
    await measure('pglite', db.knex, ctx);
  } finally {
    await db.close();
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
