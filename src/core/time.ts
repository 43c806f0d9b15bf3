// Time zones and calendar dates. Timestamps are stored in UTC; billing days, due dates and
// schedules are computed on the calendar of the ISP's IANA time zone. Offsets come from Intl,
// so the zone rules are the runtime's (ICU's) tz database.

import { invalid } from './errors.js';
import { errors } from './error-catalogue.js';

/** A calendar date without a time or a zone. `month` is 1 to 12. */
export interface LocalDate {
  year: number;
  month: number;
  day: number;
}

/** A wall-clock time of day. */
export interface LocalTime {
  hour: number;
  minute: number;
  second?: number;
}

/** A billing period: `start` to `end` inclusive; `key` is `YYYY-MM` of the start. */
export interface BillingPeriod {
  start: LocalDate;
  end: LocalDate;
  key: string;
}

const DAY_MS = 86_400_000;

// Cache of immutable Intl formatters, one per time zone.
const wallFormatters = new Map<string, Intl.DateTimeFormat>();
const zoneLists = new Map<'all', ReadonlySet<string>>();

// ---------------------------------------------------------------------------------------------
// Time zones

function supportedZones(): ReadonlySet<string> {
  let set = zoneLists.get('all');
  if (!set) {
    set = new Set(Intl.supportedValuesOf('timeZone'));
    zoneLists.set('all', set);
  }
  return set;
}

/** The formatter that reads wall-clock fields in `tz`, or undefined when Intl rejects the zone. */
function tryWallFormatter(tz: string): Intl.DateTimeFormat | undefined {
  let f = wallFormatters.get(tz);
  if (!f) {
    try {
      f = new Intl.DateTimeFormat('en-US', {
        timeZone: tz,
        year: 'numeric',
        month: 'numeric',
        day: 'numeric',
        hour: 'numeric',
        minute: 'numeric',
        second: 'numeric',
        hourCycle: 'h23',
      });
    } catch {
      return undefined;
    }
    wallFormatters.set(tz, f);
  }
  return f;
}

/**
 * True for an IANA time zone name: one of `Intl.supportedValuesOf('timeZone')`, `UTC`, or an
 * alias Intl accepts (`Asia/Kolkata`, `US/Eastern`, `Etc/UTC`). Offsets like `+08:00` and
 * wrongly cased names (`asia/manila`) are not accepted.
 */
export function isValidTimeZone(tz: string): boolean {
  if (typeof tz !== 'string') return false;
  if (tz === 'UTC' || supportedZones().has(tz)) return true;
  if (!/^[A-Za-z][A-Za-z0-9_+-]*(\/[A-Za-z0-9_+-]+)*$/.test(tz)) return false;
  const resolved = tryWallFormatter(tz)?.resolvedOptions().timeZone;
  if (resolved === undefined) return false;
  if (resolved === tz) return true;
  // Intl matches names case-insensitively; insist on the IANA spelling of each segment.
  return tz.toLowerCase() !== resolved.toLowerCase() && tz.split('/').every((segment) => /^[A-Z]/.test(segment));
}

/**
 * Checks a time zone name and returns it unchanged.
 * @throws IspctlError INVALID_TIME_ZONE, with close matches as suggestions
 */
export function assertTimeZone(tz: string, field = 'time zone'): string {
  if (isValidTimeZone(tz)) return tz;
  const text = String(tz);
  const suggestions: string[] = [];
  const resolved = /^[A-Za-z][A-Za-z0-9_+/-]*$/.test(text.trim()) ? tryWallFormatter(text.trim())?.resolvedOptions().timeZone : undefined;
  if (resolved !== undefined) {
    suggestions.push(`Did you mean ${resolved}?`);
  } else {
    const trimmed = text.trim().toLowerCase().replace(/\s+/g, '_');
    const wanted = trimmed.slice(trimmed.lastIndexOf('/') + 1);
    if (wanted.length >= 3) {
      const matches = [...supportedZones()].filter((name) => {
        const city = name.slice(name.lastIndexOf('/') + 1).toLowerCase();
        return city === wanted || (wanted.length >= 4 && city.includes(wanted)) || (wanted.length >= 5 && editDistance(city, wanted) <= 2);
      });
      if (matches.length > 0) suggestions.push(`Did you mean ${matches.slice(0, 3).join(', ')}?`);
    }
  }
  suggestions.push('Use an IANA time zone name such as Asia/Manila, America/New_York or UTC');
  throw invalid('INVALID_TIME_ZONE', `${capitalize(field)} ${JSON.stringify(text)} is not a known IANA time zone.`, suggestions, {
    field,
    input: tz,
  });
}

function wallFormatter(tz: string): Intl.DateTimeFormat {
  assertTimeZone(tz);
  const f = tryWallFormatter(tz);
  if (!f) throw new RangeError(`time zone ${tz} is not supported by this runtime`);
  return f;
}

interface Wall extends LocalDate {
  hour: number;
  minute: number;
  second: number;
}

/** The wall-clock fields of an instant in `tz` (seconds precision). */
function wallAt(ms: number, tz: string): Wall {
  const parts = wallFormatter(tz).formatToParts(ms);
  const get = (type: Intl.DateTimeFormatPartTypes): number => Number(parts.find((p) => p.type === type)?.value);
  return { year: get('year'), month: get('month'), day: get('day'), hour: get('hour'), minute: get('minute'), second: get('second') };
}

/** Milliseconds of a wall-clock reading as if it were UTC. */
function wallToUtcMs(w: Wall): number {
  const d = new Date(0);
  d.setUTCFullYear(w.year, w.month - 1, w.day);
  d.setUTCHours(w.hour, w.minute, w.second, 0);
  return d.getTime();
}

/** Offset of `tz` from UTC at an instant, in milliseconds (wall time minus UTC). */
function offsetAt(ms: number, tz: string): number {
  const wholeSeconds = ms - (((ms % 1000) + 1000) % 1000);
  return wallToUtcMs(wallAt(ms, tz)) - wholeSeconds;
}

/** An instant as the wall clock in `tz` shows it, to the minute: `2026-12-02 09:05`. */
export function formatLocalDateTime(instant: Date, tz: string): string {
  const ms = instant.getTime();
  if (!Number.isFinite(ms)) throw new RangeError('formatLocalDateTime: invalid Date');
  const w = wallAt(ms, tz);
  const two = (n: number) => String(n).padStart(2, '0');
  return `${formatLocalDate(w)} ${two(w.hour)}:${two(w.minute)}`;
}

/** The offset of `tz` at an instant as ISO 8601 writes it: `+08:00`, `-05:00`, `+00:00`. */
export function formatOffset(instant: Date, tz: string): string {
  const minutes = Math.round(offsetAt(instant.getTime(), tz) / 60_000);
  const sign = minutes < 0 ? '-' : '+';
  const abs = Math.abs(minutes);
  return `${sign}${String(Math.floor(abs / 60)).padStart(2, '0')}:${String(abs % 60).padStart(2, '0')}`;
}

/** An instant as ISO 8601 on the wall clock of `tz`, with its offset: `2026-12-02T09:05:00+08:00` (for CSV). */
export function formatLocalIso(instant: Date, tz: string): string {
  const ms = instant.getTime();
  if (!Number.isFinite(ms)) throw new RangeError('formatLocalIso: invalid Date');
  const w = wallAt(ms, tz);
  const two = (n: number) => String(n).padStart(2, '0');
  return `${formatLocalDate(w)}T${two(w.hour)}:${two(w.minute)}:${two(w.second)}${formatOffset(instant, tz)}`;
}

/** The calendar date of an instant in the time zone `tz`. */
export function toLocalDate(instant: Date, tz: string): LocalDate {
  const ms = instant.getTime();
  if (!Number.isFinite(ms)) throw new RangeError('toLocalDate: invalid Date');
  const { year, month, day } = wallAt(ms, tz);
  return { year, month, day };
}

/**
 * The instant at which the wall clock in `tz` shows `date` at `time`.
 *
 * Daylight saving: in an overlap (the hour that happens twice when clocks go back) the earlier
 * instant is chosen; in a gap (the hour skipped when clocks go forward) the time is shifted
 * forward by the length of the gap, e.g. 02:30 on a spring-forward night in New York becomes
 * 03:30 EDT. Offsets come from Intl.
 */
export function zonedDateTimeToInstant(date: LocalDate, time: LocalTime, tz: string): Date {
  assertLocalDate(date);
  const hour = time.hour;
  const minute = time.minute;
  const second = time.second ?? 0;
  for (const [name, v, max] of [['hour', hour, 23], ['minute', minute, 59], ['second', second, 59]] as const) {
    if (!Number.isInteger(v) || v < 0 || v > max) throw new RangeError(`${name} must be an integer from 0 to ${max}, got ${String(v)}`);
  }
  wallFormatter(tz); // validates the zone up front
  const local = wallToUtcMs({ ...date, hour, minute, second });
  // A zone changes its offset at most once within a day either side, so the offsets a day
  // before and a day after are the only candidates.
  const before = offsetAt(local - DAY_MS, tz);
  const after = offsetAt(local + DAY_MS, tz);
  const candidates = [...new Set([local - before, local - after])]
    .filter((ms) => wallToUtcMs(wallAt(ms, tz)) === local)
    .sort((a, b) => a - b);
  if (candidates.length > 0) return new Date(candidates[0]!);
  // In a gap: read the wall time with the offset from before the jump, which lands after it.
  return new Date(local - before);
}

/** The first instant of `date` in `tz` (midnight, or the first moment after a gap at midnight). */
export function startOfDay(date: LocalDate, tz: string): Date {
  return zonedDateTimeToInstant(date, { hour: 0, minute: 0, second: 0 }, tz);
}

// ---------------------------------------------------------------------------------------------
// Calendar dates

function isLeapYear(year: number): boolean {
  return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
}

/** Days in a month (`month` 1 to 12), leap years included. */
export function daysInMonth(year: number, month: number): number {
  if (!Number.isInteger(year) || !Number.isInteger(month) || month < 1 || month > 12) {
    throw new RangeError(`daysInMonth: invalid year/month ${String(year)}-${String(month)}`);
  }
  if (month === 2) return isLeapYear(year) ? 29 : 28;
  return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
}

/** True for a real calendar date with a year from 1 to 9999. */
export function isValidLocalDate(d: LocalDate): boolean {
  return (
    d !== null &&
    typeof d === 'object' &&
    Number.isInteger(d.year) &&
    Number.isInteger(d.month) &&
    Number.isInteger(d.day) &&
    d.year >= 1 &&
    d.year <= 9999 &&
    d.month >= 1 &&
    d.month <= 12 &&
    d.day >= 1 &&
    d.day <= daysInMonth(d.year, d.month)
  );
}

function assertLocalDate(d: LocalDate): void {
  if (!isValidLocalDate(d)) throw new RangeError(`not a valid calendar date: ${JSON.stringify(d)}`);
}

/**
 * Parses a strict `YYYY-MM-DD` date.
 * @throws IspctlError INVALID_DATE
 */
export function parseLocalDate(input: string, field = 'date'): LocalDate {
  const m = typeof input === 'string' ? /^(\d{4})-(\d{2})-(\d{2})$/.exec(input.trim()) : null;
  const date = m ? { year: Number(m[1]), month: Number(m[2]), day: Number(m[3]) } : undefined;
  if (!date || !isValidLocalDate(date)) {
    const why = !date ? 'is not a date in the form YYYY-MM-DD' : 'is not a real calendar date';
    throw errors.invalidDate(field, input, why);
  }
  return date;
}

// ---------------------------------------------------------------------------------------------
// Moments as people type them

/**
 * How a moment was written: `date` (a day: its start in the zone), `local` (a wall-clock time
 * in the zone, as a technician types it) or `offset` (with `Z` or an offset: that instant).
 */
export type DateTimeForm = 'date' | 'local' | 'offset';

export interface ParsedDateTime {
  at: Date;
  form: DateTimeForm;
}

interface DateTimeFields {
  date: LocalDate;
  time?: Required<LocalTime> & { ms: number };
  /** Minutes east of UTC, when the input carried `Z` or an offset. */
  offsetMinutes?: number;
}

const DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?\s?(Z|([+-])(\d{2}):?(\d{2}))?)?$/i;

/** The forms a date-time flag accepts, as a suggestion: `zone` names the clock a time without an offset is read on. */
export function dateTimeForms(zone?: string): string {
  return `Use a day (2026-12-01, from its start), a time on ${zone ? `the ${zone} clock` : "the ISP's clock"} (2026-12-01 09:00), or a time with its offset (2026-12-01T09:00:00+08:00, 2026-12-01T01:00:00Z)`;
}

/**
 * Reads a moment as people type it, without a time zone yet: the fields, or INVALID_DATE
 * saying what is wrong with the value and which forms are accepted. Commands call it on their
 * flags before they open the database; {@link parseDateTime} places the fields in time.
 * @throws IspctlError INVALID_DATE
 */
export function checkDateTime(input: string, field = 'date and time', zone?: string): DateTimeFields {
  const s = typeof input === 'string' ? input.trim() : '';
  const m = DATE_TIME.exec(s);
  const refuse = (why: string): never => {
    throw errors.invalidDate(field, input, why, dateTimeForms(zone));
  };
  if (!m) return refuse('is not a date, or a date and a time of day');
  const [, y, mo, d, h, mi, sec, frac, zoneText, sign, oh, om] = m;
  const date = { year: Number(y), month: Number(mo), day: Number(d) };
  if (!isValidLocalDate(date)) return refuse(`is not a real calendar date (${y}-${mo}-${d})`);
  if (h === undefined) return { date };
  const time = { hour: Number(h), minute: Number(mi), second: Number(sec ?? 0), ms: Number((frac ?? '').slice(0, 3).padEnd(3, '0')) };
  if (time.hour > 23 || time.minute > 59 || time.second > 59) return refuse(`has no such time of day (${h}:${mi}${sec === undefined ? '' : `:${sec}`}; hours go from 00 to 23, minutes and seconds from 00 to 59)`);
  if (zoneText === undefined) return { date, time };
  if (sign === undefined) return { date, time, offsetMinutes: 0 };
  if (Number(oh) > 23 || Number(om) > 59) return refuse(`has an offset out of range (${zoneText})`);
  return { date, time, offsetMinutes: (sign === '-' ? -1 : 1) * (Number(oh) * 60 + Number(om)) };
}

/**
 * A moment as people type it, placed in time on the calendar and clock of `tz` (the ISP's
 * `timezone` setting): `2026-12-01` is the start of that day there, `2026-12-01 09:00` (or
 * `2026-12-01T09:00`) 09:00 on its wall clock, and a time with `Z` or an offset that instant.
 * Every command flag that takes a date-time reads it here.
 * @throws IspctlError INVALID_DATE (see {@link checkDateTime})
 */
export function parseDateTime(input: string, tz: string, field = 'date and time'): ParsedDateTime {
  const { date, time, offsetMinutes } = checkDateTime(input, field, tz);
  if (!time) return { at: startOfDay(date, tz), form: 'date' };
  if (offsetMinutes === undefined) {
    const at = zonedDateTimeToInstant(date, time, tz);
    return { at: new Date(at.getTime() + time.ms), form: 'local' };
  }
  const utc = wallToUtcMs({ ...date, hour: time.hour, minute: time.minute, second: time.second }) + time.ms - offsetMinutes * 60_000;
  return { at: new Date(utc), form: 'offset' };
}

/** `YYYY-MM-DD`. */
export function formatLocalDate(d: LocalDate): string {
  assertLocalDate(d);
  return `${String(d.year).padStart(4, '0')}-${pad2(d.month)}-${pad2(d.day)}`;
}

/** Days since 1970-01-01 (proleptic Gregorian calendar). */
function toEpochDay(d: LocalDate): number {
  const y = d.month <= 2 ? d.year - 1 : d.year;
  const era = Math.floor(y / 400);
  const yearOfEra = y - era * 400;
  const monthFromMarch = (d.month + 9) % 12;
  const dayOfYear = Math.floor((153 * monthFromMarch + 2) / 5) + d.day - 1;
  const dayOfEra = yearOfEra * 365 + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100) + dayOfYear;
  return era * 146_097 + dayOfEra - 719_468;
}

function fromEpochDay(n: number): LocalDate {
  const z = n + 719_468;
  const era = Math.floor(z / 146_097);
  const dayOfEra = z - era * 146_097;
  const yearOfEra = Math.floor(
    (dayOfEra - Math.floor(dayOfEra / 1460) + Math.floor(dayOfEra / 36_524) - Math.floor(dayOfEra / 146_096)) / 365,
  );
  const dayOfYear = dayOfEra - (365 * yearOfEra + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100));
  const monthFromMarch = Math.floor((5 * dayOfYear + 2) / 153);
  const day = dayOfYear - Math.floor((153 * monthFromMarch + 2) / 5) + 1;
  const month = monthFromMarch < 10 ? monthFromMarch + 3 : monthFromMarch - 9;
  return { year: yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day };
}

/** The date `days` days later (earlier when negative). */
export function addDays(d: LocalDate, days: number): LocalDate {
  assertLocalDate(d);
  if (!Number.isInteger(days)) throw new RangeError(`addDays: days must be an integer, got ${String(days)}`);
  const result = fromEpochDay(toEpochDay(d) + days);
  assertLocalDate(result);
  return result;
}

/** The same day `months` months later (earlier when negative), clamped to the month's length: Jan 31 + 1 month = Feb 28/29. */
export function addMonths(d: LocalDate, months: number): LocalDate {
  assertLocalDate(d);
  if (!Number.isInteger(months)) throw new RangeError(`addMonths: months must be an integer, got ${String(months)}`);
  const total = d.year * 12 + (d.month - 1) + months;
  const year = Math.floor(total / 12);
  const month = total - year * 12 + 1;
  if (year < 1 || year > 9999) throw new RangeError('addMonths: the result is outside the years 1 to 9999');
  return { year, month, day: Math.min(d.day, daysInMonth(year, month)) };
}

/** -1 when `a` is before `b`, 0 when equal, 1 when after (usable with Array.prototype.sort). */
export function compareLocalDate(a: LocalDate, b: LocalDate): -1 | 0 | 1 {
  const x = toEpochDay(a);
  const y = toEpochDay(b);
  return x < y ? -1 : x > y ? 1 : 0;
}

/** Days from `a` to `b`: positive when `b` is later, e.g. diffDays(2026-11-01, 2026-11-24) = 23. */
export function diffDays(a: LocalDate, b: LocalDate): number {
  assertLocalDate(a);
  assertLocalDate(b);
  return toEpochDay(b) - toEpochDay(a);
}

// ---------------------------------------------------------------------------------------------
// Billing periods

/**
 * Checks a billing day (the day of the month on which periods start). Only 1 to 28, so that every
 * month has it.
 * @throws IspctlError INVALID_BILLING_DAY
 */
export function assertBillingDay(billingDay: number, field = 'billing day'): number {
  if (!Number.isInteger(billingDay) || billingDay < 1 || billingDay > 28) {
    throw invalid(
      'INVALID_BILLING_DAY',
      `${capitalize(field)} ${JSON.stringify(billingDay)} is not a day from 1 to 28.`,
      ['Use a day from 1 to 28; days 29 to 31 do not exist in every month (use 1 for calendar months)'],
      { field, input: billingDay },
    );
  }
  return billingDay;
}

/**
 * The billing period that contains `date`, when periods start on `billingDay` of each month and
 * end the day before the next start. A date before the billing day belongs to the period that
 * started in the previous month. With billing day 1 the periods are calendar months.
 */
export function billingPeriodFor(date: LocalDate, billingDay: number): BillingPeriod {
  assertLocalDate(date);
  assertBillingDay(billingDay);
  const monthStart = { year: date.year, month: date.month, day: billingDay };
  const start = date.day >= billingDay ? monthStart : addMonths(monthStart, -1);
  const end = addDays(addMonths(start, 1), -1);
  return { start, end, key: periodKey(start) };
}

/**
 * The billing period whose key (`YYYY-MM`, the month in which it starts) is given.
 * @throws IspctlError INVALID_PERIOD
 */
export function periodFromKey(key: string, billingDay: number): BillingPeriod {
  const { year, month } = checkPeriodKey(key);
  assertBillingDay(billingDay);
  return billingPeriodFor({ year, month, day: billingDay }, billingDay);
}

/**
 * Checks a billing period key (`YYYY-MM`, the month in which the period starts) without the
 * billing day: a command reads its --period with it before it opens the database.
 * @throws IspctlError INVALID_PERIOD
 */
export function checkPeriodKey(key: string): { year: number; month: number } {
  const m = typeof key === 'string' ? /^(\d{4})-(\d{2})$/.exec(key.trim()) : null;
  const year = m ? Number(m[1]) : NaN;
  const month = m ? Number(m[2]) : NaN;
  if (!m || year < 1 || month < 1 || month > 12) {
    throw errors.period('Billing period', key);
  }
  return { year, month };
}

function periodKey(d: LocalDate): string {
  return `${String(d.year).padStart(4, '0')}-${pad2(d.month)}`;
}

// ---------------------------------------------------------------------------------------------

/** Levenshtein distance, for suggesting close time zone names. */
function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      row[j] = Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = row;
  }
  return prev[b.length]!;
}

function pad2(n: number): string {
  return String(n).padStart(2, '0');
}

function capitalize(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}
