// RADIUS mode end to end, as a technician does it: the built `ispctl` on a fresh (migrated) PostgreSQL
// database, a real FreeRADIUS running the configuration `ispctl radius config` wrote (as its own
// PostgreSQL role, with the grants docs/radius-mode.md gives), and the lab router as the MikroTik:
// dials go through FreeRADIUS; suspension, resumption and a plan speed change reach live sessions
// by Disconnect-Request and CoA that the lab router acknowledges; with the router unreachable
// the change is saved and queued (exit 3) and applied once when it is back. Build first.
import { randomBytes } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { detectFreeRadiusConfigDir } from '../../src/core/provisioning/radius/freeradius-config.js';
import { RouterOSClient, q } from '../../src/core/routeros/index.js';
import { DialRejectedError, startLabRouter, type LabRouter, type LabSession } from '../../src/lab/index.js';
import { runCli } from '../helpers/cli.js';
import { createPgDatabase } from '../helpers/db.js';
import { startFreeRadius, type FreeRadiusInstance } from '../helpers/freeradius.js';
import { eventually } from '../helpers/wait.js';

const sourceDir = detectFreeRadiusConfigDir();
const LAB_PW = 'lab-admin-pw';

function freeUdpPort(exclude: number[] = []): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createSocket('udp4');
    s.once('error', reject);
    s.bind(0, '127.0.0.1', () => {
      const port = s.address().port;
      s.close(() => (exclude.includes(port) ? freeUdpPort(exclude).then(resolve, reject) : resolve(port)));
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

describe.skipIf(!sourceDir)('RADIUS mode end to end: ispctl, FreeRADIUS on its views, the lab router', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'ispctl-radius-e2e-'));
  const role = `freeradius_${randomBytes(4).toString('hex')}`;
  let database: { url: string; drop(): Promise<void> };
  let pool: pg.Pool;
  let env: Record<string, string>;
  let lab: LabRouter;
  let api: RouterOSClient;
  let radius: FreeRadiusInstance | undefined;
  let coaPort: number;
  const nasLog: string[] = [];
  const sessions: Record<string, LabSession> = {};

  const cli = (...args: string[]) => runCli(args, { env });
  const sql = async (text: string, values: unknown[] = []) => (await pool.query(text, values)).rows;
  const live = (name: string) => lab.nas!.sessions().filter((s) => s.name === name);
  const coaLines = (name: string) => nasLog.filter((l) => l.startsWith(`nas: CoA: ${name} (`));
  const queueOf = async (name: string) => (await api.write('/queue/simple/print', {}, { query: [q.eq('name', `<pppoe-${name}>`)] })).rows[0];

  beforeAll(async () => {
    database = await createPgDatabase('ispctl_radius', { migrated: true });
    pool = new pg.Pool({ connectionString: database.url, max: 2 });
    // Dropping the database at the end ends a client the pool is still closing: not an error of the test.
    pool.on('error', () => undefined);
    env = {
      DATABASE_URL: database.url,
      ISPCTL_DATA_DIR: join(tmp, 'data'),
      ISPCTL_CONFIG_DIR: join(tmp, 'config'),
    };
    lab = await startLabRouter({ adminPassword: LAB_PW, identity: 'tower-lab', nas: { nasAddress: '127.0.0.1', log: (l) => nasLog.push(l) } });
    api = await RouterOSClient.connect({ host: '127.0.0.1', port: lab.port, user: 'admin', password: LAB_PW, timeoutMs: 10_000 });
    coaPort = await freeUdpPort();
  });

  afterAll(async () => {
    await radius?.stop();
    await api?.close();
    await lab?.close();
    await pool?.end();
    await database?.drop();
    const admin = new pg.Client({ connectionString: inject('pgAdminUrl') });
    await admin.connect();
    await admin.query(`DROP ROLE IF EXISTS ${role}`);
    await admin.end();
    rmSync(tmp, { recursive: true, force: true });
  });

  it('sets up ispctl: a router in radius mode, a plan, three subscribers', async () => {
    expect((await cli('init', '--isp-name', 'Tower Net', '--currency', 'PHP', '--timezone', 'Asia/Manila', '--yes')).code).toBe(0);
    const router = await cli(
      'router', 'add', 'tower', '--host', '127.0.0.1', '--api-port', String(lab.port), '--api-user', 'admin', '--api-password', LAB_PW,
      '--mode', 'radius', '--nas-address', '127.0.0.1', '--coa-port', String(coaPort), '--local-address', '10.0.1.1', '--pool', '10.0.1.2-10.0.1.254', '--json',
    );
    expect(router.code).toBe(0);
    expect(router.json.data).toMatchObject({ mode: 'radius', nasAddress: '127.0.0.1', coaPort, poolRanges: '10.0.1.2-10.0.1.254', poolName: 'ispctl-pool-default' });
    expect((await cli('plan', 'create', 'Fiber 50', '--price', '1500', '--download', '50M', '--upload', '20M')).code).toBe(0);
    // One import for the three (subscriber add on a RADIUS-mode router is tested in network-cli).
    const csv = [
      'full_name,username,password,plan,router,static_ip',
      'Alice Santos,alice,alice-pa55,Fiber 50,tower,',
      'Bob Reyes,bob,bob-pa55,Fiber 50,tower,10.0.0.5',
      'Carol Cruz,carol,carol-pa55,Fiber 50,tower,',
    ].join('\n');
    const r = await runCli(['subscriber', 'import', '--file', '-', '--json'], { env, input: csv });
    expect(r.code, r.stderr).toBe(0);
    expect(r.json.data.created.map((c: { username: string }) => c.username)).toEqual(['alice', 'bob', 'carol']);
  });

  it('writes a FreeRADIUS configuration with `ispctl radius config` and FreeRADIUS runs it as its own role', async () => {
    // The role docs/radius-mode.md tells operators to create.
    await sql(`CREATE ROLE ${role} LOGIN PASSWORD 'fr-pa55'`);
    await sql(`GRANT SELECT ON radcheck, radreply, radusergroup, radgroupcheck, radgroupreply, nas TO ${role}`);
    await sql(`GRANT SELECT, INSERT, UPDATE ON radacct, radpostauth, nasreload TO ${role}`);
    await sql(`GRANT USAGE, SELECT ON SEQUENCE radacct_radacctid_seq, radpostauth_id_seq TO ${role}`);
    const u = new URL(database.url);
    const radiusUrl = `postgres://${role}:fr-pa55@127.0.0.1:${u.port}${u.pathname}`;

    const authPort = await freeUdpPort([coaPort]);
    const acctPort = await freeUdpPort([coaPort, authPort]);
    const out = join(tmp, 'raddb');
    const r = await cli(
      'radius', 'config', '--out', out, '--listen', '127.0.0.1', '--auth-port', String(authPort), '--acct-port', String(acctPort),
      '--radius-db-url', radiusUrl, '--run-as-current-user', '--json',
    );
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.json.data).toMatchObject({
      configDir: out,
      clients: 'sql',
      listen: { address: '127.0.0.1', authPort, acctPort },
      database: { user: role, host: '127.0.0.1' },
      routers: [{ name: 'tower', nasAddress: '127.0.0.1' }],
    });
    expect(r.stdout).not.toContain('fr-pa55');
    // Human output says how to run it.
    const human = await cli('radius', 'config', '--out', out, '--listen', '127.0.0.1', '--auth-port', String(authPort), '--acct-port', String(acctPort), '--radius-db-url', radiusUrl, '--run-as-current-user', '--force');
    expect(human.code).toBe(0);
    expect(human.stdout).toContain(`freeradius -X -d ${out}`);
    expect(human.stderr).toMatch(/radius-reload-command/);

    radius = await startFreeRadius({ configDir: out, listen: { authPort, acctPort } });
  });

  it('refuses on the embedded database, and creates none to say so', async () => {
    const dataDir = join(tmp, 'embedded');
    const r = await runCli(['radius', 'config', '--out', join(tmp, 'never'), '--json'], { env: { ...env, DATABASE_URL: '', ISPCTL_DATA_DIR: dataDir } });
    expect(r.code).toBe(2);
    expect(r.json.error.code).toBe('RADIUS_NEEDS_POSTGRES');
    expect(existsSync(dataDir)).toBe(false);
    expect(existsSync(join(tmp, 'never'))).toBe(false);
  });

  it('configures the lab router as ispctl documents it', async () => {
    const secret = (await cli('router', 'secret', 'show', 'tower', '--which', 'radius')).stdout.trim();
    expect(secret.length).toBeGreaterThanOrEqual(16);
    await api.write('/radius/add', {
      service: 'ppp',
      address: '127.0.0.1',
      secret,
      'authentication-port': radius!.authPort,
      'accounting-port': radius!.acctPort,
      timeout: '3s',
      'require-message-auth': 'yes-for-request-resp',
    });
    await api.write('/ppp/aaa/set', { 'use-radius': true, accounting: true, 'interim-update': '5m' });
    // The pool Framed-Pool names, and the router's side of the links on the default profile.
    await api.write('/ip/pool/add', { name: 'ispctl-pool-default', ranges: '10.0.1.2-10.0.1.254' });
    await api.write('/ppp/profile/set', { '.id': 'default', 'local-address': '10.0.1.1' });
    await api.write('/radius/incoming/set', { accept: true, port: coaPort });
    await lab.nas!.settled();
    expect(lab.nas!.incomingPort()).toBe(coaPort);
  });

  it('each subscriber dials in through FreeRADIUS with the plan rate and, for bob, the static IP', async () => {
    for (const user of ['alice', 'bob', 'carol']) {
      sessions[user] = await lab.nas!.dial({ username: user, password: `${user}-pa55` });
      expect(sessions[user]).toMatchObject({ radius: true, rateLimit: '20M/50M' });
      expect(await queueOf(user)).toMatchObject({ 'max-limit': '20000000/50000000', dynamic: 'true' });
    }
    expect(sessions.bob!.address).toBe('10.0.0.5');
    // Framed-Pool: the others get an address from the router's pool.
    for (const user of ['alice', 'carol']) expect(sessions[user]!.address).toMatch(/^10\.0\.1\.([2-9]|[1-9][0-9]|1[0-9][0-9]|2[0-4][0-9]|25[0-4])$/);
    expect(sessions.alice!.address).not.toBe(sessions.carol!.address);
    expect((await refused(lab.nas!.dial({ username: 'alice', password: 'wrong' }))).reason).toBe('radius-reject');
    const open = await eventually(async () => {
      const rows = await sql(`SELECT username, acctsessionid, host(framedipaddress) AS ip FROM radacct WHERE acctstoptime IS NULL ORDER BY username`);
      return rows.length === 3 ? rows : undefined;
    });
    expect(open).toEqual([
      { username: 'alice', acctsessionid: sessions.alice!.acctSessionId, ip: sessions.alice!.address },
      { username: 'bob', acctsessionid: sessions.bob!.acctSessionId, ip: '10.0.0.5' },
      { username: 'carol', acctsessionid: sessions.carol!.acctSessionId, ip: sessions.carol!.address },
    ]);
    // The post-auth log keeps no passwords: FreeRADIUS never sent them (accepted or rejected).
    expect(await sql(`SELECT reply, pass, count(*)::int AS n FROM radpostauth GROUP BY reply, pass ORDER BY reply`)).toEqual([
      { reply: 'Access-Accept', pass: '', n: expect.any(Number) },
      { reply: 'Access-Reject', pass: '', n: expect.any(Number) },
    ]);
  });

  it('suspending bob drops his session by Disconnect-Request and FreeRADIUS rejects him', async () => {
    const r = await cli('subscriber', 'suspend', 'bob', '--reason', 'abuse report', '--yes');
    expect(r.code, r.stderr).toBe(0);
    expect(live('bob')).toEqual([]);
    expect(nasLog.some((l) => l.startsWith('nas: Disconnect: bob ('))).toBe(true);
    const stopped = await eventually(async () => (await sql(`SELECT acctterminatecause FROM radacct WHERE acctsessionid = $1 AND acctstoptime IS NOT NULL`, [sessions.bob!.acctSessionId]))[0]);
    expect(stopped).toEqual({ acctterminatecause: 'NAS-Request' });
    expect((await refused(lab.nas!.dial({ username: 'bob', password: 'bob-pa55' }))).reason).toBe('radius-reject');
    // The others are untouched.
    expect(live('alice')).toHaveLength(1);
  });

  it('resuming bob lets him dial in again with his address', async () => {
    const r = await cli('subscriber', 'resume', 'bob');
    expect(r.code, r.stderr).toBe(0);
    sessions.bob = await lab.nas!.dial({ username: 'bob', password: 'bob-pa55' });
    expect(sessions.bob).toMatchObject({ address: '10.0.0.5', rateLimit: '20M/50M' });
    await eventually(async () => (await sql(`SELECT 1 FROM radacct WHERE acctsessionid = $1`, [sessions.bob!.acctSessionId]))[0]);
  });

  it('a plan speed change reaches every live session by CoA, without a re-dial', async () => {
    const r = await cli('plan', 'edit', 'Fiber 50', '--download', '100M');
    expect(r.code, r.stderr).toBe(0);
    for (const user of ['alice', 'bob', 'carol']) {
      expect(live(user)).toEqual([expect.objectContaining({ id: sessions[user]!.id, sessionId: sessions[user]!.sessionId, rateLimit: '20M/100M' })]);
      expect(await queueOf(user)).toMatchObject({ 'max-limit': '20000000/100000000' });
      expect(coaLines(user)).toHaveLength(1);
    }
  });

  it('with the router unreachable the change is saved and queued (exit 3); once it is back, jobs retry applies it once', async () => {
    await api.write('/radius/incoming/set', { accept: false });
    await lab.nas!.settled();
    lab.faults.refuseConnections = true;
    try {
      const r = await cli('plan', 'edit', 'Fiber 50', '--download', '30M', '--router-timeout', '3');
      expect(r.code, r.stderr).toBe(3);
      expect(r.stderr).toMatch(/queued/);
      const jobs = await sql(`SELECT kind, status, attempts, last_error FROM provisioning_jobs WHERE status = 'pending' ORDER BY id`);
      expect(jobs).toHaveLength(3);
      for (const j of jobs) {
        expect(j).toMatchObject({ kind: 'radius_coa', status: 'pending', attempts: 1 });
        expect(j.last_error).toMatch(/RADIUS: .*RouterOS API: /);
      }
      // Saved: FreeRADIUS already answers new logins with the new rate.
      expect(await sql(`SELECT value FROM radreply WHERE username = 'alice' AND attribute = 'Mikrotik-Rate-Limit'`)).toEqual([{ value: '20M/30M' }]);
      for (const user of ['alice', 'bob', 'carol']) expect(live(user)[0]!.rateLimit).toBe('20M/100M');
    } finally {
      lab.faults.refuseConnections = false;
      await api.write('/radius/incoming/set', { accept: true, port: coaPort });
      await lab.nas!.settled();
    }
    const retry = await cli('jobs', 'retry', '--json');
    expect(retry.code, retry.stderr).toBe(0);
    for (const user of ['alice', 'bob', 'carol']) {
      expect(live(user)).toEqual([expect.objectContaining({ id: sessions[user]!.id, rateLimit: '20M/30M' })]);
      expect(coaLines(user)).toHaveLength(2);
    }
    // Nothing left to do: a second retry sends nothing.
    expect((await cli('jobs', 'retry', '--json')).code).toBe(0);
    for (const user of ['alice', 'bob', 'carol']) expect(coaLines(user)).toHaveLength(2);
    expect(await sql(`SELECT count(*)::int AS n FROM provisioning_jobs WHERE status IN ('pending', 'running')`)).toEqual([{ n: 0 }]);
  });

  it('changing suspension-action reaches billing-suspended subscribers at once: FreeRADIUS accepts them throttled, live sessions get CoA', async () => {
    // Nobody pays this period: well past due and grace, collections suspends all three (blocked).
    expect((await cli('billing', 'generate')).code).toBe(0);
    const run = await cli('collections', 'run', '--today', '2027-03-01', '--json');
    expect(run.code, run.stderr).toBe(0);
    expect(run.json.data.suspended).toHaveLength(3);
    expect(live('carol')).toEqual([]);
    expect((await refused(lab.nas!.dial({ username: 'carol', password: 'carol-pa55' }))).reason).toBe('radius-reject');

    const set = await cli('settings', 'set', 'suspension-action', 'throttle', '--json');
    expect(set.code, set.stderr).toBe(0);
    expect(set.json.data).toMatchObject({ value: 'throttle', accessChanged: 3 });
    // The views answer differently at once: FreeRADIUS accepts carol at the throttle rate.
    expect(await sql(`SELECT value FROM radreply WHERE username = 'carol' AND attribute = 'Mikrotik-Rate-Limit'`)).toEqual([{ value: '1M/1M' }]);
    sessions.carol = await lab.nas!.dial({ username: 'carol', password: 'carol-pa55' });
    expect(sessions.carol).toMatchObject({ radius: true, rateLimit: '1M/1M' });
    const show = await cli('subscriber', 'show', 'carol', '--json');
    expect(show.json.data.services[0].access).toMatchObject({ state: 'throttled', rateLimit: '1M/1M' });

    // A new throttle speed reaches the live session by CoA, without a re-dial.
    const speed = await cli('settings', 'set', 'throttle-download', '2M', '--json');
    expect(speed.code, speed.stderr).toBe(0);
    expect(live('carol')).toEqual([expect.objectContaining({ id: sessions.carol.id, rateLimit: '1M/2M' })]);
  });
});
