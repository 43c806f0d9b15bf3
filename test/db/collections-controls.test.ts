// Controls over collections on both engines: the per-run suspension cap, the pause, and the
// extension of one subscriber (promise to pay), through the core services a command calls.
import { beforeAll, expect, it } from 'vitest';
import { generateInvoices } from '../../src/core/billing/generate.js';
import { FixedClock } from '../../src/core/clock.js';
import { collectionsStatus, extendSubscriber, pauseCollections, resumeCollections } from '../../src/core/collections/controls.js';
import { runCollections } from '../../src/core/collections/run.js';
import type { ServiceContext } from '../../src/core/context.js';
import { IspctlError } from '../../src/core/errors.js';
import { getSetting, setSettings } from '../../src/core/settings/service.js';
import { showSubscriber, suspendSubscriber } from '../../src/core/subscribers/service.js';
import { describeEachEngine } from '../helpers/db.js';
import { seedIsp, testContext } from '../helpers/fixtures.js';

const COUNT = 25; // more than the share cap's floor of 20, so the default 10% stops a run suspending them all

describeEachEngine('collections controls', (db) => {
  let ctx: ServiceContext;
  const at = (iso: string) => (ctx = { ...ctx, clock: new FixedClock(iso) });
  const statusOf = async (username: string) => ctx.db('services').where({ username }).first('collection_status', 'access_state');
  const suspendedCount = async () => Number((await ctx.db('services').where({ collection_status: 'suspended' }).count({ n: '*' }))[0]!.n);

  beforeAll(async () => {
    ctx = testContext(db(), new FixedClock('2026-11-01T01:00:00Z'));
    await seedIsp(ctx, {
      settings: { 'isp-name': 'Test ISP', 'grace-days': 5 },
      routers: [{ host: '127.0.0.1', apiPort: 1, apiUser: 'admin', apiPassword: 'x', mode: 'api' }],
      plans: [{ price: '1500', upload: '20M' }],
      subscribers: Array.from({ length: COUNT }, (_, i) => ({ username: `u${i + 1}`, fullName: `Sub ${i + 1}`, password: 'pw' })),
    });
    await generateInvoices(ctx, { period: '2026-11' }); // due 2026-11-16, suspension after 2026-11-21
    at('2026-11-25T01:00:00Z');
  });

  it('the setting takes a count, a share or none', async () => {
    for (const [raw, stored] of [['500', '500'], ['5%', '5%'], [' 2.5 % ', '2.5%'], ['NONE', 'none'], ['10%', '10%']]) {
      await setSettings(ctx, { 'collections-max-suspensions': raw });
      expect((await getSetting(ctx.db, 'collections-max-suspensions')).value).toBe(stored);
    }
    for (const bad of ['0', '0%', '101%', 'lots', '-5']) {
      await expect(setSettings(ctx, { 'collections-max-suspensions': bad })).rejects.toMatchObject({ code: 'INVALID_SETTING_VALUE' });
    }
    expect(await collectionsStatus(ctx)).toMatchObject({ paused: null, maxSuspensions: '10%', suspensionLimit: 20, activeServices: COUNT, extensions: [] });
  });

  it('paused: collections suspends no one, and says so', async () => {
    const p = await pauseCollections(ctx, { reason: 'typhoon' });
    expect(p).toMatchObject({ changed: true, pause: { pausedBy: 'tester', reason: 'typhoon' } });
    expect((await pauseCollections(ctx, { reason: 'again' })).changed).toBe(false);
    expect((await collectionsStatus(ctx)).paused).toMatchObject({ reason: 'typhoon' });
    const r = await runCollections(ctx, { force: true });
    expect(r.paused).toMatchObject({ reason: 'typhoon' });
    expect(r.suspended).toEqual([]);
    expect(r.suspensionsHeld).toEqual({ reason: 'paused', subscribers: COUNT, services: COUNT, limit: null });
    expect(await suspendedCount()).toBe(0);
    expect((await resumeCollections(ctx)).was).toMatchObject({ reason: 'typhoon' });
    expect((await resumeCollections(ctx)).was).toBeNull();
  });

  it('a run over the cap suspends no one and records an alert; --force goes ahead; extensions are honoured', async () => {
    // A dry run shows the whole plan, and that a real run would stop at the cap.
    const dry = await runCollections(ctx, { dryRun: true });
    expect(dry.suspended).toHaveLength(COUNT);
    expect(dry.transitions.filter((t) => t.kind === 'suspension')).toHaveLength(COUNT);
    expect(dry.suspensionsHeld).toEqual({ reason: 'cap', subscribers: COUNT, services: COUNT, limit: 20 });
    expect(dry.capExceeded).toEqual({ limit: 20, subscribers: COUNT, services: COUNT });
    expect(await ctx.db('audit_log').where({ entity_type: 'collections', action: 'cap-exceeded' }).first('id')).toBeUndefined();
    const r = await runCollections(ctx);
    expect(r.suspended).toEqual([]);
    expect(r.suspensionsHeld).toEqual({ reason: 'cap', subscribers: COUNT, services: COUNT, limit: 20 });
    expect(r.capExceeded).toEqual({ limit: 20, subscribers: COUNT, services: COUNT });
    expect(await suspendedCount()).toBe(0);
    const alert = await ctx.db('audit_log').where({ entity_type: 'collections', action: 'cap-exceeded' }).first('after');
    expect(JSON.parse(typeof alert.after === 'string' ? alert.after : JSON.stringify(alert.after))).toMatchObject({ wouldSuspend: COUNT, limit: 20 });

    // u1 promises to pay by the end of the month: not suspended with the others.
    const e1 = await extendSubscriber(ctx, 'u1', { until: '2026-11-30', reason: 'pays on payday' });
    expect(e1).toMatchObject({ until: '2026-11-30', reason: 'pays on payday', before: null, restored: false });
    const forced = await runCollections(ctx, { force: true });
    expect(forced.suspended).toHaveLength(COUNT - 1);
    expect(forced.capExceeded).toBeNull();
    expect(await statusOf('u1')).not.toMatchObject({ collection_status: 'suspended' });
    expect(await statusOf('u2')).toEqual({ collection_status: 'suspended', access_state: 'blocked' });
    expect((await showSubscriber(ctx, 'u1')).collectionsHold).toEqual({ until: '2026-11-30', reason: 'pays on payday' });
  });

  it('an extension restores a billing-suspended subscriber at once, never an admin-suspended one, and ends on its date', async () => {
    const e2 = await extendSubscriber(ctx, 'u2', { until: '2026-11-28' });
    expect(e2.restored).toBe(true);
    expect(e2.jobIds.length).toBeGreaterThan(0);
    expect(await statusOf('u2')).toEqual({ collection_status: 'restored', access_state: 'active' });

    await suspendSubscriber(ctx, 'u3', { reason: 'abuse report' });
    const e3 = await extendSubscriber(ctx, 'u3', { until: '2026-11-28' });
    expect(e3.restored).toBe(false);
    expect((await statusOf('u3'))!.access_state).toBe('blocked');

    await expect(extendSubscriber(ctx, 'u4', { until: '2026-11-20' })).rejects.toMatchObject({ code: 'INVALID_DATE' });
    await expect(extendSubscriber(ctx, 'u4', { until: '2026-02-30' })).rejects.toBeInstanceOf(IspctlError);
    expect((await collectionsStatus(ctx)).extensions.map((e) => e.accountNo)).toHaveLength(3);

    // 2026-11-29: u2's extension is over, u1's still runs.
    at('2026-11-29T01:00:00Z');
    const r = await runCollections(ctx);
    expect(await statusOf('u2')).toEqual({ collection_status: 'suspended', access_state: 'blocked' });
    expect(await statusOf('u1')).not.toMatchObject({ collection_status: 'suspended' });
    expect(r.suspensionsHeld).toBeNull();
    expect((await showSubscriber(ctx, 'u2')).collectionsHold).toBeNull();
  });
});
