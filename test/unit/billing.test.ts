import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { IspctlError } from '../../src/core/errors.js';
import { billingPeriods, blockedThroughout, dueDateFor } from '../../src/core/billing/generate.js';
import { DEFAULT_INVOICE_NUMBER_FORMAT, formatInvoiceNumber, parseInvoiceNumberFormat, validateInvoiceNumberFormat } from '../../src/core/billing/numbering.js';
import { billedRange, discountApplies, lineDiscount, planSpans, prorateSegments } from '../../src/core/billing/proration.js';
import { settingDef } from '../../src/core/settings/registry.js';

const price = fc.bigInt({ min: 0n, max: 10n ** 12n });
const periodDays = fc.integer({ min: 28, max: 31 });

describe('proration', () => {
  it('a whole period costs exactly the monthly price', () => {
    fc.assert(
      fc.property(price, periodDays, (p, d) => {
        expect(prorateSegments([{ days: d, unitPriceMinor: p }], d).amountMinor).toBe(p);
      }),
    );
  });

  it('rounds half-up to the minor unit: 15 of 30 days of 0.01 is 0.01; 1 of 30 days of 1,500.00 is 50.00', () => {
    expect(prorateSegments([{ days: 15, unitPriceMinor: 1n }], 30).amountMinor).toBe(1n);
    expect(prorateSegments([{ days: 14, unitPriceMinor: 1n }], 30).amountMinor).toBe(0n);
    expect(prorateSegments([{ days: 1, unitPriceMinor: 150000n }], 30).amountMinor).toBe(5000n);
    // 16/30 × 999.00 = 532.80 exactly; 10/31 × 1,500.00 = 483.870967… → 483.87
    expect(prorateSegments([{ days: 16, unitPriceMinor: 99900n }], 30).amountMinor).toBe(53280n);
    expect(prorateSegments([{ days: 10, unitPriceMinor: 150000n }], 31).amountMinor).toBe(48387n);
  });

  it('is monotonic in days and never more than the price', () => {
    fc.assert(
      fc.property(price, periodDays, fc.integer({ min: 0, max: 31 }), fc.integer({ min: 0, max: 31 }), (p, d, a, b) => {
        const x = Math.min(a, d);
        const y = Math.min(b, d);
        const ax = prorateSegments([{ days: x, unitPriceMinor: p }], d).amountMinor;
        const ay = prorateSegments([{ days: y, unitPriceMinor: p }], d).amountMinor;
        if (x <= y) expect(ax <= ay).toBe(true);
        expect(ax <= p && ax >= 0n).toBe(true);
      }),
    );
  });

  it('segments add up to the line, and to no more than the full price when the days fit in the period', () => {
    fc.assert(
      fc.property(
        periodDays,
        fc.array(fc.record({ days: fc.integer({ min: 1, max: 31 }), unitPriceMinor: price }), { minLength: 1, maxLength: 5 }),
        (d, raw) => {
          // Cut the segments so they fit in the period.
          let left = d;
          const segs = raw.map((s) => {
            const days = Math.min(s.days, left);
            left -= days;
            return { ...s, days };
          });
          const { amountMinor, amounts } = prorateSegments(segs, d);
          expect(amounts.reduce((a, b) => a + b, 0n)).toBe(amountMinor);
          for (const a of amounts) expect(a >= 0n).toBe(true);
          const max = segs.reduce((m, s) => (s.unitPriceMinor > m ? s.unitPriceMinor : m), 0n);
          expect(amountMinor <= max).toBe(true);
          // Same price throughout: exactly the single-segment amount.
          const same = segs.map((s) => ({ ...s, unitPriceMinor: segs[0]!.unitPriceMinor }));
          const total = same.reduce((n, s) => n + s.days, 0);
          expect(prorateSegments(same, d).amountMinor).toBe(prorateSegments([{ days: total, unitPriceMinor: segs[0]!.unitPriceMinor }], d).amountMinor);
        },
      ),
    );
  });

  it('splits a mid-period plan change into two segments by days', () => {
    const spans = planSpans({ start: '2026-11-01', end: '2026-11-30' }, 2, [{ date: '2026-11-16', oldPlanId: 1, newPlanId: 2 }]);
    expect(spans).toEqual([
      { planId: 1, start: '2026-11-01', end: '2026-11-15', days: 15 },
      { planId: 2, start: '2026-11-16', end: '2026-11-30', days: 15 },
    ]);
    const { amountMinor, amounts } = prorateSegments([{ days: 15, unitPriceMinor: 99900n }, { days: 15, unitPriceMinor: 150000n }], 30);
    expect(amounts).toEqual([49950n, 75000n]);
    expect(amountMinor).toBe(124950n);
  });

  it('plan spans: changes before the range set the plan, changes after it are ignored, same-plan spans merge', () => {
    const range = { start: '2026-11-10', end: '2026-11-30' };
    expect(planSpans(range, 3, [{ date: '2026-11-05', oldPlanId: 1, newPlanId: 2 }, { date: '2026-12-02', oldPlanId: 2, newPlanId: 3 }])).toEqual([
      { planId: 2, start: '2026-11-10', end: '2026-11-30', days: 21 },
    ]);
    expect(planSpans(range, 1, [{ date: '2026-11-12', oldPlanId: 1, newPlanId: 2 }, { date: '2026-11-12', oldPlanId: 2, newPlanId: 1 }])).toEqual([
      { planId: 1, start: '2026-11-10', end: '2026-11-30', days: 21 },
    ]);
    expect(planSpans(range, 5, [])).toEqual([{ planId: 5, start: '2026-11-10', end: '2026-11-30', days: 21 }]);
  });

  it('billed range: from the start date, up to the day before the end date', () => {
    const period = { start: '2026-11-01', end: '2026-11-30' };
    expect(billedRange(period, '2026-10-01', null)).toEqual(period);
    expect(billedRange(period, '2026-11-16', null)).toEqual({ start: '2026-11-16', end: '2026-11-30' });
    expect(billedRange(period, '2026-10-01', '2026-11-11')).toEqual({ start: '2026-11-01', end: '2026-11-10' });
    expect(billedRange(period, '2026-10-01', '2026-11-01')).toBeNull();
    expect(billedRange(period, '2026-11-05', '2026-11-05')).toBeNull();
    expect(billedRange(period, '2026-12-01', null)).toBeNull();
  });
});

describe('discount snapshot', () => {
  it('applies when it has no end or ends on or after the period start', () => {
    const d = { kind: 'percent', basisPoints: 1000 } as const;
    expect(discountApplies(d, null, '2026-11-01')).toBe(true);
    expect(discountApplies(d, '2026-11-01', '2026-11-01')).toBe(true);
    expect(discountApplies(d, '2026-10-31', '2026-11-01')).toBe(false);
    expect(discountApplies(null, null, '2026-11-01')).toBe(false);
  });

  it('percent of the amount, half-up; fixed prorated like the price and never more than the amount', () => {
    expect(lineDiscount(150000n, { kind: 'percent', basisPoints: 1000 }, 30, 30)).toBe(15000n);
    expect(lineDiscount(99950n, { kind: 'percent', basisPoints: 1050 }, 30, 30)).toBe(10495n); // 10,494.75 → 10,495
    expect(lineDiscount(150000n, { kind: 'fixed', minor: 20000n }, 30, 30)).toBe(20000n);
    expect(lineDiscount(75000n, { kind: 'fixed', minor: 20000n }, 15, 30)).toBe(10000n);
    expect(lineDiscount(5000n, { kind: 'fixed', minor: 20000n }, 30, 30)).toBe(5000n);
    expect(lineDiscount(150000n, null, 30, 30)).toBe(0n);
  });

  it('never makes a line negative (property)', () => {
    fc.assert(
      fc.property(price, fc.bigInt({ min: 0n, max: 10n ** 12n }), fc.integer({ min: 0, max: 10_000 }), periodDays, fc.integer({ min: 1, max: 31 }), (amount, fixed, bp, d, days) => {
        const n = Math.min(days, d);
        for (const disc of [{ kind: 'fixed', minor: fixed } as const, { kind: 'percent', basisPoints: bp } as const]) {
          const off = lineDiscount(amount, disc, n, d);
          expect(off >= 0n && off <= amount).toBe(true);
        }
      }),
    );
  });
});

describe('invoice numbers', () => {
  it('formats the sequence with prefix and year, zero-padded, never truncated', () => {
    expect(formatInvoiceNumber(DEFAULT_INVOICE_NUMBER_FORMAT, 123n, '2026-11-01')).toBe('INV-2026-000123');
    expect(formatInvoiceNumber('INV-{YYYY}-{SEQ:6}', 1234567n, '2027-01-01')).toBe('INV-2027-1234567');
    expect(formatInvoiceNumber('{YY}{MM}/{SEQ:4}', 7, '2026-03-15')).toBe('2603/0007');
    expect(formatInvoiceNumber('{SEQ}', 42n, '2026-03-15')).toBe('42');
  });

  it('rejects formats without exactly one {SEQ}, unknown tokens and odd characters', () => {
    for (const bad of ['INV-{YYYY}', '{SEQ}-{SEQ}', 'INV-{DD}-{SEQ}', 'INV {SEQ}', '{SEQ:0}', '{SEQ:13}', '{YYYY:2}{SEQ}', '']) {
      expect(() => parseInvoiceNumberFormat(bad), bad).toThrow(IspctlError);
    }
    expect(validateInvoiceNumberFormat(' ACME-{SEQ:8} ')).toBe('ACME-{SEQ:8}');
  });

  it('distinct sequence values give distinct numbers (property)', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 1n, max: 10n ** 15n }), fc.bigInt({ min: 1n, max: 10n ** 15n }), (a, b) => {
        fc.pre(a !== b);
        expect(formatInvoiceNumber('INV-{YYYY}-{SEQ:6}', a, '2026-11-01')).not.toBe(formatInvoiceNumber('INV-{YYYY}-{SEQ:6}', b, '2026-11-01'));
      }),
    );
  });

  it('the settings accept a valid format and a boolean for bill-suspended-services', () => {
    expect(settingDef('invoice-number-format').parse('BILL-{YYYY}{MM}-{SEQ:5}')).toBe('BILL-{YYYY}{MM}-{SEQ:5}');
    expect(() => settingDef('invoice-number-format').parse('BILL')).toThrow(IspctlError);
    expect(settingDef('bill-suspended-services').parse('yes')).toBe(true);
    expect(settingDef('bill-suspended-services').parse('false')).toBe(false);
    expect(() => settingDef('bill-suspended-services').parse('maybe')).toThrow(IspctlError);
  });
});

describe('periods and due dates', () => {
  it('targets the period containing today + lead days; prepaid bills the next', () => {
    expect(billingPeriods({ billingDay: 1, invoiceLeadDays: 0 }, '2026-11-01')).toMatchObject({
      target: { key: '2026-11', start: '2026-11-01', end: '2026-11-30', days: 30 },
      next: { key: '2026-12', start: '2026-12-01', end: '2026-12-31', days: 31 },
    });
    expect(billingPeriods({ billingDay: 1, invoiceLeadDays: 5 }, '2026-11-27').target.key).toBe('2026-12');
    expect(billingPeriods({ billingDay: 15, invoiceLeadDays: 0 }, '2026-11-03').target).toMatchObject({ key: '2026-10', start: '2026-10-15', end: '2026-11-14', days: 31 });
    expect(billingPeriods({ billingDay: 28, invoiceLeadDays: 0 }, '2027-02-28', '2027-01').target).toMatchObject({ start: '2027-01-28', end: '2027-02-27', days: 31 });
  });

  it('postpaid due after due-days; prepaid at the period start, never before the issue date', () => {
    const period = { key: '2026-12', start: '2026-12-01', end: '2026-12-31', days: 31 };
    expect(dueDateFor('postpaid', { dueDays: 15 }, '2026-11-01', period)).toBe('2026-11-16');
    expect(dueDateFor('prepaid', { dueDays: 15 }, '2026-11-01', period)).toBe('2026-12-01');
    expect(dueDateFor('prepaid-first', { dueDays: 15 }, '2026-12-10', period)).toBe('2026-12-10');
  });
});

describe('blocked for a whole period', () => {
  const at = (s: string) => new Date(s);
  it('needs a real block at the start and nothing else since', () => {
    const from = at('2026-10-31T16:00:00Z');
    expect(blockedThroughout([{ state: 'blocked', reason: 'billing_suspended', at: at('2026-10-20T00:00:00Z') }], from)).toBe(true);
    expect(blockedThroughout([{ state: 'blocked', reason: 'pending', at: at('2026-10-01T00:00:00Z') }], from)).toBe(false);
    expect(blockedThroughout([{ state: 'active', reason: 'ok', at: at('2026-10-01T00:00:00Z') }, { state: 'blocked', reason: 'admin_suspended', at: at('2026-11-03T00:00:00Z') }], from)).toBe(false);
    expect(
      blockedThroughout(
        [
          { state: 'blocked', reason: 'billing_suspended', at: at('2026-10-20T00:00:00Z') },
          { state: 'active', reason: 'ok', at: at('2026-11-05T00:00:00Z') },
          { state: 'blocked', reason: 'billing_suspended', at: at('2026-11-06T00:00:00Z') },
        ],
        from,
      ),
    ).toBe(false);
    expect(blockedThroughout([], from)).toBe(false);
  });
});
