import { describe, expect, it } from 'vitest';
import { RouterState, type ChangeEvent, type SessionDownEvent } from '../../../src/lab/state.js';
import { RouterTrap } from '../../../src/lab/trap.js';

function trapOf(fn: () => unknown): RouterTrap {
  try {
    fn();
  } catch (e) {
    if (e instanceof RouterTrap) return e;
    throw e;
  }
  throw new Error('expected a RouterTrap');
}

function clock(start = Date.UTC(2025, 0, 1)): { now: () => number; advance: (ms: number) => void } {
  let t = start;
  return { now: () => t, advance: (ms) => void (t += ms) };
}

describe('RouterState: a new router', () => {
  it('has the built-in profiles with RouterOS ids, default-encryption printed last', () => {
    const s = new RouterState();
    s.menu('/ppp/profile').add({ name: 'gold' });
    const profiles = s.menu('/ppp/profile').list();
    expect(profiles.map((p) => [p['.id'], p.name, p.default])).toEqual([
      ['*0', 'default', 'true'],
      [expect.stringMatching(/^\*[0-9A-F]+$/), 'gold', 'false'],
      ['*FFFFFFFE', 'default-encryption', 'true'],
    ]);
  });

  it('has an admin user (full) whose password is never printed', () => {
    const s = new RouterState({ adminPassword: 'pw' });
    const admin = s.menu('/user').get('admin')!;
    expect(admin.group).toBe('full');
    expect(admin).not.toHaveProperty('password');
    expect(s.checkApiLogin({ name: 'admin', password: 'pw' })).toEqual({ name: 'admin', group: 'full' });
    expect(s.checkApiLogin({ name: 'admin', password: 'nope' })).toBeUndefined();
  });

  it('has the fixed /ip/service rows', () => {
    const s = new RouterState();
    const services = s.menu('/ip/service').list();
    expect(services.map((r) => r.name)).toEqual(['telnet', 'ftp', 'www', 'ssh', 'www-ssl', 'api', 'winbox', 'api-ssl']);
    expect(s.menu('/ip/service').get('api')).toMatchObject({ port: '8728', disabled: 'false' });
    expect(s.menu('/ip/service').get('api-ssl')).toMatchObject({ port: '8729', certificate: 'none', 'tls-version': 'any' });
    expect(trapOf(() => s.menu('/ip/service').add({ name: 'x' })).message).toBe('no such command');
    s.menu('/ip/service').set('www', { port: 8080 });
    expect(s.menu('/ip/service').get('www')!.port).toBe('8080');
  });

  it('has singletons with defaults', () => {
    const s = new RouterState({ identity: 'lab-1' });
    expect(s.singleton('/system/identity').get()).toEqual({ name: 'lab-1' });
    expect(s.singleton('/ppp/aaa').get()).toEqual({ 'use-radius': 'false', accounting: 'true', 'interim-update': '0s' });
    expect(s.singleton('/radius/incoming').get()).toEqual({ accept: 'false', port: '3799' });
    expect(s.singleton('/system/resource').get()).toMatchObject({ version: '7.18.2 (stable)', 'board-name': 'CHR' });
  });
});

describe('RouterState: secrets and profiles', () => {
  it('allocates *HEX ids from one increasing counter per router', () => {
    const s = new RouterState();
    const a = s.menu('/ppp/secret').add({ name: 'a' });
    const pool = s.menu('/ip/pool').add({ name: 'p', ranges: '10.0.0.2-10.0.0.9' });
    const b = s.menu('/ppp/secret').add({ name: 'b' });
    const n = (id: string) => Number.parseInt(id.slice(1), 16);
    expect(n(pool['.id'])).toBe(n(a['.id']) + 1);
    expect(n(b['.id'])).toBe(n(a['.id']) + 2);
    s.menu('/ppp/secret').remove(b['.id']);
    const c = s.menu('/ppp/secret').add({ name: 'c' });
    expect(n(c['.id'])).toBeGreaterThan(n(b['.id']));
  });

  it('fills defaults and omits empty optional fields', () => {
    const s = new RouterState();
    const row = s.menu('/ppp/secret').add({ name: 'alice', password: 'x' });
    expect(row).toEqual({
      '.id': row['.id'],
      name: 'alice',
      service: 'any',
      password: 'x',
      profile: 'default',
      'limit-bytes-in': '0',
      'limit-bytes-out': '0',
      disabled: 'false',
    });
    expect(Object.keys(row)[0]).toBe('.id');
  });

  it('refuses a duplicate name like RouterOS (failure, no category)', () => {
    const s = new RouterState();
    s.menu('/ppp/secret').add({ name: 'alice' });
    const t = trapOf(() => s.menu('/ppp/secret').add({ name: 'alice' }));
    expect(t.message).toBe('failure: secret with the same name already exists');
    expect(t.category).toBeUndefined();
    s.menu('/ppp/secret').add({ name: 'bob' });
    expect(trapOf(() => s.menu('/ppp/secret').set('bob', { name: 'alice' })).message).toMatch(/same name/);
  });

  it('checks values: profile reference, booleans, addresses, enums, unknown fields', () => {
    const secrets = new RouterState().menu('/ppp/secret');
    const cases: Array<[Record<string, string>, string]> = [
      [{ name: 'a', profile: 'nope' }, 'input does not match any value of profile'],
      [{ name: 'a', disabled: 'maybe' }, 'value of disabled must be yes or no'],
      [{ name: 'a', 'remote-address': '10.0.0.300' }, 'invalid value for argument remote-address'],
      [{ name: 'a', service: 'isdn' }, 'input does not match any value of service'],
      [{ name: 'a', colour: 'red' }, 'unknown parameter colour'],
      [{ name: 'a', 'last-logged-out': 'x' }, 'unknown parameter last-logged-out'],
      [{ password: 'x' }, 'missing value(s) of argument(s) name'],
    ];
    for (const [values, message] of cases) {
      const t = trapOf(() => secrets.add(values));
      expect(t.message).toBe(message);
      expect(t.category).toBe(1);
    }
  });

  it('accepts yes/no/true/false and prints true/false', () => {
    const secrets = new RouterState().menu('/ppp/secret');
    secrets.add({ name: 'a', disabled: 'yes' });
    secrets.add({ name: 'b', disabled: true });
    secrets.add({ name: 'c', disabled: 'false' });
    expect(secrets.list().map((r) => r.disabled)).toEqual(['true', 'true', 'false']);
  });

  it('accepts names where ids go, and comma-separated lists', () => {
    const s = new RouterState();
    const secrets = s.menu('/ppp/secret');
    const a = secrets.add({ name: 'a' });
    secrets.add({ name: 'b' });
    secrets.add({ name: 'c' });
    secrets.disable(`${a['.id']},b`);
    expect(secrets.find((r) => r.disabled === 'true').map((r) => r.name)).toEqual(['a', 'b']);
    secrets.remove('a,c');
    expect(secrets.list().map((r) => r.name)).toEqual(['b']);
    expect(trapOf(() => secrets.remove('b,zzz')).message).toBe('no such item');
    expect(secrets.size).toBe(1); // nothing removed when one target is missing
    expect(trapOf(() => secrets.remove('*FFFF')).category).toBe(0);
  });

  it('ids are case-insensitive', () => {
    const secrets = new RouterState().menu('/ppp/secret');
    const row = secrets.add({ name: 'a' });
    expect(secrets.get(row['.id'].toLowerCase())?.name).toBe('a');
  });

  it('references follow renames: secrets print the profile by its current name', () => {
    const s = new RouterState();
    s.menu('/ppp/profile').add({ name: 'gold' });
    s.menu('/ppp/secret').add({ name: 'alice', profile: 'gold' });
    s.menu('/ppp/profile').set('gold', { name: 'platinum' });
    expect(s.menu('/ppp/secret').get('alice')!.profile).toBe('platinum');
  });

  it('profiles take an address or a pool name; built-ins cannot be removed or renamed', () => {
    const s = new RouterState();
    s.menu('/ip/pool').add({ name: 'pool1', ranges: '10.1.0.2-10.1.0.254' });
    const p = s.menu('/ppp/profile').add({ name: 'gold', 'local-address': '10.1.0.1', 'remote-address': 'pool1', 'rate-limit': '10M/50M' });
    expect(p).toMatchObject({ 'local-address': '10.1.0.1', 'remote-address': 'pool1', 'rate-limit': '10M/50M', 'only-one': 'default' });
    expect(trapOf(() => s.menu('/ppp/profile').set('gold', { 'remote-address': 'nopool' })).category).toBe(1);
    expect(trapOf(() => s.menu('/ppp/profile').set('gold', { 'rate-limit': 'fast' })).category).toBe(1);
    expect(trapOf(() => s.menu('/ppp/profile').remove('default')).message).toBe('failure: can not remove default profile');
    expect(trapOf(() => s.menu('/ppp/profile').set('*0', { name: 'x' })).message).toMatch(/^failure:/);
  });

  it('unset returns a field to its default or removes it', () => {
    const secrets = new RouterState().menu('/ppp/secret');
    secrets.add({ name: 'a', comment: 'hi', service: 'pppoe' });
    secrets.unset('a', ['comment', 'service']);
    const row = secrets.get('a')!;
    expect(row).not.toHaveProperty('comment');
    expect(row.service).toBe('any');
  });

  it('setting an empty value removes an optional field', () => {
    const secrets = new RouterState().menu('/ppp/secret');
    secrets.add({ name: 'a', comment: 'hi', 'remote-address': '10.0.0.5' });
    secrets.set('a', { comment: '', 'remote-address': '' });
    expect(secrets.get('a')).not.toHaveProperty('comment');
    expect(secrets.get('a')).not.toHaveProperty('remote-address');
  });
});

describe('RouterState: other menus', () => {
  it('/queue/simple: rates in bits per second, generated names, targets as prefixes', () => {
    const queues = new RouterState().menu('/queue/simple');
    const q = queues.add({ target: '10.0.0.5', 'max-limit': '10M/20M' });
    expect(q).toMatchObject({ name: 'queue1', target: '10.0.0.5/32', 'max-limit': '10000000/20000000', 'limit-at': '0/0', dynamic: 'false' });
    expect(trapOf(() => queues.add({ name: 'x' })).message).toBe('missing value(s) of argument(s) target');
    expect(trapOf(() => queues.add({ name: 'queue1', target: '10.0.0.6' })).message).toMatch(/same name/);
    expect(trapOf(() => queues.set('queue1', { dynamic: 'yes' })).message).toBe('unknown parameter dynamic');
  });

  it('/radius: ports and message-auth defaults; the option is missing before 7.15', () => {
    const r = new RouterState().menu('/radius').add({ address: '127.0.0.1', secret: 's', service: 'ppp' });
    expect(r).toMatchObject({ 'authentication-port': '1812', 'accounting-port': '1813', 'require-message-auth': 'yes-for-request-resp', timeout: '300ms' });
    const old = new RouterState({ version: '7.12' }).menu('/radius');
    expect(old.add({ address: '127.0.0.1' })).not.toHaveProperty('require-message-auth');
    expect(trapOf(() => old.add({ address: '127.0.0.2', 'require-message-auth': 'no' })).message).toBe(
      'unknown parameter require-message-auth',
    );
    expect(new RouterState({ version: '6.49.17' }).menu('/radius').add({ address: '127.0.0.1' })).toHaveProperty('require-message-auth');
  });

  it('singletons: set without id, bad values trap', () => {
    const s = new RouterState();
    s.singleton('/ppp/aaa').set({ 'use-radius': 'yes', 'interim-update': '00:05:00' });
    expect(s.singleton('/ppp/aaa').get()).toEqual({ 'use-radius': 'true', accounting: 'true', 'interim-update': '5m' });
    s.singleton('/radius/incoming').set({ accept: true, port: 1700 });
    expect(s.singleton('/radius/incoming').get()).toEqual({ accept: 'true', port: '1700' });
    expect(trapOf(() => s.singleton('/system/resource').set({ 'cpu-load': '5' })).category).toBe(1);
  });

  it('/ip/address computes network and refuses the same address twice on an interface', () => {
    const a = new RouterState().menu('/ip/address');
    expect(a.add({ address: '192.168.88.1/24', interface: 'ether1' })).toMatchObject({ network: '192.168.88.0', 'actual-interface': 'ether1' });
    expect(trapOf(() => a.add({ address: '192.168.88.1/24', interface: 'ether1' })).message).toBe('failure: already have such address');
    a.add({ address: '192.168.88.1/24', interface: 'ether2' });
  });

  it('/interface/wireguard generates keys and ports; peers reference interfaces by name', () => {
    const s = new RouterState();
    const wg = s.menu('/interface/wireguard').add({ name: 'wg0' });
    expect(wg['listen-port']).toBe('13231');
    expect(wg['public-key']).toMatch(/^[A-Za-z0-9+/]{43}=$/);
    expect(s.menu('/interface/wireguard').add({ name: 'wg1' })['listen-port']).toBe('13232');
    expect(trapOf(() => s.menu('/interface/wireguard').add({ name: 'wg0' })).message).toBe('failure: already have interface with such name');
    const peer = s.menu('/interface/wireguard/peers').add({ interface: 'wg0', 'public-key': wg['public-key'], 'allowed-address': '10.9.0.2' });
    expect(peer).toMatchObject({ interface: 'wg0', 'allowed-address': '10.9.0.2/32', 'endpoint-port': '0' });
    expect(trapOf(() => s.menu('/interface/wireguard/peers').add({ interface: 'wg9', 'public-key': wg['public-key'] })).category).toBe(1);
  });

  it('/user: group required and checked, address restricts API logins', () => {
    const s = new RouterState();
    expect(trapOf(() => s.menu('/user').add({ name: 'ops', password: 'x' })).message).toBe('missing value(s) of argument(s) group');
    expect(trapOf(() => s.menu('/user').add({ name: 'ops', group: 'root' })).category).toBe(1);
    s.menu('/user').add({ name: 'ops', group: 'read', password: 'x', address: '10.0.0.0/8' });
    expect(s.checkApiLogin({ name: 'ops', password: 'x' }, '10.1.2.3')).toEqual({ name: 'ops', group: 'read' });
    expect(s.checkApiLogin({ name: 'ops', password: 'x' }, '::ffff:127.0.0.1')).toBeUndefined();
    s.menu('/user').disable('ops');
    expect(s.checkApiLogin({ name: 'ops', password: 'x' }, '10.1.2.3')).toBeUndefined();
  });
});

describe('RouterState: PPP sessions (the NAS hooks)', () => {
  function setup() {
    const c = clock();
    const s = new RouterState({ now: c.now });
    s.menu('/ip/pool').add({ name: 'pool2', ranges: '10.2.0.0/30' });
    s.menu('/ip/pool').add({ name: 'pool1', ranges: '10.1.0.2-10.1.0.3', 'next-pool': 'pool2' });
    s.menu('/ppp/profile').add({ name: 'gold', 'remote-address': 'pool1', 'local-address': '10.1.0.1', 'rate-limit': '10M/50M', 'only-one': 'yes' });
    s.menu('/ppp/secret').add({ name: 'alice', password: 'pw', profile: 'gold', service: 'pppoe' });
    return { s, c };
  }

  it('lookupPppUser resolves the secret, its profile, addresses and rate limit', () => {
    const { s } = setup();
    const u = s.lookupPppUser('alice')!;
    expect(u.secret.password).toBe('pw');
    expect(u.profile.name).toBe('gold');
    expect(u).toMatchObject({ localAddress: '10.1.0.1', remoteAddress: 'pool1', rateLimit: '10M/50M', onlyOne: true, activeSessions: [] });
    expect(s.lookupPppUser('nobody')).toBeUndefined();
  });

  it('a session gets an /ppp/active entry and a dynamic queue that cannot be changed', () => {
    const { s, c } = setup();
    const ups: string[] = [];
    s.on('session-up', (x) => ups.push(x.name));
    const sess = s.addActiveSession({ name: 'alice', address: s.allocatePoolAddress('pool1'), callerId: '02:00:00:00:00:01', rateLimit: '10M/50M' });
    expect(ups).toEqual(['alice']);
    c.advance(3_723_000);
    const active = s.menu('/ppp/active').list();
    expect(active).toEqual([
      {
        '.id': sess.id,
        name: 'alice',
        service: 'pppoe',
        'caller-id': '02:00:00:00:00:01',
        address: '10.1.0.2',
        uptime: '1h2m3s',
        'session-id': sess.sessionId,
        'limit-bytes-in': '0',
        'limit-bytes-out': '0',
        radius: 'false',
      },
    ]);
    const queue = s.menu('/queue/simple').get(sess.queueId!)!;
    expect(queue).toMatchObject({ name: '<pppoe-alice>', target: '<pppoe-alice>', 'max-limit': '10000000/50000000', dynamic: 'true' });
    expect(trapOf(() => s.menu('/queue/simple').remove(queue['.id'])).message).toBe('failure: can not remove dynamic');
    expect(trapOf(() => s.menu('/queue/simple').set(queue['.id'], { 'max-limit': '1M/1M' })).message).toBe('failure: can not change dynamic');
    expect(trapOf(() => s.menu('/ppp/active').add({ name: 'x' })).message).toBe('no such command');
  });

  it('removing a session (API or programmatic) fires session-down, drops the queue and notes the logout', () => {
    const { s } = setup();
    const downs: SessionDownEvent[] = [];
    s.on('session-down', (e) => downs.push(e));
    const sess = s.addActiveSession({ name: 'alice', address: '10.1.0.2', callerId: '02:00:00:00:00:01', rateLimit: '10M/50M' });
    s.menu('/ppp/active').remove(sess.id);
    expect(downs).toHaveLength(1);
    expect(downs[0]!.reason).toBe('admin-reset');
    expect(downs[0]!.session).toMatchObject({ name: 'alice', address: '10.1.0.2', sessionId: sess.sessionId });
    expect(s.menu('/ppp/active').size).toBe(0);
    expect(s.menu('/queue/simple').size).toBe(0);
    expect(s.menu('/ppp/secret').get('alice')).toMatchObject({ 'last-caller-id': '02:00:00:00:00:01', 'last-disconnect-reason': 'admin-reset' });
    expect(s.removeActiveSession(sess.id)).toBeUndefined();
  });

  it('pools hand out free addresses, skip those in use, and overflow to next-pool', () => {
    const { s } = setup();
    const got: string[] = [];
    for (let i = 0; i < 6; i++) {
      const ip = s.allocatePoolAddress('pool1')!;
      got.push(ip);
      s.addActiveSession({ name: `u${i}`, address: ip });
    }
    expect(got).toEqual(['10.1.0.2', '10.1.0.3', '10.2.0.0', '10.2.0.1', '10.2.0.2', '10.2.0.3']);
    expect(s.allocatePoolAddress('pool1')).toBeUndefined();
    expect(trapOf(() => s.addActiveSession({ name: 'x', address: '10.1.0.2' })).message).toMatch(/already in use/);
  });

  it('a second session of the same user gets its own interface and queue', () => {
    const { s } = setup();
    const a = s.addActiveSession({ name: 'alice', rateLimit: '1M/2M' });
    const b = s.addActiveSession({ name: 'alice', rateLimit: '1M/2M' });
    expect([a.interfaceName, b.interfaceName]).toEqual(['<pppoe-alice>', '<pppoe-alice-1>']);
    expect(s.menu('/queue/simple').size).toBe(2);
    expect(s.lookupPppUser('alice')!.activeSessions).toHaveLength(2);
    // Ended, the first one's interface name is free again; the user's sessions are the rest.
    s.removeActiveSession(a.id);
    expect(s.lookupPppUser('alice')!.activeSessions.map((x) => x.id)).toEqual([b.id]);
    expect(s.addActiveSession({ name: 'alice' }).interfaceName).toBe('<pppoe-alice>');
    s.removeActiveSession(b.id);
    expect(s.sessionsOf('alice')).toHaveLength(1);
    expect(s.sessionsOf('bob')).toEqual([]);
  });

  it('setSessionRateLimit replaces the dynamic queue (what a CoA does)', () => {
    const { s } = setup();
    const sess = s.addActiveSession({ name: 'alice', rateLimit: '10M/50M' });
    const after = s.setSessionRateLimit(sess.id, '1M/2M 2M/4M 800k/1600k 8/8');
    expect(s.menu('/queue/simple').list()).toEqual([
      expect.objectContaining({ '.id': after.queueId, 'max-limit': '1000000/2000000', 'burst-limit': '2000000/4000000', 'burst-time': '8s/8s' }),
    ]);
    s.setSessionRateLimit(sess.id, undefined);
    expect(s.menu('/queue/simple').size).toBe(0);
  });

  it('radiusServersFor lists enabled servers for a service', () => {
    const s = new RouterState();
    s.menu('/radius').add({ address: '127.0.0.1', service: 'ppp,login', secret: 'a' });
    s.menu('/radius').add({ address: '127.0.0.2', service: 'hotspot' });
    s.menu('/radius').add({ address: '127.0.0.3', service: 'ppp', disabled: true });
    expect(s.radiusServersFor('ppp').map((r) => r.address)).toEqual(['127.0.0.1']);
  });
});

describe('RouterState: events and saving', () => {
  it('emits change events with the printed row', () => {
    const s = new RouterState();
    const events: ChangeEvent[] = [];
    const off = s.on('change', (e) => events.push(e));
    const row = s.menu('/ppp/secret').add({ name: 'a' });
    s.menu('/ppp/secret').set('a', { comment: 'x' });
    s.menu('/ppp/secret').remove('a');
    s.singleton('/ppp/aaa').set({ accounting: 'no' });
    off();
    s.menu('/ppp/secret').add({ name: 'b' });
    expect(events.map((e) => [e.path, e.op, e.id])).toEqual([
      ['/ppp/secret', 'add', row['.id']],
      ['/ppp/secret', 'set', row['.id']],
      ['/ppp/secret', 'remove', row['.id']],
      ['/ppp/aaa', 'set', undefined],
    ]);
    expect(events[1]!.row.comment).toBe('x');
  });

  it('toJSON/fromJSON round-trips configuration (not sessions or dynamic queues)', () => {
    const s = new RouterState({ identity: 'edge-1', adminPassword: 'pw', version: '7.16' });
    s.menu('/ip/pool').add({ name: 'pool1', ranges: '10.1.0.2-10.1.0.254' });
    s.menu('/ppp/profile').add({ name: 'gold', 'remote-address': 'pool1', 'rate-limit': '10M/50M' });
    s.menu('/ppp/secret').add({ name: 'alice', password: 'pw', profile: 'gold' });
    s.menu('/interface/wireguard').add({ name: 'wg0' });
    s.singleton('/ppp/aaa').set({ 'use-radius': true });
    s.addActiveSession({ name: 'alice', rateLimit: '10M/50M' });
    const json = JSON.parse(JSON.stringify(s.toJSON()));
    const t = RouterState.fromJSON(json);
    expect(t.version.text).toBe('7.16');
    for (const path of ['/ppp/secret', '/ppp/profile', '/ip/pool', '/interface/wireguard', '/user', '/ip/service'] as const) {
      expect(t.menu(path).list()).toEqual(s.menu(path).list());
    }
    expect(t.singleton('/system/identity').get().name).toBe('edge-1');
    expect(t.singleton('/ppp/aaa').get()['use-radius']).toBe('true');
    expect(t.menu('/ppp/active').size).toBe(0);
    expect(t.menu('/queue/simple').size).toBe(0);
    expect(t.checkApiLogin({ name: 'admin', password: 'pw' })).toBeDefined();
    // The counter continues: no id is reused.
    const newId = Number.parseInt(t.menu('/ppp/secret').add({ name: 'bob' })['.id'].slice(1), 16);
    const maxOld = Math.max(...s.menu('/ppp/secret').list().map((r) => Number.parseInt(r['.id'].slice(1), 16)));
    expect(newId).toBeGreaterThan(maxOld);
    // A renamed profile still resolves after loading (references are ids).
    t.menu('/ppp/profile').set('gold', { name: 'gold2' });
    expect(t.menu('/ppp/secret').get('alice')!.profile).toBe('gold2');
  });

  it('fromJSON refuses what is not a lab state', () => {
    expect(() => RouterState.fromJSON({ hello: 1 })).toThrow(/not an ispctl lab router state/);
    expect(() =>
      RouterState.fromJSON({ format: 'ispctl-lab-router', formatVersion: 1, version: '7.18.2', nextId: 5, lists: { '/ppp/secret': [{ '.id': '*1', name: 'a' }, { '.id': '*2', name: 'a' }] }, singletons: {} }),
    ).toThrow(/duplicate name/);
  });
});

describe('RouterState: scale', () => {
  // How the time grows with the number of secrets is measured in bench/scaling.mjs.
  it('holds 10,000 secrets, finds each by name and lists them all', () => {
    const s = new RouterState();
    const secrets = s.menu('/ppp/secret');
    for (let i = 0; i < 10_000; i++) secrets.add({ name: `user${i}`, password: `pw${i}`, service: 'pppoe', comment: 'ispctl:svc-' + i });
    for (let i = 0; i < 10_000; i += 999) expect(secrets.get(`user${i}`)).toMatchObject({ password: `pw${i}` });
    const all = secrets.list();
    expect(all).toHaveLength(10_000);
    expect(new Set(all.map((r) => r.name)).size).toBe(10_000);
  });
});
