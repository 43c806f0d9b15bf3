import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  RouterOSArgumentError,
  RouterOSCancelledError,
  RouterOSClient,
  RouterOSConnectError,
  RouterOSConnectionClosedError,
  RouterOSFatalError,
  RouterOSLoginError,
  RouterOSProtocolError,
  RouterOSTimeoutError,
  RouterOSTrapError,
  type RouterOSConnectOptions,
  q,
} from '../../../src/core/routeros/index.js';
import { type FakeRouter, type FakeRouterOptions, type Received, startFakeRouter } from './fake-router.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

async function setup(
  routerOpts: FakeRouterOptions = {},
  clientOpts: Partial<RouterOSConnectOptions> = {},
): Promise<{ router: FakeRouter; client: RouterOSClient }> {
  const router = await startFakeRouter(routerOpts);
  cleanups.push(() => router.close());
  const client = await RouterOSClient.connect({
    host: '127.0.0.1',
    port: router.port,
    user: router.user,
    password: router.password,
    ...clientOpts,
  });
  cleanups.push(() => client.close());
  return { router, client };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(cond: () => boolean, ms = 30_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await sleep(5);
  }
}

/** Settled state of a promise, without waiting. */
function watch<T>(p: Promise<T>): { settled: boolean } {
  const s = { settled: false };
  p.then(
    () => (s.settled = true),
    () => (s.settled = true),
  );
  return s;
}

describe('login', () => {
  it('logs in with the 6.43+ form', async () => {
    const { router, client } = await setup({ loginMode: 'plain', user: 'ops', password: 'p=ss wörd' });
    expect(client.isOpen).toBe(true);
    const login = router.received[0]!;
    expect(login.command).toBe('/login');
    expect(login.attrs).toEqual({ name: 'ops', password: 'p=ss wörd' });
    expect(login.tag).toBeUndefined();
  });

  it('falls back to the MD5 challenge when the reply carries =ret=', async () => {
    const { router, client } = await setup({ loginMode: 'challenge', user: 'ops', password: 'pässwörd' });
    expect(client.isOpen).toBe(true);
    const [first, second] = router.received;
    expect(first!.attrs.password).toBe('pässwörd');
    expect(second!.attrs.name).toBe('ops');
    expect(second!.attrs.response).toMatch(/^00[0-9a-f]{32}$/);
    await expect(client.write('/system/identity/print')).resolves.toMatchObject({ rows: [] });
  });

  for (const loginMode of ['plain', 'challenge'] as const) {
    it(`rejects wrong credentials with RouterOSLoginError (${loginMode})`, async () => {
      const router = await startFakeRouter({ loginMode });
      cleanups.push(() => router.close());
      const err = await RouterOSClient.connect({ host: '127.0.0.1', port: router.port, user: 'admin', password: 'wrong' }).catch(
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(RouterOSLoginError);
      expect((err as Error).message).toContain('invalid user name or password');
      expect((err as Error).message).not.toContain('wrong');
    });
  }

  it('reports a refused connection as RouterOSConnectError', async () => {
    const srv = net.createServer();
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
    const port = (srv.address() as net.AddressInfo).port;
    await new Promise<void>((r) => srv.close(() => r()));
    await expect(RouterOSClient.connect({ host: '127.0.0.1', port, user: 'a', password: 'b' })).rejects.toBeInstanceOf(RouterOSConnectError);
  });

  it('times out a login the router never answers', async () => {
    const srv = net.createServer((s) => s.on('error', () => {}));
    const sockets: net.Socket[] = [];
    srv.on('connection', (s) => sockets.push(s));
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
    cleanups.push(() => new Promise<void>((r) => { sockets.forEach((s) => s.destroy()); srv.close(() => r()); }));
    const port = (srv.address() as net.AddressInfo).port;
    await expect(RouterOSClient.connect({ host: '127.0.0.1', port, user: 'a', password: 'b', timeoutMs: 100 })).rejects.toBeInstanceOf(
      RouterOSTimeoutError,
    );
  });
});

describe('commands and replies', () => {
  it('parses rows: values with = or empty, .id keys, ret', async () => {
    const { client } = await setup({
      handler: (cmd, conn) => {
        conn.row(cmd.tag, { '.id': '*1A', name: 'juan', comment: 'a=b=c', 'caller-id': '' });
        conn.send(['!re', '=__proto__=x', `.tag=${cmd.tag}`]);
        conn.done(cmd.tag, { ret: 'R' });
      },
    });
    const res = await client.write('/ppp/secret/print');
    expect(res.rows[0]).toEqual({ '.id': '*1A', name: 'juan', comment: 'a=b=c', 'caller-id': '' });
    expect(Object.getOwnPropertyDescriptor(res.rows[1], '__proto__')?.value).toBe('x');
    expect(Object.getPrototypeOf(res.rows[1])).toBe(Object.prototype);
    expect(res.ret).toBe('R');
    expect(res.empty).toBe(false);
  });

  it('writes params safely: yes/no, numbers, undefined skipped, proplist and query words in order', async () => {
    const { router, client } = await setup();
    await client.write(
      '/ppp/secret/print',
      { disabled: true, 'only-one': false, count: 5, skipped: undefined, comment: 'x=y\nz' },
      { proplist: ['.id', 'name'], query: [q.eq('profile', '10M'), q.has('comment'), q.missing('caller-id'), q.lt('a', 1), q.gt('b', 2), q.or()] },
    );
    const cmd = router.received.at(-1)!;
    expect(cmd.words.slice(0, -1)).toEqual([
      '/ppp/secret/print',
      '=disabled=yes',
      '=only-one=no',
      '=count=5',
      '=comment=x=y\nz',
      '=.proplist=.id,name',
      '?profile=10M',
      '?comment',
      '?-caller-id',
      '?<a=1',
      '?>b=2',
      '?#|',
    ]);
    expect(cmd.words.at(-1)).toMatch(/^\.tag=/);
  });

  it('refuses unsafe names, paths and NUL bytes before sending anything', async () => {
    const { router, client } = await setup();
    const before = router.received.length;
    await expect(client.write('/ppp/secret/print =x=1')).rejects.toBeInstanceOf(RouterOSArgumentError);
    await expect(client.write('ppp/secret')).rejects.toBeInstanceOf(RouterOSArgumentError);
    await expect(client.write('/ppp/secret/add', { 'name=x': 'y' })).rejects.toBeInstanceOf(RouterOSArgumentError);
    await expect(client.write('/ppp/secret/add', { '.tag': 'y' })).rejects.toBeInstanceOf(RouterOSArgumentError);
    await expect(client.write('/ppp/secret/add', { name: 'a\0b' })).rejects.toBeInstanceOf(RouterOSArgumentError);
    await expect(client.write('/ppp/secret/add', { n: NaN })).rejects.toBeInstanceOf(RouterOSArgumentError);
    await expect(client.write('/ppp/secret/print', {}, { proplist: ['name,password'] })).rejects.toBeInstanceOf(RouterOSArgumentError);
    await expect(client.write('/x', {}, { query: [{ word: '?x' } as never] })).rejects.toBeInstanceOf(RouterOSArgumentError);
    await expect(client.command(['/x', '.tag=9'])).rejects.toBeInstanceOf(RouterOSArgumentError);
    await sleep(20);
    expect(router.received.length).toBe(before);
  });

  for (const tagPosition of ['first', 'after-type', 'last'] as const) {
    it(`demultiplexes interleaved replies by tag (tag ${tagPosition})`, async () => {
      const held: Received[] = [];
      const { client } = await setup({
        tagPosition,
        handler: (cmd, conn) => {
          held.push(cmd);
          if (held.length < 3) return;
          // Reply in reverse order, interleaving rows of different commands.
          for (const c of [...held].reverse()) conn.row(c.tag, { n: c.attrs.n! });
          for (const c of held) conn.row(c.tag, { n: c.attrs.n! + '-2' });
          for (const c of [...held].reverse()) conn.done(c.tag, { ret: c.attrs.n! });
        },
      });
      const results = await Promise.all(['1', '2', '3'].map((n) => client.write('/echo', { n })));
      results.forEach((r, i) => {
        const n = String(i + 1);
        expect(r.rows).toEqual([{ n }, { n: `${n}-2` }]);
        expect(r.ret).toBe(n);
      });
    });
  }

  it('carries 1,000 concurrent commands on one connection, answered out of order', async () => {
    const held: Received[] = [];
    const { router, client } = await setup({
      handler: (cmd, conn) => {
        held.push(cmd);
        if (held.length < 1000) return;
        held.sort(() => Math.random() - 0.5);
        for (const c of held) {
          conn.row(c.tag, { i: c.attrs.i! });
          conn.done(c.tag);
        }
      },
    });
    const all = await Promise.all(Array.from({ length: 1000 }, (_, i) => client.write('/test/echo', { i })));
    all.forEach((r, i) => expect(r.rows).toEqual([{ i: String(i) }]));
    expect(router.connections).toHaveLength(1);
    expect(new Set(held.map((c) => c.tag)).size).toBe(1000);
    expect(client.pendingCount).toBe(0);
  });

  // Its speed (no per-command quadratic cost) is measured in bench/scaling.mjs.
  it('answers 5,000 pipelined commands, each with its own reply', async () => {
    const { client } = await setup({ handler: (cmd, conn) => conn.done(cmd.tag, { ret: cmd.attrs.i! }) });
    const res = await Promise.all(Array.from({ length: 5000 }, (_, i) => client.write('/x', { i })));
    res.forEach((r, i) => expect(r.ret).toBe(String(i)));
    expect(client.pendingCount).toBe(0);
  });

  it('treats !empty as no rows, then !done', async () => {
    const { client } = await setup({
      handler: (cmd, conn) => {
        conn.reply(cmd.tag, '!empty');
        conn.done(cmd.tag);
      },
    });
    await expect(client.write('/ppp/active/print')).resolves.toEqual({ rows: [], empty: true, done: {} });
    await expect(client.write('/ppp/active/print')).resolves.toMatchObject({ empty: true });
  });

  it('rejects !trap with category and message, only after !done', async () => {
    const { client } = await setup({
      handler: (cmd, conn) => {
        if (cmd.attrs.cat === 'none') conn.trap(cmd.tag, 'failure: no category');
        else conn.trap(cmd.tag, 'failure: already have such name', Number(cmd.attrs.cat));
        setTimeout(() => conn.done(cmd.tag), 150);
      },
    });
    const p = client.write('/ppp/secret/add', { cat: 1 });
    const w = watch(p);
    await sleep(80);
    expect(w.settled).toBe(false);
    const err = await p.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RouterOSTrapError);
    expect(err).toMatchObject({ category: 1, message: 'failure: already have such name', command: '/ppp/secret/add' });
    for (const cat of [0, 2, 3, 4, 5, 6, 7]) {
      await expect(client.write('/x', { cat })).rejects.toMatchObject({ category: cat });
    }
    await expect(client.write('/x', { cat: 'none' })).rejects.toMatchObject({ category: undefined, message: 'failure: no category' });
    expect(client.isOpen).toBe(true);
  });

  it('!fatal rejects every pending command and closes the connection', async () => {
    let n = 0;
    const { client } = await setup({
      handler: (_cmd, conn) => {
        if (++n === 3) {
          conn.send(['!fatal', 'too many commands']);
          conn.socket.end();
        }
      },
    });
    const ps = [client.write('/a'), client.write('/b'), client.write('/c')];
    const errs = await Promise.all(ps.map((p) => p.catch((e: unknown) => e)));
    for (const e of errs) {
      expect(e).toBeInstanceOf(RouterOSFatalError);
      expect((e as RouterOSFatalError).reason).toBe('too many commands');
    }
    const reason = await client.closed;
    expect(reason).toBeInstanceOf(RouterOSFatalError);
    expect(client.isOpen).toBe(false);
    await expect(client.write('/d')).rejects.toBeInstanceOf(RouterOSConnectionClosedError);
  });

  it('a protocol error (reserved control byte) fails pending commands and closes', async () => {
    const { client } = await setup({ handler: (_cmd, conn) => conn.socket.write(Buffer.from([0xf8])) });
    await expect(client.write('/x')).rejects.toBeInstanceOf(RouterOSProtocolError);
    expect(await client.closed).toBeInstanceOf(RouterOSProtocolError);
  });

  for (const size of [127, 128, 16383, 16384, 2 * 1024 * 1024]) {
    it(`sends and receives words of ${size} bytes`, async () => {
      const { router, client } = await setup({
        handler: (cmd, conn) => {
          // Echo the value back in a reply word of the same byte length (`=v=` + value).
          conn.send(['!re', `=v=${cmd.attrs.v}`, `.tag=${cmd.tag}`]);
          conn.done(cmd.tag);
        },
      });
      // A 3-byte multi-byte character at the end checks that lengths count bytes.
      const value = 'x'.repeat(size - 3 - 3) + '€';
      expect(Buffer.byteLength(`=v=${value}`)).toBe(size);
      const res = await client.write('/echo', { v: value });
      expect(Buffer.byteLength(router.received.at(-1)!.words[1]!)).toBe(size);
      expect(res.rows[0]!.v).toBe(value);
    });
  }

  it('decodes UTF-8 replies, and others with the fallback code page', async () => {
    const reply = (cmd: Received, conn: { send(w: Array<string | Buffer>): void }) => {
      conn.send(['!re', '=name=Łódź 日本', Buffer.concat([Buffer.from('=comment=Pe'), Buffer.from([0xf1, 0x61, 0x20, 0x80])]), `.tag=${cmd.tag}`]);
      conn.send(['!done', `.tag=${cmd.tag}`]);
    };
    const { client } = await setup({ handler: reply });
    const res = await client.write('/ppp/secret/print');
    expect(res.rows[0]).toEqual({ name: 'Łódź 日本', comment: 'Peña €' });

    const { client: cyr } = await setup({ handler: reply }, { fallbackEncoding: 'windows-1251' });
    expect((await cyr.write('/ppp/secret/print')).rows[0]!.comment).toBe('Peсa Ђ');
  });
});

describe('connection loss, timeouts and cancel', () => {
  it('rejects every pending command promptly when the router drops the connection', async () => {
    let seen = 0;
    const { client } = await setup({
      handler: (_cmd, conn) => {
        if (++seen === 50) conn.destroy();
      },
    });
    const closes: unknown[] = [];
    client.onClose((r) => closes.push(r));
    const ps = Array.from({ length: 50 }, (_, i) => client.write('/slow', { i }));
    const errs = await Promise.all(ps.map((p) => p.catch((e: unknown) => e)));
    // Rejected by the loss itself, not by a timeout (that would be a RouterOSTimeoutError).
    for (const e of errs) expect(e).toBeInstanceOf(RouterOSConnectionClosedError);
    expect(await client.closed).toBeInstanceOf(RouterOSConnectionClosedError);
    expect(closes).toHaveLength(1);
    expect(closes[0]).toBeInstanceOf(RouterOSConnectionClosedError);
    await expect(client.write('/after')).rejects.toBeInstanceOf(RouterOSConnectionClosedError);
    // A listener registered after the end still hears about it.
    const late = await new Promise((r) => client.onClose(r));
    expect(late).toBeInstanceOf(RouterOSConnectionClosedError);
  });

  it('never raises an unhandled rejection for promises nobody awaits', async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (r: unknown) => unhandled.push(r);
    process.on('unhandledRejection', onUnhandled);
    try {
      let seen = 0;
      const { client } = await setup({
        handler: (cmd, conn) => {
          seen++;
          if (seen === 1) {
            conn.trap(cmd.tag, 'boom', 4);
            conn.done(cmd.tag);
          }
          if (seen === 20) conn.destroy();
        },
      });
      client.write('/trapped');
      for (let i = 1; i < 20; i++) client.write('/ignored', { i });
      client.onClose(() => {
        throw new Error('listener failure must not escape');
      });
      await client.closed;
      client.write('/after-close');
      client.command(['bad']);
      await sleep(50);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
    expect(unhandled).toEqual([]);
  });

  it('times out a command and sends /cancel for its tag; a late reply is ignored', async () => {
    const held: Received[] = [];
    const { router, client } = await setup({
      handler: (cmd, conn) => {
        if (cmd.command === '/slow') held.push(cmd);
        else if (cmd.command === '/cancel') {
          conn.trap(cmd.attrs.tag, 'interrupted', 2);
          conn.done(cmd.attrs.tag);
          conn.done(cmd.tag);
        } else conn.done(cmd.tag, { ret: 'ok' });
      },
    });
    const t0 = Date.now();
    const err = await client.write('/slow', {}, { timeoutMs: 100 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RouterOSTimeoutError);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(95);
    await until(() => router.received.some((c) => c.command === '/cancel'));
    const cancel = router.received.find((c) => c.command === '/cancel')!;
    expect(cancel.attrs.tag).toBe(held[0]!.tag);
    expect(cancel.tag).toBeDefined();
    // Late sentences for the timed-out tag and the /cancel do not disturb anything.
    router.connections[0]!.done(held[0]!.tag);
    await expect(client.write('/fast')).resolves.toMatchObject({ ret: 'ok' });
    expect(client.pendingCount).toBe(0);
  });

  it('times out each command at its own deadline, whatever order they were sent in', async () => {
    const { client } = await setup({ handler: () => {} }, { timeoutMs: 5_000 });
    const t0 = Date.now();
    const long = client.write('/long', {}, { timeoutMs: 400 });
    const none = client.write('/listen', {}, { timeoutMs: 0 });
    const byDefault = client.write('/default');
    const short = client.write('/short', {}, { timeoutMs: 60 });
    const w = { long: watch(long), none: watch(none), byDefault: watch(byDefault) };
    const err = await short.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RouterOSTimeoutError);
    expect((err as RouterOSTimeoutError).message).toContain('/short got no reply');
    expect((err as RouterOSTimeoutError).message).toContain('within 60 ms');
    expect(Date.now() - t0).toBeGreaterThanOrEqual(55);
    expect(w).toEqual({ long: { settled: false }, none: { settled: false }, byDefault: { settled: false } });
    const err2 = await long.catch((e: unknown) => e);
    expect(err2).toBeInstanceOf(RouterOSTimeoutError);
    expect((err2 as RouterOSTimeoutError).message).toContain('within 400 ms');
    expect(Date.now() - t0).toBeGreaterThanOrEqual(395);
    expect(client.pendingCount).toBe(2);
    expect(w.byDefault.settled).toBe(false);
    await client.close();
    await expect(none).rejects.toBeInstanceOf(RouterOSConnectionClosedError);
    await expect(byDefault).rejects.toBeInstanceOf(RouterOSConnectionClosedError);
  });

  it('uses the connection default timeout, and 0 disables it', async () => {
    const { client } = await setup({ handler: () => {} }, { timeoutMs: 80 });
    await expect(client.write('/x')).rejects.toBeInstanceOf(RouterOSTimeoutError);
    const p = client.write('/listen', {}, { timeoutMs: 0 });
    const w = watch(p);
    await sleep(200);
    expect(w.settled).toBe(false);
    await client.close();
    await expect(p).rejects.toBeInstanceOf(RouterOSConnectionClosedError);
  });

  it('cancel(tag) rejects the command and sends /cancel; AbortSignal does the same', async () => {
    const { router, client } = await setup({
      handler: (cmd, conn) => {
        if (cmd.command === '/cancel') {
          conn.trap(cmd.attrs.tag, 'interrupted', 2);
          conn.done(cmd.attrs.tag);
          conn.done(cmd.tag);
        }
      },
    });
    const h = client.start(['/interface/listen']);
    expect(h.tag).toMatch(/^\d+$/);
    await expect(client.cancel(h.tag)).resolves.toBe(true);
    await expect(h.result).rejects.toBeInstanceOf(RouterOSCancelledError);
    expect(router.received.find((c) => c.command === '/cancel')!.attrs.tag).toBe(h.tag);
    await expect(client.cancel(h.tag)).resolves.toBe(false);
    await expect(client.cancel('nope')).resolves.toBe(false);

    const ac = new AbortController();
    const p = client.write('/interface/listen', {}, { signal: ac.signal });
    ac.abort();
    await expect(p).rejects.toBeInstanceOf(RouterOSCancelledError);
    await expect(client.write('/x', {}, { signal: AbortSignal.abort() })).rejects.toBeInstanceOf(RouterOSCancelledError);
    await until(() => router.received.filter((c) => c.command === '/cancel').length === 2);
  });

  it('streams rows to onRow (listen); a throwing onRow cancels the command', async () => {
    const { router, client } = await setup({
      handler: (cmd, conn) => {
        if (cmd.command === '/cancel') return conn.done(cmd.tag);
        for (let i = 0; i < 3; i++) conn.row(cmd.tag, { i: String(i) });
        if (cmd.command === '/print') conn.done(cmd.tag);
      },
    });
    const seen: string[] = [];
    const res = await client.write('/print', {}, { onRow: (r) => seen.push(r.i!) });
    expect(seen).toEqual(['0', '1', '2']);
    expect(res.rows).toEqual([]);

    const err = await client
      .write('/listen', {}, { timeoutMs: 0, onRow: (r) => { if (r.i === '1') throw new Error('stop here'); } })
      .catch((e: unknown) => e);
    expect((err as Error).message).toBe('stop here');
    await until(() => router.received.some((c) => c.command === '/cancel'));
    expect(client.pendingCount).toBe(0);
  });

  it('close() rejects pending commands, sends /quit and resolves once closed', async () => {
    const { router, client } = await setup({ handler: () => {} });
    const p = client.write('/pending');
    await until(() => router.received.some((c) => c.command === '/pending'));
    await client.close();
    await expect(p).rejects.toBeInstanceOf(RouterOSConnectionClosedError);
    expect(router.received.at(-1)!.command).toBe('/quit');
    expect(await client.closed).toBeUndefined();
    await expect(client.write('/x')).rejects.toBeInstanceOf(RouterOSConnectionClosedError);
    await client.close();
  });
});

describe('TLS', () => {
  function makeCert(): { key: string; cert: string } | undefined {
    const dir = mkdtempSync(join(tmpdir(), 'routeros-tls-'));
    try {
      execFileSync(
        'openssl',
        ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'),
          '-days', '1', '-subj', '/CN=router.test', '-addext', 'subjectAltName=IP:127.0.0.1,DNS:router.test'],
        { stdio: 'ignore' },
      );
      return { key: readFileSync(join(dir, 'key.pem'), 'utf8'), cert: readFileSync(join(dir, 'cert.pem'), 'utf8') };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }

  it('talks API-SSL with a trusted certificate and refuses an untrusted one', async (ctx) => {
    const pair = makeCert();
    if (!pair) {
      ctx.skip('openssl CLI not found: cannot generate a test certificate');
      return;
    }
    const { router, client } = await setup(
      { tls: pair, handler: (cmd, conn) => { conn.row(cmd.tag, { name: 'lab' }); conn.done(cmd.tag); } },
      { tls: { ca: pair.cert } },
    );
    expect(client.tls).toBe(true);
    await expect(client.write('/system/identity/print')).resolves.toMatchObject({ rows: [{ name: 'lab' }] });

    await expect(
      RouterOSClient.connect({ host: '127.0.0.1', port: router.port, user: router.user, password: router.password, tls: true }),
    ).rejects.toBeInstanceOf(RouterOSConnectError);

    const named = await RouterOSClient.connect({
      host: '127.0.0.1', port: router.port, user: router.user, password: router.password,
      tls: { ca: pair.cert, servername: 'router.test' },
    });
    await named.close();
  });

  it('defaults to port 8729 with TLS and 8728 without', () => {
    // Only checks the defaults as exported; no connection is attempted to those ports.
    return import('../../../src/core/routeros/index.js').then((m) => {
      expect(m.DEFAULT_PORT).toBe(8728);
      expect(m.DEFAULT_TLS_PORT).toBe(8729);
    });
  });
});
