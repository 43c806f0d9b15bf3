// Address pools on both engines: what plans and routers accept, the one rule (no overlap on a
// router, no static IP or local address inside a pool) held on every path, RADIUS replies with
// Framed-Pool through the stock queries, and API mode writing /ip/pool and the profiles'
// addresses to a lab router over real sockets, where a dynamic subscriber gets its address.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { FixedClock } from '../../src/core/clock.js';
import type { ServiceContext } from '../../src/core/context.js';
import { IspctlError } from '../../src/core/errors.js';
import { createPlan, editPlan, getPlan } from '../../src/core/plans/service.js';
import { applySync, planSync } from '../../src/core/provisioning/routeros/sync.js';
import { runJobs, type Drivers } from '../../src/core/provisioning/runner.js';
import { apiDriver } from '../../src/core/provisioning/routeros/driver.js';
import { poolContains } from '../../src/core/routers/pools.js';
import { addRouter, editRouter, getRouter } from '../../src/core/routers/service.js';
import { initialise } from '../../src/core/settings/init.js';
import { addSubscriber, editSubscriber } from '../../src/core/subscribers/service.js';
import { startLabRouter, type LabRouter } from '../../src/lab/index.js';
import { migrations } from '../../migrations/index.js';
import { describeEachEngine } from '../helpers/db.js';

const drivers: Drivers = {
  api: apiDriver,
  radius: { run: async (_c, _r, jobs) => jobs.map((j) => ({ id: j.id, ok: true as const, detail: 'FreeRADIUS reads the views' })) },
};

async function rejects(p: Promise<unknown>): Promise<IspctlError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof IspctlError) return err;
    throw err;
  }
  throw new Error('expected an IspctlError');
}

describeEachEngine('address pools', (db) => {
  let ctx: ServiceContext;
  let lab: LabRouter;
  const reply = async (username: string) =>
    ((await ctx.db.raw(`SELECT id, UserName, Attribute, Value, Op FROM radreply WHERE Username = '${username}' ORDER BY id`)).rows as Array<Record<string, string>>).map((r) => [r.attribute, r.value]);

  beforeAll(async () => {
    lab = await startLabRouter({ adminPassword: 'lab-pw', nas: true });
    ctx = { ...db().ctx(new FixedClock('2026-11-01T00:00:00Z')), env: { ISPCTL_SECRET_KEY: 'b5'.repeat(32) } };
    await initialise(ctx, { values: { 'isp-name': 'Test ISP', currency: 'PHP', timezone: 'Asia/Manila' } });
  });

  afterAll(async () => {
    await lab?.close();
  });

  it('plans and routers take ranges people type, canonically, and refuse bad ones naming the value', async () => {
    const plan = await createPlan(ctx, { name: 'Fiber 50', price: '1500', download: '50M', upload: '20M', localAddress: '10.10.0.1', pool: ' 10.10.0.2-10.10.3.254 , 10.11.0.0/24' });
    expect(plan).toMatchObject({ localAddress: '10.10.0.1', poolRanges: '10.10.0.2-10.10.3.254,10.11.0.0-10.11.0.255', poolName: `ispctl-pool-${plan.id}` });
    expect(await getPlan(ctx.db, 'fiber 50')).toMatchObject({ poolRanges: plan.poolRanges, localAddress: '10.10.0.1' });
    for (const [pool, words] of [
      ['10.0.0.9-10.0.0.2', 'ends before it starts'],
      ['10.0.0.2-10.0.0.300', 'not an IPv4'],
      ['10.0.0.2-10.0.0.20,10.0.0.10-10.0.0.30', 'overlap'],
      ['10.0.0.1/24', 'not the start of its /24'],
      ['10.0.00.1-10.0.0.5', 'leading zero'],
      ['2001:db8::1-2001:db8::9', 'not a range of IPv4'],
      ['10.0.0.1,,10.0.0.3', 'empty part'],
      ['pool1"; /system reboot', 'not an IPv4'],
    ] as const) {
      const err = await rejects(createPlan(ctx, { name: `Bad ${words}`, price: '1', download: '1M', upload: '1M', pool }));
      expect(err.code, pool).toBe('INVALID_POOL');
      expect(err.message).toContain(words);
      expect(err.exitCode).toBe(2);
    }
    const own = await rejects(createPlan(ctx, { name: 'Own clash', price: '1', download: '1M', upload: '1M', localAddress: '10.50.0.5', pool: '10.50.0.0/24' }));
    expect(own.code).toBe('ADDRESS_CLASH');
    expect(own.message).toContain('10.50.0.5');
    expect(Number((await ctx.db('plans').count({ n: '*' }).first())!.n)).toBe(1);
    const bad = await rejects(createPlan(ctx, { name: 'Bad local', price: '1', download: '1M', upload: '1M', localAddress: '10.0.0.256' }));
    expect(bad.code).toBe('INVALID_LOCAL_ADDRESS');
  });

  it('never lets two pools on one router overlap, nor a static IP sit inside one; errors name both values', async () => {
    await addRouter(ctx, { name: 'lab1', host: '127.0.0.1', apiPort: lab.port, apiUser: 'admin', apiPassword: 'lab-pw', mode: 'api', localAddress: '10.30.0.1', pool: '10.30.0.2-10.30.0.200' });
    await addRouter(ctx, { name: 'other', host: '127.0.0.9', apiUser: 'admin', apiPassword: 'x', mode: 'api' });
    await createPlan(ctx, { name: 'Home 10', price: '999', download: '10M', upload: '5M', pool: '10.10.2.0/24' }); // overlaps Fiber 50
    await createPlan(ctx, { name: 'Plain', price: '500', download: '5M', upload: '2M' });
    await addSubscriber(ctx, { fullName: 'Ana', username: 'ana', password: 'pw-ana', plan: 'Fiber 50', router: 'lab1' });
    // Home 10 overlaps Fiber 50: refused on the router where both would be used, with both values named.
    const overlap = await rejects(addSubscriber(ctx, { fullName: 'Bob', username: 'bob', password: 'pw-bob', plan: 'Home 10', router: 'lab1' }));
    expect(overlap.code).toBe('POOL_OVERLAP');
    expect(overlap.message).toContain('10.10.2.0-10.10.2.255');
    expect(overlap.message).toContain('10.10.0.2-10.10.3.254');
    expect(overlap.message).toContain('"Home 10"');
    expect(overlap.message).toContain('"Fiber 50"');
    expect(overlap.exitCode).toBe(5);
    expect(await ctx.db('services').where({ username: 'bob' }).first()).toBeUndefined();
    // On another router it is fine.
    await addSubscriber(ctx, { fullName: 'Bob', username: 'bob', password: 'pw-bob', plan: 'Home 10', router: 'other' });
    // Moving bob onto lab1 is the same clash.
    expect((await rejects(editSubscriber(ctx, 'bob', { router: 'lab1' }))).code).toBe('POOL_OVERLAP');

    // A static IP inside a pool of the router: refused, naming the address and the pool.
    const inPool = await rejects(addSubscriber(ctx, { fullName: 'Cy', username: 'cy', password: 'pw-cy', plan: 'Plain', router: 'lab1', staticIp: '10.30.0.50' }));
    expect(inPool.code).toBe('ADDRESS_CLASH');
    expect(inPool.message).toMatch(/static IP 10\.30\.0\.50 of cy lies inside the pool 10\.30\.0\.2-10\.30\.0\.200 of router lab1/);
    await addSubscriber(ctx, { fullName: 'Cy', username: 'cy', password: 'pw-cy', plan: 'Plain', router: 'lab1', staticIp: '10.30.1.50' });
    // Growing the router's pool over cy's address is refused the same way; the local address too.
    const grow = await rejects(editRouter(ctx, 'lab1', { pool: '10.30.0.2-10.30.1.254' }));
    expect(grow.code).toBe('ADDRESS_CLASH');
    expect(grow.message).toContain('10.30.1.50');
    expect((await getRouter(ctx.db, 'lab1')).poolRanges).toBe('10.30.0.2-10.30.0.200');
    expect((await rejects(editSubscriber(ctx, 'cy', { staticIp: '10.30.0.1' }))).message).toContain('is the local address of router lab1');
    // A plan's pool grown over the router's default: the two pools clash.
    const plan = await rejects(editPlan(ctx, 'Fiber 50', { pool: '10.10.0.2-10.10.3.254,10.30.0.100-10.30.0.120' }));
    expect(plan.code).toBe('POOL_OVERLAP');
    expect(plan.message).toContain('router lab1');
    expect((await getPlan(ctx.db, 'Fiber 50')).poolRanges).toBe('10.10.0.2-10.10.3.254,10.11.0.0-10.11.0.255');
  });

  it('API mode: sync writes the pools and the profiles\' addresses; a dynamic subscriber gets an address from its pool', async () => {
    const [p] = await planSync(ctx, { router: 'lab1' });
    expect(p!.status).toBe('planned');
    const created = p!.plan!.create.filter((c) => c.kind === 'pool').map((c) => [c.name, c.fields.ranges]);
    const fiber = await getPlan(ctx.db, 'Fiber 50');
    expect(created).toEqual(
      expect.arrayContaining([
        ['ispctl-pool-default', '10.30.0.2-10.30.0.200'],
        [`ispctl-pool-${fiber.id}`, '10.10.0.2-10.10.3.254,10.11.0.0-10.11.0.255'],
      ]),
    );
    const [outcome] = await applySync(ctx, [p!]);
    expect(outcome!.status).toBe('applied');

    const pools = lab.state.menu('/ip/pool').list();
    expect(pools.find((x) => x.name === `ispctl-pool-${fiber.id}`)).toMatchObject({ ranges: expect.stringContaining('10.10.0.2-10.10.3.254'), comment: expect.stringMatching(/^ispctl:plan:\d+:pool /) });
    const profiles = lab.state.menu('/ppp/profile').list();
    const fiberProfile = profiles.find((x) => x.name?.startsWith(`ispctl-${fiber.id}-fiber-50`) && !x.name.endsWith('throttled'))!;
    expect(fiberProfile).toMatchObject({ 'local-address': '10.10.0.1', 'remote-address': `ispctl-pool-${fiber.id}` });
    // Plain has no pool of its own: the router's default pool and local address.
    const plain = await getPlan(ctx.db, 'Plain');
    expect(profiles.find((x) => x.name === `ispctl-${plain.id}-plain`)).toMatchObject({ 'local-address': '10.30.0.1', 'remote-address': 'ispctl-pool-default' });

    // Nothing left to do the second time.
    const [again] = await planSync(ctx, { router: 'lab1' });
    expect(again!.changes).toBe(false);

    // Ana (dynamic) dials in and gets an address from Fiber 50's pool; cy keeps the static one.
    const ana = await lab.nas!.dial({ username: 'ana', password: 'pw-ana' });
    expect(poolContains(fiber.poolRanges!, ana.address!)).toBe(true);
    const cy = await lab.nas!.dial({ username: 'cy', password: 'pw-cy' });
    expect(cy.address).toBe('10.30.1.50');
  });

  it('API mode: a changed pool reaches the router through the queued jobs, without dropping sessions', async () => {
    const before = lab.state.activeSessions().length;
    const edit = await editPlan(ctx, 'Fiber 50', { pool: '10.10.0.2-10.10.1.254' });
    expect(edit.changed).toContain('poolRanges');
    expect(edit.jobIds.length).toBeGreaterThan(0);
    const lab1 = await getRouter(ctx.db, 'lab1');
    const summary = await runJobs(ctx, drivers, { timeoutMs: 5000, routerIds: [lab1.id] });
    expect(summary.failed).toBe(0);
    const fiber = await getPlan(ctx.db, 'Fiber 50');
    expect(lab.state.menu('/ip/pool').list().find((x) => x.name === `ispctl-pool-${fiber.id}`)!.ranges).toBe('10.10.0.2-10.10.1.254');
    expect(lab.state.activeSessions().length).toBe(before);
    const [again] = await planSync(ctx, { router: 'lab1' });
    expect(again!.changes).toBe(false);
  });

  it('RADIUS mode: Framed-Pool names the plan\'s pool, or the router\'s; a static IP wins', async () => {
    await addRouter(ctx, { name: 'rad1', host: '127.0.0.20', apiUser: 'admin', apiPassword: 'x', mode: 'radius', pool: '10.40.0.2-10.40.0.254', localAddress: '10.40.0.1' });
    const fiber = await getPlan(ctx.db, 'Fiber 50');
    await addSubscriber(ctx, { fullName: 'Dee', username: 'dee', password: 'pw-dee', plan: 'Fiber 50', router: 'rad1' });
    await addSubscriber(ctx, { fullName: 'Eve', username: 'eve', password: 'pw-eve', plan: 'Plain', router: 'rad1' });
    await addSubscriber(ctx, { fullName: 'Fay', username: 'fay', password: 'pw-fay', plan: 'Plain', router: 'rad1', staticIp: '10.41.0.9' });
    expect(await reply('dee')).toEqual([['Mikrotik-Rate-Limit', '20M/50M'], ['Framed-Pool', `ispctl-pool-${fiber.id}`]]);
    expect(await reply('eve')).toEqual([['Mikrotik-Rate-Limit', '2M/5M'], ['Framed-Pool', 'ispctl-pool-default']]);
    expect(await reply('fay')).toEqual([['Mikrotik-Rate-Limit', '2M/5M'], ['Framed-IP-Address', '10.41.0.9']]);
    // The plan gives up its own pool: dee falls back to the router's, at once.
    await editPlan(ctx, 'Fiber 50', { pool: 'default' });
    expect(await reply('dee')).toEqual([['Mikrotik-Rate-Limit', '20M/50M'], ['Framed-Pool', 'ispctl-pool-default']]);
    // The router drops its pool: no pool to name.
    await editRouter(ctx, 'rad1', { pool: null });
    expect(await reply('eve')).toEqual([['Mikrotik-Rate-Limit', '2M/5M']]);
    // A plan change of the service counts too.
    await editPlan(ctx, 'Home 10', { pool: '10.42.0.0/24' });
    await editSubscriber(ctx, 'eve', { plan: 'Home 10' });
    const home = await getPlan(ctx.db, 'Home 10');
    expect(await reply('eve')).toEqual([['Mikrotik-Rate-Limit', '5M/10M'], ['Framed-Pool', `ispctl-pool-${home.id}`]]);
  });

  it('the migration goes down (replies as before pools) and up again', async () => {
    const k = ctx.db;
    // Every later migration comes down first (newest first), as a rollback to this point would.
    const at = migrations.findIndex((m) => m.name === '20261202020000_address_pools');
    const pools = migrations[at]!;
    const later = migrations.slice(at + 1);
    for (const m of [...later].reverse()) await m.down(k);
    await pools.down(k);
    expect(await k.schema.hasColumn('plans', 'pool_ranges')).toBe(false);
    expect(await reply('eve')).toEqual([['Mikrotik-Rate-Limit', '5M/10M']]);
    await pools.up(k);
    for (const m of later) await m.up(k);
    expect(await k.schema.hasColumn('routers', 'local_address')).toBe(true);
    expect(await reply('fay')).toEqual([['Mikrotik-Rate-Limit', '2M/5M'], ['Framed-IP-Address', '10.41.0.9']]);
  });
});
