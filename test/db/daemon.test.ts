// The daemon's parts against real databases: router health from consecutive checks against the
// lab router (over real sockets), with the queued work of a returning router applied at once;
// stale RADIUS sessions; jobs a dead process left running. Then the daemon itself: the leader
// lock on PostgreSQL (two instances, one leads; kill the leader's connection and the other takes
// over), billing once per period, and the embedded database held only while a tick works.
import { mkdtempSync, rmSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Knex } from 'knex';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FixedClock } from '../../src/core/clock.js';
import type { ServiceContext } from '../../src/core/context.js';
import { loadDaemonConfig } from '../../src/core/daemon/config.js';
import { Daemon, type DaemonOptions, type DaemonRunResult } from '../../src/core/daemon/daemon.js';
import { checkRoutersHealth } from '../../src/core/daemon/health.js';
import { taskLog, type LogEntry } from '../../src/core/daemon/logger.js';
import { closeStaleSessions } from '../../src/core/daemon/radius-stale.js';
import { daemonStatus } from '../../src/core/daemon/status.js';
import { releaseDeadClaims, workerId } from '../../src/core/provisioning/claims.js';
import { TASKS } from '../../src/core/daemon/tasks.js';
import { openDatabase, type Database } from '../../src/core/db/connection.js';
import { migrateLatest } from '../../src/core/db/migrate.js';
import { createPlan } from '../../src/core/plans/service.js';
import { listJobs } from '../../src/core/provisioning/jobs.js';
import { apiDriver } from '../../src/core/provisioning/routeros/driver.js';
import type { Drivers } from '../../src/core/provisioning/runner.js';
import { addRouter, getRouter } from '../../src/core/routers/service.js';
import { initialise } from '../../src/core/settings/init.js';
import { setSettings } from '../../src/core/settings/service.js';
import { addSubscriber } from '../../src/core/subscribers/service.js';
import { encryptSecret } from '../../src/core/secrets.js';
import { startLabRouter, type LabRouter } from '../../src/lab/index.js';
import { createPgDatabase, describeEachEngine } from '../helpers/db.js';
import { eventually } from '../helpers/wait.js';

const SECRET_KEY = 'c3'.repeat(32);
const drivers: Drivers = {
  api: apiDriver,
  radius: { run: async (_c, _r, jobs) => jobs.map((j) => ({ id: j.id, ok: false as const, error: 'not in this test' })) },
};

/** Set-based: a plan at 1,500.00, `n` subscribers with one active service each on a router nobody checks. */
async function seedServices(knex: Knex, n: number): Promise<void> {
  const [router] = await knex('routers')
    .insert({ name: 'core1', host: '127.0.0.1', api_port: 9, api_user: 'u', api_password_enc: encryptSecret('pw', Buffer.from(SECRET_KEY, 'hex')), radius_secret_enc: 'x' })
    .returning('id');
  const [plan] = await knex('plans').insert({ name: 'Fiber 50', price_minor: 150000n, currency: 'PHP', download_kbps: 50000, upload_kbps: 20000 }).returning('id');
  await knex.raw(`insert into subscribers (full_name) select 'Subscriber ' || g from generate_series(1, ?::int) g`, [n]);
  await knex.raw(
    `insert into services (subscriber_id, plan_id, router_id, username, password, started_on, access_state, access_reason, rate_limit)
     select id, ?, ?, 'user' || id, 'pw' || id, date '2026-10-01', 'active', 'ok', '20M/50M' from subscribers`,
    [plan.id, router.id],
  );
}

describeEachEngine('daemon: router health, stale sessions, dead claims', (db) => {
  let ctx: ServiceContext;
  let lab: LabRouter;
  let clock: FixedClock;

  beforeAll(async () => {
    lab = await startLabRouter({ adminPassword: 'lab-pw', identity: 'health-lab' });
    clock = new FixedClock('2026-11-10T02:00:00Z');
    ctx = { ...db().ctx(clock), env: { ISPCTL_SECRET_KEY: SECRET_KEY } };
    await initialise(ctx, { values: { 'isp-name': 'Health ISP', currency: 'PHP', timezone: 'Asia/Manila' } });
    await addRouter(ctx, { name: 'lab1', host: '127.0.0.1', apiPort: lab.port, apiUser: 'admin', apiPassword: 'lab-pw', mode: 'api' });
    await createPlan(ctx, { name: 'Fiber 50', price: '1500', download: '50M', upload: '20M' });
  });

  afterAll(async () => {
    await lab?.close();
  });

  const health = () => checkRoutersHealth(ctx, { degradedAfter: 1, offlineAfter: 3, timeoutMs: 2000 });
  const row = async () => ctx.db('routers').where({ name: 'lab1' }).first('status', 'consecutive_failures', 'last_error', 'identity', 'status_changed_at');

  it('online after a good check, with what the router says about itself', async () => {
    const r = await health();
    expect(r.changes).toEqual([expect.objectContaining({ router: 'lab1', from: 'unknown', to: 'online' })]);
    expect(await row()).toMatchObject({ status: 'online', consecutive_failures: 0, identity: 'health-lab', last_error: null });
    // router list reads the same column.
    expect((await getRouter(ctx.db, 'lab1')).status).toBe('online');
  });

  it('online → degraded → offline over consecutive failed checks; nobody is suspended, work waits', async () => {
    lab.faults.refuseConnections = true;
    // A subscriber added while the router is down: the job waits in the outbox.
    const added = await addSubscriber(ctx, { fullName: 'Rosa Cruz', username: 'rosa', password: 'rosa-pw', plan: 'Fiber 50', router: 'lab1', startDate: '2026-11-01' });
    expect(added.jobIds.length).toBeGreaterThan(0);

    const seen: string[] = [];
    for (let i = 0; i < 4; i++) {
      await health();
      const r = await row();
      seen.push(`${r.status}:${r.consecutive_failures}`);
    }
    expect(seen).toEqual(['degraded:1', 'degraded:2', 'offline:3', 'offline:4']);
    expect((await row()).last_error).toBeTruthy();
    // Health changes no one's access.
    const svc = await ctx.db('services').where({ username: 'rosa' }).first('collection_status', 'admin_status');
    expect(svc).toMatchObject({ collection_status: 'current', admin_status: 'active' });
    expect((await listJobs(ctx.db, { status: 'pending' })).length).toBeGreaterThan(0);
    expect(lab.state.menu('/ppp/secret').list().find((s) => s.name === 'rosa')).toBeUndefined();
  });

  it('back online: the health schedule runs the router\'s queued work at once, ignoring backoff', async () => {
    // Make the waiting job look freshly failed: far in backoff.
    await ctx.db('provisioning_jobs').where({ status: 'pending' }).update({ attempts: 5, next_attempt_at: new Date(clock.now().getTime() + 600_000) });
    lab.faults.refuseConnections = false;
    const logs: LogEntry[] = [];
    const task = TASKS.find((t) => t.name === 'health')!;
    const result = await task.run({
      ctx,
      config: await loadDaemonConfig(ctx.db),
      log: taskLog((e) => logs.push(e), 'health'),
      drivers: async () => drivers,
      routerTimeoutMs: 3000,
      leader: true,
      instance: { id: 'test', name: 'test', host: hostname(), pid: process.pid, workerId: 'test', engine: db().engine, heartbeatEveryMs: 2000 },
    });
    expect(result.summary).toMatchObject({ online: 1, changes: [{ router: 'lab1', from: 'offline', to: 'online' }], returnedJobs: { done: expect.any(Number), pending: 0 } });
    expect(logs.map((l) => l.message)).toContain('Router lab1: offline → online');
    expect(await row()).toMatchObject({ status: 'online', consecutive_failures: 0 });
    expect(lab.state.menu('/ppp/secret').list().find((s) => s.name === 'rosa')).toMatchObject({ name: 'rosa' });
    expect((await listJobs(ctx.db, { status: 'open' })).length).toBe(0);
  });

  it('a router that answers but refuses the login is degraded, not offline', async () => {
    await ctx.db('routers').where({ name: 'lab1' }).update({ api_user: 'nobody' });
    for (let i = 0; i < 4; i++) await health();
    expect(await row()).toMatchObject({ status: 'degraded', consecutive_failures: 4 });
    expect((await row()).last_error).toMatch(/refused/);
    await ctx.db('routers').where({ name: 'lab1' }).update({ api_user: 'admin' });
    await health();
    expect((await row()).status).toBe('online');
  });

  it('closes RADIUS sessions with no accounting for radius-stale-minutes, at their last update', async () => {
    const now = clock.now();
    const min = (m: number) => new Date(now.getTime() - m * 60_000);
    await ctx.db('radacct').insert([
      // Interim 40 min ago: stale.
      { acctsessionid: 's1', acctuniqueid: 'u1', username: 'alice', nasipaddress: '10.0.0.1', acctstarttime: min(120), acctupdatetime: min(40), acctsessiontime: 4800 },
      // Interim 10 min ago: alive.
      { acctsessionid: 's2', acctuniqueid: 'u2', username: 'bob', nasipaddress: '10.0.0.1', acctstarttime: min(120), acctupdatetime: min(10) },
      // Start only, 50 min ago, no interim ever: stale, session time from the start.
      { acctsessionid: 's3', acctuniqueid: 'u3', username: 'carol', nasipaddress: '10.0.0.2', acctstarttime: min(50) },
      // Already stopped: untouched.
      { acctsessionid: 's4', acctuniqueid: 'u4', username: 'dave', nasipaddress: '10.0.0.2', acctstarttime: min(300), acctupdatetime: min(200), acctstoptime: min(200), acctterminatecause: 'User-Request' },
    ]);
    const r = await closeStaleSessions(ctx.db, { now, staleMinutes: 30 });
    expect(r.closed).toBe(2);
    expect(r.sessions.map((s) => s.username).sort()).toEqual(['alice', 'carol']);
    const rows = await ctx.db('radacct').orderBy('acctsessionid').select('acctsessionid', 'acctstoptime', 'acctterminatecause', 'acctsessiontime');
    expect(rows.map((x) => [x.acctsessionid, x.acctstoptime?.toISOString() ?? null, x.acctterminatecause, Number(x.acctsessiontime ?? -1)])).toEqual([
      ['s1', min(40).toISOString(), 'Stale-Session', 4800],
      ['s2', null, null, -1],
      ['s3', min(50).toISOString(), 'Stale-Session', 0],
      ['s4', min(200).toISOString(), 'User-Request', -1],
    ]);
    expect((await closeStaleSessions(ctx.db, { now, staleMinutes: 30 })).closed).toBe(0);
    expect((await closeStaleSessions(ctx.db, { now, staleMinutes: 0 })).closed).toBe(0);
  });

  it('takes back jobs a dead process left running, without waiting for the claim timeout', async () => {
    const [router] = await ctx.db('routers').select('id');
    const now = clock.now();
    const base = { router_id: router.id, kind: 'service', payload: '{}', attempts: 0, next_attempt_at: now, created_at: now, updated_at: now, status: 'running', claimed_at: now };
    // pid 2^22+1 is above Linux's pid_max: never alive.
    const deadHere = `${hostname()}:4194305`;
    await ctx.db('provisioning_jobs').insert([
      { ...base, target: 'service:9001', claimed_by: deadHere },
      { ...base, target: 'service:9002', claimed_by: `${hostname()}:${process.pid}` },
      // A process of this host that had this process's pid before (a restarted container's PID 1).
      { ...base, target: 'service:9005', claimed_by: `${hostname()}:${process.pid}:${Math.round(performance.timeOrigin) - 3_600_000}` },
      // This very process, under its own identity: alive.
      { ...base, target: 'service:9006', claimed_by: workerId() },
      // pid 1 lives, but started long before this claim: the claimer's pid was reused.
      { ...base, target: 'service:9007', claimed_by: `${hostname()}:1:${Date.now()}` },
      { ...base, target: 'service:9003', claimed_by: 'elsewhere:1234' },
      // The same target already has a newer pending job: the abandoned one is cancelled.
      { ...base, target: 'service:9004', claimed_by: deadHere },
      { ...base, target: 'service:9004', status: 'pending', claimed_at: null },
    ]);
    // A daemon on another host whose heartbeat stopped a minute ago.
    await ctx.db('daemon_instances').insert({
      id: 'gone-1', name: 'gone', host: 'elsewhere', pid: 1234, worker_id: 'elsewhere:1234', engine: db().engine,
      started_at: ctx.db.raw(`now() - interval '1 hour'`), heartbeat_at: ctx.db.raw(`now() - interval '1 minute'`), heartbeat_every_ms: 2000,
    });
    expect(await releaseDeadClaims(ctx.db, now)).toBe(process.platform === 'linux' ? 5 : 4);
    const status = async (t: string) => (await ctx.db('provisioning_jobs').where({ target: t }).orderBy('id').select('status')).map((r) => r.status);
    expect(await status('service:9001')).toEqual(['pending']);
    expect(await status('service:9002')).toEqual(['running']); // this process: alive
    expect(await status('service:9003')).toEqual(['pending']);
    expect(await status('service:9004')).toEqual(['cancelled', 'pending']);
    expect(await status('service:9005')).toEqual(['pending']);
    expect(await status('service:9006')).toEqual(['running']);
    if (process.platform === 'linux') expect(await status('service:9007')).toEqual(['pending']);
    await ctx.db('provisioning_jobs').whereIn('target', ['service:9001', 'service:9002', 'service:9003', 'service:9004', 'service:9005', 'service:9006', 'service:9007']).delete();
  });
});

// ---- the daemon itself on PostgreSQL -----------------------------------------------------------

describe('daemon on PostgreSQL: leader lock, takeover, billing once', () => {
  let database: { url: string; drop(): Promise<void> };
  let admin: pg.Client;
  const daemons: Array<{ d: Daemon; done: Promise<DaemonRunResult>; logs: LogEntry[] }> = [];
  const clock = new FixedClock('2026-12-01T07:00:00+08:00'); // billing day 1, after 06:00

  beforeAll(async () => {
    database = await createPgDatabase('ispctl_daemon');
    const db = await openDatabase({ engine: 'postgres', url: database.url });
    try {
      await migrateLatest(db.knex);
      const ctx: ServiceContext = { db: db.knex, engine: 'postgres', clock, actor: { user: 'tester', command: 'test' }, env: {} };
      await initialise(ctx, { values: { 'isp-name': 'Leader ISP', currency: 'PHP', timezone: 'Asia/Manila', 'billing-day': 1, 'due-days': 15 } });
      await seedServices(db.knex, 50);
    } finally {
      await db.close();
    }
    admin = new pg.Client({ connectionString: database.url });
    await admin.connect();
  });

  afterAll(async () => {
    for (const x of daemons) x.d.stop('test over');
    await Promise.allSettled(daemons.map((x) => x.done));
    await admin?.end();
    await database?.drop();
  });

  function start(name: string, extra: Partial<DaemonOptions> = {}) {
    const logs: LogEntry[] = [];
    const d = new Daemon({
      target: { engine: 'postgres', url: database.url },
      env: { ISPCTL_SECRET_KEY: SECRET_KEY },
      clock,
      actor: { user: 'tester', command: 'ispctl daemon' },
      logger: (e) => logs.push(e),
      instanceName: name,
      controlIntervalMs: 300,
      drivers: async () => drivers,
      ...extra,
    });
    const x = { d, done: d.run(), logs };
    daemons.push(x);
    return x;
  }
  const sql = async (text: string, values: unknown[] = []) => (await admin.query(text, values)).rows;

  it('two instances: exactly one leads, and billing runs once for the period', async () => {
    const a = start('a');
    const b = start('b');
    await eventually(() => a.d.leader || b.d.leader, 30_000, 'a leader');
    // Watch for a while: never both, never neither once settled.
    for (let i = 0; i < 10; i++) {
      expect(Number(a.d.leader) + Number(b.d.leader)).toBe(1);
      await new Promise((r) => setTimeout(r, 100));
    }
    await eventually(async () => (await sql(`select last_outcome from schedule_runs where schedule = 'billing'`))[0]?.last_outcome === 'ok', 30_000, 'billing done');
    const [counts] = await sql(`select count(*)::int as invoices, count(distinct subscriber_id)::int as subscribers from invoices where period_key = '2026-12'`);
    expect(counts).toEqual({ invoices: 50, subscribers: 50 });
    const runs = await sql(`select slot, outcome, instance_id from schedule_run_history where schedule = 'billing'`);
    expect(runs).toHaveLength(1);
    expect(runs[0]).toMatchObject({ slot: '2026-12', outcome: 'ok', instance_id: (a.d.leader ? a : b).d.instance.id });
  });

  it('kill the leader\'s connection: the other takes over; status shows it', async () => {
    const [a, b] = daemons as [(typeof daemons)[0], (typeof daemons)[0]];
    const leader = a.d.leader ? a : b;
    const follower = leader === a ? b : a;
    const ctx = { db: (await openDatabase({ engine: 'postgres', url: database.url })), engine: 'postgres' as const, clock };
    try {
      const before = await daemonStatus({ db: ctx.db.knex, engine: 'postgres', clock });
      expect(before.running).toBe(true);
      expect(before.leader?.name).toBe(leader.d.instance.name);
      expect(before.instances.filter((i) => i.state === 'running')).toHaveLength(2);

      const t = await sql(`select pg_terminate_backend(pid) as ok from pg_stat_activity where application_name = $1`, [`ispctl daemon ${leader.d.instance.name}`]);
      expect(t).toEqual([{ ok: true }]);
      await eventually(() => follower.d.leader, 30_000, 'takeover');
      expect(leader.logs.some((l) => /Lost the database control connection, and with it the leadership/.test(l.message))).toBe(true);
      // The old leader reconnects as a follower: still exactly one leader.
      await eventually(async () => (await sql(`select count(*)::int as n from pg_stat_activity where application_name = $1`, [`ispctl daemon ${leader.d.instance.name}`]))[0].n === 1, 30_000, 'reconnect');
      for (let i = 0; i < 5; i++) {
        expect(Number(a.d.leader) + Number(b.d.leader)).toBe(1);
        await new Promise((r) => setTimeout(r, 100));
      }
      const after = await eventually(async () => {
        const s = await daemonStatus({ db: ctx.db.knex, engine: 'postgres', clock });
        return s.leader?.name === follower.d.instance.name ? s : undefined;
      }, 30_000, 'status shows the new leader');
      expect(after.instances.filter((i) => i.leader)).toHaveLength(1);
      // Nothing ran twice: the new leader saw the period invoiced.
      expect((await sql(`select count(*)::int as n from schedule_run_history where schedule = 'billing'`))[0].n).toBe(1);
      expect((await sql(`select count(*)::int as n from invoices`))[0].n).toBe(50);
    } finally {
      await ctx.db.close();
    }
  });

  it('a new job wakes every instance through NOTIFY, without waiting for the poll', async () => {
    // Poll once an hour: only NOTIFY can make the jobs schedule run now.
    await sql(`insert into settings (key, value, updated_at) values ('jobs-interval-seconds', '3600', now()) on conflict (key) do update set value = excluded.value`);
    await new Promise((r) => setTimeout(r, 1000)); // both have read the setting and polled
    const marks = daemons.map((x) => x.logs.length);
    await sql(`select pg_notify('ispctl_jobs', '')`);
    await eventually(() => daemons.every((x, i) => x.logs.slice(marks[i]).some((l) => l.task === 'jobs')), 30_000, 'both ran their jobs');
  });

  it('stop: the leader releases the lock and the instance is marked stopped', async () => {
    const [a, b] = daemons as [(typeof daemons)[0], (typeof daemons)[0]];
    const leader = a.d.leader ? a : b;
    const follower = leader === a ? b : a;
    leader.d.stop('SIGTERM');
    const r = await leader.done;
    expect(r.stoppedBy).toBe('SIGTERM');
    await eventually(() => follower.d.leader, 30_000, 'the follower leads after a clean stop');
    const [row] = await sql(`select stopped_at is not null as stopped, is_leader from daemon_instances where id = $1`, [leader.d.instance.id]);
    expect(row).toEqual({ stopped: true, is_leader: false });
    follower.d.stop('SIGTERM');
    await follower.done;
  });

  it('--once on a follower runs router jobs only and says who runs the rest', async () => {
    const leader = start('leader', { controlIntervalMs: 200 });
    await eventually(() => leader.d.leader, 30_000, 'leader');
    const once = new Daemon({
      target: { engine: 'postgres', url: database.url },
      env: { ISPCTL_SECRET_KEY: SECRET_KEY },
      clock,
      actor: { user: 'tester', command: 'ispctl daemon --once' },
      logger: () => undefined,
      instanceName: 'cron',
      once: true,
      drivers: async () => drivers,
    });
    const r = await once.run();
    expect(r.leader).toBe(false);
    expect(Object.fromEntries(r.tasks.map((t) => [t.schedule, t.outcome]))).toEqual({
      billing: 'skipped',
      collections: 'skipped',
      jobs: 'ok',
      health: 'skipped',
      'radius-stale': 'skipped',
      notifications: 'skipped',
    });
    expect(r.tasks.find((t) => t.schedule === 'health')!.message).toMatch(/another instance leads/);
    leader.d.stop('test');
    await leader.done;
  });
});

// ---- a month of simulated days with two daemons -------------------------------------------------

describe('two daemons through a month of simulated days (PostgreSQL)', () => {
  let database: { url: string; drop(): Promise<void> };
  let lab: LabRouter;
  let admin: pg.Client;
  let db: Database;
  const clock = new FixedClock('2026-12-01T09:00:00+08:00');
  const env = { ISPCTL_SECRET_KEY: SECRET_KEY };
  const runs: Array<{ d: Daemon; done: Promise<DaemonRunResult> }> = [];

  beforeAll(async () => {
    database = await createPgDatabase('ispctl_daemon_month');
    lab = await startLabRouter({ adminPassword: 'lab-pw', identity: 'month-lab' });
    db = await openDatabase({ engine: 'postgres', url: database.url });
    await migrateLatest(db.knex);
    const ctx: ServiceContext = { db: db.knex, engine: 'postgres', clock, actor: { user: 'tester', command: 'test' }, env };
    await initialise(ctx, { values: { 'isp-name': 'Month ISP', currency: 'PHP', timezone: 'Asia/Manila', 'billing-day': 1, 'due-days': 15, 'grace-days': 5 } });
    await addRouter(ctx, { name: 'lab1', host: '127.0.0.1', apiPort: lab.port, apiUser: 'admin', apiPassword: 'lab-pw', mode: 'api' });
    await createPlan(ctx, { name: 'Fiber 1500', price: '1,500.00', download: '50M', upload: '20M' });
    for (const u of ['ana', 'ben', 'carlo']) {
      await addSubscriber(ctx, { fullName: `${u} Tester`, username: u, password: `${u}-pw`, plan: 'Fiber 1500', router: 'lab1', startDate: '2026-10-01' });
    }
    admin = new pg.Client({ connectionString: database.url });
    await admin.connect();
  });

  afterAll(async () => {
    for (const r of runs) r.d.stop('test over');
    await Promise.allSettled(runs.map((r) => r.done));
    await admin?.end();
    await db?.close();
    await lab?.close();
    await database?.drop();
  });

  const sql = async (text: string, values: unknown[] = []) => (await admin.query(text, values)).rows;
  const start = (name: string) => {
    const d = new Daemon({ target: { engine: 'postgres', url: database.url }, env, clock, actor: { user: 'tester', command: 'ispctl daemon' }, logger: () => undefined, instanceName: name, controlIntervalMs: 200, drivers: async () => drivers });
    runs.push({ d, done: d.run() });
    return d;
  };
  const secret = (name: string) => lab.state.menu('/ppp/secret').list().find((x) => x.name === name);

  it('one invoice per service and period, each suspension and restoration once, a leader killed half way', async () => {
    start('a');
    start('b');
    await eventually(() => runs.some((r) => r.d.leader), 30_000, 'a leader');
    const ctx: ServiceContext = { db: db.knex, engine: 'postgres', clock, actor: { user: 'cashier', command: 'ispctl payment record' }, env };
    const { recordPayment } = await import('../../src/core/payments/service.js');
    for (let day = new Date('2026-12-01T09:00:00+08:00'); day <= new Date('2027-01-03T09:00:00+08:00'); day = new Date(day.getTime() + 86_400_000)) {
      clock.set(day);
      const iso = day.toISOString().slice(0, 10);
      if (iso === '2026-12-05') await recordPayment(ctx, { subscriber: 'ana', amount: '1,500.00', method: 'gcash', reference: '7012345678901' });
      if (iso === '2026-12-25') await recordPayment(ctx, { subscriber: 'carlo', amount: '1,500.00', method: 'cash', reference: 'OR-0042' });
      if (iso === '2026-12-15') {
        // The leader dies half way through the month; the other carries on.
        const leader = runs.find((r) => r.d.leader)!;
        await sql(`select pg_terminate_backend(pid) from pg_stat_activity where application_name = $1`, [`ispctl daemon ${leader.d.instance.name}`]);
        await eventually(() => runs.some((r) => r.d.leader && r !== leader), 30_000, 'takeover');
      }
      // A payment recorded elsewhere would say so; here it makes the leader run collections now.
      await sql(`select pg_notify('ispctl_payments', '')`);
      const today = new Intl.DateTimeFormat('en-CA', { timeZone: 'Asia/Manila' }).format(day);
      await eventually(async () => {
        const [r] = await sql(`select last_outcome, last_summary->>'today' as today from schedule_runs where schedule = 'collections'`);
        return r?.today === today && r.last_outcome === 'ok';
      }, 10_000, `collections for ${today}`);
    }
    await eventually(async () => (await sql(`select count(*)::int as n from schedule_run_history where schedule = 'billing' and slot = '2027-01' and outcome = 'ok'`))[0].n === 1, 30_000, 'January billed');

    // Exactly one invoice per subscriber and period, one line per service and period.
    expect(await sql(`select subscriber_id, period_key from invoices where status <> 'void' group by 1, 2 having count(*) > 1`)).toEqual([]);
    expect(await sql(`select service_id, period_key from invoice_lines where not voided group by 1, 2 having count(*) > 1`)).toEqual([]);
    expect((await sql(`select count(*)::int as n from invoices where period_key = '2026-12'`))[0].n).toBe(3);
    expect((await sql(`select slot from schedule_run_history where schedule = 'billing' order by slot`)).map((r) => r.slot)).toEqual(['2026-12', '2027-01']);

    // Each suspension and restoration happened once.
    const events = await sql(
      `select s.full_name as who, e.kind, count(*)::int as n from collection_events e join subscribers s on s.id = e.subscriber_id
        where e.kind in ('suspension', 'restoration') group by 1, 2 order by 1, 2`,
    );
    expect(events).toEqual([
      { who: 'ben Tester', kind: 'suspension', n: 1 },
      { who: 'carlo Tester', kind: 'restoration', n: 1 },
      { who: 'carlo Tester', kind: 'suspension', n: 1 },
    ]);
    // And the router followed: Ben blocked, Ana and Carlo on.
    await eventually(() => secret('ben')?.disabled === 'true' && secret('carlo')?.disabled === 'false' && secret('ana')?.disabled === 'false', 30_000, 'router state');
    await eventually(async () => (await sql(`select count(*)::int as n from provisioning_jobs where status in ('pending', 'running')`))[0].n === 0, 30_000, 'no work left');
  }, 180_000);
});

// ---- the daemon on the embedded database --------------------------------------------------------

describe('daemon on the embedded database', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ispctl-daemon-db-'));
  const target = { engine: 'pglite' as const, dataDir: join(dir, 'data'), path: join(dir, 'data', 'pgdata') };
  const clock = new FixedClock('2026-12-01T07:00:00+08:00');

  beforeAll(async () => {
    const db = await openDatabase(target);
    try {
      await migrateLatest(db.knex);
      const ctx: ServiceContext = { db: db.knex, engine: 'pglite', clock, actor: { user: 'tester', command: 'test' }, env: {} };
      await initialise(ctx, { values: { 'isp-name': 'Embedded ISP', currency: 'PHP', timezone: 'Asia/Manila', 'billing-day': 1 } });
      await setSettings(ctx, { 'jobs-interval-seconds': 1 });
      await seedServices(db.knex, 5);
    } finally {
      await db.close();
    }
  });

  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('holds the database only while a tick works: a command gets in between ticks', async () => {
    const logs: LogEntry[] = [];
    const d = new Daemon({ target, env: { ISPCTL_SECRET_KEY: SECRET_KEY }, clock, actor: { user: 'tester', command: 'ispctl daemon' }, logger: (e) => logs.push(e), drivers: async () => drivers });
    const done = d.run();
    try {
      await eventually(() => logs.some((l) => l.task === 'billing' && /invoice\(s\) created/.test(l.message)), 120_000, 'billing ran');
      // A second daemon on the same embedded database is refused.
      await expect(new Daemon({ target, env: {}, clock, actor: { user: 'tester', command: 'x' }, logger: () => undefined }).run()).rejects.toMatchObject({ code: 'DAEMON_ALREADY_RUNNING' });
      // A "command" opens the database while the daemon runs (it waits at most for one tick).
      for (let i = 0; i < 2; i++) {
        // Refused with DATABASE_BUSY if the daemon held it past the wait.
        const db = await openDatabase(target, { lockTimeoutMs: 60_000, command: 'test command' });
        try {
          expect((await db.knex('invoices').count<{ count: bigint }[]>('* as count'))[0]!.count).toBe(5n);
          const s = await daemonStatus({ db: db.knex, engine: 'pglite', clock });
          expect(s.running).toBe(true);
          expect(s.leader?.id).toBe(d.instance.id);
          expect(s.schedules.find((x) => x.schedule === 'billing')).toMatchObject({ outcome: 'ok', slot: '2026-12' });
        } finally {
          await db.close();
        }
        await new Promise((r) => setTimeout(r, 300));
      }
    } finally {
      d.stop('SIGTERM');
      await done;
    }
    const db = await openDatabase(target, { lockTimeoutMs: 5_000 });
    try {
      const s = await daemonStatus({ db: db.knex, engine: 'pglite', clock });
      expect(s.running).toBe(false);
      expect(s.instances.find((i) => i.id === d.instance.id)?.state).toBe('stopped');
    } finally {
      await db.close();
    }
  });

  it('--once runs each due schedule once; billing of an invoiced period is not due again', async () => {
    const d = new Daemon({ target, env: { ISPCTL_SECRET_KEY: SECRET_KEY }, clock, actor: { user: 'tester', command: 'ispctl daemon --once' }, logger: () => undefined, once: true, drivers: async () => drivers });
    const r = await d.run();
    expect(r.leader).toBe(true);
    expect(Object.fromEntries(r.tasks.map((t) => [t.schedule, t.outcome]))).toEqual({
      billing: 'skipped',
      collections: 'ok',
      jobs: 'ok',
      health: 'ok',
      'radius-stale': 'ok',
      notifications: 'ok',
    });
    expect(r.tasks[0]!.message).toMatch(/^not due: 2026-12 is invoiced; next run 2027-01-01 06:00 Asia\/Manila for 2027-01/);
  });
});
