// Reports for the office: aging of what is owed, the day's collections by method and cashier,
// revenue by month and plan with ARPU, suspended and churned counts. Each is a handful of
// set-based queries (GROUP BY in the database), so they stay fast at 100,000 subscribers.
// Amounts are minor units; dates are the ISP's calendar.
import type { Db } from '../db/tx.js';
import { invalid } from '../errors.js';
import { loadIspSettings } from '../settings/service.js';
import { addDays, formatLocalDate, parseLocalDate, startOfDay, toLocalDate } from '../time.js';
import { big, rowsOf, type BigValue } from '../db/sql.js';
import { totalCredit } from '../ledger/read-model.js';
import { errors } from '../error-catalogue.js';

/** A sum per month (`YYYY-MM`); sums of bigint columns come back as numeric. */
type MonthAmount = { month: string; amount: BigValue };
/** A count per month. */
type MonthCount = { month: string; n: bigint };

/** Statuses of issued invoices that may still be owed (paid, void and draft ones are not). */
const OPEN_STATUS_LIST = `'issued', 'sent', 'partially_paid', 'overdue'`;

/** Reports sort and hash a few hundred thousand rows: give them memory so nothing spills to disk. */
async function withReportMemory<T>(db: Db, fn: (trx: Db) => Promise<T>): Promise<T> {
  return db.transaction(async (trx) => {
    await trx.raw(`set local work_mem = '64MB'`);
    return fn(trx);
  });
}

// ---- aging ----------------------------------------------------------------------------------

export const AGING_BUCKETS = ['current', '1-30', '31-60', '61-90', '90+'] as const;
export type AgingBucket = (typeof AGING_BUCKETS)[number];

export interface AgingRow {
  bucket: AgingBucket;
  invoices: number;
  subscribers: number;
  amountMinor: bigint;
}

export interface AgingSubscriberRow {
  accountNo: string;
  name: string;
  totalMinor: bigint;
  buckets: Record<AgingBucket, bigint>;
  oldestDueDate: string;
}

export interface AgingReport {
  asOf: string;
  currency: string;
  rows: AgingRow[];
  totalMinor: bigint;
  /** Payment money not allocated to any invoice (credit on account), across all subscribers. */
  unappliedCreditMinor: bigint;
  /** With `detail`: the subscribers who owe most, with their buckets. */
  subscribers?: AgingSubscriberRow[];
}

const BUCKET_SQL = `case when d <= 0 then 'current' when d <= 30 then '1-30' when d <= 60 then '31-60' when d <= 90 then '61-90' else '90+' end`;

/** What is owed on open invoices, by days past the due date as of `asOf` (default today). */
export async function agingReport(db: Db, opts: { asOf?: string; now: Date; detail?: boolean; limit?: number }): Promise<AgingReport> {
  return withReportMemory(db, (trx) => agingReportIn(trx, opts));
}

async function agingReportIn(db: Db, opts: { asOf?: string; now: Date; detail?: boolean; limit?: number }): Promise<AgingReport> {
  const s = await loadIspSettings(db);
  const asOf = opts.asOf ? formatLocalDate(parseLocalDate(opts.asOf, 'as-of date')) : formatLocalDate(toLocalDate(opts.now, s.timezone));
  // Open invoices from the ledger's read model (what is still owed is kept by the rebalance
  // step), so the scan touches open invoices only, through invoices_status_due_date_idx.
  const open = `
    with open as materialized (
      select i.subscriber_id, i.open_minor as bal, (?::date - i.due_date) as d, i.due_date
        from ledger_invoices i
       where i.status in (${OPEN_STATUS_LIST}) and i.open_minor > 0 and i.issue_date <= ?::date
    )`;
  const rows = await rowsOf<{ bucket: string; invoices: bigint; subscribers: bigint; amount: BigValue }>(
    db,
    `${open} select ${BUCKET_SQL} as bucket, count(*) as invoices, count(distinct subscriber_id) as subscribers, sum(bal) as amount from open group by 1`,
    [asOf, asOf],
  );
  const by = new Map(rows.map((r) => [r.bucket, r]));
  const out: AgingRow[] = AGING_BUCKETS.map((b) => ({
    bucket: b,
    invoices: Number(by.get(b)?.invoices ?? 0),
    subscribers: Number(by.get(b)?.subscribers ?? 0),
    amountMinor: big(by.get(b)?.amount),
  }));
  // Credit on account = money received − money allocated (voiding a payment reverses its
  // allocations, and allocations never exceed their payment): two scans, no join.
  const report: AgingReport = { asOf, currency: s.currency, rows: out, totalMinor: out.reduce((t, r) => t + r.amountMinor, 0n), unappliedCreditMinor: await totalCredit(db) };
  if (opts.detail) {
    const detail = await rowsOf<{ account_no: string; full_name: string; total: BigValue; oldest: string; b0: BigValue; b1: BigValue; b2: BigValue; b3: BigValue; b4: BigValue }>(
        db,
        `${open}
         select s.account_no, s.full_name, x.*
           from (select subscriber_id, sum(bal) as total, min(due_date)::text as oldest,
                        sum(bal) filter (where d <= 0) as b0, sum(bal) filter (where d between 1 and 30) as b1,
                        sum(bal) filter (where d between 31 and 60) as b2, sum(bal) filter (where d between 61 and 90) as b3,
                        sum(bal) filter (where d > 90) as b4
                   from open group by subscriber_id order by sum(bal) desc, subscriber_id limit ?) x
           join subscribers s on s.id = x.subscriber_id
          order by x.total desc, s.account_no`,
        [asOf, asOf, opts.limit ?? 50],
    );
    report.subscribers = detail.map((r) => ({
      accountNo: r.account_no,
      name: r.full_name,
      totalMinor: big(r.total),
      oldestDueDate: r.oldest,
      buckets: { current: big(r.b0), '1-30': big(r.b1), '31-60': big(r.b2), '61-90': big(r.b3), '90+': big(r.b4) },
    }));
  }
  return report;
}

// ---- collections ----------------------------------------------------------------------------

export interface CollectionsRow {
  day: string;
  method: string;
  recordedBy: string;
  payments: number;
  amountMinor: bigint;
}

export interface CollectionsReport {
  from: string;
  to: string;
  currency: string;
  /** One row per day, method and the OS user (or webhook/import) who recorded the payments. */
  rows: CollectionsRow[];
  byDay: Array<{ day: string; payments: number; amountMinor: bigint }>;
  byMethod: Array<{ method: string; payments: number; amountMinor: bigint }>;
  byRecorder: Array<{ recordedBy: string; payments: number; amountMinor: bigint }>;
  payments: number;
  totalMinor: bigint;
  /** Payments received in the period and voided since: not counted above. */
  voided: { payments: number; amountMinor: bigint };
}

function dateArg(raw: string | undefined, what: string, fallback: string): string {
  return raw ? formatLocalDate(parseLocalDate(raw, what)) : fallback;
}

/**
 * Money received from `from` to `to` (ISP dates, inclusive), by day, method and recorder, for
 * the cashier's end-of-day count. Credits (adjustments) are not money and are left out; voided
 * payments are counted apart.
 */
export async function collectionsReport(db: Db, opts: { from?: string; to?: string; now: Date }): Promise<CollectionsReport> {
  return withReportMemory(db, (trx) => collectionsReportIn(trx, opts));
}

async function collectionsReportIn(db: Db, opts: { from?: string; to?: string; now: Date }): Promise<CollectionsReport> {
  const s = await loadIspSettings(db);
  const today = formatLocalDate(toLocalDate(opts.now, s.timezone));
  const from = dateArg(opts.from, 'from date', today);
  const to = dateArg(opts.to, 'to date', opts.from ? from : today);
  if (to < from) throw errors.dateRangeReversed(from, to);
  const start = startOfDay(parseLocalDate(from), s.timezone);
  const end = startOfDay(addDays(parseLocalDate(to), 1), s.timezone);
  const rows = await rowsOf<{ day: string; method: string; recorded_by: string; n: bigint; amount: BigValue; vn: bigint; vamount: BigValue }>(
      db,
      `select to_char(p.received_at at time zone ?, 'YYYY-MM-DD') as day, p.method, coalesce(p.recorded_by, 'unknown') as recorded_by,
              count(*) filter (where p.voided_at is null) as n, coalesce(sum(p.amount_minor) filter (where p.voided_at is null), 0) as amount,
              count(*) filter (where p.voided_at is not null) as vn, coalesce(sum(p.amount_minor) filter (where p.voided_at is not null), 0) as vamount
         from payments p
        where p.received_at >= ?::timestamptz and p.received_at < ?::timestamptz and p.method <> 'credit'
        group by 1, 2, 3
        order by 1, 2, 3`,
      [s.timezone, start, end],
  );
  const list: CollectionsRow[] = rows
    .filter((r) => Number(r.n) > 0)
    .map((r) => ({ day: r.day, method: r.method, recordedBy: r.recorded_by, payments: Number(r.n), amountMinor: big(r.amount) }));
  const group = <K extends string>(key: (r: CollectionsRow) => string, name: K) => {
    const m = new Map<string, { payments: number; amountMinor: bigint }>();
    for (const r of list) {
      const g = m.get(key(r)) ?? { payments: 0, amountMinor: 0n };
      g.payments += r.payments;
      g.amountMinor += r.amountMinor;
      m.set(key(r), g);
    }
    return [...m.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([k, v]) => ({ [name]: k, ...v }) as { [P in K]: string } & { payments: number; amountMinor: bigint });
  };
  return {
    from,
    to,
    currency: s.currency,
    rows: list,
    byDay: group((r) => r.day, 'day'),
    byMethod: group((r) => r.method, 'method'),
    byRecorder: group((r) => r.recordedBy, 'recordedBy'),
    payments: list.reduce((t, r) => t + r.payments, 0),
    totalMinor: list.reduce((t, r) => t + r.amountMinor, 0n),
    voided: { payments: rows.reduce((t, r) => t + Number(r.vn), 0), amountMinor: rows.reduce((t, r) => t + big(r.vamount), 0n) },
  };
}

// ---- revenue --------------------------------------------------------------------------------

export interface RevenueMonth {
  month: string;
  /** Invoiced for the month's periods (service lines and one-off charges), not void. */
  billedMinor: bigint;
  /** Credits granted in the month (rebates, goodwill, credit memos). */
  creditsMinor: bigint;
  netMinor: bigint;
  /** Money received in the month. */
  collectedMinor: bigint;
  /** Subscribers billed for the month. */
  subscribers: number;
  /** Average revenue per billed subscriber: net ÷ subscribers (half up). */
  arpuMinor: bigint;
  /** Services that ended in the month. */
  churned: number;
}

export interface RevenueByPlan {
  month: string;
  plan: string;
  /** Invoice lines: services billed on the plan (one-off charges: charges). */
  services: number;
  billedMinor: bigint;
}

export interface RevenueReport {
  from: string;
  to: string;
  currency: string;
  months: RevenueMonth[];
  byPlan: RevenueByPlan[];
  /** Services now: active (not ended), suspended for non-payment, uncollectible, admin-suspended. */
  services: { active: number; suspended: number; uncollectible: number; adminSuspended: number };
}

/**
 * A month flag (`YYYY-MM`) of report revenue, checked without a database.
 * @throws IspctlError INVALID_MONTH
 */
export function monthArg(raw: string | undefined, what: string): string | undefined {
  if (raw === undefined) return undefined;
  const m = String(raw).trim();
  if (!/^\d{4}-(0[1-9]|1[0-2])$/.test(m)) throw invalid('INVALID_MONTH', `${what} must be a month written YYYY-MM, got ${JSON.stringify(raw)}.`, ['--from 2026-01 --to 2026-12']);
  return m;
}

function shiftMonth(month: string, by: number): string {
  const [y, m] = month.split('-').map(Number) as [number, number];
  const t = y * 12 + (m - 1) + by;
  return `${Math.floor(t / 12)}-${String((t % 12) + 1).padStart(2, '0')}`;
}

/** Revenue by month (billing period) and plan, with collections, credits, ARPU and churn. Default: the last 12 months. */
export async function revenueReport(db: Db, opts: { from?: string; to?: string; now: Date }): Promise<RevenueReport> {
  return withReportMemory(db, (trx) => revenueReportIn(trx, opts));
}

async function revenueReportIn(db: Db, opts: { from?: string; to?: string; now: Date }): Promise<RevenueReport> {
  const s = await loadIspSettings(db);
  const thisMonth = formatLocalDate(toLocalDate(opts.now, s.timezone)).slice(0, 7);
  const to = monthArg(opts.to, '--to') ?? thisMonth;
  const from = monthArg(opts.from, '--from') ?? shiftMonth(to, -11);
  if (to < from) throw errors.dateRangeReversed(from, to);
  const start = startOfDay(parseLocalDate(`${from}-01`), s.timezone);
  const end = startOfDay(parseLocalDate(`${shiftMonth(to, 1)}-01`), s.timezone);
  // Lines carry their period and plan; lines of void invoices are marked voided.
  const plans = await rowsOf<{ month: string; plan: string; services: bigint; billed: BigValue }>(
    db,
    `select x.period_key as month, coalesce(pl.name, 'One-off charges') as plan, x.services, x.billed
       from (select period_key, plan_id, count(*) as services, sum(total_minor) as billed
               from invoice_lines where not voided and period_key between ? and ? group by 1, 2) x
       left join plans pl on pl.id = x.plan_id
      order by 1, 2`,
    [from, to],
  );
  const credits = await rowsOf<MonthAmount>(
      db,
      `select to_char(created_at at time zone ?, 'YYYY-MM') as month, sum(amount_minor) as amount
         from adjustments where direction = 'credit' and status <> 'void' and created_at >= ?::timestamptz and created_at < ?::timestamptz
        group by 1`,
      [s.timezone, start, end],
    );
  const collected = await rowsOf<MonthAmount>(
      db,
      `select to_char(received_at at time zone ?, 'YYYY-MM') as month, sum(amount_minor) as amount
         from payments where voided_at is null and method <> 'credit' and received_at >= ?::timestamptz and received_at < ?::timestamptz
        group by 1`,
      [s.timezone, start, end],
    );
  const churn = await rowsOf<MonthCount>(db, `select to_char(ended_on, 'YYYY-MM') as month, count(*) as n from services where ended_on >= ?::date and ended_on < ?::date group by 1`, [`${from}-01`, `${shiftMonth(to, 1)}-01`]);
  const services = await rowsOf<{ active: bigint; suspended: bigint; uncollectible: bigint; admin_suspended: bigint }>(
      db,
      `select count(*) filter (where ended_on is null) as active,
              count(*) filter (where ended_on is null and collection_status = 'suspended') as suspended,
              count(*) filter (where ended_on is null and collection_status = 'uncollectible') as uncollectible,
              count(*) filter (where ended_on is null and admin_status = 'suspended') as admin_suspended
         from services`,
    );

  const byPlan: RevenueByPlan[] = plans.map((r) => ({ month: r.month, plan: r.plan, services: Number(r.services), billedMinor: big(r.billed) }));
  // One period invoice per subscriber and period (a unique key): counting them counts subscribers.
  const subs = await rowsOf<MonthCount>(
    db,
    `select period_key as month, count(*) as n from invoices
      where status not in ('void', 'draft') and kind = 'period' and period_key between ? and ? group by 1`,
    [from, to],
  );
  const amounts = (rows: MonthAmount[]) => new Map(rows.map((r) => [r.month, r.amount]));
  const counts = (rows: MonthCount[]) => new Map(rows.map((r) => [r.month, r.n]));
  const creditBy = amounts(credits);
  const collectedBy = amounts(collected);
  const churnBy = counts(churn);
  const subsBy = counts(subs);
  const months: RevenueMonth[] = [];
  for (let m = from; m <= to; m = shiftMonth(m, 1)) {
    const billed = byPlan.filter((p) => p.month === m).reduce((t, p) => t + p.billedMinor, 0n);
    const creditsMinor = big(creditBy.get(m));
    const net = billed - creditsMinor;
    const n = Number(subsBy.get(m) ?? 0);
    months.push({
      month: m,
      billedMinor: billed,
      creditsMinor,
      netMinor: net,
      collectedMinor: big(collectedBy.get(m)),
      subscribers: n,
      arpuMinor: n > 0 ? (net * 2n + BigInt(n)) / (2n * BigInt(n)) : 0n,
      churned: Number(churnBy.get(m) ?? 0),
    });
  }
  const sv = services[0];
  return {
    from,
    to,
    currency: s.currency,
    months,
    byPlan,
    services: { active: Number(sv?.active ?? 0), suspended: Number(sv?.suspended ?? 0), uncollectible: Number(sv?.uncollectible ?? 0), adminSuspended: Number(sv?.admin_suspended ?? 0) },
  };
}

/** RFC 4180 CSV (the one encoder, in core/csv.ts). */
export { toCsv } from '../csv.js';
