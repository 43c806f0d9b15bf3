// Invoices as people and scripts see them: list, show (a readable invoice), void.
import { recordAudit } from '../audit.js';
import type { ServiceContext } from '../context.js';
import { withTransaction, type Db } from '../db/tx.js';
import { conflict, invalid, notFound } from '../errors.js';
import { formatLocalDate, toLocalDate } from '../time.js';
import { collectionsOutcome, rebalance, type CollectionsOutcome } from '../ledger/rebalance.js';
import { reverseAllocations, type NewAllocation, type ReversedAllocation } from './ledger.js';
import { loadBillingSettings } from './settings.js';
import { big, dateString } from './sql.js';

export const INVOICE_STATUSES = ['draft', 'sent', 'partially_paid', 'paid', 'overdue', 'void'] as const;
export type InvoiceStatus = (typeof INVOICE_STATUSES)[number];

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
  serviceId: number;
  username: string;
  planId: number;
  description: string;
  priceSource: 'plan' | 'individual';
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
];

export function toInvoice(r: Record<string, unknown>): Invoice {
  const total = big(r.total_minor);
  const paid = big(r.paid_minor);
  const status = r.status as InvoiceStatus;
  return {
    id: Number(r.id),
    number: String(r.number),
    subscriberId: Number(r.subscriber_id),
    accountNo: String(r.account_no),
    subscriberName: String(r.full_name),
    periodKey: String(r.period_key),
    periodStart: dateString(r.period_start),
    periodEnd: dateString(r.period_end),
    issueDate: dateString(r.issue_date),
    dueDate: dateString(r.due_date),
    currency: String(r.currency),
    subtotalMinor: big(r.subtotal_minor),
    discountMinor: big(r.discount_minor),
    totalMinor: total,
    paidMinor: paid,
    balanceMinor: status === 'void' ? 0n : total - paid,
    status,
    voidedAt: (r.voided_at as Date | null) ?? null,
    voidReason: (r.void_reason as string | null) ?? null,
    createdAt: r.created_at as Date,
  };
}

export interface InvoiceFilter {
  subscriberId?: number;
  statuses?: InvoiceStatus[];
  periodKey?: string;
  /** Not fully paid and past the due date (whatever the stored status says yet). */
  overdueOn?: string;
  limit?: number;
}

/** Invoices, newest first. */
export async function listInvoices(db: Db, filter: InvoiceFilter = {}): Promise<Invoice[]> {
  const q = db('invoices as i')
    .join('subscribers as s', 's.id', 'i.subscriber_id')
    .select(INVOICE_COLUMNS)
    .orderBy([{ column: 'i.issue_date', order: 'desc' }, { column: 'i.id', order: 'desc' }])
    .limit(filter.limit ?? 100);
  if (filter.subscriberId !== undefined) q.where('i.subscriber_id', filter.subscriberId);
  if (filter.statuses?.length) q.whereIn('i.status', filter.statuses);
  if (filter.periodKey) q.where('i.period_key', filter.periodKey);
  if (filter.overdueOn) q.whereNotIn('i.status', ['void', 'draft', 'paid']).whereRaw('i.paid_minor < i.total_minor').where('i.due_date', '<', filter.overdueOn);
  return ((await q) as Array<Record<string, unknown>>).map(toInvoice);
}

function invoiceNotFound(number: string) {
  return notFound('INVOICE_NOT_FOUND', `There is no invoice numbered ${JSON.stringify(number)}.`, ['ispctl invoice list shows recent invoices']);
}

/** Finds an invoice by its number (case-insensitive). */
export async function findInvoice(db: Db, number: string, opts: { forUpdate?: boolean } = {}): Promise<Invoice> {
  const n = String(number ?? '').trim();
  if (n === '') throw invalid('MISSING_INVOICE', 'Name an invoice by its number, e.g. INV-2026-000123.');
  const q = db('invoices as i').join('subscribers as s', 's.id', 'i.subscriber_id').whereRaw('upper(i.number) = upper(?)', [n]).first(INVOICE_COLUMNS);
  if (opts.forUpdate) q.forUpdate('i');
  const row = await q;
  if (!row) throw invoiceNotFound(n);
  return toInvoice(row);
}

function toSegments(v: unknown): InvoiceSegment[] | null {
  if (v === null || v === undefined) return null;
  const list = (typeof v === 'string' ? JSON.parse(v) : v) as Array<Record<string, unknown>>;
  return list.map((s) => ({
    planId: Number(s.planId),
    planName: String(s.planName),
    from: String(s.from),
    to: String(s.to),
    days: Number(s.days),
    unitPriceMinor: big(s.unitPriceMinor),
    amountMinor: big(s.amountMinor),
  }));
}

/** One invoice with its lines and the payments that paid it. */
export async function showInvoice(ctx: Pick<ServiceContext, 'db'>, number: string): Promise<InvoiceDetails> {
  const inv = await findInvoice(ctx.db, number);
  const settings = await loadBillingSettings(ctx.db);
  const sub = await ctx.db('subscribers').where({ id: inv.subscriberId }).first('account_no', 'full_name', 'email', 'phone', 'address');
  const lines: Array<Record<string, unknown>> = await ctx.db('invoice_lines as l')
    .join('services as v', 'v.id', 'l.service_id')
    .where('l.invoice_id', inv.id)
    .orderBy('l.id')
    .select('l.*', 'v.username');
  const pays: Array<Record<string, unknown>> = await ctx.db('payment_allocations as a')
    .join('payments as p', 'p.id', 'a.payment_id')
    .where('a.invoice_id', inv.id)
    .orderBy('a.id')
    .select('a.id', 'a.payment_id', 'a.amount_minor', 'a.reversed_at', 'p.method', 'p.reference', 'p.received_at');
  return {
    ...inv,
    ispName: settings.ispName,
    subscriber: { accountNo: sub.account_no, fullName: sub.full_name, email: sub.email ?? null, phone: sub.phone ?? null, address: sub.address ?? null },
    lines: lines.map((l) => ({
      id: Number(l.id),
      serviceId: Number(l.service_id),
      username: String(l.username),
      planId: Number(l.plan_id),
      description: String(l.description),
      priceSource: l.price_source as 'plan' | 'individual',
      unitPriceMinor: big(l.unit_price_minor),
      days: Number(l.days),
      periodDays: Number(l.period_days),
      amountMinor: big(l.amount_minor),
      discountKind: (l.discount_kind as 'fixed' | 'percent' | null) ?? null,
      discountValue: l.discount_value === null ? null : big(l.discount_value),
      discountMinor: big(l.discount_minor),
      totalMinor: big(l.total_minor),
      segments: toSegments(l.segments),
      voided: Boolean(l.voided),
    })),
    payments: pays.map((p) => ({
      allocationId: Number(p.id),
      paymentId: Number(p.payment_id),
      amountMinor: big(p.amount_minor),
      method: String(p.method),
      reference: (p.reference as string | null) ?? null,
      receivedAt: p.received_at as Date,
      reversedAt: (p.reversed_at as Date | null) ?? null,
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
  const r = String(reason ?? '').trim();
  if (r === '') throw invalid('MISSING_REASON', `Give a reason for voiding the ${what}; it is kept with it and in the audit log.`, ['--reason "…"']);
  if (r.length > 500) throw invalid('INVALID_REASON', `The reason is ${r.length} characters long; the limit is 500.`);
  return r;
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
      throw conflict('INVOICE_ALREADY_VOID', `Invoice ${inv.number} was voided already${inv.voidedAt ? ` on ${inv.voidedAt.toISOString().slice(0, 10)}` : ''} (${inv.voidReason ?? 'no reason'}).`, [`ispctl invoice show ${inv.number}`]);
    }
    const now = ctx.clock.now();
    const today = formatLocalDate(toLocalDate(now, settings.timezone));
    const updated = await trx('invoices')
      .where({ id: inv.id })
      .whereNot('status', 'void')
      .update({ status: 'void', voided_at: now, void_reason: reason, paid_minor: 0, updated_at: now })
      .returning('id');
    if (updated.length === 0) throw conflict('INVOICE_ALREADY_VOID', `Invoice ${inv.number} was voided by someone else at the same time.`);
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
