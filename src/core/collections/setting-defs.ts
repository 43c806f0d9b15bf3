// Settings of collections: when reminders and the warning go out. The grace period itself is the
// foundation's `grace-days`; due dates come from the invoices.
import { invalid } from '../errors.js';
import type { SettingDef } from '../settings/registry.js';

/** The furthest a reminder may be from the due date, either side. */
export const MAX_REMINDER_OFFSET = 60;

/**
 * Parses reminder offsets: days relative to the due date, `-3,0,3` = three days before, on the
 * day, three days after. `none` turns reminders off. Returns them sorted, without duplicates.
 */
export function parseReminderDays(raw: unknown, key = 'reminder-days'): number[] {
  const s = String(raw ?? '').trim().toLowerCase();
  if (s === 'none' || s === 'off') return [];
  const parts = s.split(/[,\s]+/).filter(Boolean);
  if (parts.length === 0) {
    throw invalid('INVALID_SETTING_VALUE', `${key} needs days relative to the due date, e.g. -3,0,3 (or none).`, [`ispctl settings set ${key} -- -3,0,3`]);
  }
  const days = new Set<number>();
  for (const p of parts) {
    if (!/^[+-]?\d+$/.test(p)) {
      throw invalid('INVALID_SETTING_VALUE', `${key}: "${p}" is not a whole number of days (use e.g. -3,0,3: 3 days before the due date, on it, 3 days after).`, [`ispctl settings set ${key} -- -3,0,3`]);
    }
    const n = Number(p);
    if (Math.abs(n) > MAX_REMINDER_OFFSET) {
      throw invalid('INVALID_SETTING_VALUE', `${key}: ${n} is too far from the due date; offsets go from -${MAX_REMINDER_OFFSET} to ${MAX_REMINDER_OFFSET}.`);
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
  throw invalid('INVALID_SETTING_VALUE', `${key} must be a number of services (e.g. 500), a share of the active services (e.g. 5%) or none, got "${String(raw)}".`, [
    `ispctl settings set ${key} 500`,
    `ispctl settings set ${key} ${DEFAULT_SUSPENSION_CAP}`,
  ]);
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
  {
    key: 'warning-days',
    description: 'Days before suspension (after due date plus grace) that the final warning goes out; 0 = no warning',
    type: 'integer',
    default: 1,
    min: 0,
    max: 30,
    parse(raw) {
      const s = String(raw).trim();
      if (!/^\d+$/.test(s) || Number(s) > 30) {
        throw invalid('INVALID_SETTING_VALUE', `warning-days must be a whole number from 0 to 30, got "${String(raw)}".`, ['ispctl settings set warning-days 1']);
      }
      return Number(s);
    },
  },
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
