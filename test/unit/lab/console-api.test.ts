// The console and the API share one router: what a pasted script adds, an API client reads;
// `/lab/console/run` runs scripts for other processes; words are bytes end to end.
import { afterEach, describe, expect, it } from 'vitest';
import { RouterOSClient } from '../../../src/core/routeros/index.js';
import { type LabRouter, startLabRouter } from '../../../src/lab/api-server.js';
import { bytesFromText } from '../../../src/lab/bytes.js';
import { quoteScriptString, runScript } from '../../../src/lab/console/index.js';
import { publicKeyOf } from '../../../src/lab/wireguard-keys.js';
import { RawApi, attrs } from './raw-api.js';

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

async function lab(): Promise<LabRouter> {
  const router = await startLabRouter({ adminPassword: 'pw' });
  cleanups.push(() => router.close());
  return router;
}

async function client(router: LabRouter, user = 'admin', password = 'pw'): Promise<RouterOSClient> {
  const c = await RouterOSClient.connect({ host: '127.0.0.1', port: router.port, user, password, timeoutMs: 5000 });
  cleanups.push(() => c.destroy());
  return c;
}

describe('lab console and API', () => {
  it('an API client reads what a console script wrote, and a script sees what the API wrote', async () => {
    const router = await lab();
    const priv = Buffer.alloc(32, 3).toString('base64');
    runScript(
      router.state,
      [
        `/interface wireguard add name=wg-isp private-key="${priv}" listen-port=13231`,
        '/ip address add address=10.99.0.2/24 interface=wg-isp',
        '/ip pool add name=pool-a ranges=10.50.0.2-10.50.0.254',
        '/ppp profile add name=plan-10M local-address=10.50.0.1 remote-address=pool-a rate-limit=10M/10M',
      ].join('\n'),
    );
    const c = await client(router);
    const wg = (await c.write('/interface/wireguard/print')).rows;
    expect(wg).toMatchObject([{ name: 'wg-isp', 'public-key': publicKeyOf(priv), 'listen-port': '13231' }]);
    expect((await c.write('/ppp/profile/print', { '.proplist': 'name,remote-address' })).rows).toContainEqual({ name: 'plan-10M', 'remote-address': 'pool-a' });
    expect((await c.write('/interface/print', { '.proplist': 'name,type' })).rows).toContainEqual({ name: 'wg-isp', type: 'wg' });
    await c.write('/ppp/secret/add', { name: 'alice', password: 'x', profile: 'plan-10M' });
    expect(runScript(router.state, ':put [/ppp secret get alice profile]').output).toBe('plan-10M\n');
  });

  it('/lab/console/run runs a script for another process; read-only users may not', async () => {
    const router = await lab();
    const c = await client(router);
    const row = (await c.write('/lab/console/run', { script: '/ip pool\nadd name=p ranges=10.0.0.1\n:put [:len [find]]\nfrob', path: '' })).rows[0]!;
    // `frob` is not a command: the check refuses the whole script.
    expect(row['error-count']).toBe('1');
    expect(JSON.parse(row['errors']!)).toMatchObject([{ kind: 'syntax', line: 4, message: 'bad command name frob (line 4 column 1)' }]);
    expect(router.state.menu('/ip/pool').size).toBe(0);
    const ok = (await c.write('/lab/console/run', { script: 'add name=p ranges=10.0.0.1\n:put [:len [find]]', path: '/ip/pool' })).rows[0]!;
    expect(ok).toMatchObject({ output: '1\n', path: '/ip/pool', 'error-count': '0' });
    router.state.menu('/user').add({ name: 'viewer', group: 'read', password: 'v' });
    const viewer = await client(router, 'viewer', 'v');
    await expect(viewer.write('/lab/console/run', { script: ':put 1' })).rejects.toMatchObject({ message: 'not enough permissions (9)' });
  });

  it('words are bytes: a cp1252 comment written over the API is read back as the same bytes', async () => {
    const router = await lab();
    const api = await RawApi.connect(router.port, { decodeWord: (b) => b.toString('latin1') });
    cleanups.push(() => api.close());
    expect(await api.login('admin', 'pw')).toEqual([['!done']]);
    const nino = Buffer.from([0x4e, 0x69, 0xf1, 0x6f]); // "Niño" in cp1252
    const mixed = Buffer.concat([Buffer.from('café ', 'utf8'), Buffer.from([0xe9, 0x80, 0xff, 0x00])]);
    const added = await api.run('/ppp/secret/add', '=name=juan', Buffer.concat([Buffer.from('=comment='), nino]));
    expect(added[0]![0]).toBe('!done');
    await api.run('/ppp/secret/add', Buffer.concat([Buffer.from('=name='), mixed]), '=password=x');
    const rows = (await api.run('/ppp/secret/print')).filter((s) => s[0] === '!re').map(attrs);
    expect(Buffer.from(rows[0]!['comment']!, 'latin1').equals(nino)).toBe(true);
    expect(Buffer.from(rows[1]!['name']!, 'latin1').equals(mixed)).toBe(true);
    // A lookup by those bytes finds the row, and the console sees the same bytes.
    const printed = await api.run('/ppp/secret/print', Buffer.concat([Buffer.from('?name='), mixed]));
    expect(printed.filter((s) => s[0] === '!re')).toHaveLength(1);
    expect(runScript(router.state, `:put [/ppp secret get juan comment]`).output).toBe(`${router.state.menu('/ppp/secret').get('juan')!.comment}\n`);
    expect(bytesFromText(router.state.menu('/ppp/secret').get('juan')!.comment!).equals(nino)).toBe(true);
    // The ispctl client decodes what is not UTF-8 with its fallback code page (cp1252).
    const c = await client(router);
    expect((await c.write('/ppp/secret/print', { '.proplist': 'comment' })).rows[0]).toEqual({ comment: 'Niño' });
    // A script written from the stored value puts back the same bytes.
    runScript(router.state, `/ppp secret set juan comment=${quoteScriptString(router.state.menu('/ppp/secret').get('juan')!.comment!)}`);
    expect(bytesFromText(router.state.menu('/ppp/secret').get('juan')!.comment!).equals(nino)).toBe(true);
  });
});
