// Pricing one invoice line: what a service costs for the days it had in a billing period, under
// the plans it had, its individual price and its discount. Pure: the billing run reads the
// facts (plans, plan changes) and hands them in; this decides the amounts.
import { prorate, type Discount } from '../money.js';
import { daysInRange, discountApplies, lineDiscount, planSpans, prorateSegments, type DateRange, type PlanChangeOnDate } from './proration.js';

export interface PlanPrice {
  id: number;
  name: string;
  priceMinor: bigint;
  currency: string;
}

export interface PricedPeriod {
  start: string;
  end: string;
  days: number;
}

export interface LineSegment {
  planId: number;
  planName: string;
  from: string;
  to: string;
  days: number;
  unitPriceMinor: bigint;
  amountMinor: bigint;
}

export interface LineToPrice {
  /** The period billed. */
  period: PricedPeriod;
  /** The days of service in it (from billedRange). */
  range: DateRange;
  /** The plan the service has now. */
  planId: number;
  /** Replaces the plan price when set. */
  individualPriceMinor: bigint | null;
  discount: Discount | null;
  discountUntil: string | null;
  /** Plan changes since the period started (later ones tell which plan was in force until then). */
  changes?: readonly PlanChangeOnDate[];
}

export interface PricedLine {
  planId: number;
  description: string;
  priceSource: 'plan' | 'individual';
  unitPriceMinor: bigint;
  days: number;
  periodDays: number;
  amountMinor: bigint;
  discountKind: 'fixed' | 'percent' | null;
  discountValue: bigint | null;
  discountMinor: bigint;
  totalMinor: bigint;
  segments: LineSegment[] | null;
}

export type PricingResult = { ok: true; line: PricedLine } | { ok: false; reason: 'currency_mismatch' };

export interface PriceBook {
  plans: ReadonlyMap<number, PlanPrice>;
  /** The ISP currency: a plan priced in another one is not billed. */
  currency: string;
  /** Descriptions already written, shared across lines (100,000 lines repeat a few). */
  descriptions?: Map<string, string>;
}

export function describeLine(planNames: string[], range: DateRange, days: number, periodDays: number, individual: boolean): string {
  const what = planNames.join(' → ');
  const part = days < periodDays ? ` (${days} of ${periodDays} days)` : '';
  return `${what}${individual ? ' (individual price)' : ''}, ${range.start} to ${range.end}${part}`;
}

/**
 * Prices a line: prorated by days when the service had part of the period, split into segments
 * by days when the plan changed part way (each at its plan's price, or all at the individual
 * price), then the discount if it still applies at the period start.
 */
export function priceLine(input: LineToPrice, book: PriceBook): PricingResult {
  const { period, range } = input;
  const individual = input.individualPriceMinor;
  let planId = input.planId;
  let days: number;
  let amountMinor: bigint;
  let description: string;
  let segments: LineSegment[] | null = null;
  if (!input.changes?.length) {
    // The usual case, one plan for the whole range: no arrays, and the description shared.
    const plan = book.plans.get(input.planId);
    if (!plan || plan.currency !== book.currency) return { ok: false, reason: 'currency_mismatch' };
    const full = range.start === period.start && range.end === period.end;
    days = full ? period.days : daysInRange(range);
    const unit = individual ?? plan.priceMinor;
    amountMinor = days === period.days ? unit : prorate(unit, days, period.days);
    const dkey = `${plan.id}|${range.start}|${range.end}|${individual !== null}`;
    description = book.descriptions?.get(dkey) ?? describeLine([plan.name], range, days, period.days, individual !== null);
    book.descriptions?.set(dkey, description);
  } else {
    const spans = planSpans(range, input.planId, [...input.changes]);
    const spanPlans = spans.map((sp) => book.plans.get(sp.planId));
    if (spanPlans.some((p) => !p || p.currency !== book.currency)) return { ok: false, reason: 'currency_mismatch' };
    const priced = spans.map((sp, i) => ({ days: sp.days, unitPriceMinor: individual ?? spanPlans[i]!.priceMinor }));
    const prorated = prorateSegments(priced, period.days);
    amountMinor = prorated.amountMinor;
    days = spans.reduce((n, sp) => n + sp.days, 0);
    planId = spans[spans.length - 1]!.planId;
    description = describeLine(spanPlans.map((p) => p!.name), range, days, period.days, individual !== null);
    if (spans.length > 1) {
      segments = spans.map((sp, i) => ({ planId: sp.planId, planName: spanPlans[i]!.name, from: sp.start, to: sp.end, days: sp.days, unitPriceMinor: priced[i]!.unitPriceMinor, amountMinor: prorated.amounts[i]! }));
    }
  }
  const discount = input.discount !== null && discountApplies(input.discount, input.discountUntil, period.start) ? input.discount : null;
  const discountMinor = discount ? lineDiscount(amountMinor, discount, days, period.days) : 0n;
  return {
    ok: true,
    line: {
      planId,
      description,
      priceSource: individual !== null ? 'individual' : 'plan',
      unitPriceMinor: individual ?? book.plans.get(planId)!.priceMinor,
      days,
      periodDays: period.days,
      amountMinor,
      discountKind: discount?.kind ?? null,
      discountValue: discount ? (discount.kind === 'fixed' ? discount.minor : BigInt(discount.basisPoints)) : null,
      discountMinor,
      totalMinor: amountMinor - discountMinor,
      segments,
    },
  };
}

/**
 * The common line, priced by the database: a service with one plan for the whole period, no
 * discount that applies and a plan in the ISP currency costs its monthly price (the plan's, or
 * its individual price) for every day of the period, and nothing else. This is priceLine's
 * first branch with `range` equal to the period and no discount, written as column expressions
 * over `s` (services), `p` (plans) and `t` (the period: pdays, and label = ', START to END'),
 * so billing computes 100,000 such lines in one INSERT … SELECT. A test checks the two agree.
 */
export const FULL_PERIOD_LINE_SQL = {
  plan_id: 's.plan_id',
  description: `p.name || case when s.individual_price_minor is null then '' else ' (individual price)' end || t.label`,
  price_source: `case when s.individual_price_minor is null then 'plan' else 'individual' end`,
  unit_price_minor: 'coalesce(s.individual_price_minor, p.price_minor)',
  days: 't.pdays',
  period_days: 't.pdays',
  amount_minor: 'coalesce(s.individual_price_minor, p.price_minor)',
  discount_kind: 'null::text',
  discount_value: 'null::bigint',
  discount_minor: '0::bigint',
  total_minor: 'coalesce(s.individual_price_minor, p.price_minor)',
  segments: 'null::jsonb',
} as const;

/** The `label` FULL_PERIOD_LINE_SQL appends to the plan name: what describeLine writes for a whole period. */
export function fullPeriodLabel(period: PricedPeriod): string {
  return describeLine([''], period, period.days, period.days, false);
}
