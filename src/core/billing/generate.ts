// Invoice generation: one invoice per subscriber and billing period, one line per service, each
// line a snapshot of the terms in force. Idempotent by construction: an advisory lock per period
// serialises runs, and unique keys (one non-void invoice per subscriber and period, one non-voided
// line per service and period) with ON CONFLICT DO NOTHING make a second run, a re-run after a
// crash or two runs at once add nothing twice. Set-based: a few queries read every candidate
// service with its terms and history (the candidates come back as one JSON document), the lines
// are computed here, and invoices and lines are inserted in batches of 25,000, each batch one
// INSERT … SELECT FROM unnest(column arrays) ON CONFLICT DO NOTHING.
import type { Knex } from 'knex';
import { recordAudit } from '../audit.js';
import type { ServiceContext } from '../context.js';
import { withTransaction, type Db } from '../db/tx.js';
import { invalid } from '../errors.js';
import type { Discount } from '../money.js';
import { addDays, billingPeriodFor, formatLocalDate, periodFromKey, startOfDay, toLocalDate, type BillingPeriod } from '../time.js';
import { rebalance } from '../ledger/rebalance.js';
import { queueIssuedInvoices } from '../notify/invoice.js';
import { attachPendingCharges } from '../adjustments/service.js';
import { drawNumbers, invoiceNumberFormatter, parseInvoiceNumberFormat } from './numbering.js';
import { addDaysIso, billedRange, daysInRange, type PlanChangeOnDate } from './proration.js';
import { priceLine, type LineSegment, type PlanPrice, type PricedLine, type PriceBook } from './pricing.js';
import { loadBillingSettings, type BillingSettings } from './settings.js';

export type { LineSegment } from './pricing.js';
import { big, chunks, idArray, numArray, rowsJson, textArray } from '../db/sql.js';

/** Namespace of billing's advisory locks (first key of pg_advisory_xact_lock(int, int)). */
export const BILLING_LOCK_NAMESPACE = 7_401;

const BATCH = 25_000;

export type LineKind = 'postpaid' | 'prepaid' | 'prepaid-first';

export interface GenerateOptions {
  /** Target period `YYYY-MM`; default the period containing today + invoice-lead-days. */
  period?: string;
  /** Only these subscribers. */
  subscriberIds?: readonly number[];
  /** Compute the same summary, write nothing (no invoice numbers are used up either). */
  dryRun?: boolean;
  onProgress?: (p: GenerateProgress) => void;
}

export interface GenerateProgress {
  phase: 'reading' | 'computing' | 'invoices' | 'lines' | 'totals' | 'settling' | 'done';
  done: number;
  total: number;
}

export interface PeriodInfo {
  key: string;
  start: string;
  end: string;
  days: number;
}

export type SkipReason = 'blocked' | 'currency_mismatch' | 'no_days';

export interface SkippedService {
  serviceId: number;
  username: string;
  periodKey: string;
  reason: SkipReason;
}

export interface GenerateResult {
  /** The target period (postpaid services are billed for it). */
  period: PeriodInfo;
  /** The period prepaid services are billed for (the next one). */
  prepaidPeriod: PeriodInfo;
  issueDate: string;
  dryRun: boolean;
  /** Invoices created (would be created, on a dry run). */
  invoices: number;
  /** Existing invoices of the same periods that received new lines (services added since). */
  invoicesExtended: number;
  lines: number;
  /** Sum of the new lines' totals, minor units. */
  totalMinor: bigint;
  currency: string;
  /** Service-periods that already had a line, so nothing was done for them. */
  alreadyInvoiced: number;
  skipped: SkippedService[];
  /** Ids of the invoices created. */
  invoiceIds: number[];
  /** Numbers of the first and last invoice created. */
  firstNumber: string | null;
  lastNumber: string | null;
  /** Credit applied to the new invoices by settle. */
  creditAppliedMinor: bigint;
  /** Router work queued by collections re-evaluating the billed subscribers: apply it after commit. */
  jobIds: number[];
  /** "Invoice issued" messages queued (0 when invoice-issued-notify is off or no channel is set up). */
  notifications: number;
}

interface Candidate {
  serviceId: number;
  subscriberId: number;
  username: string;
  planId: number;
  startedOn: string;
  endedOn: string | null;
  individualPriceMinor: bigint | null;
  discount: Discount | null;
  discountUntil: string | null;
  accessState: string;
  accessReason: string;
  kind: LineKind;
  periodKey: string;
}

/** A priced line (pricing.ts) and where it goes. */
export interface PlannedLine extends PricedLine {
  /** `subscriberId|periodKey`: the invoice it goes on. */
  invoiceKey: string;
  subscriberId: number;
  serviceId: number;
  periodKey: string;
  kind: LineKind;
}

interface PlannedInvoice {
  subscriberId: number;
  periodKey: string;
  period: PeriodInfo;
  dueDate: string;
  lines: PlannedLine[];
}

function periodInfo(p: BillingPeriod): PeriodInfo {
  const range = { start: formatLocalDate(p.start), end: formatLocalDate(p.end) };
  return { key: p.key, ...range, days: daysInRange(range) };
}

/** The periods a run bills: the target period, and the next one for prepaid services. */
export function billingPeriods(settings: Pick<BillingSettings, 'billingDay' | 'invoiceLeadDays'>, today: string, period?: string): { target: PeriodInfo; next: PeriodInfo } {
  const [y, m, d] = today.split('-').map(Number) as [number, number, number];
  const target = period !== undefined ? periodFromKey(period, settings.billingDay) : billingPeriodFor(addDays({ year: y, month: m, day: d }, settings.invoiceLeadDays), settings.billingDay);
  const next = billingPeriodFor(addDays(target.end, 1), settings.billingDay);
  return { target: periodInfo(target), next: periodInfo(next) };
}

interface PlanDbRow {
  id: number;
  name: string;
  price_minor: bigint;
  currency: string;
}

/**
 * The columns of a candidate service-period, by name. planRun's query packs each candidate as a
 * JSON array in this order (100,000 arrays travel far faster than 100,000 objects or rows), and
 * unpackCandidate reads it back by the same names: one list says what is where.
 */
const CANDIDATE_COLUMNS = {
  serviceId: 'c.id',
  subscriberId: 'c.subscriber_id',
  username: 'c.username',
  planId: 'c.plan_id',
  startedOn: 'c.started_on',
  endedOn: 'c.ended_on',
  individualPriceMinor: 'c.individual_price_minor::text',
  discountKind: 'c.discount_kind',
  discountValue: 'c.discount_value::text',
  discountUntil: 'c.discount_until',
  accessState: 'c.access_state',
  accessReason: 'c.access_reason',
  kind: 'c.kind',
  periodKey: 'c.period_key',
} as const;

type CandidateColumn = keyof typeof CANDIDATE_COLUMNS;
const CANDIDATE_SQL = Object.values(CANDIDATE_COLUMNS).join(', ');
const AT = Object.fromEntries(Object.keys(CANDIDATE_COLUMNS).map((k, i) => [k, i])) as Record<CandidateColumn, number>;
type PackedCandidate = ReadonlyArray<string | number | null>;

function unpackCandidate(r: PackedCandidate): Candidate {
  const text = (c: CandidateColumn) => r[AT[c]] as string;
  const maybe = (c: CandidateColumn) => r[AT[c]] as string | null;
  const discountKind = maybe('discountKind');
  const discountValue = maybe('discountValue');
  const individual = maybe('individualPriceMinor');
  return {
    serviceId: r[AT.serviceId] as number,
    subscriberId: r[AT.subscriberId] as number,
    username: text('username'),
    planId: r[AT.planId] as number,
    startedOn: text('startedOn'),
    endedOn: maybe('endedOn'),
    individualPriceMinor: individual === null ? null : BigInt(individual),
    discount: discountKind === 'fixed' ? { kind: 'fixed', minor: BigInt(discountValue!) } : discountKind === 'percent' ? { kind: 'percent', basisPoints: Number(discountValue) } : null,
    discountUntil: maybe('discountUntil'),
    accessState: text('accessState'),
    accessReason: text('accessReason'),
    kind: text('kind') as LineKind,
    periodKey: text('periodKey'),
  };
}

/**
 * Reads the candidate services and computes the lines and invoices a run would create.
 * Writes nothing.
 */
async function planRun(db: Db, ctx: Pick<ServiceContext, 'clock'>, settings: BillingSettings, periods: { target: PeriodInfo; next: PeriodInfo }, today: string, subscriberIds?: readonly number[]) {
  const { target, next } = periods;
  const scope = subscriberIds ? 'and s.subscriber_id = any(?::int[])' : '';
  // One row back: the candidates as one JSON document (arrays, not objects), which both drivers
  // hand over far faster than 100,000 rows of 14 columns, and the count already invoiced.
  const [agg] = (
    await db.raw(
      `select coalesce(json_agg(json_build_array(${CANDIDATE_SQL})) filter (where not c.invoiced), '[]')::text as todo,
              count(*) filter (where c.invoiced) as invoiced
         from (select s.id, s.subscriber_id, s.username, s.plan_id, s.started_on, s.ended_on, s.individual_price_minor,
                      s.discount_kind, s.discount_value, s.discount_until, s.access_state, s.access_reason, t.kind, t.period_key,
                      l.id is not null as invoiced
                 from services s
                 join plans p on p.id = s.plan_id
                 join (values ('postpaid', 'postpaid', ?, ?::date, ?::date),
                              ('prepaid', 'prepaid', ?, ?::date, ?::date),
                              ('prepaid-first', 'prepaid', ?, ?::date, ?::date)) as t(kind, billing_type, period_key, pstart, pend)
                   on t.billing_type = p.billing_type
                 left join invoice_lines l on l.service_id = s.id and l.period_key = t.period_key and not l.voided
                where s.started_on <= t.pend and (s.ended_on is null or s.ended_on > t.pstart)
                  and (t.kind <> 'prepaid-first' or s.started_on >= t.pstart)
                  ${scope}) c`,
      [target.key, target.start, target.end, next.key, next.start, next.end, target.key, target.start, target.end, ...(subscriberIds ? [idArray(subscriberIds)] : [])],
    )
  ).rows as Array<{ todo: string; invoiced: bigint }>;
  const todo: Candidate[] = (JSON.parse(agg!.todo) as PackedCandidate[]).map(unpackCandidate);
  const alreadyInvoiced = Number(agg!.invoiced);
  // Subscriber, then service order (lines of an invoice in service order); usually so already.
  const ordered = (a: Candidate, b: Candidate) => a.subscriberId - b.subscriberId || a.serviceId - b.serviceId || (a.periodKey < b.periodKey ? -1 : a.periodKey > b.periodKey ? 1 : 0);
  if (todo.some((c, i) => i > 0 && ordered(todo[i - 1]!, c) > 0)) todo.sort(ordered);

  const plans = new Map<number, PlanPrice>(
    ((await db('plans').select('id', 'name', 'price_minor', 'currency')) as PlanDbRow[]).map((p) => [p.id, { id: p.id, name: p.name, priceMinor: p.price_minor, currency: p.currency }]),
  );
  const tz = settings.timezone;
  const now = ctx.clock.now();
  const periodOf = (kind: LineKind): PeriodInfo => (kind === 'prepaid' ? next : target);

  // Plan changes from the start of the earliest period billed (later ones tell which plan was in
  // force until they happened).
  const changesBy = new Map<number, PlanChangeOnDate[]>();
  if (todo.length) {
    const since = startOfDay(toLocalDateIso(target.start), tz);
    const changes = (
      await db.raw(
        `select c.service_id, c.old_plan_id, c.new_plan_id, c.changed_at
           from service_plan_changes c
          where c.changed_at >= ?::timestamptz and c.old_plan_id is not null
          order by c.service_id, c.changed_at, c.id`,
        [since],
      )
    ).rows as Array<{ service_id: number; old_plan_id: number; new_plan_id: number; changed_at: Date }>;
    for (const c of changes) {
      const id = c.service_id;
      const list = changesBy.get(id) ?? [];
      list.push({ date: formatLocalDate(toLocalDate(c.changed_at, tz)), oldPlanId: c.old_plan_id, newPlanId: c.new_plan_id });
      changesBy.set(id, list);
    }
  }

  // Access history of the services blocked now (the only ones that can have been blocked for a whole period).
  const accessBy = new Map<number, Array<{ state: string; reason: string; at: Date }>>();
  if (!settings.billSuspendedServices) {
    const blocked = [...new Set(todo.filter((c) => c.accessState === 'blocked' && c.accessReason !== 'pending').map((c) => c.serviceId))];
    if (blocked.length) {
      const hist = (
        await db.raw(
          `select c.service_id, c.new_state, c.reason, c.changed_at
             from service_access_changes c
            where c.service_id = any(?::int[])
            order by c.service_id, c.changed_at, c.id`,
          [idArray(blocked)],
        )
      ).rows as Array<{ service_id: number; new_state: string; reason: string; changed_at: Date }>;
      for (const h of hist) {
        const id = h.service_id;
        const list = accessBy.get(id) ?? [];
        list.push({ state: h.new_state, reason: h.reason, at: h.changed_at });
        accessBy.set(id, list);
      }
    }
  }

  const skipped: SkippedService[] = [];
  const lines: PlannedLine[] = [];
  const skip = (c: Candidate, reason: SkipReason) => skipped.push({ serviceId: c.serviceId, username: c.username, periodKey: c.periodKey, reason });
  const book: PriceBook = { plans, currency: settings.currency, descriptions: new Map() };
  for (const c of todo) {
    const period = periodOf(c.kind);
    const range = billedRange(period, c.startedOn, c.endedOn);
    if (!range) {
      skip(c, 'no_days');
      continue;
    }
    if (c.accessState === 'blocked' && c.accessReason !== 'pending' && !settings.billSuspendedServices) {
      const from = new Date(Math.min(now.getTime(), startOfDay(toLocalDateIso(range.start), tz).getTime()));
      if (blockedThroughout(accessBy.get(c.serviceId) ?? [], from)) {
        skip(c, 'blocked');
        continue;
      }
    }
    const priced = priceLine(
      { period, range, planId: c.planId, individualPriceMinor: c.individualPriceMinor, discount: c.discount, discountUntil: c.discountUntil, changes: changesBy.get(c.serviceId) },
      book,
    );
    if (!priced.ok) {
      skip(c, priced.reason);
      continue;
    }
    lines.push({ invoiceKey: `${c.subscriberId}|${c.periodKey}`, subscriberId: c.subscriberId, serviceId: c.serviceId, periodKey: c.periodKey, kind: c.kind, ...priced.line });
  }

  // Group into invoices: one per subscriber and period.
  const invoices = new Map<string, PlannedInvoice>();
  const dueBy: Record<LineKind, string> = {
    postpaid: dueDateFor('postpaid', settings, today, target),
    prepaid: dueDateFor('prepaid', settings, today, next),
    'prepaid-first': dueDateFor('prepaid-first', settings, today, target),
  };
  for (const l of lines) {
    const key = l.invoiceKey;
    const period = periodOf(l.kind);
    const due = dueBy[l.kind];
    const inv = invoices.get(key);
    if (inv) {
      inv.lines.push(l);
      if (due < inv.dueDate) inv.dueDate = due;
    } else {
      invoices.set(key, { subscriberId: l.subscriberId, periodKey: l.periodKey, period, dueDate: due, lines: [l] });
    }
  }
  return { invoices: [...invoices.values()], lines, skipped, alreadyInvoiced };
}

function toLocalDateIso(date: string) {
  const [y, m, d] = date.split('-').map(Number) as [number, number, number];
  return { year: y, month: m, day: d };
}

/**
 * Due date of a line's invoice: postpaid, the issue date + due-days; prepaid, the start of the
 * period paid for (or the issue date, if that is later). An invoice with both takes the earlier.
 */
export function dueDateFor(kind: LineKind, settings: Pick<BillingSettings, 'dueDays'>, issueDate: string, period: PeriodInfo): string {
  if (kind === 'postpaid') return addDaysIso(issueDate, settings.dueDays);
  return period.start > issueDate ? period.start : issueDate;
}

/**
 * True when access history shows the service blocked at `from` (a real block, not the
 * `pending` state of a service whose access was never computed) and never anything else since.
 */
export function blockedThroughout(history: ReadonlyArray<{ state: string; reason: string; at: Date }>, from: Date): boolean {
  let atFrom: { state: string; reason: string } | undefined;
  for (const h of history) {
    if (h.at.getTime() <= from.getTime()) atFrom = h;
    else if (h.state !== 'blocked' || h.reason === 'pending') return false;
  }
  return atFrom !== undefined && atFrom.state === 'blocked' && atFrom.reason !== 'pending';
}

/**
 * Generates the invoices of a billing run. See docs/billing.md for the rules: periods start on
 * the billing day; postpaid services are billed for the target period (due issue date +
 * due-days), prepaid services for the next one (due at its start) and, in the period they
 * start, for that first partial period; partial periods and plan changes are prorated by days;
 * each line snapshots price and discount; services blocked for the whole period are skipped
 * unless bill-suspended-services is set.
 */
export async function generateInvoices(ctx: ServiceContext, opts: GenerateOptions = {}): Promise<GenerateResult> {
  const settings = await loadBillingSettings(ctx.db);
  const numberFormat = parseInvoiceNumberFormat(settings.invoiceNumberFormat);
  const today = formatLocalDate(toLocalDate(ctx.clock.now(), settings.timezone));
  const periods = billingPeriods(settings, today, opts.period);
  if (opts.subscriberIds && opts.subscriberIds.length === 0) throw invalid('NO_SUBSCRIBERS', 'No subscribers to bill were given.');
  const progress = opts.onProgress ?? (() => undefined);
  const base = {
    period: periods.target,
    prepaidPeriod: periods.next,
    issueDate: today,
    currency: settings.currency,
  };

  if (opts.dryRun) {
    progress({ phase: 'reading', done: 0, total: 1 });
    const plan = await planRun(ctx.db, ctx, settings, periods, today, opts.subscriberIds);
    const keys = [...new Set(plan.invoices.map((i) => i.periodKey))];
    const existing = await existingInvoices(ctx.db, keys, [...new Set(plan.invoices.map((i) => i.subscriberId))]);
    const created = plan.invoices.filter((i) => !existing.has(`${i.subscriberId}|${i.periodKey}`)).length;
    progress({ phase: 'done', done: 1, total: 1 });
    return {
      ...base,
      dryRun: true,
      invoices: created,
      invoicesExtended: plan.invoices.length - created,
      lines: plan.lines.length,
      totalMinor: plan.lines.reduce((s, l) => s + l.totalMinor, 0n),
      alreadyInvoiced: plan.alreadyInvoiced,
      skipped: plan.skipped,
      invoiceIds: [],
      firstNumber: null,
      lastNumber: null,
      creditAppliedMinor: 0n,
      jobIds: [],
      notifications: 0,
    };
  }

  return withTransaction(ctx.db, async (trx) => {
    // Runs that touch the same periods wait for each other (in key order, so never deadlock).
    for (const key of [...new Set([periods.target.key, periods.next.key])].sort()) {
      await trx.raw('select pg_advisory_xact_lock(?::int, hashtext(?))', [BILLING_LOCK_NAMESPACE, `billing:${key}`]);
    }
    progress({ phase: 'reading', done: 0, total: 1 });
    const plan = await planRun(trx, ctx, settings, periods, today, opts.subscriberIds);
    const now = ctx.clock.now();
    const keys = [...new Set(plan.invoices.map((i) => i.periodKey))];
    const existing = await existingInvoices(trx, keys, [...new Set(plan.invoices.map((i) => i.subscriberId))]);
    const toCreate = plan.invoices
      .filter((i) => !existing.has(`${i.subscriberId}|${i.periodKey}`))
      .sort((a, b) => (a.periodKey < b.periodKey ? -1 : a.periodKey > b.periodKey ? 1 : a.subscriberId - b.subscriberId));

    // Invoice numbers: drawn from the counter row in this transaction, so they commit with the
    // invoices or not at all (no gap after a crash or rollback); rows that exist were filtered above.
    const numbers = await drawNumbers(trx, toCreate.length);
    const ids = new Map<string, number>(existing);
    const createdIds: number[] = [];
    const createdNumbers: string[] = [];
    let done = 0;
    progress({ phase: 'invoices', done, total: toCreate.length });
    const formatNumber = invoiceNumberFormatter(numberFormat, today);
    const numbered = toCreate.map((inv, i) => {
      const subtotal = inv.lines.reduce((s, l) => s + l.amountMinor, 0n);
      const discount = inv.lines.reduce((s, l) => s + l.discountMinor, 0n);
      const number = formatNumber(numbers[i]!);
      createdNumbers.push(number);
      return { inv, number, subtotal, discount, total: subtotal - discount };
    });
    // Each batch is one statement whose columns travel as array parameters (unnest), and whose
    // RETURNING comes back as one string rather than a row per invoice.
    for (const batch of chunks(numbered, BATCH)) {
      const [res] = (
        await trx.raw(
          `with ins as (
             insert into invoices (number, subscriber_id, period_key, period_start, period_end, issue_date, due_date, currency,
                                   subtotal_minor, discount_minor, total_minor, paid_minor, status, created_at, updated_at)
             select x.number, x.subscriber_id, x.period_key, x.period_start, x.period_end, ?::date, x.due_date, ?,
                    x.subtotal, x.discount, x.total, 0, x.status, ?::timestamptz, ?::timestamptz
               from unnest(?::text[], ?::int[], ?::text[], ?::date[], ?::date[], ?::date[], ?::bigint[], ?::bigint[], ?::bigint[], ?::text[])
                    as x(number, subscriber_id, period_key, period_start, period_end, due_date, subtotal, discount, total, status)
             on conflict (subscriber_id, period_key) where status <> 'void' and kind = 'period' do nothing
             returning id, subscriber_id, period_key)
           select coalesce(string_agg(subscriber_id::text || '|' || period_key || '|' || id::text, ','), '') as created from ins`,
          [
            today,
            settings.currency,
            now,
            now,
            textArray(batch.map((b) => b.number)),
            numArray(batch.map((b) => b.inv.subscriberId)),
            textArray(batch.map((b) => b.inv.periodKey)),
            textArray(batch.map((b) => b.inv.period.start)),
            textArray(batch.map((b) => b.inv.period.end)),
            textArray(batch.map((b) => b.inv.dueDate)),
            numArray(batch.map((b) => b.subtotal)),
            numArray(batch.map((b) => b.discount)),
            numArray(batch.map((b) => b.total)),
            textArray(batch.map((b) => (b.total === 0n ? 'paid' : b.inv.dueDate < today ? 'overdue' : 'issued'))),
          ],
        )
      ).rows as Array<{ created: string }>;
      for (const item of res!.created ? res!.created.split(',') : []) {
        const cut = item.lastIndexOf('|');
        const id = Number(item.slice(cut + 1));
        ids.set(item.slice(0, cut), id);
        createdIds.push(id);
      }
      done += batch.length;
      progress({ phase: 'invoices', done, total: toCreate.length });
    }
    // Only possible if something outside billing generate inserted an invoice meanwhile.
    const missing = plan.invoices.filter((i) => !ids.has(`${i.subscriberId}|${i.periodKey}`));
    if (missing.length) for (const [k, v] of await existingInvoices(trx, keys, [...new Set(missing.map((m) => m.subscriberId))])) ids.set(k, v);

    done = 0;
    progress({ phase: 'lines', done, total: plan.lines.length });
    let lineCount = 0;
    let lineTotal = 0n;
    for (const batch of chunks(plan.lines, BATCH)) {
      const [res] = (
        await trx.raw(
          `with ins as (
             insert into invoice_lines (invoice_id, service_id, period_key, plan_id, description, price_source, unit_price_minor, days, period_days,
                                        amount_minor, discount_kind, discount_value, discount_minor, total_minor, segments, created_at)
             select x.invoice_id, x.service_id, x.period_key, x.plan_id, x.description, x.price_source, x.unit_price_minor, x.days, x.period_days,
                    x.amount_minor, x.discount_kind, x.discount_value, x.discount_minor, x.total_minor, x.segments, ?::timestamptz
               from unnest(?::bigint[], ?::int[], ?::text[], ?::int[], ?::text[], ?::text[], ?::bigint[], ?::int[], ?::int[],
                           ?::bigint[], ?::text[], ?::bigint[], ?::bigint[], ?::bigint[], ?::jsonb[])
                    as x(invoice_id, service_id, period_key, plan_id, description, price_source, unit_price_minor, days, period_days,
                         amount_minor, discount_kind, discount_value, discount_minor, total_minor, segments)
             on conflict (service_id, period_key) where not voided do nothing
             returning total_minor)
           select count(*) as n, coalesce(sum(total_minor), 0) as total from ins`,
          [
            now,
            numArray(batch.map((l) => ids.get(l.invoiceKey)!)),
            numArray(batch.map((l) => l.serviceId)),
            textArray(batch.map((l) => l.periodKey)),
            numArray(batch.map((l) => l.planId)),
            textArray(batch.map((l) => l.description)),
            textArray(batch.map((l) => l.priceSource)),
            numArray(batch.map((l) => l.unitPriceMinor)),
            numArray(batch.map((l) => l.days)),
            numArray(batch.map((l) => l.periodDays)),
            numArray(batch.map((l) => l.amountMinor)),
            textArray(batch.map((l) => l.discountKind)),
            numArray(batch.map((l) => l.discountValue)),
            numArray(batch.map((l) => l.discountMinor)),
            numArray(batch.map((l) => l.totalMinor)),
            textArray(batch.map((l) => (l.segments ? rowsJson(l.segments) : null))),
          ],
        )
      ).rows as Array<{ n: bigint; total: string }>;
      lineCount += Number(res!.n);
      lineTotal += big(res!.total);
      done += batch.length;
      progress({ phase: 'lines', done, total: plan.lines.length });
    }

    // New invoices went in with the totals and status of their lines; when every line went in,
    // only invoices that existed before (and received lines) need their totals recomputed.
    // Then the ledger step every writer ends in: credit the subscribers already have is applied,
    // statuses recomputed, collections re-evaluated.
    progress({ phase: 'totals', done: 0, total: 1 });
    const touched = [...new Set(plan.invoices.map((i) => ids.get(`${i.subscriberId}|${i.periodKey}`)!))];
    const createdSet = new Set(createdIds);
    const linesChanged = lineCount === plan.lines.length ? touched.filter((id) => !createdSet.has(id)) : touched;
    progress({ phase: 'settling', done: 0, total: 1 });
    const subscribers = [...new Set(plan.invoices.map((i) => i.subscriberId))];
    // One-off charges waiting for the next invoice (adjustments) go onto these invoices.
    const charged = await attachPendingCharges(trx, touched, now);
    // Subscribers with an invoice whose lines changed are rebalanced whole; those who only got
    // new invoices are handed over as such (rebalance allocates only where there is credit).
    const changedInvoices = [...new Set([...linesChanged, ...charged])];
    const ownerOf = new Map(plan.invoices.map((i) => [ids.get(`${i.subscriberId}|${i.periodKey}`)!, i.subscriberId]));
    const changedOwners = new Set(changedInvoices.map((id) => ownerOf.get(id)));
    const whole = changedOwners.has(undefined) ? subscribers : subscribers.filter((sid) => changedOwners.has(sid));
    const newInvoicesOf = subscribers.filter((sid) => !changedOwners.has(sid));
    const balanced = await rebalance(trx, ctx, { subscriberIds: whole, newInvoicesOf }, { linesChanged: changedInvoices, today });
    // The "invoice issued" message of each new invoice (email with the PDF), unless turned off.
    const issued = await queueIssuedInvoices(trx, ctx, createdIds);
    const touchedSet = new Set(touched);
    const creditApplied = balanced.allocations.filter((a) => touchedSet.has(a.invoiceId)).reduce((s, a) => s + a.amountMinor, 0n);

    const result: GenerateResult = {
      ...base,
      dryRun: false,
      invoices: createdIds.length,
      invoicesExtended: plan.invoices.length - toCreate.length,
      lines: lineCount,
      totalMinor: lineTotal,
      alreadyInvoiced: plan.alreadyInvoiced,
      skipped: plan.skipped,
      invoiceIds: createdIds,
      firstNumber: createdNumbers[0] ?? null,
      lastNumber: createdNumbers[createdNumbers.length - 1] ?? null,
      creditAppliedMinor: creditApplied,
      jobIds: balanced.jobIds,
      notifications: issued?.queued ?? 0,
    };
    await recordAudit(trx, ctx, {
      entityType: 'billing',
      entityId: periods.target.key,
      action: 'generate',
      after: {
        period: periods.target.key,
        prepaidPeriod: periods.next.key,
        issueDate: today,
        invoices: result.invoices,
        invoicesExtended: result.invoicesExtended,
        lines: result.lines,
        totalMinor: result.totalMinor,
        currency: settings.currency,
        firstNumber: result.firstNumber,
        lastNumber: result.lastNumber,
        alreadyInvoiced: result.alreadyInvoiced,
        skipped: countBy(plan.skipped.map((s) => s.reason)),
        subscribers: opts.subscriberIds ? opts.subscriberIds.length : 'all',
      },
    });
    progress({ phase: 'done', done: 1, total: 1 });
    return result;
  });
}

function countBy(items: string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const i of items) out[i] = (out[i] ?? 0) + 1;
  return out;
}

/** Non-void invoices of these subscribers and periods (the unique key's index): `subscriberId|periodKey` → id. */
async function existingInvoices(db: Db | Knex, periodKeys: string[], subscriberIds: readonly number[]): Promise<Map<string, number>> {
  if (periodKeys.length === 0 || subscriberIds.length === 0) return new Map();
  const rows = (
    await db.raw(
      `select id, subscriber_id, period_key from invoices
        where subscriber_id = any(?::int[]) and period_key = any(?::text[]) and status <> 'void'`,
      [idArray(subscriberIds), textArray(periodKeys)],
    )
  ).rows as Array<{ id: bigint; subscriber_id: number; period_key: string }>;
  return new Map(rows.map((r) => [`${r.subscriber_id}|${r.period_key}`, Number(r.id)]));
}
