// Every setting ispctl knows, with its type, limits, default and how to parse what a person types.
import { DEFAULT_INVOICE_NUMBER_FORMAT, validateInvoiceNumberFormat } from '../billing/numbering.js';
import { invalid } from '../errors.js';
import { COLLECTION_SETTINGS } from '../collections/setting-defs.js';
import { DAEMON_SETTINGS } from '../daemon/setting-defs.js';
import { DOCUMENT_SETTINGS } from '../documents/setting-defs.js';
import { NOTIFY_SETTINGS } from '../notify/setting-defs.js';
import { WIREGUARD_SETTINGS } from '../onboarding/setting-defs.js';
import { assertCurrency } from '../money.js';
import { formatSpeed, parseSpeed } from '../speed.js';
import { assertTimeZone } from '../time.js';
import { booleanSetting, choiceSetting, integerSetting, textSetting } from './kinds.js';

export type SettingValue = string | number | boolean;

export interface SettingDef {
  key: string;
  description: string;
  type: 'string' | 'integer' | 'boolean' | 'currency' | 'timezone' | 'enum';
  default?: SettingValue;
  min?: number;
  max?: number;
  values?: readonly string[];
  /** Set by `ispctl init`; required before billing can run. */
  initKey?: boolean;
  /** Parses a typed string (or checks a JSON value) into the stored value; throws invalid(). */
  parse(raw: unknown): SettingValue;
  /** Holds a credential: settings list, settings get and the audit log show it masked. */
  secret?: boolean;
  /** How a secret value is shown (default: ***). */
  mask?(value: SettingValue): string;
}

/** A value as people may see it: masked when the setting is secret. */
export function displayValue(def: SettingDef, value: SettingValue | null): SettingValue | null {
  if (value === null || !def.secret) return value;
  return def.mask ? def.mask(value) : '***';
}

/** A speed, stored in its short form (`1M`, `512k`) so it reads well in settings list. */
function speed(key: string, description: string, def: string): SettingDef {
  return {
    key,
    description,
    type: 'string',
    default: def,
    parse(raw) {
      return formatSpeed(parseSpeed(String(raw), { field: key }));
    },
  };
}

export const SETTINGS: readonly SettingDef[] = [
  textSetting('isp-name', "The ISP's name, shown on invoices and messages", 100, { initKey: true }),
  {
    key: 'currency',
    description: 'ISO 4217 currency code of all prices and payments, e.g. PHP',
    type: 'currency',
    default: 'PHP',
    initKey: true,
    parse(raw) {
      const code = String(raw).trim().toUpperCase();
      assertCurrency(code);
      return code;
    },
  },
  {
    key: 'timezone',
    description: 'IANA time zone in which billing days, due dates and schedules are computed, e.g. Asia/Manila',
    type: 'timezone',
    default: 'Asia/Manila',
    initKey: true,
    parse(raw) {
      const tz = String(raw).trim();
      assertTimeZone(tz);
      return tz;
    },
  },
  integerSetting('billing-day', 'Day of the month on which billing periods start (1 to 28)', 1, 28, 1, { initKey: true, why: 'days 29 to 31 do not exist in every month' }),
  integerSetting('due-days', 'Days from invoice date to due date', 0, 90, 15, { initKey: true }),
  integerSetting('grace-days', 'Days after the due date before an unpaid subscriber is suspended', 0, 90, 5, { initKey: true }),
  integerSetting('invoice-lead-days', 'Generate invoices this many days before the period starts', 0, 27, 0),
  choiceSetting('suspension-action', 'What suspension for non-payment does when a plan does not say: block, or throttle to the reduced speed', ['block', 'throttle'], 'block'),
  speed('throttle-download', 'Reduced download speed of a throttled subscriber when the plan does not set one, e.g. 1M', '1M'),
  speed('throttle-upload', 'Reduced upload speed of a throttled subscriber when the plan does not set one, e.g. 1M', '1M'),
  choiceSetting('api-block-action', 'API mode: how a blocked subscriber\'s PPP secret is handled when the router does not say: disable, or remove', ['disable', 'remove'], 'disable'),
  textSetting(
    'radius-reload-command',
    'RADIUS mode: command ispctl runs with /bin/sh -c after a radius-mode router is added, changed or removed, so FreeRADIUS loads the new client list (e.g. "systemctl restart freeradius"); "none" to run nothing',
    1000,
  ),
  // Billing (src/core/billing).
  {
    key: 'invoice-number-format',
    description: 'Invoice numbers: text with {SEQ:n} (the invoice sequence, zero-padded to n digits) and optionally {YYYY}, {YY}, {MM} of the issue date',
    type: 'string',
    default: DEFAULT_INVOICE_NUMBER_FORMAT,
    parse: (raw) => validateInvoiceNumberFormat(String(raw)),
  },
  booleanSetting('bill-suspended-services', 'Invoice services for periods they spend blocked (suspended, admin-suspended); false skips those periods', false),
  // Collections and notifications (src/core/collections, src/core/notify).
  ...COLLECTION_SETTINGS,
  ...NOTIFY_SETTINGS,
  // The daemon (src/core/daemon).
  ...DAEMON_SETTINGS,
  // Invoices, receipts, payment intake and the payment page (src/core/documents, src/core/intake).
  ...DOCUMENT_SETTINGS,
  // The WireGuard hub (src/core/onboarding).
  ...WIREGUARD_SETTINGS,
];

const BY_KEY = new Map(SETTINGS.map((s) => [s.key, s]));

export function settingDef(key: string): SettingDef {
  const def = BY_KEY.get(key);
  if (!def) {
    const close = SETTINGS.filter((s) => s.key.includes(key) || key.includes(s.key.split('-')[0]!)).map((s) => s.key);
    throw invalid('UNKNOWN_SETTING', `There is no setting called "${key}".`, [
      ...(close.length ? [`Did you mean ${close.join(' or ')}?`] : []),
      'ispctl settings list shows every setting',
    ]);
  }
  return def;
}
