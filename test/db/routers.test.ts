import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ServiceContext } from '../../src/core/context.js';
import { IspctlError } from '../../src/core/errors.js';
import { checkRouter } from '../../src/core/routers/check.js';
import {
  addRouter,
  decryptRouterSecrets,
  editRouter,
  getRouter,
  listRouters,
  removeRouter,
  revealRouterSecret,
  showRouter,
} from '../../src/core/routers/service.js';
import { isEncryptedSecret } from '../../src/core/secrets.js';
import { initialise } from '../../src/core/settings/init.js';
import { addSubscriber, removeSubscriber } from '../../src/core/subscribers/service.js';
import { createPlan } from '../../src/core/plans/service.js';
import { startLabRouter, type LabRouter } from '../../src/lab/index.js';
import { describeEachEngine } from '../helpers/db.js';

const KEY = 'a1'.repeat(32);
const json = (v: unknown) => JSON.stringify(v, (_k, x) => (typeof x === 'bigint' ? x.toString() : x));

async function rejection(p: Promise<unknown>): Promise<IspctlError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof IspctlError) return err;
    throw err;
  }
  throw new Error('expected the promise to reject');
}

// Every router in these tests lives on 127.0.0.0/8: ispctl never talks to anything else here.
describeEachEngine('routers', (db) => {
  let ctx: ServiceContext;
  beforeAll(async () => {
    ctx = { ...db().ctx(), env: { ISPCTL_SECRET_KEY: KEY } };
    await initialise(ctx, { values: { 'isp-name': 'Test ISP', currency: 'PHP', timezone: 'Asia/Manila' } });
  });

  it('adds a router with its password and a generated RADIUS secret encrypted', async () => {
    const r = await addRouter(ctx, { name: 'core1', host: '127.0.0.11', apiUser: 'ispctl', apiPassword: 'api-pass-123' });
    expect(r).toMatchObject({ name: 'core1', host: '127.0.0.11', apiPort: 8728, apiTls: false, apiTlsVerify: true, mode: 'api', nasAddress: null, coaPort: 3799, shaping: 'profile', blockAction: null, status: 'unknown', revision: 1 });
    const row = await ctx.db('routers').where({ id: r.id }).first();
    expect(isEncryptedSecret(row.api_password_enc)).toBe(true);
    expect(isEncryptedSecret(row.radius_secret_enc)).toBe(true);
    expect(json(row)).not.toContain('api-pass-123');
    const secrets = await decryptRouterSecrets(ctx, 'CORE1');
    expect(secrets.apiPassword).toBe('api-pass-123');
    expect(secrets.radiusSecret).toMatch(/^[A-Za-z0-9_-]{32}$/);
    const audit = await ctx.db('audit_log').where({ entity_type: 'router', entity_id: String(r.id) });
    expect(audit).toHaveLength(1);
    expect(json(audit)).not.toContain('api-pass-123');
    expect(json(audit)).not.toContain(secrets.radiusSecret);
  });

  it('uses 8729 with TLS, and the host as NAS address in radius mode', async () => {
    const r = await addRouter(ctx, { name: 'tower-north', host: '127.0.0.12', apiUser: 'u', apiPassword: 'p', apiTls: true, mode: 'radius', coaPort: 1700, radiusSecret: 'a-long-enough-shared-secret' });
    expect(r).toMatchObject({ apiPort: 8729, apiTls: true, mode: 'radius', nasAddress: '127.0.0.12', coaPort: 1700 });
    expect((await revealRouterSecret(ctx, 'tower-north', 'radius')).secret).toBe('a-long-enough-shared-secret');
    expect(await ctx.db('audit_log').where({ action: 'reveal-secret' }).count({ n: '*' })).toEqual([{ n: 1n }]);
  });

  it('refuses duplicates, ignoring case (conflict, exit 5)', async () => {
    const e = await rejection(addRouter(ctx, { name: 'Core1', host: '127.0.0.13', apiUser: 'u', apiPassword: 'p' }));
    expect(e.code).toBe('ROUTER_EXISTS');
    expect(e.exitCode).toBe(5);
    const nas = await rejection(addRouter(ctx, { name: 'other', host: 'r.example.net', apiUser: 'u', apiPassword: 'p', mode: 'radius', nasAddress: '127.0.0.12' }));
    expect(nas.code).toBe('NAS_ADDRESS_TAKEN');
  });

  it('validates names, hosts, ports, modes and secrets (exit 2), naming the value', async () => {
    const cases: Array<[Parameters<typeof addRouter>[1], string, string]> = [
      [{ name: 'bad name', host: '127.0.0.1', apiUser: 'u', apiPassword: 'p' }, 'INVALID_ROUTER_NAME', '"bad name"'],
      [{ name: 'x', host: 'http://127.0.0.1', apiUser: 'u', apiPassword: 'p' }, 'INVALID_HOST', 'URL'],
      [{ name: 'x', host: '127.0.0.300', apiUser: 'u', apiPassword: 'p' }, 'INVALID_HOST', '"127.0.0.300"'],
      [{ name: 'x', host: '127.0.0.1:8728', apiUser: 'u', apiPassword: 'p' }, 'INVALID_HOST', 'port'],
      [{ name: 'x', host: '127.0.0.1', apiUser: 'u', apiPassword: 'p', apiPort: 70000 }, 'INVALID_PORT', '70000'],
      [{ name: 'x', host: '127.0.0.1', apiUser: 'u', apiPassword: 'p', mode: 'snmp' }, 'INVALID_ROUTER_MODE', '"snmp"'],
      [{ name: 'x', host: '127.0.0.1', apiUser: 'u', apiPassword: '' }, 'INVALID_API_PASSWORD', 'empty'],
      [{ name: 'x', host: '127.0.0.1', apiUser: 'u', apiPassword: 'p', radiusSecret: 'short' }, 'INVALID_RADIUS_SECRET', '16'],
      [{ name: 'x', host: 'edge.example.net', apiUser: 'u', apiPassword: 'p', mode: 'radius' }, 'MISSING_NAS_ADDRESS', 'edge.example.net'],
      [{ name: 'x', host: '127.0.0.1', apiUser: 'u', apiPassword: 'p', nasAddress: '10.0.0.01', mode: 'radius' }, 'INVALID_ADDRESS', '"10.0.0.01"'],
    ];
    const before = await ctx.db('routers').count({ n: '*' });
    for (const [input, code, text] of cases) {
      const e = await rejection(addRouter(ctx, input));
      expect(e.code, JSON.stringify(input)).toBe(code);
      expect(e.exitCode).toBe(2);
      expect(e.message).toContain(text);
    }
    expect(await ctx.db('routers').count({ n: '*' })).toEqual(before);
  });

  it('the database itself refuses bad rows', async () => {
    const base = { host: '127.0.0.1', api_user: 'u', api_password_enc: 'v1:x:y:z', radius_secret_enc: 'v1:x:y:z' };
    await expect(ctx.db('routers').insert({ ...base, name: 'bad name' })).rejects.toThrow(/routers_name_format/);
    await expect(ctx.db('routers').insert({ ...base, name: 'CORE1' })).rejects.toThrow(/routers_name_lower_key/);
    await expect(ctx.db('routers').insert({ ...base, name: 'r9', mode: 'radius' })).rejects.toThrow(/routers_radius_needs_nas/);
    await expect(ctx.db('routers').insert({ ...base, name: 'r9', shaping: 'both' })).rejects.toThrow(/routers_shaping_values/);
  });

  it('lists routers by name with their current services', async () => {
    await createPlan(ctx, { name: 'Home 10', price: '999', download: '10M', upload: '5M' });
    await addSubscriber(ctx, { fullName: 'A', username: 'r-a', plan: 'Home 10', router: 'core1' });
    await addSubscriber(ctx, { fullName: 'B', username: 'r-b', plan: 'Home 10', router: 'core1' });
    const list = await listRouters(ctx.db);
    expect(list.map((r) => [r.name, r.serviceCount, r.effectiveBlockAction])).toEqual([
      ['core1', 2, 'disable'],
      ['tower-north', 0, 'disable'],
    ]);
    const shown = await showRouter(ctx, 'core1');
    expect(shown.serviceCount).toBe(2);
    expect(shown.apiPassword).toBe('••••••');
    expect(shown.radiusSecret).toMatch(/^.{2}••••••.{2}$/);
  });

  it('edits with validation of the whole row; secrets re-encrypted; affected services returned', async () => {
    const before = await getRouter(ctx.db, 'core1');
    const res = await editRouter(ctx, 'core1', { host: '127.0.0.21', apiPassword: 'new-pass', blockAction: 'remove' });
    expect(res.changed.sort()).toEqual(['apiPassword', 'blockAction', 'host']);
    expect(res.router.revision).toBe(before.revision + 1);
    expect(res.affectedServiceIds).toHaveLength(2);
    expect((await decryptRouterSecrets(ctx, 'core1')).apiPassword).toBe('new-pass');
    expect((await editRouter(ctx, 'core1', { host: '127.0.0.21' })).changed).toEqual([]);
    const e = await rejection(editRouter(ctx, 'core1', { mode: 'radius', host: 'core1.example.net' }));
    expect(e.code).toBe('MISSING_NAS_ADDRESS');
    const toRadius = await editRouter(ctx, 'core1', { mode: 'radius' });
    expect(toRadius.router.nasAddress).toBe('127.0.0.21');
    const oldSecret = (await decryptRouterSecrets(ctx, 'core1')).radiusSecret;
    await editRouter(ctx, 'core1', { rotateRadiusSecret: true });
    expect((await decryptRouterSecrets(ctx, 'core1')).radiusSecret).not.toBe(oldSecret);
    expect((await rejection(editRouter(ctx, 'core1', { name: 'TOWER-NORTH' }))).code).toBe('ROUTER_EXISTS');
    const audit = await ctx.db('audit_log').where({ entity_type: 'router', action: 'update' });
    expect(json(audit)).not.toContain('new-pass');
  });

  it('refuses to remove a router with current services, moves them with moveTo', async () => {
    const e = await rejection(removeRouter(ctx, 'core1'));
    expect(e.code).toBe('ROUTER_IN_USE');
    expect(e.exitCode).toBe(5);
    expect(e.message).toContain('2 current services');
    const force = await rejection(removeRouter(ctx, 'core1', { force: true }));
    expect(force.code).toBe('ROUTER_IN_USE');
    expect((await rejection(removeRouter(ctx, 'core1', { moveTo: 'nowhere' }))).code).toBe('ROUTER_NOT_FOUND');
    const res = await removeRouter(ctx, 'core1', { moveTo: 'tower-north' });
    expect(res.movedServiceIds).toHaveLength(2);
    expect(await ctx.db('routers').where({ name: 'core1' }).first()).toBeUndefined();
    const tower = await getRouter(ctx.db, 'tower-north');
    expect(await ctx.db('services').where({ router_id: tower.id }).count({ n: '*' })).toEqual([{ n: 2n }]);
    expect(await ctx.db('audit_log').where({ entity_type: 'subscriber', action: 'move' }).count({ n: '*' })).toEqual([{ n: 2n }]);
  });

  it('removes a router that only ended services refer to with force, keeping their history', async () => {
    await addRouter(ctx, { name: 'edge9', host: '127.0.0.19', apiUser: 'u', apiPassword: 'p' });
    await addSubscriber(ctx, { fullName: 'Gone', username: 'gone', plan: 'Home 10', router: 'edge9' });
    await removeSubscriber(ctx, 'gone');
    const e = await rejection(removeRouter(ctx, 'edge9'));
    expect(e.code).toBe('ROUTER_IN_USE');
    expect(e.message).toContain('ended');
    const res = await removeRouter(ctx, 'edge9', { force: true });
    expect(res.detachedServiceIds).toHaveLength(1);
    const svc = await ctx.db('services').where({ username: 'gone' }).first();
    expect(svc.router_id).toBeNull();
    expect(svc.ended_on).not.toBeNull();
  });

  it('404s on unknown routers', async () => {
    const e = await rejection(getRouter(ctx.db, 'ghost'));
    expect(e.code).toBe('ROUTER_NOT_FOUND');
    expect(e.exitCode).toBe(4);
  });

  describe('check against the lab router', () => {
    let lab: LabRouter;
    beforeAll(async () => {
      lab = await startLabRouter({ adminPassword: 'lab-pw', identity: 'lab-core' });
    });
    afterAll(async () => {
      await lab?.close();
    });

    it('records identity, version, board and last contact when online', async () => {
      await addRouter(ctx, { name: 'lab', host: '127.0.0.1', apiPort: lab.port, apiUser: 'admin', apiPassword: 'lab-pw' });
      const res = await checkRouter(ctx, 'lab');
      expect(res).toMatchObject({ ok: true, status: 'online', identity: 'lab-core', board: 'CHR' });
      expect(res.version).toMatch(/^7\./);
      const r = await getRouter(ctx.db, 'lab');
      expect(r).toMatchObject({ status: 'online', identity: 'lab-core', board: 'CHR', lastError: null });
      expect(r.lastContactAt?.toISOString()).toBe('2026-11-01T00:00:00.000Z');
      expect(r.revision).toBe(1);
    });

    it('records a refused login as degraded and a closed port as offline', async () => {
      await editRouter(ctx, 'lab', { apiPassword: 'wrong' });
      const bad = await checkRouter(ctx, 'lab');
      expect(bad).toMatchObject({ ok: false, status: 'degraded' });
      expect(bad.error).toContain('refused');
      const port = lab.port;
      await lab.close();
      await editRouter(ctx, 'lab', { apiPassword: 'lab-pw' });
      const off = await checkRouter(ctx, 'lab', { timeoutMs: 2000 });
      expect(off).toMatchObject({ ok: false, status: 'offline' });
      const r = await getRouter(ctx.db, 'lab');
      expect(r.status).toBe('offline');
      expect(r.lastError).toContain(String(port));
      expect(r.identity).toBe('lab-core');
    });
  });
});
