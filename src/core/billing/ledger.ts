// The ledger: how payments meet invoices. Allocations say how much of which payment went to which
// invoice; everything else (an invoice's paid amount and status, a subscriber's credit, what they
// owe) is computed from allocations, never incremented. Used by billing, payments and collections.
//
//   settle()            allocate unallocated payment money to open invoices, oldest due first
//   recomputeInvoices() paid_minor and status from the active allocations, in one UPDATE
//   reverseAllocations() when a payment or an invoice is voided
//   subscriberBalance(s)() what is owed, overdue, and the credit
//   subscriberStatement() the history that explains it, with a running balance
import type { Knex } from 'knex';
import type { Clock } from '../clock.js';
import type { Db } from '../db/tx.js';
import { formatLocalDate, toLocalDate } from '../time.js';
import { big, chunks, dateString, idArray, rowsJson } from './sql.js';

/** Active (not reversed) allocations to an invoice, as a lateral subquery on `i`. */
const INVOICE_PAID = `left join lateral (select sum(a.amount_minor) as s from payment_allocations a where a.invoice_id = i.id and a.reversed_at is null) ia on true`;
/** Active allocations of a payment, as a lateral subquery on `p`. */
const PAYMENT_USED = `left join lateral (select sum(a.amount_minor) as s from payment_allocations a where a.payment_id = p.id and a.reversed_at is null) pa on true`;

/** Invoice statuses that can receive money: issued and not void. */
export const OPEN_STATUSES = ['sent', 'partially_paid', 'overdue', 'paid'] as const;

export interface NewAllocation {
  paymentId: number;
  invoiceId: number;
  subscriberId: number;
  amountMinor: bigint;
}

export interface SettleResult {
  allocations: NewAllocation[];
  /** Invoices that received money: recompute them. */
  invoiceIds: number[];
  subscriberIds: number[];
}

export interface SettleOptions {
  /** Allocate to this invoice before the others (payment record --invoice). */
  firstInvoiceId?: number;
}

/**
 * Allocates each subscriber's unallocated payment money (payments not voided minus their active
 * allocations) to their open invoices, oldest due date first (then by id), until one side runs
 * out. Money left over stays as credit and is used by later invoices when settle runs again
 * (billing generate and payment record call it). Payments are used oldest received first.
 *
 * `subscriberIds` limits the work (undefined: every subscriber). Subscribers who have both
 * credit and an open invoice are found in one query and locked (FOR UPDATE, in id order) so two
 * settles of the same subscriber cannot allocate the same money twice; allocations are inserted
 * in batches. Does not recompute invoices: call {@link recomputeInvoices} for the returned ids.
 */
export async function settle(db: Db, ctx: { clock: Clock }, subscriberIds?: readonly number[], opts: SettleOptions = {}): Promise<SettleResult> {
  if (subscriberIds !== undefined && subscriberIds.length === 0) return { allocations: [], invoiceIds: [], subscriberIds: [] };
  const scope = subscriberIds === undefined ? '' : 'and p.subscriber_id = any(?::int[])';
  const candidates: Array<{ subscriber_id: number }> = (
    await db.raw(
      `select distinct p.subscriber_id
         from payments p ${PAYMENT_USED}
        where p.voided_at is null ${scope}
          and p.amount_minor > coalesce(pa.s, 0)
          and exists (
            select 1 from invoices i ${INVOICE_PAID}
             where i.subscriber_id = p.subscriber_id and i.status not in ('void', 'draft')
               and i.total_minor > coalesce(ia.s, 0))
        order by 1`,
      subscriberIds === undefined ? [] : [idArray(subscriberIds)],
    )
  ).rows;
  const ids = candidates.map((r) => Number(r.subscriber_id));
  if (ids.length === 0) return { allocations: [], invoiceIds: [], subscriberIds: [] };

  // Serialise with other settles of the same subscribers, then read the amounts afresh.
  await db.raw('select id from subscribers where id = any(?::int[]) order by id for update', [idArray(ids)]);
  const payments: Array<Record<string, unknown>> = (
    await db.raw(
      `select p.id, p.subscriber_id, p.amount_minor - coalesce(pa.s, 0) as left_minor
         from payments p ${PAYMENT_USED}
        where p.voided_at is null and p.subscriber_id = any(?::int[]) and p.amount_minor > coalesce(pa.s, 0)
        order by p.subscriber_id, p.received_at, p.id`,
      [idArray(ids)],
    )
  ).rows;
  const invoices: Array<Record<string, unknown>> = (
    await db.raw(
      `select i.id, i.subscriber_id, i.total_minor - coalesce(ia.s, 0) as open_minor
         from invoices i ${INVOICE_PAID}
        where i.status not in ('void', 'draft') and i.subscriber_id = any(?::int[]) and i.total_minor > coalesce(ia.s, 0)
        order by i.subscriber_id, case when i.id = ? then 0 else 1 end, i.due_date, i.id`,
      [idArray(ids), opts.firstInvoiceId ?? -1],
    )
  ).rows;

  const bySubscriber = <T extends Record<string, unknown>>(rows: T[]) => {
    const m = new Map<number, T[]>();
    for (const r of rows) {
      const k = Number(r.subscriber_id);
      const list = m.get(k);
      if (list) list.push(r);
      else m.set(k, [r]);
    }
    return m;
  };
  const paysBy = bySubscriber(payments);
  const invsBy = bySubscriber(invoices);
  const allocations: NewAllocation[] = [];
  for (const sid of ids) {
    const pays = (paysBy.get(sid) ?? []).map((p) => ({ id: Number(p.id), left: big(p.left_minor) }));
    const invs = (invsBy.get(sid) ?? []).map((i) => ({ id: Number(i.id), open: big(i.open_minor) }));
    let pi = 0;
    let ii = 0;
    while (pi < pays.length && ii < invs.length) {
      const p = pays[pi]!;
      const inv = invs[ii]!;
      const amount = p.left < inv.open ? p.left : inv.open;
      if (amount > 0n) allocations.push({ paymentId: p.id, invoiceId: inv.id, subscriberId: sid, amountMinor: amount });
      p.left -= amount;
      inv.open -= amount;
      if (p.left === 0n) pi++;
      if (inv.open === 0n) ii++;
    }
  }
  const now = ctx.clock.now();
  for (const batch of chunks(allocations, 20_000)) {
    await db.raw(
      `insert into payment_allocations (payment_id, invoice_id, amount_minor, created_at)
       select x.payment_id, x.invoice_id, x.amount_minor, ?::timestamptz
         from json_to_recordset(?::json) as x(payment_id bigint, invoice_id bigint, amount_minor bigint)`,
      [now, rowsJson(batch.map((a) => ({ payment_id: a.paymentId, invoice_id: a.invoiceId, amount_minor: a.amountMinor })))],
    );
  }
  return {
    allocations,
    invoiceIds: [...new Set(allocations.map((a) => a.invoiceId))],
    subscriberIds: [...new Set(allocations.map((a) => a.subscriberId))],
  };
}

export interface RecomputeScope {
  invoiceIds?: readonly number[];
  subscriberIds?: readonly number[];
  /** Every invoice that is not void (e.g. a daily run turning due invoices overdue). */
  all?: boolean;
}

export interface RecomputedInvoice {
  id: number;
  subscriberId: number;
  status: string;
  paidMinor: bigint;
}

/**
 * Sets each invoice's paid_minor to the sum of its active allocations and its status from that:
 * void stays void (and draft stays draft); `paid` when paid ≥ total; `overdue` when not fully paid
 * and `today` (ISP date) is after the due date; `partially_paid` when something but not all was
 * paid; `sent` otherwise. One UPDATE … FROM an aggregate; rows already right are not written.
 * Returns the invoices that changed.
 */
export async function recomputeInvoices(db: Db, scope: RecomputeScope, today: string): Promise<RecomputedInvoice[]> {
  const where: string[] = [];
  const params: Knex.RawBinding[] = [today];
  if (!scope.all) {
    const parts: string[] = [];
    if (scope.invoiceIds?.length) {
      parts.push('i.id = any(?::bigint[])');
      params.push(idArray(scope.invoiceIds));
    }
    if (scope.subscriberIds?.length) {
      parts.push('i.subscriber_id = any(?::int[])');
      params.push(idArray(scope.subscriberIds));
    }
    if (parts.length === 0) return [];
    where.push(`(${parts.join(' or ')})`);
  }
  // Everyone (the daily pass): a paid invoice only becomes unpaid when its allocations are
  // reversed, and the writer that reverses them rebalances its subscriber; skip the paid ones.
  where.push(scope.all ? `i.status not in ('void', 'paid')` : `i.status <> 'void'`);
  const rows: Array<Record<string, unknown>> = (
    await db.raw(
      `update invoices t
          set paid_minor = x.paid, status = x.status, updated_at = now()
         from (
           select i.id, coalesce(ia.s, 0) as paid,
                  case when i.status = 'draft' then 'draft'
                       when coalesce(ia.s, 0) >= i.total_minor then 'paid'
                       when i.due_date < ?::date then 'overdue'
                       when coalesce(ia.s, 0) > 0 then 'partially_paid'
                       else 'sent' end as status
             from invoices i ${INVOICE_PAID}
            where ${where.join(' and ')}
         ) x
        where t.id = x.id and (t.paid_minor <> x.paid or t.status <> x.status)
        returning t.id, t.subscriber_id, t.status, t.paid_minor`,
      params,
    )
  ).rows;
  return rows.map((r) => ({ id: Number(r.id), subscriberId: Number(r.subscriber_id), status: String(r.status), paidMinor: big(r.paid_minor) }));
}

/**
 * Sets subtotal, discount and total of these invoices from their lines (not voided) in one
 * UPDATE … FROM aggregate; rows already right are not written, invoices without lines are left
 * alone. Void invoices keep what they had.
 */
export async function recomputeTotals(db: Db, invoiceIds: readonly number[], now: Date): Promise<void> {
  if (invoiceIds.length === 0) return;
  await db.raw(
    `update invoices i
        set subtotal_minor = a.subtotal, discount_minor = a.discount, total_minor = a.total, updated_at = ?::timestamptz
       from (select l.invoice_id, sum(l.amount_minor) as subtotal, sum(l.discount_minor) as discount, sum(l.total_minor) as total
               from invoice_lines l
              where not l.voided and l.invoice_id = any(?::bigint[])
              group by l.invoice_id) a
      where i.id = a.invoice_id and i.status <> 'void'
        and (i.subtotal_minor, i.discount_minor, i.total_minor) is distinct from (a.subtotal::bigint, a.discount::bigint, a.total::bigint)`,
    [now, idArray(invoiceIds)],
  );
}

export interface ReversedAllocation {
  id: number;
  paymentId: number;
  invoiceId: number;
  amountMinor: bigint;
}

/** Marks the active allocations of a payment or of an invoice reversed (conditioned on reversed_at is null). */
export async function reverseAllocations(db: Db, of: { paymentId: number } | { invoiceId: number }, now: Date): Promise<ReversedAllocation[]> {
  const column = 'paymentId' in of ? 'payment_id' : 'invoice_id';
  const id = 'paymentId' in of ? of.paymentId : of.invoiceId;
  const rows: Array<Record<string, unknown>> = (
    await db.raw(
      `update payment_allocations set reversed_at = ?::timestamptz
        where ${column} = ? and reversed_at is null
        returning id, payment_id, invoice_id, amount_minor`,
      [now, id],
    )
  ).rows;
  return rows.map((r) => ({ id: Number(r.id), paymentId: Number(r.payment_id), invoiceId: Number(r.invoice_id), amountMinor: big(r.amount_minor) }));
}

// ---- balances -------------------------------------------------------------------------------

export interface OpenInvoice {
  id: number;
  number: string;
  periodKey: string;
  dueDate: string;
  status: string;
  totalMinor: bigint;
  paidMinor: bigint;
  balanceMinor: bigint;
  overdue: boolean;
}

export interface Balance {
  subscriberId: number;
  /** Sum of open invoice balances (total − active allocations) of issued, non-void invoices. */
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

/** One subscriber's balance with the open invoices that make it up. */
export async function subscriberBalance(db: Db, subscriberId: number, today: string): Promise<BalanceDetails> {
  const inv: Array<Record<string, unknown>> = (
    await db.raw(
      `select i.id, i.number, i.period_key, i.due_date::text as due_date, i.status, i.total_minor, coalesce(ia.s, 0) as paid
         from invoices i ${INVOICE_PAID}
        where i.subscriber_id = ? and i.status not in ('void', 'draft') and i.total_minor > coalesce(ia.s, 0)
        order by i.due_date, i.id`,
      [subscriberId],
    )
  ).rows;
  const [credit] = (
    await db.raw(
      `select coalesce(sum(p.amount_minor - coalesce(pa.s, 0)), 0) as credit
         from payments p ${PAYMENT_USED}
        where p.subscriber_id = ? and p.voided_at is null`,
      [subscriberId],
    )
  ).rows as Array<Record<string, unknown>>;
  const openInvoices: OpenInvoice[] = inv.map((r) => {
    const total = big(r.total_minor);
    const paid = big(r.paid);
    const dueDate = dateString(r.due_date);
    return {
      id: Number(r.id),
      number: String(r.number),
      periodKey: String(r.period_key),
      dueDate,
      status: String(r.status),
      totalMinor: total,
      paidMinor: paid,
      balanceMinor: total - paid,
      overdue: dueDate < today,
    };
  });
  const owed = openInvoices.reduce((s, i) => s + i.balanceMinor, 0n);
  const overdue = openInvoices.filter((i) => i.overdue).reduce((s, i) => s + i.balanceMinor, 0n);
  const creditMinor = big(credit?.credit);
  return {
    subscriberId,
    owedMinor: owed,
    overdueMinor: overdue,
    creditMinor,
    netMinor: owed - creditMinor,
    oldestDueDate: openInvoices[0]?.dueDate ?? null,
    openInvoices,
    nextDue: openInvoices.find((i) => !i.overdue) ?? openInvoices[0] ?? null,
  };
}

/**
 * Balances of many subscribers in two set-based queries (for collections): only subscribers
 * with something owed or some credit appear. `subscriberIds` undefined: every subscriber.
 */
export async function subscriberBalances(db: Db, opts: { subscriberIds?: readonly number[]; today: string }): Promise<Map<number, Balance>> {
  const out = new Map<number, Balance>();
  if (opts.subscriberIds !== undefined && opts.subscriberIds.length === 0) return out;
  const scopeI = opts.subscriberIds === undefined ? '' : 'and i.subscriber_id = any(?::int[])';
  const scopeP = opts.subscriberIds === undefined ? '' : 'and p.subscriber_id = any(?::int[])';
  const ids = opts.subscriberIds === undefined ? [] : [idArray(opts.subscriberIds)];
  const owed: Array<Record<string, unknown>> = (
    await db.raw(
      `select i.subscriber_id,
              sum(i.total_minor - coalesce(ia.s, 0)) as owed,
              sum(case when i.due_date < ?::date then i.total_minor - coalesce(ia.s, 0) else 0 end) as overdue,
              min(i.due_date)::text as oldest_due
         from invoices i ${INVOICE_PAID}
        where i.status not in ('void', 'draft') and i.total_minor > coalesce(ia.s, 0) ${scopeI}
        group by i.subscriber_id`,
      [opts.today, ...ids],
    )
  ).rows;
  const credit: Array<Record<string, unknown>> = (
    await db.raw(
      `select p.subscriber_id, sum(p.amount_minor - coalesce(pa.s, 0)) as credit
         from payments p ${PAYMENT_USED}
        where p.voided_at is null and p.amount_minor > coalesce(pa.s, 0) ${scopeP}
        group by p.subscriber_id`,
      ids,
    )
  ).rows;
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
    b.oldestDueDate = r.oldest_due === null ? null : dateString(r.oldest_due);
  }
  for (const r of credit) get(Number(r.subscriber_id)).creditMinor = big(r.credit);
  for (const b of out.values()) b.netMinor = b.owedMinor - b.creditMinor;
  return out;
}

// ---- statement ------------------------------------------------------------------------------

export type StatementKind = 'invoice' | 'invoice_void' | 'payment' | 'payment_void' | 'allocation' | 'allocation_reversed';

export interface StatementEntry {
  at: Date;
  /** ISP date of `at`. */
  date: string;
  kind: StatementKind;
  /** Invoice number or payment id (`P-12`). */
  reference: string;
  description: string;
  /** What the subscriber was charged (invoices issued, payments voided). */
  debitMinor: bigint;
  /** What reduced the balance (payments, invoices voided). */
  creditMinor: bigint;
  /** Running balance after this entry: positive owes, negative credit. Allocations do not change it. */
  balanceMinor: bigint;
  /** Allocations: how much of the payment went to (or came back from) the invoice. */
  amountMinor?: bigint;
  invoiceId?: number;
  paymentId?: number;
}

export interface Statement {
  subscriberId: number;
  since: string | null;
  /** Balance before the first entry shown. */
  openingBalanceMinor: bigint;
  closingBalanceMinor: bigint;
  entries: StatementEntry[];
}

const KIND_ORDER: Record<StatementKind, number> = { invoice: 0, payment: 1, allocation: 2, invoice_void: 3, payment_void: 4, allocation_reversed: 5 };

export function paymentRef(id: number): string {
  return `P-${id}`;
}

/**
 * The subscriber's history in time order: invoices issued (debit), payments received (credit),
 * what each payment paid (allocations, no effect on the balance), voids of invoices and payments,
 * with the running balance. Balance = invoices issued − payments received, over what is not void,
 * which equals owed − credit. `since` (ISP date) hides earlier entries behind an opening balance.
 */
export async function subscriberStatement(db: Db, subscriberId: number, opts: { timezone: string; since?: string }): Promise<Statement> {
  const [invoices, payments, allocations] = await Promise.all([
    db('invoices')
      .where({ subscriber_id: subscriberId })
      .select('id', 'number', 'period_key', 'total_minor', 'created_at', 'voided_at', 'void_reason', db.raw('due_date::text as due_date')),
    db('payments').where({ subscriber_id: subscriberId }).select('id', 'amount_minor', 'method', 'reference', 'received_at', 'voided_at', 'void_reason'),
    db('payment_allocations as a')
      .join('payments as p', 'p.id', 'a.payment_id')
      .join('invoices as i', 'i.id', 'a.invoice_id')
      .where('p.subscriber_id', subscriberId)
      .select('a.id', 'a.payment_id', 'a.invoice_id', 'a.amount_minor', 'a.created_at', 'a.reversed_at', 'i.number'),
  ]);
  type Raw = Omit<StatementEntry, 'balanceMinor' | 'date'>;
  const raw: Raw[] = [];
  for (const i of invoices as Array<Record<string, unknown>>) {
    const id = Number(i.id);
    const total = big(i.total_minor);
    raw.push({ at: i.created_at as Date, kind: 'invoice', reference: String(i.number), description: `Invoice for ${i.period_key}, due ${dateString(i.due_date)}`, debitMinor: total, creditMinor: 0n, invoiceId: id });
    if (i.voided_at) raw.push({ at: i.voided_at as Date, kind: 'invoice_void', reference: String(i.number), description: `Invoice voided: ${String(i.void_reason ?? '')}`, debitMinor: 0n, creditMinor: total, invoiceId: id });
  }
  for (const p of payments as Array<Record<string, unknown>>) {
    const id = Number(p.id);
    const amount = big(p.amount_minor);
    const ref = p.reference ? ` ${String(p.reference)}` : '';
    raw.push({ at: p.received_at as Date, kind: 'payment', reference: paymentRef(id), description: `Payment, ${String(p.method)}${ref}`, debitMinor: 0n, creditMinor: amount, paymentId: id });
    if (p.voided_at) raw.push({ at: p.voided_at as Date, kind: 'payment_void', reference: paymentRef(id), description: `Payment voided: ${String(p.void_reason ?? '')}`, debitMinor: amount, creditMinor: 0n, paymentId: id });
  }
  for (const a of allocations as Array<Record<string, unknown>>) {
    const base = { reference: paymentRef(Number(a.payment_id)), debitMinor: 0n, creditMinor: 0n, paymentId: Number(a.payment_id), invoiceId: Number(a.invoice_id) };
    const amount = big(a.amount_minor);
    raw.push({ ...base, at: a.created_at as Date, kind: 'allocation', description: `Applied to ${String(a.number)}`, amountMinor: amount });
    if (a.reversed_at) raw.push({ ...base, at: a.reversed_at as Date, kind: 'allocation_reversed', description: `Taken back from ${String(a.number)}`, amountMinor: amount });
  }
  raw.sort((x, y) => x.at.getTime() - y.at.getTime() || KIND_ORDER[x.kind] - KIND_ORDER[y.kind] || (x.invoiceId ?? x.paymentId ?? 0) - (y.invoiceId ?? y.paymentId ?? 0));
  let balance = 0n;
  let opening = 0n;
  const entries: StatementEntry[] = [];
  for (const r of raw) {
    balance += r.debitMinor - r.creditMinor;
    const date = formatLocalDate(toLocalDate(r.at, opts.timezone));
    if (opts.since && date < opts.since) {
      opening = balance;
      continue;
    }
    entries.push({ ...r, date, balanceMinor: balance });
  }
  return { subscriberId, since: opts.since ?? null, openingBalanceMinor: opening, closingBalanceMinor: balance, entries };
}
