// What a payment notification says, read strictly from each gateway's JSON. Anything missing,
// of the wrong type or ambiguous is a malformed notification (400), never a guess: amounts are
// integers of centavos or decimal strings with exactly the currency's decimals, currencies must
// be the ISP's, and the subscriber is named by an account number or an invoice number.
import { fromDecimalString } from '../money.js';

export const GATEWAY_KINDS = ['generic', 'paymongo'] as const;
export type GatewayKind = (typeof GATEWAY_KINDS)[number];

export type IntakeMethod = 'cash' | 'gcash' | 'bank' | 'card' | 'other';

export interface PaymentNotification {
  kind: 'payment';
  /** The gateway's event id (for the log). */
  eventId: string;
  /** The gateway's transaction id: a payment is recorded once per gateway and transaction. */
  transactionId: string;
  amountMinor: bigint;
  currency: string;
  /** Account number (S-000123) or PPPoE username, when the notification names one. */
  account: string | null;
  /** Invoice number, when the notification names one. */
  invoice: string | null;
  method: IntakeMethod | null;
  paidAt: Date | null;
  /** PayMongo: live or test mode (decides which signature counts). */
  livemode: boolean;
}

export interface IgnoredNotification {
  kind: 'ignored';
  eventId: string;
  /** e.g. "event payment.failed is not a payment". */
  reason: string;
  livemode: boolean;
}

export type Notification = PaymentNotification | IgnoredNotification;

export class MalformedNotification extends Error {}

function bad(message: string): never {
  throw new MalformedNotification(message);
}

function obj(v: unknown, what: string): Record<string, unknown> {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) bad(`${what} must be a JSON object`);
  return v as Record<string, unknown>;
}

function str(v: unknown, what: string, opts: { optional?: boolean; max?: number } = {}): string | null {
  if (v === undefined || v === null || v === '') {
    if (opts.optional) return null;
    bad(`${what} is missing`);
  }
  if (typeof v !== 'string') bad(`${what} must be a string`);
  const s = v.trim();
  // eslint-disable-next-line no-control-regex
  if (s.length > (opts.max ?? 200) || /[\u0000-\u001f\u007f]/.test(s)) bad(`${what} is too long or has control characters`);
  return s;
}

export function parseJsonBody(raw: Buffer): unknown {
  try {
    return JSON.parse(raw.toString('utf8'));
  } catch {
    bad('the body is not JSON');
  }
}

const METHODS: Record<string, IntakeMethod> = { gcash: 'gcash', card: 'card', bank: 'bank', cash: 'cash', other: 'other', paymaya: 'other', grab_pay: 'other', qrph: 'other', dob: 'bank', dob_ubp: 'bank', brankas_bdo: 'bank', brankas_landbank: 'bank', brankas_metrobank: 'bank', billease: 'other' };

function methodOf(v: unknown): IntakeMethod | null {
  return typeof v === 'string' ? (METHODS[v.toLowerCase()] ?? 'other') : null;
}

function accountOrInvoice(...texts: Array<string | null | undefined>): { account: string | null; invoice: string | null } {
  for (const t of texts) {
    if (!t) continue;
    const inv = /\b(INV-[A-Z0-9-]{3,40})\b/i.exec(t);
    if (inv) return { account: null, invoice: inv[1]!.toUpperCase() };
    const acc = /\b(S-\d{3,12})\b/i.exec(t);
    if (acc) return { account: acc[1]!.toUpperCase(), invoice: null };
  }
  return { account: null, invoice: null };
}

/**
 * The generic signed JSON format:
 * `{"id": "txn-1", "amount": "1500.00", "currency": "PHP", "account": "S-000123" | "invoice": "INV-…", "method": "gcash", "paid_at": "2026-12-02T09:00:00+08:00"}`.
 */
export function parseGeneric(body: unknown, currency: string): PaymentNotification {
  const o = obj(body, 'the body');
  const id = str(o.id, 'id', { max: 200 })!;
  const cur = str(o.currency, 'currency', { max: 3 })!.toUpperCase();
  if (cur !== currency) bad(`currency ${cur} is not the ISP's currency ${currency}`);
  if (typeof o.amount !== 'string') bad('amount must be a decimal string such as "1500.00"');
  let amountMinor: bigint;
  try {
    amountMinor = fromDecimalString(o.amount, currency, { field: 'amount' });
  } catch {
    bad(`amount ${JSON.stringify(o.amount)} is not a plain decimal with the currency's decimals, e.g. "1500.00"`);
  }
  if (amountMinor <= 0n) bad('amount must be more than zero');
  const account = str(o.account, 'account', { optional: true, max: 64 });
  const invoice = str(o.invoice, 'invoice', { optional: true, max: 64 });
  if (!account && !invoice) bad('name the subscriber with "account" or "invoice"');
  let paidAt: Date | null = null;
  const p = str(o.paid_at, 'paid_at', { optional: true, max: 40 });
  if (p) {
    if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/.test(p) || Number.isNaN(Date.parse(p))) bad('paid_at must be an ISO timestamp with a zone');
    paidAt = new Date(p);
  }
  const method = str(o.method, 'method', { optional: true, max: 20 });
  return { kind: 'payment', eventId: id, transactionId: id, amountMinor, currency: cur, account, invoice, method: method ? methodOf(method) : null, paidAt, livemode: true };
}

/**
 * PayMongo's event: `payment.paid` is a payment; other events are acknowledged and ignored.
 * The subscriber is named in the payment's metadata (`account_no` or `invoice_number`, set by
 * the checkout link), else by an account or invoice number in its description or external
 * reference number.
 */
export function parsePaymongo(body: unknown, currency: string): Notification {
  const root = obj(body, 'the body');
  const data = obj(root.data, 'data');
  const eventId = str(data.id, 'data.id', { max: 100 })!;
  const attrs = obj(data.attributes, 'data.attributes');
  const type = str(attrs.type, 'data.attributes.type', { max: 100 })!;
  if (typeof attrs.livemode !== 'boolean') bad('data.attributes.livemode must be true or false');
  const livemode = attrs.livemode;
  if (type !== 'payment.paid') return { kind: 'ignored', eventId, reason: `event ${type} is not a payment`, livemode };
  const payment = obj(attrs.data, 'data.attributes.data');
  const transactionId = str(payment.id, 'data.attributes.data.id', { max: 100 })!;
  const pa = obj(payment.attributes, 'data.attributes.data.attributes');
  if (pa.status !== 'paid') bad(`the payment's status is ${JSON.stringify(pa.status)}, not "paid"`);
  if (typeof pa.amount !== 'number' || !Number.isSafeInteger(pa.amount) || pa.amount <= 0) bad('the payment amount must be a positive whole number of centavos');
  const cur = str(pa.currency, 'currency', { max: 3 })!.toUpperCase();
  if (cur !== currency) bad(`currency ${cur} is not the ISP's currency ${currency}`);
  const meta = pa.metadata === undefined || pa.metadata === null ? {} : obj(pa.metadata, 'metadata');
  const account = str(meta.account_no, 'metadata.account_no', { optional: true, max: 64 });
  const invoice = str(meta.invoice_number, 'metadata.invoice_number', { optional: true, max: 64 });
  const found = account || invoice ? { account, invoice } : accountOrInvoice(str(pa.description, 'description', { optional: true, max: 500 }), str(pa.external_reference_number, 'external_reference_number', { optional: true, max: 200 }));
  const source = pa.source === undefined || pa.source === null ? {} : obj(pa.source, 'source');
  const paidAt = typeof pa.paid_at === 'number' && Number.isSafeInteger(pa.paid_at) ? new Date(pa.paid_at * 1000) : null;
  return { kind: 'payment', eventId, transactionId, amountMinor: BigInt(pa.amount), currency: cur, account: found.account, invoice: found.invoice, method: methodOf(source.type), paidAt, livemode };
}
