// Formatting for the dashboard: times in the ISP's zone, money in the currency's form, text cut
// to a width with an ellipsis (never wrapped).
import { formatMoney } from '../core/money.js';

/** Cuts `text` to `width` columns, ending in … when cut. */
export function fit(text: string, width: number): string {
  if (width <= 0) return '';
  const chars = [...text];
  if (chars.length <= width) return text;
  return chars.slice(0, Math.max(0, width - 1)).join('') + '…';
}

/** Pads or cuts to exactly `width` columns. */
export function cell(text: string, width: number, align: 'left' | 'right' = 'left'): string {
  const t = fit(text, width);
  const pad = ' '.repeat(Math.max(0, width - [...t].length));
  return align === 'left' ? t + pad : pad + t;
}

export function money(minor: bigint, currency: string): string {
  return formatMoney(minor, currency);
}

function parts(at: Date, tz: string) {
  const f = new Intl.DateTimeFormat('en-CA', { timeZone: tz, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' });
  const p = Object.fromEntries(f.formatToParts(at).map((x) => [x.type, x.value]));
  return { date: `${p.year}-${p.month}-${p.day}`, time: `${p.hour}:${p.minute}` };
}

/** `09:05` when `at` is on `today` (ISP date), else the date, `01-21`. */
export function shortTime(at: Date | null, tz: string, today: string): string {
  if (!at) return 'never';
  const p = parts(at, tz);
  return p.date === today ? p.time : p.date.slice(5);
}

/** `2027-01-22 09:05` in the ISP's zone. */
export function dateTime(at: Date, tz: string): string {
  const p = parts(at, tz);
  return `${p.date} ${p.time}`;
}

/** The zone's short name at that instant, e.g. `PHT` or `GMT+8`. */
export function zoneLabel(at: Date, tz: string): string {
  const p = new Intl.DateTimeFormat('en-US', { timeZone: tz, timeZoneName: 'short' }).formatToParts(at).find((x) => x.type === 'timeZoneName');
  return p?.value ?? tz;
}

/** `3m ago`, `2h ago`, `4d ago`. */
export function ago(at: Date | null, now: Date): string {
  if (!at) return 'never';
  const s = Math.max(0, Math.round((now.getTime() - at.getTime()) / 1000));
  if (s < 60) return `${s}s ago`;
  if (s < 3600) return `${Math.floor(s / 60)}m ago`;
  if (s < 86400) return `${Math.floor(s / 3600)}h ago`;
  return `${Math.floor(s / 86400)}d ago`;
}
