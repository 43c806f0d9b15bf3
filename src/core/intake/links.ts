// Personal payment links: /pay/<account>.<expiry>.<signature>, an HMAC-SHA256 over the account
// number and the expiry with a key derived from ispctl's secret key, so a link cannot be forged
// or extended, and stops working at its expiry. Nothing is stored per link.
//
// Short links for SMS: /p/<account digits>.<expiry day>.<signature>, e.g. /p/000123.1bq4.Xk3…
// (about 30 characters): the expiry is a day number (base 36, days since 1970-01-01 UTC; the
// link works until that day starts), the signature the first 16 base64url characters (96 bits)
// of an HMAC-SHA256 with a key of its own. The intake server checks it and redirects to the
// full /pay/ link with the same expiry.
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { ServiceContext } from '../context.js';
import type { Db } from '../db/tx.js';
import { invalid } from '../errors.js';
import { loadSecretKey } from '../secrets.js';
import { listSettings, type SettingView } from '../settings/service.js';
import { errors } from '../error-catalogue.js';

function linkKey(env: Record<string, string | undefined>): Buffer {
  return createHmac('sha256', loadSecretKey(env, { create: true })).update('ispctl payment links v1').digest();
}

function sign(key: Buffer, account: string, expiry: number): string {
  return createHmac('sha256', key).update(`${account}.${expiry}`).digest('base64url');
}

export function makeLinkToken(env: Record<string, string | undefined>, account: string, expiresAt: Date): string {
  const expiry = Math.floor(expiresAt.getTime() / 1000);
  return `${account}.${expiry}.${sign(linkKey(env), account, expiry)}`;
}

export type TokenCheck = { ok: true; account: string; expiresAt: Date } | { ok: false; reason: 'malformed' | 'bad-signature' | 'expired' };

export function verifyLinkToken(env: Record<string, string | undefined>, token: string, now: Date): TokenCheck {
  const m = /^(S-\d{1,12})\.(\d{9,11})\.([A-Za-z0-9_-]{43})$/.exec(token);
  if (!m) return { ok: false, reason: 'malformed' };
  const [, account, exp, sig] = m as unknown as [string, string, string, string];
  const expected = Buffer.from(sign(linkKey(env), account, Number(exp)), 'base64url');
  const given = Buffer.from(sig, 'base64url');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return { ok: false, reason: 'bad-signature' };
  if (Number(exp) * 1000 <= now.getTime()) return { ok: false, reason: 'expired' };
  return { ok: true, account, expiresAt: new Date(Number(exp) * 1000) };
}

export interface LinkSettings {
  publicUrl: string | null;
  days: number;
}

export async function loadLinkSettings(db: Db): Promise<LinkSettings> {
  return linkSettingsFrom(await listSettings(db));
}

/** The payment-link settings from every setting's view (listSettings). */
export function linkSettingsFrom(views: readonly SettingView[]): LinkSettings {
  const v = new Map(views.map((s) => [s.key, s.value]));
  const url = v.get('public-url');
  return { publicUrl: url ? String(url) : null, days: Number(v.get('payment-link-days') ?? 14) };
}

/** The subscriber's payment page link, valid for payment-link-days; null when public-url is not set. */
export async function paymentLink(ctx: Pick<ServiceContext, 'db' | 'clock' | 'env'>, accountNo: string, opts: { settings?: LinkSettings } = {}): Promise<{ url: string; expiresAt: Date } | null> {
  const s = opts.settings ?? (await loadLinkSettings(ctx.db));
  if (!s.publicUrl) return null;
  const expiresAt = new Date(ctx.clock.now().getTime() + s.days * 86_400_000);
  return { url: `${s.publicUrl}/pay/${makeLinkToken(ctx.env, accountNo, expiresAt)}`, expiresAt };
}

export async function requirePaymentLink(ctx: Pick<ServiceContext, 'db' | 'clock' | 'env'>, accountNo: string): Promise<{ url: string; expiresAt: Date }> {
  const link = await paymentLink(ctx, accountNo);
  if (!link) throw errors.publicUrlNotSet('A payment link points at the pay page the daemon serves');
  return link;
}

// ---- short links ------------------------------------------------------------------------------

const DAY_MS = 86_400_000;

function shortKey(env: Record<string, string | undefined>): Buffer {
  return createHmac('sha256', loadSecretKey(env, { create: true })).update('ispctl short payment links v1').digest();
}

function shortSign(key: Buffer, digits: string, day: string): string {
  return createHmac('sha256', key).update(`${digits}.${day}`).digest('base64url').slice(0, 16);
}

/** Makes short tokens with one derived key (for many subscribers at once). */
export function shortTokenSigner(env: Record<string, string | undefined>): (account: string, expiresAt: Date) => string {
  const key = shortKey(env);
  return (account, expiresAt) => {
    const m = /^S-(\d{1,12})$/.exec(account);
    if (!m) throw invalid('INVALID_ACCOUNT', `${JSON.stringify(account)} is not an account number (S-000123).`);
    const day = Math.ceil(expiresAt.getTime() / DAY_MS).toString(36);
    return `${m[1]}.${day}.${shortSign(key, m[1]!, day)}`;
  };
}

/** Checks a short token; on success the account and the full /pay/ token with the same expiry. */
export function verifyShortToken(env: Record<string, string | undefined>, token: string, now: Date): { ok: true; account: string; expiresAt: Date; payToken: string } | { ok: false; reason: 'malformed' | 'bad-signature' | 'expired' } {
  const m = /^(\d{1,12})\.([0-9a-z]{1,6})\.([A-Za-z0-9_-]{16})$/.exec(token);
  if (!m) return { ok: false, reason: 'malformed' };
  const [, digits, day, sig] = m as unknown as [string, string, string, string];
  const expected = Buffer.from(shortSign(shortKey(env), digits, day));
  const given = Buffer.from(sig);
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return { ok: false, reason: 'bad-signature' };
  const expiresAt = new Date(parseInt(day, 36) * DAY_MS);
  if (expiresAt.getTime() <= now.getTime()) return { ok: false, reason: 'expired' };
  const account = `S-${digits}`;
  return { ok: true, account, expiresAt, payToken: makeLinkToken(env, account, expiresAt) };
}

/**
 * A function that gives a subscriber's short payment link (public-url/p/TOKEN, valid for
 * payment-link-days), or null when public-url is not set.
 */
export async function shortLinkMaker(ctx: Pick<ServiceContext, 'db' | 'clock' | 'env'>, opts: { settings?: LinkSettings } = {}): Promise<((accountNo: string) => string) | null> {
  const s = opts.settings ?? (await loadLinkSettings(ctx.db));
  if (!s.publicUrl) return null;
  const sign = shortTokenSigner(ctx.env);
  const expiresAt = new Date(ctx.clock.now().getTime() + s.days * DAY_MS);
  const base = s.publicUrl.replace(/\/+$/, '');
  return (accountNo) => `${base}/p/${sign(accountNo, expiresAt)}`;
}
