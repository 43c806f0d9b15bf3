// SMS through an HTTP gateway. The request is built from settings: a URL, a method, a body
// template (JSON or form) and headers. Values are never pasted into the template as text: a JSON
// template is parsed and the values go into its strings, so quotes, backslashes and newlines in
// a message cannot break the JSON; a form body and the URL are encoded piece by piece.
import { IspctlError } from '../errors.js';
import type { SmsGatewayConfig } from './config.js';

export interface SmsMessage {
  to: string;
  text: string;
}

export interface HttpRequestSpec {
  url: string;
  method: string;
  headers: Record<string, string>;
  body: string | null;
}

const PLACEHOLDER = /\{\{\s*([^{}]*?)\s*\}\}/g;

function fill(template: string, values: Record<string, string>, encode: (s: string) => string): string {
  return template.replace(PLACEHOLDER, (_all, name: string) => {
    if (!Object.prototype.hasOwnProperty.call(values, name)) {
      throw new IspctlError('SMS_TEMPLATE_PLACEHOLDER', `The SMS gateway template uses {{${name}}}; the placeholders are {{to}} and {{text}}.`, { kind: 'invalid' });
    }
    return encode(values[name]!);
  });
}

/** Replaces placeholders inside every string (keys and values) of a parsed JSON template. */
function fillJson(node: unknown, values: Record<string, string>): unknown {
  if (typeof node === 'string') return fill(node, values, (s) => s);
  if (Array.isArray(node)) return node.map((n) => fillJson(n, values));
  if (node !== null && typeof node === 'object') {
    return Object.fromEntries(Object.entries(node as Record<string, unknown>).map(([k, v]) => [fill(k, values, (s) => s), fillJson(v, values)]));
  }
  return node;
}

/** Encodes like application/x-www-form-urlencoded (spaces as +). */
function formEncode(s: string): string {
  return encodeURIComponent(s).replace(/%20/g, '+');
}

/**
 * The HTTP request that sends one SMS through the configured gateway.
 * @throws IspctlError SMS_TEMPLATE_INVALID when a json template is not JSON; SMS_TEMPLATE_PLACEHOLDER
 */
export function buildSmsRequest(config: SmsGatewayConfig, message: SmsMessage): HttpRequestSpec {
  const values = { to: message.to, text: message.text };
  const url = fill(config.url, values, encodeURIComponent);
  const headers: Record<string, string> = {};
  let body: string | null = null;
  if (config.method !== 'GET') {
    if (config.format === 'json') {
      let parsed: unknown;
      try {
        parsed = JSON.parse(config.bodyTemplate);
      } catch (err) {
        throw new IspctlError('SMS_TEMPLATE_INVALID', `sms-body-template is not valid JSON (sms-format is json): ${(err as Error).message}.`, {
          kind: 'invalid',
          suggestions: [`ispctl settings set sms-body-template '{"to":"{{to}}","text":"{{text}}"}'`, 'ispctl settings set sms-format form'],
        });
      }
      body = JSON.stringify(fillJson(parsed, values));
      headers['content-type'] = 'application/json; charset=utf-8';
    } else {
      body = config.bodyTemplate
        .split('&')
        .filter((pair) => pair !== '')
        .map((pair) => {
          const eq = pair.indexOf('=');
          const rawKey = eq < 0 ? pair : pair.slice(0, eq);
          const rawValue = eq < 0 ? '' : pair.slice(eq + 1);
          const decode = (s: string) => decodeURIComponent(s.replace(/\+/g, ' '));
          return `${formEncode(fill(decode(rawKey), values, (s) => s))}=${formEncode(fill(decode(rawValue), values, (s) => s))}`;
        })
        .join('&');
      headers['content-type'] = 'application/x-www-form-urlencoded; charset=utf-8';
    }
  }
  for (const [k, v] of Object.entries(config.headers)) {
    // A configured Content-Type replaces the default.
    for (const existing of Object.keys(headers)) if (existing.toLowerCase() === k.toLowerCase()) delete headers[existing];
    headers[k] = v;
  }
  return { url, method: config.method, headers, body };
}

/** Why a gateway did not take a message (unreachable, timed out, or not a 2xx answer). */
export class SmsGatewayError extends Error {
  /**
   * @param status the HTTP status, when the gateway answered
   * @param retryAfterMs set when the gateway asked to be called again later (429, or 503 with
   *   Retry-After): the message was not refused, the gateway is busy
   */
  constructor(
    message: string,
    readonly status?: number,
    readonly retryAfterMs?: number,
  ) {
    super(message);
    this.name = 'SmsGatewayError';
  }
}

/** A 429 without Retry-After waits this long. */
export const DEFAULT_RETRY_AFTER_MS = 30_000;
/** A Retry-After longer than this is taken as this (a gateway asking for a day is not obeyed blindly). */
export const MAX_RETRY_AFTER_MS = 3_600_000;

/** Milliseconds a Retry-After header asks for (seconds, or an HTTP date), or undefined. */
export function parseRetryAfter(value: string | null, nowMs: number = Date.now()): number | undefined {
  if (!value) return undefined;
  const v = value.trim();
  if (/^\d+(\.\d+)?$/.test(v)) return Math.min(Number(v) * 1000, MAX_RETRY_AFTER_MS);
  const at = Date.parse(v);
  if (Number.isNaN(at)) return undefined;
  return Math.min(Math.max(0, at - nowMs), MAX_RETRY_AFTER_MS);
}

/** Sends one SMS; resolves when the gateway answered 2xx. */
export async function sendSms(config: SmsGatewayConfig, message: SmsMessage, opts: { timeoutMs?: number } = {}): Promise<{ status: number }> {
  const req = buildSmsRequest(config, message);
  const timeoutMs = opts.timeoutMs ?? 15_000;
  let res: Response;
  try {
    res = await fetch(req.url, { method: req.method, headers: req.headers, body: req.body ?? undefined, signal: AbortSignal.timeout(timeoutMs), redirect: 'follow' });
  } catch (err) {
    const e = err as Error & { cause?: { code?: string; message?: string } };
    const why = e.name === 'TimeoutError' ? `no answer within ${timeoutMs / 1000} s` : (e.cause?.code ?? e.cause?.message ?? e.message);
    throw new SmsGatewayError(`SMS gateway ${new URL(req.url).host} unreachable: ${why}`);
  }
  const text = await res.text().catch(() => '');
  if (res.status < 200 || res.status >= 300) {
    const asked = parseRetryAfter(res.headers.get('retry-after'));
    const retryAfterMs = res.status === 429 ? (asked ?? DEFAULT_RETRY_AFTER_MS) : res.status === 503 ? asked : undefined;
    throw new SmsGatewayError(
      `SMS gateway answered ${res.status} ${res.statusText}${text ? `: ${text.replace(/\s+/g, ' ').slice(0, 200)}` : ''}${retryAfterMs !== undefined ? ` (asked to wait ${Math.ceil(retryAfterMs / 1000)} s)` : ''}`,
      res.status,
      retryAfterMs,
    );
  }
  return { status: res.status };
}
