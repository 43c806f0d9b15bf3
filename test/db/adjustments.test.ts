// Adjustments on both engines, to the centavo: a charge on the next invoice, a charge invoiced at
// once, a credit that pays the oldest invoice and restores a suspended subscriber, voids, the
// revenue report counting charges and credits, and bad input changing nothing.
import { beforeAll, expect, it } from 'vitest';
import { FixedClock } from '../../src/core/clock.js';
import type { ServiceContext } from '../../src/core/context.js';
import { addAdjustment, listAdjustments, voidAdjustment } from '../../src/core/adjustments/service.js';
import { generateInvoices } from '../../src/core/billing/generate.js';
import { listInvoices, showInvoice } from '../../src/core/billing/invoices.js';
import { runCollections } from '../../src/core/collections/run.js';
import { revenueReport, collectionsReport } from '../../src/core/reports/service.js';
import { ispToday } from '../../src/core/subscribers/service.js';
import { describeEachEngine } from '../helpers/db.js';
import { seedIsp, testContext } from '../helpers/fixtures.js';

describeEachEngine('adjustments', (db) => {
  const clock = new FixedClock('2026-10-01T02:00:00Z');
  let ctx: ServiceContext;
  const acct: Record<string, string> = {};
  const service = async (username: string) => db().knex('services').where({ username }).first('collection_status');

  beforeAll(async () => {
    ctx = testContext(db(), clock);
    const { subscribers } = await seedIsp(ctx, { startDate: '2026-10-01', subscribers: ['ana', 'ben'].map((name) => ({ username: name, fullName: name })) });
    for (const name of ['ana', 'ben']) acct[name] = subscribers[name]!.accountNo;
  });

  it('a charge waits for the next invoice and is billed on it as a line with its reason', async () => {
    const r = await addAdjustment(ctx, { subscriber: 'ana', type: 'installation', amount: '1,200.50', reason: 'Fiber installation' });
    expect(r.adjustment).toMatchObject({ direction: 'charge', status: 'pending', amountMinor: 120050n, createdBy: 'tester' });
    clock.set('2026-11-01T08:00:00+08:00');
    await generateInvoices(ctx);
    const [inv] = await listInvoices(ctx.db, { today: await ispToday(ctx), subscriberId: r.adjustment.subscriberId, periodKey: '2026-11' });
    expect(inv).toMatchObject({ totalMinor: 270050n, balanceMinor: 270050n });
    const details = await showInvoice(ctx, inv!.number);
    expect(details.lines.map((l) => [l.description, l.totalMinor])).toContainEqual(['Installation fee: Fiber installation', 120050n]);
    expect((await listAdjustments(ctx.db, { subscriber: 'ana' }))[0]).toMatchObject({ status: 'invoiced', invoiceNumber: inv!.number });
    // Generating again adds nothing.
    await generateInvoices(ctx);
    expect((await listInvoices(ctx.db, { today: await ispToday(ctx), subscriberId: r.adjustment.subscriberId, periodKey: '2026-11' }))[0]!.totalMinor).toBe(270050n);
  });

  it('a charge invoiced now gets an invoice of its own, outside the one-per-period key', async () => {
    const r = await addAdjustment(ctx, { subscriber: 'ben', type: 'equipment', amount: '2500', reason: 'ONU replacement', invoiceNow: true });
    expect(r.invoiceNumber).toMatch(/^INV-/);
    const inv = await showInvoice(ctx, r.invoiceNumber!);
    expect(inv).toMatchObject({ totalMinor: 250000n, balanceMinor: 250000n, dueDate: '2026-11-16' });
    expect(inv.lines).toHaveLength(1);
  });

  it('a credit pays the oldest open invoice at once and restores a suspended subscriber', async () => {
    clock.set('2026-11-25T08:00:00+08:00');
    await runCollections(ctx);
    expect((await service('ben'))!.collection_status).toBe('suspended');
    // Ben owes 1,500.00 (November) + 2,500.00 (equipment); a 4,000.00 credit memo clears both.
    const r = await addAdjustment(ctx, { subscriber: 'ben', type: 'credit_memo', amount: '4,000.00', reason: 'Billing dispute settled' });
    expect(r.adjustment).toMatchObject({ direction: 'credit', status: 'applied', paymentId: expect.any(Number) });
    expect(r.collections.restored).toHaveLength(1);
    expect((await service('ben'))!.collection_status).not.toBe('suspended');
    const open = (await listInvoices(ctx.db, { today: await ispToday(ctx), subscriberId: r.adjustment.subscriberId })).filter((i) => i.balanceMinor > 0n);
    expect(open).toEqual([]);
    // A credit is not money received: the cashier's report leaves it out.
    expect((await collectionsReport(ctx.db, { from: '2026-11-25', now: clock.now() })).totalMinor).toBe(0n);
  });

  it('voiding a credit takes the money back; voiding an invoiced charge takes it off the invoice', async () => {
    const credit = (await listAdjustments(ctx.db, { subscriber: 'ben' })).find((a) => a.type === 'credit_memo')!;
    await voidAdjustment(ctx, credit.ref, { reason: 'entered for the wrong account' });
    const benOpen = (await listInvoices(ctx.db, { today: await ispToday(ctx), subscriberId: credit.subscriberId })).reduce((t, i) => t + i.balanceMinor, 0n);
    expect(benOpen).toBe(400000n);
    const charge = (await listAdjustments(ctx.db, { subscriber: 'ana' })).find((a) => a.type === 'installation')!;
    await voidAdjustment(ctx, charge.id, { reason: 'installation was free' });
    const [inv] = await listInvoices(ctx.db, { today: await ispToday(ctx), subscriberId: charge.subscriberId, periodKey: '2026-11' });
    expect(inv).toMatchObject({ totalMinor: 150000n });
    await expect(voidAdjustment(ctx, charge.id, { reason: 'again' })).rejects.toMatchObject({ code: 'ADJUSTMENT_ALREADY_VOID', exitCode: 5 });
  });

  it('revenue counts charges as billed and credits apart', async () => {
    await addAdjustment(ctx, { subscriber: 'ana', type: 'outage_rebate', amount: '100.25', reason: 'Outage Nov 20' });
    const nov = (await revenueReport(ctx.db, { from: '2026-11', to: '2026-11', now: clock.now() })).months[0]!;
    expect(nov).toMatchObject({ billedMinor: 150000n + 150000n + 250000n, creditsMinor: 10025n, netMinor: 550000n - 10025n });
  });

  it('bad input changes nothing', async () => {
    const before = (await listAdjustments(ctx.db)).length;
    await expect(addAdjustment(ctx, { subscriber: 'ana', type: 'bribe', amount: '1', reason: 'x' })).rejects.toMatchObject({ code: 'INVALID_ADJUSTMENT_TYPE' });
    await expect(addAdjustment(ctx, { subscriber: 'ana', type: 'goodwill', amount: '-5', reason: 'x' })).rejects.toMatchObject({ exitCode: 2 });
    await expect(addAdjustment(ctx, { subscriber: 'ana', type: 'goodwill', amount: '5', reason: ' ' })).rejects.toMatchObject({ code: 'MISSING_REASON' });
    await expect(addAdjustment(ctx, { subscriber: 'ana', type: 'goodwill', amount: '5', reason: 'x', invoiceNow: true })).rejects.toMatchObject({ code: 'CONFLICTING_FLAGS' });
    await expect(addAdjustment(ctx, { subscriber: 'nobody', type: 'goodwill', amount: '5', reason: 'x' })).rejects.toMatchObject({ exitCode: 4 });
    expect((await listAdjustments(ctx.db)).length).toBe(before);
  });
});

describeEachEngine('late fees and write-offs', (db) => {
  const clock = new FixedClock('2026-10-01T02:00:00Z');
  let ctx: ServiceContext;

  beforeAll(async () => {
    ctx = testContext(db(), clock);
    await seedIsp(ctx, {
      settings: { 'grace-days': 5 },
      extraSettings: { 'late-fee': '2%', 'late-fee-days': 3, 'uncollectible-days': 30 },
      plans: [{ price: '1,499.99' }],
      startDate: '2026-10-01',
      subscribers: [{ username: 'cora', fullName: 'Cora' }],
    });
    clock.set('2026-11-01T08:00:00+08:00');
    await generateInvoices(ctx);
  });

  it('collections charges the late fee once, late-fee-days after the due date, on the next invoice', async () => {
    clock.set('2026-11-18T08:00:00+08:00'); // due Nov 16: 2 days late, not yet
    await runCollections(ctx);
    expect(await listAdjustments(ctx.db)).toEqual([]);
    clock.set('2026-11-19T08:00:00+08:00');
    await runCollections(ctx);
    await runCollections(ctx);
    const fees = await listAdjustments(ctx.db);
    // 2% of 1,499.99 = 29.9998 → 30.00, once.
    expect(fees.map((a) => [a.type, a.amountMinor, a.status])).toEqual([['late_fee', 3000n, 'pending']]);
    clock.set('2026-12-01T08:00:00+08:00');
    await generateInvoices(ctx);
    const [dec] = await listInvoices(ctx.db, { today: await ispToday(ctx), periodKey: '2026-12' });
    expect(dec!.totalMinor).toBe(149999n + 3000n);
  });

  it('a suspended subscriber unpaid past uncollectible-days is written off', async () => {
    expect((await db().knex('services').where({ username: 'cora' }).first('collection_status')).collection_status).toBe('suspended');
    clock.set('2026-12-17T08:00:00+08:00'); // Nov 16 + 30 days = Dec 16
    await runCollections(ctx);
    expect((await db().knex('services').where({ username: 'cora' }).first('collection_status')).collection_status).toBe('uncollectible');
    expect((await revenueReport(ctx.db, { from: '2026-12', to: '2026-12', now: clock.now() })).services.uncollectible).toBe(1);
  });
});
