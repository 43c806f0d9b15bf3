// FreeRADIUS's tables as ispctl presents them: radcheck and radreply kept by triggers from
// services and routers, the group tables and nas as views, all in the stock column layout, answering the stock queries.conf queries, through an index; the tables
// FreeRADIUS writes; the published NAS secret. On PGlite and PostgreSQL.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import type { Knex } from 'knex';
import { FixedClock } from '../../src/core/clock.js';
import { refreshAccess } from '../../src/core/provisioning/access.js';
import { publishNasSecret, syncNasSecrets } from '../../src/core/provisioning/radius/nas-secret.js';
import { routerChangeNeedsRadiusReload, runRadiusReload } from '../../src/core/provisioning/radius/reload.js';
import { setSettings } from '../../src/core/settings/service.js';
import { encryptSecret } from '../../src/core/secrets.js';
import * as radiusMigration from '../../migrations/20261124030000_radius.js';
import * as radiusTablesMigration from '../../migrations/20261206400000_radius_check_reply_tables.js';
import { describeEachEngine } from '../helpers/db.js';

const KEY_HEX = 'a'.repeat(64);
const KEY = Buffer.from(KEY_HEX, 'hex');
const NAS_SECRET = 'nas-secret-0123456789abcdef';

// The stock PostgreSQL queries.conf, with its ${...} tables filled in.
const stock = {
  check: (u: string) => `SELECT id, UserName, Attribute, Value, Op FROM radcheck WHERE Username = '${u}' ORDER BY id`,
  reply: (u: string) => `SELECT id, UserName, Attribute, Value, Op FROM radreply WHERE Username = '${u}' ORDER BY id`,
  groups: (u: string) => `SELECT GroupName FROM radusergroup WHERE UserName='${u}' ORDER BY priority`,
  groupCheck: (g: string) => `SELECT id, GroupName, Attribute, Value, op FROM radgroupcheck WHERE GroupName = '${g}' ORDER BY id`,
  groupReply: (g: string) => `SELECT id, GroupName, Attribute, Value, op FROM radgroupreply WHERE GroupName = '${g}' ORDER BY id`,
  clients: `SELECT id, nasname, shortname, type, secret, server FROM nas`,
};

async function rows(k: Knex, sql: string): Promise<Array<Record<string, unknown>>> {
  return (await k.raw(sql)).rows;
}

function pairs(rs: Array<Record<string, unknown>>): Array<[unknown, unknown, unknown]> {
  return rs.map((r) => [r.attribute, r.op, r.value]);
}

async function seed(k: Knex) {
  const [rad] = await k('routers')
    .insert({ name: 'rad1', host: '127.0.0.2', api_user: 'admin', api_password_enc: encryptSecret('pw', KEY), radius_secret_enc: encryptSecret(NAS_SECRET, KEY), mode: 'radius', nas_address: '127.0.0.2' })
    .returning('id');
  const [api] = await k('routers')
    .insert({ name: 'api1', host: '127.0.0.3', api_user: 'admin', api_password_enc: encryptSecret('pw', KEY), radius_secret_enc: encryptSecret('other-secret-0123456789', KEY), mode: 'api' })
    .returning('id');
  const [plan] = await k('plans')
    .insert({ name: 'Fiber 50', price_minor: 150000n, currency: 'PHP', download_kbps: 50000, upload_kbps: 20000, suspension_action: 'throttle', throttle_download_kbps: 2000, throttle_upload_kbps: 1000 })
    .returning('id');
  const [sub] = await k('subscribers').insert({ full_name: 'Test Subscriber' }).returning('id');
  const base = { subscriber_id: sub.id, plan_id: plan.id, started_on: '2026-11-01' };
  const ids = await k('services')
    .insert([
      { ...base, router_id: rad.id, username: 'alice', password: 'alice-pw' },
      { ...base, router_id: rad.id, username: 'bob', password: 'bob-pw', static_ip: '10.0.0.5' },
      { ...base, router_id: rad.id, username: 'carol', password: 'carol-pw', static_ip: '10.0.0.6', admin_status: 'suspended', admin_reason: 'abuse', admin_suspended_at: new Date('2026-11-02T00:00:00Z') },
      { ...base, router_id: rad.id, username: 'dave', password: 'dave-pw', collection_status: 'suspended' },
      { ...base, router_id: api.id, username: 'erin', password: 'erin-pw' },
    ])
    .returning('id');
  return { radId: rad.id as number, apiId: api.id as number, planId: plan.id as number, ids: ids.map((r: { id: number }) => r.id) };
}

describeEachEngine('RADIUS views', (db) => {
  const clock = new FixedClock('2026-11-05T00:00:00Z');
  let s: Awaited<ReturnType<typeof seed>>;

  test('before access is computed, services on radius routers are rejected', async () => {
    s = await seed(db().knex);
    expect(pairs(await rows(db().knex, stock.check('alice')))).toEqual([['Auth-Type', ':=', 'Reject']]);
    expect(await rows(db().knex, stock.reply('alice'))).toEqual([]);
  });

  test('active, throttled and blocked services as FreeRADIUS reads them', async () => {
    await refreshAccess(db().knex, { clock }, { all: true });
    const k = db().knex;
    expect(pairs(await rows(k, stock.check('alice')))).toEqual([['Cleartext-Password', ':=', 'alice-pw']]);
    expect(pairs(await rows(k, stock.reply('alice')))).toEqual([['Mikrotik-Rate-Limit', ':=', '20M/50M']]);
    // Static IP: the rate first, then the address (ORDER BY id).
    expect(pairs(await rows(k, stock.reply('bob')))).toEqual([
      ['Mikrotik-Rate-Limit', ':=', '20M/50M'],
      ['Framed-IP-Address', ':=', '10.0.0.5'],
    ]);
    // Admin-suspended: rejected whatever the password; no reply attributes (not even its IP).
    expect(pairs(await rows(k, stock.check('carol')))).toEqual([['Auth-Type', ':=', 'Reject']]);
    expect(await rows(k, stock.reply('carol'))).toEqual([]);
    // Suspended for non-payment on a throttling plan: the plan's throttle rate (upload/download).
    expect(pairs(await rows(k, stock.check('dave')))).toEqual([['Cleartext-Password', ':=', 'dave-pw']]);
    expect(pairs(await rows(k, stock.reply('dave')))).toEqual([['Mikrotik-Rate-Limit', ':=', '1M/2M']]);
    // API-mode routers: FreeRADIUS knows nothing of their subscribers.
    expect(await rows(k, stock.check('erin'))).toEqual([]);
    expect(await rows(k, stock.reply('erin'))).toEqual([]);
    // Exact match, as FreeRADIUS asks.
    expect(await rows(k, stock.check('ALICE'))).toEqual([]);
    // The row ids: the service's for radcheck, two per service for radreply.
    const check = await rows(k, stock.check('bob'));
    expect(Number(check[0]!.id)).toBe(s.ids[1]);
    const reply = await rows(k, stock.reply('bob'));
    expect(reply.map((r) => Number(r.id))).toEqual([s.ids[1]! * 4, s.ids[1]! * 4 + 1]);
  });

  test('a plan speed change shows in radreply at once (the triggers rewrite its rows)', async () => {
    const k = db().knex;
    await k('plans').where({ id: s.planId }).update({ download_kbps: 100000 });
    await refreshAccess(k, { clock }, { planIds: [s.planId] });
    expect(pairs(await rows(k, stock.reply('alice')))).toEqual([['Mikrotik-Rate-Limit', ':=', '20M/100M']]);
  });

  test('the per-user rows follow every change, in the same transaction', async () => {
    const k = db().knex;
    const alice = s.ids[0]!;
    await k('services').where({ id: alice }).update({ username: 'alice2', static_ip: '10.0.0.9' });
    expect(await rows(k, stock.check('alice'))).toEqual([]);
    expect(pairs(await rows(k, stock.check('alice2')))).toEqual([['Cleartext-Password', ':=', 'alice-pw']]);
    expect(pairs(await rows(k, stock.reply('alice2')))).toEqual([
      ['Mikrotik-Rate-Limit', ':=', '20M/100M'],
      ['Framed-IP-Address', ':=', '10.0.0.9'],
    ]);
    // Moved to the API-mode router: FreeRADIUS forgets it; back: it knows it again.
    await k('services').where({ id: alice }).update({ router_id: s.apiId });
    expect(await rows(k, stock.check('alice2'))).toEqual([]);
    expect(await rows(k, stock.reply('alice2'))).toEqual([]);
    await k('services').where({ id: alice }).update({ router_id: s.radId, username: 'alice', static_ip: null });
    expect(pairs(await rows(k, stock.check('alice')))).toEqual([['Cleartext-Password', ':=', 'alice-pw']]);
    expect(pairs(await rows(k, stock.reply('alice')))).toEqual([['Mikrotik-Rate-Limit', ':=', '20M/100M']]);
    // A rolled-back change leaves nothing behind.
    await k
      .transaction(async (trx) => {
        await trx('services').where({ id: alice }).update({ password: 'changed' });
        expect(pairs(await rows(trx, stock.check('alice')))).toEqual([['Cleartext-Password', ':=', 'changed']]);
        throw new Error('roll back');
      })
      .catch(() => undefined);
    expect(pairs(await rows(k, stock.check('alice')))).toEqual([['Cleartext-Password', ':=', 'alice-pw']]);
    // Bulk changes and deletes.
    await k('services').where({ router_id: s.radId }).update({ password: k.raw(`password || '!'`) });
    expect(pairs(await rows(k, stock.check('bob')))).toEqual([['Cleartext-Password', ':=', 'bob-pw!']]);
    await k('services').where({ router_id: s.radId }).update({ password: k.raw(`rtrim(password, '!')`) });
    const [tmp] = await k('services')
      .insert({ subscriber_id: (await k('subscribers').first('id')).id, plan_id: s.planId, router_id: s.radId, username: 'temp', password: 'temp-pw', started_on: '2026-11-01' })
      .returning('id');
    expect(pairs(await rows(k, stock.check('temp')))).toEqual([['Auth-Type', ':=', 'Reject']]);
    await k('services').where({ id: tmp.id }).del();
    expect(await rows(k, stock.check('temp'))).toEqual([]);
    expect(await rows(k, `select count(*)::int as n from radcheck where id = ${Number(tmp.id)}`)).toEqual([{ n: 0 }]);
  });

  test('group tables are valid and empty', async () => {
    const k = db().knex;
    expect(await rows(k, stock.groups('alice'))).toEqual([]);
    expect(await rows(k, stock.groupCheck('x'))).toEqual([]);
    expect(await rows(k, stock.groupReply('x'))).toEqual([]);
  });

  test('columns have the stock names and the types the stock queries rely on', async () => {
    const cols: Array<{ table_name: string; column_name: string; data_type: string }> = await db()
      .knex('information_schema.columns')
      .whereIn('table_name', ['radcheck', 'radreply', 'radusergroup', 'radgroupcheck', 'radgroupreply', 'nas'])
      .where('table_schema', 'public')
      .orderBy(['table_name', 'ordinal_position'])
      .select('table_name', 'column_name', 'data_type');
    const by = (t: string) => cols.filter((c) => c.table_name === t).map((c) => `${c.column_name}:${c.data_type}`);
    expect(by('radcheck')).toEqual(['id:integer', 'username:text', 'attribute:text', 'op:character varying', 'value:text']);
    expect(by('radreply')).toEqual(['id:bigint', 'username:text', 'attribute:text', 'op:character varying', 'value:text']);
    expect(by('radusergroup')).toEqual(['id:integer', 'username:text', 'groupname:text', 'priority:integer']);
    expect(by('radgroupcheck')).toEqual(['id:integer', 'groupname:text', 'attribute:text', 'op:character varying', 'value:text']);
    expect(by('radgroupreply')).toEqual(by('radgroupcheck'));
    expect(by('nas')).toEqual(['id:integer', 'nasname:text', 'shortname:text', 'type:text', 'ports:integer', 'secret:text', 'server:text', 'community:text', 'description:text']);
  });

  test('nas lists radius-mode routers with a published secret', async () => {
    const k = db().knex;
    expect(await rows(k, stock.clients)).toEqual([]); // nothing published yet
    expect(await publishNasSecret(k, s.radId, NAS_SECRET)).toBe(true);
    expect(await publishNasSecret(k, s.apiId, 'never-published-secret')).toBe(false);
    expect(await rows(k, stock.clients)).toEqual([{ id: s.radId, nasname: '127.0.0.2', shortname: 'rad1', type: 'other', secret: NAS_SECRET, server: null }]);
    expect((await k('routers').where({ id: s.apiId }).first('radius_secret_nas')).radius_secret_nas).toBeNull();
  });

  test('a router leaving radius mode stops publishing its secret; sync republishes from the encrypted one', async () => {
    const k = db().knex;
    await k('routers').where({ id: s.radId }).update({ mode: 'api' });
    expect((await k('routers').where({ id: s.radId }).first('radius_secret_nas')).radius_secret_nas).toBeNull();
    expect(await rows(k, stock.clients)).toEqual([]);
    expect(await rows(k, stock.check('alice'))).toEqual([]);
    await expect(k('routers').where({ id: s.apiId }).update({ radius_secret_nas: 'x' })).resolves.toBe(1);
    expect((await k('routers').where({ id: s.apiId }).first('radius_secret_nas')).radius_secret_nas).toBeNull();

    await k('routers').where({ id: s.radId }).update({ mode: 'radius' });
    const sync = await syncNasSecrets({ db: k, env: { ISPCTL_SECRET_KEY: KEY_HEX } });
    expect(sync).toEqual({ published: ['rad1'], withdrawn: [] });
    expect((await rows(k, stock.clients)).map((r) => r.secret)).toEqual([NAS_SECRET]);
    expect(await syncNasSecrets({ db: k, env: { ISPCTL_SECRET_KEY: KEY_HEX } })).toEqual({ published: [], withdrawn: [] });
    expect(pairs(await rows(k, stock.check('alice')))).toEqual([['Cleartext-Password', ':=', 'alice-pw']]);
  });

  test('radacct, radpostauth and nasreload take the stock statements; the post-auth password is dropped', async () => {
    const k = db().knex;
    await k.raw(`
      INSERT INTO radacct (AcctSessionId, AcctUniqueId, UserName, Realm, NASIPAddress, NASPortId, NASPortType, AcctStartTime, AcctUpdateTime,
        AcctStopTime, AcctSessionTime, AcctAuthentic, ConnectInfo_start, ConnectInfo_Stop, AcctInputOctets, AcctOutputOctets, CalledStationId,
        CallingStationId, AcctTerminateCause, ServiceType, FramedProtocol, FramedIpAddress, FramedIpv6Address, FramedIpv6Prefix,
        FramedInterfaceId, DelegatedIpv6Prefix)
      VALUES ('81000001', 'u1', 'alice', NULLIF('', ''), '127.0.0.2', 'ether2', 'Ethernet', TO_TIMESTAMP(1793836800), TO_TIMESTAMP(1793836800),
        NULL, 0, 'RADIUS', '', NULL, 0, 0, '', 'AA:BB:CC:00:11:22', NULL, 'Framed-User', 'PPP',
        NULLIF('10.0.0.5', '')::inet, NULLIF('', '')::inet, NULLIF('', '')::inet, NULLIF('', ''), NULLIF('', '')::inet)`);
    const [open] = await rows(k, `SELECT username, host(framedipaddress) AS ip FROM radacct WHERE acctstoptime IS NULL AND nasipaddress = '127.0.0.2'`);
    expect(open).toEqual({ username: 'alice', ip: '10.0.0.5' });
    await k.raw(`INSERT INTO radpostauth (username, pass, reply, CalledStationId, CallingStationId, authdate) VALUES ('alice', 'alice-pw', 'Access-Accept', '', 'AA:BB', '2026-11-05 00:00:00+00')`);
    await k.raw(`UPDATE radpostauth SET pass = 'again'`);
    expect(await rows(k, `SELECT username, pass, reply FROM radpostauth`)).toEqual([{ username: 'alice', pass: null, reply: 'Access-Accept' }]);
    // As the configuration ispctl writes sends it (the password left out of the request): kept empty.
    await k.raw(`INSERT INTO radpostauth (username, pass, reply, authdate) VALUES ('bob', '', 'Access-Reject', '2026-11-05 00:00:01+00')`);
    expect(await rows(k, `SELECT username, pass FROM radpostauth ORDER BY id`)).toEqual([
      { username: 'alice', pass: null },
      { username: 'bob', pass: '' },
    ]);
    await k.raw(`INSERT INTO nasreload (NASIPAddress, ReloadTime) VALUES ('127.0.0.2', TO_TIMESTAMP(1793836800)) ON CONFLICT (NASIPAddress) DO UPDATE SET ReloadTime = TO_TIMESTAMP(1793836801)`);
    await k.raw(`INSERT INTO nasreload (NASIPAddress, ReloadTime) VALUES ('127.0.0.2', TO_TIMESTAMP(1793836800)) ON CONFLICT (NASIPAddress) DO UPDATE SET ReloadTime = TO_TIMESTAMP(1793836801)`);
    expect(await rows(k, `SELECT count(*)::int AS n FROM nasreload`)).toEqual([{ n: 1 }]);
    const indexes = (await rows(k, `SELECT indexname FROM pg_indexes WHERE tablename = 'radacct' ORDER BY indexname`)).map((r) => r.indexname);
    expect(indexes).toEqual(expect.arrayContaining(['radacct_active_session_idx', 'radacct_bulk_close', 'radacct_start_user_idx', 'radacct_calss_idx', 'radacct_acctuniqueid_key']));
  });

  test('the username lookups use an index', async () => {
    const k = db().knex;
    const [sub] = await k('subscribers').insert({ full_name: 'Bulk' }).returning('id');
    await k.raw(
      `insert into services (subscriber_id, plan_id, router_id, username, password, started_on, access_state, access_reason, rate_limit)
       select ?, ?, ?, 'bulk' || g, 'pw' || g, '2026-11-01', 'active', 'ok', '20M/100M' from generate_series(1, 5000) g`,
      [sub.id, s.planId, s.radId],
    );
    await k.raw('analyze services');
    await k.raw('analyze routers');
    for (const sql of [stock.check('bulk4242'), stock.reply('bulk4242')]) {
      const plan = (await rows(k, `EXPLAIN ${sql}`)).map((r) => r['QUERY PLAN']).join('\n');
      expect(plan).toMatch(/Index Scan using rad(check|reply)_username|Bitmap Index Scan on rad(check|reply)_username/);
      expect(plan).not.toMatch(/Seq Scan/);
    }
    expect(pairs(await rows(k, stock.reply('bulk4242')))).toEqual([['Mikrotik-Rate-Limit', ':=', '20M/100M']]);
  });

  test('radius-reload-command: run with /bin/sh -c, facts in the environment only, failures reported', async () => {
    const ctx = db().ctx();
    expect(await runRadiusReload(ctx)).toEqual({ ran: false, reason: 'unset' });
    const dir = mkdtempSync(join(tmpdir(), 'ispctl-reload-'));
    try {
      const out = join(dir, 'out');
      await setSettings(ctx, { 'radius-reload-command': `echo "$ISPCTL_ROUTER:$ISPCTL_RELOAD_REASON:\${DATABASE_URL-none}" > ${out}` });
      const env = { DATABASE_URL: 'postgres://u:secret@h/db', PATH: process.env.PATH };
      const ok = await runRadiusReload({ ...ctx, env }, { router: 'tower; rm -rf /', reason: 'router add' });
      expect(ok).toMatchObject({ ran: true, ok: true, exitCode: 0 });
      // The router name arrives as data, not as shell text; the database URL does not arrive.
      expect(readFileSync(out, 'utf8')).toBe('tower; rm -rf /:router add:none\n');
      await setSettings(ctx, { 'radius-reload-command': 'echo restarting; exit 3' });
      expect(await runRadiusReload(ctx)).toMatchObject({ ran: true, ok: false, exitCode: 3, output: 'restarting', error: 'exited with 3' });
      await setSettings(ctx, { 'radius-reload-command': 'sleep 5' });
      expect(await runRadiusReload(ctx, { timeoutMs: 200 })).toMatchObject({ ran: true, ok: false, exitCode: null });
      await setSettings(ctx, { 'radius-reload-command': 'none' });
      expect(await runRadiusReload(ctx)).toEqual({ ran: false, reason: 'unset' });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    expect(routerChangeNeedsRadiusReload('api', 'api', ['nasAddress', 'radiusSecret'])).toBe(false);
    expect(routerChangeNeedsRadiusReload('api', 'radius', ['mode'])).toBe(true);
    expect(routerChangeNeedsRadiusReload('radius', 'api', ['mode'])).toBe(true);
    expect(routerChangeNeedsRadiusReload('radius', 'radius', ['coaPort', 'host'])).toBe(false);
    expect(routerChangeNeedsRadiusReload('radius', 'radius', ['radiusSecret'])).toBe(true);
    expect(routerChangeNeedsRadiusReload('radius', 'radius', ['name'])).toBe(true);
  });

  test('radcheck and radreply are tables the triggers keep; privileges granted on them survive the later migration going down and up', async () => {
    const k = db().knex;
    const kinds = async () => rows(k, `SELECT relname, relkind FROM pg_class WHERE relname IN ('radcheck', 'radreply') AND relnamespace = 'public'::regnamespace ORDER BY relname`);
    const publicSelect = async (t: string) =>
      rows(k, `SELECT count(*)::int AS n FROM pg_class c, aclexplode(c.relacl) a WHERE c.oid = 'public.${t}'::regclass AND a.grantee = 0 AND a.privilege_type = 'SELECT'`);
    expect(await kinds()).toEqual([{ relname: 'radcheck', relkind: 'r' }, { relname: 'radreply', relkind: 'r' }]);
    await k.raw('GRANT SELECT ON radcheck, radreply TO PUBLIC');
    await radiusTablesMigration.down(k);
    expect(await kinds()).toEqual([{ relname: 'radcheck', relkind: 'v' }, { relname: 'radreply', relkind: 'v' }]);
    expect(await publicSelect('radcheck')).toEqual([{ n: 1 }]);
    expect(await publicSelect('radius_check_items')).toEqual([{ n: 0 }]);
    expect(pairs(await rows(k, stock.check('alice')))).toEqual([['Cleartext-Password', ':=', 'alice-pw']]);
    await radiusTablesMigration.up(k);
    expect(await kinds()).toEqual([{ relname: 'radcheck', relkind: 'r' }, { relname: 'radreply', relkind: 'r' }]);
    expect(await publicSelect('radcheck')).toEqual([{ n: 1 }]);
    expect(await publicSelect('radreply')).toEqual([{ n: 1 }]);
    expect(pairs(await rows(k, stock.check('alice')))).toEqual([['Cleartext-Password', ':=', 'alice-pw']]);
    // Still kept by the triggers after the round trip.
    await k('services').where({ username: 'alice' }).update({ password: 'alice-new' });
    expect(pairs(await rows(k, stock.check('alice')))).toEqual([['Cleartext-Password', ':=', 'alice-new']]);
    await k('services').where({ username: 'alice' }).update({ password: 'alice-pw' });
    await k.raw('REVOKE SELECT ON radcheck, radreply FROM PUBLIC');
  });

  test('the migration goes down and up again', async () => {
    const k = db().knex;
    await radiusTablesMigration.down(k);
    await radiusMigration.down(k);
    for (const t of ['radcheck', 'radreply', 'nas', 'radacct', 'radpostauth', 'nasreload', 'radusergroup']) {
      expect(await rows(k, `SELECT to_regclass('public.${t}') AS r`)).toEqual([{ r: null }]);
    }
    expect(await k.schema.hasColumn('routers', 'radius_secret_nas')).toBe(false);
    await radiusMigration.up(k);
    await radiusTablesMigration.up(k);
    expect(await rows(k, `SELECT count(*)::int AS n FROM radacct`)).toEqual([{ n: 0 }]);
  });
});
