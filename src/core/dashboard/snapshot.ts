// What the NOC dashboard shows, read in one go: access per router, today's collections and who
// is suspended next, today's money, routers and their queued work, a feed of recent events, and
// the daemon. A handful of set-based statements, whatever the number of subscribers; the TUI and
// `ispctl dashboard --json` only render what this returns.
import type { ServiceContext } from '../context.js';
import type { RouterRow as RouterTableRow } from '../db/rows.js';
import { big, rowsOf, type BigValue } from '../db/sql.js';
import type { Db } from '../db/tx.js';
import { daemonStatus } from '../daemon/status.js';
import { loadIspSettings } from '../settings/service.js';
import { addDays, billingPeriodFor, formatLocalDate, parseLocalDate, startOfDay, toLocalDate } from '../time.js';

export interface AccessCounts {
  active: number;
  throttled: number;
  blocked: number;
}

export interface RouterAccess extends AccessCounts {
  router: string;
}

export interface UpcomingSuspension {
  accountNo: string;
  fullName: string;
  invoice: string;
  balanceMinor: bigint;
  dueDate: string;
  /** The ISP date the collections run suspends them if nothing is paid (today: overdue already). */
  suspendOn: string;
}

export interface PaymentsByMethod {
  method: string;
  count: number;
  amountMinor: bigint;
}

export interface RouterRow {
  name: string;
  mode: string;
  status: string;
  lastContactAt: Date | null;
  lastError: string | null;
  /** Jobs pending or running. */
  queued: number;
  /** Pending jobs that failed at least once. */
  failed: number;
}

export type FeedKind = 'payment' | 'reminder' | 'warning' | 'suspension' | 'restoration' | 'admin_suspend' | 'admin_resume' | 'router';

export interface FeedEvent {
  at: Date;
  kind: FeedKind;
  /** Account number, or the router name for router events. */
  subject: string;
  name: string | null;
  /** Method of a payment, reason of a collections event, status of a router. */
  detail: string | null;
  amountMinor: bigint | null;
}

export interface DaemonSummary {
  running: boolean;
  engine: string;
  leader: { name: string; host: string; pid: number; since: Date | null } | null;
  instances: number;
  schedules: Array<{ schedule: string; when: string; lastFinishedAt: Date | null; lastStartedAt: Date | null; outcome: string; error: string | null }>;
}

export interface DashboardSnapshot {
  takenAt: Date;
  ispName: string;
  currency: string;
  timezone: string;
  /** Today on the ISP's calendar, YYYY-MM-DD. */
  today: string;
  access: { total: AccessCounts; routers: RouterAccess[] };
  collections: { today: { reminded: number; warned: number; suspended: number; restored: number }; next: UpcomingSuspension[] };
  money: { today: PaymentsByMethod[]; todayTotalMinor: bigint; period: { key: string; start: string; end: string; dueMinor: bigint; collectedMinor: bigint } };
  routers: RouterRow[];
  events: FeedEvent[];
  daemon: DaemonSummary;
}

export interface SnapshotOptions {
  /** How many upcoming suspensions (default 10). */
  nextLimit?: number;
  /** How many feed events (default 30). */
  eventLimit?: number;
}

/** A count (int8) as a number. */
const n = (v: BigValue | undefined) => Number(v ?? 0);
const date = (v: Date | string | null | undefined) => (v === null || v === undefined ? null : v instanceof Date ? v : new Date(String(v)));

export async function dashboardSnapshot(ctx: Pick<ServiceContext, 'db' | 'engine' | 'clock'>, opts: SnapshotOptions = {}): Promise<DashboardSnapshot> {
  const db = ctx.db;
  const settings = await loadIspSettings(db);
  const now = ctx.clock.now();
  const todayLocal = toLocalDate(now, settings.timezone);
  const today = formatLocalDate(todayLocal);
  const dayStart = startOfDay(todayLocal, settings.timezone);
  const dayEnd = startOfDay(addDays(todayLocal, 1), settings.timezone);
  const period = billingPeriodFor(todayLocal, settings.billingDay);

  const [access, collectedToday, next, payments, periodTotals, routers, events, daemon] = await Promise.all([
    accessByRouter(db, today),
    collectionsBetween(db, dayStart, dayEnd),
    upcomingSuspensions(db, today, settings.graceDays, opts.nextLimit ?? 10),
    paymentsBetween(db, dayStart, dayEnd),
    rowsOf<{ due: string; paid: string }>(
      db,
      `select coalesce(sum(total_minor), 0)::text as due, coalesce(sum(paid_minor), 0)::text as paid
         from invoices where period_key = ? and status not in ('void', 'draft')`,
      [period.key],
    ),
    routerRows(db),
    feed(db, opts.eventLimit ?? 30),
    daemonSummary(ctx),
  ]);
  const total = access.reduce<AccessCounts>((t, r) => ({ active: t.active + r.active, throttled: t.throttled + r.throttled, blocked: t.blocked + r.blocked }), { active: 0, throttled: 0, blocked: 0 });
  const pt = periodTotals[0];
  return {
    takenAt: now,
    ispName: settings.ispName,
    currency: settings.currency,
    timezone: settings.timezone,
    today,
    access: { total, routers: access },
    collections: { today: collectedToday, next },
    money: {
      today: payments,
      todayTotalMinor: payments.reduce((a, p) => a + p.amountMinor, 0n),
      period: { key: period.key, start: formatLocalDate(period.start), end: formatLocalDate(period.end), dueMinor: big(pt?.due), collectedMinor: big(pt?.paid) },
    },
    routers,
    events,
    daemon,
  };
}

async function accessByRouter(db: Db, today: string): Promise<RouterAccess[]> {
  const rows = await rowsOf<{ router: string; active: bigint; throttled: bigint; blocked: bigint }>(
    db,
    `select coalesce(r.name, '(no router)') as router,
            count(*) filter (where s.access_state = 'active') as active,
            count(*) filter (where s.access_state = 'throttled') as throttled,
            count(*) filter (where s.access_state = 'blocked') as blocked
       from services s left join routers r on r.id = s.router_id
      where s.ended_on is null or s.ended_on > ?::date
      group by r.name order by r.name`,
    [today],
  );
  return rows.map((x) => ({ router: x.router, active: n(x.active), throttled: n(x.throttled), blocked: n(x.blocked) }));
}

async function collectionsBetween(db: Db, from: Date, to: Date) {
  const rows = await rowsOf<{ kind: string; n: bigint }>(
    db,
    `select kind, count(distinct subscriber_id) as n from collection_events
      where occurred_at >= ? and occurred_at < ? and kind in ('reminder', 'warning', 'suspension', 'restoration')
      group by kind`,
    [from, to],
  );
  const by = new Map(rows.map((x) => [x.kind, n(x.n)]));
  return { reminded: by.get('reminder') ?? 0, warned: by.get('warning') ?? 0, suspended: by.get('suspension') ?? 0, restored: by.get('restoration') ?? 0 };
}

/**
 * Subscribers with an open invoice and a service not yet suspended, in the order collections
 * will suspend them: the day after the invoice's deadline (due date plus grace-days; prepaid
 * invoices have no grace), as the collections rules say.
 */
async function upcomingSuspensions(db: Db, today: string, graceDays: number, limit: number): Promise<UpcomingSuspension[]> {
  const rows = await rowsOf<{ account_no: string; full_name: string; number: string; balance: string; due: string; prepaid: boolean }>(
    db,
    `with o as (
       select distinct on (i.subscriber_id) i.subscriber_id, i.number, i.due_date, i.total_minor - i.paid_minor as balance,
              exists (select 1 from invoice_lines l join plans p on p.id = l.plan_id
                       where l.invoice_id = i.id and not l.voided and p.billing_type = 'prepaid') as prepaid
         from invoices i
        where i.status not in ('void', 'draft') and i.total_minor > i.paid_minor
        order by i.subscriber_id, i.due_date, i.id)
     select s.account_no, s.full_name, o.number, o.balance::text as balance, o.due_date::text as due, o.prepaid
       from o join subscribers s on s.id = o.subscriber_id
      where exists (select 1 from services v
                     where v.subscriber_id = s.id and v.admin_status = 'active'
                       and v.collection_status not in ('suspended', 'uncollectible')
                       and (v.ended_on is null or v.ended_on > ?::date))
      order by o.due_date, s.account_no
      limit ?`,
    [today, limit * 2],
  );
  return rows
    .map((x) => {
      const due = x.due;
      const deadline = addDays(parseLocalDate(due), x.prepaid ? 0 : graceDays);
      const suspendOn = formatLocalDate(addDays(deadline, 1));
      return { accountNo: x.account_no, fullName: x.full_name, invoice: x.number, balanceMinor: big(x.balance), dueDate: due, suspendOn: suspendOn < today ? today : suspendOn };
    })
    .sort((a, b) => a.suspendOn.localeCompare(b.suspendOn) || a.accountNo.localeCompare(b.accountNo))
    .slice(0, limit);
}

async function paymentsBetween(db: Db, from: Date, to: Date): Promise<PaymentsByMethod[]> {
  const rows = await rowsOf<{ method: string; n: bigint; amount: string }>(
    db,
    `select method, count(*) as n, sum(amount_minor)::text as amount from payments
      where voided_at is null and received_at >= ? and received_at < ?
      group by method order by sum(amount_minor) desc, method`,
    [from, to],
  );
  return rows.map((x) => ({ method: x.method, count: n(x.n), amountMinor: big(x.amount) }));
}

async function routerRows(db: Db): Promise<RouterRow[]> {
  const rows = await rowsOf<Pick<RouterTableRow, 'name' | 'mode' | 'status' | 'last_contact_at' | 'last_error'> & { queued: bigint; failed: bigint }>(
    db,
    `select r.name, r.mode, r.status, r.last_contact_at, r.last_error,
            count(j.id) as queued, count(j.id) filter (where j.status = 'pending' and j.attempts > 0) as failed
       from routers r left join provisioning_jobs j on j.router_id = r.id and j.status in ('pending', 'running')
      group by r.id order by r.name`,
  );
  return rows.map((x) => ({
    name: x.name,
    mode: x.mode,
    status: x.status,
    lastContactAt: date(x.last_contact_at),
    lastError: x.last_error ?? null,
    queued: n(x.queued),
    failed: n(x.failed),
  }));
}

async function feed(db: Db, limit: number): Promise<FeedEvent[]> {
  const rows = await rowsOf<{ at: Date; kind: FeedKind; subject: string | null; name: string | null; detail: string | null; amount: string | null }>(
    db,
    `select * from (
       (select p.recorded_at as at, 'payment' as kind, s.account_no as subject, s.full_name as name, p.method as detail, p.amount_minor::text as amount
          from payments p join subscribers s on s.id = p.subscriber_id where p.voided_at is null order by p.recorded_at desc limit ?)
       union all
       (select e.occurred_at, e.kind, s.account_no, s.full_name, e.reason, null
          from collection_events e join subscribers s on s.id = e.subscriber_id
         where e.kind in ('reminder', 'warning', 'suspension', 'restoration') order by e.occurred_at desc limit ?)
       union all
       (select a.at, 'admin_' || a.action, a.entity_id, s.full_name, a.actor, null
          from audit_log a left join subscribers s on s.account_no = a.entity_id
         where a.entity_type = 'subscriber' and a.action in ('suspend', 'resume') order by a.at desc limit ?)
       union all
       (select r.status_changed_at, 'router', r.name, null, r.status, null from routers r where r.status_changed_at is not null)
     ) f order by at desc limit ?`,
    [limit, limit, limit, limit],
  );
  return rows.map((x) => ({
    at: date(x.at)!,
    kind: x.kind,
    subject: x.subject ?? '',
    name: x.name ?? null,
    detail: x.detail ?? null,
    amountMinor: x.amount === null || x.amount === undefined ? null : big(x.amount),
  }));
}

async function daemonSummary(ctx: Pick<ServiceContext, 'db' | 'engine' | 'clock'>): Promise<DaemonSummary> {
  const d = await daemonStatus(ctx);
  return {
    running: d.running,
    engine: d.engine,
    leader: d.leader ? { name: d.leader.name, host: d.leader.host, pid: d.leader.pid, since: d.leader.leaderSince } : null,
    instances: d.instances.filter((i) => i.state === 'running').length,
    schedules: d.schedules.map((s) => ({ schedule: s.schedule, when: s.when, lastStartedAt: s.lastStartedAt, lastFinishedAt: s.lastFinishedAt, outcome: s.outcome, error: s.error })),
  };
}
