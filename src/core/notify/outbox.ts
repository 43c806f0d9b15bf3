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
import { renderInvoice, renderReceipt } from '../documents/service.js';
import { shortLinkMaker } from '../intake/links.js';
import { loadNotifyConfig, type NotifyConfig } from './config.js';
import { createEmailSender, smtpHost, type EmailAttachment, type EmailMessage, type EmailSender } from './email.js';
import type { Channel } from './setting-defs.js';
import { sendSms, type SmsMessage } from './sms.js';
import { commonData, createTemplateLoader, messageMoney, renderMessage, TEMPLATE_NAMES, type MessageData, type TemplateName } from './templates.js';

export type NotificationStatus = 'pending' | 'sending' | 'sent' | 'failed';

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
}

export function toNotification(r: Record<string, unknown>): Notification {
  return {
    id: Number(r.id),
    subscriberId: r.subscriber_id === null || r.subscriber_id === undefined ? null : Number(r.subscriber_id),
    eventKey: r.event_key as string,
    channel: r.channel as Channel,
    template: r.template as TemplateName,
    recipient: r.recipient as string,
    subject: (r.subject as string | null) ?? null,
    body: r.body as string,
    status: r.status as NotificationStatus,
    attempts: Number(r.attempts),
    lastError: (r.last_error as string | null) ?? null,
    nextAttemptAt: r.next_attempt_at as Date,
    sentAt: (r.sent_at as Date | null) ?? null,
    createdAt: r.created_at as Date,
    invoiceId: r.invoice_id === null || r.invoice_id === undefined ? null : Number(r.invoice_id),
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
}

const INSERT_BATCH = 5000;

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
  const payLink = await shortLinkMaker({ db, clock: ctx.clock, env: ctx.env });
  const missing = [...new Set(requests.filter((r) => !r.recipient).map((r) => r.subscriberId))];
  const looked = new Map<number, Recipient>();
  if (missing.length) {
    const owed = await amountDueBySubscriber(db, missing);
    for (let i = 0; i < missing.length; i += 10_000) {
      const rows: Array<Record<string, unknown>> = await db('subscribers').whereIn('id', missing.slice(i, i + 10_000)).select('id', 'full_name', 'account_no', 'email', 'phone');
      for (const r of rows) {
        looked.set(Number(r.id), {
          fullName: r.full_name as string,
          accountNo: r.account_no as string,
          email: (r.email as string | null) ?? null,
          phone: (r.phone as string | null) ?? null,
          balanceMinor: owed.get(Number(r.id)) ?? 0n,
        });
      }
    }
  }
  const loader = createTemplateLoader(config.templatesDir);
  const now = ctx.clock.now();
  const rows: Array<Record<string, unknown>> = [];
  for (const req of requests) {
    const who = req.recipient ?? looked.get(req.subscriberId);
    if (!who) continue;
    const data = { ...commonData(config, who, who.balanceMinor, payLink ? payLink(who.accountNo) : null), ...req.data };
    for (const channel of channelsOf(req)) {
      const to = channel === 'email' ? who.email : who.phone;
      if (!to) continue;
      const base = {
        subscriber_id: req.subscriberId,
        event_key: req.eventKey,
        channel,
        template: req.template,
        recipient: to,
        invoice_id: req.invoiceId ?? null,
        attachments: channel === 'email' ? (req.attachments ?? []) : [],
      };
      try {
        const msg = renderMessage(await loader.get(req.template, channel), data);
        rows.push({ ...base, subject: msg.subject, body: channel === 'sms' ? msg.body.trim() : msg.body, status: 'pending', last_error: null });
      } catch (err) {
        if (!isIspctlError(err)) throw err;
        result.renderErrors.push({ eventKey: req.eventKey, channel, error: err.message });
        rows.push({ ...base, subject: null, body: '', status: 'failed', last_error: `not rendered: ${err.message}`.slice(0, 2000) });
      }
    }
  }
  for (let i = 0; i < rows.length; i += INSERT_BATCH) {
    const chunk = rows.slice(i, i + INSERT_BATCH);
    // One statement: the messages, then the attachments of those actually inserted.
    const r = await db.raw(
      `with x as (
         select * from json_to_recordset(?::json)
           as x(subscriber_id int, event_key text, channel text, template text, recipient text, subject text, body text, status text, last_error text,
                invoice_id bigint, attachments json)),
       ins as (
         insert into notifications (subscriber_id, event_key, channel, template, recipient, subject, body, status, attempts, last_error, next_attempt_at, created_at, invoice_id)
         select x.subscriber_id, x.event_key, x.channel, x.template, x.recipient, x.subject, x.body, x.status, 0, x.last_error, ?::timestamptz, ?::timestamptz, x.invoice_id
           from x
         on conflict (event_key, channel) do nothing
         returning id, event_key, channel),
       att as (
         insert into notification_attachments (notification_id, kind, ref)
         select ins.id, a.kind, a.ref
           from ins join x on x.event_key = ins.event_key and x.channel = ins.channel
           cross join lateral json_to_recordset(x.attachments) as a(kind text, ref text)
         on conflict do nothing
         returning 1)
       select ins.id, (select count(*) from att) as attachments from ins order by ins.id`,
      [JSON.stringify(chunk), now, now],
    );
    const ids = (r.rows as Array<{ id: bigint | number }>).map((x) => Number(x.id));
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

/** The transport the settings describe: nodemailer SMTP (opened on first use) and the SMS gateway. */
export function defaultTransport(config: NotifyConfig): NotificationTransport {
  let email: EmailSender | undefined;
  return {
    async sendEmail(message) {
      if (!config.smtpUrl || !config.mailFrom) throw new Error('email is not set up: set smtp-url and mail-from');
      email ??= createEmailSender({ smtpUrl: config.smtpUrl, from: config.mailFrom });
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

/** A row claimed by a sender that died is taken again after this long. */
export const SENDING_TIMEOUT_MS = 10 * 60_000;

/** Seconds until the next attempt after `attempts` failed ones: 1 min, 2, 4 … capped at 6 h, ±20 %. */
export function retryDelaySeconds(attempts: number, random: () => number = Math.random): number {
  const base = Math.min(60 * 2 ** Math.max(0, attempts - 1), 6 * 3600);
  return Math.round(base * (0.8 + 0.4 * random()));
}

export interface SendOptions {
  /** Most messages to take in this run (default 500). */
  limit?: number;
  /** Only these rows (e.g. the ones a command just queued). */
  ids?: number[];
  transport?: NotificationTransport;
  /** Messages sent at once (default 4). */
  concurrency?: number;
}

export interface SendSummary {
  claimed: number;
  sent: number;
  /** Failed this time, to be tried again later. */
  retrying: number;
  /** Failed for the last time: status failed. */
  failed: number;
  errors: Array<{ id: number; channel: Channel; recipient: string; error: string }>;
}

async function claim(db: Knex, now: Date, opts: SendOptions): Promise<Notification[]> {
  const stale = new Date(now.getTime() - SENDING_TIMEOUT_MS);
  const sub = db('notifications')
    .select('id')
    .where((q) => {
      q.where((p) => p.where('status', 'pending').where('next_attempt_at', '<=', now)).orWhere((s) => s.where('status', 'sending').where('claimed_at', '<', stale));
    })
    .orderBy([{ column: 'next_attempt_at' }, { column: 'id' }])
    .limit(opts.limit ?? 500)
    .forUpdate()
    .skipLocked();
  if (opts.ids) sub.whereIn('id', opts.ids);
  const rows = await db('notifications').update({ status: 'sending', claimed_at: now }).whereIn('id', sub).returning('*');
  return rows.map(toNotification).sort((a, b) => a.id - b.id);
}

/** Claimed rows are sent this many at a time: their documents are loaded (or rendered) per batch. */
export const SEND_BATCH = 20;

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
      errors.set(nid, `the ${r.kind} ${r.ref} could not be rendered: ${err instanceof Error ? err.message : String(err)}`);
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

/**
 * Sends due messages from the outbox. Each row is claimed before it is sent and marked after,
 * so two senders never take the same row; a sender that dies between the SMTP server's "250
 * OK" and the mark leaves the row claimed, and it is sent again after SENDING_TIMEOUT_MS (at
 * least once, never lost). Rows go out SEND_BATCH at a time, each batch marked before the next.
 */
export async function sendNotifications(ctx: ServiceContext, opts: SendOptions = {}): Promise<SendSummary> {
  const db = ctx.db;
  const config = await loadNotifyConfig(db);
  const rows = await claim(db, ctx.clock.now(), opts);
  const summary: SendSummary = { claimed: rows.length, sent: 0, retrying: 0, failed: 0, errors: [] };
  if (!rows.length) return summary;
  const transport = opts.transport ?? defaultTransport(config);
  try {
    for (let b = 0; b < rows.length; b += SEND_BATCH) {
      const batch = rows.slice(b, b + SEND_BATCH);
      const { files, errors } = await batchAttachments(
        ctx,
        batch.filter((r) => r.channel === 'email').map((r) => r.id),
      );
      const sent: Notification[] = [];
      const failures: Array<{ row: Notification; error: string }> = [];
      const queue = batch.filter((r) => {
        const why = errors.get(r.id);
        if (why) failures.push({ row: r, error: why });
        return !why;
      });
      await Promise.all(
        Array.from({ length: Math.min(opts.concurrency ?? 4, queue.length) }, async () => {
          for (let row = queue.shift(); row; row = queue.shift()) {
            try {
              if (row.channel === 'email') await transport.sendEmail({ to: row.recipient, subject: row.subject ?? config.ispName, text: row.body, attachments: files.get(row.id) });
              else await transport.sendSms({ to: row.recipient, text: row.body });
              sent.push(row);
            } catch (err) {
              failures.push({ row, error: err instanceof Error ? err.message : String(err) });
            }
          }
        }),
      );
      await markOutcome(ctx, config, sent, failures, summary);
    }
  } finally {
    await transport.close?.();
  }
  return summary;
}

async function markOutcome(ctx: ServiceContext, config: NotifyConfig, sent: Notification[], failures: Array<{ row: Notification; error: string }>, summary: SendSummary): Promise<void> {
  const db = ctx.db;
  const now = ctx.clock.now();
  if (sent.length) {
    const ids = sent.map((r) => r.id);
    await db('notifications').whereIn('id', ids).where('status', 'sending').update({ status: 'sent', sent_at: now, attempts: db.raw('attempts + 1'), last_error: null, claimed_at: null });
    // `sent` means sent: the invoices these messages delivered.
    const invoiceIds = [...new Set(sent.map((r) => r.invoiceId).filter((x): x is number => x !== null))];
    if (invoiceIds.length) {
      await db.raw(
        `update invoices set sent_at = ?::timestamptz, status = case when status = 'issued' then 'sent' else status end, updated_at = ?::timestamptz
          where id = any(?::bigint[]) and sent_at is null`,
        [now, now, `{${invoiceIds.join(',')}}`],
      );
    }
  }
  summary.sent += sent.length;
  for (const f of failures) {
    const attempts = f.row.attempts + 1;
    const giveUp = attempts >= config.maxAttempts;
    await db('notifications')
      .where({ id: f.row.id, status: 'sending' })
      .update({
        status: giveUp ? 'failed' : 'pending',
        attempts,
        last_error: f.error.slice(0, 2000),
        claimed_at: null,
        next_attempt_at: giveUp ? now : new Date(now.getTime() + retryDelaySeconds(attempts) * 1000),
      });
    if (giveUp) summary.failed++;
    else summary.retrying++;
    summary.errors.push({ id: f.row.id, channel: f.row.channel, recipient: f.row.recipient, error: f.error });
  }
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
  const out: Record<NotificationStatus, number> = { pending: 0, sending: 0, sent: 0, failed: 0 };
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
  const to = opts.to.trim();
  const channel: Channel = opts.channel ?? (to.includes('@') ? 'email' : 'sms');
  if (channel === 'email' && !/^[^@\s]+@[^@\s]+$/.test(to)) throw invalid('INVALID_EMAIL', `${JSON.stringify(to)} is not an email address.`);
  if (channel === 'sms' && !/^\+?[0-9]{7,15}$/.test(to)) throw invalid('INVALID_PHONE', `${JSON.stringify(to)} is not a phone number (digits, optionally a leading +).`);
  if (channel === 'email' && (!config.smtpUrl || !config.mailFrom)) {
    throw invalid('EMAIL_NOT_SET_UP', 'Email is not set up.', ['ispctl settings set smtp-url smtp://user:password@mail.example.net:587', 'ispctl settings set mail-from "Example ISP <billing@example.net>"']);
  }
  if (channel === 'sms' && !config.sms) throw invalid('SMS_NOT_SET_UP', 'SMS is not set up.', ['ispctl settings set sms-url https://sms.example.net/api/send', `ispctl settings set sms-body-template '{"to":"{{to}}","text":"{{text}}"}'`]);
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
    throw new IspctlError('NOTIFY_TEST_FAILED', `The test ${channel === 'email' ? 'email' : 'SMS'} was not sent: ${err instanceof Error ? err.message : String(err)}`, {
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
