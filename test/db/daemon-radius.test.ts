// Sessions a NAS leaves open, against a real FreeRADIUS on ispctl's PostgreSQL (the stock
// queries.conf): Accounting-On from a NAS closes that NAS's open sessions (FreeRADIUS does it;
// ispctl relies on it), and the daemon's sweep closes a session whose interim updates stopped.
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { FixedClock } from '../../src/core/clock.js';
import type { ServiceContext } from '../../src/core/context.js';
import { closeStaleSessions } from '../../src/core/daemon/radius-stale.js';
import { openDatabase, type Database } from '../../src/core/db/connection.js';
import { migrateLatest } from '../../src/core/db/migrate.js';
import { detectFreeRadiusConfigDir } from '../../src/core/provisioning/radius/freeradius-config.js';
import { attr, radiusRequest, type RadiusAttribute } from '../../src/core/radius/index.js';
import { addRouter } from '../../src/core/routers/service.js';
import { initialise } from '../../src/core/settings/init.js';
import { startFreeRadius, type FreeRadiusInstance } from '../helpers/freeradius.js';
import { createPgDatabase } from '../helpers/db.js';

const sourceDir = detectFreeRadiusConfigDir();
const SECRET = 'nas-shared-secret-0123456789';

describe.skipIf(!sourceDir)('RADIUS sessions left open (FreeRADIUS on PostgreSQL)', () => {
  let database: { url: string; drop(): Promise<void> };
  let db: Database;
  let radius: FreeRadiusInstance;
  let ctx: ServiceContext;

  beforeAll(async () => {
    database = await createPgDatabase('ispctl_daemon_radius');
    db = await openDatabase({ engine: 'postgres', url: database.url });
    await migrateLatest(db.knex);
    ctx = { db: db.knex, engine: 'postgres', clock: new FixedClock('2026-11-10T02:00:00Z'), actor: { user: 'tester', command: 'test' }, env: { ISPCTL_SECRET_KEY: 'd4'.repeat(32) } };
    await initialise(ctx, { values: { 'isp-name': 'Radius ISP', currency: 'PHP', timezone: 'Asia/Manila' } });
    // A radius-mode router whose NAS address is 127.0.0.1: FreeRADIUS learns it from the nas view.
    await addRouter(ctx, { name: 'nas1', host: '127.0.0.1', apiPort: 9, apiUser: 'admin', apiPassword: 'x', mode: 'radius', nasAddress: '127.0.0.1', radiusSecret: SECRET });
    const u = new URL(database.url);
    radius = await startFreeRadius({ db: { host: u.hostname, port: Number(u.port), user: decodeURIComponent(u.username), password: decodeURIComponent(u.password), database: u.pathname.slice(1) } });
  });

  afterAll(async () => {
    await radius?.stop();
    await db?.close();
    await database?.drop();
  });

  const acct = (attributes: RadiusAttribute[]) =>
    radiusRequest({ host: '127.0.0.1', port: radius.acctPort, secret: SECRET, timeoutMs: 3000, retries: 1, packet: { code: 'Accounting-Request', attributes } });
  const nas = () => [attr('NAS-IP-Address', '127.0.0.1'), attr('NAS-Port-Type', 'Ethernet'), attr('Service-Type', 'Framed-User'), attr('Framed-Protocol', 'PPP')];
  const start = async (user: string, session: string) => {
    const r = await acct([attr('Acct-Status-Type', 'Start'), attr('User-Name', user), attr('Acct-Session-Id', session), attr('Framed-IP-Address', '10.0.0.5'), ...nas()]);
    expect(r.packet.code).toBe('Accounting-Response');
  };
  const open = async () => (await db.knex('radacct').whereNull('acctstoptime').orderBy('username').select('username')).map((r) => r.username);

  it('Accounting-On from a NAS closes its open sessions (stock accounting-on query)', async () => {
    await start('alice', 'a0001');
    await start('bob', 'b0001');
    expect(await open()).toEqual(['alice', 'bob']);
    const on = await acct([attr('Acct-Status-Type', 'Accounting-On'), attr('Acct-Session-Id', 'on-1'), ...nas()]);
    expect(on.packet.code).toBe('Accounting-Response');
    expect(await open()).toEqual([]);
    const rows = await db.knex('radacct').orderBy('username').select('username', 'acctterminatecause');
    expect(rows).toEqual([
      { username: 'alice', acctterminatecause: 'NAS-Reboot' },
      { username: 'bob', acctterminatecause: 'NAS-Reboot' },
    ]);
  });

  it('a session whose interim updates stopped is closed by the sweep at its last update', async () => {
    await start('carol', 'c0001');
    const [row] = await db.knex('radacct').where({ username: 'carol' }).select('acctstarttime');
    const started = row.acctstarttime as Date;
    // 31 minutes later with no interim update: stale.
    const r = await closeStaleSessions(db.knex, { now: new Date(started.getTime() + 31 * 60_000), staleMinutes: 30 });
    expect(r.closed).toBe(1);
    const [closed] = await db.knex('radacct').where({ username: 'carol' }).select('acctstoptime', 'acctterminatecause');
    expect(closed).toEqual({ acctstoptime: started, acctterminatecause: 'Stale-Session' });
    // The user can start again: the new Start opens a new row.
    await start('carol', 'c0002');
    expect(await open()).toEqual(['carol']);
  });
});
