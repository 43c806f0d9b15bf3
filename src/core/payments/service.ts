// Payments: money received from a subscriber. Recording one inserts the payment (one per method
// and reference: a retried script or payment notification cannot pay twice), allocates it to the
// oldest open invoices (what is left is credit), recomputes the invoices from their allocations,
// lets collections restore a subscriber whose past-due balance is cleared and queues the receipt:
// all in one transaction.
import { errors } from '../error-catalogue.js';
import type { Knex } from 'knex';
import { recordAudit } from '../audit.js';
import { findInvoice, validateReason, type Invoice } from '../billing/invoices.js';
import { reverseAllocations, type NewAllocation, type ReversedAllocation } from '../ledger/allocate.js';
import { invoiceStates, subscriberBalance, type BalanceDetails, type InvoiceStatus } from '../ledger/read-model.js';
import { paymentRef } from '../ledger/statement.js';
import { billingSettingsFrom, loadBillingSettings } from '../billing/settings.js';
import { evaluateGivenFrom } from '../collections/evaluate.js';
import { storedSettings } from '../settings/service.js';
import { resolveSubscriberRef, type SubscriberRef } from '../billing/subscribers.js';
import type { ServiceContext } from '../context.js';
import { withTransaction, type Db } from '../db/tx.js';
import { collectionsOutcome, rebalance, type CollectionsOutcome } from '../ledger/rebalance.js';
import { conflict, invalid } from '../errors.js';
import { formatMoney, parseMoney } from '../money.js';
import { queueReceipt } from '../notify/receipt.js';
import { formatLocalDate, formatLocalDateTime, parseDateTime, toLocalDate } from '../time.js';
import { rowsOf } from '../db/sql.js';

export const PAYMENT_METHODS = ['cash', 'gcash', 'bank', 'card', 'other'] as const;
export type PaymentMethod = (typeof PAYMENT_METHODS)[number];

export interface Payment {
  id: number;
  /** `P-12`, as statements show it. */
  ref: string;
  subscriberId: number;
  accountNo: string;
  subscriberName: string;
  amountMinor: bigint;
  currency: string;
  method: PaymentMethod;
  reference: string | null;
  receivedAt: Date;
  recordedAt: Date;
  notes: string | null;
  voidedAt: Date | null;
  voidReason: string | null;
  /** Active allocations: how much of it paid invoices. */
  allocatedMinor: bigint;
  /** What is left as credit (0 for a void payment). */
  unallocatedMinor: bigint;
}

/** A payment with its subscriber and what its allocations used (the ledger_payments view). */
const PAYMENT_SELECT = `
  select p.id, p.subscriber_id, s.account_no, s.full_name, p.amount_minor, p.currency, p.method, p.reference,
         p.received_at, p.recorded_at, p.notes, p.voided_at, p.void_reason, lp.allocated_minor, lp.unallocated_minor
    from payments p
    join ledger_payments lp on lp.id = p.id
    join subscribers s on s.id = p.subscriber_id`;

interface PaymentRow {
  id: bigint;
  subscriber_id: number;
  account_no: string;
  full_name: string;
  amount_minor: bigint;
  currency: string;
  method: PaymentMethod;
  reference: string | null;
  received_at: Date;
  recorded_at: Date;
  notes: string | null;
  voided_at: Date | null;
  void_reason: string | null;
  allocated_minor: bigint;
  unallocated_minor: bigint;
}

/** The one mapping of a payment row. */
function toPayment(r: PaymentRow): Payment {
  return {
    id: Number(r.id),
    ref: paymentRef(Number(r.id)),
    subscriberId: r.subscriber_id,
    accountNo: r.account_no,
    subscriberName: r.full_name,
    amountMinor: r.amount_minor,
    currency: r.currency,
    method: r.method,
    reference: r.reference,
    receivedAt: r.received_at,
    recordedAt: r.recorded_at,
    notes: r.notes,
    voidedAt: r.voided_at,
    voidReason: r.void_reason,
    allocatedMinor: r.allocated_minor,
    unallocatedMinor: r.unallocated_minor,
  };
}

async function paymentById(db: Db, id: number): Promise<Payment | undefined> {
  const rows = await rowsOf<PaymentRow>(db, `${PAYMENT_SELECT} where p.id = ?`, [id]);
  return rows[0] ? toPayment(rows[0]) : undefined;
}

/** Reads `12` or `P-12`. */
export function parsePaymentId(input: string | number): number {
  const m = /^\s*(?:P-?)?(\d{1,15})\s*$/i.exec(String(input));
  if (!m || Number(m[1]) < 1) throw invalid('INVALID_PAYMENT_ID', `${JSON.stringify(String(input))} is not a payment id; payments are numbered 12 or P-12.`, ['ispctl payment list']);
  return Number(m[1]);
}

export function parseMethod(input: string): PaymentMethod {
  const m = String(input ?? '').trim().toLowerCase();
  if (!(PAYMENT_METHODS as readonly string[]).includes(m)) {
    throw errors.paymentMethod(input, PAYMENT_METHODS);
  }
  return m as PaymentMethod;
}

function parseReference(input: string | undefined): string | null {
  if (input === undefined) return null;
  const r = errors.checkText('INVALID_REFERENCE', 'reference', input, 200);
  return r === '' ? null : r;
}

function parseIdempotencyKey(input: string | undefined): string | null {
  if (input === undefined) return null;
  const k = errors.checkText('INVALID_IDEMPOTENCY_KEY', 'idempotency key', input, 200);
  return k === '' ? null : k;
}

/**
 * When money came in, as typed (parseDateTime, on the ISP's clock): `2026-12-01` is the start of
 * that day, `2026-12-01 09:00` that time on the ISP's wall clock, a time with `Z` or an offset
 * that instant. A moment still to come is refused in the words it was typed in.
 */
export function parseReceivedAt(input: string, timezone: string, now: Date): Date {
  const s = input.trim();
  const { at, form } = parseDateTime(s, timezone, 'received at');
  if (at.getTime() > now.getTime() + 5 * 60_000) {
    // Said as it was typed and in the ISP's time zone, never as a UTC instant the user never wrote.
    const nowThere = formatLocalDateTime(now, timezone);
    const what =
      form === 'date'
        ? `on ${s}: that day has not begun yet in ${timezone} (today there is ${formatLocalDate(toLocalDate(now, timezone))})`
        : form === 'local'
          ? `at ${s} in ${timezone}: that is still to come (it is ${nowThere} there now)`
          : `at ${s} (${formatLocalDateTime(at, timezone)} in ${timezone}): that is still to come (it is ${nowThere} there now)`;
    throw invalid('RECEIVED_IN_FUTURE', `The payment cannot have been received ${what}.`, ['Leave out --received-at for now, or give the date the money came in'], {
      input: s,
      timezone,
    });
  }
  return at;
}

export interface RecordPaymentInput {
  /** Account number or PPPoE username. */
  subscriber?: string;
  /** An invoice number: names the subscriber and is paid first. */
  invoice?: string;
  /** As people type it, in the ISP currency: `1500`, `1,500.00`, `₱1,500.00`. */
  amount: string;
  method: string;
  reference?: string;
  /** `YYYY-MM-DD`, `YYYY-MM-DD HH:MM` on the ISP's clock, or a timestamp with an offset (default now). */
  receivedAt?: string;
  notes?: string;
  /**
   * A key a script chooses per payment (e.g. its own row id): recording the same key again is
   * refused as a duplicate, so a retried script cannot pay twice even without a reference.
   */
  idempotencyKey?: string;
  /** Where the payment came from (default manual: a person typed it). */
  source?: 'manual' | 'webhook' | 'import';
  /** A payment gateway's name and its transaction id: unique together (webhooks). */
  gateway?: string;
  externalId?: string;
}

export interface AppliedAllocation {
  invoiceId: number;
  number: string;
  amountMinor: bigint;
  /** Status of the invoice after the payment. */
  status: InvoiceStatus;
  balanceMinor: bigint;
}

export interface RecordPaymentResult {
  payment: Payment;
  subscriber: SubscriberRef;
  allocations: AppliedAllocation[];
  /** The part of the payment left as credit. */
  creditMinor: bigint;
  balance: BalanceDetails;
  collections: CollectionsOutcome;
  receipt: { eventKey: string; queued: number } | null;
  /** When the money came in on the ISP's wall clock (`2026-12-01 09:00`) and that clock's zone. */
  received: { local: string; timezone: string };
}

function describeExisting(p: Payment): string {
  const when = p.recordedAt.toISOString().slice(0, 10);
  return `payment ${p.ref} of ${formatMoney(p.amountMinor, p.currency)} for ${p.accountNo} ${p.subscriberName}, recorded ${when}${p.voidedAt ? ' (voided)' : ''}`;
}

/** A payment's values as recordPayment reads them (checkPaymentInput). */
export interface CheckedPayment {
  amount: bigint;
  method: PaymentMethod;
  reference: string | null;
  idempotencyKey: string | null;
  receivedAt: Date;
  notes: string | null;
}

/**
 * Reads and checks a payment's values, in the ISP's currency and on its clock, without a
 * database: `payment record` runs it on its flags before the database is opened (bad input
 * changes nothing, not even the schema), and recordPayment on what it is given.
 * @throws IspctlError MISSING_FLAGS, INVALID_AMOUNT, INVALID_METHOD, MISSING_REFERENCE, INVALID_DATE, RECEIVED_IN_FUTURE, ...
 */
export function checkPaymentInput(input: RecordPaymentInput, isp: { currency: string; timezone: string }, now: Date): CheckedPayment {
  if (!input.subscriber && !input.invoice) {
    throw errors.missingFlags('Say who paid: --subscriber (account number or username) or --invoice (invoice number).', ['--subscriber S-000123', '--invoice INV-2026-000123']);
  }
  const amount = parseMoney(input.amount, isp.currency, { allowZero: false, field: 'amount' });
  const method = parseMethod(input.method);
  const reference = parseReference(input.reference);
  // Money that arrives by GCash, bank or card has a transaction reference; without it (or a key
  // of the script's own) a retried script would record it twice. Cash may go without.
  if (method !== 'cash' && reference === null && !input.idempotencyKey?.trim() && !(input.gateway && input.externalId)) {
    throw invalid('MISSING_REFERENCE', `A ${method} payment needs --reference (the ${method === 'gcash' ? 'GCash reference number' : 'transaction reference'}) or --idempotency-key, so that recording it again by mistake or from a retried script is refused instead of paying twice.`, [
      `--reference 7012345678901`,
      '--idempotency-key <a key unique to this payment, e.g. your script\'s row id>',
    ]);
  }
  return {
    amount,
    method,
    reference,
    idempotencyKey: parseIdempotencyKey(input.idempotencyKey),
    receivedAt: input.receivedAt ? parseReceivedAt(input.receivedAt, isp.timezone, now) : now,
    notes: input.notes?.trim() ? input.notes.trim().slice(0, 2000) : null,
  };
}

/**
 * Records a payment. One transaction: insert (a duplicate method + reference is refused with
 * DUPLICATE_PAYMENT, exit 5, naming the existing payment, and nothing changes), allocate (the
 * named invoice first, then the oldest open invoices), recompute, collections, receipt, audit.
 * The returned collections.jobIds are router work to run at once.
 */
export async function recordPayment(ctx: ServiceContext, input: RecordPaymentInput): Promise<RecordPaymentResult> {
  // The settings table read once: billing's, and what collections and the receipt read of it.
  const stored = await storedSettings(ctx.db);
  const settings = billingSettingsFrom(stored);
  const now = ctx.clock.now();
  const { amount, method, reference, idempotencyKey, receivedAt, notes } = checkPaymentInput(input, settings, now);
  const today = formatLocalDate(toLocalDate(now, settings.timezone));

  return withTransaction(ctx.db, async (trx) => {
    let invoice: Invoice | undefined;
    if (input.invoice) {
      invoice = await findInvoice(trx, input.invoice);
      if (invoice.status === 'void') throw errors.invoiceVoid(invoice.number, 'paid');
    }
    let subscriber: SubscriberRef;
    if (input.subscriber) {
      subscriber = await resolveSubscriberRef(trx, input.subscriber, { forUpdate: true });
      if (invoice && invoice.subscriberId !== subscriber.id) {
        throw invalid('INVOICE_SUBSCRIBER_MISMATCH', `Invoice ${invoice.number} belongs to ${invoice.accountNo} ${invoice.subscriberName}, not to ${subscriber.accountNo} ${subscriber.fullName}.`, ['Give only --invoice, or the invoice of this subscriber']);
      }
    } else {
      subscriber = await resolveSubscriberRef(trx, invoice!.accountNo, { forUpdate: true });
    }

    const gateway = input.gateway && input.externalId ? { name: input.gateway, id: input.externalId } : null;
    // The payment already recorded under one of the keys that make a retry harmless, if any.
    const existingId = async (): Promise<number | undefined> => {
      const q = trx('payments').first('id').where((w) => {
        if (reference !== null) w.orWhere((x) => x.where({ method }).whereRaw('lower(reference) = lower(?)', [reference]));
        if (idempotencyKey !== null) w.orWhere({ idempotency_key: idempotencyKey });
        if (gateway) w.orWhere({ gateway: gateway.name, external_id: gateway.id });
      });
      const row = reference === null && idempotencyKey === null && !gateway ? undefined : await q;
      return row ? Number(row.id) : undefined;
    };
    const duplicate = async (id: number | undefined): Promise<never> => {
      const p = id ? await paymentById(trx, id) : undefined;
      const what = gateway && p?.reference === gateway.id ? `${gateway.name} transaction ${JSON.stringify(gateway.id)}` : idempotencyKey !== null && reference === null ? `idempotency key ${JSON.stringify(idempotencyKey)}` : `${method} payment with reference ${JSON.stringify(reference)}`;
      throw conflict(
        'DUPLICATE_PAYMENT',
        `A ${what} was recorded already${p ? `: ${describeExisting(p)}` : ''}. Nothing was changed.`,
        p ? [`ispctl payment show ${p.id}`] : [],
        p ? { existingPaymentId: p.id, existingSubscriber: p.accountNo, existingAmountMinor: p.amountMinor.toString() } : undefined,
      );
    };
    // The usual duplicate is found first; the unique keys catch one recorded at the same moment.
    const before = await existingId();
    if (before !== undefined) await duplicate(before);
    const inserted = await rowsOf<{ id: bigint }>(
      trx,
      `insert into payments (subscriber_id, amount_minor, currency, method, reference, received_at, recorded_at, notes, recorded_by, source, idempotency_key, gateway, external_id)
       values (?, ?, ?, ?, ?, ?::timestamptz, ?::timestamptz, ?, ?, ?, ?, ?, ?)
       on conflict do nothing
       returning id`,
      [subscriber.id, amount.toString(), settings.currency, method, reference, receivedAt, now, notes, ctx.actor.user, input.source ?? 'manual', idempotencyKey, gateway?.name ?? null, gateway?.id ?? null],
    );
    if (inserted.length === 0) await duplicate(await existingId());
    const paymentId = Number(inserted[0]!.id);

    const given = evaluateGivenFrom(stored);
    const settled = await rebalance(trx, ctx, { subscriberIds: [subscriber.id] }, { firstInvoiceId: invoice?.id, today, collections: { given } });
    const collections = collectionsOutcome(settled);
    const receipt = await queueReceipt(trx, ctx, { paymentId, config: given.notify });
    // Wakes running daemons (delivered on commit) so collections and notifications follow at once.
    await trx.raw(`select pg_notify('ispctl_payments', ?)`, [String(paymentId)]);

    const mine = settled.allocations.filter((a) => a.paymentId === paymentId);
    const balance = await subscriberBalance(trx, subscriber.id, today);
    const states = await invoiceStates(trx, mine.map((a) => a.invoiceId), today);
    const allocations: AppliedAllocation[] = mine.map((a) => {
      const st = states.get(a.invoiceId)!;
      return { invoiceId: a.invoiceId, number: st.number, amountMinor: a.amountMinor, status: st.status, balanceMinor: st.balanceMinor };
    });
    const payment = (await paymentById(trx, paymentId))!;
    await recordAudit(trx, ctx, {
      entityType: 'payment',
      entityId: paymentId,
      action: 'record',
      after: {
        subscriber: subscriber.accountNo,
        amountMinor: amount,
        currency: settings.currency,
        method,
        reference,
        receivedAt: receivedAt.toISOString(),
        allocations: allocations.map((a) => ({ invoice: a.number, amountMinor: a.amountMinor })),
        creditMinor: payment.unallocatedMinor,
        restored: collections.restored,
      },
    });
    return {
      payment,
      subscriber,
      allocations,
      creditMinor: payment.unallocatedMinor,
      balance,
      collections,
      receipt: receipt.queued || receipt.duplicates ? { eventKey: receipt.eventKey, queued: receipt.queued } : null,
      received: { local: formatLocalDateTime(receivedAt, settings.timezone), timezone: settings.timezone },
    };
  });
}

export interface PaymentFilter {
  subscriberId?: number;
  since?: Date;
  method?: PaymentMethod;
  includeVoided?: boolean;
  limit?: number;
}

/** Payments, newest received first. */
export async function listPayments(db: Db, filter: PaymentFilter = {}): Promise<Payment[]> {
  const where: string[] = [];
  const params: Knex.RawBinding[] = [];
  if (filter.subscriberId !== undefined) {
    where.push('p.subscriber_id = ?');
    params.push(filter.subscriberId);
  }
  if (filter.since) {
    where.push('p.received_at >= ?::timestamptz');
    params.push(filter.since);
  }
  if (filter.method) {
    where.push('p.method = ?');
    params.push(filter.method);
  }
  if (filter.includeVoided === false) where.push('p.voided_at is null');
  params.push(filter.limit ?? 100);
  const rows = await rowsOf<PaymentRow>(db, `${PAYMENT_SELECT} ${where.length ? `where ${where.join(' and ')}` : ''} order by p.received_at desc, p.id desc limit ?`, params);
  return rows.map(toPayment);
}

export interface PaymentAllocationView {
  id: number;
  invoiceId: number;
  number: string;
  periodKey: string;
  amountMinor: bigint;
  createdAt: Date;
  reversedAt: Date | null;
}

export interface PaymentDetails extends Payment {
  allocations: PaymentAllocationView[];
}

export async function showPayment(db: Db, id: number | string): Promise<PaymentDetails> {
  const pid = typeof id === 'number' ? id : parsePaymentId(id);
  const p = await paymentById(db, pid);
  if (!p) throw errors.paymentNotFound(pid);
  const rows = (await db('payment_allocations as a')
    .join('invoices as i', 'i.id', 'a.invoice_id')
    .where('a.payment_id', pid)
    .orderBy('a.id')
    .select('a.id', 'a.invoice_id', 'i.number', 'i.period_key', 'a.amount_minor', 'a.created_at', 'a.reversed_at')) as AllocationRow[];
  return {
    ...p,
    allocations: rows.map((r) => ({
      id: Number(r.id),
      invoiceId: Number(r.invoice_id),
      number: r.number,
      periodKey: r.period_key,
      amountMinor: r.amount_minor,
      createdAt: r.created_at,
      reversedAt: r.reversed_at,
    })),
  };
}

interface AllocationRow {
  id: bigint;
  invoice_id: bigint;
  number: string;
  period_key: string;
  amount_minor: bigint;
  created_at: Date;
  reversed_at: Date | null;
}

export interface VoidPaymentResult {
  payment: Payment;
  reversed: ReversedAllocation[];
  reversedMinor: bigint;
  /** Other credit that moved to the invoices this payment had paid. */
  reallocated: NewAllocation[];
  balance: BalanceDetails;
  collections: CollectionsOutcome;
}

/**
 * Voids a payment (conditioned on it not being void): its allocations are reversed, the invoices
 * recomputed (back to sent, partially paid or overdue), other credit settles them if there is
 * any, and collections re-evaluated, which may put the subscriber back into collections. Audited.
 */
export async function voidPayment(ctx: ServiceContext, id: number | string, opts: { reason: string }): Promise<VoidPaymentResult> {
  const pid = typeof id === 'number' ? id : parsePaymentId(id);
  const reason = validateReason(opts.reason, 'payment');
  const settings = await loadBillingSettings(ctx.db);
  return withTransaction(ctx.db, async (trx) => {
    const row = await trx('payments').where({ id: pid }).first('id', 'subscriber_id');
    if (!row) throw errors.paymentNotFound(pid);
    const subscriberId = Number(row.subscriber_id);
    await trx('subscribers').where({ id: subscriberId }).forUpdate().first('id');
    const before = (await paymentById(trx, pid))!;
    if (before.voidedAt) {
      throw errors.alreadyVoid('PAYMENT_ALREADY_VOID', `Payment ${before.ref}`, `ispctl payment show ${pid}`, before);
    }
    const now = ctx.clock.now();
    const today = formatLocalDate(toLocalDate(now, settings.timezone));
    const updated = await trx('payments').where({ id: pid }).whereNull('voided_at').update({ voided_at: now, void_reason: reason }).returning('id');
    if (updated.length === 0) throw errors.alreadyVoid('PAYMENT_ALREADY_VOID', `Payment ${before.ref}`, `ispctl payment show ${pid}`);
    const reversed = await reverseAllocations(trx, { paymentId: pid }, now);
    const settled = await rebalance(trx, ctx, { subscriberIds: [subscriberId] }, { today });
    const collections = collectionsOutcome(settled);
    const reversedMinor = reversed.reduce((s, a) => s + a.amountMinor, 0n);
    await recordAudit(trx, ctx, {
      entityType: 'payment',
      entityId: pid,
      action: 'void',
      before: { amountMinor: before.amountMinor, method: before.method, reference: before.reference, allocatedMinor: before.allocatedMinor },
      after: { voided: true, reason, reversedMinor, reallocated: settled.allocations.map((a) => ({ paymentId: a.paymentId, invoiceId: a.invoiceId, amountMinor: a.amountMinor })) },
    });
    return {
      payment: (await paymentById(trx, pid))!,
      reversed,
      reversedMinor,
      reallocated: settled.allocations,
      balance: await subscriberBalance(trx, subscriberId, today),
      collections,
    };
  });
}
