// Pure billing arithmetic: which days of a period a service is billed for, which plan was in
// force on which days, and what that costs. Exact integer arithmetic on minor units; dates are
// ISP calendar dates as `YYYY-MM-DD` strings (which sort like the dates they name).
//
// Rounding rule: a line costs Σ (monthly price × days at that price) ÷ days in the period,
// rounded once, half-up, to the currency's minor unit. A whole period is exactly the monthly
// price. When the plan changed part way, each plan's segment gets the difference of cumulative
// roundings, so the segments add up to the line exactly and never to more than the exact sum
// rounded.
import { applyDiscount, prorate, type Discount } from '../money.js';
import { addDays, diffDays, formatLocalDate, parseLocalDate } from '../time.js';

/** Inclusive range of ISP dates. */
export interface DateRange {
  start: string;
  end: string;
}

export function addDaysIso(date: string, days: number): string {
  return formatLocalDate(addDays(parseLocalDate(date), days));
}

/** Days from `start` to `end` inclusive. */
export function daysInRange(r: DateRange): number {
  return diffDays(parseLocalDate(r.start), parseLocalDate(r.end)) + 1;
}

/**
 * The days of `period` a service is billed for: from its start (or the period start) to the
 * day before it ended (or the period end). Null when it has no day in the period.
 */
export function billedRange(period: DateRange, startedOn: string, endedOn: string | null): DateRange | null {
  const start = startedOn > period.start ? startedOn : period.start;
  const lastDay = endedOn === null ? period.end : addDaysIso(endedOn, -1);
  const end = lastDay < period.end ? lastDay : period.end;
  return start <= end ? { start, end } : null;
}

/** A plan change as billing sees it: the ISP date it took effect (the new plan bills from that day). */
export interface PlanChangeOnDate {
  date: string;
  oldPlanId: number;
  newPlanId: number;
}

export interface PlanSpan extends DateRange {
  planId: number;
  days: number;
}

/**
 * Which plan was in force on which days of `range`. `changes` are the service's plan changes
 * from the start of the range on, oldest first (changes before the range need not be given:
 * the first change's old plan is the plan at the start). The plan on the day of a change is the
 * new plan. Without changes, `currentPlanId` covers the whole range. Adjacent spans of the same
 * plan are merged.
 */
export function planSpans(range: DateRange, currentPlanId: number, changes: readonly PlanChangeOnDate[]): PlanSpan[] {
  const spans: PlanSpan[] = [];
  const push = (planId: number, start: string, end: string) => {
    if (start > end) return;
    const prev = spans[spans.length - 1];
    if (prev && prev.planId === planId && addDaysIso(prev.end, 1) === start) {
      prev.end = end;
      prev.days = daysInRange(prev);
      return;
    }
    spans.push({ planId, start, end, days: daysInRange({ start, end }) });
  };
  if (changes.length === 0) {
    push(currentPlanId, range.start, range.end);
    return spans;
  }
  let plan = changes[0]!.oldPlanId;
  let from = range.start;
  for (const c of changes) {
    if (c.date > range.end) break;
    if (c.date > from) {
      push(plan, from, addDaysIso(c.date, -1));
      from = c.date;
    }
    plan = c.newPlanId;
  }
  push(plan, from, range.end);
  return spans;
}

export interface PricedDays {
  days: number;
  unitPriceMinor: bigint;
}

/**
 * Prorates segments of a period: returns each segment's amount and the line amount. The line
 * amount is round_half_up(Σ price_i × days_i ÷ periodDays); segment k gets
 * C_k − C_(k−1) where C_k is the same rounding of the first k segments' sum.
 */
export function prorateSegments(segments: readonly PricedDays[], periodDays: number): { amountMinor: bigint; amounts: bigint[] } {
  if (!Number.isInteger(periodDays) || periodDays < 1) throw new RangeError(`period days must be a positive integer, got ${periodDays}`);
  let exact = 0n;
  let before = 0n;
  const amounts: bigint[] = [];
  for (const s of segments) {
    if (!Number.isInteger(s.days) || s.days < 0) throw new RangeError(`segment days must be a non-negative integer, got ${s.days}`);
    if (s.unitPriceMinor < 0n) throw new RangeError('a monthly price cannot be negative');
    exact += s.unitPriceMinor * BigInt(s.days);
    const cumulative = prorate(exact, 1, periodDays);
    amounts.push(cumulative - before);
    before = cumulative;
  }
  return { amountMinor: before, amounts };
}

/** Whether a discount is snapshotted onto a line: it has no end, or ends on or after the period start. */
export function discountApplies(discount: Discount | null, discountUntil: string | null, periodStart: string): boolean {
  return discount !== null && (discountUntil === null || discountUntil >= periodStart);
}

/**
 * The discount on a line of `amountMinor` for `days` of `periodDays`. A percentage applies to
 * the amount (rounded half-up, in the subscriber's favour, as money.applyDiscount); a fixed
 * monthly discount is prorated like the price (half-up). Never more than the amount.
 */
export function lineDiscount(amountMinor: bigint, discount: Discount | null, days: number, periodDays: number): bigint {
  if (!discount) return 0n;
  if (discount.kind === 'percent') return amountMinor - applyDiscount(amountMinor, discount);
  const off = days === periodDays ? discount.minor : prorate(discount.minor, days, periodDays);
  return off < amountMinor ? off : amountMinor;
}
