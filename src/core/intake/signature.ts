// Webhook signatures: HMAC-SHA256 over "<timestamp>.<raw body>" with the gateway's secret,
// compared in constant time, with the timestamp checked against a tolerance so a captured
// request cannot be replayed later (a replay inside the window pays nothing either: payments
// are unique per gateway transaction id).
//
//   generic   X-Ispctl-Timestamp: 1764662400
//             X-Ispctl-Signature: sha256=<hex>
//   paymongo  Paymongo-Signature: t=1764662400,te=<hex>,li=<hex>   (te in test mode, li in live mode)
import { createHmac, timingSafeEqual } from 'node:crypto';

export type Headers = Record<string, string | string[] | undefined>;

export interface SignatureCheck {
  ok: boolean;
  /** Why it failed, for the log and the 401 answer (never the expected signature). */
  reason?: string;
  /** The signed timestamp, seconds since the epoch. */
  timestamp?: number;
}

export function hmacHex(secret: string, timestamp: string | number, rawBody: Buffer | string): string {
  return createHmac('sha256', secret).update(`${timestamp}.`).update(rawBody).digest('hex');
}

/** Constant-time comparison of two hex signatures (false for different lengths or non-hex). */
export function hexEqual(expected: string, given: string): boolean {
  if (!/^[0-9a-f]+$/i.test(given) || given.length !== expected.length) return false;
  return timingSafeEqual(Buffer.from(expected, 'hex'), Buffer.from(given.toLowerCase(), 'hex'));
}

function header(headers: Headers, name: string): string | undefined {
  const v = headers[name.toLowerCase()];
  return Array.isArray(v) ? v[0] : v;
}

function checkTime(ts: number, now: Date, toleranceSeconds: number): string | undefined {
  const age = Math.floor(now.getTime() / 1000) - ts;
  if (age > toleranceSeconds) return `timestamp is ${age} s old; the limit is ${toleranceSeconds} s`;
  if (age < -toleranceSeconds) return `timestamp is ${-age} s in the future`;
  return undefined;
}

function parseTimestamp(raw: string | undefined): number | undefined {
  if (!raw || !/^\d{9,11}$/.test(raw.trim())) return undefined;
  return Number(raw.trim());
}

export function verifyGeneric(headers: Headers, rawBody: Buffer, secret: string, now: Date, toleranceSeconds: number): SignatureCheck {
  const ts = parseTimestamp(header(headers, 'x-ispctl-timestamp'));
  if (ts === undefined) return { ok: false, reason: 'missing or malformed X-Ispctl-Timestamp header' };
  const sig = /^sha256=([0-9a-fA-F]{64})$/.exec(header(headers, 'x-ispctl-signature')?.trim() ?? '');
  if (!sig) return { ok: false, reason: 'missing or malformed X-Ispctl-Signature header (sha256=<64 hex digits>)' };
  const late = checkTime(ts, now, toleranceSeconds);
  if (late) return { ok: false, reason: late, timestamp: ts };
  if (!hexEqual(hmacHex(secret, ts, rawBody), sig[1]!)) return { ok: false, reason: 'signature does not match', timestamp: ts };
  return { ok: true, timestamp: ts };
}

/**
 * PayMongo: the header carries the timestamp and a signature for test mode (te) and live mode
 * (li); which one counts depends on the event's livemode, read from the body by the caller.
 */
export function verifyPaymongo(headers: Headers, rawBody: Buffer, secret: string, now: Date, toleranceSeconds: number, livemode: boolean): SignatureCheck {
  const raw = header(headers, 'paymongo-signature');
  if (!raw) return { ok: false, reason: 'missing Paymongo-Signature header' };
  const parts = new Map<string, string>();
  for (const p of raw.split(',')) {
    const i = p.indexOf('=');
    if (i > 0) parts.set(p.slice(0, i).trim(), p.slice(i + 1).trim());
  }
  const ts = parseTimestamp(parts.get('t'));
  if (ts === undefined) return { ok: false, reason: 'Paymongo-Signature has no valid t=' };
  const given = parts.get(livemode ? 'li' : 'te') ?? '';
  if (!/^[0-9a-fA-F]{64}$/.test(given)) return { ok: false, reason: `Paymongo-Signature has no ${livemode ? 'li' : 'te'}= signature for a ${livemode ? 'live' : 'test'} mode event` };
  const late = checkTime(ts, now, toleranceSeconds);
  if (late) return { ok: false, reason: late, timestamp: ts };
  if (!hexEqual(hmacHex(secret, ts, rawBody), given)) return { ok: false, reason: 'signature does not match', timestamp: ts };
  return { ok: true, timestamp: ts };
}
