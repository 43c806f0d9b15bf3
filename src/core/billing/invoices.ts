// Invoices as people and scripts see them: list, show (a readable invoice), void.
import { errors } from '../error-catalogue.js';
import { recordAudit } from '../audit.js';
import type { ServiceContext } from '../context.js';
import { withTransaction, type Db } from '../db/tx.js';
import { conflict, invalid } from '../errors.js';
import { formatLocalDate, toLocalDate } from '../time.js';
import { collectionsOutcome, rebalance, type CollectionsOutcome } from '../ledger/rebalance.js';
import { reverseAllocations, voidInvoices, type NewAllocation, type ReversedAllocation } from '../ledger/allocate.js';
import { invoiceStatusOn, invoiceStatusSql, outstandingOf, type InvoiceStatus } from '../ledger/read-model.js';
import { loadBillingSettings } from './settings.js';
import { dateString } from '../db/sql.js';

export { INVOICE_STATUSES, type InvoiceStatus } from '../ledger/read-model.js';

export interface Invoice {
  id: number;
  number: string;
  subscriberId: number;
  accountNo: string;
  subscriberName: string;
  periodKey: string;
  periodStart: string;
  periodEnd: string;
  issueDate: string;
  dueDate: string;
  currency: string;
  subtotalMinor: bigint;
  discountMinor: bigint;
  totalMinor: bigint;
  paidMinor: bigint;
  /** total − paid (0 for a void invoice). */
  balanceMinor: bigint;
  status: InvoiceStatus;
  voidedAt: Date | null;
  voidReason: string | null;
  createdAt: Date;
  /** When a message carrying the invoice was delivered (null: not yet, the status says issued). */
  sentAt: Date | null;
}

export interface InvoiceSegment {
  planId: number;
  planName: string;
  from: string;
  to: string;
  days: number;
  unitPriceMinor: bigint;
  amountMinor: bigint;
}

export interface InvoiceLine {
  id: number;
  /** Null for a one-off charge (an adjustment line). */
  serviceId: number | null;
  username: string | null;
  planId: number | null;
  description: string;
  priceSource: 'plan' | 'individual' | 'adjustment';
  unitPriceMinor: bigint;
  days: number;
  periodDays: number;
  amountMinor: bigint;
  discountKind: 'fixed' | 'percent' | null;
  /** fixed: minor units; percent: basis points. */
  discountValue: bigint | null;
  discountMinor: bigint;
  totalMinor: bigint;
  segments: InvoiceSegment[] | null;
  voided: boolean;
}

export interface InvoicePayment {
  allocationId: number;
  paymentId: number;
  amountMinor: bigint;
  method: string;
  reference: string | null;
  receivedAt: Date;
  reversedAt: Date | null;
}

export interface InvoiceDetails extends Invoice {
  ispName: string;
  subscriber: { accountNo: string; fullName: string; email: string | null; phone: string | null; address: string | null };
  lines: InvoiceLine[];
  payments: InvoicePayment[];
}

/** A row of invoices joined with its subscriber's account number and name. */
interface InvoiceRow {
  id: bigint;
  number: string;
  subscriber_id: number;
  account_no: string;
  full_name: string;
  period_key: string;
  period_start: string;
  period_end: string;
  issue_date: string;
  due_date: string;
  currency: string;
  subtotal_minor: bigint;
  discount_minor: bigint;
  total_minor: bigint;
  paid_minor: bigint;
  status: InvoiceStatus;
  voided_at: Date | null;
  void_reason: string | null;
  created_at: Date;
  sent_at: Date | null;
}

const INVOICE_COLUMNS = [
  'i.id',
  'i.number',
  'i.subscriber_id',
  's.account_no',
  's.full_name',
  'i.period_key',
  'i.period_start',
  'i.period_end',
  'i.issue_date',
  'i.due_date',
  'i.currency',
  'i.subtotal_minor',
  'i.discount_minor',
  'i.total_minor',
  'i.paid_minor',
  'i.status',
  'i.voided_at',
  'i.void_reason',
  'i.created_at',
  'i.sent_at',
];

/** The one mapping of an invoice row. With `today`, the status is the read model's for that day (never a stale `issued`). */
function toInvoice(r: InvoiceRow, today?: string): Invoice {
  const stored = { status: r.status, totalMinor: r.total_minor, paidMinor: r.paid_minor, dueDate: dateString(r.due_date), sentAt: r.sent_at };
  return {
    id: Number(r.id),
    number: r.number,
    subscriberId: Number(r.subscriber_id),
    accountNo: r.account_no,
    subscriberName: r.full_name,
    periodKey: r.period_key,
    periodStart: dateString(r.period_start),
    periodEnd: dateString(r.period_end),
    issueDate: dateString(r.issue_date),
    dueDate: stored.dueDate,
    currency: r.currency,
    subtotalMinor: r.subtotal_minor,
    discountMinor: r.discount_minor,
    totalMinor: r.total_minor,
    paidMinor: r.paid_minor,
    balanceMinor: outstandingOf(stored),
    status: today === undefined ? r.status : invoiceStatusOn(stored, today),
    voidedAt: r.voided_at,
    voidReason: r.void_reason,
    createdAt: r.created_at,
    sentAt: r.sent_at ?? null,
  };
}

export interface InvoiceFilter {
  /** ISP date the statuses are for (an unpaid invoice past its due date is overdue). */
  today: string;
  subscriberId?: number;
  statuses?: InvoiceStatus[];
  periodKey?: string;
  /** Only invoices not fully paid and past their due date. */
  overdue?: boolean;
  limit?: number;
}

const STATUS_ON = invoiceStatusSql({ status: 'i.status', total: 'i.total_minor', paid: 'i.paid_minor', due: 'i.due_date', sent: 'i.sent_at' });

/** Invoices, newest first, with their status on `filter.today`. */
export async function listInvoices(db: Db, filter: InvoiceFilter): Promise<Invoice[]> {
  const q = db('invoices as i')
    .join('subscribers as s', 's.id', 'i.subscriber_id')
    .select(INVOICE_COLUMNS)
    .orderBy([{ column: 'i.issue_date', order: 'desc' }, { column: 'i.id', order: 'desc' }])
    .limit(filter.limit ?? 100);
  if (filter.subscriberId !== undefined) q.where('i.subscriber_id', filter.subscriberId);
  if (filter.statuses?.length) q.whereRaw(`${STATUS_ON} = any(?::text[])`, [filter.today, `{${filter.statuses.join(',')}}`]);
  if (filter.periodKey) q.where('i.period_key', filter.periodKey);
  if (filter.overdue) q.whereRaw(`${STATUS_ON} = 'overdue'`, [filter.today]);
  return ((await q) as InvoiceRow[]).map((r) => toInvoice(r, filter.today));
}

function invoiceNotFound(number: string) {
  return errors.invoiceNotFound(number);
}

/** Finds an invoice by its number (case-insensitive); with `today`, its status on that day, else the stored one. */
export async function findInvoice(db: Db, number: string, opts: { forUpdate?: boolean; today?: string } = {}): Promise<Invoice> {
  const n = String(number ?? '').trim();
  if (n === '') throw errors.missingInvoice(['ispctl invoice list shows recent invoices']);
  const q = db('invoices as i').join('subscribers as s', 's.id', 'i.subscriber_id').whereRaw('upper(i.number) = upper(?)', [n]).first(INVOICE_COLUMNS);
  if (opts.forUpdate) q.forUpdate('i');
  const row = (await q) as InvoiceRow | undefined;
  if (!row) throw invoiceNotFound(n);
  return toInvoice(row, opts.today);
}

interface SegmentJson {
  planId: number;
  planName: string;
  from: string;
  to: string;
  days: number;
  /** Decimal strings of minor units (bigints do not travel in JSON). */
  unitPriceMinor: string;
  amountMinor: string;
}

function toSegments(v: SegmentJson[] | string | null): InvoiceSegment[] | null {
  if (v === null) return null;
  const list = typeof v === 'string' ? (JSON.parse(v) as SegmentJson[]) : v;
  return list.map((s) => ({ planId: s.planId, planName: s.planName, from: s.from, to: s.to, days: s.days, unitPriceMinor: BigInt(s.unitPriceMinor), amountMinor: BigInt(s.amountMinor) }));
}

interface LineRow {
  id: bigint;
  service_id: number | null;
  username: string | null;
  plan_id: number | null;
  description: string;
  price_source: 'plan' | 'individual' | 'adjustment';
  unit_price_minor: bigint;
  days: number;
  period_days: number;
  amount_minor: bigint;
  discount_kind: 'fixed' | 'percent' | null;
  discount_value: bigint | null;
  discount_minor: bigint;
  total_minor: bigint;
  segments: SegmentJson[] | string | null;
  voided: boolean;
}

/** The one mapping of an invoice line row (with its service's username). */
function toLine(l: LineRow): InvoiceLine {
  return {
    id: Number(l.id),
    serviceId: l.service_id,
    username: l.username,
    planId: l.plan_id,
    description: l.description,
    priceSource: l.price_source,
    unitPriceMinor: l.unit_price_minor,
    days: l.days,
    periodDays: l.period_days,
    amountMinor: l.amount_minor,
    discountKind: l.discount_kind,
    discountValue: l.discount_value,
    discountMinor: l.discount_minor,
    totalMinor: l.total_minor,
    segments: toSegments(l.segments),
    voided: l.voided,
  };
}

interface InvoicePaymentRow {
  id: bigint;
  payment_id: bigint;
  amount_minor: bigint;
  reversed_at: Date | null;
  method: string;
  reference: string | null;
  received_at: Date;
}

interface ContactRow {
  account_no: string;
  full_name: string;
  email: string | null;
  phone: string | null;
  address: string | null;
}

/** One invoice with its lines and the payments that paid it; its status is the one on today's ISP date. */
export async function showInvoice(ctx: Pick<ServiceContext, 'db' | 'clock'>, number: string): Promise<InvoiceDetails> {
  const settings = await loadBillingSettings(ctx.db);
  const today = formatLocalDate(toLocalDate(ctx.clock.now(), settings.timezone));
  const inv = await findInvoice(ctx.db, number, { today });
  const sub = (await ctx.db('subscribers').where({ id: inv.subscriberId }).first('account_no', 'full_name', 'email', 'phone', 'address')) as ContactRow;
  const lines = (await ctx.db('invoice_lines as l')
    .leftJoin('services as v', 'v.id', 'l.service_id')
    .where('l.invoice_id', inv.id)
    // By service (billing writes a chunk's lines in no particular order), then the one-off
    // charges, each in the order they were added.
    .orderByRaw('l.service_id nulls last, l.id')
    .select('l.*', 'v.username')) as LineRow[];
  const pays = (await ctx.db('payment_allocations as a')
    .join('payments as p', 'p.id', 'a.payment_id')
    .where('a.invoice_id', inv.id)
    .orderBy('a.id')
    .select('a.id', 'a.payment_id', 'a.amount_minor', 'a.reversed_at', 'p.method', 'p.reference', 'p.received_at')) as InvoicePaymentRow[];
  return {
    ...inv,
    ispName: settings.ispName,
    subscriber: { accountNo: sub.account_no, fullName: sub.full_name, email: sub.email, phone: sub.phone, address: sub.address },
    lines: lines.map(toLine),
    payments: pays.map((p) => ({
      allocationId: Number(p.id),
      paymentId: Number(p.payment_id),
      amountMinor: p.amount_minor,
      method: p.method,
      reference: p.reference,
      receivedAt: p.received_at,
      reversedAt: p.reversed_at,
    })),
  };
}

export interface VoidInvoiceResult {
  invoice: Invoice;
  /** Allocations taken back: that money is credit again (and may have paid other invoices). */
  reversed: ReversedAllocation[];
  reversedMinor: bigint;
  /** Where the freed money went. */
  reallocated: NewAllocation[];
  collections: CollectionsOutcome;
}

export function validateReason(reason: string | undefined, what: string): string {
  return errors.checkReason(reason, `voiding the ${what}`, 'issued in error');
}

/**
 * Voids an invoice: conditioned on it not being void already; its lines are marked voided (so
 * the period can be billed again), its allocations reversed (the money is credit again, and
 * settles other open invoices), and collections re-evaluated (voiding may clear what was past
 * due). Audited.
 */
export async function voidInvoice(ctx: ServiceContext, number: string, opts: { reason: string }): Promise<VoidInvoiceResult> {
  const reason = validateReason(opts.reason, 'invoice');
  const settings = await loadBillingSettings(ctx.db);
  return withTransaction(ctx.db, async (trx) => {
    const inv = await findInvoice(trx, number, { forUpdate: true });
    if (inv.status === 'void') {
      throw errors.alreadyVoid('INVOICE_ALREADY_VOID', `Invoice ${inv.number}`, `ispctl invoice show ${inv.number}`, inv);
    }
    const now = ctx.clock.now();
    const today = formatLocalDate(toLocalDate(now, settings.timezone));
    const updated = await voidInvoices(trx, [inv.id], now, reason);
    if (updated.length === 0) throw errors.alreadyVoid('INVOICE_ALREADY_VOID', `Invoice ${inv.number}`, `ispctl invoice show ${inv.number}`);
    await trx('invoice_lines').where({ invoice_id: inv.id }).update({ voided: true });
    const reversed = await reverseAllocations(trx, { invoiceId: inv.id }, now);
    const settled = await rebalance(trx, ctx, { subscriberIds: [inv.subscriberId] }, { today });
    const collections = collectionsOutcome(settled);
    const reversedMinor = reversed.reduce((s, a) => s + a.amountMinor, 0n);
    await recordAudit(trx, ctx, {
      entityType: 'invoice',
      entityId: inv.number,
      action: 'void',
      before: { status: inv.status, totalMinor: inv.totalMinor, paidMinor: inv.paidMinor },
      after: { status: 'void', reason, reversedMinor, reallocated: settled.allocations.map((a) => ({ paymentId: a.paymentId, invoiceId: a.invoiceId, amountMinor: a.amountMinor })) },
    });
    const after = await findInvoice(trx, inv.number);
    return { invoice: after, reversed, reversedMinor, reallocated: settled.allocations, collections };
  });
}
