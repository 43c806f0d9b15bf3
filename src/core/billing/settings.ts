// The settings billing reads, typed, in one query (or from settings a caller read already).
import type { Db } from '../db/tx.js';
import { settingDef } from '../settings/registry.js';
import { ispSettingsFrom, storedSettings, type IspSettings, type StoredSettings } from '../settings/service.js';
import { DEFAULT_INVOICE_NUMBER_FORMAT } from './numbering.js';

export interface BillingSettings extends IspSettings {
  invoiceNumberFormat: string;
  billSuspendedServices: boolean;
}

export async function loadBillingSettings(db: Db): Promise<BillingSettings> {
  return billingSettingsFrom(await storedSettings(db));
}

/** The billing settings from what the settings table holds (storedSettings). */
export function billingSettingsFrom(stored: StoredSettings): BillingSettings {
  const isp = ispSettingsFrom(stored);
  const get = (k: string) => (stored.has(k) ? stored.get(k)! : (settingDef(k).default ?? null));
  const bill = get('bill-suspended-services');
  return {
    ...isp,
    invoiceNumberFormat: String(get('invoice-number-format') ?? DEFAULT_INVOICE_NUMBER_FORMAT),
    billSuspendedServices: bill === true || bill === 'true',
  };
}
