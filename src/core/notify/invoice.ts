// Invoices as messages: the "invoice issued" message billing queues for the invoices it creates,
// and `invoice send` (one invoice, or the unsent ones of a period). The email carries the invoice
// PDF; the SMS the subscriber's short payment page link. A message that carries an invoice marks
// it sent when it is delivered (see sendNotifications): until then the invoice is issued.
import type { ServiceContext } from '../context.js';
import { recordAudit } from '../audit.js';
import { findInvoice } from '../billing/invoices.js';
import { chunks, idArray, rowsOf } from '../db/sql.js';
import type { Db } from '../db/tx.js';
import { withTransaction } from '../db/tx.js';
import { invalid } from '../errors.js';
import { parseListenSetting } from '../intake/server.js';
import { loadLinkSettings } from '../intake/links.js';
import { amountDueBySubscriber } from '../ledger/read-model.js';
import { dateString } from '../db/sql.js';
import { getSetting, ispToday, type StoredSettings } from '../settings/service.js';
import { settingDef } from '../settings/registry.js';
import { loadNotifyConfig, type NotifyConfig } from './config.js';
import { queueNotifications, sendNotifications, type NotificationTransport, type QueueRequest, type QueueResult, type SendSummary } from './outbox.js';
import type { Channel } from './setting-defs.js';
import { messageDate, messageMoney } from './templates.js';
import { errors } from '../error-catalogue.js';

export const INVOICE_VIAS = ['email', 'sms', 'both'] as const;
export type InvoiceVia = (typeof INVOICE_VIAS)[number];

export function invoiceIssuedEventKey(invoiceId: number): string {
  return `invoice:issued:${invoiceId}`;
}

interface InvoiceMessageRow {
  id: bigint | number;
  number: string;
  subscriber_id: number;
  period_start: string;
  period_end: string;
  due_date: string;
  total_minor: bigint;
  currency: string;
  full_name: string;
  account_no: string;
  email: string | null;
  phone: string | null;
}

/** What the messages of these invoices need, in one query per chunk (void and draft ones left out). */
async function invoiceRows(db: Db, invoiceIds: readonly number[]): Promise<InvoiceMessageRow[]> {
  const out: InvoiceMessageRow[] = [];
  for (const part of chunks([...invoiceIds], 5000)) {
    const r = await rowsOf<InvoiceMessageRow>(
      db,
      `select i.id, i.number, i.subscriber_id, i.period_start::text as period_start, i.period_end::text as period_end, i.due_date::text as due_date,
              i.total_minor, i.currency, s.full_name, s.account_no, s.email, s.phone
         from invoices i join subscribers s on s.id = i.subscriber_id
        where i.id = any(?::bigint[]) and i.status not in ('void', 'draft')
        order by i.id`,
      [idArray(part)],
    );
    out.push(...r);
  }
  return out;
}

/**
 * Queues the invoice message for each invoice (template `invoice`): the email with the PDF
 * attached, the SMS with the pay link (when public-url is set). Call inside the transaction
 * that made the invoices. `eventKey` decides what counts as the same message (queued once).
 */
export async function queueInvoiceMessages(
  db: Db,
  ctx: Pick<ServiceContext, 'clock' | 'env'>,
  opts: { invoiceIds: readonly number[]; eventKey: (invoiceId: number) => string; channels?: Channel[]; config?: NotifyConfig },
): Promise<QueueResult> {
  const total: QueueResult = { queued: 0, ids: [], duplicates: 0, renderErrors: [] };
  if (!opts.invoiceIds.length) return total;
  const config = opts.config ?? (await loadNotifyConfig(db));
  for (const part of chunks([...opts.invoiceIds], 2000)) {
    const rows = await invoiceRows(db, part);
    if (!rows.length) continue;
    const owed = await amountDueBySubscriber(db, [...new Set(rows.map((r) => Number(r.subscriber_id)))]);
    const requests: QueueRequest[] = rows.map((r) => ({
      subscriberId: Number(r.subscriber_id),
      eventKey: opts.eventKey(Number(r.id)),
      template: 'invoice',
      data: {
        invoice_number: r.number,
        amount: messageMoney(BigInt(r.total_minor), r.currency),
        due_date: messageDate(dateString(r.due_date)),
        period: `${messageDate(dateString(r.period_start))} – ${messageDate(dateString(r.period_end))}`,
      },
      recipient: { fullName: r.full_name, accountNo: r.account_no, email: r.email, phone: r.phone, balanceMinor: owed.get(Number(r.subscriber_id)) ?? 0n },
      attachments: [{ kind: 'invoice', ref: r.number }],
      invoiceId: Number(r.id),
      ...(opts.channels ? { channels: opts.channels } : {}),
    }));
    const q = await queueNotifications(db, ctx, requests, { config });
    total.queued += q.queued;
    total.ids.push(...q.ids);
    total.duplicates += q.duplicates;
    total.renderErrors.push(...q.renderErrors);
  }
  return total;
}

/** Whether billing sends the "invoice issued" message (setting invoice-issued-notify, default on). */
export async function invoiceIssuedNotify(db: Db): Promise<boolean> {
  const s = await getSetting(db, 'invoice-issued-notify');
  return s.value !== false;
}

/** The same, from what the settings table holds (storedSettings). */
export function invoiceIssuedNotifyFrom(stored: StoredSettings): boolean {
  const v = stored.has('invoice-issued-notify') ? stored.get('invoice-issued-notify') : settingDef('invoice-issued-notify').default;
  return v !== false;
}

/**
 * The "invoice issued" messages of invoices billing just created, unless turned off by setting.
 * `given`: the setting and the notification config as a caller that queues many times (each
 * chunk of a billing run) read them once; without it, they are read here.
 */
export async function queueIssuedInvoices(db: Db, ctx: Pick<ServiceContext, 'clock' | 'env'>, invoiceIds: readonly number[], given?: { notify: boolean; config: NotifyConfig }): Promise<QueueResult | null> {
  if (!invoiceIds.length || !(given ? given.notify : await invoiceIssuedNotify(db))) return null;
  // No channel set up: nothing to read for thousands of invoices.
  const config = given?.config ?? (await loadNotifyConfig(db));
  if (!config.channels.length) return null;
  return queueInvoiceMessages(db, ctx, { invoiceIds, eventKey: invoiceIssuedEventKey, config });
}

// ---- invoice send -----------------------------------------------------------------------------

export interface SendInvoicesOptions {
  /** One invoice by number. */
  number?: string;
  /** The invoices of this period (YYYY-MM). */
  period?: string;
  /** Only invoices not sent yet (and with no message on its way). */
  unsent?: boolean;
  /** Channels; default the enabled channels that are set up. */
  via?: InvoiceVia;
  transport?: NotificationTransport;
}

export interface SendInvoicesResult {
  /** Invoices a message was queued for, with where it goes. */
  invoices: Array<{ number: string; account: string; channels: Channel[] }>;
  /** Invoices left out, and why (no email or phone on file). */
  skipped: Array<{ number: string; account: string; reason: string }>;
  queued: number;
  delivery: SendSummary;
  /** The invoices that read sent now. */
  sent: string[];
}

function channelsOf(via: InvoiceVia | undefined, config: NotifyConfig): Channel[] {
  if (via === 'both') return ['email', 'sms'];
  if (via) return [via];
  return config.channels;
}

/** Checks that the channels can carry an invoice: servers set up, and for SMS a link to give. */
async function checkChannels(db: Db, channels: Channel[], config: NotifyConfig, explicit: boolean): Promise<void> {
  if (!channels.length) {
    throw invalid('NOTIFY_NOT_SET_UP', explicit ? 'No channel to send by.' : `No channel is both enabled (notify-channels: ${config.wanted.join(',') || 'none'}) and set up.`, [
      'ispctl settings set smtp-url smtp://user:password@mail.example.net:587',
      'ispctl settings set mail-from "Example ISP <billing@example.net>"',
      'ispctl settings set sms-url https://sms.example.net/api/send',
    ]);
  }
  if (channels.includes('email') && (!config.smtpUrl || !config.mailFrom)) {
    throw errors.emailNotSetUp(!config.smtpUrl ? 'smtp-url' : 'mail-from');
  }
  if (channels.includes('sms')) {
    if (!config.sms) throw errors.smsNotSetUp('--via email');
    const link = await loadLinkSettings(db);
    if (!link.publicUrl) {
      throw errors.publicUrlNotSet('An invoice SMS carries a link to the payment page', '--via email');
    }
    const listen = await getSetting(db, 'intake-listen');
    if (!parseListenSetting(listen.value)) {
      throw invalid('INTAKE_NOT_LISTENING', 'An invoice SMS carries a link to the payment page, which the daemon serves only when intake-listen is set; it is off.', [
        'ispctl settings set intake-listen 127.0.0.1:8470',
        '--via email',
      ]);
    }
  }
}

/** What to send, checked without the database: for sendInvoices and the command's checkInput. */
export function checkSendSelection(opts: Pick<SendInvoicesOptions, 'number' | 'period' | 'unsent' | 'via'>): void {
  if (opts.via !== undefined && !(INVOICE_VIAS as readonly string[]).includes(opts.via)) {
    throw invalid('INVALID_VIA', `--via ${JSON.stringify(opts.via)} is not one of ${INVOICE_VIAS.join(', ')}.`, ['--via email', '--via sms', '--via both']);
  }
  if (opts.number !== undefined && (opts.period !== undefined || opts.unsent)) {
    throw invalid('INVALID_SELECTION', 'Give an invoice number, or --period / --unsent for many, not both.', ['ispctl invoice send INV-2026-000123', 'ispctl invoice send --period 2026-12 --unsent']);
  }
  if (opts.number === undefined && opts.period === undefined && !opts.unsent) {
    throw errors.missingInvoice(['ispctl invoice send INV-2026-000123', 'ispctl invoice send --period 2026-12 (or --unsent) for many']);
  }
  if (opts.period !== undefined && !/^\d{4}-(0[1-9]|1[0-2])$/.test(opts.period)) throw errors.period('--period', opts.period);
}

/**
 * Sends invoices to their subscribers now: queues the invoice message (email with the PDF, SMS
 * with the pay link) and delivers it at once; what cannot be delivered now stays queued and the
 * daemon retries it. A second `invoice send` of the same invoice sends it again (a customer who
 * lost it); `--unsent` leaves out invoices already sent or on their way.
 */
export async function sendInvoices(ctx: ServiceContext, opts: SendInvoicesOptions): Promise<SendInvoicesResult> {
  const db = ctx.db;
  checkSendSelection(opts);
  const config = await loadNotifyConfig(db);
  const channels = channelsOf(opts.via, config);
  await checkChannels(db, channels, config, opts.via !== undefined);

  const chosen: Array<{ id: number; number: string; account: string; channels: Channel[] }> = [];
  const skipped: SendInvoicesResult['skipped'] = [];
  if (opts.number !== undefined) {
    const inv = await findInvoice(db, opts.number, { today: await ispToday(db, ctx.clock.now()) });
    if (inv.status === 'void') throw errors.invoiceVoid(inv.number, 'sent');
    if (inv.status === 'draft') throw errors.invoiceDraft(inv.number);
    const sub = await db('subscribers').where({ id: inv.subscriberId }).first('account_no', 'email', 'phone');
    const reachable = channels.filter((c) => (c === 'email' ? sub.email : sub.phone));
    const lacking = channels.filter((c) => !reachable.includes(c));
    if (lacking.length && (opts.via !== undefined || !reachable.length)) {
      const what = lacking.map((c) => (c === 'email' ? 'email address' : 'phone number')).join(' or ');
      throw invalid(lacking.includes('email') ? 'NO_EMAIL' : 'NO_PHONE', `Subscriber ${sub.account_no} has no ${what} on file, so invoice ${inv.number} cannot go by ${lacking.join(' or ')}.`, [
        lacking.includes('email') ? `ispctl subscriber edit ${sub.account_no} --email name@example.net` : `ispctl subscriber edit ${sub.account_no} --phone "+63 917 000 0000"`,
        ...(reachable.length ? [`--via ${reachable[0]}`] : []),
      ]);
    }
    chosen.push({ id: inv.id, number: inv.number, account: sub.account_no, channels: reachable });
  } else {
    const rows = await rowsOf<{ id: bigint | number; number: string; account_no: string; email: string | null; phone: string | null }>(
      db,
      `select i.id, i.number, s.account_no, s.email, s.phone
         from invoices i join subscribers s on s.id = i.subscriber_id
        where i.status not in ('void', 'draft')
          ${opts.period !== undefined ? 'and i.period_key = ?' : ''}
          ${opts.unsent ? `and i.sent_at is null
                           and not exists (select 1 from notifications n where n.invoice_id = i.id and n.status in ('pending', 'sending'))` : ''}
        order by i.id`,
      opts.period !== undefined ? [opts.period] : [],
    );
    for (const r of rows) {
      const reachable = channels.filter((c) => (c === 'email' ? r.email : r.phone));
      if (reachable.length) chosen.push({ id: Number(r.id), number: r.number, account: r.account_no, channels: reachable });
      else skipped.push({ number: r.number, account: r.account_no, reason: `no ${channels.map((c) => (c === 'email' ? 'email address' : 'phone number')).join(' or ')} on file` });
    }
  }

  const stamp = ctx.clock.now().getTime();
  const ids: number[] = [];
  for (const part of chunks(chosen, 1000)) {
    await withTransaction(db, async (trx) => {
      const q = await queueInvoiceMessages(trx, ctx, { invoiceIds: part.map((c) => c.id), eventKey: (id) => `invoice:send:${id}:${stamp}`, channels, config });
      ids.push(...q.ids);
      await recordAudit(trx, ctx, {
        entityType: 'invoice',
        entityId: part.length === 1 ? part[0]!.number : `${part[0]!.number}..${part[part.length - 1]!.number}`,
        action: 'send',
        after: { invoices: part.map((c) => c.number), channels, messages: q.queued },
      });
    });
  }
  const delivery: SendSummary = { claimed: 0, sent: 0, retrying: 0, failed: 0, deferred: 0, givenUp: 0, cancelled: 0, more: false, errors: [] };
  for (const part of chunks(ids, 500)) {
    const d = await sendNotifications(ctx, { ids: part, limit: part.length, ...(opts.transport ? { transport: opts.transport } : {}) });
    delivery.claimed += d.claimed;
    delivery.sent += d.sent;
    delivery.retrying += d.retrying;
    delivery.failed += d.failed;
    delivery.deferred += d.deferred;
    delivery.givenUp += d.givenUp;
    delivery.more ||= d.more;
    delivery.errors.push(...d.errors);
  }
  const sent: string[] = [];
  for (const part of chunks(chosen, 5000)) {
    const r = await db('invoices').whereIn('id', part.map((c) => c.id)).whereNotNull('sent_at').select('number');
    sent.push(...r.map((x: { number: string }) => x.number));
  }
  return { invoices: chosen.map((c) => ({ number: c.number, account: c.account, channels: c.channels })), skipped, queued: ids.length, delivery, sent };
}
