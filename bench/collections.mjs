// Collections benchmarks: ispctl's core (the same calls `ispctl collections run` and `ispctl
// payment record` make, without the process start) against the lab router in a worker thread
// (its own event loop, as a real router is its own machine) with its PPPoE NAS, over loopback
// TCP, in API mode. The database is an in-memory PGlite seeded set-based, or, with
// BENCH_DATABASE_URL (a server URL), a throwaway database created on that PostgreSQL server and
// dropped at the end. Prints one JSON line per figure (bench/lib.mjs).
//
//   npm run build && node bench/collections.mjs     # embedded, then a PostgreSQL it starts
//   BENCH_ENGINE=pglite node bench/collections.mjs  # embedded only
//   BENCH_DATABASE_URL=postgres://user@127.0.0.1/postgres node bench/collections.mjs
//   node bench/run.mjs collections      # the same: both engines (a PostgreSQL cluster of its own)
//
// (a) collections.run-suspend-10k: 10,000 subscribers past due date plus grace; one collections
//     run (in chunks of 1,000, each its own transaction) moves them all to suspended: events,
//     audit, 20,000 messages queued, access recomputed, 10,000 router jobs queued (target
//     < 2500 ms on PostgreSQL, < 5000 ms embedded). Baseline, in the same run on the same data:
//     a hand-written set-based floor writing the same rows (invoice status, service status and
//     access, events, jobs, messages of the same size, audit) in one transaction;
// (a') collections.suspend-10k-api: the same suspensions carried through to the router as the
//     command and the daemon do it (runCollectionsThrough: the run, its held suspension notices,
//     its router work), until every PPP secret is disabled; with PostgreSQL also once through
//     `ispctl collections run` itself;
// (b) collections.payment-during-run: while a run suspends 10,000, payments of subscribers it
//     has just suspended, one after another: from the start of recordPayment to its router job
//     done (secret enabled again), target < 1000 ms each (p99); baseline: the same with no run;
// (c) collections.payment-to-full-speed-api: a suspended subscriber pays; from the start of
//     recordPayment (allocation, collections, receipt) through running its router job to the
//     lab NAS accepting a dial at the plan rate (target: median < 200 ms, p99 < 1 s).
import knexFactory from 'knex';
import { performance } from 'node:perf_hooks';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { fileURLToPath } from 'node:url';
import { dist, loadSnapshot, quantile, report, ROOT, sized, startPostgres } from './lib.mjs';

const SUBSCRIBERS = Number(process.env.BENCH_SUBSCRIBERS ?? sized(10_000, 2_000));
const RUNS = Number(process.env.BENCH_RUNS ?? sized(3, 1));
const PAYMENTS = Number(process.env.BENCH_PAYMENTS ?? sized(50, 10));
const TARGET = (engine) => (engine === 'pglite' ? '< 5000' : '< 2500');
const FULL = '20M/50M';

// Both engines by default: this script again, once on the embedded database and once on a
// throwaway PostgreSQL cluster it starts; BENCH_ENGINE=pglite or BENCH_DATABASE_URL runs one.
if (!process.env.BENCH_ENGINE && !process.env.BENCH_DATABASE_URL) {
  const self = fileURLToPath(import.meta.url);
  const child = (env) => {
    const r = spawnSync(process.execPath, [self, ...process.argv.slice(2)], { env: { ...process.env, ...env }, stdio: ['ignore', 'inherit', 'inherit'] });
    if (r.status !== 0) process.exitCode = r.status ?? 1;
  };
  child({ BENCH_ENGINE: 'pglite' });
  const pg = await startPostgres();
  try {
    child({ BENCH_ENGINE: 'postgres', BENCH_DATABASE_URL: pg.url });
  } finally {
    pg.stop();
  }
  process.exit();
}

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
const { runCollectionsThrough } = await import(dist('src/core/collections/through.js'));
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
  // The embedded database as commands reach it: a data directory served by the embedded
  // database server (one client at a time over its socket), so that the run and a payment are
  // two clients taking turns, as two processes are.
  const { openDatabase } = await import(dist('src/core/db/connection.js'));
  const dataDir = mkdtempSync(join(tmpdir(), 'ispctl-bench-collections-'));
  const target = { engine: 'pglite', dataDir, path: join(dataDir, 'pgdata') };
  const opened = await openDatabase(target, { command: 'bench/collections.mjs', lockTimeoutMs: 120_000 });
  if (!opened.served) process.stderr.write('collections: the embedded database server could not start; PGlite runs in this process\n');
  return {
    db: opened.knex,
    engine: 'pglite',
    served: Boolean(opened.served),
    // The embedded database server's process (its lock's info file names it), for its CPU time.
    serverPid: () => {
      try {
        return Number(JSON.parse(readFileSync(join(dataDir, 'db.lock'), 'utf8')).pid) || null;
      } catch {
        return null;
      }
    },
    yieldTurn: opened.yieldTurn,
    // Another client of the same database (a payment from another shell).
    second: () => openDatabase(target, { command: 'bench/collections.mjs payments', lockTimeoutMs: 120_000 }),
    close: async () => {
      await opened.close();
      rmSync(dataDir, { recursive: true, force: true }); // the server leaves when its directory goes
    },
  };
}

const { db, engine, close, url: cliUrl, served = false, yieldTurn, second, serverPid } = await openDb();
await migrateLatest(db);
let clock = new FixedClock('2026-11-24T01:00:00Z'); // 09:00 in Manila: due 2026-11-16 + 5 days' grace have passed
const SECRET_KEY = 'c0'.repeat(32);
const ctx = (d = db) => ({ db: d, engine, clock, actor: { user: 'bench', command: 'bench/collections.mjs' }, env: { ISPCTL_SECRET_KEY: SECRET_KEY } });
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

  // Back to before a run (not timed): warned, no suspension events or messages, secrets enabled.
  const reset = async () => {
    await db('services').update({ collection_status: 'warned' });
    await db('collection_events').where('kind', 'suspension').del();
    await db('notifications').del();
    const back = await provisionChanges(db, ctx(), { all: true });
    await runJobs(ctx(), drivers, { ids: back.jobIds, timeoutMs: 60_000 });
  };
  const tick = () => (clock = new FixedClock(new Date(clock.now().getTime() + 60_000)));

  // The floor: the same rows written by hand-written set-based SQL in one transaction (no chunks,
  // no state machine, messages not rendered but of the rendered size), on the same data.
  let sample = null;
  const floor = async (run) => {
    const now = clock.now();
    const today = '2026-11-24';
    return db.transaction(async (trx) => {
      await trx.raw(`update invoices set status = 'overdue', updated_at = ? where status in ('sent', 'issued') and due_date < ?::date and total_minor > paid_minor`, [now, today]);
      const r = await trx.raw(
        `with due as (
           select s.id, s.subscriber_id, s.router_id, s.collection_status, i.id as invoice_id, i.number
             from services s join invoices i on i.subscriber_id = s.subscriber_id
            where s.collection_status not in ('suspended', 'uncollectible') and i.status not in ('void', 'draft', 'paid')
              and i.total_minor > i.paid_minor and i.due_date + 5 < ?::date),
         upd as (
           update services s set collection_status = 'suspended', access_state = 'blocked', access_reason = 'billing_suspended', rate_limit = null,
                  access_changed_at = ?, updated_at = ?, revision = s.revision + 1
             from due where s.id = due.id returning s.id),
         ev as (
           insert into collection_events (subscriber_id, invoice_id, kind, event_key, from_status, to_status, reason, occurred_at)
           select subscriber_id, invoice_id, 'suspension', 'floor:' || ? || ':' || subscriber_id, collection_status, 'suspended',
                  'Invoice ' || number || ' (due 2026-11-16) unpaid after 5 days of grace; overdue balance PHP 1,500.00', ? from due returning 1),
         jobs as (
           insert into provisioning_jobs (router_id, service_id, kind, target, payload, status, attempts, next_attempt_at, created_at, updated_at)
           select router_id, id, 'service', 'service:' || id, '{}', 'pending', 0, ?, ?, ? from due
           on conflict (router_id, kind, target) where status = 'pending' do update set updated_at = excluded.updated_at returning 1),
         msgs as (
           insert into notifications (subscriber_id, event_key, channel, template, recipient, subject, body, status, attempts, next_attempt_at, created_at, invoice_id)
           select d.subscriber_id, 'floor:' || ? || ':' || d.subscriber_id, c.channel, 'suspension', case c.channel when 'email' then sub.email else sub.phone end,
                  c.subject, c.body, 'pending', 0, ?, ?, d.invoice_id
             from due d join subscribers sub on sub.id = d.subscriber_id
             cross join (values ('email', ?, ?), ('sms', null, ?)) as c(channel, subject, body)
           returning 1)
         select (select count(*) from upd)::int as services, (select count(*) from ev)::int as events, (select count(*) from jobs)::int as jobs, (select count(*) from msgs)::int as messages`,
        [today, now, now, run, now, now, now, now, run, now, now, sample.subject, sample.email, sample.sms],
      );
      await trx('audit_log').insert({ at: now, actor: 'bench', command: 'floor', entity_type: 'collections', entity_id: today, action: 'run', before: null, after: JSON.stringify({ suspended: r.rows[0].services }) });
      return r.rows[0];
    });
  };

  // (a) collections runs suspending everyone, each with its floor on the same data; then the router jobs.
  // BENCH_PROFILE=1: where a run's time goes, statement by statement (summed over its chunks),
  // the rest being JavaScript and waiting; printed to stderr after the first run.
  const profile = new Map();
  const started = new Map();
  let profiling = false;
  if (process.env.BENCH_PROFILE) {
    db.on('query', (q) => profiling && started.set(q.__knexQueryUid, performance.now()));
    const done = (q) => {
      const t = started.get(q.__knexQueryUid);
      if (t === undefined) return;
      started.delete(q.__knexQueryUid);
      const key = q.sql.replace(/\s+/g, ' ').slice(0, 90);
      const p = profile.get(key) ?? { n: 0, ms: 0 };
      p.n++;
      p.ms += performance.now() - t;
      profile.set(key, p);
    };
    db.on('query-response', (_r, q) => done(q));
    db.on('query-error', (_e, q) => done(q));
  }
  const printProfile = (total) => {
    const rows = [...profile.entries()].sort((a, b) => b[1].ms - a[1].ms);
    const sql = rows.reduce((n, [, p]) => n + p.ms, 0);
    process.stderr.write(`profile (${engine}): run ${total.toFixed(0)} ms, SQL ${sql.toFixed(0)} ms in ${rows.reduce((n, [, p]) => n + p.n, 0)} statements, the rest ${(total - sql).toFixed(0)} ms\n`);
    for (const [k, p] of rows.slice(0, 25)) process.stderr.write(`  ${p.ms.toFixed(0).padStart(6)} ms ${String(p.n).padStart(4)}x  ${k}\n`);
  };
  const runTimes = [];
  const totalTimes = [];
  const routerAfterTimes = [];
  const floorTimes = [];
  const cpuTimes = [];
  // Statements a run sends, and (a database server on this machine) the CPU time of its
  // processes for this database during the run, PostgreSQL's backends or the embedded database
  // server: with the process's own CPU, the cost to compare on a busy machine, where wall times
  // are not.
  let statements = 0;
  db.on('query', () => statements++);
  const statementCounts = [];
  const serverCpuTimes = [];
  const floorServerCpuTimes = [];
  const USER_HZ = 100;
  // The database's processes: PostgreSQL's backends for this database, or the embedded server.
  const backendCpu = async () => {
    const pid = engine === 'pglite' && served ? serverPid() : null;
    const pids = engine === 'postgres' ? (await db.raw('select pid from pg_stat_activity where datname = current_database()')).rows.map((x) => x.pid) : pid ? [pid] : null;
    if (!pids) return null;
    const out = new Map();
    for (const pid of pids) {
      try {
        const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
        out.set(pid, ((Number(f[11]) + Number(f[12])) * 1000) / USER_HZ);
      } catch {
        return null; // another machine's server, or not readable
      }
    }
    return out;
  };
  for (let run = 0; run < RUNS; run++) {
    tick();
    const b0 = await backendCpu();
    const n0 = statements;
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    profiling = run === 0 && Boolean(process.env.BENCH_PROFILE);
    const r = await runCollections(ctx(), { force: true, onChunk: () => yieldTurn?.() });
    const t1 = performance.now();
    if (profiling) printProfile(t1 - t0);
    profiling = false;
    const cpu = process.cpuUsage(c0);
    cpuTimes.push((cpu.user + cpu.system) / 1000);
    statementCounts.push(statements - n0);
    const b1 = b0 && (await backendCpu());
    if (b0 && b1) serverCpuTimes.push([...b1].reduce((n, [pid, ms]) => n + ms - (b0.get(pid) ?? 0), 0));
    const s = await runJobs(ctx(), drivers, { ids: r.jobIds, timeoutMs: 60_000 });
    if (process.env.BENCH_VERBOSE) process.stderr.write(`run ${run}: collections ${(t1 - t0).toFixed(0)} ms in ${r.chunks} chunks, then its router jobs ${(performance.now() - t1).toFixed(0)} ms\n`);
    if (r.suspended.length !== SUBSCRIBERS || r.jobIds.length !== SUBSCRIBERS || s.done !== SUBSCRIBERS || s.failed) {
      throw new Error(`run ${run}: ${r.suspended.length} suspended, ${r.jobIds.length} jobs, ${s.done} done, ${s.failed} failed (${s.routers[0]?.error ?? ''})`);
    }
    if (r.notifications !== 2 * SUBSCRIBERS) throw new Error(`run ${run}: ${r.notifications} messages queued`);
    const disabled = await disabledSecrets();
    if (disabled !== SUBSCRIBERS) throw new Error(`run ${run}: ${disabled} of ${SUBSCRIBERS} secrets disabled`);
    runTimes.push(t1 - t0);
    routerAfterTimes.push(performance.now() - t1);
    if (!sample) {
      const email = await db('notifications').where({ channel: 'email', template: 'suspension' }).first('subject', 'body');
      const sms = await db('notifications').where({ channel: 'sms', template: 'suspension' }).first('body');
      sample = { subject: email.subject, email: email.body, sms: sms.body };
    }
    await reset();
    tick();
    const fb0 = await backendCpu();
    const f0 = performance.now();
    const f = await floor(run);
    floorTimes.push(performance.now() - f0);
    const fb1 = fb0 && (await backendCpu());
    if (fb0 && fb1) floorServerCpuTimes.push([...fb1].reduce((n, [pid, ms]) => n + ms - (fb0.get(pid) ?? 0), 0));
    if (f.services !== SUBSCRIBERS || f.events !== SUBSCRIBERS || f.jobs !== SUBSCRIBERS || f.messages !== 2 * SUBSCRIBERS) throw new Error(`floor ${run}: ${JSON.stringify(f)}`);
    await reset();
  }
  // (a') Through to the router, as `collections run` and the daemon do it (runCollectionsThrough),
  // until every PPP secret is disabled.
  // BENCH_VERBOSE: the through-runs' statements over 300 ms, with their time.
  const slow = [];
  if (process.env.BENCH_VERBOSE) {
    const sent = new Map();
    db.on('query', (q) => sent.set(q.__knexQueryUid, performance.now()));
    db.on('query-response', (_r, q) => {
      const t = sent.get(q.__knexQueryUid);
      sent.delete(q.__knexQueryUid);
      if (t !== undefined && performance.now() - t > 300) slow.push(`${Math.round(performance.now() - t)} ms  ${q.sql.replace(/\s+/g, ' ').slice(0, 160)}`);
    });
  }
  const throughCpu = [];
  for (let run = 0; run < RUNS; run++) {
    tick();
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    slow.length = 0;
    const t = await runCollectionsThrough(ctx(), { force: true, onChunk: () => yieldTurn?.() }, { apply: { drivers, timeoutMs: 60_000 } });
    const ms = performance.now() - t0;
    const c = process.cpuUsage(c0);
    throughCpu.push((c.user + c.system) / 1000);
    if (process.env.BENCH_VERBOSE) process.stderr.write(`through ${run}: ${Math.round(ms)} ms, ${t.run.chunks} chunks${slow.length ? `; statements over 300 ms:\n  ${slow.join('\n  ')}` : ''}\n`);
    if (t.run.suspended.length !== SUBSCRIBERS || t.routers.applied !== SUBSCRIBERS || t.routers.remaining) throw new Error(`through ${run}: ${t.run.suspended.length} suspended, ${JSON.stringify({ ...t.routers, queued: t.routers.queued.length })}`);
    const disabled = await disabledSecrets();
    if (disabled !== SUBSCRIBERS) throw new Error(`through ${run}: ${disabled} of ${SUBSCRIBERS} secrets disabled`);
    totalTimes.push(ms);
    await reset();
  }
  const k = `${SUBSCRIBERS / 1000}k`;
  report(`collections.run-suspend-${k} (${engine})`, runTimes, 'ms', TARGET(engine), {
    baseline: { name: 'hand-written set-based SQL, same rows', samples: floorTimes },
    note: `the run in chunks of 1,000 subscribers (each its own transaction${served ? ', the embedded server handing its turn on between them, as `collections run` does' : ''}); CPU time of this process per run ${Math.round(quantile(cpuTimes, 0.5))} ms (${engine === 'pglite' && !served ? 'the database included' : 'the database server not included'})${serverCpuTimes.length ? `, of ${engine === 'postgres' ? "the database server's backends" : 'the embedded database server'} ${Math.round(quantile(serverCpuTimes, 0.5))} ms (the floor's ${Math.round(quantile(floorServerCpuTimes, 0.5))} ms)` : ''}; ${Math.round(quantile(statementCounts, 0.5))} statements per run; load ${loadSnapshot().loadavg1} on ${loadSnapshot().cores} cores`,
  });
  report(`collections.suspend-${k}-api (${engine})`, totalTimes, 'ms', TARGET(engine), {
    note: `the run carried through to the lab router as the command and the daemon do it (runCollectionsThrough: the run, its held notices, its router work), until every PPP secret is disabled; for comparison, the run alone then its router jobs: ${Math.round(quantile(runTimes, 0.5))} + ${Math.round(quantile(routerAfterTimes, 0.5))} ms (medians)`,
  });

  // The same through the real command, process start included (PostgreSQL only: the CLI needs a
  // database it can open from another process).
  if (cliUrl) {
    const cliTimes = [];
    // The command's CPU (user + system, from GNU time when the machine has it): on a machine
    // whose speed moves from hour to hour, the cost to compare from one session to the next.
    const gnuTime = existsSync('/usr/bin/time') ? '/usr/bin/time' : null;
    const cpuFile = join(tmpdir(), `ispctl-bench-cli-cpu-${process.pid}`);
    const cliCpu = [];
    if (process.env.BENCH_PGSS) await db.raw('create extension if not exists pg_stat_statements').then(() => db.raw('select pg_stat_statements_reset()'));
    for (let run = 0; run < RUNS; run++) {
      tick();
      const t0 = performance.now();
      const command = [process.execPath, ...(process.env.BENCH_CLI_NODE_ARGS?.split(' ').filter(Boolean) ?? []), join(ROOT, 'bin', 'run.js'), 'collections', 'run', '--force', '--json'];
      const cli = spawnSync(gnuTime ?? command[0], gnuTime ? ['-f', '%U %S', '-o', cpuFile, ...command] : command.slice(1), {
        env: { ...process.env, DATABASE_URL: cliUrl, ISPCTL_NOW: clock.now().toISOString(), ISPCTL_SECRET_KEY: SECRET_KEY, ISPCTL_ROUTER_TIMEOUT: '60', NO_COLOR: '1' },
        encoding: 'utf8',
        maxBuffer: 256 * 1024 * 1024,
      });
      const ms = performance.now() - t0;
      if (process.env.BENCH_CLI_DUMP) { writeFileSync(process.env.BENCH_CLI_DUMP + run, cli.stdout); await reset(); continue; }
      const out = JSON.parse(cli.stdout || '{}');
      if (cli.status !== 0 || out.data?.suspended?.length !== SUBSCRIBERS || out.data?.routers?.applied !== SUBSCRIBERS) {
        throw new Error(`ispctl collections run: exit ${cli.status}, ${out.data?.suspended?.length} suspended: ${cli.stderr.slice(0, 500)}`);
      }
      cliTimes.push(ms);
      if (gnuTime) {
        const [user, system] = readFileSync(cpuFile, 'utf8').trim().split('\n').pop().split(' ').map(Number);
        if (Number.isFinite(user) && Number.isFinite(system)) cliCpu.push((user + system) * 1000);
      }
      await reset();
    }
    rmSync(cpuFile, { force: true });
    if (process.env.BENCH_PGSS) {
      const r = await db.raw(`select calls, round(total_exec_time::numeric, 1) as ms, rows, left(regexp_replace(query, '\\s+', ' ', 'g'), 150) as q from pg_stat_statements where dbid = (select oid from pg_database where datname = current_database()) order by total_exec_time desc limit 30`);
      for (const x of r.rows) process.stderr.write(`${String(x.ms).padStart(9)} ms ${String(x.calls).padStart(6)}x ${String(x.rows).padStart(7)} rows  ${x.q}\n`);
    }
    report(`collections.cli-suspend-${k}-api (${engine}, process start included)`, cliTimes, 'ms', TARGET(engine), {
      note: 'ispctl collections run --force --json from the shell, a new process and new database connections each run, until its router work is done',
    });
    if (cliCpu.length) {
      report(`collections.cli-suspend-${k}-api.cpu (${engine})`, cliCpu, 'ms', 'info', {
        note: `CPU (user + system) of the command's process; the database's backends not included. The same through-run in this warm process used ${Math.round(quantile(throughCpu, 0.5))} ms (median), the lab router's thread included`,
      });
    }
  }

  // (b) payments while a run suspends everyone: each pays a subscriber the run has just
  // suspended (beyond those (c) uses), one after another until the run ends; each timed from the
  // start of recordPayment to its router job done. Baseline: the same with no run going on.
  // On the embedded database the payments are another client of its server (another process's
  // connection): each waits for its turn, given between the run's chunks, and hands it back.
  await yieldTurn?.();
  const payer = served ? await second() : null;
  const payDb = payer?.knex ?? db;
  const payDone = async () => {
    await payer?.yieldTurn?.();
  };
  await payDone();
  const userOf = new Map((await db('services').select('subscriber_id', 'username')).map((x) => [Number(x.subscriber_id), x.username]));
  const payAndApply = async (user, ref) => {
    const t0 = performance.now();
    const paid = await recordPayment(ctx(payDb), { subscriber: user, amount: '1500', method: 'gcash', reference: ref });
    if (!paid.collections.restored.length) throw new Error(`${user} was not restored`);
    const s = await runJobs(ctx(payDb), drivers, { ids: paid.collections.jobIds, timeoutMs: 5_000 });
    if (s.failed || s.done !== paid.collections.jobIds.length) throw new Error(`${user}: jobs ${JSON.stringify(s)}`);
    const ms = performance.now() - t0;
    await payDone();
    return ms;
  };
  tick();
  const suspendedSoFar = [];
  const during = [];
  let running = true;
  const mass = runCollections(ctx(), {
    force: true,
    onChunk: async (c) => {
      suspendedSoFar.push(...c.suspended);
      await yieldTurn?.();
    },
  }).finally(() => (running = false));
  const payers = (async () => {
    let n = 0;
    while (running) {
      const sid = suspendedSoFar.at(-1);
      const row = sid === undefined ? null : { username: userOf.get(sid) };
      const index = row ? Number(row.username.slice(3)) : -1;
      if (index < PAYMENTS) {
        await new Promise((r) => setTimeout(r, 20));
        continue;
      }
      suspendedSoFar.pop(); // never the same one twice
      // Counted if it started while the run went on (it may end after the run).
      during.push(await payAndApply(row.username, `GC-DURING-${n++}`));
    }
  })();
  const massResult = await mass;
  await yieldTurn?.(); // a payment that started during the run finishes before the run's jobs
  await payers;
  await runJobs(ctx(), drivers, { ids: massResult.jobIds, timeoutMs: 60_000 });
  const idle = [];
  await yieldTurn?.();
  for (let i = 0; i < Math.max(3, Math.min(10, during.length)); i++) {
    const [row] = await payDb('services as s').where('s.collection_status', 'suspended').whereRaw(`s.username ~ '^sub[0-9]+$' and substr(s.username, 4)::int >= ?`, [PAYMENTS]).orderBy('s.id', 'desc').limit(1).select('s.username');
    await payDone();
    tick();
    idle.push(await payAndApply(row.username, `GC-IDLE-${i}`));
  }
  if (during.length) {
    report(`collections.payment-during-run (${engine})`, during, 'ms', 'p99 < 1000', {
      baseline: { name: 'the same payment with no run going on', samples: idle },
      note: `payments of subscribers a ${SUBSCRIBERS}-subscriber run had just suspended, recorded while it went on, until their router job was done; the run took ${massResult.chunks} chunks${served ? '; on the embedded database the payments are a second client of its server, served between the run\'s chunks' : ''}; load ${loadSnapshot().loadavg1} on ${loadSnapshot().cores} cores`,
    });
  } else {
    // Nothing measured is not a pass: the target could not be checked, so the figure misses.
    report(`collections.payment-during-run (${engine})`, [], 'ms', 'p99 < 1000', {
      ok: false,
      note: `no payment sample: the ${SUBSCRIBERS}-subscriber run (${massResult.chunks} chunks) ended before any payment could be made during it; load ${loadSnapshot().loadavg1} on ${loadSnapshot().cores} cores`,
    });
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
  await payer?.close();
  report(`collections.payment-to-full-speed-api (${engine})`, latencies, 'ms', 'median < 200, p99 < 1000');
} finally {
  await lab.close();
  await close();
}
