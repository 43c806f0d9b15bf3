// ispctl's RouterOS client and the lab router agree over real sockets: word length classes up to
// 2 MB, multi-byte UTF-8, 1,000 tagged commands in flight on one connection, `!fatal`, and
// connection loss in the middle of commands. (Login forms, `!empty`, trap categories, /cancel and
// the fault switches are in api-server.test.ts.)
import { afterEach, describe, expect, it } from 'vitest';
import {
  RouterOSClient,
  RouterOSConnectionClosedError,
  RouterOSFatalError,
  RouterOSTrapError,
  encodeWord,
  q,
} from '../../../src/core/routeros/index.js';
import { type LabRouter, type LabRouterOptions, startLabRouter } from '../../../src/lab/index.js';
import { RawApi, attrs } from './raw-api.js';

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

async function lab(opts: LabRouterOptions = {}): Promise<LabRouter> {
  const router = await startLabRouter({ adminPassword: 'pw', ...opts });
  cleanups.push(() => router.close());
  return router;
}

async function client(router: LabRouter, timeoutMs = 30_000): Promise<RouterOSClient> {
  const c = await RouterOSClient.connect({ host: '127.0.0.1', port: router.port, user: 'admin', password: 'pw', timeoutMs });
  cleanups.push(() => c.destroy());
  return c;
}

/** A comment whose `=comment=…` word is exactly `bytes` long, with multi-byte characters in it. */
function commentForWord(bytes: number): string {
  const room = bytes - Buffer.byteLength('=comment=');
  const unit = 'añ€😀'; // 1 + 2 + 3 + 4 bytes
  const unitBytes = Buffer.byteLength(unit);
  let s = unit.repeat(Math.floor(room / unitBytes));
  s += 'x'.repeat(room - Buffer.byteLength(s));
  return s;
}

describe('client and lab router agree on framing', () => {
  for (const size of [127, 128, 16_383, 16_384, 2_097_151, 2_097_152, 2 * 1024 * 1024 + 17]) {
    it(`a word of ${size} bytes goes through add and print intact`, async () => {
      const router = await lab();
      const c = await client(router, 20_000);
      const comment = commentForWord(size);
      const word = `=comment=${comment}`;
      expect(Buffer.byteLength(word)).toBe(size);
      // The length prefix class the word travels with.
      const prefix = encodeWord(word).length - size;
      expect(prefix).toBe(size < 0x80 ? 1 : size < 0x4000 ? 2 : size < 0x200000 ? 3 : 4);
      const id = (await c.write('/ppp/secret/add', { name: `w${size}`, password: 'x', comment })).ret!;
      const [row] = (await c.write('/ppp/secret/print', {}, { query: [q.eq('.id', id)], proplist: ['name', 'comment'] })).rows;
      expect(row!['comment']).toBe(comment);
      expect(router.state.menu('/ppp/secret').get(id)!.comment).toBe(comment);
    });
  }

  it('multi-byte UTF-8 names: add, query by name, set by name, print', async () => {
    const router = await lab();
    const c = await client(router);
    const names = ['José', 'ñandú-net', '北京-用户', 'Ωmega', 'emoji-😀-user', 'Ünïcödé'];
    for (const name of names) await c.write('/ppp/secret/add', { name, password: `pw-${name}`, comment: `for ${name} ✓` });
    for (const name of names) {
      const rows = (await c.write('/ppp/secret/print', {}, { query: [q.eq('name', name)], proplist: ['name', 'password', 'comment'] })).rows;
      expect(rows).toEqual([{ name, password: `pw-${name}`, comment: `for ${name} ✓` }]);
    }
    await c.write('/ppp/secret/set', { '.id': '北京-用户', comment: '新的' });
    expect(router.state.menu('/ppp/secret').get('北京-用户')!.comment).toBe('新的');
    await c.write('/system/identity/set', { name: 'Router-Zürich-東京' });
    expect((await c.write('/system/identity/print')).rows).toEqual([{ name: 'Router-Zürich-東京' }]);
    // The raw wire carries UTF-8 bytes with byte lengths.
    const raw = await RawApi.connect(router.port);
    cleanups.push(() => raw.close());
    await raw.login('admin', 'pw');
    const [re] = await raw.run('/ppp/secret/print', '?name=emoji-😀-user', '=.proplist=name');
    expect(attrs(re!)).toEqual({ name: 'emoji-😀-user' });
  });
});

describe('client and lab router agree on multiplexing', () => {
  it('1,000 concurrent tagged commands on one connection, each with its own answer', async () => {
    const router = await lab();
    const c = await client(router, 20_000);
    router.state.menu('/ppp/profile').add({ name: 'gold', 'rate-limit': '10M/50M' });
    const adds = Array.from({ length: 500 }, (_, i) => c.write('/ppp/secret/add', { name: `u${i}`, password: `p${i}`, profile: 'gold' }));
    const prints = Array.from({ length: 300 }, (_, i) => c.write('/ppp/profile/print', {}, { query: [q.eq('name', i % 2 ? 'gold' : 'default')], proplist: ['name'] }));
    const traps = Array.from({ length: 100 }, () => c.write('/ppp/secret/remove', { '.id': '*FFFFFF' }).then(() => 'ok', (e: unknown) => e));
    const empties = Array.from({ length: 100 }, () => c.write('/ppp/active/print'));
    expect(c.pendingCount).toBe(1000);
    const ids = await Promise.all(adds);
    expect(new Set(ids.map((r) => r.ret)).size).toBe(500);
    const printed = await Promise.all(prints);
    printed.forEach((r, i) => expect(r.rows).toEqual([{ name: i % 2 ? 'gold' : 'default' }]));
    for (const t of await Promise.all(traps)) expect(t).toMatchObject({ message: 'no such item', category: 0 });
    for (const e of await Promise.all(empties)) expect(e.empty).toBe(true);
    expect(c.pendingCount).toBe(0);
    expect(router.state.menu('/ppp/secret').size).toBe(500);
  });

  it('/quit: the router answers !fatal, the client reports it and closes', async () => {
    const router = await lab();
    const c = await client(router);
    const pending = c.write('/system/resource/print');
    const quit = c.command(['/quit']);
    await expect(quit).rejects.toBeInstanceOf(RouterOSFatalError);
    await expect(quit).rejects.toMatchObject({ reason: 'session terminated on request' });
    expect((await pending).rows).toHaveLength(1); // answered before the /quit
    const reason = await c.closed;
    expect(reason).toBeInstanceOf(RouterOSFatalError);
    expect(c.isOpen).toBe(false);
    await expect(c.write('/system/identity/print')).rejects.toBeInstanceOf(RouterOSConnectionClosedError);
  });
});

describe('connection loss in the middle of commands', () => {
  it('the router drops the connection with 500 commands in flight: every one rejects at once', async () => {
    const router = await lab();
    const c = await client(router, 5000);
    router.faults.stallReplies = true;
    const inflight = Array.from({ length: 500 }, (_, i) =>
      i % 2 ? c.write('/ppp/secret/print') : c.write('/ppp/secret/add', { name: `n${i}` }),
    );
    // A round trip on another connection: the stalled commands have all arrived by now.
    await new Promise((r) => setTimeout(r, 50));
    router.dropConnections();
    const results = await Promise.allSettled(inflight);
    // Rejected by the drop, not by the client's timeout (that would be a RouterOSTimeoutError).
    expect(results.every((r) => r.status === 'rejected' && r.reason instanceof RouterOSConnectionClosedError)).toBe(true);
    expect(await c.closed).toBeInstanceOf(RouterOSConnectionClosedError);
    // The lab router and this process are fine: a new connection works.
    router.faults.stallReplies = false;
    const again = await client(router);
    expect((await again.write('/system/identity/print')).rows).toEqual([{ name: 'MikroTik' }]);
  });

  it('drop after N commands while 200 more are pipelined: every one of them rejects', async () => {
    const router = await lab({ faults: { dropAfterCommands: 100 } });
    const c = await client(router, 5000);
    const first = await Promise.all(Array.from({ length: 100 }, () => c.write('/system/identity/print')));
    expect(first).toHaveLength(100);
    const rest = await Promise.allSettled(Array.from({ length: 200 }, () => c.write('/system/identity/print')));
    for (const r of rest) {
      expect(r.status).toBe('rejected');
      expect((r as PromiseRejectedResult).reason).toBeInstanceOf(RouterOSConnectionClosedError);
    }
  });

  it('a drop in the middle of one pipelined batch: answers sent before it arrive, the rest reject', async () => {
    const router = await lab({ faults: { dropAfterCommands: 100 } });
    const c = await client(router, 5000);
    const all = await Promise.allSettled(Array.from({ length: 300 }, () => c.write('/system/identity/print')));
    const ok = all.filter((r) => r.status === 'fulfilled').length;
    // Replies still buffered when the router drops the socket are lost, as on a real router.
    expect(ok).toBeLessThanOrEqual(100);
    for (const r of all.filter((x) => x.status === 'rejected')) {
      expect((r as PromiseRejectedResult).reason).toBeInstanceOf(RouterOSConnectionClosedError);
    }
  });

  it('a router that stops answering: pending commands time out, the rest of the process carries on', async () => {
    const router = await lab();
    // Connected with the ordinary timeout (a busy machine may take a while to log in); the
    // stalled commands each wait 300 ms.
    const c = await client(router);
    router.faults.stallReplies = true;
    const results = await Promise.allSettled(Array.from({ length: 50 }, () => c.write('/ppp/secret/print', {}, { timeoutMs: 300 })));
    expect(results.every((r) => r.status === 'rejected' && (r.reason as Error).name === 'RouterOSTimeoutError')).toBe(true);
    router.faults.stallReplies = false;
    expect((await c.write('/system/identity/print')).rows).toEqual([{ name: 'MikroTik' }]);
  });

  it('a trap on one command leaves the others and the connection alone', async () => {
    const router = await lab();
    const c = await client(router);
    const [bad, good] = await Promise.allSettled([c.write('/ppp/secret/add', { name: '' }), c.write('/system/identity/print')]);
    expect(bad.status).toBe('rejected');
    expect((bad as PromiseRejectedResult).reason).toBeInstanceOf(RouterOSTrapError);
    expect(good.status).toBe('fulfilled');
  });
});
