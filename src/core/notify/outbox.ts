// The notification outbox. Queuing renders the message and inserts one row per channel the
// subscriber can be reached on; the unique key (event_key, channel) makes a second queuing of the
// same event a no-op, so a message is never queued twice. Sending claims due rows (FOR UPDATE
// SKIP LOCKED, so several senders can share the queue), hands them to SMTP or the SMS gateway
// and records the outcome: sent, or back in the queue with a later next attempt, or failed
// after the last attempt.
//
// Attachments: an email may carry documents (the invoice PDF, the receipt PDF). They are queued
// as references (notification_attachments: kind and number), rendered on the first attempt to
// send and stored there, so a retry sends the very same bytes. Sending works through the claimed
// rows a batch at a time, so at most one batch of documents is in memory. A message that
// delivers an invoice (notifications.invoice_id) marks that invoice sent when it is delivered.
import type { Knex } from 'knex';
import type { ServiceContext } from '../context.js';
import type { Db } from '../db/tx.js';
import { invalid, isIspctlError, IspctlError } from '../errors.js';
import { amountDueBySubscriber } from '../ledger/read-model.js';
import { markInvoicesSent } from '../ledger/allocate.js';
import { renderInvoice, renderReceipt } from '../documents/service.js';
import { shortLinkMaker, type LinkSettings } from '../intake/links.js';
import { idArray, rowsOf } from '../db/sql.js';
import { notifyJobs } from '../provisioning/jobs.js';
import { loadNotifyConfig, type NotifyConfig } from './config.js';
import { createEmailSender, smtpHost, type EmailAttachment, type EmailMessage, type EmailSender } from './email.js';
import { cancelLiftedNotices, giveUpExpiredHolds, HELD_NOTICE_STILL_DUE_SQL, HOLDING_TEMPLATES } from './hold.js';
import { Lane, realLaneClock, type LaneClock } from './lane.js';
import { CHANNELS, type Channel } from './setting-defs.js';
import { sendSms, SmsGatewayError, type SmsMessage } from './sms.js';
import { SENDING_TIMEOUT_MS } from './timing.js';
import { commonData, createTemplateLoader, messageMoney, renderMessage, templateParts, TEMPLATE_NAMES, type MessageData, type MessageTemplate, type TemplateName } from './templates.js';
import { errors } from '../error-catalogue.js';
import { normalisePhone, validateEmail } from '../subscribers/validate.js';
import { describeError } from '../error-text.js';

export type NotificationStatus = 'pending' | 'sending' | 'sent' | 'failed' | 'cancelled';

export interface Notification {
  id: number;
  subscriberId: number | null;
  eventKey: string;
  channel: Channel;
  template: TemplateName;
  recipient: string;
  subject: string | null;
  body: string;
  status: NotificationStatus;
  attempts: number;
  lastError: string | null;
  nextAttemptAt: Date;
  sentAt: Date | null;
  createdAt: Date;
  /** The invoice this message delivers, if any. */
  invoiceId: number | null;
  /**
   * A notice that announces an action (a suspension): until it is delivered or given up, the
   * router is not told (src/core/notify/hold.ts); at this time it is given up.
   */
  holdUntil: Date | null;
}

/** A raw row of notifications. */
export interface NotificationRow {
  id: bigint | number;
  subscriber_id: number | null;
  event_key: string;
  channel: Channel;
  template: TemplateName;
  recipient: string;
  subject: string | null;
  body: string;
  status: NotificationStatus;
  attempts: number;
  last_error: string | null;
  next_attempt_at: Date;
  sent_at: Date | null;
  created_at: Date;
  invoice_id: bigint | number | null;
  hold_until?: Date | null;
}

/** The one mapping of a notifications row. */
export function toNotification(r: NotificationRow): Notification {
  return {
    id: Number(r.id),
    subscriberId: r.subscriber_id ?? null,
    eventKey: r.event_key,
    channel: r.channel,
    template: r.template,
    recipient: r.recipient,
    subject: r.subject ?? null,
    body: r.body,
    status: r.status,
    attempts: Number(r.attempts),
    lastError: r.last_error ?? null,
    nextAttemptAt: r.next_attempt_at,
    sentAt: r.sent_at ?? null,
    createdAt: r.created_at,
    invoiceId: r.invoice_id === null || r.invoice_id === undefined ? null : Number(r.invoice_id),
    holdUntil: r.hold_until ?? null,
  };
}

/** Who a message goes to, when the caller already has it (collections does, for thousands). */
export interface Recipient {
  fullName: string;
  accountNo: string;
  email: string | null;
  phone: string | null;
  /** What the subscriber owes now (open invoices less unallocated credit), minor units. */
  balanceMinor: bigint;
}

/** A document an email carries: an invoice by its number, a receipt by its payment id. */
export interface AttachmentRef {
  kind: 'invoice' | 'receipt';
  ref: string;
}

export interface QueueRequest {
  subscriberId: number;
  /** The event this message tells about, e.g. `reminder:inv:34:-3`; with the channel, unique. */
  eventKey: string;
  template: TemplateName;
  /** The template's own placeholders, already formatted (see TEMPLATE_FIELDS). */
  data: MessageData;
  recipient?: Recipient;
  /** Documents the email carries (SMS carries none). */
  attachments?: AttachmentRef[];
  /** The invoice this message delivers: marked sent when the message is delivered. */
  invoiceId?: number;
  /** Only these channels (each must be set up); default the enabled ones. */
  channels?: Channel[];
}

export interface QueueResult {
  /** Rows inserted (one per channel). */
  queued: number;
  /** Their ids. */
  ids: number[];
  /** Rows that already existed: the event was queued before. */
  duplicates: number;
  /** Messages that could not be rendered (stored as failed, with the reason). */
  renderErrors: Array<{ eventKey: string; channel: Channel; error: string }>;
}

export interface QueueOptions {
  /** Settings, when the caller has loaded them already. */
  config?: NotifyConfig;
  /** Payment-link settings, when the caller has loaded them already. */
  linkSettings?: LinkSettings;
}

const INSERT_BATCH = 5000;

/**
 * The messages' rows as they travel to the insert: JSON read by json_to_recordset, one letter a
 * key and no key for a null (read back as null). Of the 787 KB a chunk of 2,000 suspension
 * notices took with the columns' names and every null written, the names were a fifth and the
 * nulls a tenth; PostgreSQL parsed the 539 KB left in about three quarters of the time.
 */
const ROW_FIELDS = [
  ['a', 'subscriber_id', 'int'],
  ['b', 'event_key', 'text'],
  ['c', 'channel', 'text'],
  ['d', 'template', 'text'],
  ['e', 'recipient', 'text'],
  ['f', 'subject', 'text'],
  ['g', 'body', 'text'],
  ['h', 'status', 'text'],
  ['i', 'last_error', 'text'],
  ['j', 'invoice_id', 'bigint'],
  ['k', 'hold_until', 'timestamptz'],
  ['l', 'form', 'int'],
  ['m', 'v', 'text[]'],
] as const;

/** The rows as table `x` with the columns' own names (`?`: messageRowsJson's text). */
function messageRowsTable(withAttachments: boolean): string {
  const fields = withAttachments ? [...ROW_FIELDS, ['n', 'attachments', 'json'] as const] : ROW_FIELDS;
  return `select ${fields.map(([k, name]) => `r.${k} as ${name}`).join(', ')} from json_to_recordset(?::json) as r(${fields.map(([k, , type]) => `${k} ${type}`).join(', ')})`;
}

/**
 * A chunk's rows as messageRowsTable reads them: copies of one shape (a null as undefined, which
 * JSON.stringify leaves out), so JSON.stringify stays on V8's fast path.
 */
function messageRowsJson(chunk: readonly QueuedRow[], withAttachments: boolean): string {
  return JSON.stringify(
    chunk.map((x) => ({
      a: x.subscriber_id,
      b: x.event_key,
      c: x.channel,
      d: x.template,
      e: x.recipient,
      f: x.subject ?? undefined,
      g: x.body ?? undefined,
      h: x.status,
      i: x.last_error ?? undefined,
      j: x.invoice_id ?? undefined,
      k: x.hold_until ?? undefined,
      l: x.form,
      m: x.v,
      n: withAttachments ? x.attachments : undefined,
    })),
  );
}

/**
 * A template the database fills in (see queueNotifications): its literal parts, as the
 * message would have them, and the placeholder names whose values each row sends.
 */
interface SqlForm {
  id: number;
  subject: { literals: string[]; names: string[] } | null;
  body: { literals: string[]; names: string[] };
  /**
   * An SMS whose text starts (ends) with a placeholder, after nothing but white space: that
   * white space, which each row's first (last) value takes in and trims (see formValues).
   */
  lead: string | null;
  trail: string | null;
}

/**
 * How the database can fill a template so that the text is exactly what renderMessage (then
 * the SMS trim) gives, or null when it cannot: a subject with a line break in its text (folded
 * to one space across the parts). An SMS is trimmed at its ends: the literal there loses its
 * white space, or, when a placeholder comes first (last), the row's value is trimmed instead.
 */
function sqlForm(id: number, template: MessageTemplate, channel: Channel): SqlForm | null {
  const parts = templateParts(template);
  const split = (p: readonly string[]) => ({ literals: p.filter((_x, i) => i % 2 === 0), names: p.filter((_x, i) => i % 2 === 1) });
  const body = split(parts.body);
  let lead: string | null = null;
  let trail: string | null = null;
  if (channel === 'sms') {
    const last = body.literals.length - 1;
    if (body.names.length && !/\S/.test(body.literals[0]!)) lead = body.literals[0]!;
    if (body.names.length && !/\S/.test(body.literals[last]!)) trail = body.literals[last]!;
    body.literals[0] = body.literals[0]!.trimStart();
    body.literals[last] = body.literals[last]!.trimEnd();
  }
  const subject = parts.subject === null ? null : split(parts.subject);
  if (subject && subject.literals.some((x) => /[\r\n]/.test(x))) return null;
  return { id, subject, body, lead, trail };
}

/** The values a row sends for a form (body's placeholders, then subject's), or null to render it here. */
function formValues(form: SqlForm, data: MessageData): string[] | null {
  const v: string[] = [];
  const value = (name: string) => (Object.prototype.hasOwnProperty.call(data, name) ? data[name] : undefined);
  for (const name of form.body.names) {
    const x = value(name);
    if (x === undefined || x === null) return null; // renderMessage says which
    v.push(String(x));
  }
  // An SMS starting (ending) with a value: the value is trimmed with the white space before
  // (after) it, exactly as the whole text would be. A value that is all white space would let
  // the trim run on into the next literal: that row is rendered here.
  if (form.lead !== null) {
    const first = (form.lead + v[0]!).trimStart();
    if (first === '') return null;
    v[0] = first;
  }
  if (form.trail !== null) {
    const at = form.body.names.length - 1;
    const last = (v[at]! + form.trail).trimEnd();
    if (last === '') return null;
    v[at] = last;
  }
  for (const name of form.subject?.names ?? []) {
    const x = value(name);
    if (x === undefined || x === null) return null;
    const text = String(x);
    if (/[\r\n]/.test(text)) return null; // folded to a space, with what is around it
    v.push(text);
  }
  return v;
}

/** `lit || x.v[i] || lit …` for one form, its literals as bindings; values start at x.v[first]. */
function concatSql(p: { literals: string[]; names: string[] }, first: number, bindings: string[]): string {
  const terms: string[] = [];
  p.literals.forEach((lit, i) => {
    if (lit !== '') {
      terms.push('?::text');
      bindings.push(lit);
    }
    if (i < p.names.length) terms.push(`x.v[${first + i}]`);
  });
  return terms.length ? terms.join(' || ') : `''`;
}


/** A row as queueNotifications inserts it. */
interface QueuedRow {
  subscriber_id: number;
  event_key: string;
  channel: Channel;
  template: TemplateName;
  recipient: string;
  invoice_id: number | null;
  attachments: AttachmentRef[];
  hold_until: Date | null;
  /** Null when the database fills the text in from `form` and `v`. */
  subject: string | null;
  body: string | null;
  /** The SqlForm that fills subject and body in, and its placeholders' values (body's, then subject's). */
  form?: number;
  v?: string[];
  status: 'pending' | 'failed';
  last_error: string | null;
}

/** The templates `requests` use, each once, with the channels they go out on. */
function templatePairs(requests: readonly QueueRequest[], channelsOf: (req: QueueRequest) => readonly Channel[]): Array<[TemplateName, Channel]> {
  const seen = new Set<string>();
  const out: Array<[TemplateName, Channel]> = [];
  for (const req of requests) {
    for (const channel of channelsOf(req)) {
      const k = `${req.template}\u0000${channel}`;
      if (seen.has(k)) continue;
      seen.add(k);
      out.push([req.template, channel]);
    }
  }
  return out;
}

interface RowsContext {
  config: NotifyConfig;
  channelsOf: (req: QueueRequest) => readonly Channel[];
  recipientOf: (req: QueueRequest) => Recipient | undefined;
  payLink: ((accountNo: string) => string) | null;
  holdUntil: Date | null;
  /** By template and channel: the template, or why it did not load. */
  templates: ReadonlyMap<string, MessageTemplate | IspctlError>;
  /** Filled in as templates are met (see sqlForm). */
  forms: Map<MessageTemplate, SqlForm | null>;
  renderErrors: QueueResult['renderErrors'];
}

/**
 * The rows for `requests`, built in one synchronous pass (a mass run's tens of thousands: the
 * pass is compiled once and stays so, where the loop with a wait in each turn was compiled
 * again and again as one large function).
 */
function queuedRows(requests: readonly QueueRequest[], c: RowsContext): QueuedRow[] {
  const rows: QueuedRow[] = [];
  for (const req of requests) {
    const who = c.recipientOf(req);
    if (!who) continue;
    const data = { ...commonData(c.config, who, who.balanceMinor, c.payLink ? c.payLink(who.accountNo) : null), ...req.data };
    for (const channel of c.channelsOf(req)) {
      const to = channel === 'email' ? who.email : who.phone;
      if (to) rows.push(queuedRow(req, channel, to, data, c));
    }
  }
  return rows;
}

/** One request's row on one channel: the values the database fills its template with, or its text, or why it failed. */
function queuedRow(req: QueueRequest, channel: Channel, to: string, data: MessageData, c: RowsContext): QueuedRow {
  // Every row is built whole in one literal (one shape for all of them): tens of thousands of
  // rows in a mass run, each spread from a base object, cost more than their insert.
  const row = (subject: string | null, body: string | null, form: number | undefined, v: string[] | undefined, status: QueuedRow['status'], lastError: string | null): QueuedRow => ({
    subscriber_id: req.subscriberId,
    event_key: req.eventKey,
    channel,
    template: req.template,
    recipient: to,
    invoice_id: req.invoiceId ?? null,
    attachments: channel === 'email' ? (req.attachments ?? []) : [],
    hold_until: c.holdUntil && HOLDING_TEMPLATES.has(req.template) ? c.holdUntil : null,
    subject,
    body,
    form,
    v,
    status,
    last_error: lastError,
  });
  const failed = (err: IspctlError) => {
    c.renderErrors.push({ eventKey: req.eventKey, channel, error: err.message });
    return row(null, '', undefined, undefined, 'failed', `not rendered: ${err.message}`.slice(0, 2000));
  };
  const template = c.templates.get(`${req.template}\u0000${channel}`)!;
  if (template instanceof IspctlError) return failed(template);
  try {
    let form = c.forms.get(template);
    if (form === undefined) c.forms.set(template, (form = sqlForm(c.forms.size, template, channel)));
    const v = form ? formValues(form, data) : null;
    if (form && v) return row(null, null, form.id, v, 'pending', null);
    const msg = renderMessage(template, data);
    return row(msg.subject, channel === 'sms' ? msg.body.trim() : msg.body, undefined, undefined, 'pending', null);
  } catch (err) {
    if (!isIspctlError(err)) throw err;
    return failed(err);
  }
}

/**
 * Renders and queues messages, one row per enabled channel the subscriber has an address for
 * (email: an address and SMTP set up; sms: a phone and the gateway set up). Queuing the same
 * event again does nothing. Call inside the transaction that made the event happen. A template
 * that does not render does not fail the caller: the row is stored as failed, with the reason.
 */
export async function queueNotifications(db: Db, ctx: Pick<ServiceContext, 'clock' | 'env'>, requests: QueueRequest[], opts: QueueOptions = {}): Promise<QueueResult> {
  const result: QueueResult = { queued: 0, ids: [], duplicates: 0, renderErrors: [] };
  if (!requests.length) return result;
  const config = opts.config ?? (await loadNotifyConfig(db));
  const setUp = (c: Channel) => (c === 'email' ? Boolean(config.smtpUrl && config.mailFrom) : Boolean(config.sms));
  const channelsOf = (req: QueueRequest) => (req.channels ? req.channels.filter(setUp) : config.channels);
  if (!requests.some((r) => channelsOf(r).length)) return result;
  const payLink = await shortLinkMaker({ db, clock: ctx.clock, env: ctx.env }, { settings: opts.linkSettings });
  const missing = [...new Set(requests.filter((r) => !r.recipient).map((r) => r.subscriberId))];
  const looked = new Map<number, Recipient>();
  if (missing.length) {
    const owed = await amountDueBySubscriber(db, missing);
    for (let i = 0; i < missing.length; i += 10_000) {
      const rows: Array<{ id: number; full_name: string; account_no: string; email: string | null; phone: string | null }> = await db('subscribers')
        .whereIn('id', missing.slice(i, i + 10_000))
        .select('id', 'full_name', 'account_no', 'email', 'phone');
      for (const r of rows) {
        looked.set(Number(r.id), {
          fullName: r.full_name,
          accountNo: r.account_no,
          email: r.email ?? null,
          phone: r.phone ?? null,
          balanceMinor: owed.get(Number(r.id)) ?? 0n,
        });
      }
    }
  }
  const loader = createTemplateLoader(config.templatesDir);
  const now = ctx.clock.now();
  // Each template the requests use, read before the rows are built (a template that does not
  // load fails its rows, not the caller): the rows are then built in one pass with no wait in it.
  const templates = new Map<string, MessageTemplate | IspctlError>();
  for (const [template, channel] of templatePairs(requests, channelsOf)) {
    try {
      templates.set(`${template}\u0000${channel}`, await loader.get(template, channel));
    } catch (err) {
      if (!isIspctlError(err)) throw err;
      templates.set(`${template}\u0000${channel}`, err);
    }
  }
  // Each template the database can fill in is sent once per statement, and each row sends only
  // its placeholders' values (far less to encode and parse than whole texts); the others, and
  // a row whose values would not fill in exactly, are rendered here.
  const forms = new Map<MessageTemplate, SqlForm | null>();
  const rows = queuedRows(requests, {
    config,
    channelsOf,
    recipientOf: (req) => req.recipient ?? looked.get(req.subscriberId),
    payLink,
    // A notice that announces an action holds that action until it is delivered (hold.ts).
    holdUntil: config.suspensionHoldMinutes > 0 ? new Date(now.getTime() + config.suspensionHoldMinutes * 60_000) : null,
    templates,
    forms,
    renderErrors: result.renderErrors,
  });
  for (let i = 0; i < rows.length; i += INSERT_BATCH) {
    const chunk = rows.slice(i, i + INSERT_BATCH);
    // One statement: the messages, then the attachments of those actually inserted (a chunk
    // without any, as collections queues them, skips that part and sends no attachments field).
    const withAttachments = chunk.some((x) => x.attachments.length > 0);
    const filled = [...new Set(chunk.map((x) => x.form).filter((x) => x !== undefined))];
    const usedForms = [...forms.values()].filter((f): f is SqlForm => f !== null && filled.includes(f.id));
    const textBindings: string[] = [];
    const subjectSql = usedForms.length
      ? `case x.form ${usedForms.map((f) => `when ${f.id} then ${f.subject ? `(${concatSql(f.subject, f.body.names.length + 1, textBindings)})` : 'null::text'}`).join(' ')} else x.subject end`
      : 'x.subject';
    const bodySql = usedForms.length ? `case x.form ${usedForms.map((f) => `when ${f.id} then (${concatSql(f.body, 1, textBindings)})`).join(' ')} else x.body end` : 'x.body';
    const insert = `insert into notifications (subscriber_id, event_key, channel, template, recipient, subject, body, status, attempts, last_error, next_attempt_at, created_at, invoice_id, hold_until)
         select x.subscriber_id, x.event_key, x.channel, x.template, x.recipient, ${subjectSql}, ${bodySql}, x.status, 0, x.last_error, ?::timestamptz, ?::timestamptz, x.invoice_id,
                case when x.status = 'pending' then x.hold_until end
           from x
         on conflict (event_key, channel) do nothing`;
    const r = withAttachments
      ? await rowsOf<{ id: bigint | number }>(
          db,
          `with x as (${messageRowsTable(true)}),
           ins as (${insert} returning id, event_key, channel),
           att as (
             insert into notification_attachments (notification_id, kind, ref)
             select ins.id, a.kind, a.ref
               from ins join x on x.event_key = ins.event_key and x.channel = ins.channel
               cross join lateral json_to_recordset(x.attachments) as a(kind text, ref text)
             on conflict do nothing
             returning 1)
           select ins.id, (select count(*) from att) as attachments from ins order by ins.id`,
          [messageRowsJson(chunk, true), ...textBindings, now, now],
        )
      : await rowsOf<{ id: bigint | number }>(
          db,
          `with x as (${messageRowsTable(false)}),
           ins as (${insert} returning id)
           select id from ins order by id`,
          [messageRowsJson(chunk, false), ...textBindings, now, now],
        );
    const ids = r.map((x) => Number(x.id));
    result.queued += ids.length;
    result.ids.push(...ids);
    result.duplicates += chunk.length - ids.length;
  }
  return result;
}

/** Queues one message (see queueNotifications). */
export async function queueNotification(db: Db, ctx: Pick<ServiceContext, 'clock' | 'env'>, request: QueueRequest, opts: QueueOptions = {}): Promise<QueueResult> {
  return queueNotifications(db, ctx, [request], opts);
}

// ---- sending ----------------------------------------------------------------------------------

/** Carries messages out. The default sends email over SMTP and SMS through the HTTP gateway. */
export interface NotificationTransport {
  sendEmail(message: EmailMessage): Promise<unknown>;
  sendSms(message: SmsMessage): Promise<unknown>;
  close?(): void | Promise<void>;
}

export interface TransportOptions {
  /** false: a new SMTP connection for every message (the pool is the default). */
  emailPool?: boolean;
}

/**
 * The transport the settings describe: nodemailer SMTP with a pool of notify-email-connections
 * connections (opened on first use, kept open for the run) and the SMS gateway over fetch (whose
 * connections are kept alive).
 */
export function defaultTransport(config: NotifyConfig, opts: TransportOptions = {}): NotificationTransport {
  let email: EmailSender | undefined;
  return {
    async sendEmail(message) {
      if (!config.smtpUrl || !config.mailFrom) throw new Error('email is not set up: set smtp-url and mail-from');
      email ??= createEmailSender({ smtpUrl: config.smtpUrl, from: config.mailFrom, maxConnections: config.limits.email.concurrency, pool: opts.emailPool ?? true });
      return email.send(message);
    },
    async sendSms(message) {
      if (!config.sms) throw new Error('SMS is not set up: set sms-url');
      return sendSms(config.sms, message);
    },
    close() {
      email?.close();
    },
  };
}

export { SENDING_TIMEOUT_MS };

/** Seconds until the next attempt after `attempts` failed ones: 1 min, 2, 4 … capped at 6 h, ±20 %. */
export function retryDelaySeconds(attempts: number, random: () => number = Math.random): number {
  const base = Math.min(60 * 2 ** Math.max(0, attempts - 1), 6 * 3600);
  return Math.round(base * (0.8 + 0.4 * random()));
}

export interface SendOptions {
  /** Most messages to take in this run (default: every due one). */
  limit?: number;
  /** Only these rows (e.g. the ones a command just queued). */
  ids?: number[];
  /** Only messages to these subscribers. */
  subscriberIds?: number[];
  /** Only notices that hold an action (suspension notices, see hold.ts). */
  heldOnly?: boolean;
  transport?: NotificationTransport;
  /** Messages with each gateway at once; default the settings (notify-email-connections, notify-sms-concurrency). */
  concurrency?: number;
  /**
   * Start no send after this long (ms): what is claimed and not started goes back to the queue
   * as it was, and `more` says so. Default: no limit (the daemon gives each run a budget).
   */
  budgetMs?: number;
  /** The clock the gateways are paced by (tests). */
  laneClock?: LaneClock;
}

export interface SendSummary {
  claimed: number;
  sent: number;
  /** Failed this time, to be tried again later. */
  retrying: number;
  /** Failed for the last time: status failed. */
  failed: number;
  /**
   * Back in the queue without counting an attempt: the gateway asked to be called later
   * (429 / Retry-After), or the run's budget ended before their turn.
   */
  deferred: number;
  /** Suspension notices given up because their hold passed (the suspension went ahead). */
  givenUp: number;
  /** Suspension notices not sent because the subscriber was no longer suspended (status cancelled). */
  cancelled: number;
  /** True when the run stopped (limit, budget, a gateway's pause) with due messages likely left. */
  more: boolean;
  errors: Array<{ id: number; channel: Channel; recipient: string; error: string }>;
}

/**
 * Claims up to `size` due messages of one channel in one statement: notices that hold an
 * action first, then the rest by due time. FOR UPDATE SKIP LOCKED lets several senders share
 * the queue; a row another sender claimed and abandoned (SENDING_TIMEOUT_MS) is taken again.
 */
async function claim(db: Knex, now: Date, channel: Channel, size: number, opts: SendOptions): Promise<Notification[]> {
  const stale = new Date(now.getTime() - SENDING_TIMEOUT_MS);
  const filters: string[] = [];
  const bindings: Array<string | number | Date> = [];
  // The lists as relations (a semi-join), not `= any(array)`: a plan that probes an index once
  // per row of another table with the array among its index conditions prepares the whole array
  // again for every probe. The held notices of a 10,000-subscriber suspension took 2.5 s per
  // channel that way on the embedded database (EXPLAIN: 10,000 probes of notifications_held_idx
  // at 0.25 ms each) instead of 6 ms.
  if (opts.ids) {
    filters.push('and id in (select unnest(?::bigint[]))');
    bindings.push(idArray(opts.ids));
  }
  if (opts.subscriberIds) {
    filters.push('and subscriber_id in (select unnest(?::bigint[]))');
    bindings.push(idArray(opts.subscriberIds));
  }
  const due = `channel = ? and ((status = 'pending' and next_attempt_at <= ?::timestamptz) or (status = 'sending' and claimed_at < ?::timestamptz)) ${filters.join(' ')}`;
  const dueBindings = [channel, now, stale, ...bindings];
  const r = await rowsOf<NotificationRow>(
    db,
    `with held as (
       select id from notifications n where ${due} and hold_until is not null and ${HELD_NOTICE_STILL_DUE_SQL}
        order by next_attempt_at, id limit ? for update skip locked),
     rest as (
       select id from notifications where ${due} and hold_until is null ${opts.heldOnly ? 'and false' : ''}
        order by next_attempt_at, id limit ? for update skip locked),
     picked as (
       select id from held
       union all
       select id from (select id from rest limit greatest(0, ? - (select count(*) from held))) r)
     update notifications n set status = 'sending', claimed_at = ?::timestamptz
       from picked where n.id = picked.id
     returning n.*`,
    [...dueBindings, size, ...dueBindings, size, size, now],
  );
  return r.map(toNotification).sort((a, b) => (a.holdUntil === null ? 1 : 0) - (b.holdUntil === null ? 1 : 0) || a.id - b.id);
}

/** Claimed rows are sent this many at a time: their documents are loaded (or rendered) per window, and marked per window. */
export const SEND_BATCH = 100;

/** Most rows one claim takes for one channel. */
const CLAIM_CHUNK = 1000;

/**
 * A gateway's pause longer than this is not waited out in the run: its claimed messages go
 * back to the queue due when the pause ends (and so do its other due messages).
 */
const MAX_PAUSE_WAIT_MS = 5_000;

interface AttachmentRow {
  id: bigint | number;
  notification_id: bigint | number;
  kind: 'invoice' | 'receipt';
  ref: string;
  file_name: string | null;
  content_type: string | null;
  content: Buffer | Uint8Array | null;
}

/**
 * The documents of a batch of emails, by notification id. Documents not rendered yet are
 * rendered now and stored (only if still empty: two senders never store two versions), so a
 * retry sends the same bytes. A document that does not render fails its message for this
 * attempt (returned in `errors`).
 */
async function batchAttachments(ctx: ServiceContext, ids: number[]): Promise<{ files: Map<number, EmailAttachment[]>; errors: Map<number, string> }> {
  const files = new Map<number, EmailAttachment[]>();
  const errors = new Map<number, string>();
  if (!ids.length) return { files, errors };
  const missing = (await ctx.db('notification_attachments').whereIn('notification_id', ids).whereNull('content').orderBy('id').select('id', 'notification_id', 'kind', 'ref')) as AttachmentRow[];
  const rendered: Array<{ id: number; b64: string; file_name: string; content_type: string }> = [];
  for (const r of missing) {
    const nid = Number(r.notification_id);
    if (errors.has(nid)) continue;
    try {
      const doc = r.kind === 'invoice' ? await renderInvoice(ctx, { number: r.ref, format: 'pdf' }) : await renderReceipt(ctx, { payment: r.ref, format: 'pdf' });
      rendered.push({ id: Number(r.id), b64: doc.content.toString('base64'), file_name: doc.fileName, content_type: doc.contentType });
    } catch (err) {
      errors.set(nid, `the ${r.kind} ${r.ref} could not be rendered: ${describeError(err)}`);
    }
  }
  if (rendered.length) {
    // Stored only where still empty: a sender that rendered first wins, and every send uses what is stored.
    await ctx.db.raw(
      `update notification_attachments t
          set content = decode(x.b64, 'base64'), file_name = x.file_name, content_type = x.content_type, rendered_at = ?::timestamptz
         from json_to_recordset(?::json) as x(id bigint, b64 text, file_name text, content_type text)
        where t.id = x.id and t.content is null`,
      [ctx.clock.now(), JSON.stringify(rendered)],
    );
  }
  const stored = (await ctx.db('notification_attachments').whereIn('notification_id', ids).whereNotNull('content').orderBy('id').select('notification_id', 'file_name', 'content_type', 'content')) as AttachmentRow[];
  for (const r of stored) {
    const nid = Number(r.notification_id);
    const list = files.get(nid) ?? [];
    list.push({ fileName: r.file_name ?? 'document.pdf', contentType: r.content_type ?? 'application/pdf', content: Buffer.from(r.content!) });
    files.set(nid, list);
  }
  return { files, errors };
}

/** What became of one claimed message in this run. */
type Outcome =
  | { row: Notification; kind: 'sent' }
  | { row: Notification; kind: 'failed'; error: string }
  /** Back in the queue, due after `waitMs`, no attempt counted. */
  | { row: Notification; kind: 'deferred'; waitMs: number; error: string | null };

/**
 * Sends due messages from the outbox. Each gateway (SMTP server, SMS gateway) has its own lane
 * (lane.ts): its messages are claimed a chunk at a time in one statement, handed to it with
 * bounded concurrency at no more than its configured rate, and their outcomes marked in one
 * statement per window of SEND_BATCH. Two senders never take the same row. Crash safety: a
 * sender killed between the gateway's acceptance and the mark leaves those rows `sending`; they
 * are sent again after SENDING_TIMEOUT_MS (at least once: at most two windows per gateway, the
 * one being sent and the one being marked), and nothing claimed is ever lost.
 */
export async function sendNotifications(ctx: ServiceContext, opts: SendOptions = {}): Promise<SendSummary> {
  const db = ctx.db as Knex;
  const config = await loadNotifyConfig(db);
  const summary: SendSummary = { claimed: 0, sent: 0, retrying: 0, failed: 0, deferred: 0, givenUp: 0, cancelled: 0, more: false, errors: [] };
  // A suspension notice whose subscriber paid first is not sent (it announces nothing now).
  summary.cancelled = await cancelLiftedNotices(db, ctx.clock.now());
  summary.givenUp = await giveUpExpiredHolds(db, ctx.clock.now());
  let released = summary.givenUp > 0;
  const laneClock = opts.laneClock ?? realLaneClock;
  const deadline = opts.budgetMs === undefined ? Infinity : laneClock.now() + opts.budgetMs;
  let budget = opts.limit ?? Infinity;
  let transport: NotificationTransport | undefined = opts.transport;
  const marks: Promise<void>[] = [];
  const mark = (outcomes: Outcome[]) => {
    const p = markOutcomes(ctx, config, outcomes, summary).then((r) => {
      released ||= r.releasedHold;
    });
    marks.push(p);
    return p;
  };

  const runLane = async (channel: Channel) => {
    const limits = config.limits[channel];
    const lane = new Lane({ concurrency: opts.concurrency ?? limits.concurrency, rate: limits.rate, clock: laneClock, maxPauseWaitMs: MAX_PAUSE_WAIT_MS });
    let stopped = false;
    while (!stopped && budget > 0 && laneClock.now() < deadline) {
      // A chunk the lane can finish well inside SENDING_TIMEOUT_MS at its rate.
      const byRate = limits.rate ? Math.max(1, Math.floor((limits.rate * SENDING_TIMEOUT_MS) / 2000)) : CLAIM_CHUNK;
      const size = Math.min(CLAIM_CHUNK, byRate, budget);
      budget -= size;
      const rows = await claim(db, ctx.clock.now(), channel, size, opts);
      budget += size - rows.length;
      if (!rows.length) break;
      summary.claimed += rows.length;
      transport ??= defaultTransport(config);
      const send = transport;
      let previous: Promise<void> = Promise.resolve();
      for (let w = 0; w < rows.length; w += SEND_BATCH) {
        const window = rows.slice(w, w + SEND_BATCH);
        const outcomes: Outcome[] = [];
        if (stopped) {
          for (const row of window) outcomes.push({ row, kind: 'deferred', waitMs: Math.max(0, lane.pausedUntil - lane.now()), error: null });
        } else {
          const { files, errors } = channel === 'email' ? await batchAttachments(ctx, window.map((r) => r.id)) : { files: new Map<number, EmailAttachment[]>(), errors: new Map<number, string>() };
          const ready = window.filter((r) => {
            const why = errors.get(r.id);
            if (why) outcomes.push({ row: r, kind: 'failed', error: why });
            return !why;
          });
          const left = await lane.run(
            ready,
            async (row) => {
              try {
                if (row.channel === 'email') await send.sendEmail({ to: row.recipient, subject: row.subject ?? config.ispName, text: row.body, attachments: files.get(row.id) });
                else await send.sendSms({ to: row.recipient, text: row.body });
                outcomes.push({ row, kind: 'sent' });
              } catch (err) {
                const error = describeError(err);
                const wait = err instanceof SmsGatewayError ? err.retryAfterMs : undefined;
                if (wait !== undefined) {
                  lane.pause(wait);
                  outcomes.push({ row, kind: 'deferred', waitMs: wait, error });
                } else outcomes.push({ row, kind: 'failed', error });
              }
            },
            deadline,
          );
          if (left.length) {
            stopped = true;
            for (const row of left) outcomes.push({ row, kind: 'deferred', waitMs: Math.max(0, lane.pausedUntil - lane.now()), error: null });
          }
        }
        // Marked while the next window is sent; marks of one lane stay in order.
        previous = previous.then(() => mark(outcomes));
      }
      await previous;
    }
    if (stopped || budget <= 0) summary.more = true;
    // The gateway asked for a pause: its other due messages wait for it too, so the next run
    // does not knock before the gateway said to.
    const pausedFor = lane.pausedUntil - lane.now();
    if (pausedFor > 0) await deferChannel(db, channel, new Date(ctx.clock.now().getTime() + pausedFor));
  };

  try {
    await Promise.all(CHANNELS.map(runLane));
  } finally {
    await Promise.allSettled(marks);
    if (transport && transport !== opts.transport) await transport.close?.();
  }
  await Promise.all(marks);
  // Suspensions waiting for these notices may go now: wake the job runners.
  if (released) await notifyJobs(db);
  return summary;
}

/** Puts off every due pending message of a channel until `until` (the gateway asked to wait). */
async function deferChannel(db: Knex, channel: Channel, until: Date): Promise<void> {
  await db('notifications').where({ channel, status: 'pending' }).where('next_attempt_at', '<', until).update({ next_attempt_at: until });
}

/** Records the outcomes of a window in one statement, then marks the invoices delivered. */
async function markOutcomes(ctx: ServiceContext, config: NotifyConfig, outcomes: Outcome[], summary: SendSummary): Promise<{ releasedHold: boolean }> {
  if (!outcomes.length) return { releasedHold: false };
  const db = ctx.db;
  const now = ctx.clock.now();
  const rows = outcomes.map((o) => {
    if (o.kind === 'sent') return { id: o.row.id, status: 'sent', attempts: o.row.attempts + 1, error: null, next_at: now.toISOString() };
    if (o.kind === 'deferred') return { id: o.row.id, status: 'pending', attempts: o.row.attempts, error: o.error ?? o.row.lastError, next_at: new Date(now.getTime() + o.waitMs).toISOString() };
    const attempts = o.row.attempts + 1;
    const giveUp = attempts >= config.maxAttempts;
    return {
      id: o.row.id,
      status: giveUp ? 'failed' : 'pending',
      attempts,
      error: o.error.slice(0, 2000),
      next_at: (giveUp ? now : new Date(now.getTime() + retryDelaySeconds(attempts) * 1000)).toISOString(),
    };
  });
  const r = await rowsOf<{ id: bigint | number; status: NotificationStatus; invoice_id: bigint | number | null; hold_until: Date | null }>(
    db,
    `update notifications n
        set status = x.status, attempts = x.attempts, last_error = x.error, claimed_at = null, next_attempt_at = x.next_at,
            sent_at = case when x.status = 'sent' then ?::timestamptz else n.sent_at end
       from json_to_recordset(?::json) as x(id bigint, status text, attempts int, error text, next_at timestamptz)
      where n.id = x.id and n.status = 'sending'
      returning n.id, n.status, n.invoice_id, n.hold_until`,
    [now, JSON.stringify(rows)],
  );
  const marked = r;
  const done = new Set(marked.map((m) => Number(m.id)));
  // `sent` means sent: the invoices these messages delivered.
  const invoiceIds = [...new Set(marked.filter((m) => m.status === 'sent' && m.invoice_id !== null).map((m) => Number(m.invoice_id)))];
  await markInvoicesSent(db, invoiceIds, now);
  for (const o of outcomes) {
    if (!done.has(o.row.id)) continue; // taken back by another sender meanwhile (stale claim): its outcome is theirs
    if (o.kind === 'sent') summary.sent++;
    else if (o.kind === 'deferred') summary.deferred++;
    else {
      if (o.row.attempts + 1 >= config.maxAttempts) summary.failed++;
      else summary.retrying++;
      summary.errors.push({ id: o.row.id, channel: o.row.channel, recipient: o.row.recipient, error: o.error });
    }
  }
  return { releasedHold: marked.some((m) => m.hold_until !== null && (m.status === 'sent' || m.status === 'failed')) };
}

// ---- listing and retrying -------------------------------------------------------------------

export interface NotificationFilter {
  status?: NotificationStatus | 'open';
  subscriberId?: number;
  eventKey?: string;
  template?: TemplateName;
  limit?: number;
}

export async function listNotifications(db: Db, filter: NotificationFilter = {}): Promise<Notification[]> {
  const q = db('notifications').select('*').orderBy('id', 'desc').limit(filter.limit ?? 50);
  if (filter.status === 'open') q.whereIn('status', ['pending', 'sending']);
  else if (filter.status) q.where('status', filter.status);
  if (filter.subscriberId !== undefined) q.where('subscriber_id', filter.subscriberId);
  if (filter.eventKey) q.where('event_key', filter.eventKey);
  if (filter.template) q.where('template', filter.template);
  return (await q).map(toNotification);
}

export async function countNotifications(db: Db): Promise<Record<NotificationStatus, number>> {
  const rows: Array<{ status: NotificationStatus; n: bigint | number }> = await db('notifications').select('status').count('* as n').groupBy('status');
  const out: Record<NotificationStatus, number> = { pending: 0, sending: 0, sent: 0, failed: 0, cancelled: 0 };
  for (const r of rows) out[r.status] = Number(r.n);
  return out;
}

/**
 * Puts failed messages back in the queue (all of them, or the ids given), due now and with a
 * fresh count of attempts. Messages that never rendered stay failed: fix the template first.
 */
export async function retryNotifications(ctx: Pick<ServiceContext, 'db' | 'clock'>, opts: { ids?: number[] } = {}): Promise<number> {
  const q = ctx.db('notifications').where('status', 'failed').whereNot('body', '');
  if (opts.ids) q.whereIn('id', opts.ids);
  return q.update({ status: 'pending', attempts: 0, next_attempt_at: ctx.clock.now(), claimed_at: null });
}

// ---- a test message ---------------------------------------------------------------------------

export interface TestMessageResult {
  channel: Channel;
  to: string;
  subject: string | null;
  body: string;
  /** Where it went: the SMTP server or the gateway host. */
  via: string;
}

/** The sample data `notify test --template` renders a template with. */
export function sampleData(template: TemplateName, config: Pick<NotifyConfig, 'currency'>): MessageData {
  const money = (minor: bigint) => messageMoney(minor, config.currency);
  const data: Record<TemplateName, MessageData> = {
    reminder: { invoice_number: 'INV-2026-000123', amount: money(150000n), due_date: 'Nov 16, 2026' },
    warning: { invoice_number: 'INV-2026-000123', amount: money(150000n), due_date: 'Nov 16, 2026', suspension_date: 'Nov 22, 2026' },
    suspension: { invoice_number: 'INV-2026-000123', amount: money(150000n), due_date: 'Nov 16, 2026' },
    restoration: {},
    receipt: { amount: money(150000n), method: 'GCash', reference: '1234567890', received_on: 'Nov 20, 2026' },
    invoice: { invoice_number: 'INV-2026-000123', amount: money(150000n), due_date: 'Nov 16, 2026', period: 'Nov 1, 2026 – Nov 30, 2026' },
  };
  return data[template];
}

/**
 * Sends one message now, outside the outbox, to check the SMTP or SMS set-up: a short test
 * text, or a template rendered with sample data. The channel follows the address (an `@` means
 * email) unless given.
 */
export async function sendTestMessage(
  ctx: Pick<ServiceContext, 'db'>,
  opts: { to: string; channel?: Channel; template?: TemplateName; transport?: NotificationTransport },
): Promise<TestMessageResult> {
  const config = await loadNotifyConfig(ctx.db);
  const raw = opts.to.trim();
  const channel: Channel = opts.channel ?? (raw.includes('@') ? 'email' : 'sms');
  // The same checks as a subscriber's email and phone: a test goes where a real message would.
  const to = channel === 'email' ? validateEmail(raw, 'address') : normalisePhone(raw, 'number');
  if (channel === 'email' && (!config.smtpUrl || !config.mailFrom)) throw errors.emailNotSetUp(!config.smtpUrl ? 'smtp-url' : 'mail-from');
  if (channel === 'sms' && !config.sms) throw errors.smsNotSetUp();
  let subject: string | null = channel === 'email' ? `${config.ispName}: test message` : null;
  let body = `This is a test message from ${config.ispName}. If you received it, ${channel === 'email' ? 'email' : 'SMS'} notifications work.`;
  if (opts.template) {
    if (!(TEMPLATE_NAMES as readonly string[]).includes(opts.template)) throw invalid('UNKNOWN_TEMPLATE', `There is no template ${JSON.stringify(opts.template)}; the templates are ${TEMPLATE_NAMES.join(', ')}.`);
    const tpl = await createTemplateLoader(config.templatesDir).get(opts.template, channel);
    const msg = renderMessage(tpl, { ...commonData(config, { fullName: 'Juan dela Cruz', accountNo: 'S-000123' }, 150000n), ...sampleData(opts.template, config) });
    subject = msg.subject;
    body = msg.body;
  }
  const transport = opts.transport ?? defaultTransport(config);
  try {
    if (channel === 'email') await transport.sendEmail({ to, subject: subject ?? config.ispName, text: body });
    else await transport.sendSms({ to, text: body });
  } catch (err) {
    throw new IspctlError('NOTIFY_TEST_FAILED', `The test ${channel === 'email' ? 'email' : 'SMS'} was not sent: ${describeError(err)}`, {
      kind: 'failure',
      cause: err,
      suggestions: channel === 'email' ? ['Check smtp-url (host, port, user, password) and mail-from'] : ['Check sms-url, sms-method, sms-format, sms-body-template and sms-headers'],
    });
  } finally {
    await transport.close?.();
  }
  const via = channel === 'email' ? smtpHost(config.smtpUrl!) : new URL(config.sms!.url.replace(/\{\{[^}]*\}\}/g, 'x')).host;
  return { channel, to, subject, body, via };
}
