// The lab router as a PPPoE NAS against a real FreeRADIUS reading the stock schema in a real
// PostgreSQL: dials in RADIUS mode, accounting rows in radacct, radclient's Disconnect-Request
// and CoA-Request answered by the lab's /radius incoming; and API mode with local secrets.
// Everything is configured the way ispctl does it: over the RouterOS API.
import { randomBytes } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { detectFreeRadiusConfigDir } from '../../src/core/provisioning/radius/freeradius-config.js';
import { RouterOSClient, q } from '../../src/core/routeros/index.js';
import { DialRejectedError, type LabRouter, startLabRouter } from '../../src/lab/index.js';
import { radclient, startFreeRadius, type FreeRadiusInstance } from '../helpers/freeradius.js';
import { eventually } from '../helpers/wait.js';

const SECRET = 'lab-nas-s3cret';
const sourceDir = detectFreeRadiusConfigDir();

async function withClient<T>(url: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

function freeUdpPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createSocket('udp4');
    s.once('error', reject);
    s.bind(0, '127.0.0.1', () => {
      const port = s.address().port;
      s.close(() => resolve(port));
    });
  });
}

async function refused(p: Promise<unknown>): Promise<DialRejectedError> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(DialRejectedError);
    return e as DialRejectedError;
  }
  throw new Error('expected the dial to be refused');
}

describe.skipIf(!sourceDir)('lab NAS in RADIUS mode against FreeRADIUS', () => {
  const adminUrl = inject('pgAdminUrl');
  const database = `ispctl_labnas_${randomBytes(4).toString('hex')}`;
  let url: string;
  let radius: FreeRadiusInstance;
  let router: LabRouter;
  let api: RouterOSClient;
  let incomingPort: number;

  const radacct = (acctSessionId: string) =>
    withClient(url, async (c) => (await c.query(`SELECT * FROM radacct WHERE acctsessionid = $1`, [acctSessionId])).rows);

  beforeAll(async () => {
    await withClient(adminUrl, (c) => c.query(`CREATE DATABASE ${database}`));
    const u = new URL(adminUrl);
    u.pathname = `/${database}`;
    url = u.toString();
    const schema = await readFile(join(sourceDir!, 'mods-config/sql/main/postgresql/schema.sql'), 'utf8');
    await withClient(url, async (c) => {
      await c.query(schema);
      await c.query(`INSERT INTO nas (nasname, shortname, type, secret) VALUES ('127.0.0.1', 'lab-router', 'other', $1)`, [SECRET]);
      await c.query(`INSERT INTO radcheck (username, attribute, op, value) VALUES ('alice', 'Cleartext-Password', ':=', 'pa55-word')`);
      await c.query(
        `INSERT INTO radreply (username, attribute, op, value) VALUES
           ('alice', 'Mikrotik-Rate-Limit', ':=', '10M/50M'),
           ('alice', 'Framed-IP-Address', ':=', '10.0.0.5')`,
      );
      // Bulk users: no Framed-IP-Address, so they get the default profile's pool.
      await c.query(
        `INSERT INTO radcheck (username, attribute, op, value)
           SELECT 'bulk' || g, 'Cleartext-Password', ':=', 'pw' || g FROM generate_series(1, 1000) g`,
      );
      await c.query(
        `INSERT INTO radreply (username, attribute, op, value)
           SELECT 'bulk' || g, 'Mikrotik-Rate-Limit', ':=', '2M/8M' FROM generate_series(1, 1000) g`,
      );
    });
    radius = await startFreeRadius({
      db: {
        host: u.hostname,
        port: Number(u.port),
        user: decodeURIComponent(u.username),
        ...(u.password ? { password: decodeURIComponent(u.password) } : {}),
        database,
      },
    });

    router = await startLabRouter({ adminPassword: 'lab-admin', identity: 'lab-router', nas: { nasAddress: '127.0.0.1' } });
    api = await RouterOSClient.connect({ host: '127.0.0.1', port: router.port, user: 'admin', password: 'lab-admin', timeoutMs: 10_000 });
    incomingPort = await freeUdpPort();
    // What ispctl does to a router in RADIUS mode.
    await api.write('/radius/add', {
      service: 'ppp',
      address: '127.0.0.1',
      secret: SECRET,
      'authentication-port': radius.authPort,
      'accounting-port': radius.acctPort,
      timeout: '3s',
    });
    await api.write('/ppp/aaa/set', { 'use-radius': true, accounting: true, 'interim-update': '1s' });
    await api.write('/radius/incoming/set', { accept: true, port: incomingPort });
    await router.nas!.settled();
    expect(router.nas!.incomingPort()).toBe(incomingPort);
  });

  afterAll(async () => {
    await api?.close();
    await router?.close();
    await radius?.stop();
    await withClient(adminUrl, (c) => c.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`));
  });

  it('a dial is accepted with the address and rate from FreeRADIUS; radacct gets Start, Interim and Stop', async () => {
    const s = await router.nas!.dial({ username: 'alice', password: 'pa55-word', callerId: 'AA:BB:CC:00:11:22' });
    expect(s).toMatchObject({ address: '10.0.0.5', rateLimit: '10M/50M', radius: true });

    const [active] = (await api.write('/ppp/active/print', {}, { query: [q.eq('name', 'alice')] })).rows;
    expect(active).toMatchObject({ name: 'alice', address: '10.0.0.5', 'caller-id': 'AA:BB:CC:00:11:22', radius: 'true', 'session-id': s.sessionId });
    const [queue] = (await api.write('/queue/simple/print', {}, { query: [q.eq('name', '<pppoe-alice>')] })).rows;
    // max-limit is upload/download from the subscriber's side, as Mikrotik-Rate-Limit is rx/tx.
    expect(queue).toMatchObject({ target: '<pppoe-alice>', 'max-limit': '10000000/50000000', dynamic: 'true' });

    const start = await eventually(async () => (await radacct(s.acctSessionId))[0]);
    expect(start).toMatchObject({
      username: 'alice',
      nasipaddress: '127.0.0.1',
      nasportid: 'ether2',
      nasporttype: 'Ethernet',
      framedipaddress: '10.0.0.5',
      callingstationid: 'AA:BB:CC:00:11:22',
      acctauthentic: 'RADIUS',
      acctstoptime: null,
    });

    router.nas!.addTraffic(s.id, 123_456, 9_876_543);
    const interim = await eventually(async () => {
      const row = (await radacct(s.acctSessionId))[0];
      return row?.acctupdatetime && Number(row.acctoutputoctets) === 9_876_543 ? row : undefined;
    }, 5000);
    expect(interim.acctstoptime).toBeNull();
    expect(Number(interim.acctinputoctets)).toBe(123_456);

    await router.nas!.hangup(s.id);
    const [stopped] = await radacct(s.acctSessionId);
    expect(stopped.acctstoptime).toBeInstanceOf(Date);
    expect(stopped.acctterminatecause).toBe('User-Request');
    expect(Number(stopped.acctsessiontime)).toBeGreaterThanOrEqual(1);
    expect(await radacct(s.acctSessionId)).toHaveLength(1);
    expect((await api.write('/ppp/active/print')).empty).toBe(true);
  });

  it('PAP works too; a wrong password or an unknown user is rejected', async () => {
    const s = await router.nas!.dial({ username: 'alice', password: 'pa55-word', auth: 'pap' });
    expect(s.address).toBe('10.0.0.5');
    await router.nas!.hangup(s.id);
    expect((await refused(router.nas!.dial({ username: 'alice', password: 'wrong', auth: 'pap' }))).reason).toBe('radius-reject');
    expect((await refused(router.nas!.dial({ username: 'alice', password: 'wrong' }))).reason).toBe('radius-reject');
    expect((await refused(router.nas!.dial({ username: 'mallory', password: 'x' }))).reason).toBe('radius-reject');
    const posts = await withClient(url, async (c) => (await c.query(`SELECT reply FROM radpostauth WHERE username = 'alice'`)).rows);
    expect(posts.map((r) => r.reply)).toEqual(expect.arrayContaining(['Access-Accept', 'Access-Reject']));
  });

  it('radclient Disconnect-Request drops the session and closes its radacct row', async () => {
    const s = await router.nas!.dial({ username: 'alice', password: 'pa55-word' });
    await eventually(async () => (await radacct(s.acctSessionId))[0]);
    const res = await radclient(
      `127.0.0.1:${incomingPort}`,
      'disconnect',
      SECRET,
      `User-Name = "alice", Acct-Session-Id = "${s.acctSessionId}", Message-Authenticator = 0x00`,
    );
    expect(res.stdout).toMatch(/Received Disconnect-ACK/);
    expect(res.code).toBe(0);
    expect((await api.write('/ppp/active/print', {}, { query: [q.eq('name', 'alice')] })).rows).toEqual([]);
    expect((await api.write('/queue/simple/print', {}, { query: [q.eq('name', '<pppoe-alice>')] })).rows).toEqual([]);
    const row = await eventually(async () => {
      const r = (await radacct(s.acctSessionId))[0];
      return r?.acctstoptime ? r : undefined;
    });
    expect(row.acctterminatecause).toBe('NAS-Request');
  });

  it('radclient CoA changes the rate limit live; an unknown session gets a NAK with Error-Cause 503', async () => {
    const s = await router.nas!.dial({ username: 'alice', password: 'pa55-word' });
    const coa = await radclient(
      `127.0.0.1:${incomingPort}`,
      'coa',
      SECRET,
      `User-Name = "alice", Acct-Session-Id = "${s.acctSessionId}", Framed-IP-Address = 10.0.0.5, Mikrotik-Rate-Limit = "5M/20M", Message-Authenticator = 0x00`,
    );
    expect(coa.stdout).toMatch(/Received CoA-ACK/);
    const [queue] = (await api.write('/queue/simple/print', {}, { query: [q.eq('name', '<pppoe-alice>')] })).rows;
    expect(queue!['max-limit']).toBe('5000000/20000000');

    const unknown = await radclient(
      `127.0.0.1:${incomingPort}`,
      'coa',
      SECRET,
      `User-Name = "alice", Acct-Session-Id = "00000bad", Mikrotik-Rate-Limit = "1M/1M", Message-Authenticator = 0x00`,
    );
    expect(unknown.stdout).toMatch(/Received CoA-NAK/);
    expect(unknown.stdout).toMatch(/Error-Cause = Session-Context-Not-Found/);
    // The NAK changed nothing.
    const [still] = (await api.write('/queue/simple/print', {}, { query: [q.eq('name', '<pppoe-alice>')] })).rows;
    expect(still!['max-limit']).toBe('5000000/20000000');

    const wrongSecret = await radclient(
      `127.0.0.1:${incomingPort}`,
      'disconnect',
      'not-the-secret',
      `User-Name = "alice", Acct-Session-Id = "${s.acctSessionId}", Message-Authenticator = 0x00`,
      ['-r', '1', '-t', '0.5'],
    );
    expect(wrongSecret.stdout).not.toMatch(/Received/);
    expect(router.nas!.session(s.id)).toBeDefined();
    await router.nas!.hangup(s.id);
  });

  it('/ppp/active/remove over the API sends one Stop (Admin-Reset)', async () => {
    const s = await router.nas!.dial({ username: 'alice', password: 'pa55-word' });
    await eventually(async () => (await radacct(s.acctSessionId))[0]);
    await api.write('/ppp/active/remove', { '.id': s.id });
    await router.nas!.settled();
    const [row] = await radacct(s.acctSessionId);
    expect(row.acctterminatecause).toBe('Admin-Reset');
    expect(row.acctstoptime).toBeInstanceOf(Date);
  });

  it('dials 1,000 subscribers at once through FreeRADIUS', async () => {
    await api.write('/ip/pool/add', { name: 'bulk', ranges: '100.64.0.1-100.64.3.254' });
    await api.write('/ppp/profile/set', { '.id': 'default', 'remote-address': 'bulk' });
    await api.write('/ppp/aaa/set', { 'interim-update': '0s' });
    // FreeRADIUS in debug mode handles one request at a time: give queued ones time.
    const [entry] = (await api.write('/radius/print')).rows;
    await api.write('/radius/set', { '.id': entry!['.id']!, timeout: '10s' });
    const t0 = performance.now();
    const sessions = await Promise.all(Array.from({ length: 1000 }, (_, i) => router.nas!.dial({ username: `bulk${i + 1}`, password: `pw${i + 1}` })));
    // How long, for the record (bench/scaling.mjs measures the NAS's dial rate).
    console.info(`[lab-nas] 1,000 dials through FreeRADIUS in ${(performance.now() - t0).toFixed(0)} ms`);
    expect(new Set(sessions.map((s) => s.address)).size).toBe(1000);
    expect(sessions.every((s) => s.rateLimit === '2M/8M')).toBe(true);
    expect(await api.write('/ppp/active/print', { 'count-only': '' }).then((r) => r.ret)).toBe('1000');
    await router.nas!.settled();
    const open = await withClient(url, async (c) => (await c.query(`SELECT count(*)::int AS n FROM radacct WHERE username LIKE 'bulk%' AND acctstoptime IS NULL`)).rows[0].n);
    expect(open).toBe(1000);
    await Promise.all(sessions.map((s) => router.nas!.hangup(s.id)));
    const closed = await withClient(url, async (c) => (await c.query(`SELECT count(*)::int AS n FROM radacct WHERE username LIKE 'bulk%' AND acctstoptime IS NOT NULL`)).rows[0].n);
    expect(closed).toBe(1000);
  });
});

describe('lab NAS in API mode (local secrets), configured over the API', () => {
  let router: LabRouter;
  let api: RouterOSClient;

  beforeAll(async () => {
    router = await startLabRouter({ adminPassword: 'lab-admin', nas: true });
    api = await RouterOSClient.connect({ host: '127.0.0.1', port: router.port, user: 'admin', password: 'lab-admin' });
  });

  afterAll(async () => {
    await api?.close();
    await router?.close();
  });

  it('a secret with a profile rate limit and a pool dials in with a pool address and its rate', async () => {
    await api.write('/ip/pool/add', { name: 'pppoe-pool', ranges: '10.50.0.2-10.50.0.254' });
    await api.write('/ppp/profile/add', { name: 'fiber-50', 'rate-limit': '10M/50M', 'remote-address': 'pppoe-pool', 'local-address': '10.50.0.1' });
    await api.write('/ppp/secret/add', { name: 'carol', password: 'c4rol', profile: 'fiber-50', service: 'pppoe', comment: 'ispctl:svc=1' });
    const s = await router.nas!.dial({ username: 'carol', password: 'c4rol' });
    expect(s).toMatchObject({ address: '10.50.0.2', rateLimit: '10M/50M', radius: false });
    const [active] = (await api.write('/ppp/active/print')).rows;
    expect(active).toMatchObject({ name: 'carol', address: '10.50.0.2', radius: 'false' });
    const [queue] = (await api.write('/queue/simple/print')).rows;
    expect(queue).toMatchObject({ name: '<pppoe-carol>', 'max-limit': '10000000/50000000', dynamic: 'true' });
  });

  it('a disabled secret is refused; enabling it lets the subscriber in', async () => {
    const id = (await api.write('/ppp/secret/add', { name: 'dave', password: 'd4ve', profile: 'fiber-50', disabled: true })).ret!;
    expect((await refused(router.nas!.dial({ username: 'dave', password: 'd4ve' }))).reason).toBe('secret-disabled');
    await api.write('/ppp/secret/enable', { '.id': id });
    expect((await router.nas!.dial({ username: 'dave', password: 'd4ve' })).address).toBe('10.50.0.3');
    // Disabling a secret does not drop a live session; removing it from /ppp/active does.
    await api.write('/ppp/secret/disable', { '.id': id });
    const [live] = (await api.write('/ppp/active/print', {}, { query: [q.eq('name', 'dave')] })).rows;
    await api.write('/ppp/active/remove', { '.id': live!['.id']! });
    expect((await refused(router.nas!.dial({ username: 'dave', password: 'd4ve' }))).reason).toBe('secret-disabled');
  });
});
