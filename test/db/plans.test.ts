import { beforeAll, expect, it } from 'vitest';
import type { ServiceContext } from '../../src/core/context.js';
import { IspctlError } from '../../src/core/errors.js';
import { archivePlan, createPlan, editPlan, getPlan, listPlans, showPlan } from '../../src/core/plans/service.js';
import { addRouter } from '../../src/core/routers/service.js';
import { initialise } from '../../src/core/settings/init.js';
import { addSubscriber, removeSubscriber } from '../../src/core/subscribers/service.js';
import { describeEachEngine } from '../helpers/db.js';

async function rejection(p: Promise<unknown>): Promise<IspctlError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof IspctlError) return err;
    throw err;
  }
  throw new Error('expected the promise to reject');
}

describeEachEngine('plans', (db) => {
  let ctx: ServiceContext;
  beforeAll(async () => {
    ctx = { ...db().ctx(), env: { ISPCTL_SECRET_KEY: 'b2'.repeat(32) } };
  });

  it('needs ispctl init first: the currency comes from the settings', async () => {
    const e = await rejection(createPlan(ctx, { name: 'Early', price: '100', download: '1M', upload: '1M' }));
    expect(e.code).toBe('NOT_INITIALISED');
    await initialise(ctx, { values: { 'isp-name': 'Test ISP', currency: 'PHP', timezone: 'Asia/Manila' } });
  });

  it('creates a plan with the price in minor units and speeds in kbit/s', async () => {
    const p = await createPlan(ctx, { name: 'Fiber 50', price: '₱1,500.50', download: '50Mbps', upload: '10 Mbit/s' });
    expect(p).toMatchObject({
      name: 'Fiber 50',
      priceMinor: 150050n,
      currency: 'PHP',
      price: '1500.50',
      downloadKbps: 50_000,
      uploadKbps: 10_000,
      billingType: 'postpaid',
      burst: null,
      throttleDownloadKbps: null,
      suspensionAction: null,
      rateLimit: '10M/50M',
      archivedAt: null,
      revision: 1,
    });
    const row = await ctx.db('plans').where({ id: p.id }).first();
    expect(row.price_minor).toBe(150050n);
    expect(row.download_kbps).toBe(50_000);
  });

  it('fills burst thresholds (3/4 of the speed) and time (8 s) when only the rates are given', async () => {
    const p = await createPlan(ctx, { name: 'Burst 20', price: '999', download: '20M', upload: '5M', burstDownload: '30M', burstUpload: '8M', billingType: 'prepaid' });
    expect(p.burst).toEqual({ downloadKbps: 30_000, uploadKbps: 8_000, thresholdDownloadKbps: 15_000, thresholdUploadKbps: 3_750, timeSeconds: 8 });
    expect(p.rateLimit).toBe('5M/20M 8M/30M 3750k/15M 8/8');
    expect(p.billingType).toBe('prepaid');
  });

  it('refuses duplicates ignoring case (exit 5) and bad input (exit 2), writing nothing', async () => {
    const count = async () => (await ctx.db('plans').count({ n: '*' }))[0]!.n;
    const before = await count();
    const dup = await rejection(createPlan(ctx, { name: 'FIBER 50', price: '1', download: '1M', upload: '1M' }));
    expect([dup.code, dup.exitCode]).toEqual(['PLAN_EXISTS', 5]);
    const cases: Array<[Parameters<typeof createPlan>[1], string, string]> = [
      [{ name: 'x', price: '1500', download: '100', upload: '10M' }, 'INVALID_SPEED', '"100"'],
      [{ name: 'x', price: '15.001', download: '10M', upload: '10M' }, 'INVALID_AMOUNT', '"15.001"'],
      [{ name: 'x', price: '$15', download: '10M', upload: '10M' }, 'INVALID_AMOUNT', 'PHP'],
      [{ name: 'x', price: '-5', download: '10M', upload: '10M' }, 'INVALID_AMOUNT', 'negative'],
      [{ name: '', price: '1', download: '10M', upload: '10M' }, 'INVALID_PLAN_NAME', 'empty'],
      [{ name: 'x', price: '1', download: '10M', upload: '10M', billingType: 'weekly' }, 'INVALID_BILLING_TYPE', '"weekly"'],
      [{ name: 'x', price: '1', download: '10M', upload: '10M', burstDownload: '20M' }, 'INCOMPLETE_BURST', 'both'],
      [{ name: 'x', price: '1', download: '10M', upload: '10M', burstDownload: '8M', burstUpload: '20M' }, 'INVALID_BURST', 'faster'],
      [{ name: 'x', price: '1', download: '10M', upload: '10M', burstDownload: '20M', burstUpload: '20M', burstThresholdDownload: '12M' }, 'INVALID_BURST', 'exceed'],
      [{ name: 'x', price: '1', download: '10M', upload: '10M', burstDownload: '20M', burstUpload: '20M', burstTime: '0' }, 'INVALID_BURST_TIME', '"0"'],
      [{ name: 'x', price: '1', download: '10M', upload: '10M', suspensionAction: 'nap' }, 'INVALID_SUSPENSION_ACTION', '"nap"'],
      [{ name: 'x', price: '1', download: '10M', upload: '10M', throttleDownload: '1MB' }, 'INVALID_SPEED', 'bytes'],
    ];
    for (const [input, code, text] of cases) {
      const e = await rejection(createPlan(ctx, input));
      expect(e.code, JSON.stringify(input)).toBe(code);
      expect(e.exitCode).toBe(2);
      expect(e.message).toContain(text);
    }
    expect(await count()).toBe(before);
  });

  it('the database refuses inconsistent rows', async () => {
    const base = { price_minor: 100, currency: 'PHP', download_kbps: 10_000, upload_kbps: 5_000 };
    await expect(ctx.db('plans').insert({ ...base, name: 'fiber 50' })).rejects.toThrow(/plans_name_lower_key/);
    await expect(ctx.db('plans').insert({ ...base, name: 'neg', price_minor: -1 })).rejects.toThrow(/plans_price_nonnegative/);
    await expect(ctx.db('plans').insert({ ...base, name: 'half-burst', burst_download_kbps: 20_000 })).rejects.toThrow(/plans_burst_all_or_none/);
    await expect(ctx.db('plans').insert({ ...base, name: 'zero', download_kbps: 0 })).rejects.toThrow(/plans_speeds_positive/);
  });

  it('edits speeds and returns the current services that must follow; a price change affects none', async () => {
    await addRouter(ctx, { name: 'core1', host: '127.0.0.31', apiUser: 'u', apiPassword: 'p' });
    const a = await addSubscriber(ctx, { fullName: 'A', username: 'p-a', plan: 'Fiber 50', router: 'core1' });
    const b = await addSubscriber(ctx, { fullName: 'B', username: 'p-b', plan: 'Fiber 50', router: 'core1' });
    await addSubscriber(ctx, { fullName: 'C', username: 'p-c', plan: 'Burst 20', router: 'core1' });
    await addSubscriber(ctx, { fullName: 'D', username: 'p-d', plan: 'Fiber 50', router: 'core1' });
    await removeSubscriber(ctx, 'p-d');

    const price = await editPlan(ctx, 'fiber 50', { price: '1,650' });
    expect(price).toMatchObject({ changed: ['priceMinor'], accessChanged: false, affectedServiceIds: [] });
    expect(price.plan.priceMinor).toBe(165000n);

    const speed = await editPlan(ctx, 'Fiber 50', { download: '60M', upload: '12M' });
    expect(speed.changed).toEqual(['downloadKbps', 'uploadKbps']);
    expect(speed.accessChanged).toBe(true);
    expect(speed.affectedServiceIds).toEqual([a.service.id, b.service.id]);
    expect(speed.plan.rateLimit).toBe('12M/60M');
    expect(speed.plan.revision).toBe(3);

    expect((await editPlan(ctx, 'Fiber 50', { download: '60M' })).changed).toEqual([]);
    const th = await editPlan(ctx, 'Fiber 50', { throttleDownload: '2M', suspensionAction: 'throttle' });
    expect(th.affectedServiceIds).toHaveLength(2);
    const back = await editPlan(ctx, 'Fiber 50', { throttleDownload: 'default', suspensionAction: 'default' });
    expect(back.plan).toMatchObject({ throttleDownloadKbps: null, suspensionAction: null });

    const audit = await ctx.db('audit_log').where({ entity_type: 'plan', entity_id: String(speed.plan.id), action: 'update' });
    expect(audit).toHaveLength(4);
  });

  it('checks the whole row on edit: slower speeds must stay under the burst', async () => {
    const e = await rejection(editPlan(ctx, 'Burst 20', { download: '40M' }));
    expect(e.code).toBe('INVALID_BURST');
    expect(e.suggestions.join(' ')).toContain('--no-burst');
    const res = await editPlan(ctx, 'Burst 20', { download: '40M', clearBurst: true });
    expect(res.plan.burst).toBeNull();
    expect(res.changed).toEqual(['downloadKbps', 'burst']);
    const renamed = await editPlan(ctx, 'Burst 20', { name: 'Home 40' });
    expect(renamed.plan.name).toBe('Home 40');
    expect(renamed.affectedServiceIds).toEqual([]);
    expect((await rejection(editPlan(ctx, 'Home 40', { name: 'FIBER 50' }))).code).toBe('PLAN_EXISTS');
  });

  it('does not lose a concurrent edit: the update is conditioned on the revision read', async () => {
    const [r1, r2] = await Promise.allSettled([editPlan(ctx, 'Home 40', { price: '1000' }), editPlan(ctx, 'Home 40', { price: '1100' })]);
    const ok = [r1, r2].filter((r) => r.status === 'fulfilled');
    const failed = [r1, r2].filter((r) => r.status === 'rejected') as PromiseRejectedResult[];
    expect(ok.length).toBeGreaterThanOrEqual(1);
    for (const f of failed) expect((f.reason as IspctlError).kind).toBe('conflict');
    const plan = await getPlan(ctx.db, 'Home 40');
    expect(plan.revision).toBe(2 + ok.length + 1);
  });

  it('archives only plans without current services unless forced; archived plans keep their subscribers', async () => {
    const e = await rejection(archivePlan(ctx, 'Fiber 50'));
    expect([e.code, e.exitCode]).toEqual(['PLAN_IN_USE', 5]);
    expect(e.message).toContain('2 current services');
    const forced = await archivePlan(ctx, 'Fiber 50', { force: true });
    expect(forced).toMatchObject({ currentServices: 2, alreadyArchived: false });
    expect(forced.plan.archivedAt).toEqual(new Date('2026-11-01T00:00:00Z'));
    expect((await archivePlan(ctx, 'Fiber 50')).alreadyArchived).toBe(true);
    expect((await listPlans(ctx.db)).map((p) => p.name)).toEqual(['Home 40']);
    expect((await listPlans(ctx.db, { includeArchived: true })).map((p) => [p.name, p.serviceCount])).toEqual([
      ['Home 40', 1],
      ['Fiber 50', 2],
    ]);
    expect((await showPlan(ctx.db, 'fiber 50')).serviceCount).toBe(2);
    const add = await rejection(addSubscriber(ctx, { fullName: 'E', username: 'p-e', plan: 'Fiber 50', router: 'core1' }));
    expect([add.code, add.exitCode]).toEqual(['PLAN_ARCHIVED', 5]);
    const dup = await rejection(createPlan(ctx, { name: 'Fiber 50', price: '1', download: '1M', upload: '1M' }));
    expect(dup.message).toContain('archived');
  });

  it('404s on unknown plans', async () => {
    const e = await rejection(getPlan(ctx.db, 'Nope'));
    expect([e.code, e.exitCode]).toEqual(['PLAN_NOT_FOUND', 4]);
  });
});
