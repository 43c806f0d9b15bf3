// The settings collections reads, typed, in one query.
import type { Db } from '../db/tx.js';
import { settingDef, type SettingValue } from '../settings/registry.js';
import { parseReminderDays, parseSuspensionCap, type SuspensionCap } from './setting-defs.js';

export interface CollectionSettings {
  ispName: string;
  currency: string;
  timezone: string;
  /** Days after the due date before an unpaid postpaid subscriber is suspended. */
  graceDays: number;
  /** Reminder offsets in days relative to the due date, ascending. */
  reminderDays: number[];
  /** Days before the suspension date that the warning goes out; 0 = none. */
  warningDays: number;
  /** Per-run cap on suspensions (collections run, the daemon). */
  maxSuspensions: SuspensionCap;
}

const KEYS = ['isp-name', 'currency', 'timezone', 'grace-days', 'reminder-days', 'warning-days', 'collections-max-suspensions'] as const;

export async function loadCollectionSettings(db: Db): Promise<CollectionSettings> {
  const rows: Array<{ key: string; value: SettingValue }> = await db('settings').whereIn('key', KEYS as unknown as string[]).select('key', 'value');
  return collectionSettingsFrom(new Map(rows.map((r) => [r.key, r.value])));
}

/** The collection settings from what the settings table holds (its keys above, or storedSettings: every key). */
export function collectionSettingsFrom(stored: ReadonlyMap<string, SettingValue>): CollectionSettings {
  const get = (k: (typeof KEYS)[number]): SettingValue | null => (stored.has(k) ? stored.get(k)! : (settingDef(k).default ?? null));
  return {
    ispName: String(get('isp-name') ?? 'Your ISP'),
    currency: String(get('currency') ?? 'PHP'),
    timezone: String(get('timezone') ?? 'Asia/Manila'),
    graceDays: Number(get('grace-days') ?? 5),
    reminderDays: parseReminderDays(get('reminder-days') ?? '-3,0,3'),
    warningDays: Number(get('warning-days') ?? 1),
    maxSuspensions: parseSuspensionCap(get('collections-max-suspensions')),
  };
}
