// Router work at scale: 500 lab routers (one process of their own, bench/clients/lab-fleet.mjs)
// and 200,000 subscribers in API mode on PostgreSQL (a throwaway cluster, startPostgres()).
// Router work runs as the daemon runs it (its pool of 10 connections): its jobs task (src/core/daemon/tasks.ts) and its
// reachability probe, in this process.
//
//   npm run build && node bench/fleet.mjs          (--quick: 50 routers, 10,000 subscribers)
//
// A mass suspension writes, per subscriber, `disabled=yes` on its PPP secret and drops its live
// session (none here): one `service` job each, read, diffed and applied per router. Figures:
// (a) fleet.suspend-converge.faulty-10pct: from the suspension's commit until every job on every
//     reachable router is done, while 10 % of the routers are away (5 % refuse connections,
//     3 % accept and never answer, 2 % answer a first part and then hang); target < 60 s;
//     baseline: the same suspension with every router healthy, in this run;
// (b) fleet.return-catch-up: from the moment the faulty routers answer again until their queued
//     work is done (probe, then the jobs task); target < 10 s; baseline: the same routers' next
//     piece of work (their subscribers resumed) run directly, without waiting for anyone;
// (c) info: seeding 200,000 subscribers with bulk SQL, the first provisioning of the fleet.
import { fork } from 'node:child_process';
import { join } from 'node:path';
import { dist, emit, loadSnapshot, report, ROOT, round, sized, startPostgres } from './lib.mjs';

const ROUTERS = Number(process.env.BENCH_ROUTERS ?? sized(500, 50));
const SUBSCRIBERS = Number(process.env.BENCH_SUBSCRIBERS ?? sized(200_000, 10_000));
/** The daemon's default router timeout (ISPCTL_ROUTER_TIMEOUT): per command, here. */
const ROUTER_TIMEOUT_MS = 5_000;
const CONVERGE_TARGET_MS = 60_000;
const RETURN_TARGET_MS = 10_000;
const log = (line) => process.stderr.write(`fleet: ${line}\n`);

const { openDatabase } = await import(dist('src/core/db/connection.js'));
const { migrateLatest } = await import(dist('src/core/db/migrate.js'));
const { initialise } = await import(dist('src/core/settings/init.js'));
const { addRouter } = await import(dist('src/core/routers/service.js'));
const { createPlan } = await import(dist('src/core/plans/service.js'));
const { provisionChanges } = await import(dist('src/core/provisioning/access.js'));
const { runJobs } = await import(dist('src/core/provisioning/runner.js'));
const { ReturnWatcher } = await import(dist('src/core/provisioning/probe.js'));
const { apiDriver } = await import(dist('src/core/provisioning/routeros/driver.js'));
const { TASKS } = await import(dist('src/core/daemon/tasks.js'));
const { withTransaction } = await import(dist('src/core/db/tx.js'));
const { systemClock } = await import(dist('src/core/clock.js'));

// ---- the fleet, in its own process ---------------------------------------------------------------
async function startFleet(count) {
  const password = 'bench-pw';
  const child = fork(join(ROOT, 'bench/clients/lab-fleet.mjs'), [dist('src/lab/index.js'), password, String(count)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const waiting = new Map();
  let seq = 0;
  let ready;
  const readyP = new Promise((resolve, reject) => {
    ready = resolve;
    child.once('exit', (code) => reject(new Error(`the lab fleet exited with ${code}`)));
  });
  child.on('message', (m) => {
    if (m.type === 'ready') ready(m);
    else waiting.get(m.id)?.(m);
  });
  const ask = (msg) =>
    new Promise((resolve) => {
      const id = ++seq;
      waiting.set(id, (m) => (waiting.delete(id), resolve(m)));
      child.send({ ...msg, id });
    });
  const { ports } = await readyP;
  return {
    ports,
    password,
    fault: (indices, kind) => ask({ type: 'fault', indices, kind }),
    count: () => ask({ type: 'count' }),
    cpuMs: async () => (await ask({ type: 'cpu' })).ms,
    async close() {
      if (child.exitCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.send({ type: 'close' });
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
// BENCH_VERBOSE=1: the plans of statements slower than 2 s go to the server's log, printed at the end.
const pg = await startPostgres(process.env.BENCH_VERBOSE ? { settings: { session_preload_libraries: 'auto_explain', 'auto_explain.log_min_duration': 2000, 'auto_explain.log_nested_statements': 'on' } } : {});
let fleet;
let database;
let sampler;
try {
  database = await openDatabase({ engine: 'postgres', url: pg.url, poolMax: 10 });
  const db = database.knex;
  await migrateLatest(db);
  // Where the time goes: database statements (summed over the connections, from the moment a
  // statement is sent), and, below, the drivers' turns.
  const dbTime = { n: 0, ms: 0 };
  {
    const sent = new Map();
    db.on('query', (q) => sent.set(q.__knexQueryUid, performance.now()));
    db.on('query-response', (_r, q) => {
      const t = sent.get(q.__knexQueryUid);
      sent.delete(q.__knexQueryUid);
      if (t === undefined) return;
      dbTime.n++;
      dbTime.ms += performance.now() - t;
    });
  }
  // BENCH_VERBOSE=1: where the database time goes (statements by their first words).
  const sqlTime = new Map();
  if (process.env.BENCH_VERBOSE) {
    const started = new Map();
    db.on('query', (q) => started.set(q.__knexQueryUid, performance.now()));
    db.on('query-response', (_r, q) => {
      const t = started.get(q.__knexQueryUid);
      started.delete(q.__knexQueryUid);
      const key = q.sql.replace(/\s+/g, ' ').slice(0, 70);
      const e = sqlTime.get(key) ?? { n: 0, ms: 0 };
      e.n++;
      e.ms += performance.now() - t;
      sqlTime.set(key, e);
    });
  }
  // BENCH_VERBOSE=1: what the server's busy connections are doing, sampled every 200 ms on a
  // connection of its own (the wait event, or CPU, with the statement's first words).
  const waits = new Map();
  if (process.env.BENCH_VERBOSE) {
    const { default: pgLib } = await import('pg');
    const client = new pgLib.Client({ connectionString: pg.url });
    await client.connect();
    let busy = false;
    const timer = setInterval(async () => {
      if (busy) return;
      busy = true;
      try {
        const r = await client.query(
          `select coalesce(wait_event_type || ':' || wait_event, 'CPU') as w, left(regexp_replace(query, '\\s+', ' ', 'g'), 60) as q
             from pg_stat_activity where state = 'active' and pid <> pg_backend_pid() and backend_type = 'client backend'`,
        );
        for (const row of r.rows) {
          const key = `${row.w}  ${row.q}`;
          waits.set(key, (waits.get(key) ?? 0) + 1);
        }
        waits.set('(samples)', (waits.get('(samples)') ?? 0) + 1);
      } finally {
        busy = false;
      }
    }, 200);
    sampler = { close: () => (clearInterval(timer), client.end()) };
  }
  const sqlReport = (label) => {
    if (!process.env.BENCH_VERBOSE) return;
    const rows = [...sqlTime.entries()].sort((a, b) => b[1].ms - a[1].ms).slice(0, 12);
    log(`${label}: database time by statement:\n${rows.map(([k, e]) => `  ${Math.round(e.ms)} ms  ${e.n}x  ${k}`).join('\n')}`);
    sqlTime.clear();
    const w = [...waits.entries()].sort((a, b) => b[1] - a[1]).slice(0, 12);
    log(`${label}: busy connections sampled every 200 ms:\n${w.map(([k, n]) => `  ${n}  ${k}`).join('\n')}`);
    waits.clear();
  };
  const ctx = { db, engine: 'postgres', clock: systemClock, actor: { user: 'bench', command: 'bench/fleet.mjs' }, env: { ISPCTL_SECRET_KEY: 'f1'.repeat(32) } };
  const t = performance.now();
  fleet = await startFleet(ROUTERS);
  log(`${ROUTERS} lab routers listening (${Math.round(performance.now() - t)} ms)`);

  // ---- seed: routers, a plan, subscribers and services, set-based -----------------------------
  const seed0 = performance.now();
  await initialise(ctx, { values: { 'isp-name': 'Fleet ISP', currency: 'PHP', timezone: 'Asia/Manila' } });
  await addRouter(ctx, { name: 'r1', host: '127.0.0.1', apiPort: fleet.ports[0], apiUser: 'admin', apiPassword: fleet.password, mode: 'api' });
  // The others are r1 with another name and port (its encrypted password copied).
  await db.raw(
    `insert into routers (name, host, api_port, api_user, api_password_enc, api_tls, api_tls_verify, mode, radius_secret_enc, coa_port, shaping, status)
     select 'r' || (p.n + 1), r.host, p.port, r.api_user, r.api_password_enc, r.api_tls, r.api_tls_verify, r.mode, r.radius_secret_enc, r.coa_port, r.shaping, r.status
       from routers r, unnest(?::int[]) with ordinality as p(port, n)
      where r.name = 'r1'`,
    [`{${fleet.ports.slice(1).join(',')}}`],
  );
  await createPlan(ctx, { name: 'Fiber 50', price: '1500', download: '50M', upload: '20M' });
  const plan = await db('plans').where({ name: 'Fiber 50' }).first();
  const bulk0 = performance.now();
  await db.raw(`insert into subscribers (full_name) select 'Subscriber ' || g from generate_series(1, ?) g`, [SUBSCRIBERS]);
  await db.raw(
    `with r as (select array_agg(id order by id) as ids from routers),
          s as (select id, row_number() over (order by id) - 1 as n from subscribers)
     insert into services (subscriber_id, plan_id, router_id, username, password, started_on)
     select s.id, ?, r.ids[1 + (s.n % array_length(r.ids, 1))], 'sub' || s.n, 'pw-' || s.n, '2026-11-01' from s, r`,
    [plan.id],
  );
  const bulkMs = performance.now() - bulk0;
  const routers = (await db('routers').orderBy('id').select('id', 'name')).map((r) => ({ id: Number(r.id), name: r.name }));
  const perRouter = (await db.raw(`select router_id, count(*)::int as n from services group by router_id`)).rows;
  const expected = new Map(perRouter.map((r) => [Number(r.router_id), r.n]));
  log(`seeded ${routers.length} routers and ${SUBSCRIBERS} subscribers in ${Math.round(performance.now() - seed0)} ms (bulk SQL ${Math.round(bulkMs)} ms)`);
  emit({ name: `fleet.seed-${SUBSCRIBERS / 1000}k-subscribers-sql`, runs: 1, median: round(bulkMs), p99: round(bulkMs), unit: 'ms', target: 'info', note: 'subscribers and services, two INSERT … SELECT statements' });

  // ---- the daemon's jobs task and probe, in this process -----------------------------------------
  // The drivers' turns, timed: a turn that went through is router I/O (and its reads of the
  // desired state); a turn that failed is time spent on an away router (connect refused, or
  // waiting out the per-command timeout).
  const turns = { ok: { n: 0, ms: 0 }, failed: { n: 0, ms: 0 } };
  const timed = {
    async run(...args) {
      const t = performance.now();
      let ok = false;
      try {
        const r = await apiDriver.run(...args);
        ok = true;
        return r;
      } finally {
        const e = ok ? turns.ok : turns.failed;
        e.n++;
        e.ms += performance.now() - t;
      }
    },
  };
  const profile = () => {
    const o = { db: { ...dbTime }, ok: { ...turns.ok }, failed: { ...turns.failed } };
    dbTime.n = dbTime.ms = turns.ok.n = turns.ok.ms = turns.failed.n = turns.failed.ms = 0;
    return o;
  };
  const profileText = (p, wallMs) =>
    `lane time over ${Math.round(wallMs / 1000)} s: ${p.ok.n} router turns that went through ${Math.round(p.ok.ms / 1000)} s (router I/O and their desired-state reads), ` +
    `${p.failed.n} failed turns on away routers ${Math.round(p.failed.ms / 1000)} s; database: ${p.db.n} statements, ${Math.round(p.db.ms / 1000)} s summed over connections`;
  const drivers = { api: timed, radius: timed };
  const jobsTask = TASKS.find((x) => x.name === 'jobs');
  const watcher = new ReturnWatcher();
  const returned = new Set();
  let wanted = false;
  const env = {
    ctx,
    config: {},
    log: { info: () => undefined, warn: () => undefined, error: () => undefined, debug: () => undefined },
    drivers: async () => drivers,
    routerTimeoutMs: ROUTER_TIMEOUT_MS,
    leader: true,
    instance: {},
    takeReturnedRouters: () => {
      const ids = [...returned];
      returned.clear();
      return ids;
    },
    watchRouters: (targets) => watcher.setTargets(targets),
    routersFailedAgain: (ids) => watcher.failedAgain(ids),
  };
  let stopping = false;
  let runs = 0;
  // As the daemon: a run when woken (new jobs, a returning router), else every 10 s.
  const daemonLoop = (async () => {
    let last = 0;
    while (!stopping) {
      if (wanted || returned.size || performance.now() - last > 10_000) {
        wanted = false;
        last = performance.now();
        runs++;
        // As the daemon: a failed run is logged and tried again, it does not end the loop.
        await jobsTask.run(env).catch((err) => log(`jobs run failed: ${err instanceof Error ? err.message : err}`));
      } else await sleep(50);
    }
  })();
  const probeLoop = setInterval(() => {
    void watcher.tick().then((back) => {
      for (const id of back) returned.add(id);
    });
  }, 1_000);

  const openOn = async (routerIds) =>
    Number((await db.raw(`select count(*)::int as n from provisioning_jobs where status in ('pending', 'running') and router_id = any(?::int[])`, [`{${routerIds.join(',')}}`])).rows[0].n);
  const anyOpenOn = async (routerIds) =>
    (await db.raw(`select exists (select 1 from provisioning_jobs where status in ('pending', 'running') and router_id = any(?::int[])) as open`, [`{${routerIds.join(',')}}`])).rows[0].open;
  /** Waits until no job is open on `routerIds`; ms since `from`. */
  const convergeOn = async (routerIds, from, limitMs) => {
    for (;;) {
      if (!(await anyOpenOn(routerIds))) return performance.now() - from;
      if (performance.now() - from > limitMs) throw new Error(`not converged within ${limitMs} ms: ${await openOn(routerIds)} job(s) open`);
      await sleep(100);
    }
  };
  /** What the routers hold: for each router index, secrets and disabled ones. */
  const check = async (indices, want) => {
    const c = await fleet.count();
    const bad = indices.filter((i) => c.secrets[i] !== expected.get(routers[i].id) || c.disabled[i] !== (want === 'disabled' ? expected.get(routers[i].id) : 0));
    if (bad.length) throw new Error(`${bad.length} router(s) not as wanted (${want}), e.g. ${routers[bad[0]].name}: ${c.secrets[bad[0]]} secrets, ${c.disabled[bad[0]]} disabled, ${expected.get(routers[bad[0]].id)} expected`);
  };
  /** Suspends (or resumes) every subscriber (of `routerIds`) in one transaction; returns when it committed. */
  const mass = async (status, routerIds) =>
    withTransaction(db, async (trx) => {
      const q = trx('services').update({ admin_status: status, admin_reason: status === 'suspended' ? 'bench mass suspension' : null, admin_suspended_at: status === 'suspended' ? new Date() : null, updated_at: new Date() });
      if (routerIds) q.whereIn('router_id', routerIds);
      await q;
      const r = await provisionChanges(trx, ctx, routerIds ? { routerIds } : { all: true });
      return r.jobIds.length;
    });
  const all = routers.map((r) => r.id);
  const everyIndex = routers.map((_, i) => i);

  // ---- first provisioning: every secret created ----------------------------------------------------
  let t0 = performance.now();
  sqlReport('seeding');
  const created = await withTransaction(db, async (trx) => (await provisionChanges(trx, ctx, { all: true }, { created: (await trx('services').pluck('id')).map(Number) })).jobIds.length);
  const queuedMs = performance.now() - t0;
  wanted = true;
  const firstMs = await convergeOn(all, t0, 15 * 60_000);
  await check(everyIndex, 'enabled');
  log(`first provisioning: ${created} jobs queued in ${Math.round(queuedMs)} ms, every secret on its router ${Math.round(firstMs)} ms after`);
  emit({ name: `fleet.first-provisioning-${SUBSCRIBERS / 1000}k`, runs: 1, median: round(firstMs), p99: round(firstMs), unit: 'ms', target: 'info', note: `${created} secrets created on ${ROUTERS} routers, from the queueing until the last job was done` });

  // ---- (a) baseline: a mass suspension with every router healthy -------------------------------------
  t0 = performance.now();
  sqlReport('first provisioning');
  let jobs = await mass('suspended');
  const queueHealthy = performance.now() - t0;
  profile();
  sqlReport('queueing the suspension');
  const commit = performance.now();
  wanted = true;
  const healthyMs = await convergeOn(all, commit, 15 * 60_000);
  const healthyProfile = profile();
  await check(everyIndex, 'disabled');
  sqlReport('suspension, all healthy');
  emit({ name: `fleet.queue-suspension-${SUBSCRIBERS / 1000}k`, runs: 1, median: round(queueHealthy), p99: round(queueHealthy), unit: 'ms', target: 'info', note: `every service suspended and its router job queued, one transaction: ${round((queueHealthy / jobs) * 1000, 1)} µs a service` });
  log(`suspension, all healthy: ${jobs} jobs queued in ${Math.round(queueHealthy)} ms (${round(queueHealthy / jobs, 3)} ms a service), converged ${Math.round(healthyMs)} ms after the commit; ${profileText(healthyProfile, healthyMs)}`);

  // Back to active (healthy), for the faulty run.
  t0 = performance.now();
  await mass('active');
  wanted = true;
  const resumeMs = await convergeOn(all, t0, 15 * 60_000);
  await check(everyIndex, 'enabled');
  log(`resumption, all healthy: converged ${Math.round(resumeMs)} ms after the queueing began`);

  // ---- (a) the same suspension with 10 % of the routers away ----------------------------------------
  const faulty = everyIndex.filter((i) => i % 10 === 9);
  // Half refuse connections (nothing listens), three in ten accept and never answer, two in ten
  // answer a first part of their batch and then hang.
  const PATTERN = ['offline', 'stall', 'offline', 'stall', 'offline', 'partway', 'offline', 'stall', 'offline', 'partway'];
  const offline = faulty.filter((_, k) => PATTERN[k % 10] === 'offline');
  const stalled = faulty.filter((_, k) => PATTERN[k % 10] === 'stall');
  const partway = faulty.filter((_, k) => PATTERN[k % 10] === 'partway');
  const healthy = everyIndex.filter((i) => i % 10 !== 9);
  await fleet.fault(offline, 'offline');
  await fleet.fault(stalled, 'stall');
  await fleet.fault(partway, 'stall-after:20');
  const cpu0 = process.cpuUsage();
  const fleetCpu0 = await fleet.cpuMs();
  t0 = performance.now();
  jobs = await mass('suspended');
  const queueFaulty = performance.now() - t0;
  profile();
  const commit2 = performance.now();
  wanted = true;
  const faultyMs = await convergeOn(healthy.map((i) => routers[i].id), commit2, 15 * 60_000);
  const faultyProfile = profile();
  sqlReport('suspension, 10 % away');
  const cpu = process.cpuUsage(cpu0);
  const fleetCpu = (await fleet.cpuMs()) - fleetCpu0;
  await check(healthy, 'disabled');
  const faultyIds = faulty.map((i) => routers[i].id);
  // Wait for the faulty routers' work to have failed (their jobs back in the queue, watched).
  for (let i = 0; i < 600 && Number((await db.raw(`select count(*)::int as n from provisioning_jobs where status = 'running' and router_id = any(?::int[])`, [`{${faultyIds.join(',')}}`])).rows[0].n) > 0; i++) await sleep(100);
  const keptPartway = (await fleet.count()).disabled.filter((n, i) => partway.includes(i) && n > 0).length;
  const stillQueued = await openOn(faultyIds);
  log(
    `suspension, ${faulty.length} of ${ROUTERS} routers away (${offline.length} refusing, ${stalled.length} stalled, ${partway.length} hanging part-way): ${jobs} jobs queued in ${Math.round(queueFaulty)} ms; ` +
      `the ${healthy.length} reachable routers converged ${Math.round(faultyMs)} ms after the commit; ${stillQueued} jobs of the away routers queued; ` +
      `${keptPartway} of the ${partway.length} part-way routers kept what they took; CPU: this process ${Math.round((cpu.user + cpu.system) / 1000)} ms, the lab fleet (its own process) ${Math.round(fleetCpu)} ms; ` +
      profileText(faultyProfile, faultyMs),
  );
  report(`fleet.suspend-converge.faulty-10pct-${ROUTERS}-routers-${SUBSCRIBERS / 1000}k`, [faultyMs], 'ms', `< ${CONVERGE_TARGET_MS}`, {
    baseline: { name: 'the same suspension, every router healthy', median: healthyMs },
    note: `from the suspension's commit until every job on the ${healthy.length} reachable routers was done; ${faulty.length} away: ${offline.length} refusing, ${stalled.length} never answering, ${partway.length} hanging after 20 commands; router timeout ${ROUTER_TIMEOUT_MS / 1000} s per command`,
  });

  // ---- (b) the away routers come back ---------------------------------------------------------------
  const back0 = performance.now();
  await fleet.fault(faulty, 'heal');
  const returnMs = await convergeOn(faultyIds, back0, 5 * 60_000);
  await check(everyIndex, 'disabled');
  log(`the ${faulty.length} away routers answered again: their ${stillQueued} jobs done ${Math.round(returnMs)} ms later`);

  // Baseline: the same routers' next piece of work, run directly (no one away, no waiting).
  await mass('active', faultyIds);
  const direct0 = performance.now();
  const direct = await runJobs(ctx, drivers, { routerIds: faultyIds, timeoutMs: ROUTER_TIMEOUT_MS });
  const directMs = performance.now() - direct0;
  if (direct.failed || (await openOn(faultyIds))) throw new Error(`direct run: ${direct.done} done, ${direct.failed} failed`);
  report(`fleet.return-catch-up-${faulty.length}-routers`, [returnMs], 'ms', `< ${RETURN_TARGET_MS}`, {
    baseline: { name: 'the same routers\u2019 next work run directly', median: directMs },
    note: `from the moment the away routers answered again until their ${stillQueued} queued jobs were done (the daemon's probe: login and identity every 1-4 s, then its jobs task)`,
  });
  emit({ name: 'fleet.load', runs: 1, median: loadSnapshot().loadavg1, p99: loadSnapshot().loadavg1, unit: 'loadavg1', target: 'info', note: `jobs task runs: ${runs}; 2-core machine shared with other work` });
  stopping = true;
  clearInterval(probeLoop);
  await daemonLoop;
} finally {
  await sampler?.close();
  if (process.env.BENCH_VERBOSE) {
    const { readFileSync } = await import('node:fs');
    const plans = readFileSync(pg.log, 'utf8').split('\n').filter((l) => !/^\S.*(LOG|STATEMENT):\s+(checkpoint|database system|listening|starting|redo)/.test(l));
    log(`the server's log (plans of statements over 2 s):\n${plans.slice(0, 400).join('\n')}`);
  }
  await fleet?.close();
  await database?.close();
  pg.stop();
}
