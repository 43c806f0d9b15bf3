// Scale-out on existing engines (docs/scale-out.md): a PostgreSQL primary with a streaming
// replica (pg_basebackup -R), two real FreeRADIUS written by `ispctl radius config
// --radius-auth-db-url` (authorize from the replica, accounting and post-auth to the primary) and
// two daemons on the primary. Setup and the money steps go through the core services in-process;
// the binary is run where it is the subject (radius config, daemon). Build first.
import { createServer, type Server } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import knexFactory, { type Knex } from 'knex';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateInvoices } from '../../src/core/billing/generate.js';
import { FixedClock } from '../../src/core/clock.js';
import { runCollections } from '../../src/core/collections/run.js';
import type { ServiceContext } from '../../src/core/context.js';
import { openDatabase, type Database } from '../../src/core/db/connection.js';
import { migrateLatest } from '../../src/core/db/migrate.js';
import { recordPayment } from '../../src/core/payments/service.js';
import { createPlan } from '../../src/core/plans/service.js';
import { detectFreeRadiusConfigDir } from '../../src/core/provisioning/radius/freeradius-config.js';
import { addRouter, revealRouterSecret } from '../../src/core/routers/service.js';
import { initialise } from '../../src/core/settings/init.js';
import { setSettings } from '../../src/core/settings/service.js';
import { addSubscriber } from '../../src/core/subscribers/service.js';
import { runCli } from '../helpers/cli.js';
import { freeUdpPort, radclient, startFreeRadius, type FreeRadiusInstance } from '../helpers/freeradius.js';
import { startPgCluster, type PgCluster } from '../helpers/pg-cluster.js';
import { startPgReplica, type PgReplica } from '../helpers/pg-replica.js';
import { eventually } from '../helpers/wait.js';
import { startDaemon, type DaemonProcess } from '../faults/helpers.js';

const sourceDir = detectFreeRadiusConfigDir();
const SECRET_KEY = 'd4'.repeat(32);
const PEOPLE = ['ana', 'ben', 'cora'] as const;

describe.skipIf(!sourceDir)('scale-out: primary + streaming replica, two FreeRADIUS, two daemons', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'ispctl-scale-out-'));
  let primary: PgCluster;
  let replica: PgReplica;
  let db: Database;
  let ctx: ServiceContext;
  let clock: FixedClock;
  let onPrimary: Knex;
  let onReplica: Knex;
  let primaryUrl: string;
  let replicaUrl: string;
  let nasSecret: string;
  let gateway: Server;
  const sms: Array<{ to: string; text: string }> = [];
  const radius: FreeRadiusInstance[] = [];
  const daemons: DaemonProcess[] = [];

  const auth = async (fr: FreeRadiusInstance, user: string) => {
    const r = await radclient(`127.0.0.1:${fr.authPort}`, 'auth', nasSecret, `User-Name="${user}",User-Password="${user}-pa55",NAS-IP-Address=127.0.0.1`);
    const code = /Received (Access-\w+)/.exec(r.stdout)?.[1] ?? `no answer (${r.stderr.trim()})`;
    const rate = /Mikrotik-Rate-Limit = "([^"]+)"/.exec(r.stdout)?.[1];
    return rate ? `${code} ${rate}` : code;
  };
  const both = (user: string) => Promise.all(radius.map((fr) => auth(fr, user)));
  /**
   * The replica has replayed everything the primary has committed so far. The insert position,
   * not pg_current_wal_lsn (how far WAL is written out): the test cluster commits asynchronously
   * (synchronous_commit=off), so a commit that has returned can still be in the WAL buffers,
   * beyond the written position, and a replica that replayed up to that position may not have it.
   */
  const caughtUp = async () => {
    const lsn = String((await onPrimary.raw('select pg_current_wal_insert_lsn()::text as lsn')).rows[0].lsn);
    await eventually(async () => (await onReplica.raw('select pg_last_wal_replay_lsn() >= ?::pg_lsn as ok', [lsn])).rows[0].ok === true, 60_000, 'replica caught up');
  };

  beforeAll(async () => {
    primary = await startPgCluster();
    const admin = knexFactory({ client: 'pg', connection: primary.url, pool: { min: 0, max: 1 } });
    await admin.raw('create database ispctl');
    await admin.destroy();
    primaryUrl = primary.url.replace(/\/postgres$/, '/ispctl');
    db = await openDatabase({ engine: 'postgres', url: primaryUrl });
    await migrateLatest(db.knex);
    onPrimary = db.knex;
    clock = new FixedClock('2026-10-01T02:00:00Z');
    ctx = { db: db.knex, engine: 'postgres', clock, actor: { user: 'tester', command: 'ispctl test' }, env: { ISPCTL_SECRET_KEY: SECRET_KEY } };
    await initialise(ctx, { values: { 'isp-name': 'Scale Net', currency: 'PHP', timezone: 'Asia/Manila', 'billing-day': 1, 'due-days': 15 } });
    // RADIUS mode; its CoA port and API answer nothing here (router work stays queued, harmlessly).
    await addRouter(ctx, { name: 'core1', host: '127.0.0.1', apiPort: 9, apiUser: 'admin', apiPassword: 'pw', mode: 'radius', nasAddress: '127.0.0.1', coaPort: 9 });
    nasSecret = (await revealRouterSecret(ctx, 'core1', 'radius')).secret;
    await createPlan(ctx, { name: 'Fiber 50', price: '1,500.00', download: '50M', upload: '10M' });
    for (const [i, u] of PEOPLE.entries()) {
      await addSubscriber(ctx, { fullName: `Subscriber ${u}`, username: u, password: `${u}-pa55`, phone: `+63917000000${i}`, plan: 'Fiber 50', router: 'core1' });
    }
    // An SMS gateway that counts what it is sent.
    gateway = createServer((req, res) => {
      let body = '';
      req.on('data', (d: Buffer) => (body += d.toString('utf8')));
      req.on('end', () => {
        sms.push(JSON.parse(body) as { to: string; text: string });
        res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
      });
    });
    await new Promise<void>((r) => gateway.listen(0, '127.0.0.1', r));
    const gwPort = (gateway.address() as { port: number }).port;
    await setSettings(ctx, { 'notify-channels': 'sms', 'sms-url': `http://127.0.0.1:${gwPort}/sms`, 'notify-interval-seconds': 5 });

    replica = await startPgReplica(primary.port);
    replicaUrl = replica.url.replace(/\/postgres$/, '/ispctl');
    onReplica = knexFactory({ client: 'pg', connection: replicaUrl, pool: { min: 0, max: 2 } });
  });

  afterAll(async () => {
    await Promise.all(daemons.map((d) => d.stop()));
    await Promise.all(radius.map((fr) => fr.stop()));
    await new Promise((r) => (gateway ? gateway.close(r) : r(undefined)));
    await onReplica?.destroy();
    await db?.close();
    replica?.stop();
    primary?.stop();
    rmSync(tmp, { recursive: true, force: true });
  });

  it('ispctl radius config writes two FreeRADIUS that read the replica and write the primary', async () => {
    const env = { DATABASE_URL: primaryUrl, ISPCTL_SECRET_KEY: SECRET_KEY, ISPCTL_DATA_DIR: join(tmp, 'data'), ISPCTL_CONFIG_DIR: join(tmp, 'config') };
    const ports: number[] = [];
    for (let k = 0; k < 4; k++) ports.push(await freeUdpPort(ports));
    const written = await Promise.all(
      [0, 1].map((k) =>
        runCli(
          ['radius', 'config', '--out', join(tmp, `raddb${k}`), '--listen', '127.0.0.1', '--auth-port', String(ports[2 * k]), '--acct-port', String(ports[2 * k + 1]),
            '--radius-auth-db-url', replicaUrl, '--run-as-current-user', '--json'],
          { env },
        ),
      ),
    );
    for (const r of written) {
      expect(r.code, r.stdout + r.stderr).toBe(0);
      expect(r.json.data).toMatchObject({
        database: { host: '127.0.0.1', port: primary.port, database: 'ispctl' },
        authDatabase: { host: '127.0.0.1', port: replica.port, database: 'ispctl', instance: 'sql_authorize' },
        routers: [{ name: 'core1', nasAddress: '127.0.0.1' }],
      });
    }
    radius.push(...(await Promise.all([0, 1].map((k) => startFreeRadius({ configDir: join(tmp, `raddb${k}`), listen: { authPort: ports[2 * k]!, acctPort: ports[2 * k + 1]! } })))));
    await caughtUp();
    expect(await both('ana')).toEqual(['Access-Accept 10M/50M', 'Access-Accept 10M/50M']);
  });

  it('a subscriber added on the primary is authenticated by both once the replica has it, and not before', async () => {
    // Replay paused: the primary has the new subscriber, the replica not yet.
    await onReplica.raw('select pg_wal_replay_pause()');
    await addSubscriber(ctx, { fullName: 'Subscriber dan', username: 'dan', password: 'dan-pa55', phone: '+639170000009', plan: 'Fiber 50', router: 'core1' });
    expect((await onPrimary.raw(`select count(*)::int as n from radcheck where username = 'dan'`)).rows[0].n).toBeGreaterThan(0);
    await eventually(async () => (await onReplica.raw('select pg_get_wal_replay_pause_state() as s')).rows[0].s === 'paused', 30_000, 'replay paused');
    expect(await both('dan')).toEqual(['Access-Reject', 'Access-Reject']);
    await onReplica.raw('select pg_wal_replay_resume()');
    await caughtUp();
    expect(await both('dan')).toEqual(['Access-Accept 10M/50M', 'Access-Accept 10M/50M']);
  });

  it('accounting and post-auth from both land on the primary', async () => {
    for (const [k, fr] of radius.entries()) {
      const r = await radclient(`127.0.0.1:${fr.acctPort}`, 'acct', nasSecret, `User-Name="dan",Acct-Status-Type=Start,Acct-Session-Id="scale-${k}",NAS-IP-Address=127.0.0.1,Framed-IP-Address=10.0.0.${10 + k}`);
      expect(r.stdout).toMatch(/Received Accounting-Response/);
    }
    const sessions = await onPrimary.raw(`select acctsessionid, host(framedipaddress) as ip from radacct where username = 'dan' order by acctsessionid`);
    expect(sessions.rows).toEqual([
      { acctsessionid: 'scale-0', ip: '10.0.0.10' },
      { acctsessionid: 'scale-1', ip: '10.0.0.11' },
    ]);
    // Two accepts and two rejects per FreeRADIUS for dan, logged on the primary.
    const postAuth = await onPrimary.raw(`select reply, count(*)::int as n from radpostauth where username = 'dan' group by reply order by reply`);
    expect(postAuth.rows).toEqual([
      { reply: 'Access-Accept', n: 2 },
      { reply: 'Access-Reject', n: 2 },
    ]);
  });

  it('unpaid past grace: suspended for both; a payment on the primary restores ana on both', async () => {
    clock.set('2026-11-01T08:00:00+08:00');
    await generateInvoices(ctx);
    clock.set('2026-11-25T09:00:00+08:00');
    const run = await runCollections(ctx);
    expect(run.suspended.length).toBe(4);
    await caughtUp();
    expect(await both('ana')).toEqual(['Access-Reject', 'Access-Reject']);
    const paid = await recordPayment(ctx, { subscriber: 'ana', amount: '1500', method: 'cash', reference: 'OR-1' });
    expect(paid.payment.amountMinor).toBe(150000n);
    await caughtUp();
    // Restored on both, at the first look once the replica has the payment's commit.
    expect(await both('ana')).toEqual(['Access-Accept 10M/50M', 'Access-Accept 10M/50M']);
    expect(await both('ben')).toEqual(['Access-Reject', 'Access-Reject']);
  });

  it('a command or a daemon pointed at the replica is told to use the primary, and changes nothing', async () => {
    const env = { DATABASE_URL: replicaUrl, ISPCTL_SECRET_KEY: SECRET_KEY, ISPCTL_DATA_DIR: join(tmp, 'data'), ISPCTL_CONFIG_DIR: join(tmp, 'config') };
    const [payment, daemon] = await Promise.all([
      runCli(['payment', 'record', '--subscriber', 'ben', '--amount', '1500', '--method', 'cash', '--json'], { env }),
      runCli(['daemon', '--once', '--instance-name', 'on-replica'], { env }),
    ]);
    expect(payment.code, payment.stdout + payment.stderr).toBe(1);
    expect(payment.json.error.code).toBe('DATABASE_READ_ONLY');
    expect(daemon.code, daemon.stdout + daemon.stderr).toBe(1);
    expect(daemon.stderr).toMatch(/read-only \(a standby replica/);
    expect((await onPrimary.raw(`select count(*)::int as n from payments`)).rows[0].n).toBe(1);
    expect((await onPrimary.raw(`select count(*)::int as n from daemon_instances`)).rows[0].n).toBe(0);
  });

  it('two daemons on the primary: one billing run, one invoice per service, every message sent once', async () => {
    const pending = Number((await onPrimary.raw(`select count(*)::int as n from notifications where status = 'pending'`)).rows[0].n);
    expect(pending).toBeGreaterThan(0);
    const env = { DATABASE_URL: primaryUrl, ISPCTL_SECRET_KEY: SECRET_KEY, ISPCTL_NOW: '2026-12-01T09:00:00+08:00', ISPCTL_ROUTER_TIMEOUT: '1', ISPCTL_DATA_DIR: join(tmp, 'data'), ISPCTL_CONFIG_DIR: join(tmp, 'config') };
    daemons.push(startDaemon({ ...env, ISPCTL_INSTANCE_NAME: 'noc-a' }), startDaemon({ ...env, ISPCTL_INSTANCE_NAME: 'noc-b' }));
    await eventually(async () => (await onPrimary.raw(`select last_outcome from schedule_runs where schedule = 'billing'`)).rows[0]?.last_outcome === 'ok', 60_000, 'billing done');
    await eventually(async () => Number((await onPrimary.raw(`select count(*)::int as n from notifications where status in ('pending', 'sending')`)).rows[0].n) === 0, 60_000, 'messages sent');
    const logs = daemons.map((d) => d.output());
    const codes = await Promise.all(daemons.splice(0).map((d) => d.stop()));
    // One leader ran the schedules; the other followed.
    expect(logs.filter((l) => l.includes('Now the leader')).length, logs.join('\n---\n').slice(-4000)).toBe(1);
    expect(codes).toEqual([0, 0]);

    const perService = await onPrimary.raw(`select period_key, count(*)::int as lines, count(distinct service_id)::int as services from invoice_lines where not voided group by 1 order by 1`);
    // December bills the one service in good standing (ana paid); the suspended are not billed.
    expect(perService.rows).toEqual([
      { period_key: '2026-11', lines: 4, services: 4 },
      { period_key: '2026-12', lines: 1, services: 1 },
    ]);
    expect((await onPrimary.raw(`select count(*)::int as n from schedule_run_history where schedule = 'billing'`)).rows[0].n).toBe(1);
    const sent = (await onPrimary.raw(`select recipient as to, body as text, attempts from notifications where status = 'sent' order by id`)).rows as Array<{ to: string; text: string; attempts: number }>;
    // Suspension notices queued on 25 November held their suspensions; on 1 December their hold is
    // long past, so the outbox gives them up (failed) rather than send them late. The rest go.
    expect(sent.length).toBeGreaterThan(0);
    const given = (await onPrimary.raw(`select distinct template from notifications where status = 'failed'`)).rows as Array<{ template: string }>;
    expect(given.every((r) => r.template === 'suspension')).toBe(true);
    expect(sent.every((m) => m.attempts === 1)).toBe(true);
    const key = (m: { to: string; text: string }) => `${m.to}\u0000${m.text}`;
    expect(sms.map(key).sort()).toEqual(sent.map(key).sort());
  });
});
