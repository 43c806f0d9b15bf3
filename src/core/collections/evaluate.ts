// The collections state machine. From the invoices and the settings it moves each subscriber's
// services through current → reminded → warned → suspended, and back: restored the moment
// nothing is past due beyond grace, current once nothing is due at all. Set-based: a handful
// of statements whatever the number of subscribers.
//
// Rules (today is the ISP's calendar date):
// - An invoice is open while it is neither void nor draft and total > paid. Its deadline is the
//   due date plus grace-days (postpaid), or the due date itself (prepaid: no grace).
// - suspended: some open invoice is past its deadline and the overdue amount exceeds the
//   subscriber's unallocated credit. A partial payment leaves the rest owed: still suspended
//   once grace has passed on it.
// - warned: an open invoice's deadline is less than warning-days away.
// - reminded: an open invoice reached a reminder offset (reminder-days, relative to its due
//   date); each offset of each invoice reminds once.
// - restored: a billing-suspended service with nothing past due beyond grace: access returns
//   (automatic reconnection). An admin-suspended service goes to current instead: its access
//   stays blocked by the policy, and a payment never lifts an admin suspension.
// - current: nothing in any window any more (after reminded, warned or restored).
// - uncollectible services and ended services are left alone.
//
// Every change is conditioned on the status it was computed from (`where collection_status =
// …`), after the subscribers are locked (PostgreSQL), and every event is recorded once under a
// unique key, so two runs at once, or a run and a payment at once, cannot double anything.
import type { AdminStatus, CollectionStatus } from '../access/policy.js';
import type { ServiceContext } from '../context.js';
import type { Db } from '../db/tx.js';
import { recordAudit } from '../audit.js';
import { formatMoney } from '../money.js';
import { loadNotifyConfig, notifyConfigFrom, type NotifyConfig } from '../notify/config.js';
import { linkSettingsFrom, type LinkSettings } from '../intake/links.js';
import { networkSettingsFrom } from '../access/settings.js';
import { settingViews, type StoredSettings } from '../settings/service.js';
import { queueNotifications, type QueueRequest, type Recipient } from '../notify/outbox.js';
import { messageDate, messageMoney, type TemplateName } from '../notify/templates.js';
import { changeCollectionStatuses, type CollectionStatusChange, type StatusWriteSettings } from '../provisioning/access.js';
import { addDays, diffDays, formatLocalDate, parseLocalDate, toLocalDate } from '../time.js';
import { collectionSettingsFrom, loadCollectionSettings, type CollectionSettings } from './config.js';
import { loadPause, type CollectionsPause } from './pause-state.js';
import { big, chunks, idArray, rowsJson, rowsOf, subscriberScope, textArray, type SubscriberRange } from '../db/sql.js';

export type CollectionEventKind = 'reminder' | 'warning' | 'suspension' | 'restoration' | 'current';

export interface ServiceTransition {
  serviceId: number;
  from: CollectionStatus;
  to: CollectionStatus;
  adminStatus: AdminStatus;
}

/** One event for one subscriber: what happens, why, and to which of their services. */
export interface CollectionTransition {
  subscriberId: number;
  accountNo: string;
  fullName: string;
  kind: CollectionEventKind;
  eventKey: string;
  invoiceId: number | null;
  invoiceNumber: string | null;
  /** Amount the event is about (overdue, due soon, the invoice's), minor units. */
  amountMinor: bigint;
  reason: string;
  services: ServiceTransition[];
}

export interface EvaluateOptions {
  /** Only these subscribers (a payment evaluates its payer). Default: everyone. */
  subscriberIds?: number[];
  /** With subscriberIds: also the subscribers with ids in this range (a billing chunk, without a list of its ids). */
  subscriberRange?: SubscriberRange;
  /** The ISP date to evaluate on, YYYY-MM-DD. Default: today on the ISP's calendar. */
  today?: string;
  /** Work out what would happen and change nothing. */
  dryRun?: boolean;
  /**
   * The most services this evaluation may suspend (collections run, the daemon: the setting
   * collections-max-suspensions). Over it, no one is suspended (suspensionsHeld says why).
   * Undefined or null: no cap (a payment, a void).
   */
  maxSuspensions?: number | null;
  /**
   * Hold every suspension back as over this cap, without counting or recording the alert: a
   * collections run counted the whole run before its first chunk, and recorded the alert once.
   */
  overCap?: number | null;
  /** The caller locked these subscribers (FOR UPDATE, in id order) in this transaction: read once, no second lock. */
  locked?: boolean;
  /** One chunk of a collections run: its audit row says `run`, not `evaluate`. */
  run?: boolean;
  /**
   * What a collections run read once for all its chunks (settings, router modes) and the pause
   * its chunk read with its subscribers' lock; without it, each is read here.
   */
  given?: EvaluateGiven;
  /** Queue the router work held by this runner (see EnqueueOptions.holder in provisioning/jobs.ts). */
  jobHolder?: string;
}

/** Read once by a caller that evaluates many times (a collections run, per run or per chunk). */
export interface EvaluateGiven {
  settings: CollectionSettings;
  notify: NotifyConfig;
  links: LinkSettings;
  statusWrite: StatusWriteSettings;
  /** The pause as this chunk read it (null: not paused; left out: read here if a suspension is due, as a payment does). */
  paused?: CollectionsPause | null;
}

/**
 * What one evaluation reads, from the settings its caller read already (storedSettings): a
 * payment reads the settings table once. The router modes are read by changeCollectionStatuses
 * when a service on a router changes (none given), the pause here when a suspension is due.
 */
export function evaluateGivenFrom(stored: StoredSettings): EvaluateGiven {
  const views = settingViews(stored);
  const settings = collectionSettingsFrom(stored);
  return {
    settings,
    notify: notifyConfigFrom(stored),
    links: linkSettingsFrom(views),
    statusWrite: { network: networkSettingsFrom(views), timezone: settings.timezone, routers: new Map() },
  };
}

/** Suspensions that were due and held back: collections is paused, or the run was over its cap. */
export interface SuspensionsHeld {
  reason: 'paused' | 'cap';
  /** Subscribers and services that would have been suspended. */
  subscribers: number;
  services: number;
  /** The cap (reason cap). */
  limit: number | null;
}

export interface EvaluateResult {
  today: string;
  dryRun: boolean;
  /** Subscriber ids, by what happened to them. */
  reminded: number[];
  warned: number[];
  suspended: number[];
  restored: number[];
  /** Back to current (paid up, or nothing due any more). */
  cleared: number[];
  /** Provisioning jobs queued for services whose suspension started or ended. */
  jobIds: number[];
  /** Events recorded. */
  events: number;
  /** Messages queued (rows in the outbox). */
  notifications: number;
  /** Messages that did not render (stored as failed, with the reason). */
  notificationErrors: Array<{ eventKey: string; channel: string; error: string }>;
  transitions: CollectionTransition[];
  /**
   * Suspensions held back by a pause or the per-run cap (null: none were). In a dry run over the
   * cap: those a real run would hold back, while the plan (transitions, suspended) shows them.
   */
  suspensionsHeld: SuspensionsHeld | null;
}

interface Facts {
  subscriberId: number;
  fullName: string;
  accountNo: string;
  email: string | null;
  phone: string | null;
  /** Extension (promise to pay): not suspended up to and including this ISP date. */
  holdUntil: string | null;
  credit: bigint;
  openBalance: bigint;
  overdueBalance: bigint;
  warnBalance: bigint;
  remindBalance: bigint;
  overdueInv: InvoiceFact | null;
  warnInv: InvoiceFact | null;
  remindInv: InvoiceFact | null;
}

interface InvoiceFact {
  id: number;
  number: string;
  due: string;
  deadline: string;
  balance: bigint;
}

type Band = 'suspended' | 'warned' | 'reminded' | 'current';

/** fn with each result kept: amounts and dates repeat for thousands of subscribers in a mass run. */
function memo<K, V>(fn: (k: K) => V): (k: K) => V {
  const m = new Map<K, V>();
  return (k: K): V => {
    let v = m.get(k);
    if (v === undefined) m.set(k, (v = fn(k)));
    return v;
  };
}

/** Past due beyond grace, but with an extension (promise to pay) running today. */
function onExtension(f: Facts, today: string): boolean {
  return f.holdUntil !== null && f.holdUntil >= today;
}

function plusDays(date: string, days: number): string {
  return formatLocalDate(addDays(parseLocalDate(date), days));
}

/** Today on the ISP's calendar. */
export function collectionsToday(ctx: Pick<ServiceContext, 'clock'>, settings: Pick<CollectionSettings, 'timezone'>): string {
  return formatLocalDate(toLocalDate(ctx.clock.now(), settings.timezone));
}

/** A candidate subscriber with one of their open invoices (or none), as readEvaluation reads them. */
interface EvaluationRow {
  sid: number;
  full_name: string;
  account_no: string;
  email: string | null;
  phone: string | null;
  hold_until: string | null;
  credit: string;
  invoice_id: bigint | null;
  number: string | null;
  due: string | null;
  prepaid: boolean;
  balance: string | null;
  /** The subscriber's candidate services, "id status admin_status" joined by commas, in id order. */
  services: string;
  /** Suspension events recorded for the subscriber so far. */
  suspensions: number;
}

/** Candidates: services not ended and not uncollectible that are off current or owe something in a window. */
function candidateWhere(today: string, horizon: string, subscriberIds: number[] | undefined, range?: SubscriberRange): { sql: string; bindings: unknown[] } {
  const within = subscriberIds ? subscriberScope('s.subscriber_id', subscriberIds, range) : undefined;
  // The scope again on the invoices: PostgreSQL may hash them all for the exists otherwise.
  const invoicesWithin = subscriberIds ? subscriberScope('i.subscriber_id', subscriberIds, range) : undefined;
  const bindings: unknown[] = [today];
  if (within) bindings.push(...within.bindings);
  bindings.push(horizon);
  if (invoicesWithin) bindings.push(...invoicesWithin.bindings);
  return {
    sql: `(s.ended_on is null or s.ended_on > ?::date)
        and s.collection_status <> 'uncollectible'
        ${within ? `and ${within.sql}` : ''}
        and (s.collection_status <> 'current'
             or exists (select 1 from ledger_invoices i
                         where i.subscriber_id = s.subscriber_id and i.open_minor > 0 and i.due_date <= ?::date
                           ${invoicesWithin ? `and ${invoicesWithin.sql}` : ''}))`,
    bindings,
  };
}

/** The candidate services only (before their subscribers are locked: who to lock). */
async function candidateSubscribers(db: Db, today: string, horizon: string, subscriberIds: number[] | undefined, range?: SubscriberRange): Promise<number[]> {
  const where = candidateWhere(today, horizon, subscriberIds, range);
  const r = await rowsOf<{ subscriber_id: number }>(db, `select distinct s.subscriber_id from services s where ${where.sql} order by s.subscriber_id`, where.bindings as never);
  return r.map((x) => Number(x.subscriber_id));
}

interface Candidate {
  id: number;
  subscriberId: number;
  status: CollectionStatus;
  admin: AdminStatus;
}

/** What the state machine decides on, read in one statement. */
interface Evaluation {
  /** Candidate services, in id order. */
  services: Candidate[];
  facts: Map<number, Facts>;
  /** Suspension events recorded so far, by subscriber (episode numbers). */
  suspensionCounts: Map<number, number>;
}

/**
 * The candidate services with, per subscriber who has one, the facts: balances by window and
 * the invoice each window is about, and the suspensions recorded so far. One statement reads
 * the candidates (grouped per subscriber), the subscribers with their open invoices (and
 * whether each is prepaid), unallocated credit and suspension count; the windows are summed
 * here, on ISP dates compared as YYYY-MM-DD strings.
 */
async function readEvaluation(db: Db, today: string, horizon: string, subscriberIds: number[] | undefined, range: SubscriberRange | undefined, s: CollectionSettings): Promise<Evaluation> {
  const where = candidateWhere(today, horizon, subscriberIds, range);
  // The scope again on the invoices and payments read, so that they are read by their index
  // for the subscribers in scope rather than whole and joined.
  const within = (col: string) => (subscriberIds ? subscriberScope(col, subscriberIds, range) : { sql: 'true', bindings: [] });
  const invoicesIn = within('i.subscriber_id');
  const paymentsIn = within('p.subscriber_id');
  const r = await rowsOf<EvaluationRow>(
    db,
    `with c as (
          select s.subscriber_id, string_agg(s.id::text || ' ' || s.collection_status || ' ' || s.admin_status, ',' order by s.id) as services
            from services s
           where ${where.sql}
           group by s.subscriber_id),
          o as (
            select i.id, i.subscriber_id, i.number, i.due_date, i.open_minor as balance
              from ledger_invoices i join c on c.subscriber_id = i.subscriber_id
             where i.open_minor > 0 and ${invoicesIn.sql}),
          pp as (
            select distinct l.invoice_id
              from invoice_lines l join o on o.id = l.invoice_id join plans p on p.id = l.plan_id
             where not l.voided and p.billing_type = 'prepaid'),
          cr as (
            select p.subscriber_id, sum(p.unallocated_minor) as credit
              from ledger_payments p join c on c.subscriber_id = p.subscriber_id
             where p.unallocated_minor > 0 and ${paymentsIn.sql}
             group by p.subscriber_id)
     select s.id as sid, s.full_name, s.account_no, s.email, s.phone, s.collections_hold_until::text as hold_until, coalesce(cr.credit, 0)::text as credit,
            c.services, n.n as suspensions,
            o.id as invoice_id, o.number, o.due_date::text as due, (pp.invoice_id is not null) as prepaid, o.balance::text as balance
       from c join subscribers s on s.id = c.subscriber_id
       cross join lateral (select count(*)::int as n from collection_events e where e.subscriber_id = s.id and e.kind = 'suspension') n
       left join o on o.subscriber_id = s.id
       left join pp on pp.invoice_id = o.id
       left join cr on cr.subscriber_id = s.id
      order by s.id`,
    [...where.bindings, ...invoicesIn.bindings, ...paymentsIn.bindings] as never,
  );
  return evaluationOf(r, today, s);
}

/** The candidates and their facts from readEvaluation's rows (one pass; the windows summed here). */
function evaluationOf(r: readonly EvaluationRow[], today: string, s: CollectionSettings): Evaluation {
  const out: Evaluation = { services: [], facts: new Map(), suspensionCounts: new Map() };
  const warnCut = plusDays(today, s.warningDays); // deadline before this: in the warning window
  const remindCut = s.reminderDays.length ? plusDays(today, -s.reminderDays[0]!) : null; // due on or before this: a reminder offset reached
  const deadlines = new Map<string, string>();
  const deadlineOf = (due: string, prepaid: boolean): string => {
    if (prepaid) return due;
    let d = deadlines.get(due);
    if (d === undefined) deadlines.set(due, (d = plusDays(due, s.graceDays)));
    return d;
  };
  const { facts } = out;
  for (const x of r) {
    const sid = Number(x.sid);
    let f = facts.get(sid);
    if (!f) {
      f = {
        subscriberId: sid,
        fullName: x.full_name,
        accountNo: x.account_no,
        email: x.email,
        phone: x.phone,
        holdUntil: x.hold_until,
        credit: big(x.credit),
        openBalance: 0n,
        overdueBalance: 0n,
        warnBalance: 0n,
        remindBalance: 0n,
        overdueInv: null,
        warnInv: null,
        remindInv: null,
      };
      facts.set(sid, f);
      if (Number(x.suspensions) > 0) out.suspensionCounts.set(sid, Number(x.suspensions));
      for (const one of x.services.split(',')) {
        const [id, status, admin] = one.split(' ');
        out.services.push({ id: Number(id), subscriberId: sid, status: status as CollectionStatus, admin: admin as AdminStatus });
      }
    }
    if (x.invoice_id === null || x.number === null || x.due === null) continue;
    const due = x.due;
    const inv: InvoiceFact = { id: Number(x.invoice_id), number: x.number, due, deadline: deadlineOf(due, x.prepaid === true), balance: big(x.balance) };
    f.openBalance += inv.balance;
    const overdue = inv.deadline < today;
    if (overdue) {
      f.overdueBalance += inv.balance;
      if (!f.overdueInv || earlier(inv.due, inv.id, f.overdueInv.due, f.overdueInv.id)) f.overdueInv = inv;
    }
    if (inv.deadline < warnCut) {
      f.warnBalance += inv.balance;
      if (!overdue && (!f.warnInv || earlier(inv.deadline, inv.id, f.warnInv.deadline, f.warnInv.id))) f.warnInv = inv;
    }
    if (remindCut !== null && due <= remindCut) {
      f.remindBalance += inv.balance;
      if (!overdue && (!f.remindInv || earlier(inv.due, inv.id, f.remindInv.due, f.remindInv.id))) f.remindInv = inv;
    }
  }
  out.services.sort((a, b) => a.id - b.id);
  return out;
}

function earlier(date: string, id: number, thanDate: string, thanId: number): boolean {
  return date < thanDate || (date === thanDate && id < thanId);
}

function bandOf(f: Facts, s: CollectionSettings): { band: Band; invoice: InvoiceFact | null; amount: bigint } {
  const net = (v: bigint) => (v > f.credit ? v - f.credit : 0n);
  if (f.overdueInv && net(f.overdueBalance) > 0n) return { band: 'suspended', invoice: f.overdueInv, amount: net(f.overdueBalance) };
  if (s.warningDays > 0 && f.warnInv && net(f.warnBalance) > 0n) return { band: 'warned', invoice: f.warnInv, amount: net(f.warnBalance) };
  if (s.reminderDays.length && f.remindInv && net(f.remindBalance) > 0n) {
    const amount = net(f.remindBalance) < f.remindInv.balance ? net(f.remindBalance) : f.remindInv.balance;
    return { band: 'reminded', invoice: f.remindInv, amount };
  }
  return { band: 'current', invoice: null, amount: 0n };
}

/** The latest reminder offset an invoice due on `due` has reached on `today`. */
function reachedOffset(due: string, today: string, offsets: number[]): number | null {
  const days = diffDays(parseLocalDate(due), parseLocalDate(today)); // today - due
  let reached: number | null = null;
  for (const k of offsets) if (k <= days) reached = k;
  return reached;
}

function offsetText(k: number): string {
  if (k === 0) return 'on the due date';
  const n = Math.abs(k);
  return `${n} day${n === 1 ? '' : 's'} ${k < 0 ? 'before' : 'after'} the due date`;
}

function graceText(due: string, deadline: string): string {
  const grace = diffDays(parseLocalDate(due), parseLocalDate(deadline));
  return grace === 0 ? 'by its due date (no grace period)' : `after ${grace} day${grace === 1 ? '' : 's'} of grace`;
}

/**
 * Works out the transitions (pure, given the facts). Reminders whose key was recorded already
 * are dropped by the caller.
 */
function planTransitions(
  services: Array<{ id: number; subscriberId: number; status: CollectionStatus; admin: AdminStatus }>,
  facts: Map<number, Facts>,
  s: CollectionSettings,
  today: string,
  suspensionCounts: Map<number, number>,
  existingReminderKeys: Set<string>,
): CollectionTransition[] {
  const bySubscriber = new Map<number, typeof services>();
  for (const svc of services) {
    const list = bySubscriber.get(svc.subscriberId);
    if (list) list.push(svc);
    else bySubscriber.set(svc.subscriberId, [svc]);
  }
  // Reasons repeat the same few amounts and dates for thousands of subscribers: format each once.
  const money = memo((v: bigint) => formatMoney(v, s.currency));
  const graceMemo = memo((key: string) => graceText(key.slice(0, 10), key.slice(11)));
  const graceOf = (inv: InvoiceFact) => graceMemo(`${inv.due}|${inv.deadline}`);
  const dayAfter = memo((d: string) => plusDays(d, 1));
  const out: CollectionTransition[] = [];
  for (const [sid, svcs] of bySubscriber) {
    const f = facts.get(sid);
    if (!f) continue;
    const { band, invoice, amount } = bandOf(f, s);
    const extended = band === 'suspended' && onExtension(f, today);
    const groups = new Map<CollectionEventKind, { services: ServiceTransition[]; reason: string }>();
    const add = (kind: CollectionEventKind, t: ServiceTransition, reason: string) => {
      const g = groups.get(kind);
      if (g) g.services.push(t);
      else groups.set(kind, { services: [t], reason });
    };
    const n = suspensionCounts.get(sid) ?? 0;
    let reminderKey: string | null = null;
    let reminderOffset: number | null = null;
    if (band === 'reminded' && invoice) {
      reminderOffset = reachedOffset(invoice.due, today, s.reminderDays);
      if (reminderOffset !== null) {
        const key = `reminder:inv:${invoice.id}:${reminderOffset}`;
        if (!existingReminderKeys.has(key)) reminderKey = key;
      }
    }
    for (const svc of svcs) {
      const t = (to: CollectionStatus): ServiceTransition => ({ serviceId: svc.id, from: svc.status, to, adminStatus: svc.admin });
      if (extended) {
        // Promise to pay: no suspension up to the date, and a billing suspension is lifted now.
        if (svc.status === 'suspended') {
          if (svc.admin === 'active') add('restoration', t('restored'), `Extension (promise to pay) until ${f.holdUntil}: access restored`);
          else add('current', t('current'), `Extension (promise to pay) until ${f.holdUntil}; the service stays blocked: it is suspended by an administrator, which an extension never lifts`);
        }
      } else if (band === 'suspended') {
        if (svc.status !== 'suspended') {
          add('suspension', t('suspended'), `Invoice ${invoice!.number} (due ${invoice!.due}) unpaid ${graceOf(invoice!)}; overdue balance ${money(amount)}`);
        }
      } else if (svc.status === 'suspended') {
        if (svc.admin === 'active') add('restoration', t('restored'), `Nothing past due beyond grace any more (balance ${money(f.openBalance > f.credit ? f.openBalance - f.credit : 0n)}): access restored`);
        else add('current', t('current'), 'Nothing past due beyond grace any more; the service stays blocked: it is suspended by an administrator, which a payment never lifts');
      } else if (band === 'warned') {
        if (svc.status === 'current' || svc.status === 'reminded' || svc.status === 'restored') {
          add('warning', t('warned'), `${money(amount)} unpaid (invoice ${invoice!.number}, due ${invoice!.due}); suspension on ${dayAfter(invoice!.deadline)} unless paid`);
        }
      } else if (band === 'reminded') {
        if (reminderKey && (svc.status === 'current' || svc.status === 'reminded' || svc.status === 'restored')) {
          add('reminder', t('reminded'), `Invoice ${invoice!.number} of ${money(amount)} due ${invoice!.due}: reminder ${offsetText(reminderOffset!)}`);
        }
      } else if (svc.status === 'reminded' || svc.status === 'warned' || svc.status === 'restored') {
        add('current', t('current'), f.openBalance > f.credit ? 'Nothing due within the reminder window any more' : 'Paid up');
      }
    }
    for (const [kind, g] of groups) {
      let eventKey: string;
      let inv: InvoiceFact | null = null;
      if (kind === 'suspension') {
        inv = invoice;
        eventKey = `suspension:sub:${sid}:inv:${inv!.id}:${n + 1}`;
      } else if (kind === 'restoration') eventKey = `restoration:sub:${sid}:${n}`;
      else if (kind === 'warning') {
        inv = invoice;
        eventKey = `warning:sub:${sid}:inv:${inv!.id}`;
      } else if (kind === 'reminder') {
        inv = invoice;
        eventKey = reminderKey!;
      } else eventKey = `current:sub:${sid}:${today}`;
      out.push({
        subscriberId: sid,
        accountNo: f.accountNo,
        fullName: f.fullName,
        kind,
        eventKey,
        invoiceId: inv?.id ?? null,
        invoiceNumber: inv?.number ?? null,
        amountMinor: kind === 'restoration' || kind === 'current' ? 0n : amount,
        reason: g.reason,
        services: g.services,
      });
    }
  }
  return out.sort((a, b) => a.subscriberId - b.subscriberId || a.kind.localeCompare(b.kind));
}

const TEMPLATE_OF: Partial<Record<CollectionEventKind, TemplateName>> = {
  reminder: 'reminder',
  warning: 'warning',
  suspension: 'suspension',
  restoration: 'restoration',
};

/** Amounts and dates as messages show them, each formatted once for a mass of messages (they repeat). */
interface MessageFormats {
  money: (minor: bigint) => string;
  date: (date: string) => string;
  dayAfter: (date: string) => string;
}

function messageFormats(s: CollectionSettings): MessageFormats {
  return { money: memo((v: bigint) => messageMoney(v, s.currency)), date: memo((d: string) => messageDate(d)), dayAfter: memo((d: string) => messageDate(plusDays(d, 1))) };
}

function messageFields(t: CollectionTransition, f: Facts, fmt: MessageFormats): Record<string, string> {
  const inv = t.kind === 'suspension' ? f.overdueInv : t.kind === 'warning' ? f.warnInv : t.kind === 'reminder' ? f.remindInv : null;
  if (!inv) return {};
  const base = { invoice_number: inv.number, amount: fmt.money(t.amountMinor), due_date: fmt.date(inv.due) };
  return t.kind === 'warning' ? { ...base, suspension_date: fmt.dayAfter(inv.deadline) } : base;
}

/**
 * Runs the state machine for everyone (or `subscriberIds`) on `today`. Call inside a
 * transaction: the payments code calls it in the payment's transaction with the payer's id,
 * `ispctl collections run` in its own. Returns what happened and the provisioning jobs that
 * carry suspensions and restorations to routers (run them after commit).
 */
/** The alert a run over the per-run suspension cap leaves: one audit row for the day. */
export async function recordCapExceeded(db: Db, ctx: Pick<ServiceContext, 'clock' | 'actor'>, today: string, cap: { services: number; subscribers: number; limit: number | null }): Promise<void> {
  await recordAudit(db, ctx, { entityType: 'collections', entityId: today, action: 'cap-exceeded', after: { today, wouldSuspend: cap.services, subscribers: cap.subscribers, limit: cap.limit } });
}

export async function evaluateCollections(db: Db, ctx: Pick<ServiceContext, 'clock' | 'actor' | 'env'> & Partial<Pick<ServiceContext, 'engine'>>, opts: EvaluateOptions = {}): Promise<EvaluateResult> {
  const given = opts.given;
  const settings = given?.settings ?? (await loadCollectionSettings(db));
  const today = opts.today ?? collectionsToday(ctx, settings);
  parseLocalDate(today, 'today');
  const dryRun = opts.dryRun === true;
  const result: EvaluateResult = { today, dryRun, reminded: [], warned: [], suspended: [], restored: [], cleared: [], jobIds: [], events: 0, notifications: 0, notificationErrors: [], transitions: [], suspensionsHeld: null };
  if (opts.subscriberIds && opts.subscriberIds.length === 0 && !opts.subscriberRange) return result;

  // The earliest any invoice can matter: a reminder offset before the due date, or the warning.
  const earliest = Math.min(settings.reminderDays.length ? settings.reminderDays[0]! : 1, 1 - settings.warningDays, 1);
  const horizon = plusDays(today, -earliest);
  const scopeIds = opts.subscriberIds ? [...new Set(opts.subscriberIds)] : undefined;
  let read: Evaluation;
  // On PostgreSQL, lock the subscribers (in id order, as payments do) so that a run and a payment
  // at once take turns, then read their services: each decision below is made on what is
  // committed by then. The embedded database has one user at a time: nothing to lock there.
  if (!dryRun && ctx.engine !== 'pglite' && !opts.locked) {
    const subscriberIds = await candidateSubscribers(db, today, horizon, scopeIds, opts.subscriberRange);
    if (!subscriberIds.length) return result;
    for (const chunk of chunks(subscriberIds, 20_000)) await db.raw('select id from subscribers where id = any(?::int[]) order by id for update', [idArray(chunk)]);
    read = await readEvaluation(db, today, horizon, subscriberIds, undefined, settings);
  } else {
    read = await readEvaluation(db, today, horizon, scopeIds, opts.subscriberRange, settings);
  }
  const { services, facts, suspensionCounts } = read;
  if (!services.length) return result;

  // Reminders already sent.
  const reminderKeys = reminderKeysDue(facts, settings, today);
  const existingReminderKeys = new Set<string>();
  for (const chunk of chunks(reminderKeys, 20_000)) {
    const r = await rowsOf<{ event_key: string }>(db, `select event_key from collection_events where event_key = any(?::text[])`, [textArray(chunk)]);
    for (const x of r) existingReminderKeys.add(x.event_key);
  }

  let planned = planTransitions(services, facts, settings, today, suspensionCounts, existingReminderKeys);
  // Suspensions held back: while collections is paused, or when there are more than the cap
  // allows (then no one is suspended: a run that wants to suspend that many is more likely a
  // missing payment import or a wrong date than real non-payment).
  const suspensions = planned.filter((t) => t.kind === 'suspension');
  if (suspensions.length) {
    const services = suspensions.reduce((n, t) => n + t.services.length, 0);
    const overCap = opts.overCap ?? null;
    const limit = overCap ?? opts.maxSuspensions ?? null;
    const reason = (given?.paused !== undefined ? given.paused : await loadPause(db)) ? 'paused' : overCap !== null || (limit !== null && services > limit) ? 'cap' : null;
    if (reason) {
      result.suspensionsHeld = { reason, subscribers: suspensions.length, services, limit: reason === 'cap' ? limit : null };
      // A dry run over the cap shows the whole plan (what --force would do); suspensionsHeld
      // says that a real run would hold these suspensions back.
      if (!(dryRun && reason === 'cap')) planned = planned.filter((t) => t.kind !== 'suspension');
      if (reason === 'cap' && !dryRun && overCap === null) {
        await recordCapExceeded(db, ctx, today, { services, subscribers: suspensions.length, limit });
      }
    }
  }
  if (dryRun) {
    result.transitions = planned;
    tally(result, planned);
    return result;
  }

  // 1. Status changes, each conditioned on the status it was computed from, with the access
  // that follows from them (suspended or restored) in the same write, and the router work queued.
  const now = ctx.clock.now();
  const changes = statusChanges(planned);
  // A chunk of a run names its subscribers by range alone: the services are read and written through it.
  const onlyRange = opts.subscriberIds?.length === 0 ? opts.subscriberRange : undefined;
  const written = await changeCollectionStatuses(db, ctx, changes, given?.statusWrite, onlyRange, opts.jobHolder !== undefined ? { holder: opts.jobHolder } : {});
  const changed = new Set(written.changed);
  result.jobIds = written.jobIds;
  // A transition happened when one of its services changed, or (a further reminder) none had to.
  const happened = happenedOf(planned, changed);

  // 2. Events, once per key.
  const recorded = new Set<string>();
  for (const chunk of chunks(happened, 5000)) {
    const r = await rowsOf<{ event_key: string }>(
      db,
      `insert into collection_events (subscriber_id, invoice_id, kind, event_key, from_status, to_status, reason, occurred_at)
       select x.s, x.i, x.k, x.e, x.f, x.t, x.r, ?::timestamptz
         from json_to_recordset(?::json) as x(s int, i bigint, k text, e text, f text, t text, r text)
       on conflict (event_key) do nothing
       returning event_key`,
      [now, rowsJson(eventRows(chunk))],
    );
    for (const x of r) recorded.add(x.event_key);
  }
  const events = happened.filter((t) => recorded.has(t.eventKey));
  // Status changes whose event key was taken (a same-day repeat) still count as transitions.
  const applied = happened.filter((t) => recorded.has(t.eventKey) || t.services.some((x) => x.from !== x.to));
  result.transitions = applied;
  result.events = events.length;
  tally(result, applied);

  // 3. Audit: one row for the run, naming who moved where; collection_events has each event
  // with its reason (ispctl collections events).
  if (applied.length) {
    await db('audit_log').insert({
      at: now,
      actor: ctx.actor.user,
      command: ctx.actor.command,
      entity_type: 'collections',
      entity_id: today,
      action: opts.subscriberIds && !opts.run ? 'evaluate' : 'run',
      before: null,
      after: JSON.stringify({
        today,
        events: result.events,
        reminded: result.reminded,
        warned: result.warned,
        suspended: result.suspended,
        restored: result.restored,
        current: result.cleared,
        services: applied.flatMap((t) => t.services.filter((x) => x.from !== x.to).map((x) => [x.serviceId, x.from, x.to])),
      }),
    });
  }

  // 4. Messages for the events that have one.
  const requests = noticeRequests(events, facts, messageFormats(settings));
  if (requests.length) {
    const config = given?.notify ?? (await loadNotifyConfig(db));
    const q = await queueNotifications(db, ctx, requests, { config, linkSettings: given?.links });
    result.notifications = q.queued;
    result.notificationErrors = q.renderErrors;
  }

  return result;
}

// The passes over a run's transitions, each its own function: a chunk of a mass run has
// thousands, and a small pass is compiled once where the whole evaluation, one large function
// with waits between its passes, was compiled again and again.

/** Keys of the reminders due now (those recorded already are dropped by the caller). */
function reminderKeysDue(facts: ReadonlyMap<number, Facts>, settings: CollectionSettings, today: string): string[] {
  const keys: string[] = [];
  for (const f of facts.values()) {
    const b = bandOf(f, settings);
    if (b.band !== 'reminded' || !b.invoice) continue;
    const k = reachedOffset(b.invoice.due, today, settings.reminderDays);
    if (k !== null) keys.push(`reminder:inv:${b.invoice.id}:${k}`);
  }
  return keys;
}

/** The services whose status the transitions change. */
function statusChanges(planned: readonly CollectionTransition[]): CollectionStatusChange[] {
  const out: CollectionStatusChange[] = [];
  for (const t of planned) for (const x of t.services) if (x.from !== x.to) out.push({ serviceId: x.serviceId, from: x.from, to: x.to });
  return out;
}

/** The transitions that happened: one of their services changed (`changed`), or (a further reminder) none had to. */
function happenedOf(planned: readonly CollectionTransition[], changed: ReadonlySet<number>): CollectionTransition[] {
  const out: CollectionTransition[] = [];
  for (const t of planned) {
    const services = t.services.filter((x) => x.from === x.to || changed.has(x.serviceId));
    if (services.length) out.push({ ...t, services });
  }
  return out;
}

/** The collection_events rows of transitions. */
function eventRows(transitions: readonly CollectionTransition[]) {
  // One letter a key, for json_to_recordset (a mass run's chunk sends 1,000 of these: the
  // columns' names were a third of the JSON); no key for a null, which reads back as null.
  return transitions.map((t) => ({
    s: t.subscriberId,
    i: t.invoiceId ?? undefined,
    k: t.kind,
    e: t.eventKey,
    f: t.services[0]!.from,
    t: t.services[0]!.to,
    r: t.reason ?? undefined,
  }));
}

/** The messages of the events that have one. */
function noticeRequests(events: readonly CollectionTransition[], facts: ReadonlyMap<number, Facts>, formats: ReturnType<typeof messageFormats>): QueueRequest[] {
  const requests: QueueRequest[] = [];
  for (const t of events) {
    const template = TEMPLATE_OF[t.kind];
    if (!template) continue;
    const f = facts.get(t.subscriberId)!;
    const recipient: Recipient = { fullName: f.fullName, accountNo: f.accountNo, email: f.email, phone: f.phone, balanceMinor: f.openBalance > f.credit ? f.openBalance - f.credit : 0n };
    requests.push({ subscriberId: t.subscriberId, eventKey: t.eventKey, template, data: messageFields(t, f, formats), recipient });
  }
  return requests;
}

function tally(result: EvaluateResult, transitions: CollectionTransition[]): void {
  const lists: Record<CollectionEventKind, number[]> = { reminder: result.reminded, warning: result.warned, suspension: result.suspended, restoration: result.restored, current: result.cleared };
  const seen = new Set<string>();
  for (const t of transitions) {
    const k = `${t.kind}:${t.subscriberId}`;
    if (seen.has(k)) continue;
    seen.add(k);
    lists[t.kind].push(t.subscriberId);
  }
}
