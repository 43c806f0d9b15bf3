// The receipt for a payment: queued by the payments code inside the transaction that records the
// payment, once per payment (event key receipt:payment:<id>). The email carries the receipt PDF.
import { errors } from '../error-catalogue.js';
import type { ServiceContext } from '../context.js';
import type { Db } from '../db/tx.js';
import { loadNotifyConfig, type NotifyConfig } from './config.js';
import { amountDueBySubscriber } from '../ledger/read-model.js';
import { queueNotification, type QueueResult } from './outbox.js';
import { messageDateOf, messageMoney } from './templates.js';

const METHODS: Record<string, string> = { cash: 'Cash', gcash: 'GCash', bank: 'Bank transfer', card: 'Card', other: 'Other' };

export function receiptEventKey(paymentId: number): string {
  return `receipt:payment:${paymentId}`;
}

/**
 * Queues the receipt for a payment (email and SMS, as set up) and records the event. Reads the
 * payment and the balance after it, so call it after the payment's allocations are written.
 * Calling it again for the same payment does nothing.
 */
export async function queueReceipt(db: Db, ctx: Pick<ServiceContext, 'clock' | 'env'>, opts: { paymentId: number; config?: NotifyConfig }): Promise<QueueResult & { eventKey: string }> {
  const p = await db('payments').where({ id: opts.paymentId }).first('id', 'subscriber_id', 'amount_minor', 'currency', 'method', 'reference', 'received_at');
  if (!p) throw errors.paymentNotFound(opts.paymentId);
  const eventKey = receiptEventKey(Number(p.id));
  const subscriberId = Number(p.subscriber_id);
  const config = opts.config ?? (await loadNotifyConfig(db));
  await db('collection_events')
    .insert({ subscriber_id: subscriberId, invoice_id: null, kind: 'receipt', event_key: eventKey, reason: `Payment ${p.id} of ${messageMoney(BigInt(p.amount_minor), String(p.currency))} received`, occurred_at: ctx.clock.now() })
    .onConflict('event_key')
    .ignore();
  const sub = await db('subscribers').where({ id: subscriberId }).first('full_name', 'account_no', 'email', 'phone');
  const owed = (await amountDueBySubscriber(db, [subscriberId])).get(subscriberId) ?? 0n;
  const result = await queueNotification(
    db,
    ctx,
    {
      subscriberId,
      eventKey,
      template: 'receipt',
      data: {
        amount: messageMoney(BigInt(p.amount_minor), String(p.currency)),
        method: METHODS[String(p.method)] ?? String(p.method),
        reference: (p.reference as string | null) ?? '-',
        received_on: messageDateOf(p.received_at as Date, config.timezone),
      },
      recipient: { fullName: sub.full_name, accountNo: sub.account_no, email: sub.email ?? null, phone: sub.phone ?? null, balanceMinor: owed },
      attachments: [{ kind: 'receipt', ref: String(p.id) }],
    },
    { config },
  );
  return { ...result, eventKey };
}
