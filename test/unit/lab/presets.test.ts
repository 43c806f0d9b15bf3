// The brownfield preset: a hand-made router, deterministic, with the awkward parts a takeover
// must handle; and the RADIUS client setup `lab start --radius` applies.
import { afterEach, describe, expect, it } from 'vitest';
import { RouterOSClient } from '../../../src/core/routeros/index.js';
import { bytesFromText } from '../../../src/lab/bytes.js';
import { type LabRouter, RouterState, startLabRouter } from '../../../src/lab/index.js';
import { applyBrownfieldPreset, applyRadiusClient, winboxComment } from '../../../src/lab/presets.js';
import { parseRateLimit } from '../../../src/lab/values.js';
import { RawApi, attrs } from './raw-api.js';

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

async function brownfield(secrets = 3000): Promise<LabRouter> {
  const router = await startLabRouter({ adminPassword: 'pw', nas: { requireAddress: true } });
  cleanups.push(() => router.close());
  await applyBrownfieldPreset(router.state, { secrets }, router.nas);
  return router;
}

describe('brownfield preset', () => {
  it('has what a hand-made router has', async () => {
    const router = await brownfield();
    const s = router.state;
    const secrets = s.menu('/ppp/secret').list();
    expect(secrets.length).toBe(3009);
    const profiles = s.menu('/ppp/profile').list();
    const limits = profiles.map((p) => p['rate-limit']).filter((r): r is string => r !== undefined);
    expect(limits).toEqual(expect.arrayContaining(['10M/10M', '5M/10M 6M/12M 4M/8M 10/10', '512k/2M', '2048k/4096k', '20M/20M 25M/25M 15M/15M 8s/8s 2 10M/10M']));
    for (const l of limits) expect(parseRateLimit(l), l).toBeDefined();
    expect(parseRateLimit('20M/20M 25M/25M 15M/15M 8s/8s 2 10M/10M')).toMatchObject({ priority: '2', 'limit-at': '10000000/10000000' });
    // Suspension profile with an address list; names that differ only in case.
    expect(profiles.find((p) => p.name === 'isolir')).toMatchObject({ 'address-list': 'isolir', 'remote-address': 'pool-isolir' });
    expect(profiles.map((p) => p.name)).toEqual(expect.arrayContaining(['10M', '10m']));
    expect(secrets.map((x) => x.name)).toEqual(expect.arrayContaining(['Juan', 'juan', 'MARIA.santos', 'maria.santos']));
    const callerIds = secrets.map((x) => x['caller-id']).filter(Boolean);
    expect(new Set(callerIds).size).toBeLessThan(callerIds.length);
    const disabled = secrets.filter((x) => x.disabled === 'true').length;
    expect(disabled).toBeGreaterThan(30);
    expect(secrets.filter((x) => x['remote-address']).length).toBeGreaterThan(50);
    expect(s.menu('/ip/pool').list().map((p) => p.name)).toEqual(['pool-10m', 'pool-5m', 'pool-biz', 'pool-isolir', 'pool-5m-b']);
    expect(s.menu('/queue/simple').find((q) => q.dynamic === 'false').map((q) => q.name)).toEqual(['Kantor Desa', 'CCTV', 'office']);
    // Live sessions, with pool addresses and their dynamic queues.
    const active = s.menu('/ppp/active').list();
    expect(active.length).toBeGreaterThanOrEqual(30);
    for (const a of active) expect(a.address, a.name).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
    expect(s.menu('/queue/simple').find((q) => q.dynamic === 'true').length).toBeGreaterThan(0);
    // Comments in cp1252 bytes (ñ = 0xF1), not UTF-8.
    const juan = s.menu('/ppp/secret').get('juan')!;
    expect([...bytesFromText(juan.comment!)]).toEqual([...Buffer.from('Juan Niño', 'latin1')]);
    const cp1252 = secrets.filter((x) => x.comment !== undefined && bytesFromText(x.comment).includes(0xf1));
    expect(cp1252.length).toBeGreaterThan(10);
  });

  it('is the same router for the same seed', async () => {
    const a = new RouterState({ now: () => 0 });
    const b = new RouterState({ now: () => 0 });
    await applyBrownfieldPreset(a, { secrets: 500, sessions: 0 });
    await applyBrownfieldPreset(b, { secrets: 500, sessions: 0 });
    expect(JSON.stringify(a.toJSON())).toBe(JSON.stringify(b.toJSON()));
    const c = new RouterState({ now: () => 0 });
    await applyBrownfieldPreset(c, { secrets: 500, seed: 2, sessions: 0 });
    expect(JSON.stringify(c.toJSON())).not.toBe(JSON.stringify(a.toJSON()));
  });

  it('cp1252 comments reach API clients as the same bytes (and ispctl decodes them as cp1252)', async () => {
    const router = await brownfield(50);
    const raw = await RawApi.connect(router.port, { decodeWord: (b) => b.toString('latin1') });
    cleanups.push(() => raw.close());
    await raw.login('admin', 'pw');
    const row = (await raw.run('/ppp/secret/print', '?name=juan')).filter((x) => x[0] === '!re').map(attrs)[0]!;
    expect(Buffer.from(row['comment']!, 'latin1').equals(Buffer.from([...'Juan Ni'].map((c) => c.charCodeAt(0)).concat([0xf1, 0x6f])))).toBe(true);
    const c = await RouterOSClient.connect({ host: '127.0.0.1', port: router.port, user: 'admin', password: 'pw' });
    cleanups.push(() => c.destroy());
    const rows = (await c.write('/ppp/secret/print', { '.proplist': 'name,comment' })).rows;
    expect(rows.find((r) => r['name'] === 'juan')!['comment']).toBe('Juan Niño');
    expect(rows.find((r) => r['name'] === 'rosa.unpaid')!['comment']).toBe('Rosa Peña: unpaid since March');
    expect(winboxComment('é')).not.toBe('é');
  });
});

describe('RADIUS client setup', () => {
  it('adds the server once, turns on /ppp aaa and /radius incoming; again changes nothing', () => {
    const s = new RouterState();
    const o = { server: '127.0.0.1', authPort: 1812, acctPort: 1813, secret: 'a-shared-secret-16+', incomingPort: 3799 };
    applyRadiusClient(s, o);
    const first = JSON.stringify(s.toJSON());
    applyRadiusClient(s, o);
    expect(JSON.stringify(s.toJSON())).toBe(first);
    expect(s.menu('/radius').list()).toMatchObject([{ service: 'ppp', address: '127.0.0.1', secret: o.secret, 'authentication-port': '1812', 'accounting-port': '1813' }]);
    expect(s.singleton('/ppp/aaa').get()).toMatchObject({ 'use-radius': 'true', accounting: 'true' });
    expect(s.singleton('/radius/incoming').get()).toEqual({ accept: 'true', port: '3799' });
  });
});
