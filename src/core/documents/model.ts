// What an invoice or a receipt says, assembled once from the database and the settings, with
// every amount already formatted in the ISP's currency: the HTML template and the PDF layout only
// place ready-made text, so both show the same figures to the centavo.
import type { ServiceContext } from '../context.js';
import type { Db } from '../db/tx.js';
import { showInvoice, type InvoiceDetails } from '../billing/invoices.js';
import { subscriberBalance } from '../ledger/read-model.js';
import { formatMoney } from '../money.js';
import { showPayment } from '../payments/service.js';
import { listSettings } from '../settings/service.js';
import { formatLocalDate, toLocalDate } from '../time.js';
import type { VatStatus } from './setting-defs.js';
import { errors } from '../error-catalogue.js';

export interface DocumentSettings {
  ispName: string;
  currency: string;
  timezone: string;
  address: string | null;
  tin: string | null;
  vatStatus: VatStatus;
  gcashNumber: string | null;
  gcashName: string | null;
  paymentQr: string | null;
  bankDetails: string | null;
  templatesDir: string | null;
}

export async function loadDocumentSettings(db: Db): Promise<DocumentSettings> {
  const values = new Map((await listSettings(db)).map((s) => [s.key, s.value]));
  const str = (k: string): string | null => {
    const v = values.get(k);
    return v === null || v === undefined || v === '' ? null : String(v);
  };
  return {
    ispName: str('isp-name') ?? 'Your ISP',
    currency: str('currency') ?? 'PHP',
    timezone: str('timezone') ?? 'Asia/Manila',
    address: str('isp-address'),
    tin: str('isp-tin'),
    vatStatus: (str('vat-status') ?? 'non-vat') as VatStatus,
    gcashNumber: str('gcash-number'),
    gcashName: str('gcash-name'),
    paymentQr: str('payment-qr'),
    bankDetails: str('bank-details'),
    templatesDir: str('document-templates-dir'),
  };
}

export interface DocumentIsp {
  name: string;
  addressLines: string[];
  tin: string | null;
  vatStatus: VatStatus;
  /** e.g. "VAT Reg. TIN 123-456-789-00000" or "Non-VAT Reg. TIN …". */
  taxLine: string | null;
}

export interface PaymentInstructions {
  gcashNumber: string | null;
  gcashName: string | null;
  bankLines: string[];
  /** Text the QR code encodes (payment-qr setting). */
  qrText: string | null;
  /** The subscriber's personal payment page, when the daemon serves one. */
  payUrl: string | null;
  /** The reference to quote when paying: the invoice or account number. */
  quote: string;
}

export interface DocumentLine {
  description: string;
  detail: string | null;
  quantity: string;
  unitPrice: string;
  amount: string;
  discount: string | null;
  total: string;
  totalMinor: bigint;
}

export interface InvoiceDocument {
  kind: 'invoice';
  title: string;
  isp: DocumentIsp;
  number: string;
  status: string;
  issueDate: string;
  dueDate: string;
  periodStart: string;
  periodEnd: string;
  customer: { name: string; accountNo: string; addressLines: string[]; email: string | null; phone: string | null };
  lines: DocumentLine[];
  currency: string;
  subtotal: string;
  discount: string | null;
  total: string;
  totalMinor: bigint;
  paid: string;
  paidMinor: bigint;
  /** This invoice's own balance. */
  balance: string;
  balanceMinor: bigint;
  /** Balances of earlier invoices still open. */
  balanceForward: string;
  balanceForwardMinor: bigint;
  /** Unallocated credit on the account. */
  credit: string | null;
  creditMinor: bigint;
  /** What to pay now: balance + balance forward − credit (never below zero). */
  amountDue: string;
  amountDueMinor: bigint;
  vat: { vatable: string; vat: string } | null;
  pay: PaymentInstructions;
  void: boolean;
  voidReason: string | null;
}

export interface ReceiptDocument {
  kind: 'receipt';
  title: string;
  isp: DocumentIsp;
  number: string;
  receivedOn: string;
  method: string;
  reference: string | null;
  customer: { name: string; accountNo: string; addressLines: string[] };
  amount: string;
  amountMinor: bigint;
  currency: string;
  applied: Array<{ invoice: string; period: string; amount: string }>;
  credit: string | null;
  balanceAfter: string;
  void: boolean;
  voidReason: string | null;
}

export type Document = InvoiceDocument | ReceiptDocument;

function lines(text: string | null): string[] {
  return text ? text.split('\n').map((l) => l.trim()).filter(Boolean) : [];
}

function ispOf(s: DocumentSettings): DocumentIsp {
  const label = s.vatStatus === 'vat-registered' ? 'VAT Reg. TIN' : s.vatStatus === 'vat-exempt' ? 'VAT-exempt, TIN' : 'Non-VAT Reg. TIN';
  return { name: s.ispName, addressLines: lines(s.address), tin: s.tin, vatStatus: s.vatStatus, taxLine: s.tin ? `${label} ${s.tin}` : null };
}

/** VAT included in a VAT-inclusive total at 12%: total × 12/112, half up. */
export function vatIncluded(totalMinor: bigint): bigint {
  return (totalMinor * 12n * 2n + 112n) / (112n * 2n);
}

const METHOD_LABELS: Record<string, string> = { cash: 'Cash', gcash: 'GCash', bank: 'Bank transfer', card: 'Card', other: 'Other' };

function lineOf(l: InvoiceDetails['lines'][number], money: (m: bigint) => string): DocumentLine {
  const prorated = l.days !== l.periodDays;
  let discount: string | null = null;
  if (l.discountMinor > 0n) {
    const what = l.discountKind === 'percent' && l.discountValue !== null ? ` (${(Number(l.discountValue) / 100).toFixed(2).replace(/\.?0+$/, '')}%)` : '';
    discount = `-${money(l.discountMinor)}${what}`;
  }
  return {
    description: l.description,
    detail: l.username ? `Service ${l.username}` : null,
    quantity: l.priceSource === 'adjustment' ? '1' : prorated ? `${l.days}/${l.periodDays} days` : '1 month',
    unitPrice: money(l.unitPriceMinor),
    amount: money(l.amountMinor),
    discount,
    total: money(l.totalMinor),
    totalMinor: l.totalMinor,
  };
}

/**
 * The invoice as a customer reads it. Balance brought forward is what earlier invoices still
 * owe (open, not void, issued before this one); credit is payment money not yet used.
 */
export async function invoiceDocument(ctx: Pick<ServiceContext, 'db' | 'clock'>, number: string, opts: { payUrl?: string | null } = {}): Promise<InvoiceDocument> {
  const db = ctx.db;
  const inv = await showInvoice(ctx, number);
  if (inv.status === 'draft') throw errors.invoiceDraft(inv.number);
  const s = await loadDocumentSettings(db);
  const money = (m: bigint) => formatMoney(m, inv.currency);
  const sub = await db('subscribers').where({ id: inv.subscriberId }).first('address');
  const today = formatLocalDate(toLocalDate(ctx.clock.now(), s.timezone));
  const balance = await subscriberBalance(db, inv.subscriberId, today);
  // Brought forward: what invoices issued before this one still owe.
  const forward = balance.openInvoices.filter((o) => o.id !== inv.id && (o.issueDate < inv.issueDate || (o.issueDate === inv.issueDate && o.id < inv.id)));
  const isVoid = inv.status === 'void';
  const balanceForwardMinor = isVoid ? 0n : forward.reduce((sum, o) => sum + o.balanceMinor, 0n);
  const creditMinor = isVoid ? 0n : balance.creditMinor;
  let due = inv.balanceMinor + balanceForwardMinor - creditMinor;
  if (due < 0n) due = 0n;
  const vatMinor = s.vatStatus === 'vat-registered' ? vatIncluded(inv.totalMinor) : null;
  return {
    kind: 'invoice',
    title: s.vatStatus === 'vat-registered' ? 'SERVICE INVOICE' : 'INVOICE',
    isp: ispOf(s),
    number: inv.number,
    status: inv.status.replace('_', ' '),
    issueDate: inv.issueDate,
    dueDate: inv.dueDate,
    periodStart: inv.periodStart,
    periodEnd: inv.periodEnd,
    customer: {
      name: inv.subscriber.fullName,
      accountNo: inv.subscriber.accountNo,
      addressLines: lines((sub?.address as string | null) ?? null),
      email: inv.subscriber.email,
      phone: inv.subscriber.phone,
    },
    lines: inv.lines.filter((l) => !l.voided || isVoid).map((l) => lineOf(l, money)),
    currency: inv.currency,
    subtotal: money(inv.subtotalMinor),
    discount: inv.discountMinor > 0n ? `-${money(inv.discountMinor)}` : null,
    total: money(inv.totalMinor),
    totalMinor: inv.totalMinor,
    paid: money(inv.paidMinor),
    paidMinor: inv.paidMinor,
    balance: money(inv.balanceMinor),
    balanceMinor: inv.balanceMinor,
    balanceForward: money(balanceForwardMinor),
    balanceForwardMinor,
    credit: creditMinor > 0n ? `-${money(creditMinor)}` : null,
    creditMinor,
    amountDue: money(due),
    amountDueMinor: due,
    vat: vatMinor === null ? null : { vatable: money(inv.totalMinor - vatMinor), vat: money(vatMinor) },
    pay: { gcashNumber: s.gcashNumber, gcashName: s.gcashName, bankLines: lines(s.bankDetails), qrText: s.paymentQr, payUrl: opts.payUrl ?? null, quote: inv.number },
    void: isVoid,
    voidReason: inv.voidReason,
  };
}

/** The receipt for a payment: what was received, what it paid, the balance after. */
export async function receiptDocument(ctx: Pick<ServiceContext, 'db' | 'clock'>, paymentId: number | string): Promise<ReceiptDocument> {
  const db = ctx.db;
  const p = await showPayment(db, paymentId);
  const s = await loadDocumentSettings(db);
  const money = (m: bigint) => formatMoney(m, p.currency);
  const sub = await db('subscribers').where({ id: p.subscriberId }).first('address');
  const today = formatLocalDate(toLocalDate(ctx.clock.now(), s.timezone));
  const net = (await subscriberBalance(db, p.subscriberId, today)).netMinor;
  return {
    kind: 'receipt',
    title: 'OFFICIAL RECEIPT',
    isp: ispOf(s),
    number: p.ref,
    receivedOn: formatLocalDate(toLocalDate(p.receivedAt, s.timezone)),
    method: METHOD_LABELS[p.method] ?? p.method,
    reference: p.reference,
    customer: { name: p.subscriberName, accountNo: p.accountNo, addressLines: lines((sub?.address as string | null) ?? null) },
    amount: money(p.amountMinor),
    amountMinor: p.amountMinor,
    currency: p.currency,
    applied: p.allocations.filter((a) => !a.reversedAt).map((a) => ({ invoice: a.number, period: a.periodKey, amount: money(a.amountMinor) })),
    credit: p.unallocatedMinor > 0n ? money(p.unallocatedMinor) : null,
    balanceAfter: net >= 0n ? money(net) : `${money(-net)} credit`,
    void: p.voidedAt !== null,
    voidReason: p.voidReason,
  };
}
