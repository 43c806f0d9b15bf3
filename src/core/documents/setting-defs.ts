// Settings of invoices, receipts, payment intake and the payment page: what a customer's document
// says about the ISP (address, TIN, VAT status, how to pay) and where payments come in.
import type { SettingDef, SettingValue } from '../settings/registry.js';
import { errors } from '../error-catalogue.js';
import { choiceSetting, integerSetting, textSetting } from '../settings/kinds.js';


export const VAT_STATUSES = ['non-vat', 'vat-registered', 'vat-exempt'] as const;
export type VatStatus = (typeof VAT_STATUSES)[number];

/** A Philippine TIN: 9 digits and a 3 to 5 digit branch code, written 123-456-789-00000. */
export function parseTin(raw: unknown): string {
  const digits = String(raw).replace(/[\s-]/g, '');
  if (!/^\d{9}(\d{3}|\d{5})?$/.test(digits)) {
    throw errors.settingValue('isp-tin', 'a TIN of 9 digits with an optional 3 or 5 digit branch code', raw, '123-456-789-00000');
  }
  const groups = [digits.slice(0, 3), digits.slice(3, 6), digits.slice(6, 9)];
  if (digits.length > 9) groups.push(digits.slice(9));
  return groups.join('-');
}

/** A mobile number as GCash shows it: 09171234567 or +639171234567. */
export function parseMobile(raw: unknown, key: string): string {
  const s = String(raw).replace(/[\s-]/g, '');
  if (!/^(\+63|0)9\d{9}$/.test(s)) throw errors.settingValue(key, 'a Philippine mobile number', raw, '09171234567');
  return s;
}

/** `host:port` for the HTTP listener, or `off`. */
export function parseListen(raw: unknown): string {
  const s = String(raw).trim().toLowerCase();
  if (s === 'off' || s === 'none' || s === '') return 'off';
  const m = /^(\[[0-9a-f:]+\]|[a-z0-9.-]+):(\d{1,5})$/.exec(s);
  if (!m || Number(m[2]) < 1 || Number(m[2]) > 65535) {
    throw errors.settingValue('intake-listen', 'host:port or off', raw, ['127.0.0.1:8470', 'off']);
  }
  return s;
}

export function parseBaseUrl(raw: unknown, key: string): string {
  const s = String(raw).trim().replace(/\/+$/, '');
  let u: URL;
  try {
    u = new URL(s);
  } catch {
    throw errors.settingValue(key, 'an http(s) URL', raw, 'https://pay.example.net');
  }
  if (!['http:', 'https:'].includes(u.protocol) || u.search || u.hash || u.username) {
    throw errors.settingValue(key, 'an http(s) URL without query, fragment or credentials', raw, 'https://pay.example.net');
  }
  return s;
}

const CHECKOUT_EXAMPLE = '"https://checkout.example.net/pay?ref={{account}}&amount={{amount}}"';

/** The placeholders of checkout-url-template; each value is URL-encoded when filled in. */
export const CHECKOUT_PLACEHOLDERS = ['account', 'invoice', 'amount', 'amount_minor', 'name'] as const;

export function parseCheckoutTemplate(raw: unknown): string {
  const s = String(raw).trim();
  for (const m of s.matchAll(/\{\{\s*([^}]*?)\s*\}\}/g)) {
    if (!(CHECKOUT_PLACEHOLDERS as readonly string[]).includes(m[1]!)) {
      throw errors.settingValue('checkout-url-template', `a URL with only the placeholders ${CHECKOUT_PLACEHOLDERS.map((p) => `{{${p}}}`).join(', ')} (not {{${m[1]}}})`, undefined, CHECKOUT_EXAMPLE);
    }
  }
  let u: URL;
  try {
    u = new URL(s.replace(/\{\{[^}]*\}\}/g, 'x'));
  } catch {
    throw errors.settingValue('checkout-url-template', 'an http(s) URL', raw, CHECKOUT_EXAMPLE);
  }
  if (u.protocol !== 'https:' && u.protocol !== 'http:') throw errors.settingValue('checkout-url-template', 'an http(s) URL', raw, CHECKOUT_EXAMPLE);
  return s;
}

/** A late fee: a fixed amount (`100`, `100.00`), a percentage of the overdue balance (`2%`), or `none`. */
export function parseLateFee(raw: unknown): string {
  const s = String(raw).trim().toLowerCase();
  if (s === 'none' || s === 'off' || s === '0') return 'none';
  const ok = /^\d{1,9}(\.\d{1,2})?%?$/.test(s) && !(s.endsWith('%') && Number(s.slice(0, -1)) > 100);
  if (!ok) throw errors.settingValue('late-fee', 'an amount (100 or 100.00), a percentage of the overdue balance up to 100% (2%) or none', raw, ['100', '2%', 'none']);
  return s;
}

export const DOCUMENT_SETTINGS: readonly SettingDef[] = [
  textSetting('isp-address', "The ISP's business address, printed on invoices and receipts (\\n for a new line)", 400, { maxLines: 8 }),
  { key: 'isp-tin', description: "The ISP's Taxpayer Identification Number (TIN), e.g. 123-456-789-00000", type: 'string', parse: parseTin },
  choiceSetting('vat-status', 'VAT registration printed on invoices: non-vat, vat-registered (totals show VATable sales and 12% VAT) or vat-exempt', VAT_STATUSES, 'non-vat'),
  { key: 'gcash-number', description: 'GCash mobile number customers pay to, printed on invoices', type: 'string', parse: (raw) => parseMobile(raw, 'gcash-number') },
  textSetting('gcash-name', 'Name on the GCash account, printed next to the number', 100),
  textSetting('payment-qr', 'Text encoded in the QR code printed on invoices (e.g. your QR Ph / GCash merchant QR payload); none printed when unset', 1000, { maxLines: 8 }),
  textSetting('bank-details', 'Bank transfer instructions printed on invoices, e.g. "BPI Savings 1234-5678-90, Example ISP Inc." (\\n for a new line)', 400, { maxLines: 8 }),
  {
    key: 'document-templates-dir',
    description: 'Directory with your own invoice and receipt templates (invoice.html.eta, receipt.html.eta, payment-instructions.txt.eta, footer.txt.eta); files missing there come from the built-in ones',
    type: 'string',
    parse(raw) {
      const s = String(raw).trim();
      if (!s) throw errors.settingValue('document-templates-dir', 'a directory', raw, '/etc/ispctl/templates');
      return s;
    },
  },
  {
    key: 'intake-listen',
    description: 'Address the daemon serves payment notifications and payment pages on, host:port (e.g. 127.0.0.1:8470 behind a TLS proxy), or off',
    type: 'string',
    default: 'off',
    parse: parseListen,
  },
  { key: 'public-url', description: 'Public base URL of the daemon\'s HTTP listener as customers reach it (behind your TLS proxy), e.g. https://pay.example.net; payment links start with it', type: 'string', parse: (raw) => parseBaseUrl(raw, 'public-url') },
  {
    key: 'checkout-url-template',
    description: 'Where the payment page\'s Pay button goes: your gateway\'s checkout link with {{account}}, {{invoice}}, {{amount}}, {{amount_minor}}, {{name}} (URL-encoded)',
    type: 'string',
    parse: parseCheckoutTemplate,
  },
  integerSetting('payment-link-days', 'Days a personal payment link stays valid', 1, 90, 14),
  integerSetting('webhook-tolerance-seconds', 'How old a signed payment notification may be (its timestamp) before it is refused as a replay', 30, 3600, 300),
  {
    key: 'late-fee',
    description: 'Late fee collections charges once per overdue invoice: an amount (100), a percentage of the overdue balance (2%), or none',
    type: 'string',
    default: 'none',
    parse: parseLateFee,
  },
  integerSetting('late-fee-days', 'Days after the due date that the late fee is charged', 0, 90, 1),
  integerSetting('uncollectible-days', 'Days past due after which an unpaid subscriber\'s collection status becomes uncollectible', 30, 3650, 120),
];

export type DocumentSettingValue = SettingValue;
