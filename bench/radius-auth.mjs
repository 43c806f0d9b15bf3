// RADIUS authentication rate through FreeRADIUS on ispctl's views, against the same FreeRADIUS
// configuration on plain stock tables holding the same rows. Prints JSON lines (see lib.mjs):
// the rate through the views with the stock tables' rate as its baseline, and the median of the
// paired ratios (target: the views reach at least 95 % of the plain tables' rate), each pair
// listed; and the CPU per request of each side.
//
//   npm run build && node bench/radius-auth.mjs
//
// Starts its own PostgreSQL cluster (initdb, as the postgres user when run as root) with two
// databases: one migrated by ispctl with SUBSCRIBERS subscribers (radcheck and radreply are
// tables its triggers keep, the group tables and nas are views, radpostauth blanks passwords by
// trigger), one with FreeRADIUS's stock schema.sql and the rows the views return copied into its
// tables. Two FreeRADIUS daemons (threaded, not -X) run configurations written by ispctl's
// writer, identical but for the database name. radclient sends REQUESTS PAP Access-Requests
// per run, PARALLEL at a time, alternating sides in short runs so that both see the same machine.
// Besides the rates it reports the CPU FreeRADIUS and its PostgreSQL client backends spend per
// request (backends opened or closed during a run included), and their ratio: steadier than
// wall-clock rates when other work shares the machine.
// Everything listens on 127.0.0.1.
// Environment: BENCH_SUBSCRIBERS, BENCH_REQUESTS, BENCH_RUNS, BENCH_PARALLEL override the sizes;
// BENCH_DEBUG=1 lists the server processes measured. --quick (BENCH_QUICK=1): smaller sizes.
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dist, quantile, radclient, report, requestFile, round, sized, startFreeRadius, startPostgres } from './lib.mjs';

const SUBSCRIBERS = Number(process.env.BENCH_SUBSCRIBERS ?? sized(100_000, 20_000));
// On a loaded machine one pair's ratio swings by ±20 % or more (0.53 to 1.4 seen at load 15-40
// on 2 cores): the median of 16 pairs still moved by 0.05-0.1 between runs of the same code.
// More, shorter pairs for the same total: 40 of 2,000 requests a side (2 s or so each).
const REQUESTS = Number(process.env.BENCH_REQUESTS ?? sized(2_000, 2_000));
const RUNS = Number(process.env.BENCH_RUNS ?? sized(40, 6));
const PARALLEL = Number(process.env.BENCH_PARALLEL ?? 100);
const SECRET = `bench-${randomBytes(8).toString('hex')}`;

const { default: knexFactory } = await import('knex');
const { migrateLatest } = await import(dist('src/core/db/migrate.js'));
const { refreshAccess } = await import(dist('src/core/provisioning/access.js'));
const { publishNasSecret } = await import(dist('src/core/provisioning/radius/nas-secret.js'));
const { detectFreeRadiusConfigDir } = await import(dist('src/core/provisioning/radius/freeradius-config.js'));
const { encryptSecret } = await import(dist('src/core/secrets.js'));
const { systemClock } = await import(dist('src/core/clock.js'));

const log = (m) => process.stderr.write(`radius-auth: ${m}\n`);
const cleanups = [];

// ---- data -------------------------------------------------------------------------------------

async function seedIspctl(url) {
  const k = knexFactory({ client: 'pg', connection: url, pool: { min: 0, max: 4 } });
  try {
    await migrateLatest(k);
    const key = randomBytes(32);
    const [router] = await k('routers')
      .insert({ name: 'bench', host: '127.0.0.1', api_user: 'admin', api_password_enc: encryptSecret('unused', key), radius_secret_enc: encryptSecret(SECRET, key), mode: 'radius', nas_address: '127.0.0.1' })
      .returning('id');
    await publishNasSecret(k, router.id, SECRET);
    const [plan] = await k('plans').insert({ name: 'Bench 50', price_minor: 150000, currency: 'PHP', download_kbps: 50000, upload_kbps: 20000 }).returning('id');
    await k.raw(`insert into subscribers (full_name) select 'Subscriber ' || g from generate_series(1, ?) g`, [SUBSCRIBERS]);
    // Every 10th has a static IP; every 100th is admin-suspended (blocked).
    await k.raw(
      `insert into services (subscriber_id, plan_id, router_id, username, password, static_ip, started_on, admin_status, admin_reason, admin_suspended_at)
       select s.id, ?, ?, 'sub' || s.id, 'pw-' || s.id,
              case when s.id % 10 = 0 then ('10.' || (s.id >> 16) || '.' || ((s.id >> 8) & 255) || '.' || (s.id & 255))::inet end,
              '2026-11-01',
              case when s.id % 100 = 0 then 'suspended' else 'active' end,
              case when s.id % 100 = 0 then 'bench' end,
              case when s.id % 100 = 0 then now() end
         from subscribers s`,
      [plan.id, router.id],
    );
    const t0 = performance.now();
    await refreshAccess(k, { clock: systemClock }, { all: true });
    log(`access computed for ${SUBSCRIBERS} services in ${Math.round(performance.now() - t0)} ms`);
    // As autovacuum would have done by the time anyone logs in: no dead rows from the seeding.
    await k.raw('vacuum analyze');
    const check = (await k.raw('select username, attribute, op, value from radcheck order by id')).rows;
    const reply = (await k.raw('select username, attribute, op, value from radreply order by id')).rows;
    const nas = (await k.raw('select nasname, shortname, type, secret from nas')).rows;
    return { check, reply, nas };
  } finally {
    await k.destroy();
  }
}

async function seedPlain(url, sourceDir, rows) {
  const k = knexFactory({ client: 'pg', connection: url, pool: { min: 0, max: 2 } });
  try {
    await k.raw(readFileSync(join(sourceDir, 'mods-config/sql/main/postgresql/schema.sql'), 'utf8'));
    const copy = async (table, list) => {
      for (let i = 0; i < list.length; i += 20_000) {
        const part = list.slice(i, i + 20_000);
        await k.raw(`insert into ${table} (username, attribute, op, value) select * from unnest(?::text[], ?::text[], ?::text[], ?::text[])`, [
          part.map((r) => r.username),
          part.map((r) => r.attribute),
          part.map((r) => r.op),
          part.map((r) => r.value),
        ]);
      }
    };
    await copy('radcheck', rows.check);
    await copy('radreply', rows.reply);
    for (const n of rows.nas) await k('nas').insert(n);
    await k.raw('vacuum analyze');
  } finally {
    await k.destroy();
  }
}

// ---- CPU ----------------------------------------------------------------------------------------
// Wall-clock rates move with whatever else the machine runs; the CPU that FreeRADIUS and its
// PostgreSQL backends spend per request does not, so it is reported too (Linux /proc).
// FreeRADIUS's connection pool opens connections during a burst and closes idle ones after it,
// so backends come and go within a run: those that exit are counted through the postmaster's
// reaped-children time (less what they had used before the run), those that start through
// their own.

const TICK_US = 1e6 / Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim() || 100);

function procTicks(pid, children = false) {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return children ? Number(f[13]) + Number(f[14]) : Number(f[11]) + Number(f[12]);
  } catch {
    return undefined; // gone
  }
}

async function clientBackends(admin, database) {
  const rows = (await admin.raw(`select pid, backend_type from pg_stat_activity where datname = ?`, [database])).rows;
  if (process.env.BENCH_DEBUG) log(`${database}: ${rows.map((r) => r.backend_type).filter((t) => t !== 'client backend').join(', ') || 'client backends only'} (${rows.length})`);
  return rows.filter((r) => r.backend_type === 'client backend').map((r) => r.pid);
}

/**
 * Starts measuring one side's run: resolves with a function that resolves with the CPU ticks
 * FreeRADIUS and the side's backends spent since. Backends of the other side that exit
 * meanwhile add only what they spent during the run (they are idle: about nothing).
 */
async function cpuMeter(admin, pgPid, side, databases) {
  const all = (await Promise.all(databases.map((d) => clientBackends(admin, d)))).flat();
  const start = new Map(all.map((pid) => [pid, procTicks(pid) ?? 0]));
  const fr0 = procTicks(side.pid);
  const reaped0 = procTicks(pgPid, true);
  return async () => {
    const now = await clientBackends(admin, side.database);
    const alive = new Set((await Promise.all(databases.map((d) => clientBackends(admin, d)))).flat());
    let t = procTicks(side.pid) - fr0 + (procTicks(pgPid, true) - reaped0);
    for (const pid of now) t += (procTicks(pid) ?? 0) - (start.get(pid) ?? 0);
    for (const [pid, before] of start) if (!alive.has(pid)) t -= before;
    return { ticks: t, frTicks: procTicks(side.pid) - fr0 };
  };
}

/** Connections ever opened to a database (FreeRADIUS's pool opens more under a burst). */
async function sessionsOpened(admin, database) {
  return Number((await admin.raw(`select sessions from pg_stat_database where datname = ?`, [database])).rows[0].sessions);
}

// ---- load -------------------------------------------------------------------------------------

/** One request file per run: random subscribers who are not blocked (every 100th is). */
const requests = (dir, run) => requestFile(dir, run, { count: REQUESTS, subscribers: SUBSCRIBERS, skip: (n) => n % 100 === 0 });
const send = (port, file) => radclient(port, file, { secret: SECRET, parallel: PARALLEL, count: REQUESTS });

// ---- main -------------------------------------------------------------------------------------

const started = performance.now();
try {
  const sourceDir = detectFreeRadiusConfigDir();
  if (!sourceDir) throw new Error('FreeRADIUS is not installed (no radiusd.conf found)');
  const pg = await startPostgres({ settings: { max_connections: 200, shared_buffers: '256MB' } });
  cleanups.push(() => pg.stop());
  const pgPort = pg.port;
  const admin = knexFactory({ client: 'pg', connection: `postgres://postgres@127.0.0.1:${pgPort}/postgres`, pool: { min: 0, max: 1 } });
  await admin.raw('create database bench_views');
  await admin.raw('create database bench_plain');
  cleanups.push(() => admin.destroy());
  const url = (db) => `postgres://postgres@127.0.0.1:${pgPort}/${db}`;
  let t0 = performance.now();
  const rows = await seedIspctl(url('bench_views'));
  log(`ispctl database: ${SUBSCRIBERS} subscribers, ${rows.check.length} radcheck and ${rows.reply.length} radreply rows in ${Math.round(performance.now() - t0)} ms`);
  t0 = performance.now();
  await seedPlain(url('bench_plain'), sourceDir, rows);
  log(`stock tables filled with the same rows in ${Math.round(performance.now() - t0)} ms`);

  const side = async (name, database) => {
    const fr = await startFreeRadius({ name, sourceDir, db: { host: '127.0.0.1', port: pgPort, user: 'postgres', database }, secret: SECRET });
    cleanups.push(() => fr.stop());
    return { ...fr, database };
  };
  const views = await side('views', 'bench_views');
  const plain = await side('plain', 'bench_plain');
  const work = mkdtempSync(join(tmpdir(), 'ispctl-bench-req-'));
  cleanups.push(() => rmSync(work, { recursive: true, force: true }));

  // Warm-up: fill caches and connection pools on both sides.
  const warm = requests(work, 'warm');
  for (const side of [views, plain]) {
    const r = await send(side.authPort, warm);
    if (r.failed !== 0 || r.passed !== REQUESTS) throw new Error(`warm-up on ${side.name}: ${r.out}`);
  }
  const rates = { views: [], plain: [] };
  const cpu = { views: [], plain: [] };
  const ratios = [];
  const cpuRatios = [];
  const pairs = [];
  for (let run = 0; run < RUNS; run++) {
    const file = requests(work, run);
    // Alternate which side goes first, so drift in the machine's load favours neither.
    const order = run % 2 === 0 ? [views, plain] : [plain, views];
    const got = {};
    const used = {};
    const split = {};
    const opened = {};
    for (const side of order) {
      const sessions0 = await sessionsOpened(admin, side.database);
      const stop = await cpuMeter(admin, pg.pid, side, [views.database, plain.database]);
      const r = await send(side.authPort, file);
      const c = await stop();
      used[side.name] = (c.ticks * TICK_US) / REQUESTS;
      split[side.name] = Math.round((c.frTicks * TICK_US) / REQUESTS);
      opened[side.name] = (await sessionsOpened(admin, side.database)) - sessions0;
      if (r.failed !== 0 || r.passed !== REQUESTS) throw new Error(`run ${run} on ${side.name}: ${r.passed} accepted, ${r.failed} failed\n${r.out}`);
      got[side.name] = REQUESTS / r.seconds;
      rates[side.name].push(got[side.name]);
      cpu[side.name].push(used[side.name]);
    }
    ratios.push(got.views / got.plain);
    cpuRatios.push(used.views / used.plain);
    pairs.push({ first: order[0].name, views: Math.round(got.views), plain: Math.round(got.plain), ratio: round(got.views / got.plain) });
    const each = (n) => `${Math.round(got[n])}/s (${Math.round(used[n])} us CPU each, FreeRADIUS ${split[n]}; ${opened[n]} connections opened)`;
    log(`run ${run + 1}/${RUNS}: views ${each('views')}, plain ${each('plain')}`);
  }
  report('radius.auth-rate-views', rates.views, 'requests/s', 'ratio >= 0.95', {
    higherIsBetter: true,
    baseline: { name: 'stock tables', samples: rates.plain },
    ratio: round(quantile(ratios, 0.5)),
    note: `ratio: median of ${RUNS} paired runs (views/stock), alternating which side ran first`,
    pairs,
  });
  // CPU that FreeRADIUS and its PostgreSQL backends spend per request: steadier than the rates
  // when other work shares the machine (the ratio is the median of the pairs' views/stock).
  report('radius.auth-cpu-per-request-views', cpu.views, 'us', 'info', {
    baseline: { name: 'stock tables', samples: cpu.plain },
    ratio: round(quantile(cpuRatios, 0.5)),
  });
  log(`pairs (views/stock): ${pairs.map((p) => `${p.ratio} (${p.first} first)`).join(', ')}`);
  log(`done in ${Math.round((performance.now() - started) / 1000)} s`);
} finally {
  for (const c of cleanups.reverse()) {
    try {
      await c();
    } catch (err) {
      log(`cleanup: ${err.message}`);
    }
  }
}
