// Settings of invoices, receipts, payment intake and the payment page: what a customer's document
// says about the ISP (address, TIN, VAT status, how to pay) and where payments come in.
import { invalid } from '../errors.js';
import type { SettingDef, SettingValue } from '../settings/registry.js';

// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f]/;

/** Free text that may span lines (an address, bank details): `\n` typed as two characters is a line break. */
function multiline(key: string, description: string, maxLength: number): SettingDef {
  return {
    key,
    description,
    type: 'string',
    parse(raw) {
      const s = String(raw).replace(/\\n/g, '\n').replace(/\r\n?/g, '\n').trim();
      if (s === '') throw invalid('INVALID_SETTING_VALUE', `${key} cannot be empty.`, [`ispctl settings set ${key} "…"`]);
      if (s.length > maxLength) throw invalid('INVALID_SETTING_VALUE', `${key} is ${s.length} characters long; the limit is ${maxLength}.`);
      if (CONTROL.test(s)) throw invalid('INVALID_SETTING_VALUE', `${key} contains control characters.`);
      if (s.split('\n').length > 8) throw invalid('INVALID_SETTING_VALUE', `${key} has more than 8 lines.`);
      return s;
    },
  };
}

function intRange(key: string, description: string, min: number, max: number, def: number): SettingDef {
  return {
    key,
    description,
    type: 'integer',
    min,
    max,
    default: def,
    parse(raw) {
      const s = String(raw).trim();
      if (!/^\d+$/.test(s) || Number(s) < min || Number(s) > max) throw invalid('INVALID_SETTING_VALUE', `${key} must be a whole number from ${min} to ${max}, got "${String(raw)}".`, [`ispctl settings set ${key} ${def}`]);
      return Number(s);
    },
  };
}

export const VAT_STATUSES = ['non-vat', 'vat-registered', 'vat-exempt'] as const;
export type VatStatus = (typeof VAT_STATUSES)[number];

/** A Philippine TIN: 9 digits and a 3 to 5 digit branch code, written 123-456-789-00000. */
export function parseTin(raw: unknown): string {
  const digits = String(raw).replace(/[\s-]/g, '');
  if (!/^\d{9}(\d{3}|\d{5})?$/.test(digits)) {
    throw invalid('INVALID_SETTING_VALUE', `isp-tin must be a TIN of 9 digits with an optional 3 or 5 digit branch code, e.g. 123-456-789-00000, got "${String(raw)}".`);
  }
  const groups = [digits.slice(0, 3), digits.slice(3, 6), digits.slice(6, 9)];
  if (digits.length > 9) groups.push(digits.slice(9));
  return groups.join('-');
}

/** A mobile number as GCash shows it: 09171234567 or +639171234567. */
export function parseMobile(raw: unknown, key: string): string {
  const s = String(raw).replace(/[\s-]/g, '');
  if (!/^(\+63|0)9\d{9}$/.test(s)) throw invalid('INVALID_SETTING_VALUE', `${key} must be a Philippine mobile number such as 0917 123 4567, got "${String(raw)}".`);
  return s;
}

/** `host:port` for the HTTP listener, or `off`. */
export function parseListen(raw: unknown): string {
  const s = String(raw).trim().toLowerCase();
  if (s === 'off' || s === 'none' || s === '') return 'off';
  const m = /^(\[[0-9a-f:]+\]|[a-z0-9.-]+):(\d{1,5})$/.exec(s);
  if (!m || Number(m[2]) < 1 || Number(m[2]) > 65535) {
    throw invalid('INVALID_SETTING_VALUE', `intake-listen must be host:port (e.g. 127.0.0.1:8470) or off, got "${String(raw)}".`, ['ispctl settings set intake-listen 127.0.0.1:8470']);
  }
  return s;
}

export function parseBaseUrl(raw: unknown, key: string): string {
  const s = String(raw).trim().replace(/\/+$/, '');
  let u: URL;
  try {
    u = new URL(s);
  } catch {
    throw invalid('INVALID_SETTING_VALUE', `${key} is not a URL, got "${String(raw)}".`, [`ispctl settings set ${key} https://pay.example.net`]);
  }
  if (!['http:', 'https:'].includes(u.protocol) || u.search || u.hash || u.username) {
    throw invalid('INVALID_SETTING_VALUE', `${key} must be an http(s) URL without query, fragment or credentials, got "${String(raw)}".`);
  }
  return s;
}

/** The placeholders of checkout-url-template; each value is URL-encoded when filled in. */
export const CHECKOUT_PLACEHOLDERS = ['account', 'invoice', 'amount', 'amount_minor', 'name'] as const;

export function parseCheckoutTemplate(raw: unknown): string {
  const s = String(raw).trim();
  for (const m of s.matchAll(/\{\{\s*([^}]*?)\s*\}\}/g)) {
    if (!(CHECKOUT_PLACEHOLDERS as readonly string[]).includes(m[1]!)) {
      throw invalid('INVALID_SETTING_VALUE', `checkout-url-template uses {{${m[1]}}}; the placeholders are ${CHECKOUT_PLACEHOLDERS.map((p) => `{{${p}}}`).join(', ')}.`);
    }
  }
  let u: URL;
  try {
    u = new URL(s.replace(/\{\{[^}]*\}\}/g, 'x'));
  } catch {
    throw invalid('INVALID_SETTING_VALUE', 'checkout-url-template is not a URL.', ['ispctl settings set checkout-url-template "https://checkout.example.net/pay?ref={{account}}&amount={{amount}}"']);
  }
  if (u.protocol !== 'https:' && u.protocol !== 'http:') throw invalid('INVALID_SETTING_VALUE', 'checkout-url-template must be an http(s) URL.');
  return s;
}

/** A late fee: a fixed amount (`100`, `100.00`), a percentage of the overdue balance (`2%`), or `none`. */
export function parseLateFee(raw: unknown): string {
  const s = String(raw).trim().toLowerCase();
  if (s === 'none' || s === 'off' || s === '0') return 'none';
  if (!/^\d{1,9}(\.\d{1,2})?%?$/.test(s)) throw invalid('INVALID_SETTING_VALUE', `late-fee must be an amount (100 or 100.00), a percentage of the overdue balance (2%) or none, got "${String(raw)}".`);
  if (s.endsWith('%') && Number(s.slice(0, -1)) > 100) throw invalid('INVALID_SETTING_VALUE', 'late-fee cannot be more than 100%.');
  return s;
}

export const DOCUMENT_SETTINGS: readonly SettingDef[] = [
  multiline('isp-address', "The ISP's business address, printed on invoices and receipts (\\n for a new line)", 400),
  { key: 'isp-tin', description: "The ISP's Taxpayer Identification Number (TIN), e.g. 123-456-789-00000", type: 'string', parse: parseTin },
  {
    key: 'vat-status',
    description: 'VAT registration printed on invoices: non-vat, vat-registered (totals show VATable sales and 12% VAT) or vat-exempt',
    type: 'enum',
    values: VAT_STATUSES,
    default: 'non-vat',
    parse(raw) {
      const s = String(raw).trim().toLowerCase();
      if (!(VAT_STATUSES as readonly string[]).includes(s)) throw invalid('INVALID_SETTING_VALUE', `vat-status must be one of ${VAT_STATUSES.join(', ')}, got "${String(raw)}".`);
      return s;
    },
  },
  { key: 'gcash-number', description: 'GCash mobile number customers pay to, printed on invoices', type: 'string', parse: (raw) => parseMobile(raw, 'gcash-number') },
  {
    key: 'gcash-name',
    description: 'Name on the GCash account, printed next to the number',
    type: 'string',
    parse(raw) {
      const s = String(raw).trim();
      if (!s || s.length > 100 || CONTROL.test(s) || s.includes('\n')) throw invalid('INVALID_SETTING_VALUE', 'gcash-name must be one line of at most 100 characters.');
      return s;
    },
  },
  multiline('payment-qr', 'Text encoded in the QR code printed on invoices (e.g. your QR Ph / GCash merchant QR payload); none printed when unset', 1000),
  multiline('bank-details', 'Bank transfer instructions printed on invoices, e.g. "BPI Savings 1234-5678-90, Example ISP Inc." (\\n for a new line)', 400),
  {
    key: 'document-templates-dir',
    description: 'Directory with your own invoice and receipt templates (invoice.html.eta, receipt.html.eta, payment-instructions.txt.eta, footer.txt.eta); files missing there come from the built-in ones',
    type: 'string',
    parse(raw) {
      const s = String(raw).trim();
      if (!s) throw invalid('INVALID_SETTING_VALUE', 'document-templates-dir cannot be empty.');
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
  intRange('payment-link-days', 'Days a personal payment link stays valid', 1, 90, 14),
  intRange('webhook-tolerance-seconds', 'How old a signed payment notification may be (its timestamp) before it is refused as a replay', 30, 3600, 300),
  {
    key: 'late-fee',
    description: 'Late fee collections charges once per overdue invoice: an amount (100), a percentage of the overdue balance (2%), or none',
    type: 'string',
    default: 'none',
    parse: parseLateFee,
  },
  intRange('late-fee-days', 'Days after the due date that the late fee is charged', 0, 90, 1),
  intRange('uncollectible-days', 'Days past due after which an unpaid subscriber\'s collection status becomes uncollectible', 30, 3650, 120),
];

export type DocumentSettingValue = SettingValue;
