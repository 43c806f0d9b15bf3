// The one read model of the ledger. What a subscriber owes, has paid and has in credit, and
// each invoice's paid amount, outstanding balance and status, are answered here and nowhere
// else: on top of the ledger_invoices and ledger_payments views (migration
// 20261202030000_ledger_views), adding what only the application knows, today's date in the
// ISP's time zone. Billing, payments, collections, messages, documents and the CLI read
// balances through these functions.
import type { Knex } from 'knex';
import type { Db } from '../db/tx.js';
import { big, chunks, dateString, idArray, rowsOf, type BigValue } from '../db/sql.js';

export const INVOICE_STATUSES = ['draft', 'issued', 'sent', 'partially_paid', 'paid', 'overdue', 'void'] as const;
export type InvoiceStatus = (typeof INVOICE_STATUSES)[number];

/**
 * An invoice's status on `today` (ISP date), from what is stored: void and draft stay; `paid`
 * when paid ≥ total; `overdue` when not fully paid and the due date is before today;
 * `partially_paid` when something but not all was paid; otherwise `sent` once a message carrying
 * it was delivered (sentAt), `issued` until then. The rebalance step stores this; readers apply
 * it again so a status is never stale between two rebalances.
 */
export function invoiceStatusOn(inv: { status: InvoiceStatus; totalMinor: bigint; paidMinor: bigint; dueDate: string; sentAt: Date | null }, today: string): InvoiceStatus {
  if (inv.status === 'void' || inv.status === 'draft') return inv.status;
  if (inv.paidMinor >= inv.totalMinor) return 'paid';
  if (inv.dueDate < today) return 'overdue';
  if (inv.paidMinor > 0n) return 'partially_paid';
  return inv.sentAt ? 'sent' : 'issued';
}

/**
 * invoiceStatusOn as a SQL expression over the given column expressions, with one `?::date`
 * placeholder for today.
 */
export function invoiceStatusSql(c: { status: string; total: string; paid: string; due: string; sent: string }): string {
  return `(case when ${c.status} in ('void', 'draft') then ${c.status}
               when ${c.paid} >= ${c.total} then 'paid'
               when ${c.due} < ?::date then 'overdue'
               when ${c.paid} > 0 then 'partially_paid'
               when ${c.sent} is not null then 'sent'
               else 'issued' end)`;
}

/** What is still owed on an invoice (0 for void and draft ones). */
export function outstandingOf(inv: { status: InvoiceStatus; totalMinor: bigint; paidMinor: bigint }): bigint {
  return inv.status === 'void' || inv.status === 'draft' ? 0n : inv.totalMinor - inv.paidMinor;
}

// ---- balances -------------------------------------------------------------------------------

export interface OpenInvoice {
  id: number;
  number: string;
  periodKey: string;
  issueDate: string;
  dueDate: string;
  status: InvoiceStatus;
  totalMinor: bigint;
  paidMinor: bigint;
  balanceMinor: bigint;
  overdue: boolean;
}

export interface Balance {
  subscriberId: number;
  /** Sum of what is still owed on issued, non-void invoices. */
  owedMinor: bigint;
  /** The part of owedMinor whose due date is before `today`. */
  overdueMinor: bigint;
  /** Payment money not allocated to any invoice. */
  creditMinor: bigint;
  /** owed − credit: positive means the subscriber owes, negative means credit (normally one of the two is zero). */
  netMinor: bigint;
  /** Earliest due date among open invoices. */
  oldestDueDate: string | null;
}

export interface BalanceDetails extends Balance {
  openInvoices: OpenInvoice[];
  /** The open invoice due first, on or after today if there is one, else the oldest overdue one. */
  nextDue: OpenInvoice | null;
}

interface OpenInvoiceRow {
  id: bigint;
  subscriber_id: number;
  number: string;
  period_key: string;
  issue_date: string;
  due_date: string;
  status: InvoiceStatus;
  total_minor: bigint;
  paid_minor: bigint;
  sent_at: Date | null;
}

function toOpenInvoice(r: OpenInvoiceRow, today: string): OpenInvoice {
  const stored = { status: r.status, totalMinor: r.total_minor, paidMinor: r.paid_minor, dueDate: dateString(r.due_date), sentAt: r.sent_at };
  return {
    id: Number(r.id),
    number: r.number,
    periodKey: r.period_key,
    issueDate: dateString(r.issue_date),
    dueDate: stored.dueDate,
    status: invoiceStatusOn(stored, today),
    totalMinor: r.total_minor,
    paidMinor: r.paid_minor,
    balanceMinor: outstandingOf(stored),
    overdue: stored.dueDate < today,
  };
}

/** Open invoices (something still owed) of these subscribers, oldest due first. */
export async function openInvoices(db: Db, subscriberIds: readonly number[], today: string): Promise<Map<number, OpenInvoice[]>> {
  const out = new Map<number, OpenInvoice[]>();
  if (subscriberIds.length === 0) return out;
  const rows = await rowsOf<OpenInvoiceRow>(
    db,
    `select i.id, i.subscriber_id, i.number, i.period_key, i.issue_date::text as issue_date, i.due_date::text as due_date, i.status, i.total_minor, i.paid_minor, i.sent_at
       from ledger_invoices i
      where i.subscriber_id = any(?::int[]) and i.open_minor > 0
      order by i.subscriber_id, i.due_date, i.id`,
    [idArray(subscriberIds)],
  );
  for (const r of rows) {
    const sid = Number(r.subscriber_id);
    const list = out.get(sid) ?? [];
    list.push(toOpenInvoice(r, today));
    out.set(sid, list);
  }
  return out;
}

/** One subscriber's balance with the open invoices that make it up. */
export async function subscriberBalance(db: Db, subscriberId: number, today: string): Promise<BalanceDetails> {
  const invoices = (await openInvoices(db, [subscriberId], today)).get(subscriberId) ?? [];
  const creditMinor = (await creditBySubscriber(db, [subscriberId])).get(subscriberId) ?? 0n;
  const owed = invoices.reduce((s, i) => s + i.balanceMinor, 0n);
  const overdue = invoices.filter((i) => i.overdue).reduce((s, i) => s + i.balanceMinor, 0n);
  return {
    subscriberId,
    owedMinor: owed,
    overdueMinor: overdue,
    creditMinor,
    netMinor: owed - creditMinor,
    oldestDueDate: invoices[0]?.dueDate ?? null,
    openInvoices: invoices,
    nextDue: invoices.find((i) => !i.overdue) ?? invoices[0] ?? null,
  };
}

interface CreditRow {
  subscriber_id: number;
  credit: BigValue;
}

/** Unallocated payment money per subscriber (only subscribers with some). `undefined`: everyone. */
export async function creditBySubscriber(db: Db, subscriberIds?: readonly number[]): Promise<Map<number, bigint>> {
  const out = new Map<number, bigint>();
  if (subscriberIds !== undefined && subscriberIds.length === 0) return out;
  const rows = await rowsOf<CreditRow>(
    db,
    `select p.subscriber_id, sum(p.unallocated_minor) as credit
       from ledger_payments p
      where p.unallocated_minor > 0 ${subscriberIds === undefined ? '' : 'and p.subscriber_id = any(?::int[])'}
      group by p.subscriber_id`,
    subscriberIds === undefined ? [] : [idArray(subscriberIds)],
  );
  for (const r of rows) out.set(Number(r.subscriber_id), big(r.credit));
  return out;
}

/**
 * Credit on account across all subscribers: money received (not voided) less money allocated.
 * Voiding a payment reverses its allocations and allocations never exceed their payment, so
 * this equals the sum of ledger_payments.unallocated_minor, in two scans and no join.
 */
export async function totalCredit(db: Db): Promise<bigint> {
  const [row] = await rowsOf<{ credit: string }>(
    db,
    `select (select coalesce(sum(amount_minor), 0) from payments where voided_at is null)
          - (select coalesce(sum(amount_minor), 0) from payment_allocations where reversed_at is null) as credit`,
  );
  return big(row?.credit);
}

interface OwedRow {
  subscriber_id: number;
  owed: BigValue;
  overdue: BigValue;
  oldest_due: string | null;
}

/**
 * Balances of many subscribers in two set-based queries: only subscribers with something owed
 * or some credit appear. `subscriberIds` undefined: every subscriber.
 */
export async function subscriberBalances(db: Db, opts: { subscriberIds?: readonly number[]; today: string }): Promise<Map<number, Balance>> {
  const out = new Map<number, Balance>();
  if (opts.subscriberIds !== undefined && opts.subscriberIds.length === 0) return out;
  const params: Knex.RawBinding[] = [opts.today];
  if (opts.subscriberIds !== undefined) params.push(idArray(opts.subscriberIds));
  const owed = await rowsOf<OwedRow>(
    db,
    `select i.subscriber_id, sum(i.open_minor) as owed,
            sum(case when i.due_date < ?::date then i.open_minor else 0 end) as overdue,
            min(i.due_date)::text as oldest_due
       from ledger_invoices i
      where i.open_minor > 0 ${opts.subscriberIds === undefined ? '' : 'and i.subscriber_id = any(?::int[])'}
      group by i.subscriber_id`,
    params,
  );
  const credit = await creditBySubscriber(db, opts.subscriberIds);
  const get = (sid: number): Balance => {
    let b = out.get(sid);
    if (!b) {
      b = { subscriberId: sid, owedMinor: 0n, overdueMinor: 0n, creditMinor: 0n, netMinor: 0n, oldestDueDate: null };
      out.set(sid, b);
    }
    return b;
  };
  for (const r of owed) {
    const b = get(Number(r.subscriber_id));
    b.owedMinor = big(r.owed);
    b.overdueMinor = big(r.overdue);
    b.oldestDueDate = r.oldest_due;
  }
  for (const [sid, c] of credit) get(sid).creditMinor = c;
  for (const b of out.values()) b.netMinor = b.owedMinor - b.creditMinor;
  return out;
}

interface DueRow {
  id: number;
  due: BigValue;
}

/** What each subscriber owes after credit, never below zero (the balance a message quotes). */
export async function amountDueBySubscriber(db: Db, subscriberIds: readonly number[]): Promise<Map<number, bigint>> {
  const out = new Map<number, bigint>();
  for (const chunk of chunks(subscriberIds, 10_000)) {
    const rows = await rowsOf<DueRow>(
      db,
      `with ids as (select unnest(?::int[]) as id),
            inv as (select i.subscriber_id, sum(i.open_minor) as open from ledger_invoices i join ids on ids.id = i.subscriber_id
                     where i.open_minor > 0 group by i.subscriber_id),
            cr as (select p.subscriber_id, sum(p.unallocated_minor) as credit from ledger_payments p join ids on ids.id = p.subscriber_id
                    where p.unallocated_minor > 0 group by p.subscriber_id)
       select ids.id, greatest(coalesce(inv.open, 0) - coalesce(cr.credit, 0), 0) as due
         from ids left join inv on inv.subscriber_id = ids.id left join cr on cr.subscriber_id = ids.id`,
      [idArray(chunk)],
    );
    for (const r of rows) out.set(Number(r.id), big(r.due));
  }
  return out;
}

export interface InvoiceState {
  id: number;
  number: string;
  subscriberId: number;
  status: InvoiceStatus;
  totalMinor: bigint;
  paidMinor: bigint;
  /** Still owed (0 for void and draft invoices). */
  balanceMinor: bigint;
}

interface InvoiceStateRow {
  id: bigint;
  number: string;
  subscriber_id: number;
  status: InvoiceStatus;
  due_date: string;
  total_minor: bigint;
  paid_minor: bigint;
  sent_at: Date | null;
}

/** Paid, outstanding and status on `today` of these invoices. */
export async function invoiceStates(db: Db, invoiceIds: readonly number[], today: string): Promise<Map<number, InvoiceState>> {
  const out = new Map<number, InvoiceState>();
  if (invoiceIds.length === 0) return out;
  const rows = await rowsOf<InvoiceStateRow>(
    db,
    `select i.id, i.number, i.subscriber_id, i.status, i.due_date::text as due_date, i.total_minor, i.paid_minor, i.sent_at
       from ledger_invoices i where i.id = any(?::bigint[])`,
    [idArray(invoiceIds)],
  );
  for (const r of rows) {
    const stored = { status: r.status, totalMinor: r.total_minor, paidMinor: r.paid_minor, dueDate: r.due_date, sentAt: r.sent_at };
    out.set(Number(r.id), { id: Number(r.id), number: r.number, subscriberId: r.subscriber_id, status: invoiceStatusOn(stored, today), totalMinor: r.total_minor, paidMinor: r.paid_minor, balanceMinor: outstandingOf(stored) });
  }
  return out;
}

// ---- money recorded ---------------------------------------------------------------------------

/**
 * Whether any money is on the books: an invoice, a payment or an adjustment, in any state (a
 * void one too: its amount was recorded in the currency of its day). Once there is, the
 * currency is fixed.
 */
export async function moneyRecorded(db: Db): Promise<boolean> {
  const [row] = await rowsOf<{ recorded: boolean }>(
    db,
    `select exists (select 1 from invoices) or exists (select 1 from payments) or exists (select 1 from adjustments) as recorded`,
  );
  return Boolean(row?.recorded);
}
