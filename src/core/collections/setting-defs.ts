// Settings of collections: when reminders and the warning go out. The grace period itself is the
// foundation's `grace-days`; due dates come from the invoices.
import type { SettingDef } from '../settings/registry.js';
import { errors } from '../error-catalogue.js';
import { integerSetting } from '../settings/kinds.js';

/** The furthest a reminder may be from the due date, either side. */
export const MAX_REMINDER_OFFSET = 60;
const REMINDER_DAYS = `whole numbers of days relative to the due date from -${MAX_REMINDER_OFFSET} to ${MAX_REMINDER_OFFSET} (-3,0,3: 3 days before it, on it, 3 days after) or none`;

/**
 * Parses reminder offsets: days relative to the due date, `-3,0,3` = three days before, on the
 * day, three days after. `none` turns reminders off. Returns them sorted, without duplicates.
 */
export function parseReminderDays(raw: unknown, key = 'reminder-days'): number[] {
  const s = String(raw ?? '').trim().toLowerCase();
  if (s === 'none' || s === 'off') return [];
  const parts = s.split(/[,\s]+/).filter(Boolean);
  if (parts.length === 0) {
    throw errors.settingValue(key, REMINDER_DAYS, raw, ['-- -3,0,3', 'none']);
  }
  const days = new Set<number>();
  for (const p of parts) {
    if (!/^[+-]?\d+$/.test(p)) {
      throw errors.settingValue(key, REMINDER_DAYS, raw, ['-- -3,0,3', 'none']);
    }
    const n = Number(p);
    if (Math.abs(n) > MAX_REMINDER_OFFSET) {
      throw errors.settingValue(key, REMINDER_DAYS, raw, ['-- -3,0,3', 'none']);
    }
    days.add(n === 0 ? 0 : n); // no -0
  }
  return [...days].sort((a, b) => a - b);
}

/** The stored form of reminder offsets: `-3,0,3`, or `none`. */
export function formatReminderDays(days: number[]): string {
  return days.length ? days.join(',') : 'none';
}

/** A per-run cap on suspensions: a number of services, a share of the active ones, or none. */
export type SuspensionCap = { kind: 'count'; count: number } | { kind: 'share'; percent: number } | { kind: 'none' };

/** A share never stops a run that suspends this many services or fewer (small ISPs). */
export const SHARE_CAP_FLOOR = 20;

/** Default: a tenth of the active services (but never fewer than SHARE_CAP_FLOOR). */
export const DEFAULT_SUSPENSION_CAP = '10%';

/** Parses `500`, `5%`, `2.5%` or `none`; throws invalid() otherwise. */
export function parseSuspensionCap(raw: unknown, key = 'collections-max-suspensions'): SuspensionCap {
  const s = String(raw ?? '').trim().toLowerCase();
  if (s === 'none' || s === 'off') return { kind: 'none' };
  const share = /^(\d{1,3}(?:\.\d{1,2})?)\s*%$/.exec(s);
  if (share) {
    const percent = Number(share[1]);
    if (percent > 0 && percent <= 100) return { kind: 'share', percent };
  } else if (/^\d{1,9}$/.test(s) && Number(s) >= 1) {
    return { kind: 'count', count: Number(s) };
  }
  throw errors.settingValue(key, 'a number of services (500), a share of the active services (5%) or none', raw, ['500', DEFAULT_SUSPENSION_CAP]);
}

export function formatSuspensionCap(cap: SuspensionCap): string {
  return cap.kind === 'none' ? 'none' : cap.kind === 'count' ? String(cap.count) : `${cap.percent}%`;
}

/**
 * How many services one run may suspend with `activeServices` services active: the count, or
 * the share rounded up but never below SHARE_CAP_FLOOR; null for no cap.
 */
export function suspensionLimit(cap: SuspensionCap, activeServices: number): number | null {
  if (cap.kind === 'none') return null;
  if (cap.kind === 'count') return cap.count;
  return Math.max(Math.ceil((activeServices * cap.percent) / 100), SHARE_CAP_FLOOR);
}

export const COLLECTION_SETTINGS: readonly SettingDef[] = [
  {
    key: 'reminder-days',
    description: 'Reminders, in days relative to the due date: -3,0,3 = 3 days before, on the day, 3 days after; none = no reminders (set with: settings set reminder-days -- -3,0,3)',
    type: 'string',
    default: '-3,0,3',
    parse(raw) {
      return formatReminderDays(parseReminderDays(raw));
    },
  },
  integerSetting('warning-days', 'Days before suspension (after due date plus grace) that the final warning goes out; 0 = no warning', 0, 30, 1),
  {
    key: 'collections-max-suspensions',
    description: `Most services one collections run may suspend: a number (500), a share of the active services (${DEFAULT_SUSPENSION_CAP}; never fewer than ${SHARE_CAP_FLOOR}) or none. A run that would suspend more suspends no one and raises an alert; collections run --force goes ahead`,
    type: 'string',
    default: DEFAULT_SUSPENSION_CAP,
    parse(raw) {
      return formatSuspensionCap(parseSuspensionCap(raw));
    },
  },
];
