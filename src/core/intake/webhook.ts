// One payment notification, from the raw HTTP request to the router: find the gateway, check
// the signature (constant time, timestamp within the tolerance), read the body strictly, record
// the payment through the payment service (unique per gateway transaction id: a repeat pays
// nothing and is answered 200 "already recorded"), then apply the router work it queued, so a
// subscriber suspended for non-payment is back at full speed before the gateway gets its answer.
// Every notification is logged in webhook_events; refusals also in the audit log.
import { createHash } from 'node:crypto';
import { recordAudit } from '../audit.js';
import type { ServiceContext } from '../context.js';
import { isIspctlError } from '../errors.js';
import { toDecimalString } from '../money.js';
import { recordPayment } from '../payments/service.js';
import { applyNow, type ApplyOptions, type ApplyOutcome } from '../provisioning/apply.js';
import { listSettings } from '../settings/service.js';
import { MalformedNotification, parseGeneric, parseJsonBody, parsePaymongo, type Notification } from './formats.js';
import { gatewayWithSecret } from './gateways.js';
import { verifyGeneric, verifyPaymongo, type Headers } from './signature.js';

export interface WebhookRequest {
  gateway: string;
  headers: Headers;
  rawBody: Buffer;
  remoteAddr?: string;
}

export type WebhookOutcome = 'recorded' | 'duplicate' | 'rejected' | 'ignored';

export interface WebhookResult {
  status: number;
  outcome: WebhookOutcome;
  message: string;
  paymentId?: number;
  /** Router work applied after the payment (recorded only). */
  applied?: ApplyOutcome;
  restored?: number[];
}

async function intakeSettings(ctx: Pick<ServiceContext, 'db'>): Promise<{ currency: string; toleranceSeconds: number }> {
  const v = new Map((await listSettings(ctx.db)).map((s) => [s.key, s.value]));
  return { currency: String(v.get('currency') ?? 'PHP'), toleranceSeconds: Number(v.get('webhook-tolerance-seconds') ?? 300) };
}

async function log(ctx: ServiceContext, req: WebhookRequest, r: WebhookResult, n?: Notification): Promise<void> {
  await ctx.db('webhook_events').insert({
    gateway: req.gateway.slice(0, 64),
    received_at: ctx.clock.now(),
    remote_addr: req.remoteAddr ?? null,
    event_id: n?.eventId ?? null,
    transaction_id: n?.kind === 'payment' ? n.transactionId : null,
    outcome: r.outcome,
    http_status: r.status,
    reason: r.message.slice(0, 1000),
    payment_id: r.paymentId ?? null,
    body_sha256: createHash('sha256').update(req.rawBody).digest('hex'),
  });
  if (r.outcome === 'rejected') {
    await recordAudit(ctx.db, ctx, {
      entityType: 'webhook',
      entityId: req.gateway.slice(0, 64),
      action: 'reject',
      after: { status: r.status, reason: r.message, eventId: n?.eventId ?? null, remoteAddr: req.remoteAddr ?? null },
    });
  }
}

/** Handles one notification; never throws for anything the sender did (it gets a 4xx). */
export async function handleWebhook(ctx: ServiceContext, req: WebhookRequest, opts: ApplyOptions = {}): Promise<WebhookResult> {
  const reject = async (status: number, message: string, n?: Notification): Promise<WebhookResult> => {
    const r: WebhookResult = { status, outcome: 'rejected', message };
    await log(ctx, req, r, n);
    return r;
  };
  const gateway = /^[a-z][a-z0-9-]{0,31}$/.test(req.gateway) ? await gatewayWithSecret(ctx.db, ctx.env, req.gateway) : undefined;
  if (!gateway || !gateway.enabled) return reject(404, `no gateway called ${JSON.stringify(req.gateway.slice(0, 64))} is set up`);
  const settings = await intakeSettings(ctx);
  const now = ctx.clock.now();

  // The signature first: nothing an unauthenticated sender wrote is acted on.
  let body: unknown;
  try {
    body = parseJsonBody(req.rawBody);
  } catch (err) {
    return reject(400, err instanceof Error ? err.message : 'malformed body');
  }
  let check;
  if (gateway.kind === 'paymongo') {
    const live = (body as { data?: { attributes?: { livemode?: unknown } } } | null)?.data?.attributes?.livemode === true;
    check = verifyPaymongo(req.headers, req.rawBody, gateway.secret, now, settings.toleranceSeconds, live);
  } else {
    check = verifyGeneric(req.headers, req.rawBody, gateway.secret, now, settings.toleranceSeconds);
  }
  if (!check.ok) return reject(401, `signature refused: ${check.reason}`);

  let n: Notification;
  try {
    n = gateway.kind === 'paymongo' ? parsePaymongo(body, settings.currency) : parseGeneric(body, settings.currency);
  } catch (err) {
    if (err instanceof MalformedNotification) return reject(400, `malformed notification: ${err.message}`);
    throw err;
  }
  if (n.kind === 'ignored') {
    const r: WebhookResult = { status: 200, outcome: 'ignored', message: n.reason };
    await log(ctx, req, r, n);
    return r;
  }
  if (!n.account && !n.invoice) return reject(422, 'the notification names no account number or invoice number', n);

  let recorded;
  try {
    recorded = await recordPayment(
      { ...ctx, actor: { user: `webhook:${gateway.name}`, command: `POST /webhooks/${gateway.name}` } },
      {
        subscriber: n.account ?? undefined,
        invoice: n.invoice ?? undefined,
        amount: toDecimalString(n.amountMinor, n.currency),
        method: n.method ?? gateway.method,
        reference: n.transactionId,
        receivedAt: n.paidAt && n.paidAt.getTime() <= now.getTime() ? n.paidAt.toISOString() : undefined,
        notes: `${gateway.name} event ${n.eventId}`,
        source: 'webhook',
        gateway: gateway.name,
        externalId: n.transactionId,
      },
    );
  } catch (err) {
    if (isIspctlError(err)) {
      if (err.code === 'DUPLICATE_PAYMENT') {
        const id = Number(err.details?.existingPaymentId ?? 0) || undefined;
        const r: WebhookResult = { status: 200, outcome: 'duplicate', message: `already recorded${id ? ` as P-${id}` : ''}`, ...(id ? { paymentId: id } : {}) };
        await log(ctx, req, r, n);
        return r;
      }
      if (err.kind === 'not_found' || err.kind === 'invalid' || err.kind === 'conflict') return reject(422, `not recorded: ${err.message}`, n);
    }
    throw err;
  }
  const applied = await applyNow(ctx, recorded.collections.jobIds, opts);
  const r: WebhookResult = {
    status: 200,
    outcome: 'recorded',
    message: `recorded as ${recorded.payment.ref}${recorded.collections.restored.length ? '; service restored' : ''}${applied.status === 'partial' ? '; some router work stays queued' : ''}`,
    paymentId: recorded.payment.id,
    applied,
    restored: recorded.collections.restored,
  };
  await log(ctx, req, r, n);
  return r;
}
