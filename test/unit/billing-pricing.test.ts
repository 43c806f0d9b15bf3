// Pricing a line without a database: full periods, partial periods, plan changes part way,
// individual prices, discounts and plans in another currency, to the centavo.
import { describe, expect, it } from 'vitest';
import { priceLine, type PlanPrice } from '../../src/core/billing/pricing.js';

const NOV = { start: '2026-11-01', end: '2026-11-30', days: 30 };
const plans = new Map<number, PlanPrice>([
  [1, { id: 1, name: 'Fiber 50', priceMinor: 150000n, currency: 'PHP' }],
  [2, { id: 2, name: 'Fiber 100', priceMinor: 240000n, currency: 'PHP' }],
  [3, { id: 3, name: 'Dollar plan', priceMinor: 3000n, currency: 'USD' }],
]);
const book = { plans, currency: 'PHP' };
const base = { period: NOV, range: { start: NOV.start, end: NOV.end }, planId: 1, individualPriceMinor: null, discount: null, discountUntil: null };

describe('priceLine', () => {
  it('a full period at the plan price', () => {
    const r = priceLine(base, book);
    expect(r).toEqual({ ok: true, line: expect.objectContaining({ planId: 1, priceSource: 'plan', unitPriceMinor: 150000n, days: 30, periodDays: 30, amountMinor: 150000n, discountMinor: 0n, totalMinor: 150000n, segments: null }) });
    expect(r.ok && r.line.description).toBe('Fiber 50, 2026-11-01 to 2026-11-30');
  });

  it('a service started on the 16th pays 15 of 30 days', () => {
    const r = priceLine({ ...base, range: { start: '2026-11-16', end: '2026-11-30' } }, book);
    expect(r.ok && r.line).toMatchObject({ days: 15, amountMinor: 75000n, totalMinor: 75000n, description: 'Fiber 50, 2026-11-16 to 2026-11-30 (15 of 30 days)' });
  });

  it('an individual price replaces the plan price, and a percent discount comes off', () => {
    const r = priceLine({ ...base, individualPriceMinor: 99900n, discount: { kind: 'percent', basisPoints: 1000 } }, book);
    expect(r.ok && r.line).toMatchObject({ priceSource: 'individual', unitPriceMinor: 99900n, amountMinor: 99900n, discountKind: 'percent', discountValue: 1000n, discountMinor: 9990n, totalMinor: 89910n });
  });

  it('a discount that ended before the period does not apply', () => {
    const r = priceLine({ ...base, discount: { kind: 'fixed', minor: 10000n }, discountUntil: '2026-10-31' }, book);
    expect(r.ok && r.line).toMatchObject({ discountKind: null, discountMinor: 0n, totalMinor: 150000n });
  });

  it('a plan change on the 11th: two segments by days that add up to the line', () => {
    const r = priceLine({ ...base, planId: 2, changes: [{ date: '2026-11-11', oldPlanId: 1, newPlanId: 2 }] }, book);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.line.planId).toBe(2);
    expect(r.line.segments).toEqual([
      expect.objectContaining({ planId: 1, from: '2026-11-01', to: '2026-11-10', days: 10, unitPriceMinor: 150000n }),
      expect.objectContaining({ planId: 2, from: '2026-11-11', to: '2026-11-30', days: 20, unitPriceMinor: 240000n }),
    ]);
    expect(r.line.segments!.reduce((s, x) => s + x.amountMinor, 0n)).toBe(r.line.amountMinor);
    expect(r.line.amountMinor).toBe(50000n + 160000n);
    expect(r.line.description).toBe('Fiber 50 → Fiber 100, 2026-11-01 to 2026-11-30');
  });

  it('a plan in another currency is not billed', () => {
    expect(priceLine({ ...base, planId: 3 }, book)).toEqual({ ok: false, reason: 'currency_mismatch' });
    expect(priceLine({ ...base, planId: 1, changes: [{ date: '2026-11-20', oldPlanId: 3, newPlanId: 1 }] }, book)).toEqual({ ok: false, reason: 'currency_mismatch' });
  });
});
