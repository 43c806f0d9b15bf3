// Payment gateways that notify ispctl: a name (the webhook path /webhooks/<name>), a format and
// a signing secret stored encrypted. The secret is shown once, when it is generated.
import { recordAudit } from '../audit.js';
import type { ServiceContext } from '../context.js';
import type { PaymentGatewayRow } from '../db/rows.js';
import type { Db } from '../db/tx.js';
import { conflict, invalid, notFound } from '../errors.js';
import { decryptSecret, encryptSecret, generateSecret, loadSecretKey } from '../secrets.js';
import { GATEWAY_KINDS, type GatewayKind } from './formats.js';
import { errors } from '../error-catalogue.js';

export interface Gateway {
  name: string;
  kind: GatewayKind;
  method: string;
  enabled: boolean;
  createdAt: Date;
}

const METHODS = ['cash', 'gcash', 'bank', 'card', 'other'];

function toGateway(r: Pick<PaymentGatewayRow, 'name' | 'kind' | 'method' | 'enabled' | 'created_at'>): Gateway {
  return { name: r.name, kind: r.kind, method: r.method, enabled: Boolean(r.enabled), createdAt: r.created_at };
}

export function parseGatewayName(raw: string): string {
  const n = String(raw ?? '').trim().toLowerCase();
  if (!/^[a-z][a-z0-9-]{0,31}$/.test(n)) throw invalid('INVALID_GATEWAY_NAME', `Gateway name ${JSON.stringify(raw)} must be lower-case letters, digits and hyphens (up to 32), starting with a letter, e.g. paymongo.`);
  return n;
}

export interface AddGatewayInput {
  name: string;
  kind: string;
  /** The secret the gateway signs with (PayMongo shows it when the webhook is created); generated when absent. */
  secret?: string;
  /** Method recorded when a notification does not say (default: gcash for paymongo, other for generic). */
  method?: string;
}

export async function addGateway(ctx: ServiceContext, input: AddGatewayInput): Promise<{ gateway: Gateway; secret: string | null; generated: boolean }> {
  const name = parseGatewayName(input.name);
  const kind = String(input.kind ?? '').trim().toLowerCase();
  if (!(GATEWAY_KINDS as readonly string[]).includes(kind)) throw invalid('INVALID_GATEWAY_KIND', `Gateway kind ${JSON.stringify(input.kind)} is not one of ${GATEWAY_KINDS.join(', ')}.`, ['--kind paymongo', '--kind generic']);
  const method = String(input.method ?? (kind === 'paymongo' ? 'gcash' : 'other')).trim().toLowerCase();
  if (!METHODS.includes(method)) throw errors.paymentMethod(input.method, METHODS);
  const given = input.secret?.trim();
  if (given !== undefined && (given.length < 16 || given.length > 200)) throw invalid('INVALID_SECRET', 'The webhook secret must be 16 to 200 characters long.');
  const secret = given || generateSecret(32);
  const key = loadSecretKey(ctx.env, { create: true });
  const now = ctx.clock.now();
  const inserted: PaymentGatewayRow[] = await ctx.db('payment_gateways')
    .insert({ name, kind, secret: encryptSecret(secret, key), method, enabled: true, created_at: now, updated_at: now })
    .onConflict('name')
    .ignore()
    .returning('*');
  if (!inserted.length) throw conflict('GATEWAY_EXISTS', `A gateway called ${name} exists already.`, ['ispctl gateway list', `ispctl gateway remove ${name}`]);
  await recordAudit(ctx.db, ctx, { entityType: 'gateway', entityId: name, action: 'create', after: { kind, method, secret: '***' } });
  return { gateway: toGateway(inserted[0]), secret: given ? null : secret, generated: !given };
}

export async function listGateways(db: Db): Promise<Gateway[]> {
  const rows: Array<Pick<PaymentGatewayRow, 'name' | 'kind' | 'method' | 'enabled' | 'created_at'>> = await db('payment_gateways').orderBy('name').select('name', 'kind', 'method', 'enabled', 'created_at');
  return rows.map(toGateway);
}

export async function removeGateway(ctx: ServiceContext, name: string): Promise<void> {
  const n = parseGatewayName(name);
  const deleted = await ctx.db('payment_gateways').where({ name: n }).delete();
  if (!deleted) throw notFound('GATEWAY_NOT_FOUND', `There is no gateway called ${n}.`, ['ispctl gateway list']);
  await recordAudit(ctx.db, ctx, { entityType: 'gateway', entityId: n, action: 'delete' });
}

/** The gateway and its secret in clear, for checking a signature (never returned to a user). */
export async function gatewayWithSecret(db: Db, env: Record<string, string | undefined>, name: string): Promise<(Gateway & { secret: string }) | undefined> {
  const row = await db('payment_gateways').where({ name }).first('*');
  if (!row) return undefined;
  return { ...toGateway(row), secret: decryptSecret(String(row.secret), loadSecretKey(env), `webhook secret of gateway ${name}`) };
}
