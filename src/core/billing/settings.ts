// The settings billing reads, typed, in one query.
import type { Db } from '../db/tx.js';
import { listSettings, loadIspSettings, type IspSettings } from '../settings/service.js';
import { DEFAULT_INVOICE_NUMBER_FORMAT } from './numbering.js';

export interface BillingSettings extends IspSettings {
  invoiceNumberFormat: string;
  billSuspendedServices: boolean;
}

export async function loadBillingSettings(db: Db): Promise<BillingSettings> {
  const isp = await loadIspSettings(db);
  const values = new Map((await listSettings(db)).map((s) => [s.key, s.value]));
  const bill = values.get('bill-suspended-services');
  return {
    ...isp,
    invoiceNumberFormat: String(values.get('invoice-number-format') ?? DEFAULT_INVOICE_NUMBER_FORMAT),
    billSuspendedServices: bill === true || bill === 'true',
  };
}
