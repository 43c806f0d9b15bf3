// Adjustments: one-off charges (installation, equipment, late fee, reconnection fee) and credits
// (outage rebate, goodwill, credit memo), each with a reason, audited, and ending in the ledger's
// rebalance step like every money writer.
//
// - A charge waits for the subscriber's next period invoice (billing generate adds it as a
//   line), or with invoiceNow gets an invoice of its own at once (kind `adjustment`).
// - A credit becomes money on account at once: a payment of method `credit` (reference
//   ADJ-<id>), which rebalance allocates to the oldest open invoices like any payment; what is
//   left is used by the next invoices.
import type { Knex } from 'knex';
import { recordAudit } from '../audit.js';
import { loadBillingSettings } from '../billing/settings.js';
import { resolveSubscriberRef } from '../billing/subscribers.js';
import { drawNumbers, invoiceNumberFormatter } from '../billing/numbering.js';
import type { ServiceContext } from '../context.js';
import type { AdjustmentRow, SubscriberRow } from '../db/rows.js';
import { big, idArray, rowsOf } from '../db/sql.js';
import { withTransaction, type Db } from '../db/tx.js';
import { conflict, invalid, notFound } from '../errors.js';
import { voidInvoices } from '../ledger/allocate.js';
import { rebalance, collectionsOutcome, type CollectionsOutcome } from '../ledger/rebalance.js';
import { formatMoney, parseMoney } from '../money.js';
import { addDays, formatLocalDate, parseLocalDate, toLocalDate } from '../time.js';
import { errors } from '../error-catalogue.js';

export const CHARGE_TYPES = ['installation', 'equipment', 'late_fee', 'reconnection_fee', 'other_charge'] as const;
export const CREDIT_TYPES = ['outage_rebate', 'goodwill', 'credit_memo'] as const;
export const ADJUSTMENT_TYPES = [...CHARGE_TYPES, ...CREDIT_TYPES] as const;
export type AdjustmentType = (typeof ADJUSTMENT_TYPES)[number];
export type AdjustmentStatus = 'pending' | 'invoiced' | 'applied' | 'void';

export const TYPE_LABELS: Record<AdjustmentType, string> = {
  installation: 'Installation fee',
  equipment: 'Equipment',
  late_fee: 'Late payment fee',
  reconnection_fee: 'Reconnection fee',
  other_charge: 'Charge',
  outage_rebate: 'Outage rebate',
  goodwill: 'Goodwill credit',
  credit_memo: 'Credit memo',
};

export interface Adjustment {
  id: number;
  ref: string;
  subscriberId: number;
  accountNo: string;
  subscriberName: string;
  direction: 'charge' | 'credit';
  type: AdjustmentType;
  amountMinor: bigint;
  currency: string;
  reason: string;
  status: AdjustmentStatus;
  invoiceNumber: string | null;
  paymentId: number | null;
  createdBy: string;
  createdAt: Date;
  voidedAt: Date | null;
  voidReason: string | null;
}

const SELECT = `
  select a.*, s.account_no, s.full_name, i.number as invoice_number
    from adjustments a
    join subscribers s on s.id = a.subscriber_id
    left join invoices i on i.id = a.invoice_id`;

/** A row of SELECT: the adjustment with its subscriber's account number and name and its invoice's number. */
type AdjustmentViewRow = AdjustmentRow & Pick<SubscriberRow, 'account_no' | 'full_name'> & { invoice_number: string | null };

function toAdjustment(r: AdjustmentViewRow): Adjustment {
  return {
    id: Number(r.id),
    ref: `ADJ-${Number(r.id)}`,
    subscriberId: Number(r.subscriber_id),
    accountNo: r.account_no,
    subscriberName: r.full_name,
    direction: r.direction,
    type: r.type,
    amountMinor: big(r.amount_minor),
    currency: r.currency,
    reason: r.reason,
    status: r.status,
    invoiceNumber: r.invoice_number ?? null,
    paymentId: r.payment_id === null || r.payment_id === undefined ? null : Number(r.payment_id),
    createdBy: r.created_by,
    createdAt: r.created_at,
    voidedAt: r.voided_at ?? null,
    voidReason: r.void_reason ?? null,
  };
}

export function parseAdjustmentType(raw: string): AdjustmentType {
  const t = String(raw ?? '').trim().toLowerCase().replace(/-/g, '_');
  if (!(ADJUSTMENT_TYPES as readonly string[]).includes(t)) {
    throw invalid('INVALID_ADJUSTMENT_TYPE', `Adjustment type ${JSON.stringify(raw)} is not one of: charges ${CHARGE_TYPES.join(', ')}; credits ${CREDIT_TYPES.join(', ')}.`, ['--type installation', '--type outage_rebate']);
  }
  return t as AdjustmentType;
}

export function parseAdjustmentId(raw: string | number): number {
  const m = /^\s*(?:ADJ-?)?(\d{1,15})\s*$/i.exec(String(raw));
  if (!m || Number(m[1]) < 1) throw invalid('INVALID_ADJUSTMENT_ID', `${JSON.stringify(String(raw))} is not an adjustment id; adjustments are numbered 12 or ADJ-12.`, ['ispctl adjustment list']);
  return Number(m[1]);
}

function validateReason(raw: string | undefined): string {
  return errors.checkReason(raw, 'the adjustment (it is printed on the invoice)', 'Installation, 2026-12-02');
}

export interface AddAdjustmentInput {
  subscriber: string;
  type: string;
  amount: string;
  reason: string;
  /** Charges: invoice it now on an invoice of its own instead of the next period invoice. */
  invoiceNow?: boolean;
}

export interface AddAdjustmentResult {
  adjustment: Adjustment;
  /** Charges invoiced now: the new invoice's number. */
  invoiceNumber: string | null;
  collections: CollectionsOutcome;
}

async function adjustmentById(db: Db, id: number): Promise<Adjustment | undefined> {
  const rows = await rowsOf<AdjustmentViewRow>(db, `${SELECT} where a.id = ?`, [id]);
  return rows[0] ? toAdjustment(rows[0]) : undefined;
}

/** Inserts adjustment lines on invoices (one per adjustment) and marks the adjustments invoiced. Returns the invoices that got lines. */
async function billAdjustments(trx: Knex.Transaction, rows: Array<{ adjustmentId: number; invoiceId: number; periodKey: string }>, now: Date): Promise<number[]> {
  if (!rows.length) return [];
  const r = await rowsOf<{ invoice_id: unknown }>(
    trx,
    `with x as (select * from unnest(?::bigint[], ?::bigint[], ?::text[]) as x(adjustment_id, invoice_id, period_key)),
          upd as (update adjustments a set status = 'invoiced', invoice_id = x.invoice_id from x where a.id = x.adjustment_id and a.status = 'pending'
                  returning a.id, a.type, a.amount_minor, a.reason, x.invoice_id, x.period_key),
          ins as (insert into invoice_lines (invoice_id, service_id, period_key, plan_id, description, price_source, unit_price_minor, days, period_days, amount_minor, discount_minor, total_minor, adjustment_id, created_at)
                  select u.invoice_id, null, u.period_key, null, ${LABEL_SQL} || ': ' || u.reason, 'adjustment', u.amount_minor, 1, 1, u.amount_minor, 0, u.amount_minor, u.id, ?::timestamptz
                    from upd u
                  returning invoice_id)
     select distinct invoice_id from ins`,
    [idArray(rows.map((x) => x.adjustmentId)), idArray(rows.map((x) => x.invoiceId)), `{${rows.map((x) => `"${x.periodKey}"`).join(',')}}`, now],
  );
  return r.map((x) => Number(x.invoice_id));
}

const LABEL_SQL = `(case u.type ${Object.entries(TYPE_LABELS).map(([k, v]) => `when '${k}' then '${v.replace(/'/g, "''")}'`).join(' ')} else u.type end)`;

/**
 * Pending charges of the subscribers who have one of `invoiceIds` (period invoices just
 * generated) go onto that invoice (the latest period when there are two). Billing generate
 * calls it before its rebalance; returns the invoices whose lines changed.
 */
export async function attachPendingCharges(trx: Knex.Transaction, invoiceIds: readonly number[], now: Date): Promise<number[]> {
  if (!invoiceIds.length) return [];
  const rows = await rowsOf<{ adjustment_id: bigint; invoice_id: bigint; period_key: string }>(
      trx,
      `select a.id as adjustment_id, t.id as invoice_id, t.period_key
         from (select distinct on (i.subscriber_id) i.subscriber_id, i.id, i.period_key
                 from invoices i where i.id = any(?::bigint[]) and i.status not in ('void', 'draft') and i.kind = 'period'
                order by i.subscriber_id, i.period_key desc) t
         join adjustments a on a.subscriber_id = t.subscriber_id and a.status = 'pending' and a.direction = 'charge'
        order by a.id
        for update of a`,
      [idArray(invoiceIds)],
  );
  return billAdjustments(trx, rows.map((r) => ({ adjustmentId: Number(r.adjustment_id), invoiceId: Number(r.invoice_id), periodKey: r.period_key })), now);
}

export async function addAdjustment(ctx: ServiceContext, input: AddAdjustmentInput): Promise<AddAdjustmentResult> {
  const settings = await loadBillingSettings(ctx.db);
  const type = parseAdjustmentType(input.type);
  const direction = (CHARGE_TYPES as readonly string[]).includes(type) ? 'charge' : 'credit';
  const amount = parseMoney(input.amount, settings.currency, { allowZero: false, field: 'amount' });
  const reason = validateReason(input.reason);
  if (input.invoiceNow && direction === 'credit') throw errors.conflictingFlags('A credit is applied to the account at once; --invoice-now is for charges.', 'Leave out --invoice-now');
  const now = ctx.clock.now();
  const today = formatLocalDate(toLocalDate(now, settings.timezone));
  return withTransaction(ctx.db, async (trx) => {
    const sub = await resolveSubscriberRef(trx, input.subscriber, { forUpdate: true });
    const [row] = await rowsOf<{ id: unknown }>(
      trx,
      `insert into adjustments (subscriber_id, direction, type, amount_minor, currency, reason, status, created_by, created_at)
       values (?, ?, ?, ?, ?, ?, ?, ?, ?::timestamptz) returning id`,
      [sub.id, direction, type, amount.toString(), settings.currency, reason, direction === 'charge' ? 'pending' : 'applied', ctx.actor.user, now],
    );
    const id = Number(row!.id);
    let invoiceNumber: string | null = null;
    const linesChanged: number[] = [];
    if (direction === 'credit') {
      const [p] = await rowsOf<{ id: unknown }>(
        trx,
        `insert into payments (subscriber_id, amount_minor, currency, method, reference, received_at, recorded_at, notes, recorded_by, source)
         values (?, ?, ?, 'credit', ?, ?::timestamptz, ?::timestamptz, ?, ?, 'adjustment') returning id`,
        [sub.id, amount.toString(), settings.currency, `ADJ-${id}`, now, now, `${TYPE_LABELS[type]}: ${reason}`, ctx.actor.user],
      );
      await trx('adjustments').where({ id }).update({ payment_id: Number(p!.id) });
    } else if (input.invoiceNow) {
      const [seq] = await drawNumbers(trx, 1);
      invoiceNumber = invoiceNumberFormatter(settings.invoiceNumberFormat, today)(seq!);
      const due = formatLocalDate(addDays(parseLocalDate(today), settings.dueDays));
      const [inv] = await rowsOf<{ id: unknown }>(
        trx,
        `insert into invoices (number, subscriber_id, period_key, period_start, period_end, issue_date, due_date, currency, subtotal_minor, discount_minor, total_minor, status, kind, created_at, updated_at)
         values (?, ?, ?, ?::date, ?::date, ?::date, ?::date, ?, 0, 0, 0, 'issued', 'adjustment', ?::timestamptz, ?::timestamptz) returning id`,
        [invoiceNumber, sub.id, today.slice(0, 7), today, today, today, due, settings.currency, now, now],
      );
      linesChanged.push(...(await billAdjustments(trx, [{ adjustmentId: id, invoiceId: Number(inv!.id), periodKey: today.slice(0, 7) }], now)));
    }
    const balanced = await rebalance(trx, ctx, { subscriberIds: [sub.id] }, { linesChanged, today });
    const adjustment = (await adjustmentById(trx, id))!;
    await recordAudit(trx, ctx, {
      entityType: 'adjustment',
      entityId: adjustment.ref,
      action: 'create',
      after: { subscriber: sub.accountNo, direction, type, amountMinor: amount, reason, status: adjustment.status, invoice: invoiceNumber, paymentId: adjustment.paymentId },
    });
    return { adjustment, invoiceNumber, collections: collectionsOutcome(balanced) };
  });
}

export interface AdjustmentFilter {
  subscriber?: string;
  status?: AdjustmentStatus;
  limit?: number;
}

export async function listAdjustments(db: Db, filter: AdjustmentFilter = {}): Promise<Adjustment[]> {
  const where: string[] = [];
  const params: Knex.RawBinding[] = [];
  if (filter.subscriber) {
    const sub = await resolveSubscriberRef(db, filter.subscriber);
    where.push('a.subscriber_id = ?');
    params.push(sub.id);
  }
  if (filter.status) {
    where.push('a.status = ?');
    params.push(filter.status);
  }
  params.push(filter.limit ?? 100);
  const rows = await rowsOf<AdjustmentViewRow>(db, `${SELECT} ${where.length ? `where ${where.join(' and ')}` : ''} order by a.id desc limit ?`, params);
  return rows.map(toAdjustment);
}

export interface VoidAdjustmentResult {
  adjustment: Adjustment;
  collections: CollectionsOutcome;
}

/**
 * Voids an adjustment: a pending charge is simply dropped; an invoiced charge's line is voided
 * and its invoice's totals recomputed (an adjustment invoice with nothing left is voided); a
 * credit's money is taken back (its allocations reversed). Then rebalance. Audited.
 */
export async function voidAdjustment(ctx: ServiceContext, idRaw: string | number, opts: { reason: string }): Promise<VoidAdjustmentResult> {
  const id = parseAdjustmentId(idRaw);
  const reason = validateReason(opts.reason);
  const now = ctx.clock.now();
  return withTransaction(ctx.db, async (trx) => {
    const before = await adjustmentById(trx, id);
    if (!before) throw notFound('ADJUSTMENT_NOT_FOUND', `There is no adjustment ADJ-${id}.`, ['ispctl adjustment list']);
    await trx('subscribers').where({ id: before.subscriberId }).forUpdate().first('id');
    const updated = await trx('adjustments').where({ id }).whereNot('status', 'void').update({ status: 'void', voided_at: now, void_reason: reason }).returning('id');
    if (!updated.length) throw conflict('ADJUSTMENT_ALREADY_VOID', `Adjustment ADJ-${id} was voided already (${before.voidReason ?? 'no reason'}).`);
    const linesChanged: number[] = [];
    if (before.status === 'invoiced') {
      const lines = await trx('invoice_lines').where({ adjustment_id: id, voided: false }).update({ voided: true }).returning('invoice_id');
      const invoiceIds = [...new Set(lines.map((l: { invoice_id: unknown }) => Number(l.invoice_id)))];
      for (const invoiceId of invoiceIds) {
        const left = await trx('invoice_lines').where({ invoice_id: invoiceId, voided: false }).count('* as n').first();
        const inv = await trx('invoices').where({ id: invoiceId }).first('kind', 'status');
        if (Number(left?.n ?? 0) === 0) {
          // Nothing left on it: the invoice goes, and what was paid on it is credit again.
          await trx('payment_allocations').where({ invoice_id: invoiceId }).whereNull('reversed_at').update({ reversed_at: now });
          await voidInvoices(trx, [invoiceId], now, `adjustment ADJ-${id} voided: ${reason}`);
        } else if (inv && inv.status !== 'void') {
          // Less is owed: allocations beyond the new total come back as credit.
          linesChanged.push(invoiceId);
          await trx('payment_allocations').where({ invoice_id: invoiceId }).whereNull('reversed_at').update({ reversed_at: now });
        }
      }
    } else if (before.status === 'applied' && before.paymentId) {
      await trx('payments').where({ id: before.paymentId }).whereNull('voided_at').update({ voided_at: now, void_reason: `adjustment ADJ-${id} voided: ${reason}` });
      await trx('payment_allocations').where({ payment_id: before.paymentId }).whereNull('reversed_at').update({ reversed_at: now });
    }
    const balanced = await rebalance(trx, ctx, { subscriberIds: [before.subscriberId] }, { linesChanged });
    const adjustment = (await adjustmentById(trx, id))!;
    await recordAudit(trx, ctx, {
      entityType: 'adjustment',
      entityId: adjustment.ref,
      action: 'void',
      before: { status: before.status, amountMinor: before.amountMinor, invoice: before.invoiceNumber },
      after: { status: 'void', reason },
    });
    return { adjustment, collections: collectionsOutcome(balanced) };
  });
}

export function describeAdjustment(a: Adjustment): string {
  const sign = a.direction === 'credit' ? '-' : '';
  return `${a.ref} ${TYPE_LABELS[a.type]} ${sign}${formatMoney(a.amountMinor, a.currency)}`;
}
