// How payments meet invoices. Allocations say how much of which payment went to which invoice;
// an invoice's paid amount and status, and a subscriber's credit, are computed from them, never
// incremented. These are the steps rebalance (rebalance.ts) runs; writers call rebalance, not
// these, except reverseAllocations, which is part of a void.
//
//   recomputeTotals()    an invoice's subtotal, discount and total from its lines
//   settle()             unallocated payment money to open invoices, oldest due first
//   recomputeInvoices()  paid_minor and status from the active allocations, in one UPDATE
//   voidInvoices()       any status but void → void
//   markInvoicesSent()   issued → sent, when a message delivered the invoice
//   reverseAllocations() when a payment or an invoice is voided
import type { Knex } from 'knex';
import type { Clock } from '../clock.js';
import type { Db } from '../db/tx.js';
import { big, chunks, idArray, rowsJson, rowsOf, subscriberScope, type BigValue, type SubscriberRange } from '../db/sql.js';
import { invoiceStatusSql, type InvoiceStatus } from './read-model.js';

export interface NewAllocation {
  paymentId: number;
  invoiceId: number;
  subscriberId: number;
  amountMinor: bigint;
}

export interface SettleResult {
  allocations: NewAllocation[];
  /** Invoices that received money. */
  invoiceIds: number[];
  subscriberIds: number[];
}

export interface SettleOptions {
  /** Allocate to this invoice before the others (payment record --invoice). */
  firstInvoiceId?: number;
  /** Also the subscribers with ids in (after, upTo] (a billing chunk), besides `subscriberIds`. */
  range?: SubscriberRange;
}

interface OpenPaymentRow {
  id: bigint;
  subscriber_id: number;
  left_minor: BigValue;
}

interface OpenInvoiceRow {
  id: bigint;
  subscriber_id: number;
  open_minor: BigValue;
}

/**
 * Pure: allocates payments (oldest first, as given) to open invoices (in the order given) of
 * one subscriber until one side runs out.
 */
export function allocate(subscriberId: number, payments: ReadonlyArray<{ id: number; leftMinor: bigint }>, invoices: ReadonlyArray<{ id: number; openMinor: bigint }>): NewAllocation[] {
  const pays = payments.map((p) => ({ id: p.id, left: p.leftMinor }));
  const invs = invoices.map((i) => ({ id: i.id, open: i.openMinor }));
  const out: NewAllocation[] = [];
  let pi = 0;
  let ii = 0;
  while (pi < pays.length && ii < invs.length) {
    const p = pays[pi]!;
    const inv = invs[ii]!;
    const amount = p.left < inv.open ? p.left : inv.open;
    if (amount > 0n) out.push({ paymentId: p.id, invoiceId: inv.id, subscriberId, amountMinor: amount });
    p.left -= amount;
    inv.open -= amount;
    if (p.left <= 0n) pi++;
    if (inv.open <= 0n) ii++;
  }
  return out;
}

function groupBySubscriber<T extends { subscriber_id: number }>(rows: readonly T[]): Map<number, T[]> {
  const m = new Map<number, T[]>();
  for (const r of rows) {
    const k = Number(r.subscriber_id);
    const list = m.get(k);
    if (list) list.push(r);
    else m.set(k, [r]);
  }
  return m;
}

/**
 * Allocates each subscriber's unallocated payment money (ledger_payments.unallocated_minor) to
 * their open invoices (ledger_invoices.open_minor), oldest due date first (then by id), until
 * one side runs out. Money left over stays as credit for later invoices. Payments are used
 * oldest received first.
 *
 * `subscriberIds` limits the work (undefined: every subscriber). Subscribers who have both
 * credit and an open invoice are found in one query and locked (FOR UPDATE, in id order) so two
 * settles of the same subscriber cannot allocate the same money twice; allocations are inserted
 * in batches. Does not recompute invoices: rebalance does that next.
 */
export async function settle(db: Db, ctx: { clock: Clock }, subscriberIds?: readonly number[], opts: SettleOptions = {}): Promise<SettleResult> {
  const none: SettleResult = { allocations: [], invoiceIds: [], subscriberIds: [] };
  if (subscriberIds !== undefined && subscriberIds.length === 0 && !opts.range) return none;
  const scope = subscriberIds === undefined ? undefined : subscriberScope('p.subscriber_id', subscriberIds, opts.range);
  const candidates = await rowsOf<{ subscriber_id: number }>(
    db,
    `select distinct p.subscriber_id
       from ledger_payments p
      where p.unallocated_minor > 0 ${scope ? `and ${scope.sql}` : ''}
        and exists (select 1 from ledger_invoices i where i.subscriber_id = p.subscriber_id and i.open_minor > 0)
      order by 1`,
    scope ? scope.bindings : [],
  );
  const ids = candidates.map((r) => Number(r.subscriber_id));
  if (ids.length === 0) return none;

  // Serialise with other settles of the same subscribers, then read the amounts afresh.
  await db.raw('select id from subscribers where id = any(?::int[]) order by id for update', [idArray(ids)]);
  const payments = await rowsOf<OpenPaymentRow>(
    db,
    `select p.id, p.subscriber_id, p.unallocated_minor as left_minor
       from ledger_payments p
      where p.subscriber_id = any(?::int[]) and p.unallocated_minor > 0
      order by p.subscriber_id, p.received_at, p.id`,
    [idArray(ids)],
  );
  const invoices = await rowsOf<OpenInvoiceRow>(
    db,
    `select i.id, i.subscriber_id, i.open_minor
       from ledger_invoices i
      where i.subscriber_id = any(?::int[]) and i.open_minor > 0
      order by i.subscriber_id, case when i.id = ? then 0 else 1 end, i.due_date, i.id`,
    [idArray(ids), opts.firstInvoiceId ?? -1],
  );

  const paysBy = groupBySubscriber(payments);
  const invsBy = groupBySubscriber(invoices);
  const allocations: NewAllocation[] = [];
  for (const sid of ids) {
    const pays = (paysBy.get(sid) ?? []).map((p) => ({ id: Number(p.id), leftMinor: big(p.left_minor) }));
    const invs = (invsBy.get(sid) ?? []).map((i) => ({ id: Number(i.id), openMinor: big(i.open_minor) }));
    allocations.push(...allocate(sid, pays, invs));
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

export interface RecomputeScope {
  invoiceIds?: readonly number[];
  subscriberIds?: readonly number[];
  /** The invoices the date turns overdue (see DATE_TURNS_OVERDUE) of every subscriber with an id in this range (a chunk of a collections run, without a list of its ids). */
  range?: SubscriberRange;
  /** Every invoice the date turns overdue (the daily pass). */
  all?: boolean;
}

export interface RecomputedInvoice {
  id: number;
  subscriberId: number;
  status: InvoiceStatus;
  paidMinor: bigint;
}

interface RecomputedRow {
  id: bigint;
  subscriber_id: number;
  status: InvoiceStatus;
  paid_minor: bigint;
}

/**
 * The invoices whose status the date alone changes: issued, sent or partially paid, and past
 * their due date (they become overdue). The daily pass (and a collections run's chunks) recompute
 * only these: every other status changes only with the invoice's allocations, and each writer of
 * allocations (a payment recorded or voided, credit settled, an invoice voided) recomputes the
 * invoices it touched, so years of paid and already overdue history are not summed again every
 * day. One placeholder: today.
 */
const DATE_TURNS_OVERDUE = `(i.status in ('issued', 'sent', 'partially_paid') and i.due_date < ?::date)`;

/**
 * The invoice state machine's one writer: sets each invoice's paid_minor to the sum of its
 * active allocations and its status from that and `today` (see invoiceStatusSql: void and draft
 * stay; paid, overdue, partially_paid, sent or issued). One UPDATE … FROM an aggregate, conditioned on
 * the row still not being void; rows already right are not written. Returns the invoices that
 * changed. With voidInvoices and markInvoicesSent, the only writers of an invoice's status
 * (test/unit/data-access.test.ts keeps it so).
 */
export async function recomputeInvoices(db: Db, scope: RecomputeScope, today: string): Promise<RecomputedInvoice[]> {
  const where: string[] = [];
  const params: Knex.RawBinding[] = [];
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
    if (scope.range) {
      // A chunk of the daily pass (a collections run): as for everyone below.
      parts.push(`(i.subscriber_id > ? and i.subscriber_id <= ? and ${DATE_TURNS_OVERDUE})`);
      params.push(scope.range.after, scope.range.upTo, today);
    }
    if (parts.length === 0) return [];
    where.push(`(${parts.join(' or ')})`);
  } else {
    where.push(DATE_TURNS_OVERDUE);
    params.push(today);
  }
  where.push(`i.status <> 'void'`);
  const rows = await rowsOf<RecomputedRow>(
    db,
    `update invoices t
        set paid_minor = x.paid, status = x.status, updated_at = now()
       from (
         select i.id, x.paid, ${invoiceStatusSql({ status: 'i.status', total: 'i.total_minor', paid: 'x.paid', due: 'i.due_date', sent: 'i.sent_at' })} as status
           from invoices i
           cross join lateral (select coalesce(sum(a.amount_minor), 0)::bigint as paid from payment_allocations a
                                where a.invoice_id = i.id and a.reversed_at is null) x
          where ${where.join(' and ')}
       ) x
      where t.id = x.id and t.status <> 'void' and (t.paid_minor <> x.paid or t.status <> x.status)
      returning t.id, t.subscriber_id, t.status, t.paid_minor`,
    [today, ...params], // today is the status expression's placeholder, before the scope's
  );
  return rows.map((r) => ({ id: Number(r.id), subscriberId: Number(r.subscriber_id), status: r.status, paidMinor: r.paid_minor }));
}

/**
 * The invoice state machine's transition to void, for every writer that voids (an invoice
 * voided, or one left without lines when its adjustment is voided): conditioned on the invoice
 * not being void already, paid set to nothing (the caller reverses the allocations). Returns the
 * ids voided now; one missing was voided by someone else first.
 */
export async function voidInvoices(db: Db, invoiceIds: readonly number[], now: Date, reason: string): Promise<number[]> {
  if (invoiceIds.length === 0) return [];
  const rows: Array<{ id: bigint }> = await db('invoices')
    .whereIn('id', [...invoiceIds])
    .whereNot('status', 'void')
    .update({ status: 'void', voided_at: now, void_reason: reason, paid_minor: 0, updated_at: now })
    .returning('id');
  return rows.map((r) => Number(r.id));
}

/**
 * The invoice state machine's transition issued → sent, when a message delivered the invoice:
 * records the first delivery (sent_at, once) and moves an invoice that is still `issued` to
 * `sent`; any other status (partially paid, paid, overdue, void) stays. Returns the ids that
 * moved to sent.
 */
export async function markInvoicesSent(db: Db, invoiceIds: readonly number[], now: Date): Promise<number[]> {
  if (invoiceIds.length === 0) return [];
  const rows = await rowsOf<{ id: BigValue; before: InvoiceStatus }>(
    db,
    `update invoices i
        set sent_at = ?::timestamptz, status = case when b.before = 'issued' then 'sent' else i.status end, updated_at = ?::timestamptz
       from (select id, status as before from invoices where id = any(?::bigint[]) and sent_at is null) b
      where i.id = b.id and i.sent_at is null
      returning i.id, b.before`,
    [now, now, idArray(invoiceIds)],
  );
  return rows.filter((r) => r.before === 'issued').map((r) => Number(r.id));
}

export interface ReversedAllocation {
  id: number;
  paymentId: number;
  invoiceId: number;
  amountMinor: bigint;
}

interface ReversedRow {
  id: bigint;
  payment_id: bigint;
  invoice_id: bigint;
  amount_minor: bigint;
}

/** Marks the active allocations of a payment or of an invoice reversed (conditioned on reversed_at is null). */
export async function reverseAllocations(db: Db, of: { paymentId: number } | { invoiceId: number }, now: Date): Promise<ReversedAllocation[]> {
  const column = 'paymentId' in of ? 'payment_id' : 'invoice_id';
  const target = 'paymentId' in of ? of.paymentId : of.invoiceId;
  const rows = await rowsOf<ReversedRow>(
    db,
    `update payment_allocations set reversed_at = ?::timestamptz
      where ${column} = ? and reversed_at is null
      returning id, payment_id, invoice_id, amount_minor`,
    [now, target],
  );
  return rows.map((r) => ({ id: Number(r.id), paymentId: Number(r.payment_id), invoiceId: Number(r.invoice_id), amountMinor: r.amount_minor }));
}
