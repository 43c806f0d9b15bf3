// Reports on both engines, to the centavo: aging buckets, the cashier's end-of-day collections
// by day, method and OS user, and revenue by month and plan with ARPU and churn.
import { beforeAll, expect, it } from 'vitest';
import { FixedClock } from '../../src/core/clock.js';
import type { ServiceContext } from '../../src/core/context.js';
import { generateInvoices } from '../../src/core/billing/generate.js';
import { recordPayment, voidPayment } from '../../src/core/payments/service.js';
import { agingReport, collectionsReport, revenueReport, toCsv } from '../../src/core/reports/service.js';
import { describeEachEngine } from '../helpers/db.js';
import { seedIsp, testContext } from '../helpers/fixtures.js';

describeEachEngine('reports', (db) => {
  const clock = new FixedClock('2026-08-01T02:00:00Z');
  let ctx: ServiceContext;
  const as = (user: string): ServiceContext => ({ ...ctx, actor: { user, command: 'ispctl payment record' } });

  beforeAll(async () => {
    ctx = testContext(db(), clock);
    await seedIsp(ctx, {
      // Nobody pays for months: keep billing them while suspended, so every month has invoices.
      extraSettings: { 'bill-suspended-services': true },
      plans: [{}, { name: 'Fiber 100', price: '2,499.50', download: '100M', upload: '20M' }],
      startDate: '2026-08-01',
      subscribers: [
        { username: 'ana', fullName: 'Ana' },
        { username: 'ben', fullName: 'Ben', plan: 'Fiber 100' },
        { username: 'cora', fullName: 'Cora' },
      ],
    });
    for (const month of ['2026-08', '2026-09', '2026-10', '2026-11']) {
      clock.set(`${month}-01T08:00:00+08:00`);
      await generateInvoices(ctx);
    }
    // Ana pays everything; Ben pays part of August; Cora pays nothing.
    clock.set('2026-11-20T09:00:00+08:00');
    await recordPayment(as('maria'), { subscriber: 'ana', amount: '3,000.00', method: 'gcash', reference: 'GC-1' });
    await recordPayment(as('maria'), { subscriber: 'ana', amount: '1,500.00', method: 'cash' });
    clock.set('2026-11-20T17:30:00+08:00');
    await recordPayment(as('jose'), { subscriber: 'ana', amount: '1,500.00', method: 'cash' });
    await recordPayment(as('jose'), { subscriber: 'ben', amount: '999.50', method: 'cash' });
    const wrong = await recordPayment(as('jose'), { subscriber: 'cora', amount: '100.00', method: 'cash' });
    await voidPayment(as('jose'), wrong.payment.id, { reason: 'wrong subscriber' });
    // 16:30 UTC on the 20th is 00:30 on the 21st in Manila: the 21st's collections.
    clock.set('2026-11-20T16:30:00Z');
    await recordPayment(as('maria'), { subscriber: 'ben', amount: '500.00', method: 'bank', reference: 'BDO-9' });
    clock.set('2026-11-22T10:00:00+08:00');
  });

  it('aging buckets open invoices by days past due', async () => {
    const r = await agingReport(ctx.db, { now: clock.now(), detail: true });
    expect(r.asOf).toBe('2026-11-22');
    // Due dates: Aug 16 (98 days), Sep 16 (67), Oct 16 (37), Nov 16 (6).
    const by = Object.fromEntries(r.rows.map((x) => [x.bucket, x]));
    expect(by['90+']).toEqual({ bucket: '90+', invoices: 2, subscribers: 2, amountMinor: 150000n + (249950n - 149950n) });
    expect(by['61-90']).toEqual({ bucket: '61-90', invoices: 2, subscribers: 2, amountMinor: 150000n + 249950n });
    expect(by['31-60']!.amountMinor).toBe(150000n + 249950n);
    expect(by['1-30']!.amountMinor).toBe(150000n + 249950n);
    expect(by.current!.amountMinor).toBe(0n);
    expect(r.totalMinor).toBe(4n * 150000n + 4n * 249950n - 149950n);
    expect(r.subscribers!.map((s) => s.name)).toEqual(['Ben', 'Cora']);
    expect(r.subscribers![0]!.buckets['90+']).toBe(100000n);
    const earlier = await agingReport(ctx.db, { now: clock.now(), asOf: '2026-09-20' });
    // Ages as of that day, balances as of now: Ana has paid since.
    expect(earlier.rows.find((x) => x.bucket === '1-30')!.amountMinor).toBe(150000n + 249950n);
  });

  it("collections by day, method and recorder match the payments to the centavo", async () => {
    const r = await collectionsReport(ctx.db, { from: '2026-11-20', to: '2026-11-21', now: clock.now() });
    expect(r.rows).toEqual([
      { day: '2026-11-20', method: 'cash', recordedBy: 'jose', payments: 2, amountMinor: 249950n },
      { day: '2026-11-20', method: 'cash', recordedBy: 'maria', payments: 1, amountMinor: 150000n },
      { day: '2026-11-20', method: 'gcash', recordedBy: 'maria', payments: 1, amountMinor: 300000n },
      { day: '2026-11-21', method: 'bank', recordedBy: 'maria', payments: 1, amountMinor: 50000n },
    ]);
    expect(r.byRecorder).toEqual([
      { recordedBy: 'jose', payments: 2, amountMinor: 249950n },
      { recordedBy: 'maria', payments: 3, amountMinor: 500000n },
    ]);
    expect(r.totalMinor).toBe(749950n);
    expect(r.voided).toEqual({ payments: 1, amountMinor: 10000n });
    const oneDay = await collectionsReport(ctx.db, { from: '2026-11-21', now: clock.now() });
    expect(oneDay.totalMinor).toBe(50000n);
    await expect(collectionsReport(ctx.db, { from: '2026-11-21', to: '2026-11-01', now: clock.now() })).rejects.toMatchObject({ code: 'INVALID_DATE_RANGE' });
  });

  it('revenue by month and plan, with ARPU', async () => {
    const r = await revenueReport(ctx.db, { from: '2026-08', to: '2026-11', now: clock.now() });
    expect(r.months.map((m) => m.month)).toEqual(['2026-08', '2026-09', '2026-10', '2026-11']);
    const nov = r.months[3]!;
    expect(nov).toMatchObject({ billedMinor: 549950n, netMinor: 549950n, subscribers: 3, collectedMinor: 749950n, churned: 0 });
    expect(nov.arpuMinor).toBe(183317n); // 5,499.50 / 3 = 1,833.1666… → 1,833.17
    expect(r.byPlan.filter((p) => p.month === '2026-11')).toEqual([
      { month: '2026-11', plan: 'Fiber 100', services: 1, billedMinor: 249950n },
      { month: '2026-11', plan: 'Fiber 50', services: 2, billedMinor: 300000n },
    ]);
    expect(r.services.active).toBe(3);
  });

  it('CSV quotes what needs quoting and defuses formulas', () => {
    expect(toCsv(['a', 'b'], [['x,y', '=SUM(A1)'], ['-12.50', 'say "hi"']])).toBe('a,b\r\n"x,y",\'=SUM(A1)\r\n-12.50,"say ""hi"""\r\n');
  });
});
