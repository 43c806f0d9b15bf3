// The lab NAS against the lab router's own state (API mode) and against an in-process RADIUS
// server built on ispctl's RADIUS codec (RADIUS mode). FreeRADIUS itself is in
// test/e2e/lab-nas.test.ts.
import { createSocket } from 'node:dgram';
import { afterEach, describe, expect, it } from 'vitest';
import {
  ERROR_CAUSE,
  RadiusTimeoutError,
  attr,
  getAttribute,
  hasAttribute,
  radiusRequest,
  startRadiusServer,
  verifyChapPassword,
  type DecodedRadiusPacket,
  type RadiusAttribute,
  type RadiusReply,
  type RadiusServer,
} from '../../../src/core/radius/index.js';
import { RouterOSClient, RouterOSTrapError } from '../../../src/core/routeros/index.js';
import { DialRejectedError, type LabNasOptions, type LabRouter, RouterState, startLabRouter } from '../../../src/lab/index.js';

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

async function lab(nas: LabNasOptions = {}): Promise<LabRouter> {
  const router = await startLabRouter({ adminPassword: 'pw', identity: 'lab-nas', nas });
  cleanups.push(() => router.close());
  return router;
}

async function api(router: LabRouter): Promise<RouterOSClient> {
  const c = await RouterOSClient.connect({ host: '127.0.0.1', port: router.port, user: 'admin', password: 'pw', timeoutMs: 5000 });
  cleanups.push(() => c.destroy());
  return c;
}

async function rejection(p: Promise<unknown>): Promise<DialRejectedError> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(DialRejectedError);
    return e as DialRejectedError;
  }
  throw new Error('expected the dial to be refused');
}

async function freeUdpPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createSocket('udp4');
    s.once('error', reject);
    s.bind(0, '127.0.0.1', () => {
      const port = s.address().port;
      s.close(() => resolve(port));
    });
  });
}

describe('lab NAS: local secrets (API mode)', () => {
  it('a secret with a profile rate limit and a pool gets a pool address, a session and its dynamic queue', async () => {
    const router = await lab();
    const c = await api(router);
    await c.write('/ip/pool/add', { name: 'subs', ranges: '10.10.0.10-10.10.0.12' });
    await c.write('/ppp/profile/add', { name: 'gold', 'rate-limit': '10M/50M', 'remote-address': 'subs', 'only-one': 'yes' });
    await c.write('/ppp/secret/add', { name: 'alice', password: 'pa55', profile: 'gold', service: 'pppoe' });
    await c.write('/ppp/secret/add', { name: 'bob', password: 'b0b', profile: 'gold', 'remote-address': '10.20.0.2' });

    const nas = router.nas!;
    const alice = await nas.dial({ username: 'alice', password: 'pa55', callerId: 'AA:BB:CC:00:00:01' });
    expect(alice).toMatchObject({ name: 'alice', address: '10.10.0.10', rateLimit: '10M/50M', radius: false, authenticatedBy: 'local' });
    expect(alice.sessionId).toMatch(/^0x81[0-9A-F]{6}$/);
    expect(alice.acctSessionId).toBe(alice.sessionId.slice(2).toLowerCase());

    const active = (await c.write('/ppp/active/print')).rows;
    expect(active).toEqual([
      expect.objectContaining({ '.id': alice.id, name: 'alice', address: '10.10.0.10', 'caller-id': 'AA:BB:CC:00:00:01', 'session-id': alice.sessionId, radius: 'false' }),
    ]);
    const queues = (await c.write('/queue/simple/print', {}, { proplist: ['name', 'target', 'max-limit', 'dynamic'] })).rows;
    expect(queues).toEqual([{ name: '<pppoe-alice>', target: '<pppoe-alice>', 'max-limit': '10000000/50000000', dynamic: 'true' }]);

    // A remote-address on the secret wins over the profile's pool.
    expect((await nas.dial({ username: 'bob', password: 'b0b' })).address).toBe('10.20.0.2');
    // only-one=yes on the profile.
    expect((await rejection(nas.dial({ username: 'alice', password: 'pa55' }))).reason).toBe('already-connected');

    // Hang up, then the user can dial again.
    const ended = await nas.hangup(alice.id);
    expect(ended?.name).toBe('alice');
    expect((await c.write('/ppp/active/print', {}, { query: [] })).rows.map((r) => r['name'])).toEqual(['bob']);
    expect(router.state.menu('/ppp/secret').get('alice')).toMatchObject({ 'last-disconnect-reason': 'user-request' });
    expect((await nas.dial({ username: 'alice', password: 'pa55' })).address).toBe('10.10.0.11');
  });

  it('refuses what RouterOS refuses: unknown, disabled, wrong password, other service, caller-id, full pool', async () => {
    const router = await lab();
    const s = router.state;
    s.menu('/ip/pool').add({ name: 'tiny', ranges: '10.0.0.1' });
    s.menu('/ppp/profile').add({ name: 'p', 'remote-address': 'tiny' });
    s.menu('/ppp/secret').add({ name: 'off', password: 'x', disabled: true });
    s.menu('/ppp/secret').add({ name: 'vpn', password: 'x', service: 'l2tp' });
    s.menu('/ppp/secret').add({ name: 'mac', password: 'x', 'caller-id': 'AA:AA:AA:AA:AA:AA' });
    s.menu('/ppp/secret').add({ name: 'p1', password: 'x', profile: 'p' });
    s.menu('/ppp/secret').add({ name: 'p2', password: 'x', profile: 'p' });
    s.menu('/ppp/secret').add({ name: 'anyservice', password: 'x', service: 'any' });
    const nas = router.nas!;
    const reason = async (username: string, password = 'x', callerId?: string) =>
      (await rejection(nas.dial({ username, password, ...(callerId ? { callerId } : {}) }))).reason;
    expect(await reason('nobody')).toBe('no-such-user');
    expect(await reason('off')).toBe('secret-disabled');
    expect(await reason('vpn')).toBe('service-mismatch');
    expect(await reason('mac', 'x', 'BB:BB:BB:BB:BB:BB')).toBe('caller-id-mismatch');
    expect(await reason('anyservice', 'wrong')).toBe('wrong-password');
    expect((await nas.dial({ username: 'mac', password: 'x', callerId: 'aa:aa:aa:aa:aa:aa' })).name).toBe('mac');
    expect((await nas.dial({ username: 'p1', password: 'x' })).address).toBe('10.0.0.1');
    expect(await reason('p2')).toBe('pool-exhausted');
    // A session without a rate limit has no queue; no address configured means none.
    const plain = await nas.dial({ username: 'anyservice', password: 'x' });
    expect(plain.address).toBe('');
    expect(plain.rateLimit).toBeUndefined();
    expect(s.menu('/queue/simple').size).toBe(0);
    const err = await rejection(nas.dial({ username: 'off', password: 'x' }));
    expect(err).toMatchObject({ code: 'LAB_DIAL_REJECTED', kind: 'failure' });
    expect(err.message).toMatch(/off was refused \(secret-disabled\)/);
  });

  // How long it takes is measured in bench/scaling.mjs.
  it('dials thousands concurrently', async () => {
    const router = await lab();
    const s = router.state;
    s.menu('/ip/pool').add({ name: 'big', ranges: '10.64.0.1-10.64.31.255' });
    s.menu('/ppp/profile').add({ name: 'bulk', 'rate-limit': '5M/20M', 'remote-address': 'big' });
    for (let i = 0; i < 3000; i++) s.menu('/ppp/secret').add({ name: `sub${i}`, password: `pw${i}`, profile: 'bulk' });
    const sessions = await Promise.all(Array.from({ length: 3000 }, (_, i) => router.nas!.dial({ username: `sub${i}`, password: `pw${i}` })));
    expect(new Set(sessions.map((x) => x.address)).size).toBe(3000);
    expect(new Set(sessions.map((x) => x.acctSessionId)).size).toBe(3000);
    expect(new Set(sessions.map((x) => x.callerId)).size).toBe(3000);
    expect(s.menu('/ppp/active').size).toBe(3000);
    expect(s.menu('/queue/simple').size).toBe(3000);
  });

  it('/lab/dial, /lab/sessions/print and /lab/hangup over the API', async () => {
    const router = await lab();
    const c = await api(router);
    await c.write('/ppp/profile/add', { name: 'gold', 'rate-limit': '10M/50M' });
    await c.write('/ppp/secret/add', { name: 'alice', password: 'pa55', profile: 'gold', 'remote-address': '10.9.0.2' });
    const res = await c.write('/lab/dial', { name: 'alice', password: 'pa55', 'caller-id': 'AA:BB:CC:DD:EE:FF', auth: 'pap' });
    expect(res.rows).toEqual([
      expect.objectContaining({ name: 'alice', address: '10.9.0.2', 'rate-limit': '10M/50M', 'caller-id': 'AA:BB:CC:DD:EE:FF', radius: 'false', auth: 'pap' }),
    ]);
    expect(res.ret).toBe(res.rows[0]!['.id']);
    const sessions = (await c.write('/lab/sessions/print', {}, { proplist: ['name', 'session-id'] })).rows;
    expect(sessions).toEqual([{ name: 'alice', 'session-id': res.rows[0]!['session-id'] }]);

    const refused = await c.write('/lab/dial', { name: 'alice', password: 'nope' }).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(RouterOSTrapError);
    expect((refused as RouterOSTrapError).attributes['reason']).toBe('wrong-password');
    expect((refused as RouterOSTrapError).category).toBe(4);
    await expect(c.write('/lab/dial', { password: 'x' })).rejects.toMatchObject({ message: 'missing value(s) of argument(s) name', category: 1 });
    await expect(c.write('/lab/dial', { name: 'a', auth: 'mschap2' })).rejects.toMatchObject({ category: 1 });
    await expect(c.write('/lab/nothing')).rejects.toMatchObject({ category: 0 });

    // Hang up by session-id; an unknown one is `no such item`.
    await c.write('/lab/hangup', { '.id': res.rows[0]!['session-id']! });
    expect(router.state.menu('/ppp/active').size).toBe(0);
    await expect(c.write('/lab/hangup', { '.id': '*FFFF' })).rejects.toMatchObject({ message: 'no such item', category: 0 });

    // A read-only API user cannot dial.
    router.state.menu('/user').add({ name: 'viewer', group: 'read', password: 'v' });
    const ro = await RouterOSClient.connect({ host: '127.0.0.1', port: router.port, user: 'viewer', password: 'v' });
    cleanups.push(() => ro.destroy());
    await expect(ro.write('/lab/dial', { name: 'alice', password: 'pa55' })).rejects.toMatchObject({ message: 'not enough permissions (9)' });
  });

  it('a /lab/dial waiting on RADIUS can be cancelled', async () => {
    const router = await lab();
    const c = await api(router);
    const silent = await freeUdpPort();
    await c.write('/radius/add', { service: 'ppp', address: '127.0.0.1', secret: 's', 'authentication-port': silent, timeout: '2s' });
    await c.write('/ppp/aaa/set', { 'use-radius': true });
    const ac = new AbortController();
    const p = c.write('/lab/dial', { name: 'x', password: 'y' }, { signal: ac.signal });
    setTimeout(() => ac.abort(), 50);
    await expect(p).rejects.toMatchObject({ code: 'ROUTEROS_CANCELLED' });
    // The connection still works.
    expect((await c.write('/system/identity/print')).rows).toEqual([{ name: 'lab-nas' }]);
  });
});

// ---------------------------------------------------------------------------------------------

interface FakeRadius {
  server: RadiusServer;
  port: number;
  requests: DecodedRadiusPacket[];
  accounting: DecodedRadiusPacket[];
  reply: (req: DecodedRadiusPacket) => RadiusReply | undefined;
}

const SECRET = 'testing123-lab';

/** A RADIUS server that knows alice/pa55 and answers accounting. */
async function fakeRadius(): Promise<FakeRadius> {
  const fake: FakeRadius = {
    server: undefined as unknown as RadiusServer,
    port: 0,
    requests: [],
    accounting: [],
    reply: (req) => {
      const user = getAttribute(req, 'User-Name');
      const pap = getAttribute(req, 'User-Password');
      const chap = getAttribute(req, 'CHAP-Password');
      const challenge = getAttribute(req, 'CHAP-Challenge');
      const ok = user === 'alice' && (pap === 'pa55' || (chap !== undefined && challenge !== undefined && verifyChapPassword(chap, 'pa55', challenge)));
      if (!ok) return { code: 'Access-Reject', attributes: [attr('Reply-Message', 'bad password')] };
      return { code: 'Access-Accept', attributes: [attr('Mikrotik-Rate-Limit', '10M/50M'), attr('Framed-IP-Address', '10.0.0.5'), attr('Class', Buffer.from('plan-7'))] };
    },
  };
  fake.server = await startRadiusServer({
    secret: SECRET,
    handler: (req) => {
      if (req.code === 'Accounting-Request') {
        fake.accounting.push(req);
        return { code: 'Accounting-Response' };
      }
      fake.requests.push(req);
      return fake.reply(req);
    },
  });
  fake.port = fake.server.port;
  cleanups.push(() => fake.server.close());
  return fake;
}

async function radiusLab(fake: FakeRadius, opts: LabNasOptions = {}, extra: { interim?: string } = {}) {
  const router = await lab(opts);
  const c = await api(router);
  await c.write('/radius/add', {
    service: 'ppp',
    address: '127.0.0.1',
    secret: SECRET,
    'authentication-port': fake.port,
    'accounting-port': fake.port,
    timeout: '500ms',
  });
  await c.write('/ppp/aaa/set', { 'use-radius': true, accounting: true, 'interim-update': extra.interim ?? '0s' });
  return { router, c, nas: router.nas! };
}

const statusOf = (p: DecodedRadiusPacket) => getAttribute(p, 'Acct-Status-Type');

describe('lab NAS: RADIUS mode', () => {
  it('sends a complete Access-Request (CHAP and PAP) and applies the Accept', async () => {
    const fake = await fakeRadius();
    const { c, nas } = await radiusLab(fake);
    const s = await nas.dial({ username: 'alice', password: 'pa55', callerId: 'AA:BB:CC:00:11:22' });
    expect(s).toMatchObject({ name: 'alice', address: '10.0.0.5', rateLimit: '10M/50M', radius: true, authenticatedBy: 'radius', auth: 'chap' });
    const req = fake.requests[0]!;
    expect(hasAttribute(req, 'Message-Authenticator')).toBe(true);
    expect(getAttribute(req, 'User-Name')).toBe('alice');
    expect(hasAttribute(req, 'CHAP-Password')).toBe(true);
    expect(hasAttribute(req, 'User-Password')).toBe(false);
    expect(getAttribute(req, 'NAS-Identifier')).toBe('lab-nas');
    expect(getAttribute(req, 'NAS-IP-Address')).toBe('127.0.0.1');
    expect(getAttribute(req, 'NAS-Port-Type')).toBe(15);
    expect(getAttribute(req, 'NAS-Port-Id')).toBe('ether2');
    expect(getAttribute(req, 'Service-Type')).toBe(2);
    expect(getAttribute(req, 'Framed-Protocol')).toBe(1);
    expect(getAttribute(req, 'Calling-Station-Id')).toBe('AA:BB:CC:00:11:22');
    expect(getAttribute(req, 'Acct-Session-Id')).toBe(s.acctSessionId);

    const active = (await c.write('/ppp/active/print')).rows[0]!;
    expect(active).toMatchObject({ name: 'alice', address: '10.0.0.5', radius: 'true', 'session-id': s.sessionId });
    const queue = (await c.write('/queue/simple/print')).rows[0]!;
    expect(queue).toMatchObject({ name: '<pppoe-alice>', 'max-limit': '10000000/50000000', dynamic: 'true' });

    await nas.hangup(s.id);
    const pap = await nas.dial({ username: 'alice', password: 'pa55', auth: 'pap' });
    expect(getAttribute(fake.requests[1]!, 'User-Password')).toBe('pa55');
    expect(pap.auth).toBe('pap');

    const rejected = await rejection(nas.dial({ username: 'alice', password: 'wrong', auth: 'pap' }));
    expect(rejected.reason).toBe('radius-reject');
    expect(rejected.message).toMatch(/bad password/);
  });

  it('checks local secrets first, then RADIUS; a Framed-Pool or the profile gives the address', async () => {
    const fake = await fakeRadius();
    const { router, nas } = await radiusLab(fake);
    router.state.menu('/ppp/secret').add({ name: 'local', password: 'l0cal', 'remote-address': '10.1.1.1' });
    const local = await nas.dial({ username: 'local', password: 'l0cal' });
    expect(local.authenticatedBy).toBe('local');
    expect(fake.requests).toHaveLength(0);

    router.state.menu('/ip/pool').add({ name: 'radpool', ranges: '10.77.0.1-10.77.0.9' });
    router.state.menu('/ppp/profile').add({ name: 'silver', 'rate-limit': '2M/4M', 'remote-address': 'radpool' });
    fake.reply = () => ({ code: 'Access-Accept', attributes: [attr('Framed-Pool', 'radpool')] });
    const pooled = await nas.dial({ username: 'pooled', password: 'x' });
    expect(pooled.address).toBe('10.77.0.1');
    expect(pooled.rateLimit).toBeUndefined();
    fake.reply = () => ({ code: 'Access-Accept', attributes: [attr('Mikrotik-Group', 'silver')] });
    expect(await nas.dial({ username: 'grouped', password: 'x' })).toMatchObject({ address: '10.77.0.2', rateLimit: '2M/4M' });
    fake.reply = () => ({ code: 'Access-Accept', attributes: [attr('Mikrotik-Rate-Limit', 'fast please')] });
    expect((await rejection(nas.dial({ username: 'bad', password: 'x' }))).reason).toBe('invalid-rate-limit');
    fake.reply = () => ({ code: 'Access-Accept', attributes: [attr('Framed-IP-Address', '10.1.1.1')] });
    expect((await rejection(nas.dial({ username: 'clash', password: 'x' }))).reason).toBe('address-in-use');
  });

  it('refuses an Accept without Message-Authenticator unless require-message-auth=no', async () => {
    const fake = await fakeRadius();
    const { router, nas } = await radiusLab(fake, { radiusRetries: 0 });
    fake.reply = () => ({ code: 'Access-Accept', messageAuthenticator: false, attributes: [attr('Framed-IP-Address', '10.0.0.9')] });
    const err = await rejection(nas.dial({ username: 'alice', password: 'pa55' }));
    expect(err.reason).toBe('radius-invalid-response');
    expect(err.message).toMatch(/Message-Authenticator/);
    expect(router.state.menu('/ppp/active').size).toBe(0);

    router.state.menu('/radius').set(router.state.menu('/radius').list()[0]!['.id'], { 'require-message-auth': 'no' });
    expect((await nas.dial({ username: 'alice', password: 'pa55' })).address).toBe('10.0.0.9');
  });

  it('falls back to the next /radius entry when one does not answer; times out when none does', async () => {
    const fake = await fakeRadius();
    const router = await lab({ radiusRetries: 0 });
    const silent = await freeUdpPort();
    router.state.menu('/radius').add({ service: 'ppp', address: '127.0.0.1', secret: SECRET, 'authentication-port': silent, timeout: '200ms' });
    router.state.menu('/radius').add({ service: 'ppp', address: '127.0.0.1', secret: SECRET, 'authentication-port': fake.port, timeout: '200ms' });
    router.state.singleton('/ppp/aaa').set({ 'use-radius': true, accounting: false });
    const t0 = performance.now();
    expect((await router.nas!.dial({ username: 'alice', password: 'pa55' })).address).toBe('10.0.0.5');
    expect(performance.now() - t0).toBeGreaterThanOrEqual(190);
    router.state.menu('/radius').disable(router.state.menu('/radius').list()[1]!['.id']);
    expect((await rejection(router.nas!.dial({ username: 'alice', password: 'pa55' }))).reason).toBe('radius-timeout');
    router.state.menu('/radius').disable(router.state.menu('/radius').list()[0]!['.id']);
    expect((await rejection(router.nas!.dial({ username: 'alice', password: 'pa55' }))).reason).toBe('radius-not-configured');
  });

  it('sends accounting Start, Interim-Update and exactly one Stop with the right cause', async () => {
    const fake = await fakeRadius();
    const { router, c, nas } = await radiusLab(fake, { traffic: { upBytesPerSecond: 1000, downBytesPerSecond: 8000 } }, { interim: '1s' });
    const s = await nas.dial({ username: 'alice', password: 'pa55' });
    expect(s.interimMs).toBe(1000);
    await nas.settled();
    const start = fake.accounting[0]!;
    expect(statusOf(start)).toBe(1);
    expect(getAttribute(start, 'Acct-Session-Id')).toBe(s.acctSessionId);
    expect(getAttribute(start, 'Framed-IP-Address')).toBe('10.0.0.5');
    expect(getAttribute(start, 'Acct-Authentic')).toBe(1);
    expect(getAttribute(start, 'Class')).toEqual(Buffer.from('plan-7'));
    expect(getAttribute(start, 'NAS-Identifier')).toBe('lab-nas');

    await new Promise((r) => setTimeout(r, 1300));
    await nas.settled();
    const interim = fake.accounting.find((p) => statusOf(p) === 3)!;
    expect(interim).toBeDefined();
    expect(getAttribute(interim, 'Acct-Input-Octets')).toBeGreaterThan(0);
    expect(getAttribute(interim, 'Acct-Output-Octets')).toBeGreaterThan(getAttribute(interim, 'Acct-Input-Octets')!);

    // /ppp/active/remove over the API: Admin-Reset, once.
    await c.write('/ppp/active/remove', { '.id': s.id });
    await nas.settled();
    router.state.removeActiveSession(s.id);
    await nas.settled();
    const stops = fake.accounting.filter((p) => statusOf(p) === 2);
    expect(stops).toHaveLength(1);
    expect(getAttribute(stops[0]!, 'Acct-Terminate-Cause')).toBe(6);
    expect(getAttribute(stops[0]!, 'Acct-Session-Time')).toBeGreaterThanOrEqual(1);
    const count = fake.accounting.length;
    await new Promise((r) => setTimeout(r, 1200));
    expect(fake.accounting.length).toBe(count); // no interim after the end

    // Hangup: User-Request. Closing the router: NAS-Reboot.
    const s2 = await nas.dial({ username: 'alice', password: 'pa55' });
    await nas.hangup(s2.acctSessionId);
    expect(getAttribute(fake.accounting.at(-1)!, 'Acct-Terminate-Cause')).toBe(1);
    await nas.dial({ username: 'alice', password: 'pa55' });
    await router.close();
    expect(getAttribute(fake.accounting.at(-1)!, 'Acct-Terminate-Cause')).toBe(11);
  });

  it('Accounting-On at start; Session-Timeout and Acct-Interim-Interval from the Accept', async () => {
    const fake = await fakeRadius();
    const state = new RouterState();
    state.menu('/radius').add({ service: 'ppp', address: '127.0.0.1', secret: SECRET, 'authentication-port': fake.port, 'accounting-port': fake.port });
    state.singleton('/ppp/aaa').set({ 'use-radius': true });
    const second = await startLabRouter({ state, nas: { sendAccountingOn: true } });
    cleanups.push(() => second.close());
    await second.nas!.settled();
    expect(statusOf(fake.accounting[0]!)).toBe(7);

    fake.reply = () => ({ code: 'Access-Accept', attributes: [attr('Session-Timeout', 1), attr('Acct-Interim-Interval', 60)] });
    const s = await second.nas!.dial({ username: 'short', password: 'x' });
    expect(s).toMatchObject({ sessionTimeout: 1, interimMs: 60_000 });
    await new Promise((r) => setTimeout(r, 1200));
    await second.nas!.settled();
    expect(second.state.getActiveSession(s.id)).toBeUndefined();
    expect(getAttribute(fake.accounting.at(-1)!, 'Acct-Terminate-Cause')).toBe(5);
  });
});

// ---------------------------------------------------------------------------------------------

describe('lab NAS: /radius incoming (CoA and Disconnect)', () => {
  async function coaLab() {
    const fake = await fakeRadius();
    const env = await radiusLab(fake);
    const port = await freeUdpPort();
    await env.c.write('/radius/incoming/set', { accept: true, port });
    await env.nas.settled();
    expect(env.nas.incomingPort()).toBe(port);
    const send = (code: 'CoA-Request' | 'Disconnect-Request', attributes: RadiusAttribute[], opts: { secret?: string; sourceAddress?: string; timeoutMs?: number } = {}) =>
      radiusRequest({
        host: '127.0.0.1',
        port,
        secret: opts.secret ?? SECRET,
        timeoutMs: opts.timeoutMs ?? 1000,
        retries: 0,
        packet: { code, attributes },
        ...(opts.sourceAddress ? { sourceAddress: opts.sourceAddress } : {}),
      });
    return { ...env, fake, port, send };
  }

  it('CoA changes the rate limit (the dynamic queue); unknown sessions get 503', async () => {
    const { router, nas, send } = await coaLab();
    const s = await nas.dial({ username: 'alice', password: 'pa55' });
    const ack = await send('CoA-Request', [attr('User-Name', 'alice'), attr('Acct-Session-Id', s.acctSessionId), attr('Mikrotik-Rate-Limit', '5M/20M')]);
    expect(ack.packet.code).toBe('CoA-ACK');
    expect(hasAttribute(ack.packet, 'Message-Authenticator')).toBe(true);
    expect(router.state.menu('/queue/simple').list()).toEqual([expect.objectContaining({ name: '<pppoe-alice>', 'max-limit': '5000000/20000000' })]);
    expect(nas.session(s.id)?.rateLimit).toBe('5M/20M');

    // Framed-IP-Address alone finds it too.
    expect((await send('CoA-Request', [attr('Framed-IP-Address', '10.0.0.5'), attr('Mikrotik-Rate-Limit', '1M/2M')])).packet.code).toBe('CoA-ACK');

    const nakOf = async (attributes: RadiusAttribute[], code: 'CoA-Request' | 'Disconnect-Request' = 'CoA-Request') => {
      const r = await send(code, attributes);
      expect(r.packet.code).toBe(code === 'CoA-Request' ? 'CoA-NAK' : 'Disconnect-NAK');
      return getAttribute(r.packet, 'Error-Cause');
    };
    expect(await nakOf([attr('User-Name', 'alice'), attr('Acct-Session-Id', 'deadbeef'), attr('Mikrotik-Rate-Limit', '1M/1M')])).toBe(ERROR_CAUSE['Session-Context-Not-Found']);
    expect(await nakOf([attr('User-Name', 'bob'), attr('Acct-Session-Id', s.acctSessionId), attr('Mikrotik-Rate-Limit', '1M/1M')])).toBe(503);
    expect(await nakOf([attr('Mikrotik-Rate-Limit', '1M/1M')])).toBe(ERROR_CAUSE['Missing-Attribute']);
    expect(await nakOf([attr('User-Name', 'alice'), attr('Mikrotik-Rate-Limit', 'lots')])).toBe(ERROR_CAUSE['Invalid-Attribute-Value']);
    expect(await nakOf([attr('User-Name', 'alice')])).toBe(ERROR_CAUSE['Invalid-Request']);
    expect(await nakOf([attr('User-Name', 'alice'), attr('NAS-Identifier', 'other-router')], 'Disconnect-Request')).toBe(ERROR_CAUSE['NAS-Identification-Mismatch']);
    expect(router.state.getActiveSession(s.id)).toBeDefined();
  });

  it('Disconnect drops the session and sends one Stop with NAS-Request', async () => {
    const { router, nas, fake, send } = await coaLab();
    const s = await nas.dial({ username: 'alice', password: 'pa55' });
    const r = await send('Disconnect-Request', [attr('User-Name', 'alice'), attr('Acct-Session-Id', s.acctSessionId)]);
    expect(r.packet.code).toBe('Disconnect-ACK');
    expect(router.state.menu('/ppp/active').size).toBe(0);
    expect(router.state.menu('/queue/simple').size).toBe(0);
    await nas.settled();
    const stops = fake.accounting.filter((p) => statusOf(p) === 2);
    expect(stops).toHaveLength(1);
    expect(getAttribute(stops[0]!, 'Acct-Terminate-Cause')).toBe(10);
    // Again: the session is gone.
    const again = await send('Disconnect-Request', [attr('User-Name', 'alice'), attr('Acct-Session-Id', s.acctSessionId)]);
    expect(again.packet.code).toBe('Disconnect-NAK');
    expect(getAttribute(again.packet, 'Error-Cause')).toBe(503);
  });

  it('drops requests from unknown sources, with the wrong secret or without Message-Authenticator', async () => {
    const { nas, send } = await coaLab();
    const s = await nas.dial({ username: 'alice', password: 'pa55' });
    const target = [attr('User-Name', 'alice'), attr('Acct-Session-Id', s.acctSessionId)];
    await expect(send('Disconnect-Request', target, { secret: 'wrong', timeoutMs: 200 })).rejects.toBeInstanceOf(RadiusTimeoutError);
    expect(nas.droppedRequests().at(-1)?.reason).toBe('bad-authenticator');
    await expect(send('Disconnect-Request', target, { sourceAddress: '127.0.0.2', timeoutMs: 200 })).rejects.toBeInstanceOf(RadiusTimeoutError);
    expect(nas.droppedRequests().at(-1)?.reason).toBe('unknown-client');
    const noMa = await radiusRequest({
      host: '127.0.0.1',
      port: nas.incomingPort()!,
      secret: SECRET,
      timeoutMs: 200,
      retries: 0,
      messageAuthenticator: false,
      packet: { code: 'Disconnect-Request', attributes: target },
    }).catch((e: unknown) => e);
    expect(noMa).toBeInstanceOf(RadiusTimeoutError);
    expect(nas.droppedRequests().at(-1)?.reason).toBe('missing-message-authenticator');
    expect(nas.session(s.id)).toBeDefined();
  });

  it('follows /radius incoming: accept=no stops listening, a new port moves the listener', async () => {
    const { c, nas, port } = await coaLab();
    await c.write('/radius/incoming/set', { accept: false });
    await nas.settled();
    expect(nas.incomingPort()).toBeUndefined();
    const other = await freeUdpPort();
    await c.write('/radius/incoming/set', { accept: true, port: other });
    await nas.settled();
    expect(nas.incomingPort()).toBe(other);
    expect(other).not.toBe(port);
  });
});
