import type { ServiceContext } from '../context.js';
import { recordAudit } from '../audit.js';
import { withTransaction, type Db } from '../db/tx.js';
import { IspctlError } from '../errors.js';
import { moneyRecorded } from '../ledger/read-model.js';
import { provisionSettingsChange } from '../provisioning/access.js';
import { formatLocalDate, toLocalDate } from '../time.js';
import { displayValue, SETTINGS, settingDef, type SettingValue } from './registry.js';
import { errors } from '../error-catalogue.js';
import { rowsOf } from '../db/sql.js';

export interface SettingView {
  key: string;
  value: SettingValue | null;
  isDefault: boolean;
  description: string;
}

/** The settings billing and collections use, typed. */
export interface IspSettings {
  ispName: string;
  currency: string;
  timezone: string;
  billingDay: number;
  dueDays: number;
  graceDays: number;
  invoiceLeadDays: number;
}

/** What the settings table holds, key to value (secrets unmasked): one query for a caller that needs several typed views of it. */
export type StoredSettings = ReadonlyMap<string, SettingValue>;

export async function storedSettings(db: Db): Promise<Map<string, SettingValue>> {
  const rows: Array<{ key: string; value: SettingValue }> = await db('settings').select('key', 'value');
  return new Map(rows.map((r) => [r.key, r.value]));
}

export async function listSettings(db: Db): Promise<SettingView[]> {
  return settingViews(await storedSettings(db));
}

/** The ISP's currency and time zone: what input is read in and values are shown in. */
export interface IspFormats {
  currency: string;
  timezone: string;
}

/** The ISP's currency and time zone from the stored settings (the registry's defaults where unset). */
export function ispFormatsFrom(stored: StoredSettings): IspFormats {
  const get = (k: string) => (stored.has(k) ? stored.get(k)! : settingDef(k).default!);
  return { currency: String(get('currency')), timezone: String(get('timezone')) };
}

/**
 * The ISP's currency and time zone read from a database at any schema version, changing nothing:
 * a command checks its input with them before pending migrations run (the settings table's key
 * and value are as the first migration made them). A database without ispctl's schema gives the
 * defaults.
 */
export async function readIspFormats(db: Db): Promise<IspFormats> {
  let rows: Array<{ key: string; value: SettingValue }>;
  try {
    // One statement: nothing from a database where ispctl never migrated (no knex_migrations).
    rows = await rowsOf<{ key: string; value: SettingValue }>(
      db,
      `select key, value from settings where key in ('currency', 'timezone') and to_regclass('knex_migrations') is not null`,
    );
  } catch (err) {
    // No settings table (undefined_table), or someone else's (undefined_column): the defaults.
    if (['42P01', '42703'].includes(String((err as { code?: unknown }).code))) rows = [];
    else throw err;
  }
  return ispFormatsFrom(new Map(rows.map((r) => [r.key, r.value])));
}

/** Every setting's view from the stored values (key to value, as the settings table holds them). */
export function settingViews(stored: ReadonlyMap<string, SettingValue>): SettingView[] {
  return SETTINGS.map((def) => ({
    key: def.key,
    value: displayValue(def, stored.has(def.key) ? stored.get(def.key)! : (def.default ?? null)),
    isDefault: !stored.has(def.key),
    description: def.description,
  }));
}

export async function getSetting(db: Db, key: string): Promise<SettingView> {
  const def = settingDef(key);
  const row = await db('settings').where({ key }).first('value');
  return { key, value: displayValue(def, row ? (row.value as SettingValue) : (def.default ?? null)), isDefault: !row, description: def.description };
}

/** Whether `ispctl init` ran here; reads only (a database without the schema is not set up). */
export async function isSetUp(db: Db): Promise<boolean> {
  return (await db.schema.hasTable('settings')) && (await isInitialised(db));
}

export async function isInitialised(db: Db): Promise<boolean> {
  const row = await db('settings').where({ key: 'isp-name' }).first('key');
  return Boolean(row);
}

export async function loadIspSettings(db: Db): Promise<IspSettings> {
  return ispSettingsFrom(await storedSettings(db));
}

/** The ISP settings from what the settings table holds (storedSettings). */
export function ispSettingsFrom(stored: StoredSettings): IspSettings {
  if (!stored.has('isp-name')) {
    throw errors.notInitialised();
  }
  const get = (k: string) => (stored.has(k) ? stored.get(k)! : settingDef(k).default!);
  return {
    ispName: String(get('isp-name')),
    currency: String(get('currency')),
    timezone: String(get('timezone')),
    billingDay: Number(get('billing-day')),
    dueDays: Number(get('due-days')),
    graceDays: Number(get('grace-days')),
    invoiceLeadDays: Number(get('invoice-lead-days')),
  };
}

/**
 * The rules a change of setting must keep beyond its own value. The currency is fixed once any
 * money is recorded: every amount on the books is in it, and a payment in another currency
 * would pay an invoice in the first.
 */
async function assertChangesAllowed(db: Db, stored: Map<string, SettingValue>, parsed: Array<{ key: string; value: SettingValue }>): Promise<void> {
  const currency = parsed.find((p) => p.key === 'currency');
  if (currency) {
    const before = String(stored.get('currency') ?? settingDef('currency').default);
    if (before !== currency.value && (await moneyRecorded(db))) {
      throw new IspctlError(
        'CURRENCY_FIXED',
        `The currency cannot change from ${before} to ${String(currency.value)}: invoices, payments or adjustments are already recorded in ${before}, and amounts in two currencies would be added up as one.`,
        {
          kind: 'failure',
          suggestions: [
            `Keep ${before}: nothing was changed`,
            `To bill in ${String(currency.value)}, set up a new database (a new ISPCTL_DATA_DIR or ISPCTL_DATABASE_URL) with ispctl init --currency ${String(currency.value)}`,
          ],
          details: { setting: 'currency', current: before, requested: currency.value },
        },
      );
    }
  }
}

export interface SettingChange {
  key: string;
  before: SettingValue | null;
  after: SettingValue;
}

export interface SetSettingsResult {
  changes: SettingChange[];
  /** Services whose access changed (a setting the access policy reads was changed). */
  accessChanged: number;
  /** Router work queued for them: apply it after commit (provisioning/apply.ts). */
  jobIds: number[];
}

/**
 * Each setting's value as it would be stored, checked against its definition without a database
 * (`settings set` runs it before the database is opened or migrated).
 * @throws IspctlError UNKNOWN_SETTING, INVALID_SETTING_VALUE, ...
 */
export function parseSettingValues(values: Record<string, unknown>): Array<{ key: string; value: SettingValue }> {
  return Object.entries(values).map(([key, raw]) => ({ key, value: settingDef(key).parse(raw) }));
}

/**
 * Parses every value first, then writes them in one transaction: a bad value changes nothing.
 * A change of a setting the access policy reads re-materialises access in the same
 * transaction and queues the router work (provisionSettingsChange).
 */
export async function setSettings(ctx: ServiceContext, values: Record<string, unknown>): Promise<SetSettingsResult> {
  const parsed = parseSettingValues(values);
  return withTransaction(ctx.db, async (trx) => {
    const stored = await storedSettings(trx);
    await assertChangesAllowed(trx, stored, parsed);
    const changes: SettingChange[] = [];
    for (const { key, value } of parsed) {
      const before = stored.has(key) ? stored.get(key)! : null;
      if (before === value) continue;
      await trx('settings')
        .insert({ key, value: JSON.stringify(value), updated_at: ctx.clock.now() })
        .onConflict('key')
        .merge(['value', 'updated_at']);
      // Secret values (settings with credentials) are masked in the audit log and the result.
      const def = settingDef(key);
      const shownBefore = displayValue(def, before);
      const shownAfter = displayValue(def, value)!;
      await recordAudit(trx, ctx, { entityType: 'settings', entityId: key, action: before === null ? 'create' : 'update', before: before === null ? undefined : { [key]: shownBefore }, after: { [key]: shownAfter } });
      changes.push({ key, before: shownBefore, after: shownAfter });
    }
    const access = await provisionSettingsChange(trx, ctx, changes.map((c) => c.key));
    if (access.changes.length) {
      await recordAudit(trx, ctx, {
        entityType: 'services',
        entityId: 'access',
        action: 'update',
        after: { settings: changes.map((c) => c.key), services: access.changes.map((c) => [c.serviceId, c.before.state, c.after.state, c.after.rateLimit]) },
      });
    }
    return { changes, accessChanged: access.changes.length, jobIds: access.jobIds };
  });
}

/** Today's date in the ISP's time zone (YYYY-MM-DD): the date billing and collections act on. */
export async function ispToday(db: Db, now: Date): Promise<string> {
  const tz = String((await getSetting(db, 'timezone')).value ?? 'UTC');
  return formatLocalDate(toLocalDate(now, tz));
}
