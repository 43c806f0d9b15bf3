// When the daemon's schedules are due. Pure functions of "now" and the settings, computed on the
// ISP's calendar (src/core/time.ts), so billing days, lead days and daylight saving are handled
// in one tested place; node-schedule only fires the wake-ups at the instants computed here.
import { addDays, billingPeriodFor, formatLocalDate, periodFromKey, toLocalDate, zonedDateTimeToInstant, type BillingPeriod } from '../time.js';

export interface BillingScheduleConfig {
  timezone: string;
  billingDay: number;
  invoiceLeadDays: number;
  billingHour: number;
}

/** A billing run: generate the invoices of period `periodKey`, due at `at`. */
export interface BillingSlot {
  periodKey: string;
  /** The instant the run is due: `invoiceLeadDays` before the period starts, at `billingHour`, in the ISP time zone. */
  at: Date;
  /** The ISP date of the run, YYYY-MM-DD. */
  runDate: string;
}

function slotOf(period: BillingPeriod, cfg: BillingScheduleConfig): BillingSlot {
  const runDate = addDays(period.start, -cfg.invoiceLeadDays);
  return {
    periodKey: period.key,
    at: zonedDateTimeToInstant(runDate, { hour: cfg.billingHour, minute: 0, second: 0 }, cfg.timezone),
    runDate: formatLocalDate(runDate),
  };
}

/** The billing run of one period. */
export function billingSlotFor(periodKey: string, cfg: BillingScheduleConfig): BillingSlot {
  return slotOf(periodFromKey(periodKey, cfg.billingDay), cfg);
}

/**
 * The latest billing run due at or before `now` (`last`: run it if it has not run, which is how
 * a daemon that was down at that time catches up) and the one after it (`next`).
 */
export function billingSlots(now: Date, cfg: BillingScheduleConfig): { last: BillingSlot; next: BillingSlot } {
  const today = toLocalDate(now, cfg.timezone);
  // The period whose run date is the latest on or before today: the one containing today + lead.
  const current = billingPeriodFor(addDays(today, cfg.invoiceLeadDays), cfg.billingDay);
  const slot = slotOf(current, cfg);
  if (now.getTime() >= slot.at.getTime()) {
    return { last: slot, next: slotOf(billingPeriodFor(addDays(current.end, 1), cfg.billingDay), cfg) };
  }
  return { last: slotOf(billingPeriodFor(addDays(current.start, -1), cfg.billingDay), cfg), next: slot };
}

/**
 * Backoff after a schedule failed `failures` times in a row: 30 s, 1 min, 2 min … capped at
 * 15 minutes, never shorter than the schedule's own interval.
 */
export function retryDelayMs(failures: number, intervalMs = 0): number {
  if (failures <= 0) return intervalMs;
  return Math.max(intervalMs, Math.min(30_000 * 2 ** (failures - 1), 15 * 60_000));
}

/** When an interval schedule is next due (real time, ms): at once if it never ran. */
export function nextIntervalDue(lastStartedMs: number | undefined, intervalMs: number, failures = 0): number {
  if (lastStartedMs === undefined) return 0;
  return lastStartedMs + retryDelayMs(failures, intervalMs);
}

/** "every 5 min", "every 30 s", for status output. */
export function describeInterval(ms: number): string {
  if (ms % 3_600_000 === 0) return `every ${ms / 3_600_000} h`;
  if (ms % 60_000 === 0) return `every ${ms / 60_000} min`;
  return `every ${Math.round(ms / 1000)} s`;
}
