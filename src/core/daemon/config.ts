// The settings the daemon reads, typed, in one query. Read at every tick, so `settings set`
// takes effect without a restart.
import type { Db } from '../db/tx.js';
import { settingDef, type SettingValue } from '../settings/registry.js';

export interface DaemonConfig {
  /** `ispctl init` has run: billing and collections need it. */
  initialised: boolean;
  timezone: string;
  billingDay: number;
  invoiceLeadDays: number;
  billingHour: number;
  collectionsIntervalMs: number;
  notifyIntervalMs: number;
  jobsIntervalMs: number;
  healthIntervalMs: number;
  /** Failed checks in a row before a router is degraded; never more than offlineAfter. */
  healthDegradedAfter: number;
  healthOfflineAfter: number;
  /** 0: never close stale sessions. */
  radiusStaleMinutes: number;
}

const KEYS = [
  'isp-name',
  'timezone',
  'billing-day',
  'invoice-lead-days',
  'billing-hour',
  'collections-interval-minutes',
  'notify-interval-seconds',
  'jobs-interval-seconds',
  'health-interval-seconds',
  'health-degraded-after',
  'health-offline-after',
  'radius-stale-minutes',
] as const;

export async function loadDaemonConfig(db: Db): Promise<DaemonConfig> {
  const rows: Array<{ key: string; value: SettingValue }> = await db('settings').whereIn('key', KEYS as unknown as string[]).select('key', 'value');
  const stored = new Map(rows.map((r) => [r.key, r.value]));
  const get = (k: (typeof KEYS)[number]): SettingValue | undefined => (stored.has(k) ? stored.get(k) : settingDef(k).default);
  const int = (k: (typeof KEYS)[number]): number => Number(get(k));
  const offlineAfter = int('health-offline-after');
  return {
    initialised: stored.has('isp-name'),
    timezone: String(get('timezone')),
    billingDay: int('billing-day'),
    invoiceLeadDays: int('invoice-lead-days'),
    billingHour: int('billing-hour'),
    collectionsIntervalMs: int('collections-interval-minutes') * 60_000,
    notifyIntervalMs: int('notify-interval-seconds') * 1000,
    jobsIntervalMs: int('jobs-interval-seconds') * 1000,
    healthIntervalMs: int('health-interval-seconds') * 1000,
    healthDegradedAfter: Math.min(int('health-degraded-after'), offlineAfter),
    healthOfflineAfter: offlineAfter,
    radiusStaleMinutes: int('radius-stale-minutes'),
  };
}
