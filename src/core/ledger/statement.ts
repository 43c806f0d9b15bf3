// A subscriber's statement: the history that explains their balance, with a running balance.
import type { Db } from '../db/tx.js';
import { dateString } from '../db/sql.js';
import { formatLocalDate, toLocalDate } from '../time.js';

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

/** How a payment is named to people: `P-12`. */
export function paymentRef(id: number): string {
  return `P-${id}`;
}

interface InvoiceRow {
  id: bigint;
  number: string;
  period_key: string;
  total_minor: bigint;
  created_at: Date;
  voided_at: Date | null;
  void_reason: string | null;
  due_date: string;
}

interface PaymentRow {
  id: bigint;
  amount_minor: bigint;
  method: string;
  reference: string | null;
  received_at: Date;
  voided_at: Date | null;
  void_reason: string | null;
}

interface AllocationRow {
  id: bigint;
  payment_id: bigint;
  invoice_id: bigint;
  amount_minor: bigint;
  created_at: Date;
  reversed_at: Date | null;
  number: string;
}

/**
 * The subscriber's history in time order: invoices issued (debit), payments received (credit),
 * what each payment paid (allocations, no effect on the balance), voids of invoices and payments,
 * with the running balance. Balance = invoices issued − payments received, over what is not void,
 * which equals owed − credit in the read model. `since` (ISP date) hides earlier entries behind
 * an opening balance.
 */
export async function subscriberStatement(db: Db, subscriberId: number, opts: { timezone: string; since?: string }): Promise<Statement> {
  const [invoices, payments, allocations] = (await Promise.all([
    db('invoices')
      .where({ subscriber_id: subscriberId })
      .select('id', 'number', 'period_key', 'total_minor', 'created_at', 'voided_at', 'void_reason', db.raw('due_date::text as due_date')),
    db('payments').where({ subscriber_id: subscriberId }).select('id', 'amount_minor', 'method', 'reference', 'received_at', 'voided_at', 'void_reason'),
    db('payment_allocations as a')
      .join('payments as p', 'p.id', 'a.payment_id')
      .join('invoices as i', 'i.id', 'a.invoice_id')
      .where('p.subscriber_id', subscriberId)
      .select('a.id', 'a.payment_id', 'a.invoice_id', 'a.amount_minor', 'a.created_at', 'a.reversed_at', 'i.number'),
  ])) as [InvoiceRow[], PaymentRow[], AllocationRow[]];
  type Raw = Omit<StatementEntry, 'balanceMinor' | 'date'>;
  const raw: Raw[] = [];
  for (const i of invoices) {
    const id = Number(i.id);
    raw.push({ at: i.created_at, kind: 'invoice', reference: i.number, description: `Invoice for ${i.period_key}, due ${dateString(i.due_date)}`, debitMinor: i.total_minor, creditMinor: 0n, invoiceId: id });
    if (i.voided_at) raw.push({ at: i.voided_at, kind: 'invoice_void', reference: i.number, description: `Invoice voided: ${i.void_reason ?? ''}`, debitMinor: 0n, creditMinor: i.total_minor, invoiceId: id });
  }
  for (const p of payments) {
    const id = Number(p.id);
    const ref = p.reference ? ` ${p.reference}` : '';
    raw.push({ at: p.received_at, kind: 'payment', reference: paymentRef(id), description: `Payment, ${p.method}${ref}`, debitMinor: 0n, creditMinor: p.amount_minor, paymentId: id });
    if (p.voided_at) raw.push({ at: p.voided_at, kind: 'payment_void', reference: paymentRef(id), description: `Payment voided: ${p.void_reason ?? ''}`, debitMinor: p.amount_minor, creditMinor: 0n, paymentId: id });
  }
  for (const a of allocations) {
    const base = { reference: paymentRef(Number(a.payment_id)), debitMinor: 0n, creditMinor: 0n, paymentId: Number(a.payment_id), invoiceId: Number(a.invoice_id) };
    raw.push({ ...base, at: a.created_at, kind: 'allocation', description: `Applied to ${a.number}`, amountMinor: a.amount_minor });
    if (a.reversed_at) raw.push({ ...base, at: a.reversed_at, kind: 'allocation_reversed', description: `Taken back from ${a.number}`, amountMinor: a.amount_minor });
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
