import { afterEach, describe, expect, it } from 'vitest';
import { RouterOSArgumentError, RouterOSClient, RouterOSProtocolError, RouterOSTrapError, menu, q } from '../../../src/core/routeros/index.js';
import { type FakeConnection, type FakeRouter, type Received, startFakeRouter } from './fake-router.js';

/** A tiny /ppp/secret table behind the fake router, enough to check the helpers end to end. */
function secretsHandler() {
  const items = new Map<string, Record<string, string>>();
  let next = 1;
  const handler = (cmd: Received, conn: FakeConnection): void => {
    const m = /^\/ppp\/secret\/(\w+)$/.exec(cmd.command);
    if (!m) {
      conn.trap(cmd.tag, 'no such command', 0);
      return conn.done(cmd.tag);
    }
    const ids = (cmd.attrs['.id'] ?? '').split(',');
    const missing = ids.find((id) => !items.has(id));
    switch (m[1]) {
      case 'add': {
        if ([...items.values()].some((i) => i.name === cmd.attrs.name)) {
          conn.trap(cmd.tag, 'failure: secret with the same name already exists', 1);
          return conn.done(cmd.tag);
        }
        const id = `*${(next++).toString(16).toUpperCase()}`;
        items.set(id, { '.id': id, disabled: 'false', ...cmd.attrs });
        return conn.done(cmd.tag, { ret: id });
      }
      case 'print': {
        // Supports only ?name=value and ?.id=value leaves, ANDed: enough for these tests.
        const rows = [...items.values()].filter((i) =>
          cmd.queries.every((w) => {
            const [k, v] = w.slice(1).split('=');
            return i[k!] === v;
          }),
        );
        if (cmd.attrs['count-only'] !== undefined) return conn.done(cmd.tag, { ret: String(rows.length) });
        const props = cmd.attrs['.proplist']?.split(',');
        if (rows.length === 0) conn.reply(cmd.tag, '!empty');
        for (const r of rows) conn.row(cmd.tag, props ? Object.fromEntries(props.filter((p) => p in r).map((p) => [p, r[p]!])) : r);
        return conn.done(cmd.tag);
      }
      case 'set':
      case 'remove':
      case 'enable':
      case 'disable':
        if (missing !== undefined) {
          conn.trap(cmd.tag, 'no such item', 0);
          return conn.done(cmd.tag);
        }
        for (const id of ids) {
          const item = items.get(id)!;
          if (m[1] === 'remove') items.delete(id);
          else if (m[1] === 'set') Object.assign(item, cmd.attrs, { '.id': id });
          else item.disabled = m[1] === 'disable' ? 'true' : 'false';
        }
        return conn.done(cmd.tag);
      default:
        conn.trap(cmd.tag, 'no such command', 0);
        return conn.done(cmd.tag);
    }
  };
  return { items, handler };
}

let router: FakeRouter;
let client: RouterOSClient;
afterEach(async () => {
  await client?.close();
  await router?.close();
});

async function setup() {
  const s = secretsHandler();
  router = await startFakeRouter({ handler: s.handler });
  client = await RouterOSClient.connect({ host: '127.0.0.1', port: router.port, user: router.user, password: router.password });
  return s;
}

describe('menu helpers', () => {
  it('add, print, count, get, set, disable, enable, remove', async () => {
    const { items } = await setup();
    const a = await menu.add(client, '/ppp/secret', { name: 'juan', password: 'x=y', service: 'pppoe', profile: '10M', comment: 'ispctl:svc=1' });
    const b = await menu.add(client, '/ppp/secret', { name: 'maría', password: 'p', profile: '20M' });
    expect(a).toBe('*1');
    expect(b).toBe('*2');
    expect(items.get(a)!.password).toBe('x=y');

    expect(await menu.print(client, '/ppp/secret')).toHaveLength(2);
    expect(await menu.print(client, '/ppp/secret', { where: [q.eq('name', 'maría')], proplist: ['.id', 'name'] })).toEqual([
      { '.id': '*2', name: 'maría' },
    ]);
    expect(await menu.print(client, '/ppp/secret', { where: [q.eq('name', 'nobody')] })).toEqual([]);
    expect(await menu.print(client, '/ppp/secret', { countOnly: true })).toBe(2);
    expect(await menu.print(client, '/ppp/secret', { countOnly: true, where: [q.eq('profile', '20M')] })).toBe(1);
    expect(await menu.get(client, '/ppp/secret', b)).toMatchObject({ name: 'maría' });
    expect(await menu.get(client, '/ppp/secret', '*99')).toBeUndefined();

    await menu.set(client, '/ppp/secret', a, { profile: '50M', 'remote-address': '10.0.0.5' });
    expect(items.get(a)).toMatchObject({ profile: '50M', 'remote-address': '10.0.0.5' });

    await menu.disable(client, '/ppp/secret', [a, b]);
    expect([...items.values()].map((i) => i.disabled)).toEqual(['true', 'true']);
    await menu.enable(client, '/ppp/secret', b);
    expect(items.get(b)!.disabled).toBe('false');

    await menu.remove(client, '/ppp/secret', [a, b]);
    expect(items.size).toBe(0);
    const words = router.received.filter((c) => c.command === '/ppp/secret/remove')[0]!.words;
    expect(words[1]).toBe('=.id=*1,*2');
  });

  it('surfaces traps as RouterOSTrapError', async () => {
    await setup();
    await menu.add(client, '/ppp/secret', { name: 'dup' });
    await expect(menu.add(client, '/ppp/secret', { name: 'dup' })).rejects.toMatchObject({
      constructor: RouterOSTrapError,
      category: 1,
    });
    await expect(menu.remove(client, '/ppp/secret', '*77')).rejects.toBeInstanceOf(RouterOSTrapError);
  });

  it('validates menus, ids and fields before sending', async () => {
    await setup();
    const before = router.received.length;
    await expect(menu.print(client, 'ppp secret')).rejects.toBeInstanceOf(RouterOSArgumentError);
    await expect(menu.remove(client, '/ppp/secret', [])).rejects.toBeInstanceOf(RouterOSArgumentError);
    await expect(menu.remove(client, '/ppp/secret', '*1,*2')).rejects.toBeInstanceOf(RouterOSArgumentError);
    await expect(menu.set(client, '/ppp/secret', '*1', { '.id': '*2' })).rejects.toBeInstanceOf(RouterOSArgumentError);
    await expect(menu.add(client, '/ppp/secret', { 'bad name': 'x' })).rejects.toBeInstanceOf(RouterOSArgumentError);
    expect(router.received.length).toBe(before);
  });

  it('reports a missing add id or a bad count as a protocol error', async () => {
    router = await startFakeRouter({ handler: (cmd, conn) => conn.done(cmd.tag, cmd.command.endsWith('print') ? { ret: 'many' } : {}) });
    client = await RouterOSClient.connect({ host: '127.0.0.1', port: router.port, user: router.user, password: router.password });
    await expect(menu.add(client, '/ip/pool', { name: 'p' })).rejects.toBeInstanceOf(RouterOSProtocolError);
    await expect(menu.print(client, '/ip/pool', { countOnly: true })).rejects.toBeInstanceOf(RouterOSProtocolError);
  });
});
