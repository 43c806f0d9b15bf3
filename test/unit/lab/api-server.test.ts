import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  RouterOSClient,
  RouterOSConnectionClosedError,
  RouterOSLoginError,
  RouterOSTimeoutError,
  RouterOSTrapError,
  q,
} from '../../../src/core/routeros/index.js';
import { type LabRouter, type LabRouterOptions, startLabRouter } from '../../../src/lab/api-server.js';
import { challengeResponse } from '../../../src/lab/state.js';
import { RawApi, attrs, tagOf } from './raw-api.js';
import { eventually } from '../../helpers/wait.js';

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

async function lab(opts: LabRouterOptions = {}): Promise<LabRouter> {
  const router = await startLabRouter({ adminPassword: 'pw', ...opts });
  cleanups.push(() => router.close());
  return router;
}

async function raw(router: LabRouter, login = true): Promise<RawApi> {
  const c = await RawApi.connect(router.port);
  cleanups.push(() => c.close());
  if (login) expect(await c.login('admin', 'pw')).toEqual([['!done']]);
  return c;
}

async function client(router: LabRouter, extra: { timeoutMs?: number; password?: string } = {}): Promise<RouterOSClient> {
  const c = await RouterOSClient.connect({ host: '127.0.0.1', port: router.port, user: 'admin', password: extra.password ?? 'pw', timeoutMs: extra.timeoutMs ?? 5000 });
  cleanups.push(() => c.destroy());
  return c;
}

describe('lab router API: login', () => {
  it('requires login before anything else', async () => {
    const router = await lab();
    const c = await raw(router, false);
    expect(await c.run('/system/identity/print')).toEqual([['!trap', '=message=not logged in'], ['!done']]);
    expect(await c.run('/login', '=name=admin', '=password=wrong')).toEqual([['!trap', '=message=invalid user name or password (6)'], ['!done']]);
    expect(await c.login('admin', 'pw')).toEqual([['!done']]);
    expect(await c.run('/system/identity/print')).toEqual([['!re', '=name=MikroTik'], ['!done']]);
  });

  it('6.43+ form through the client, and a wrong password is a login error', async () => {
    const router = await lab({ identity: 'edge-1' });
    const c = await client(router);
    const r = await c.write('/system/identity/print');
    expect(r.rows).toEqual([{ name: 'edge-1' }]);
    await expect(client(router, { password: 'nope' })).rejects.toBeInstanceOf(RouterOSLoginError);
  });

  it('challenge form on a pre-6.43 router: raw exchange and the client fallback', async () => {
    const router = await lab({ version: '6.42.12' });
    expect(router.loginMode).toBe('challenge');
    const c = await raw(router, false);
    const [done] = await c.run('/login');
    expect(done![0]).toBe('!done');
    const challenge = attrs(done!)['ret']!;
    expect(challenge).toMatch(/^[0-9a-f]{32}$/);
    const response = challengeResponse('pw', Buffer.from(challenge, 'hex'));
    expect(await c.run('/login', '=name=admin', `=response=${response}`)).toEqual([['!done']]);
    expect((await c.run('/system/resource/print', '=.proplist=version'))[0]).toEqual(['!re', '=version=6.42.12 (stable)']);

    // The client sends the new form first, sees =ret= and answers the challenge.
    const cl = await client(router);
    expect((await cl.write('/system/identity/print')).rows).toEqual([{ name: 'MikroTik' }]);
    await expect(client(router, { password: 'nope' })).rejects.toBeInstanceOf(RouterOSLoginError);
  });

  it('logs connections and commands, never passwords', async () => {
    const lines: string[] = [];
    const router = await lab({ adminPassword: 'hunter2-secret', log: (l) => lines.push(l) });
    const c = await RouterOSClient.connect({ host: '127.0.0.1', port: router.port, user: 'admin', password: 'hunter2-secret' });
    await c.write('/radius/add', { address: '127.0.0.1', secret: 'radius-shared-secret', service: 'ppp' });
    await c.close();
    await router.close();
    expect(lines.some((l) => l.includes('logged in as admin'))).toBe(true);
    expect(lines.some((l) => l.includes('/radius/add'))).toBe(true);
    expect(lines.join('\n')).not.toMatch(/hunter2-secret|radius-shared-secret/);
  });

  it('a 6.49 router accepts both forms', async () => {
    const router = await lab({ version: '6.49.17' });
    const c = await raw(router, false);
    expect(attrs((await c.run('/login'))[0]!)['ret']).toMatch(/^[0-9a-f]{32}$/);
    expect(await c.login('admin', 'pw')).toEqual([['!done']]);
  });

  it('users from /user log in; a disabled api service refuses connections', async () => {
    const router = await lab();
    router.state.menu('/user').add({ name: 'ispctl', group: 'write', password: 's3cret' });
    const c = await RouterOSClient.connect({ host: '127.0.0.1', port: router.port, user: 'ispctl', password: 's3cret' });
    cleanups.push(() => c.destroy());
    await expect(c.write('/user/add', { name: 'x', group: 'full' })).rejects.toMatchObject({ message: 'not enough permissions (9)' });
    router.state.menu('/ip/service').disable('api');
    const r = await RawApi.connect(router.port);
    await r.closed;
  });
});

describe('lab router API: replies', () => {
  it('!empty then !done on 7.18; only !done on 7.16 and 6.x', async () => {
    for (const [version, expected] of [
      ['7.18.2', [['!empty'], ['!done']]],
      ['7.16', [['!done']]],
      ['6.49.17', [['!done']]],
    ] as const) {
      const router = await lab({ version });
      const c = await raw(router);
      expect(await c.run('/ppp/secret/print')).toEqual(expected);
      const cl = await client(router);
      expect((await cl.write('/ppp/secret/print')).empty).toBe(true);
    }
  });

  it('tagged commands: every reply carries the tag; many commands in flight', async () => {
    const router = await lab();
    router.state.menu('/ppp/secret').add({ name: 'alice' });
    router.state.menu('/ppp/secret').add({ name: 'bob' });
    const c = await raw(router);
    router.faults.delayMs = 30;
    c.send('/ppp/secret/print', '=.proplist=name', '.tag=p');
    c.send('/ppp/secret/add', '=name=alice', '.tag=a');
    c.send('/ppp/profile/print', '?name=none', '.tag=e');
    const got = await c.until((s) => s[0] === '!done' && tagOf(s) === 'e');
    router.faults.delayMs = 0;
    expect(got).toEqual([
      ['!re', '=name=alice', '.tag=p'],
      ['!re', '=name=bob', '.tag=p'],
      ['!done', '.tag=p'],
      ['!trap', '=message=failure: secret with the same name already exists', '.tag=a'],
      ['!done', '.tag=a'],
      ['!empty', '.tag=e'],
      ['!done', '.tag=e'],
    ]);
    const [done] = await c.run('/ppp/secret/add', '=name=carol', '.tag=x');
    expect(done).toEqual(['!done', '.tag=x', expect.stringMatching(/^=ret=\*[0-9A-F]+$/)]);
  });

  it('the client reads adds, queries and trap categories', async () => {
    const router = await lab();
    const c = await client(router);
    const profileId = (await c.write('/ppp/profile/add', { name: 'gold', 'rate-limit': '10M/50M' })).ret!;
    expect(profileId).toMatch(/^\*[0-9A-F]+$/);
    await c.write('/ppp/secret/add', { name: 'alice', password: 'x', profile: 'gold', service: 'pppoe' });
    await c.write('/ppp/secret/add', { name: 'bob', password: 'y', disabled: true });
    const rows = (await c.write('/ppp/secret/print', {}, { query: [q.or(q.eq('name', 'alice'), q.eq('disabled', true))], proplist: ['name', 'profile'] })).rows;
    expect(rows).toEqual([
      { name: 'alice', profile: 'gold' },
      { name: 'bob', profile: 'default' },
    ]);
    const trapOf = async (p: Promise<unknown>) => {
      try {
        await p;
      } catch (e) {
        expect(e).toBeInstanceOf(RouterOSTrapError);
        return { message: (e as RouterOSTrapError).message, category: (e as RouterOSTrapError).category };
      }
      throw new Error('expected a trap');
    };
    expect(await trapOf(c.write('/ppp/secret/add', { name: 'alice' }))).toEqual({ message: 'failure: secret with the same name already exists', category: undefined });
    expect(await trapOf(c.write('/ppp/secret/remove', { '.id': '*FFFF' }))).toEqual({ message: 'no such item', category: 0 });
    expect(await trapOf(c.write('/ppp/secret/add', { password: 'x' }))).toEqual({ message: 'missing value(s) of argument(s) name', category: 1 });
    expect(await trapOf(c.write('/ppp/secret/add', { name: 'z', profile: 'silver' }))).toEqual({ message: 'input does not match any value of profile', category: 1 });
    expect(await trapOf(c.write('/ppp/secret/explode'))).toEqual({ message: 'no such command', category: 0 });
    // The connection is fine after traps.
    expect((await c.write('/ppp/secret/print', { 'count-only': '' })).ret).toBe('2');
  });

  it('/quit answers !fatal and closes', async () => {
    const router = await lab();
    const c = await raw(router);
    c.send('/quit');
    expect(await c.next()).toEqual(['!fatal', 'session terminated on request']);
    await c.closed;
  });

  it('/cancel interrupts a command in flight (delayed), then acknowledges', async () => {
    const router = await lab();
    const c = await raw(router);
    router.faults.delayMs = 300;
    c.send('/system/resource/print', '.tag=slow');
    c.send('/cancel', '=tag=slow', '.tag=c');
    const got = await c.until((s) => tagOf(s) === 'c');
    router.faults.delayMs = 0;
    expect(got).toEqual([
      ['!trap', '=category=2', '=message=interrupted', '.tag=slow'],
      ['!done', '.tag=slow'],
      ['!done', '.tag=c'],
    ]);
    expect(await c.silentFor(400)).toBe(true);
  });

  it('/cancel ends a listen on /ppp/active; /ppp/active/remove fires the NAS hook', async () => {
    const router = await lab();
    const c = await raw(router);
    const downs: string[] = [];
    router.state.on('session-down', (e) => downs.push(`${e.session.name}:${e.reason}`));
    c.send('/ppp/active/listen', '.tag=L');
    // A round trip on the same connection: the listen is running once this is answered.
    expect(await c.run('/system/identity/print', '.tag=sync')).toHaveLength(2);
    const sess = router.state.addActiveSession({ name: 'alice', address: '10.0.0.2', rateLimit: '5M/10M' });
    const re = await c.next();
    expect(attrs(re)).toMatchObject({ '.id': sess.id, name: 'alice', address: '10.0.0.2' });
    expect(tagOf(re)).toBe('L');
    expect(await c.run('/ppp/active/remove', `=.id=${sess.id}`, '.tag=r')).toEqual([
      ['!re', `=.id=${sess.id}`, '=.dead=true', '.tag=L'],
      ['!done', '.tag=r'],
    ]);
    expect(downs).toEqual(['alice:admin-reset']);
    expect(router.state.menu('/queue/simple').size).toBe(0);
    c.send('/cancel', '=tag=L');
    expect(await c.until()).toEqual([['!trap', '=category=2', '=message=interrupted', '.tag=L']].concat([['!done', '.tag=L']]));
    expect(await c.next()).toEqual(['!done']);
  });

  it('serves many concurrent connections', async () => {
    const router = await lab();
    const clients = await Promise.all(Array.from({ length: 25 }, () => client(router)));
    await Promise.all(clients.map((c, i) => c.write('/ppp/secret/add', { name: `u${i}` })));
    expect(router.state.menu('/ppp/secret').size).toBe(25);
    const counts = await Promise.all(clients.map((c) => c.write('/ppp/secret/print', {}, { proplist: ['name'] })));
    expect(counts.every((r) => r.rows.length === 25)).toBe(true);
    expect(router.connectionCount()).toBe(25);
  });
});

describe('lab router API: fault switches', () => {
  it('refuse: connections close at once', async () => {
    const router = await lab({ faults: { refuseConnections: true } });
    const c = await RawApi.connect(router.port);
    await c.closed;
    await expect(client(router)).rejects.toThrow();
    router.faults.refuseConnections = false;
    await client(router);
  });

  it('stall: commands are accepted and never answered (the client times out)', async () => {
    const router = await lab();
    const c = await client(router, { timeoutMs: 200 });
    router.faults.stallReplies = true;
    await expect(c.write('/system/identity/print')).rejects.toBeInstanceOf(RouterOSTimeoutError);
    router.faults.stallReplies = false;
    expect((await c.write('/system/identity/print')).rows).toEqual([{ name: 'MikroTik' }]);
  });

  it('delay: replies come N ms late', async () => {
    const router = await lab({ faults: { delayMs: 150 } });
    const c = await client(router);
    const t0 = performance.now();
    await c.write('/system/identity/print');
    expect(performance.now() - t0).toBeGreaterThanOrEqual(140);
  });

  it('drop after N commands: the connection closes and pending commands fail', async () => {
    const router = await lab({ faults: { dropAfterCommands: 2 } });
    const c = await client(router);
    await c.write('/system/identity/print');
    await c.write('/system/identity/print');
    await expect(c.write('/system/identity/print')).rejects.toBeInstanceOf(RouterOSConnectionClosedError);
  });

  it('switches are reachable over the API at run time (/lab/faults)', async () => {
    const router = await lab();
    const c = await raw(router);
    expect(await c.run('/lab/faults/set', '=delay-ms=120')).toEqual([['!done']]);
    expect(router.faults.delayMs).toBe(120);
    const t0 = performance.now();
    await c.run('/system/identity/print');
    expect(performance.now() - t0).toBeGreaterThanOrEqual(110);
  });

  it('dropConnections drops every open connection', async () => {
    const router = await lab();
    const c = await raw(router);
    router.dropConnections();
    await c.closed;
  });
});

describe('lab router API: scale', () => {
  // How long the print takes is measured in bench/routeros.mjs and bench/scaling.mjs.
  it('prints 10,000 secrets and finds one by a query', async () => {
    const router = await lab();
    const secrets = router.state.menu('/ppp/secret');
    router.state.menu('/ppp/profile').add({ name: 'gold', 'rate-limit': '10M/50M' });
    for (let i = 0; i < 10_000; i++) {
      secrets.add({ name: `sub${i}`, password: `pw-${i}`, profile: 'gold', service: 'pppoe', comment: `ispctl:svc=${i}` });
    }
    const c = await client(router, { timeoutMs: 10_000 });
    const r = await c.write('/ppp/secret/print');
    expect(r.rows).toHaveLength(10_000);
    expect(r.rows[9_999]).toMatchObject({ name: 'sub9999', profile: 'gold' });
    const one = await c.write('/ppp/secret/print', {}, { query: [q.eq('name', 'sub5000')] });
    expect(one.rows).toEqual([expect.objectContaining({ name: 'sub5000', password: 'pw-5000' })]);
  });
});

describe('lab router API: persistence and TLS', () => {
  function tempDir(): string {
    const dir = mkdtempSync(join(tmpdir(), 'ispctl-lab-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    return dir;
  }

  it('saves to the state file on change and loads it at start', async () => {
    const dir = tempDir();
    const file = join(dir, 'router.json');
    const first = await startLabRouter({ stateFile: file, adminPassword: 'pw', identity: 'edge-1', saveDebounceMs: 20 });
    expect(existsSync(file)).toBe(true);
    const c = await RouterOSClient.connect({ host: '127.0.0.1', port: first.port, user: 'admin', password: 'pw' });
    await c.write('/ppp/secret/add', { name: 'alice', password: 'x', service: 'pppoe' });
    await c.write('/ppp/aaa/set', { 'use-radius': true });
    first.state.addActiveSession({ name: 'alice', rateLimit: '1M/1M' });
    await c.close();
    // The save is debounced: wait for it rather than for a fixed time a busy machine may exceed.
    const saved = await eventually(() => {
      const s = JSON.parse(readFileSync(file, 'utf8'));
      return s.lists['/ppp/secret']?.length > 0 && s;
    }, 30_000, 'state file saved');
    expect(saved.lists['/ppp/secret']).toEqual([expect.objectContaining({ name: 'alice' })]);
    expect(saved.lists['/queue/simple']).toEqual([]);
    await first.close();
    expect(readdirSync(dir)).toEqual(['router.json']); // no temporary files left behind

    const second = await startLabRouter({ stateFile: file, adminPassword: 'ignored' });
    cleanups.push(() => second.close());
    const c2 = await client(second);
    expect((await c2.write('/ppp/secret/print', {}, { proplist: ['name', 'service'] })).rows).toEqual([{ name: 'alice', service: 'pppoe' }]);
    expect((await c2.write('/ppp/aaa/print')).rows[0]!['use-radius']).toBe('true');
    expect((await c2.write('/system/identity/print')).rows).toEqual([{ name: 'edge-1' }]);
    expect((await c2.write('/ppp/active/print')).empty).toBe(true);
  });

  it('refuses to start on a corrupt state file (and leaves it alone)', async () => {
    const dir = tempDir();
    const file = join(dir, 'router.json');
    execFileSync('sh', ['-c', `printf '{nope' > "${file}"`]);
    await expect(startLabRouter({ stateFile: file })).rejects.toThrow(/not valid JSON/);
    expect(readFileSync(file, 'utf8')).toBe('{nope');
  });

  it('serves API-SSL with the given key and certificate', async () => {
    const dir = tempDir();
    const key = join(dir, 'key.pem');
    const cert = join(dir, 'cert.pem');
    execFileSync('openssl', [
      'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
      '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=lab', '-addext', 'subjectAltName=IP:127.0.0.1',
    ], { stdio: 'ignore' });
    const router = await lab({ tls: { key: readFileSync(key), cert: readFileSync(cert) } });
    expect(router.tlsPort).toBeGreaterThan(0);
    const c = await RouterOSClient.connect({ host: '127.0.0.1', port: router.tlsPort, user: 'admin', password: 'pw', tls: { ca: readFileSync(cert) } });
    cleanups.push(() => c.destroy());
    expect((await c.write('/system/identity/print')).rows).toEqual([{ name: 'MikroTik' }]);
    router.state.menu('/ip/service').disable('api-ssl');
    await expect(
      RouterOSClient.connect({ host: '127.0.0.1', port: router.tlsPort, user: 'admin', password: 'pw', tls: { ca: readFileSync(cert) }, timeoutMs: 1000 }),
    ).rejects.toThrow();
  });
});
