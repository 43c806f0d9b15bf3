// Settings of `ispctl daemon`: when billing runs, how often the other schedules run, and when a
// router counts as degraded or offline.
import type { SettingDef } from '../settings/registry.js';
import { integerSetting } from '../settings/kinds.js';

export const DAEMON_SETTINGS: readonly SettingDef[] = [
  integerSetting('billing-hour', 'Daemon: hour of the day (0 to 23, ISP time zone) at which it generates invoices on the billing day', 0, 23, 6),
  integerSetting('collections-interval-minutes', 'Daemon: minutes between collections runs (reminders, warnings, suspensions, restorations)', 1, 1440, 5),
  integerSetting('notify-interval-seconds', 'Daemon: seconds between deliveries of queued messages', 5, 86_400, 30),
  integerSetting('jobs-interval-seconds', 'Daemon: seconds between retries of queued router work (PostgreSQL also wakes it at once for new jobs)', 1, 3600, 10),
  integerSetting('health-interval-seconds', 'Daemon: seconds between router health checks', 10, 86_400, 60),
  integerSetting('health-degraded-after', 'Daemon: failed health checks in a row after which a router is degraded', 1, 100, 1),
  integerSetting('health-offline-after', 'Daemon: failed health checks in a row after which an unreachable router is offline', 1, 100, 3),
  integerSetting('radius-stale-minutes', 'Daemon: close RADIUS sessions with no accounting update for this many minutes (about 3 interim intervals); 0 = never', 0, 10_080, 30),
];
