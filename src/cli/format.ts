// The one place that decides how values look on screen: money in the currency's own form
// (`₱1,170.00`), times on the ISP's clock with the zone named, speeds labelled download/upload.
// Table columns built here also carry their CSV value (plain decimal, ISO 8601 with offset) and
// their sort key (minor units, the instant).
import { formatMoney, toDecimalString } from '../core/money.js';
import { formatSpeed } from '../core/speed.js';
import { formatLocalDate, formatLocalDateTime, formatLocalIso, toLocalDate } from '../core/time.js';
import type { Column } from './table.js';

/** What formatting needs to know about the ISP. */
export interface Formats {
  currency: string;
  timezone: string;
}

/** The zone's short name as people read it: `GMT+8`, `EST`, `UTC`. */
export function zoneLabel(tz: string, at: Date = new Date()): string {
  const part = new Intl.DateTimeFormat('en-US', { timeZone: tz, timeZoneName: 'short' }).formatToParts(at).find((p) => p.type === 'timeZoneName');
  return part?.value ?? tz;
}

/** `2026-12-02 09:05 GMT+8`: an instant on the ISP's clock, labelled. */
export function formatTime(at: Date, tz: string): string {
  return `${formatLocalDateTime(at, tz)} ${zoneLabel(tz, at)}`;
}

/** `2026-12-02`: the ISP's calendar date of an instant. */
export function formatDate(at: Date, tz: string): string {
  return formatLocalDate(toLocalDate(at, tz));
}

/** `50M down / 10M up`. */
export function formatSpeeds(downloadKbps: number, uploadKbps: number): string {
  return `${formatSpeed(downloadKbps)} down / ${formatSpeed(uploadKbps)} up`;
}

export { formatMoney };

type Getter<T, V> = (row: T) => V;

/**
 * A money column: the currency's form on screen, a plain decimal in CSV, minor units for sorting.
 * `blankZero` leaves zero amounts empty; `negative` shows the amount with a minus (credits).
 */
export function moneyColumn<T>(
  header: string,
  minor: Getter<T, bigint | null | undefined>,
  currency: string | Getter<T, string>,
  opts: { blankZero?: boolean; negative?: boolean; key?: string; style?: (s: string, row: T) => string; optional?: boolean } = {},
): Column<T> {
  const cur = (r: T) => (typeof currency === 'string' ? currency : currency(r));
  const value = (r: T) => {
    const m = minor(r);
    if (m === null || m === undefined || (opts.blankZero && m === 0n)) return null;
    return opts.negative ? -m : m;
  };
  return {
    header,
    key: opts.key,
    optional: opts.optional,
    align: 'right',
    get: (r) => {
      const m = value(r);
      if (m === null) return '';
      const s = formatMoney(m, cur(r));
      return opts.style ? opts.style(s, r) : s;
    },
    raw: (r) => {
      const m = value(r);
      return m === null ? '' : toDecimalString(m, cur(r));
    },
    sortBy: (r) => value(r),
  };
}

/**
 * A time column on the ISP's clock, the zone in the header (`WHEN (GMT+8)`): minutes on screen,
 * ISO 8601 with the offset in CSV, the instant for sorting. `dateOnly` shows the ISP's date.
 */
export function timeColumn<T>(
  header: string,
  at: Getter<T, Date | null | undefined>,
  tz: string,
  opts: { dateOnly?: boolean; key?: string; prefix?: (row: T) => string; optional?: boolean } = {},
): Column<T> {
  return {
    optional: opts.optional,
    header: opts.dateOnly ? header : `${header} (${zoneLabel(tz)})`,
    key: opts.key ?? header.toLowerCase().replace(/[^a-z0-9]+/g, '_'),
    shrink: false,
    get: (r) => {
      const d = at(r);
      if (!d) return '';
      return (opts.prefix?.(r) ?? '') + (opts.dateOnly ? formatDate(d, tz) : formatLocalDateTime(d, tz));
    },
    raw: (r) => {
      const d = at(r);
      return d ? (opts.dateOnly ? formatDate(d, tz) : formatLocalIso(d, tz)) : '';
    },
    sortBy: (r) => at(r) ?? null,
  };
}

/** A value from the audit log as people read it: money, speeds and times in their forms. */
export function formatAuditValue(field: string, value: unknown, f: Formats): string {
  if (value === undefined || value === null) return '∅';
  const name = field.slice(field.lastIndexOf('.') + 1);
  if (/(pass(word)?|secret|token|key)$/i.test(name) && !/idempotency/i.test(name)) return '***';
  if (/minor$/i.test(name) && (typeof value === 'number' || (typeof value === 'string' && /^-?\d+$/.test(value)))) {
    try {
      return formatMoney(BigInt(value), f.currency);
    } catch {
      /* not money after all */
    }
  }
  if (/kbps$/i.test(name) && typeof value === 'number' && Number.isSafeInteger(value) && value > 0) return formatSpeed(value);
  if (typeof value === 'string' && /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}/.test(value)) {
    const d = new Date(value);
    if (!Number.isNaN(d.getTime())) return formatTime(d, f.timezone);
  }
  if (typeof value === 'string') return value === '' ? '""' : value;
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  return JSON.stringify(value);
}

/** An audit entry's change as `field: old → new; …` (a creation: `field: new`); `priceMinor` reads `price`. */
export function describeAuditChange(changes: Array<{ field: string; before: unknown; after: unknown }>, f: Formats): string {
  const label = (field: string) => field.replace(/_?(minor|Minor|kbps|Kbps)$/, '');
  return changes
    .map((c) =>
      c.before === undefined
        ? `${label(c.field)}: ${formatAuditValue(c.field, c.after, f)}`
        : `${label(c.field)}: ${formatAuditValue(c.field, c.before, f)} → ${formatAuditValue(c.field, c.after, f)}`,
    )
    .join('; ');
}
