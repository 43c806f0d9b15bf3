// `ispctl daemon` as it runs in production: the built binary, real processes, real signals.
// --once on the embedded database and on PostgreSQL; two daemons on one PostgreSQL on a billing
// day (one invoice per service and period, one billing run recorded, by the leader); router work
// queued while they run reaches the lab router at once, woken by LISTEN/NOTIFY (they poll once an
// hour here); kill -9 of the leader hands over; SIGTERM exits 0; kill -9 in the middle of billing 10,000
// subscribers, then a restart, leaves exactly one invoice each. Build first.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import knexFactory, { type Knex } from 'knex';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { FixedClock } from '../../src/core/clock.js';
import { provisionChanges } from '../../src/core/provisioning/access.js';
import { applyNow } from '../../src/core/provisioning/apply.js';
import { encryptSecret } from '../../src/core/secrets.js';
import { setSettings } from '../../src/core/settings/service.js';
import { startLabRouter, type LabRouter } from '../../src/lab/index.js';
import { BIN, runCli } from '../helpers/cli.js';
import { createPgDatabase } from '../helpers/db.js';
import { pgContext, seedIsp } from '../helpers/fixtures.js';
import { eventually } from '../helpers/wait.js';

const LAB_PW = 'lab-admin-pw';
const SECRET_KEY = 'e5'.repeat(32);
// The billing day (1 December, billing-day 1) after billing-hour (06:00 Manila).
const BILLING_DAY = '2026-12-01T07:00:00+08:00';
// The running daemons' clock: from the billing day at five times real time, so their schedules
// (router health checks above all) come round five times as often; it stays the billing day
// for hours of their time.
const DAEMON_NOW = `${BILLING_DAY}@x5`;

interface DaemonProcess {
  child: ChildProcess;
  /** JSON log lines so far. */
  lines: Array<Record<string, unknown>>;
  output(): string;
  waitFor(pred: (l: Record<string, unknown>) => boolean, ms?: number): Promise<Record<string, unknown>>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function startDaemon(env: Record<string, string | undefined>, args: string[] = []): DaemonProcess {
  const full: Record<string, string | undefined> = { ...process.env, NO_COLOR: '1', ...env };
  for (const [k, v] of Object.entries(full)) if (v === undefined) delete full[k];
  const child = spawn(process.execPath, [BIN, 'daemon', '--log-format', 'json', '--verbose', ...args], { env: full as NodeJS.ProcessEnv, stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: Array<Record<string, unknown>> = [];
  let text = '';
  let partial = '';
  const waiters = new Set<() => void>();
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (text += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => {
    text += d;
    partial += d;
    const parts = partial.split('\n');
    partial = parts.pop()!;
    for (const p of parts) {
      try {
        lines.push(JSON.parse(p) as Record<string, unknown>);
      } catch {
        // not a log line (an error message at exit)
      }
    }
    for (const w of waiters) w();
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  return {
    child,
    lines,
    output: () => text,
    exited,
    waitFor(pred, ms = 60_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const hit = lines.find(pred);
          if (hit) {
            waiters.delete(check);
            clearTimeout(timer);
            resolve(hit);
          }
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`daemon never logged what was expected:\n${text.slice(-3000)}`));
        }, ms);
        waiters.add(check);
        check();
      });
    },
  };
}

async function stopAll(ps: DaemonProcess[]): Promise<void> {
  for (const p of ps) if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
  await Promise.all(ps.map((p) => p.exited));
}

const SUBSCRIBERS = [['Ana Reyes', 'ana'], ['Ben Santos', 'ben'], ['Carlo Lim', 'carlo']] as const;

/**
 * init, a plan at 1,500.00, the lab router, and three subscribers: through the core services
 * on a PostgreSQL database (the commands have their own tests), through the CLI on the embedded
 * one.
 */
async function setUp(cli: (args: string[], input?: string) => ReturnType<typeof runCli>, labPort: number, databaseUrl?: string): Promise<void> {
  if (databaseUrl) {
    const ctx = await pgContext(databaseUrl, new FixedClock(BILLING_DAY), { ISPCTL_SECRET_KEY: SECRET_KEY });
    try {
      await seedIsp(ctx, {
        settings: { 'isp-name': 'Daemon Net' },
        routers: [{ name: 'lab', host: '127.0.0.1', apiPort: labPort, apiUser: 'admin', apiPassword: LAB_PW }],
        plans: [{ name: 'Fiber 1500', download: '50M', upload: '20M' }],
        startDate: '2026-10-01',
        subscribers: SUBSCRIBERS.map(([fullName, username]) => ({ fullName, username, password: `${username}-pa55` })),
        apply: async (c, jobIds) => expect((await applyNow(c, jobIds, { timeoutMs: 60_000 })).remaining).toBe(0),
      });
    } finally {
      await ctx.close();
    }
    return;
  }
  const steps: string[][] = [
    ['init', '--isp-name', 'Daemon Net', '--currency', 'PHP', '--timezone', 'Asia/Manila', '--billing-day', '1', '--due-days', '15', '--yes'],
    ['router', 'add', 'lab', '--host', '127.0.0.1', '--api-port', String(labPort), '--api-user', 'admin', '--api-password', LAB_PW],
    ['plan', 'create', 'Fiber 1500', '--price', '1,500.00', '--download', '50M', '--upload', '20M'],
    // One import for the three (subscriber add has its own tests); it applies their secrets too.
    ['subscriber', 'import', '--file', '-'],
  ];
  const csv = ['full_name,username,password,plan,router,start_date', ...SUBSCRIBERS.map(([name, user]) => `${name},${user},${user}-pa55,Fiber 1500,lab,2026-10-01`)].join('\n');
  for (const s of steps) {
    const r = await cli(s, s[1] === 'import' ? csv : undefined);
    expect(r.code, `${s.join(' ')}: ${r.stderr}`).toBe(0);
  }
}

describe('ispctl daemon --once', () => {
  let lab: LabRouter;
  const tmp = mkdtempSync(join(tmpdir(), 'ispctl-daemon-once-'));
  let database: { url: string; drop(): Promise<void> };

  beforeAll(async () => {
    lab = await startLabRouter({ adminPassword: LAB_PW, identity: 'once-lab' });
    database = await createPgDatabase('ispctl_daemon_once', { migrated: true });
    // The embedded database starts as a copy of the run's migrated snapshot (as tempDataDir's
    // `migrated` does): init finds the schema in place. Creating and migrating it is tested in
    // foundation-cli and walked by the demo.
    const pgdata = join(tmp, 'embedded', 'data', 'pgdata');
    mkdirSync(pgdata, { recursive: true, mode: 0o700 });
    execFileSync('tar', ['-xf', inject('pgliteSnapshot'), '-C', pgdata], { stdio: 'ignore' });
  });

  afterAll(async () => {
    await lab?.close();
    await database?.drop();
    rmSync(tmp, { recursive: true, force: true });
  });

  for (const engine of ['embedded', 'postgres'] as const) {
    it(`runs every due schedule once and exits 0 (${engine})`, async () => {
      const env = {
        DATABASE_URL: engine === 'postgres' ? database.url : '',
        ISPCTL_DATA_DIR: join(tmp, engine, 'data'),
        ISPCTL_CONFIG_DIR: join(tmp, engine, 'config'),
        ISPCTL_NOW: BILLING_DAY,
        ISPCTL_SECRET_KEY: SECRET_KEY,
      };
      const cli = (...args: string[]) => runCli(args, { env });
      await setUp((args, input) => runCli(args, { env, input }), lab.port, engine === 'postgres' ? database.url : undefined);
      const r = await cli('daemon', '--once', '--json');
      expect(r.code, r.stderr).toBe(0);
      const tasks = Object.fromEntries((r.json.data.tasks as Array<{ schedule: string; outcome: string; summary?: Record<string, unknown> }>).map((t) => [t.schedule, t]));
      expect(r.json.data.leader).toBe(true);
      expect(tasks.billing).toMatchObject({ outcome: 'ok', slot: '2026-12', summary: { invoices: 3, lines: 3, totalMinor: '450000' } });
      expect(tasks.health).toMatchObject({ outcome: 'ok', summary: { checked: 1, online: 1 } });
      for (const s of ['collections', 'jobs', 'radius-stale', 'notifications']) expect(tasks[s]?.outcome, s).toBe('ok');
      // Logs went to stderr, readable lines by default.
      expect(r.stderr).toMatch(/INFO  billing\s+Billing for 2026-12/);

      // Again: billing is not due (the period is invoiced); nothing doubles.
      const again = await cli('daemon', '--once', '--json');
      expect(again.code, again.stderr).toBe(0);
      expect(again.json.data.tasks.find((t: { schedule: string }) => t.schedule === 'billing')).toMatchObject({ outcome: 'skipped' });
      if (engine === 'embedded') {
        const invoices = await cli('invoice', 'list', '--json');
        expect(invoices.json.data).toHaveLength(3);
      } else {
        // The same list through the binary is the embedded run's; here the database says it.
        const pool = new pg.Pool({ connectionString: database.url, max: 1 });
        try {
          expect((await pool.query('select count(*)::int as n from invoices')).rows[0].n).toBe(3);
        } finally {
          await pool.end();
        }
      }

      const status = await cli('daemon', 'status', '--json');
      expect(status.code, status.stderr).toBe(0);
      expect(status.json.data).toMatchObject({ running: false, leader: null, jobs: { pending: 0, failing: 0 }, routers: { total: 1, online: 1 } });
      expect(status.json.data.schedules.find((s: { schedule: string }) => s.schedule === 'billing')).toMatchObject({ outcome: 'ok', slot: '2026-12', runs: 1 });
      expect(status.json.data.instances.every((i: { state: string }) => i.state === 'stopped')).toBe(true);

      // The readable status: the same text on either engine (the JSON above is the engine's).
      if (engine === 'embedded') {
        const text = await cli('daemon', 'status');
        expect(text.stdout).toMatch(/No daemon is running/);
        expect(text.stdout).toMatch(/billing\s+billing day 1 at 06:00 Asia\/Manila\s+.*ok \(2026-12\)/);
      }
    });
  }

  it('refuses a second daemon on the same embedded database', async () => {
    const env = { DATABASE_URL: '', ISPCTL_DATA_DIR: join(tmp, 'embedded', 'data'), ISPCTL_CONFIG_DIR: join(tmp, 'embedded', 'config'), ISPCTL_NOW: BILLING_DAY, ISPCTL_SECRET_KEY: SECRET_KEY };
    const first = startDaemon(env);
    try {
      await first.waitFor((l) => l.task === 'daemon' && /Started/.test(String(l.message)));
      const second = await runCli(['daemon', '--json'], { env });
      expect(second.code).toBe(5);
      expect(second.json.error.code).toBe('DAEMON_ALREADY_RUNNING');
      // Commands still run beside it: it holds the database only while it works.
      const list = await runCli(['invoice', 'list', '--json'], { env });
      expect(list.code, list.stderr).toBe(0);
      first.child.kill('SIGTERM');
      expect(await first.exited).toEqual({ code: 0, signal: null });
    } finally {
      await stopAll([first]);
    }
  });
});

describe('two daemons on one PostgreSQL', () => {
  let lab: LabRouter;
  const tmp = mkdtempSync(join(tmpdir(), 'ispctl-daemon-two-'));
  let database: { url: string; drop(): Promise<void> };
  let knex: Knex;
  let pool: pg.Pool;
  const procs: DaemonProcess[] = [];
  const env = () => ({ DATABASE_URL: database.url, ISPCTL_DATA_DIR: join(tmp, 'data'), ISPCTL_CONFIG_DIR: join(tmp, 'config'), ISPCTL_NOW: BILLING_DAY, ISPCTL_SECRET_KEY: SECRET_KEY });
  const cli = (...args: string[]) => runCli(args, { env: env() });
  const sql = async (text: string, values: unknown[] = []) => (await pool.query(text, values)).rows;
  const status = async () => {
    const r = await cli('daemon', 'status', '--json');
    expect(r.code, r.stderr).toBe(0);
    return r.json.data as { running: boolean; leader: { name: string } | null; instances: Array<{ name: string; state: string; leader: boolean }> };
  };

  beforeAll(async () => {
    lab = await startLabRouter({ adminPassword: LAB_PW, identity: 'two-lab' });
    database = await createPgDatabase('ispctl_daemon_two', { migrated: true });
    pool = new pg.Pool({ connectionString: database.url, max: 2 });
    pool.on('error', () => undefined); // clients ended by the database drop at the end
    knex = knexFactory({ client: 'pg', connection: database.url, pool: { min: 0, max: 2 } });
    await setUp((args) => runCli(args, { env: env() }), lab.port, database.url);
    // Router work is polled once an hour: only NOTIFY (or the probe of a returning router) makes
    // the daemons run it sooner. Health checks every 10 s of the daemons' clock, which runs five
    // times as fast as real time (DAEMON_NOW): a check every 2 s, the hourly poll every 12 min.
    await setSettings(
      { db: knex, engine: 'postgres', clock: new FixedClock(BILLING_DAY), actor: { user: 'tester', command: 'ispctl test' }, env: {} },
      { 'jobs-interval-seconds': 3600, 'health-interval-seconds': 10 },
    );
  });

  afterAll(async () => {
    await stopAll(procs);
    await knex?.destroy();
    await pool?.end();
    await lab?.close();
    await database?.drop();
    rmSync(tmp, { recursive: true, force: true });
  });

  it('on the billing day: exactly one invoice per service and period, one billing run, by the leader', async () => {
    const daemonEnv = { ...env(), ISPCTL_NOW: DAEMON_NOW, ISPCTL_CLOCK_ANCHOR: new Date().toISOString() };
    procs.push(startDaemon({ ...daemonEnv, ISPCTL_INSTANCE_NAME: 'noc-a' }), startDaemon({ ...daemonEnv, ISPCTL_INSTANCE_NAME: 'noc-b' }));
    await Promise.all(procs.map((p) => p.waitFor((l) => l.task === 'daemon' && /Now the leader|Following/.test(String(l.message)))));
    await eventually(async () => (await sql(`select last_outcome from schedule_runs where schedule = 'billing'`))[0]?.last_outcome === 'ok', 60_000, 'billing');
    const lines = await sql(`select l.service_id, l.period_key, count(*)::int as n from invoice_lines l where not l.voided group by 1, 2`);
    expect(lines).toHaveLength(3);
    expect(lines.every((l) => l.period_key === '2026-12' && l.n === 1)).toBe(true);
    expect((await sql(`select count(*)::int as n from invoices`))[0].n).toBe(3);
    const runs = await sql(`select h.slot, h.outcome, i.name from schedule_run_history h join daemon_instances i on i.id = h.instance_id where h.schedule = 'billing'`);
    const s = await status();
    expect(s.running).toBe(true);
    expect(s.instances.filter((i) => i.state === 'running').map((i) => i.name).sort()).toEqual(['noc-a', 'noc-b']);
    expect(s.instances.filter((i) => i.leader)).toHaveLength(1);
    expect(runs).toEqual([{ slot: '2026-12', outcome: 'ok', name: s.leader!.name }]);
  });

  it('router work queued while they run reaches the lab router at once (NOTIFY wakes them; the poll is hourly)', async () => {
    // A change that queues router work without applying it (as a script or another tool would).
    const [svc] = await sql(`select id from services where username = 'ben'`);
    await sql(`update services set password = 'ben-new-pa55' where id = $1`, [svc.id]);
    const t0 = Date.now();
    const { jobIds } = await knex.transaction((trx) => provisionChanges(trx, { clock: new FixedClock(BILLING_DAY) }, { serviceIds: [svc.id] }, { credentialsChanged: [svc.id] }));
    expect(jobIds.length).toBeGreaterThan(0);
    await eventually(() => lab.state.menu('/ppp/secret').list().find((x) => x.name === 'ben')?.password === 'ben-new-pa55', 60_000, 'the new password on the router');
    console.info(`[daemon] queued router work on the router ${Date.now() - t0} ms after the commit`);
    // Marked done right after the router answered.
    await eventually(async () => (await sql(`select count(*)::int as n from provisioning_jobs where status in ('pending', 'running')`))[0].n === 0, 30_000, 'jobs done');
  });

  it('work for a router that is down waits, and is applied when the router comes back (not by the hourly poll)', async () => {
    lab.faults.refuseConnections = true;
    const [svc] = await sql(`select id from services where username = 'carlo'`);
    await sql(`update services set password = 'carlo-new-pa55' where id = $1`, [svc.id]);
    await knex.transaction((trx) => provisionChanges(trx, { clock: new FixedClock(BILLING_DAY) }, { serviceIds: [svc.id] }, { credentialsChanged: [svc.id] }));
    // Tried at once (NOTIFY), failed, queued with backoff; the router is seen down. Nobody's access changed.
    await eventually(async () => (await sql(`select count(*)::int as n from provisioning_jobs where status = 'pending' and attempts > 0`))[0].n > 0, 30_000, 'a failed attempt');
    await eventually(async () => (await sql(`select status from routers where name = 'lab'`))[0].status !== 'online', 60_000, 'router seen down');
    expect((await sql(`select collection_status, admin_status from services where id = $1`, [svc.id]))[0]).toEqual({ collection_status: 'current', admin_status: 'active' });
    const down = await cli('router', 'list', '--json');
    expect(['degraded', 'offline']).toContain(down.json.data[0].status);

    lab.faults.refuseConnections = false;
    const t0 = Date.now();
    // Not by the hourly poll: the reachability probe (or the next health check) brings it back.
    await eventually(() => lab.state.menu('/ppp/secret').list().find((x) => x.name === 'carlo')?.password === 'carlo-new-pa55', 60_000, 'applied after the router came back');
    console.info(`[daemon] queued work applied ${Date.now() - t0} ms after the router came back`);
    // The reachability probe may bring the work back before the next health check; the health
    // check then sees the router online too.
    await eventually(() => procs.some((p) => p.lines.some((l) => l.task === 'health' && /^Router lab: (degraded|offline) → online/.test(String(l.message)))), 60_000, 'health sees it online');
    expect((await cli('router', 'list', '--json')).json.data[0].status).toBe('online');
  });

  it('kill -9 of the leader: the other leads, and daemon status shows it', async () => {
    const before = await status();
    const leaderName = before.leader!.name;
    const leader = procs.find((p) => p.lines.some((l) => /Started on PostgreSQL as (\S+)/.exec(String(l.message))?.[1] === leaderName))!;
    const other = procs.find((p) => p !== leader)!;
    const t0 = Date.now();
    leader.child.kill('SIGKILL');
    await leader.exited;
    await other.waitFor((l) => l.task === 'daemon' && l.message === 'Now the leader: running the scheduled work');
    console.info(`[daemon] leadership handed over ${Date.now() - t0} ms after kill -9`);
    const after = await eventually(async () => {
      const s = await status();
      return s.leader && s.leader.name !== leaderName && s.instances.find((i) => i.name === leaderName)?.state === 'gone' ? s : undefined;
    }, 60_000, 'status shows the new leader and the old one gone');
    expect(after.running).toBe(true);
    // Nothing was done twice by the new leader.
    expect((await sql(`select count(*)::int as n from schedule_run_history where schedule = 'billing'`))[0].n).toBe(1);
    expect((await sql(`select count(*)::int as n from invoices`))[0].n).toBe(3);
  });

  it('SIGTERM: finishes, releases the lock, exits 0', async () => {
    const alive = procs.filter((p) => p.child.exitCode === null && p.child.signalCode === null);
    expect(alive).toHaveLength(1);
    alive[0]!.child.kill('SIGTERM');
    expect(await alive[0]!.exited).toEqual({ code: 0, signal: null });
    expect(alive[0]!.lines.some((l) => l.message === 'Stopped (leadership released)')).toBe(true);
    const s = await status();
    expect(s.running).toBe(false);
    expect(s.leader).toBeNull();
  });
});

describe('kill -9 in the middle of billing 10,000 subscribers', () => {
  const N = 10_000;
  const tmp = mkdtempSync(join(tmpdir(), 'ispctl-daemon-kill-'));
  let database: { url: string; drop(): Promise<void> };
  let pool: pg.Pool;
  const env = () => ({ DATABASE_URL: database.url, ISPCTL_DATA_DIR: join(tmp, 'data'), ISPCTL_CONFIG_DIR: join(tmp, 'config'), ISPCTL_NOW: BILLING_DAY, ISPCTL_SECRET_KEY: SECRET_KEY });
  const sql = async (text: string, values: unknown[] = []) => (await pool.query(text, values)).rows;

  beforeAll(async () => {
    database = await createPgDatabase('ispctl_daemon_kill');
    pool = new pg.Pool({ connectionString: database.url, max: 2 });
    pool.on('error', () => undefined); // clients ended by the database drop at the end
    const init = await runCli(['init', '--isp-name', 'Big Net', '--currency', 'PHP', '--timezone', 'Asia/Manila', '--billing-day', '1', '--yes'], { env: env() });
    expect(init.code, init.stderr).toBe(0);
    // Set-based seed: one router (nothing listens on its port), a plan, N subscribers with one active service each.
    const [router] = await sql(
      `insert into routers (name, host, api_port, api_user, api_password_enc, radius_secret_enc) values ('core1', '127.0.0.1', 9, 'admin', $1, 'unused') returning id`,
      [encryptSecret('pw', Buffer.from(SECRET_KEY, 'hex'))],
    );
    const [plan] = await sql(`insert into plans (name, price_minor, currency, download_kbps, upload_kbps) values ('Fiber 50', 150000, 'PHP', 50000, 20000) returning id`);
    await sql(`insert into subscribers (full_name) select 'Subscriber ' || g from generate_series(1, $1::int) g`, [N]);
    await sql(
      `insert into services (subscriber_id, plan_id, router_id, username, password, started_on, access_state, access_reason, rate_limit)
       select id, $1, $2, 'user' || id, 'pw' || id, date '2026-10-01', 'active', 'ok', '20M/50M' from subscribers`,
      [plan.id, router.id],
    );
    await sql('analyze');
  });

  afterAll(async () => {
    await pool?.end();
    await database?.drop();
    rmSync(tmp, { recursive: true, force: true });
  });

  it('restart leaves exactly one invoice each', async () => {
    const d = startDaemon(env());
    try {
      await d.waitFor((l) => l.task === 'billing' && /^Generating invoices for 2026-12/.test(String(l.message)));
      // Inside the billing transaction: it holds billing's advisory lock for the period.
      await eventually(async () => (await sql(`select count(*)::int as n from pg_locks where locktype = 'advisory' and classid = 7401 and granted`))[0].n > 0, 30_000, 'billing transaction open');
      d.child.kill('SIGKILL');
      expect((await d.exited).signal).toBe('SIGKILL');
    } finally {
      await stopAll([d]);
    }
    // Killed before the run was recorded as finished: status calls it interrupted.
    expect((await sql(`select last_outcome from schedule_runs where schedule = 'billing'`))[0].last_outcome).toBe('running');
    // One transaction: nothing of the interrupted run is left.
    const afterKill = (await sql(`select count(*)::int as n from invoices`))[0].n;
    expect(afterKill).toBe(0);
    const st = await runCli(['daemon', 'status', '--json'], { env: env() });
    expect(st.json.data.schedules.find((s: { schedule: string }) => s.schedule === 'billing').outcome).toBe('interrupted');

    const again = await runCli(['daemon', '--once', '--json'], { env: env() });
    expect(again.code, again.stderr).toBe(0);
    const billing = again.json.data.tasks.find((t: { schedule: string }) => t.schedule === 'billing');
    expect(billing.outcome).toBe('ok');
    expect(billing.summary.invoices + afterKill).toBe(N);

    const [c] = await sql(`select count(*)::int as invoices, count(distinct subscriber_id)::int as subscribers, sum(total_minor)::bigint::text as total from invoices where period_key = '2026-12'`);
    expect(c).toEqual({ invoices: N, subscribers: N, total: String(150000n * BigInt(N)) });
    const dup = await sql(`select service_id from invoice_lines where not voided group by service_id, period_key having count(*) > 1 limit 1`);
    expect(dup).toEqual([]);
    // And a third run adds nothing.
    const third = await runCli(['daemon', '--once', '--json'], { env: env() });
    expect(third.json.data.tasks.find((t: { schedule: string }) => t.schedule === 'billing').outcome).toBe('skipped');
    expect((await sql(`select count(*)::int as n from invoices`))[0].n).toBe(N);
  });
});
