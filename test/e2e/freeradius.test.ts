// ispctl's RADIUS client against a real FreeRADIUS reading a real PostgreSQL through the
// configuration ispctl writes; ispctl's RADIUS server against radclient.
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import {
  ERROR_CAUSE,
  RadiusTimeoutError,
  attr,
  chapPassword,
  getAttribute,
  hasAttribute,
  radiusRequest,
  startRadiusServer,
  validateResponse,
  type DecodedRadiusPacket,
  type RadiusAttribute,
  type RadiusDropEvent,
  type RadiusServer,
} from '../../src/core/radius/index.js';
import { detectFreeRadiusConfigDir } from '../../src/core/provisioning/radius/freeradius-config.js';
import { radclient, startFreeRadius, type FreeRadiusInstance } from '../helpers/freeradius.js';

const SECRET = 'lab-s3cret!';
// A clients.conf secret with what needs quoting: quote, double quote, backslash, ${...}, #.
const STATIC_SECRET = `it's "a" \\secret \${x} #1`;
const sourceDir = detectFreeRadiusConfigDir();

function dbUrl(adminUrl: string, database: string, user?: string): string {
  const u = new URL(adminUrl);
  u.pathname = `/${database}`;
  if (user) u.username = encodeURIComponent(user);
  return u.toString();
}

async function withClient<T>(url: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

describe.skipIf(!sourceDir)('FreeRADIUS with the configuration ispctl writes', () => {
  const adminUrl = inject('pgAdminUrl');
  const suffix = randomBytes(4).toString('hex');
  const database = `ispctl_freeradius_${suffix}`;
  // A role name with the characters that need escaping on their way through FreeRADIUS's
  // configuration parser and into libpq: backslash, "${", space, double quote.
  const role = `fr\\ad\${x} "${suffix}`;
  const quotedRole = `"${role.replace(/"/g, '""')}"`;
  let radius: FreeRadiusInstance;
  let url: string;

  beforeAll(async () => {
    await withClient(adminUrl, async (c) => {
      await c.query(`CREATE DATABASE ${database}`);
      await c.query(`CREATE ROLE ${quotedRole} LOGIN PASSWORD 'unused-with-trust'`);
    });
    url = dbUrl(adminUrl, database);
    const schema = await readFile(join(sourceDir!, 'mods-config/sql/main/postgresql/schema.sql'), 'utf8');
    await withClient(url, async (c) => {
      await c.query(schema);
      await c.query(`GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO ${quotedRole}`);
      await c.query(`GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO ${quotedRole}`);
      await c.query(`INSERT INTO nas (nasname, shortname, type, secret) VALUES ('127.0.0.1', 'lab', 'other', $1)`, [SECRET]);
      await c.query(`INSERT INTO radcheck (username, attribute, op, value) VALUES ('alice', 'Cleartext-Password', ':=', 'pa55-word')`);
      await c.query(
        `INSERT INTO radreply (username, attribute, op, value) VALUES
           ('alice', 'Mikrotik-Rate-Limit', ':=', '10M/50M'),
           ('alice', 'Framed-IP-Address', ':=', '10.0.0.5')`,
      );
    });
    radius = await startFreeRadius({
      db: { host: '127.0.0.1', port: Number(new URL(adminUrl).port), user: role, password: 'p\\w ${y}"', database },
      staticClients: [{ name: 'second-router', address: '127.0.0.2', secret: STATIC_SECRET }],
    });
  });

  afterAll(async () => {
    await radius?.stop();
    await withClient(adminUrl, async (c) => {
      await c.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
      await c.query(`DROP ROLE IF EXISTS ${quotedRole}`);
    });
  });

  const auth = (attributes: RadiusAttribute[], secret = SECRET) =>
    radiusRequest({ host: '127.0.0.1', port: radius.authPort, secret, timeoutMs: 2000, retries: 1, packet: { code: 'Access-Request', attributes } });
  const acct = (attributes: RadiusAttribute[]) =>
    radiusRequest({ host: '127.0.0.1', port: radius.acctPort, secret: SECRET, timeoutMs: 2000, retries: 1, packet: { code: 'Accounting-Request', attributes } });
  const nas = () => [
    attr('NAS-IP-Address', '127.0.0.1'),
    attr('NAS-Identifier', 'lab-router'),
    attr('NAS-Port-Type', 'Ethernet'),
    attr('NAS-Port-Id', 'pppoe-in1'),
    attr('Calling-Station-Id', 'AA:BB:CC:00:11:22'),
    attr('Service-Type', 'Framed-User'),
    attr('Framed-Protocol', 'PPP'),
  ];

  function expectAcceptForAlice(packet: DecodedRadiusPacket) {
    expect(packet.code).toBe('Access-Accept');
    expect(getAttribute(packet, 'Mikrotik-Rate-Limit')).toBe('10M/50M');
    expect(getAttribute(packet, 'Framed-IP-Address')).toBe('10.0.0.5');
    // radiusRequest already verified it; check it is there at all (RouterOS drops Accepts without).
    expect(hasAttribute(packet, 'Message-Authenticator')).toBe(true);
  }

  it('accepts PAP with the reply attributes from radreply and a Message-Authenticator', async () => {
    const res = await auth([attr('User-Name', 'alice'), attr('User-Password', 'pa55-word'), ...nas()]);
    expectAcceptForAlice(res.packet);
    expect(hasAttribute(res.request, 'Message-Authenticator')).toBe(true);
    expect(res.attempts).toBe(1);
  });

  it('accepts CHAP', async () => {
    const challenge = randomBytes(16);
    const res = await auth([
      attr('User-Name', 'alice'),
      attr('CHAP-Password', chapPassword(42, 'pa55-word', challenge)),
      attr('CHAP-Challenge', challenge),
      ...nas(),
    ]);
    expectAcceptForAlice(res.packet);
  });

  it('rejects a wrong password and an unknown user, with a Message-Authenticator', async () => {
    const wrong = await auth([attr('User-Name', 'alice'), attr('User-Password', 'wrong'), ...nas()]);
    expect(wrong.packet.code).toBe('Access-Reject');
    expect(hasAttribute(wrong.packet, 'Message-Authenticator')).toBe(true);
    expect(getAttribute(wrong.packet, 'Framed-IP-Address')).toBeUndefined();
    const challenge = randomBytes(16);
    const wrongChap = await auth([
      attr('User-Name', 'alice'),
      attr('CHAP-Password', chapPassword(1, 'wrong', challenge)),
      attr('CHAP-Challenge', challenge),
    ]);
    expect(wrongChap.packet.code).toBe('Access-Reject');
    const unknown = await auth([attr('User-Name', 'nobody'), attr('User-Password', 'pa55-word')]);
    expect(unknown.packet.code).toBe('Access-Reject');
  });

  it('drops a request signed with the wrong secret', async () => {
    const err = await radiusRequest({
      host: '127.0.0.1',
      port: radius.authPort,
      secret: 'not-the-secret',
      timeoutMs: 300,
      retries: 0,
      packet: { code: 'Access-Request', attributes: [attr('User-Name', 'alice'), attr('User-Password', 'pa55-word')] },
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RadiusTimeoutError);
    await radius.waitForLog(/invalid Message-Authenticator|Shared secret is incorrect/);
  });

  it('knows a client from clients.conf by its quoted secret', async () => {
    const res = await radiusRequest({
      host: '127.0.0.1',
      port: radius.authPort,
      secret: STATIC_SECRET,
      sourceAddress: '127.0.0.2',
      timeoutMs: 2000,
      packet: { code: 'Access-Request', attributes: [attr('User-Name', 'alice'), attr('User-Password', 'pa55-word')] },
    });
    expectAcceptForAlice(res.packet);
  });

  it('answers Status-Server', async () => {
    const res = await radiusRequest({ host: '127.0.0.1', port: radius.authPort, secret: SECRET, timeoutMs: 2000, packet: { code: 'Status-Server', attributes: [] } });
    expect(res.packet.code).toBe('Access-Accept');
  });

  it('records Start, Interim-Update and Stop in radacct', async () => {
    const session = `8100${suffix}`;
    const common = () => [attr('User-Name', 'alice'), attr('Acct-Session-Id', session), attr('Framed-IP-Address', '10.0.0.5'), ...nas()];
    const start = await acct([attr('Acct-Status-Type', 'Start'), attr('Acct-Authentic', 'RADIUS'), ...common()]);
    expect(start.packet.code).toBe('Accounting-Response');

    const row = async () =>
      withClient(url, async (c) => (await c.query(`SELECT * FROM radacct WHERE acctsessionid = $1`, [session])).rows);
    let rows = await row();
    expect(rows).toHaveLength(1);
    expect(rows[0].username).toBe('alice');
    expect(rows[0].framedipaddress).toBe('10.0.0.5');
    expect(rows[0].callingstationid).toBe('AA:BB:CC:00:11:22');
    expect(rows[0].acctstoptime).toBeNull();

    const interim = await acct([
      attr('Acct-Status-Type', 'Interim-Update'),
      attr('Acct-Session-Time', 300),
      attr('Acct-Input-Octets', 1000),
      attr('Acct-Output-Octets', 5000),
      ...common(),
    ]);
    expect(interim.packet.code).toBe('Accounting-Response');
    rows = await row();
    expect(rows[0].acctsessiontime).toBe('300');
    expect(rows[0].acctstoptime).toBeNull();

    const stop = await acct([
      attr('Acct-Status-Type', 'Stop'),
      attr('Acct-Session-Time', 600),
      attr('Acct-Input-Octets', 2000),
      attr('Acct-Output-Octets', 10),
      attr('Acct-Output-Gigawords', 1),
      attr('Acct-Terminate-Cause', 'User-Request'),
      ...common(),
    ]);
    expect(stop.packet.code).toBe('Accounting-Response');
    rows = await row();
    expect(rows).toHaveLength(1);
    expect(rows[0].acctstoptime).toBeInstanceOf(Date);
    expect(rows[0].acctsessiontime).toBe('600');
    expect(rows[0].acctinputoctets).toBe('2000');
    expect(rows[0].acctoutputoctets).toBe(String(2 ** 32 + 10));
    expect(rows[0].acctterminatecause).toBe('User-Request');
  });

  it('logs authentications in radpostauth', async () => {
    const rows = await withClient(url, async (c) => (await c.query(`SELECT reply FROM radpostauth WHERE username = 'alice'`)).rows);
    expect(rows.map((r) => r.reply)).toEqual(expect.arrayContaining(['Access-Accept', 'Access-Reject']));
  });

  it('finds routers in the nas table on first contact with clients = dynamic', async () => {
    const dynamic = await startFreeRadius({
      db: { host: '127.0.0.1', port: Number(new URL(adminUrl).port), user: 'postgres', database },
      clients: 'dynamic',
      dynamicClients: { networks: ['127.0.0.0/8'], lifetimeSeconds: 60 },
    });
    try {
      const res = await radiusRequest({
        host: '127.0.0.1',
        port: dynamic.authPort,
        secret: SECRET,
        timeoutMs: 2000,
        retries: 1,
        packet: { code: 'Access-Request', attributes: [attr('User-Name', 'alice'), attr('User-Password', 'pa55-word')] },
      });
      expectAcceptForAlice(res.packet);
    } finally {
      await dynamic.stop();
    }
  });
});

describe('RadiusServer as a NAS CoA/Disconnect listener', () => {
  const COA_SECRET = 'coa-s3cret';
  let server: RadiusServer;
  let port: number;
  const seen: DecodedRadiusPacket[] = [];
  const drops: RadiusDropEvent[] = [];

  beforeAll(async () => {
    server = await startRadiusServer({
      host: '127.0.0.1',
      secret: ({ address }) => (address === '127.0.0.1' ? COA_SECRET : undefined),
      onDrop: (e) => drops.push(e),
      handler: (request) => {
        seen.push(request);
        const known = getAttribute(request, 'Acct-Session-Id') === '81000001';
        if (request.code === 'CoA-Request') {
          return known ? { code: 'CoA-ACK' } : { code: 'CoA-NAK', attributes: [attr('Error-Cause', 'Session-Context-Not-Found')] };
        }
        return known ? { code: 'Disconnect-ACK' } : { code: 'Disconnect-NAK', attributes: [attr('Error-Cause', 'Session-Context-Not-Found')] };
      },
    });
    port = server.address().port;
  });

  afterAll(async () => {
    await server?.close();
  });

  it('validates and acknowledges radclient coa and disconnect with Message-Authenticator', async () => {
    const coa = await radclient(
      `127.0.0.1:${port}`,
      'coa',
      COA_SECRET,
      'User-Name = "alice", Acct-Session-Id = "81000001", Mikrotik-Rate-Limit = "5M/20M", Message-Authenticator = 0x00',
    );
    expect(coa.stdout).toMatch(/Received CoA-ACK/);
    expect(coa.code).toBe(0);
    const last = seen.at(-1)!;
    expect(last.code).toBe('CoA-Request');
    expect(getAttribute(last, 'Mikrotik-Rate-Limit')).toBe('5M/20M');
    expect(getAttribute(last, 'User-Name')).toBe('alice');

    const disconnect = await radclient(
      `127.0.0.1:${port}`,
      'disconnect',
      COA_SECRET,
      'User-Name = "alice", Acct-Session-Id = "81000001", Framed-IP-Address = 10.0.0.5, Message-Authenticator = 0x00',
    );
    expect(disconnect.stdout).toMatch(/Received Disconnect-ACK/);
    expect(getAttribute(seen.at(-1)!, 'Framed-IP-Address')).toBe('10.0.0.5');
  });

  it('drops a CoA without Message-Authenticator', async () => {
    const before = seen.length;
    const res = await radclient(`127.0.0.1:${port}`, 'coa', COA_SECRET, 'User-Name = "alice", Acct-Session-Id = "81000001"', ['-r', '1', '-t', '0.3']);
    expect(res.stdout).not.toMatch(/Received/);
    expect(seen.length).toBe(before);
    expect(drops.at(-1)?.reason).toBe('missing-message-authenticator');
  });

  it('answers our own CoA client, with a NAK and Error-Cause for an unknown session', async () => {
    const ack = await radiusRequest({
      host: '127.0.0.1',
      port,
      secret: COA_SECRET,
      timeoutMs: 1000,
      packet: { code: 'CoA-Request', attributes: [attr('User-Name', 'alice'), attr('Acct-Session-Id', '81000001'), attr('Mikrotik-Rate-Limit', '1M/2M')] },
    });
    expect(ack.packet.code).toBe('CoA-ACK');
    expect(hasAttribute(ack.packet, 'Message-Authenticator')).toBe(true);
    const nak = await radiusRequest({
      host: '127.0.0.1',
      port,
      secret: COA_SECRET,
      timeoutMs: 1000,
      packet: { code: 'Disconnect-Request', attributes: [attr('User-Name', 'bob'), attr('Acct-Session-Id', 'nope')] },
    });
    expect(nak.packet.code).toBe('Disconnect-NAK');
    expect(getAttribute(nak.packet, 'Error-Cause')).toBe(ERROR_CAUSE['Session-Context-Not-Found']);
  });

  it('fails validation when our client uses the wrong secret', async () => {
    const before = seen.length;
    const err = await radiusRequest({
      host: '127.0.0.1',
      port,
      secret: 'wrong-secret',
      timeoutMs: 200,
      retries: 1,
      packet: { code: 'CoA-Request', attributes: [attr('User-Name', 'alice'), attr('Acct-Session-Id', '81000001')] },
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RadiusTimeoutError);
    expect((err as RadiusTimeoutError).attempts).toBe(2);
    expect(seen.length).toBe(before);
    expect(drops.at(-1)).toMatchObject({ reason: 'bad-authenticator', code: 'CoA-Request', client: { address: '127.0.0.1' } });
  });

  it('a response signed with another secret does not validate', async () => {
    const res = await radiusRequest({
      host: '127.0.0.1',
      port,
      secret: COA_SECRET,
      timeoutMs: 1000,
      packet: { code: 'CoA-Request', attributes: [attr('User-Name', 'alice'), attr('Acct-Session-Id', '81000001')] },
    });
    const ref = { code: 'CoA-Request' as const, identifier: res.request.identifier, authenticator: res.request.authenticator };
    expect(validateResponse(res.packet.raw, ref, COA_SECRET).ok).toBe(true);
    expect(validateResponse(res.packet.raw, ref, 'other')).toMatchObject({ ok: false, reason: 'bad-authenticator' });
  });
});
