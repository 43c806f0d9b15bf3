// Invoice generation: one invoice per subscriber and billing period, one line per service, each
// line a snapshot of the terms in force. Idempotent by construction: an advisory lock per period
// serialises runs, a run writes only the service-periods that have no line yet, and unique keys
// (one non-void invoice per subscriber and period, one non-voided line per service and period)
// refuse anything written twice: a second run, a re-run after a crash or two runs at once add
// nothing twice.
//
// Streamed: the services are walked in chunks of subscribers (keyset pagination on
// subscriber_id, so a subscriber's services are always in the same chunk and one invoice holds
// all of them), and each chunk is its own transaction: it takes the billing locks, writes its
// invoices and lines, draws its invoice numbers from the counter row, and rebalances its
// subscribers (credit allocated, collections re-evaluated, access changes queued), then commits
// and lets go of the locks. A crash loses at most the chunk in flight; running again skips what
// was committed (its lines exist) and carries on, and numbers stay gapless because each chunk's
// numbers commit with its invoices. Memory is bounded by the chunk, whatever the number of
// services.
//
// Set-based: the common line (one plan for the whole period, no discount, the ISP currency) is
// priced by the database in the INSERT … SELECT that writes it (pricing.ts FULL_PERIOD_LINE_SQL).
// Only the other lines (prorated, plan changed part way, discounted, blocked, another currency)
// are read into JavaScript as typed rows and priced by priceLine; they join the same statement
// as one JSON parameter.
import type { Knex } from 'knex';
import { recordAudit } from '../audit.js';
import type { ServiceContext } from '../context.js';
import { withTransaction, type Db } from '../db/tx.js';
import { invalid } from '../errors.js';
import type { Discount } from '../money.js';
import { addDays, billingPeriodFor, formatLocalDate, periodFromKey, startOfDay, toLocalDate, type BillingPeriod } from '../time.js';
import { rebalance, type RebalanceScope } from '../ledger/rebalance.js';
import { invoiceIssuedNotifyFrom, queueIssuedInvoices } from '../notify/invoice.js';
import { evaluateGivenFrom } from '../collections/evaluate.js';
import { storedSettings } from '../settings/service.js';
import { attachPendingCharges } from '../adjustments/service.js';
import { invoiceNumberFormatter, invoiceNumberPieces, parseInvoiceNumberFormat } from './numbering.js';
import { addDaysIso, billedRange, daysInRange, type PlanChangeOnDate } from './proration.js';
import { FULL_PERIOD_LINE_SQL, fullPeriodLabel, priceLine, type PlanPrice, type PricedLine, type PriceBook } from './pricing.js';
import { billingSettingsFrom, type BillingSettings } from './settings.js';
import { big, idArray, rowsJson, rowsOf } from '../db/sql.js';

export type { LineSegment } from './pricing.js';

/** Namespace of billing's advisory locks (first key of pg_advisory_xact_lock(int, int)). */
export const BILLING_LOCK_NAMESPACE = 7_401;

/** Services per chunk (per transaction), by default. */
export const DEFAULT_CHUNK_SERVICES = 25_000;

export type LineKind = 'postpaid' | 'prepaid' | 'prepaid-first';

export interface GenerateOptions {
  /** Target period `YYYY-MM`; default the period containing today + invoice-lead-days. */
  period?: string;
  /** Only these subscribers. */
  subscriberIds?: readonly number[];
  /** Compute the same summary, write nothing (no invoice numbers are used up either). */
  dryRun?: boolean;
  /** Services per chunk (each chunk one transaction); default 25,000, or ISPCTL_BILLING_CHUNK. */
  chunkServices?: number;
  onProgress?: (p: GenerateProgress) => void;
}

export interface GenerateProgress {
  phase: 'reading' | 'computing' | 'invoices' | 'lines' | 'totals' | 'settling' | 'done';
  /** Services gone through so far (phase `invoices`: one update per chunk). */
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
  /** Transactions the run was cut into (chunks of subscribers). */
  chunks: number;
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

// ---- rows as the database hands them -----------------------------------------------------------

interface PlanRow {
  id: number;
  name: string;
  price_minor: bigint;
  currency: string;
}

/** A service-period that the database does not price itself (see FULL_PERIOD_LINE_SQL). */
interface CandidateRow {
  service_id: number;
  subscriber_id: number;
  username: string;
  plan_id: number;
  started_on: string;
  ended_on: string | null;
  individual_price_minor: bigint | null;
  discount_kind: string | null;
  discount_value: bigint | null;
  discount_until: string | null;
  access_state: string;
  access_reason: string;
  kind: LineKind;
  period_key: string;
}

interface PlanChangeRow {
  service_id: number;
  old_plan_id: number;
  new_plan_id: number;
  changed_at: Date;
}

interface AccessChangeRow {
  service_id: number;
  new_state: string;
  reason: string;
  changed_at: Date;
}

/** What the chunk statement reports. */
interface ChunkRow {
  already: bigint | string | number;
  lines: bigint | string | number;
  total: bigint | string | number;
  last_seq: bigint | string | number | null;
  created_lo: bigint | string | number | null;
  created_hi: bigint | string | number | null;
  created_n: bigint | string | number;
  created: string | null;
  extended: string;
  pending_charges: boolean;
  others_pending: boolean;
  regroup: boolean;
  next_hi: number | null;
  next_n: bigint | string | number;
}

/** The one mapping of a candidate row. */
function toCandidate(r: CandidateRow) {
  const discount: Discount | null =
    r.discount_kind === 'fixed' && r.discount_value !== null
      ? { kind: 'fixed', minor: BigInt(r.discount_value) }
      : r.discount_kind === 'percent' && r.discount_value !== null
        ? { kind: 'percent', basisPoints: Number(r.discount_value) }
        : null;
  return {
    serviceId: Number(r.service_id),
    subscriberId: Number(r.subscriber_id),
    username: r.username,
    planId: Number(r.plan_id),
    startedOn: r.started_on,
    endedOn: r.ended_on,
    individualPriceMinor: r.individual_price_minor === null ? null : BigInt(r.individual_price_minor),
    discount,
    discountUntil: r.discount_until,
    accessState: r.access_state,
    accessReason: r.access_reason,
    kind: r.kind,
    periodKey: r.period_key,
  };
}

type Candidate = ReturnType<typeof toCandidate>;

/** A line priced in JavaScript, as it travels to the chunk statement (json_to_recordset). */
interface PricedLineRow {
  service_id: number;
  subscriber_id: number;
  period_key: string;
  due: string;
  plan_id: number;
  description: string;
  price_source: PricedLine['priceSource'];
  unit_price_minor: bigint;
  days: number;
  period_days: number;
  amount_minor: bigint;
  discount_kind: PricedLine['discountKind'];
  discount_value: bigint | null;
  discount_minor: bigint;
  total_minor: bigint;
  segments: unknown[] | null;
}

// ---- one run's SQL -----------------------------------------------------------------------------

/** Everything a run's statements are parameterised by, worked out once. */
interface RunSql {
  /**
   * The periods billed as a table `t(kind, billing_type, period_key, pstart, pend, pdays, due,
   * label, pn)`; pn is 0 for the target period and 1 for the next one, the period as the chunk
   * statement groups, sorts and joins by (an int, cheaper to hash and compare than the key).
   */
  periods: { sql: string; bindings: Knex.Value[] };
  /** Service-periods of chunk (lo, hi]: `from … where …` over s, p, t. */
  candidates: (lo: number, hi: number) => { sql: string; bindings: Knex.Value[] };
  /** True when the database prices the line itself (never null). */
  fullLine: { sql: string; bindings: Knex.Value[] };
}

function runSql(settings: BillingSettings, periods: { target: PeriodInfo; next: PeriodInfo }, dues: Record<LineKind, string>, subscriberIds: readonly number[] | undefined): RunSql {
  const { target, next } = periods;
  const row = (kind: LineKind, billingType: string, p: PeriodInfo) => [kind, billingType, p.key, p.start, p.end, p.days, dues[kind], fullPeriodLabel(p), p === target ? 0 : 1];
  const periodsSql = {
    sql: `(values (?::text, ?::text, ?::text, ?::date, ?::date, ?::int, ?::date, ?::text, ?::int), (?, ?, ?, ?::date, ?::date, ?::int, ?::date, ?, ?::int), (?, ?, ?, ?::date, ?::date, ?::int, ?::date, ?, ?::int))
            as t(kind, billing_type, period_key, pstart, pend, pdays, due, label, pn)`,
    bindings: [...row('postpaid', 'postpaid', target), ...row('prepaid', 'prepaid', next), ...row('prepaid-first', 'prepaid', target)],
  };
  const scope = subscriberIds ? 'and s.subscriber_id = any(?::int[])' : '';
  const since = startOfDay(toLocalDateIso(target.start), settings.timezone);
  return {
    periods: periodsSql,
    candidates: (lo, hi) => ({
      sql: `from services s
            join plans p on p.id = s.plan_id
            join ${periodsSql.sql} on t.billing_type = p.billing_type
           where s.subscriber_id > ? and s.subscriber_id <= ? ${scope}
             and s.started_on <= t.pend and (s.ended_on is null or s.ended_on > t.pstart)
             and (t.kind <> 'prepaid-first' or s.started_on >= t.pstart)`,
      bindings: [...periodsSql.bindings, lo, hi, ...(subscriberIds ? [idArray(subscriberIds)] : [])],
    }),
    // The whole period, no discount that applies, the ISP currency, billed even if blocked (not
    // blocked, never provisioned, or bill-suspended-services) and no plan change since the target
    // period started (planRun's rule for reading plan changes): priceLine would give exactly
    // FULL_PERIOD_LINE_SQL.
    fullLine: {
      sql: `(s.started_on <= t.pstart and (s.ended_on is null or s.ended_on > t.pend)
             and (s.discount_kind is null or coalesce(s.discount_until < t.pstart, false))
             and p.currency = ?
             and (s.access_state <> 'blocked' or s.access_reason = 'pending' or ?::boolean)
             and not exists (select 1 from service_plan_changes c where c.service_id = s.id and c.changed_at >= ?::timestamptz and c.old_plan_id is not null))`,
      bindings: [settings.currency, settings.billSuspendedServices, since],
    },
  };
}

const INVOICED = `exists (select 1 from invoice_lines l where l.service_id = s.id and l.period_key = t.period_key and not l.voided)`;

/** Where the chunk after subscriber `after` ends: up to `size` services, ending on a whole subscriber (hi null: no services left). */
function chunkBoundSql(after: number, size: number, subscriberIds: readonly number[] | undefined): { sql: string; bindings: Knex.Value[] } {
  const scope = subscriberIds ? 'and subscriber_id = any(?::int[])' : '';
  return {
    sql: `select max(subscriber_id) as hi, count(*) as n from (select subscriber_id from services where subscriber_id > ? ${scope} order by subscriber_id limit ?) b`,
    bindings: [after, ...(subscriberIds ? [idArray(subscriberIds)] : []), size],
  };
}

interface ChunkBoundRow {
  hi: number | null;
  n: bigint | string | number;
}

interface ChunkBound {
  hi: number;
  services: number;
}

function chunkBound(r: ChunkBoundRow): ChunkBound | null {
  return r.hi === null ? null : { hi: Number(r.hi), services: Number(r.n) };
}

/**
 * Reads the service-periods of a chunk that the database does not price, with the plan changes
 * and access history they need, and prices them (priceLine). Writes nothing.
 */
async function priceOthers(trx: Db, ctx: Pick<ServiceContext, 'clock'>, settings: BillingSettings, sql: RunSql, plans: ReadonlyMap<number, PlanPrice>, periods: { target: PeriodInfo; next: PeriodInfo }, dues: Record<LineKind, string>, lo: number, hi: number) {
  const c = sql.candidates(lo, hi);
  const rows = await rowsOf<CandidateRow>(
    trx,
    `select s.id as service_id, s.subscriber_id, s.username, s.plan_id, s.started_on::text as started_on, s.ended_on::text as ended_on,
            s.individual_price_minor, s.discount_kind, s.discount_value, s.discount_until::text as discount_until,
            s.access_state, s.access_reason, t.kind, t.period_key
       ${c.sql} and ${sql.fullLine.sql} is not true and not ${INVOICED}
      order by s.subscriber_id, s.id, t.period_key`,
    [...c.bindings, ...sql.fullLine.bindings],
  );
  const todo = rows.map(toCandidate);
  const lines: PricedLineRow[] = [];
  const skipped: SkippedService[] = [];
  if (todo.length === 0) return { lines, skipped };
  const { target, next } = periods;
  const tz = settings.timezone;
  const ids = idArray([...new Set(todo.map((t) => t.serviceId))]);

  // Plan changes from the start of the target period (later ones tell which plan was in force until they happened).
  const changesBy = new Map<number, PlanChangeOnDate[]>();
  const since = startOfDay(toLocalDateIso(target.start), tz);
  const changes = await rowsOf<PlanChangeRow>(
    trx,
    `select c.service_id, c.old_plan_id, c.new_plan_id, c.changed_at
       from service_plan_changes c
      where c.service_id = any(?::int[]) and c.changed_at >= ?::timestamptz and c.old_plan_id is not null
      order by c.service_id, c.changed_at, c.id`,
    [ids, since],
  );
  for (const ch of changes) {
    const list = changesBy.get(ch.service_id) ?? [];
    list.push({ date: formatLocalDate(toLocalDate(ch.changed_at, tz)), oldPlanId: ch.old_plan_id, newPlanId: ch.new_plan_id });
    changesBy.set(ch.service_id, list);
  }

  // Access history of the services blocked now (the only ones that can have been blocked for a whole period).
  const isBlocked = (t: Candidate) => t.accessState === 'blocked' && t.accessReason !== 'pending' && !settings.billSuspendedServices;
  const accessBy = new Map<number, Array<{ state: string; reason: string; at: Date }>>();
  const blocked = [...new Set(todo.filter(isBlocked).map((t) => t.serviceId))];
  if (blocked.length) {
    const hist = await rowsOf<AccessChangeRow>(
      trx,
      `select c.service_id, c.new_state, c.reason, c.changed_at
         from service_access_changes c
        where c.service_id = any(?::int[])
        order by c.service_id, c.changed_at, c.id`,
      [idArray(blocked)],
    );
    for (const h of hist) {
      const list = accessBy.get(h.service_id) ?? [];
      list.push({ state: h.new_state, reason: h.reason, at: h.changed_at });
      accessBy.set(h.service_id, list);
    }
  }

  const now = ctx.clock.now();
  const book: PriceBook = { plans, currency: settings.currency, descriptions: new Map() };
  const skip = (t: Candidate, reason: SkipReason) => skipped.push({ serviceId: t.serviceId, username: t.username, periodKey: t.periodKey, reason });
  for (const t of todo) {
    const period = t.kind === 'prepaid' ? next : target;
    const range = billedRange(period, t.startedOn, t.endedOn);
    if (!range) {
      skip(t, 'no_days');
      continue;
    }
    if (isBlocked(t)) {
      const from = new Date(Math.min(now.getTime(), startOfDay(toLocalDateIso(range.start), tz).getTime()));
      if (blockedThroughout(accessBy.get(t.serviceId) ?? [], from)) {
        skip(t, 'blocked');
        continue;
      }
    }
    const priced = priceLine({ period, range, planId: t.planId, individualPriceMinor: t.individualPriceMinor, discount: t.discount, discountUntil: t.discountUntil, changes: changesBy.get(t.serviceId) }, book);
    if (!priced.ok) {
      skip(t, priced.reason);
      continue;
    }
    const l = priced.line;
    lines.push({
      service_id: t.serviceId,
      subscriber_id: t.subscriberId,
      period_key: t.periodKey,
      due: dues[t.kind],
      plan_id: l.planId,
      description: l.description,
      price_source: l.priceSource,
      unit_price_minor: l.unitPriceMinor,
      days: l.days,
      period_days: l.periodDays,
      amount_minor: l.amountMinor,
      discount_kind: l.discountKind,
      discount_value: l.discountValue,
      discount_minor: l.discountMinor,
      total_minor: l.totalMinor,
      segments: l.segments,
    });
  }
  return { lines, skipped };
}

const LINE_COLUMNS = ['plan_id', 'description', 'price_source', 'unit_price_minor', 'days', 'period_days', 'amount_minor', 'discount_kind', 'discount_value', 'discount_minor', 'total_minor', 'segments'] as const;

/** The lines priced in JavaScript as a table `x` (json_to_recordset of writeChunk's `others`). */
const PRICED_RECORDSET = `json_to_recordset(?::json) as x(service_id int, subscriber_id int, period_key text, due date, plan_id int, description text, price_source text,
              unit_price_minor bigint, days int, period_days int, amount_minor bigint, discount_kind text, discount_value bigint, discount_minor bigint, total_minor bigint, segments jsonb)`;

interface ChunkOutcome {
  already: number;
  lines: number;
  totalMinor: bigint;
  /** Ids of the invoices created, in number order. */
  createdIds: number[];
  /**
   * The same invoices with their subscribers, or null when the chunk did not need them: every
   * invoice new (ids one range), no charges waiting, a run over everyone.
   */
  created: Array<{ id: number; subscriberId: number }> | null;
  /** Invoices that existed and received lines. */
  extended: Array<{ id: number; subscriberId: number }>;
  lastSeq: bigint | null;
  /** Charges wait for the next invoice of a subscriber in the chunk. */
  pendingCharges: boolean;
  /** The chunk has lines the database does not price and they were not handed in: nothing was written. */
  othersPending: boolean;
  /**
   * Written without grouping, the chunk turned out to have a subscriber with more than one new
   * line for a period: nothing was written (see writeChunk's `grouped`).
   */
  regroup: boolean;
  /** Where the chunk after this one ends (read by the same statement), or null: this was the last. */
  next: ChunkBound | null;
}

/**
 * Writes a chunk's invoices and lines in one statement: the lines the database prices and the
 * ones priced in JavaScript, grouped into one invoice per subscriber and period; invoices that
 * exist receive the new lines, the others are created, numbered from the counter row (advanced
 * in this statement, so the numbers commit with the invoices or not at all). It also reads where
 * the next chunk ends, so a chunk is one round trip.
 *
 * It is written to do little more per line than the hand-written INSERT … SELECT it is measured
 * against (bench/billing.mjs):
 * - the services are read twice, once to group the lines into invoices and once to write the
 *   lines, as the INSERT … SELECT does, rather than kept in a CTE of wide rows read five times;
 *   each read is fenced (offset 0) so that the grouping sorts only the columns it sums, and the
 *   lines meet their invoices in one hash join rather than one index probe into services each;
 * - one pass groups the lines, numbers the new invoices (a running count in the order of the
 *   period and the subscriber, the groups' own sort) and tells whether any line needs
 *   JavaScript; the sums the run reports come from the groups, not from a count of the lines;
 * - most subscribers have one service, so most invoices have one new line: unless `grouped`,
 *   each line is taken as its own group (no aggregate per subscriber, which cost about 2 % of a
 *   run), and the same pass tells whether two lines share a subscriber and period; if any do,
 *   the statement writes nothing and says so (regroup), and the chunk is written again grouped;
 * - periods are grouped, sorted and joined by an int (pn), the key written from it;
 * - whether the chunk's subscribers have any invoice of these periods (`prior`, a scan of the
 *   invoices' (subscriber, period) index over the chunk's range) is asked once; only then does
 *   each service-period look for its line and each group for an invoice that exists. A
 *   service's lines are only ever on invoices of its own subscriber and period, so without such
 *   an invoice there is no line either (a first run, and every chunk not yet billed when a run
 *   resumes).
 * New invoices are inserted in number order and lines in the order they come (an invoice shows
 * its lines by service, see showInvoice).
 *
 * With `others` null, a service-period the database does not price makes the statement write
 * nothing and say so (othersPending); with `others`, the services they price are left out of the
 * lines the database prices.
 */
async function writeChunk(
  trx: Db,
  sql: RunSql,
  opts: { lo: number; hi: number; target: PeriodInfo; next: PeriodInfo; pairs: boolean; others: PricedLineRow[] | null; grouped: boolean; today: string; currency: string; now: Date; number: { prefix: string; width: number; suffix: string }; bound: { size: number; subscriberIds: readonly number[] | undefined } },
): Promise<ChunkOutcome> {
  const c = sql.candidates(opts.lo, opts.hi);
  const others = opts.others;
  const cols = LINE_COLUMNS.join(', ');
  const full = LINE_COLUMNS.map((k) => `${FULL_PERIOD_LINE_SQL[k]} as ${k}`).join(', ');
  const keys = `{${[...new Set([opts.target.key, opts.next.key])].join(',')}}`;
  const pnOf = (col: string) => `case when ${col} = ? then 0 else 1 end`;
  const keyOf = (col: string, type: 'text' | 'date') => `case when ${col} = 0 then ?::${type} else ?::${type} end`;
  const bound = chunkBoundSql(opts.hi, opts.bound.size, opts.bound.subscriberIds);
  // Positional bindings, in the order their placeholders appear below.
  const b: Knex.Value[] = [];
  const bind = (...v: Knex.Value[]) => (b.push(...v), '');
  const oldGroup = (alias: string) => `(select found from prior) and exists (select 1 from existing e where e.subscriber_id = ${alias}.subscriber_id and e.pn = ${alias}.pn)`;
  // The chunk's new lines as the groups read them: the ones the database prices and those priced
  // in JavaScript (no bindings inside).
  const lines = `((select c.pn, c.subscriber_id, c.due, c.amount_minor, c.discount_minor, ${others === null ? 'c.full_line is not true' : 'false'} as other, ${oldGroup('c')} as old
                  from cand c where not c.invoiced ${others === null ? '' : 'and c.full_line'} offset 0)
               ${others === null ? '' : `union all
               (select x.pn, x.subscriber_id, x.due, x.amount_minor, x.discount_minor, false, ${oldGroup('x')} from priced x)`})`;
  const text = `with prior as (
       select exists (select 1 from invoices i where i.subscriber_id > ? and i.subscriber_id <= ? and i.period_key = any(?::text[]) and i.status <> 'void' and i.kind = 'period') as found)${bind(opts.lo, opts.hi, keys)},
     cand as not materialized (
       select s.id as service_id, s.subscriber_id, t.pn, t.due, case when (select found from prior) then ${INVOICED} else false end as invoiced,
              ${sql.fullLine.sql}${bind(...sql.fullLine.bindings)}${others === null ? '' : ` and s.id <> all(case when t.pn = 0 then ?::int[] else ?::int[] end)${bind(idArray(others.filter((l) => l.period_key === opts.target.key).map((l) => l.service_id)), idArray(others.filter((l) => l.period_key !== opts.target.key).map((l) => l.service_id)))}`} as full_line,
              ${full}
         ${c.sql}${bind(...c.bindings)}),
     ${
       others === null
         ? ''
         : `priced as (
       select x.service_id, x.subscriber_id, ${pnOf('x.period_key')} as pn, x.due, ${LINE_COLUMNS.map((k) => `x.${k}`).join(', ')}
         from ${PRICED_RECORDSET}${bind(opts.target.key, rowsJson(others))}),
     `
     }existing as (
       select i.id, i.subscriber_id, ${pnOf('i.period_key')} as pn
         from invoices i
        where (select found from prior) and i.subscriber_id > ? and i.subscriber_id <= ? and i.period_key = any(?::text[]) and i.status <> 'void' and i.kind = 'period'${bind(opts.target.key, opts.lo, opts.hi, keys)}),
     groups as (${
       opts.grouped
         ? `
       select l.pn, l.subscriber_id, min(l.due) as due, sum(l.amount_minor)::bigint as subtotal, sum(l.discount_minor)::bigint as discount, count(*) as n,
              bool_or(l.other) as other, bool_or(l.old) as old, false as shared,
              sum(case when bool_or(l.old) then 0 else 1 end) over (order by l.pn, l.subscriber_id rows unbounded preceding) as rn
         from ${lines} l
        group by l.pn, l.subscriber_id`
         : `
       select l.pn, l.subscriber_id, l.due, l.amount_minor as subtotal, l.discount_minor as discount, 1::bigint as n, l.other, l.old,
              coalesce(l.subscriber_id = lag(l.subscriber_id) over w and l.pn = lag(l.pn) over w, false) as shared,
              sum(case when l.old then 0 else 1 end) over w as rn
         from ${lines} l
       window w as (order by l.pn, l.subscriber_id rows unbounded preceding)`
     }),
     totals as (
       select count(*) filter (where not old) as cnt,
              coalesce(sum(n), 0) as lines, coalesce(sum(subtotal - discount), 0) as total, coalesce(bool_or(other), false) as pending,
              coalesce(bool_or(shared), false) as shared
         from groups),
     counter as (
       insert into invoice_number_counters as k (series, last_value) select 'invoice', cnt from totals where cnt > 0 and not pending and not shared
       on conflict (series) do update set last_value = k.last_value + excluded.last_value, updated_at = now()
       returning last_value),
     new_invoices as (
       insert into invoices (number, subscriber_id, period_key, period_start, period_end, issue_date, due_date, currency,
                             subtotal_minor, discount_minor, total_minor, paid_minor, status, created_at, updated_at)
       select ?::text || lpad(q.seq::text, greatest(?::int, length(q.seq::text)), '0') || ?::text,
              g.subscriber_id, ${keyOf('g.pn', 'text')}, ${keyOf('g.pn', 'date')}, ${keyOf('g.pn', 'date')}, ?::date, g.due, ?::text,
              g.subtotal, g.discount, g.subtotal - g.discount, 0,
              case when g.subtotal - g.discount = 0 then 'paid' when g.due < ?::date then 'overdue' else 'issued' end, ?::timestamptz, ?::timestamptz
         from groups g
         cross join counter k
         cross join totals n
         cross join lateral (select k.last_value - n.cnt + g.rn as seq) q
        where not g.old
       returning id, subscriber_id, ${pnOf('period_key')} as pn)${bind(
         opts.number.prefix,
         opts.number.width,
         opts.number.suffix,
         opts.target.key,
         opts.next.key,
         opts.target.start,
         opts.next.start,
         opts.target.end,
         opts.next.end,
         opts.today,
         opts.currency,
         opts.today,
         opts.now,
         opts.now,
         opts.target.key,
       )},
     targets as (
       select id, subscriber_id, pn from new_invoices
       union all
       select id, subscriber_id, pn from existing where not (select pending or shared from totals)),
     new_lines as (
       insert into invoice_lines (invoice_id, service_id, period_key, ${cols}, created_at)
       select v.id, l.service_id, ${keyOf('l.pn', 'text')}, ${LINE_COLUMNS.map((k) => `l.${k}`).join(', ')}, ?::timestamptz
         from targets v
         join ((select service_id, subscriber_id, pn, ${cols} from cand where full_line and not invoiced offset 0)
               ${others === null ? '' : `union all
               (select service_id, subscriber_id, pn, ${cols} from priced)`}) l on l.subscriber_id = v.subscriber_id and l.pn = v.pn)${bind(opts.target.key, opts.next.key, opts.now)},
     made as (select min(id) as lo, max(id) as hi, count(*) as n from new_invoices),
     bound as (${bound.sql})${bind(...bound.bindings)}
     select x.*,
            case when ?::boolean or x.pending_charges or x.created_n <> coalesce(x.created_hi - x.created_lo + 1, 0)
                 then (select coalesce(string_agg(id::text || ':' || subscriber_id::text, ','), '') from new_invoices) end as created
       from (select case when (select found from prior) then (select count(*) from cand where invoiced) else 0 end as already,
                    n.lines, n.total, n.pending as others_pending, n.shared as regroup,
                    (select last_value from counter) as last_seq,
                    m.lo as created_lo, m.hi as created_hi, m.n as created_n,
                    (select coalesce(string_agg(e.id::text || ':' || e.subscriber_id::text, ','), '')
                       from existing e join groups g on g.subscriber_id = e.subscriber_id and g.pn = e.pn
                      where g.old and not n.pending and not n.shared) as extended,
                    exists (select 1 from adjustments a where a.status = 'pending' and a.direction = 'charge' and a.subscriber_id > ? and a.subscriber_id <= ?) as pending_charges,
                    (select hi from bound) as next_hi, (select n from bound) as next_n
               from totals n cross join made m
             offset 0) x${bind(opts.pairs, opts.lo, opts.hi)}`;
  const [r] = await rowsOf<ChunkRow>(trx, text, b);
  const pairs = (s: string) =>
    s === ''
      ? []
      : s.split(',').map((p) => {
          const cut = p.indexOf(':');
          return { id: Number(p.slice(0, cut)), subscriberId: Number(p.slice(cut + 1)) };
        });
  const created = r!.created === null ? null : pairs(r!.created);
  const [first, n] = [Number(r!.created_lo), Number(r!.created_n)];
  const createdIds: number[] = created ? created.map((i) => i.id) : new Array<number>(n);
  if (!created) for (let k = 0; k < n; k++) createdIds[k] = first + k;
  return {
    already: Number(r!.already),
    lines: Number(r!.lines),
    totalMinor: big(r!.total),
    createdIds,
    created,
    extended: pairs(r!.extended),
    lastSeq: r!.last_seq === null ? null : BigInt(r!.last_seq),
    pendingCharges: r!.pending_charges === true,
    othersPending: r!.others_pending === true,
    regroup: r!.regroup === true,
    next: chunkBound({ hi: r!.next_hi, n: r!.next_n }),
  };
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

/** Thrown inside a dry run's chunk transaction to roll it back with its outcome. */
class DryRunRollback extends Error {
  constructor(
    readonly outcome: ChunkOutcome,
    readonly skipped: SkippedService[],
  ) {
    super('dry run');
  }
}

function chunkSize(ctx: Pick<ServiceContext, 'env'>, opts: GenerateOptions): number {
  const fromEnv = Number(ctx.env.ISPCTL_BILLING_CHUNK ?? '');
  const n = opts.chunkServices ?? (Number.isInteger(fromEnv) && fromEnv > 0 ? fromEnv : DEFAULT_CHUNK_SERVICES);
  if (!Number.isInteger(n) || n < 1) throw invalid('INVALID_CHUNK', `A billing chunk must be a positive whole number of services, got ${n}.`);
  return n;
}

/**
 * Generates the invoices of a billing run. See docs/billing.md for the rules: periods start on
 * the billing day; postpaid services are billed for the target period (due issue date +
 * due-days), prepaid services for the next one (due at its start) and, in the period they
 * start, for that first partial period; partial periods and plan changes are prorated by days;
 * each line snapshots price and discount; services blocked for the whole period are skipped
 * unless bill-suspended-services is set. Runs in chunks of subscribers, each its own transaction
 * (see the top of this file).
 */
export async function generateInvoices(ctx: ServiceContext, opts: GenerateOptions = {}): Promise<GenerateResult> {
  // The settings table read once for the run: billing's settings, and what collections and the
  // "invoice issued" messages of every chunk read of it.
  const stored = await storedSettings(ctx.db);
  const settings = billingSettingsFrom(stored);
  const given = evaluateGivenFrom(stored);
  const issued = { notify: invoiceIssuedNotifyFrom(stored), config: given.notify };
  const numberFormat = parseInvoiceNumberFormat(settings.invoiceNumberFormat);
  const today = formatLocalDate(toLocalDate(ctx.clock.now(), settings.timezone));
  const periods = billingPeriods(settings, today, opts.period);
  if (opts.subscriberIds && opts.subscriberIds.length === 0) throw invalid('NO_SUBSCRIBERS', 'No subscribers to bill were given.');
  const size = chunkSize(ctx, opts);
  const progress = opts.onProgress ?? (() => undefined);
  const dryRun = opts.dryRun === true;
  const dues: Record<LineKind, string> = {
    postpaid: dueDateFor('postpaid', settings, today, periods.target),
    prepaid: dueDateFor('prepaid', settings, today, periods.next),
    'prepaid-first': dueDateFor('prepaid-first', settings, today, periods.target),
  };
  const sql = runSql(settings, periods, dues, opts.subscriberIds);
  const pieces = invoiceNumberPieces(numberFormat, today);
  const formatNumber = invoiceNumberFormatter(numberFormat, today);
  const lockKeys = [...new Set([periods.target.key, periods.next.key])].sort();

  progress({ phase: 'reading', done: 0, total: 1 });
  const plans = new Map<number, PlanPrice>(
    ((await ctx.db('plans').select('id', 'name', 'price_minor', 'currency')) as PlanRow[]).map((p) => [p.id, { id: p.id, name: p.name, priceMinor: BigInt(p.price_minor), currency: p.currency }]),
  );
  // How many services (for progress) and where the first chunk ends, in one statement; each
  // chunk's statement then reads where the next one ends.
  const scope = opts.subscriberIds ? 'where subscriber_id = any(?::int[])' : '';
  const firstBound = chunkBoundSql(0, size, opts.subscriberIds);
  const [head] = await rowsOf<ChunkBoundRow & { total: number }>(ctx.db, `select (select count(*)::int from services ${scope}) as total, b.* from (${firstBound.sql}) b`, [
    ...(opts.subscriberIds ? [idArray(opts.subscriberIds)] : []),
    ...firstBound.bindings,
  ]);
  const totalServices = head!.total;

  const result: GenerateResult = {
    period: periods.target,
    prepaidPeriod: periods.next,
    issueDate: today,
    currency: settings.currency,
    dryRun,
    invoices: 0,
    invoicesExtended: 0,
    lines: 0,
    totalMinor: 0n,
    alreadyInvoiced: 0,
    skipped: [],
    invoiceIds: [],
    firstNumber: null,
    lastNumber: null,
    creditAppliedMinor: 0n,
    jobIds: [],
    notifications: 0,
    chunks: 0,
  };
  let done = 0;
  // Whether chunks are written with their lines grouped into invoices from the start (see
  // writeChunk): once one chunk needed it, the rest of the run likely does too.
  let grouped = false;
  progress({ phase: 'invoices', done, total: totalServices });
  for (let after = 0, chunk = chunkBound(head!); chunk !== null; ) {
    const lo = after;
    const hi = chunk.hi;
    const work = async (trx: Knex.Transaction) => {
      // The chunk statement's CTEs (candidates, new invoices) and sorts hold a chunk's rows: with
      // the default work_mem (4 MB) they spill to temporary files at 25,000 services. (JIT, which
      // compiled a chunk's statements for longer than they ran, is off for every session:
      // SESSION_SETUP in db/connection.ts.)
      // Runs that touch the same periods wait for each other, one chunk at a time (in key order,
      // so never deadlock). One round trip for all of it.
      await trx.raw(
        `select set_config('work_mem', '64MB', true), ${lockKeys.map(() => 'pg_advisory_xact_lock(?::int, hashtext(?))').join(', ')}`,
        lockKeys.flatMap((key) => [BILLING_LOCK_NAMESPACE, `billing:${key}`]),
      );
      const now = ctx.clock.now();
      // Most chunks have only lines the database prices: the chunk statement is tried without
      // reading the others first, and writes nothing if it finds any. Then they are read and
      // priced (priceOthers) and the statement runs again with them. Likewise it is tried
      // without grouping lines into invoices, and runs again grouped if two lines share an
      // invoice; from then on the run's chunks are written grouped from the start.
      let others: { lines: PricedLineRow[]; skipped: SkippedService[] } | null = null;
      let out: ChunkOutcome;
      for (;;) {
        out = await writeChunk(trx, sql, { lo, hi, target: periods.target, next: periods.next, pairs: opts.subscriberIds !== undefined, others: others?.lines ?? null, grouped, today, currency: settings.currency, now, number: pieces, bound: { size, subscriberIds: opts.subscriberIds } });
        if (out.othersPending && others === null) others = await priceOthers(trx, ctx, settings, sql, plans, periods, dues, lo, hi);
        else if (out.regroup && !grouped) grouped = true;
        else break;
      }
      const skipped = others?.skipped ?? [];
      if (dryRun) throw new DryRunRollback(out, skipped);
      // New invoices went in with the totals and status of their lines; invoices that existed
      // and received lines get theirs recomputed. Then the ledger step every writer ends in, for
      // this chunk's subscribers.
      let scope: RebalanceScope;
      let changedInvoices: number[];
      if (out.created === null) {
        // The usual chunk (see ChunkOutcome.created): only the invoices that existed and
        // received lines are recomputed, whole; the new ones are handed over as the chunk's range.
        changedInvoices = out.extended.map((i) => i.id);
        const whole = [...new Set(out.extended.map((i) => i.subscriberId))];
        scope = { subscriberIds: whole, ...(out.createdIds.length ? { newInvoicesIn: { after: lo, upTo: hi } } : { newInvoicesOf: [] }) };
      } else {
        const touched = [...out.created, ...out.extended];
        const ownerOf = new Map(touched.map((i) => [i.id, i.subscriberId]));
        const linesChanged = out.extended.map((i) => i.id);
        // One-off charges waiting for the next invoice (adjustments) go onto these invoices (when
        // the chunk has any: most have none, and then 25,000 invoice ids need not travel).
        const charged = out.pendingCharges ? await attachPendingCharges(trx, touched.map((i) => i.id), now) : [];
        changedInvoices = [...new Set([...linesChanged, ...charged])];
        const changedOwners = new Set(changedInvoices.map((id) => ownerOf.get(id)));
        const subscribers = [...new Set(touched.map((i) => i.subscriberId))];
        const whole = changedOwners.has(undefined) ? subscribers : subscribers.filter((sid) => changedOwners.has(sid));
        const newInvoicesOf = subscribers.filter((sid) => !changedOwners.has(sid));
        // A run over everyone hands rebalance the chunk's range of subscriber ids rather than a
        // list of them (credit and collections are read by range, without 25,000 ids to build
        // into an array literal and parse back); a run for given subscribers, their list.
        scope = { subscriberIds: whole, ...(opts.subscriberIds || !newInvoicesOf.length ? { newInvoicesOf } : { newInvoicesIn: { after: lo, upTo: hi } }) };
      }
      const balanced = await rebalance(trx, ctx, scope, { linesChanged: changedInvoices, today, collections: { given } });
      // The "invoice issued" message of each new invoice (email with the PDF), unless turned off.
      const queued = await queueIssuedInvoices(trx, ctx, out.createdIds, issued);
      const mine = balanced.allocations.length ? new Set([...out.createdIds, ...out.extended.map((i) => i.id)]) : new Set<number>();
      const credit = balanced.allocations.filter((a) => mine.has(a.invoiceId)).reduce((s, a) => s + a.amountMinor, 0n);
      return { out, skipped, credit, jobIds: balanced.jobIds, notifications: queued?.queued ?? 0 };
    };
    let step: Awaited<ReturnType<typeof work>>;
    if (dryRun) {
      try {
        await ctx.db.transaction(async (trx) => void (await work(trx)));
        throw new Error('a dry run chunk committed');
      } catch (err) {
        if (!(err instanceof DryRunRollback)) throw err;
        // Numbers were drawn only to be given back: a dry run reports none.
        step = { out: err.outcome, skipped: err.skipped, credit: 0n, jobIds: [], notifications: 0 };
      }
    } else {
      step = await withTransaction(ctx.db, work);
    }
    const { out } = step;
    result.chunks++;
    result.alreadyInvoiced += out.already;
    result.invoices += out.createdIds.length;
    result.invoicesExtended += out.extended.length;
    result.lines += out.lines;
    result.totalMinor += out.totalMinor;
    result.skipped.push(...step.skipped);
    result.creditAppliedMinor += step.credit;
    result.jobIds.push(...step.jobIds);
    result.notifications += step.notifications;
    if (!dryRun) {
      for (const id of out.createdIds) result.invoiceIds.push(id);
      if (out.lastSeq !== null && out.createdIds.length) {
        result.firstNumber ??= formatNumber(out.lastSeq - BigInt(out.createdIds.length) + 1n);
        result.lastNumber = formatNumber(out.lastSeq);
      }
    }
    done = Math.min(totalServices, done + chunk.services);
    progress({ phase: 'invoices', done, total: totalServices });
    after = hi;
    chunk = out.next;
  }

  if (!dryRun) {
    await withTransaction(ctx.db, (trx) =>
      recordAudit(trx, ctx, {
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
          skipped: countBy(result.skipped.map((s) => s.reason)),
          subscribers: opts.subscriberIds ? opts.subscriberIds.length : 'all',
          chunks: result.chunks,
        },
      }),
    );
  }
  progress({ phase: 'done', done: 1, total: 1 });
  return result;
}

function countBy(items: string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const i of items) out[i] = (out[i] ?? 0) + 1;
  return out;
}
