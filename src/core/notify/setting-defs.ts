// Settings of notifications: which channels, the SMTP server, the SMS gateway request and where
// the message templates are. Values that carry credentials are marked secret: settings list and
// the audit log show them masked.
import type { SettingDef } from '../settings/registry.js';
import { errors } from '../error-catalogue.js';
import { booleanSetting, choiceSetting, integerSetting } from '../settings/kinds.js';

export const CHANNELS = ['email', 'sms'] as const;
export type Channel = (typeof CHANNELS)[number];

/** The placeholders an SMS request template may use. */
export const SMS_PLACEHOLDERS = ['to', 'text'] as const;

/** Parses `email,sms` (or `none`) into the enabled channels, in a stable order. */
export function parseChannels(raw: unknown, key = 'notify-channels'): Channel[] {
  const s = String(raw ?? '').trim().toLowerCase();
  if (s === 'none' || s === 'off') return [];
  const parts = s.split(/[,\s]+/).filter(Boolean);
  if (!parts.length) throw errors.settingValue(key, CHANNEL_LIST, raw, ['email,sms', 'none']);
  for (const p of parts) {
    if (!(CHANNELS as readonly string[]).includes(p)) {
      throw errors.settingValue(key, CHANNEL_LIST, raw, ['email,sms', 'none']);
    }
  }
  return CHANNELS.filter((c) => parts.includes(c));
}

/** Masks a URL's password and every query value: `smtp://u:***@host`, `https://gw/send?key=***`. */
export function maskUrl(value: string): string {
  try {
    const u = new URL(value);
    if (u.password) u.password = '***';
    for (const k of [...u.searchParams.keys()]) u.searchParams.set(k, '***');
    return u.toString().replace(/%2A%2A%2A/g, '***');
  } catch {
    return '***';
  }
}

/** Masks every value of a JSON object of headers: `{"Authorization":"***"}`. */
export function maskHeaders(value: string): string {
  try {
    const o = JSON.parse(value) as Record<string, unknown>;
    return JSON.stringify(Object.fromEntries(Object.keys(o).map((k) => [k, '***'])));
  } catch {
    return '***';
  }
}

const CHANNEL_LIST = 'email, sms, both (email,sms) or none';
const HEADERS = 'a JSON object of header names and string values';
const HEADERS_EXAMPLE = `'{"Authorization":"Bearer abc"}'`;

function url(key: string, description: string, protocols: string[], example: string): SettingDef {
  return {
    key,
    description,
    type: 'string',
    secret: true,
    mask: (v) => maskUrl(String(v)),
    parse(raw) {
      const s = String(raw).trim();
      let u: URL;
      try {
        u = new URL(s);
      } catch {
        throw errors.settingValue(key, `a ${protocols.map((p) => p.replace(':', '://')).join(' or ')} URL with a host`, undefined, example);
      }
      if (!protocols.includes(u.protocol) || !u.hostname) {
        throw errors.settingValue(key, `a ${protocols.map((p) => p.replace(':', '://')).join(' or ')} URL with a host`, maskUrl(s), example);
      }
      return s;
    },
  };
}

/** Checks a template's `{{placeholders}}` against the allowed names. */
function checkPlaceholders(key: string, template: string, allowed: readonly string[]): void {
  for (const m of template.matchAll(/\{\{\s*([^}]*?)\s*\}\}/g)) {
    if (!allowed.includes(m[1]!)) {
      throw errors.settingValue(key, `a template with only the placeholders ${allowed.map((a) => `{{${a}}}`).join(' and ')} (not {{${m[1]}}})`);
    }
  }
}

/** A sending rate: messages per second, or null for no limit. */
export type Rate = number | null;

/**
 * Parses a rate as people write it: `none`, `20` or `20/s` (per second), `600/min`, `36000/h`.
 * Returns the canonical text (`20/s`, `600/min`, `none`).
 */
export function parseRate(raw: unknown, key: string): string {
  const s = String(raw ?? '').trim().toLowerCase().replace(/\s+/g, '');
  if (s === 'none' || s === 'off' || s === '0' || s === 'unlimited') return 'none';
  const m = /^(\d+(?:\.\d+)?)(?:\/(s|sec|second|m|min|minute|h|hour))?$/.exec(s);
  const n = m ? Number(m[1]) : NaN;
  if (!m || !(n > 0) || n > 1_000_000) {
    throw errors.settingValue(key, 'a rate such as 20/s, 600/min or 36000/h (or none)', raw, ['20/s', 'none']);
  }
  const unit = (m[2] ?? 's')[0] === 's' ? 's' : (m[2] ?? 's')[0] === 'm' ? 'min' : 'h';
  return `${n}/${unit}`;
}

/** Messages per second of a stored rate (`20/s`, `600/min`, `36000/h`), or null for none. */
export function ratePerSecond(stored: unknown): Rate {
  const s = String(stored ?? 'none');
  if (s === 'none') return null;
  const [n, unit] = s.split('/');
  const v = Number(n);
  if (!(v > 0)) return null;
  return unit === 'h' ? v / 3600 : unit === 'min' ? v / 60 : v;
}


export const NOTIFY_SETTINGS: readonly SettingDef[] = [
  {
    key: 'notify-channels',
    description: 'Channels subscribers are notified by: email, sms, email,sms or none (a channel also needs its server set up and the subscriber an address)',
    type: 'string',
    default: 'email,sms',
    parse(raw) {
      const c = parseChannels(raw);
      return c.length ? c.join(',') : 'none';
    },
  },
  url('smtp-url', 'SMTP server for email: smtp://user:password@host:587 (STARTTLS when offered) or smtps://user:password@host:465', ['smtp:', 'smtps:'], 'smtp://billing%40example.net:password@mail.example.net:587'),
  {
    key: 'mail-from',
    description: 'Sender of email, e.g. "Example ISP Billing <billing@example.net>"',
    type: 'string',
    parse(raw) {
      const s = String(raw).trim();
      // eslint-disable-next-line no-control-regex
      if (!/^[^@\s<>]+@[^@\s<>]+$|^[^<>\r\n]*<[^@\s<>]+@[^@\s<>]+>$/.test(s) || /[\u0000-\u001f]/.test(s)) {
        throw errors.settingValue('mail-from', 'an email address, optionally with a name', s, '"Example ISP <billing@example.net>"');
      }
      return s;
    },
  },
  url('sms-url', 'SMS gateway URL; may hold {{to}} and {{text}}, which are URL-encoded (e.g. for a GET gateway)', ['http:', 'https:'], 'https://sms.example.net/api/send'),
  {
    key: 'sms-method',
    description: 'HTTP method of the SMS gateway request: POST, PUT or GET',
    type: 'enum',
    values: ['POST', 'PUT', 'GET'],
    default: 'POST',
    parse(raw) {
      const s = String(raw).trim().toUpperCase();
      if (!['POST', 'PUT', 'GET'].includes(s)) throw errors.settingValue('sms-method', 'POST, PUT or GET', raw, 'POST');
      return s;
    },
  },
  choiceSetting('sms-format', 'Body of the SMS gateway request: json (the template is JSON) or form (to={{to}}&text={{text}}, sent as application/x-www-form-urlencoded)', ['json', 'form'], 'json'),
  {
    key: 'sms-body-template',
    description: 'Body of the SMS gateway request with {{to}} and {{text}}, e.g. {"to":"{{to}}","text":"{{text}}"}; values are escaped for JSON or form encoding',
    type: 'string',
    default: '{"to":"{{to}}","text":"{{text}}"}',
    parse(raw) {
      const s = String(raw).trim();
      if (s.length > 4000) throw errors.settingValue('sms-body-template', `at most 4000 characters; it is ${s.length} long`);
      checkPlaceholders('sms-body-template', s, SMS_PLACEHOLDERS);
      if (/^[[{]/.test(s)) {
        try {
          JSON.parse(s);
        } catch (err) {
          throw errors.settingValue('sms-body-template', `valid JSON when it starts like JSON (${(err as Error).message})`, undefined, `'{"to":"{{to}}","text":"{{text}}"}'`);
        }
      }
      return s;
    },
  },
  {
    key: 'sms-headers',
    description: 'Extra headers of the SMS gateway request as a JSON object, e.g. {"Authorization":"Bearer …"}',
    type: 'string',
    secret: true,
    mask: (v) => maskHeaders(String(v)),
    parse(raw) {
      const s = String(raw).trim();
      let o: unknown;
      try {
        o = JSON.parse(s);
      } catch {
        throw errors.settingValue('sms-headers', HEADERS, undefined, HEADERS_EXAMPLE);
      }
      if (o === null || typeof o !== 'object' || Array.isArray(o)) throw errors.settingValue('sms-headers', HEADERS, undefined, HEADERS_EXAMPLE);
      for (const [k, v] of Object.entries(o as Record<string, unknown>)) {
        if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(k)) throw errors.settingValue('sms-headers', `${HEADERS} (${JSON.stringify(k)} is not a header name)`, undefined, HEADERS_EXAMPLE);
        // eslint-disable-next-line no-control-regex
        if (typeof v !== 'string' || /[\u0000-\u001f\u007f]/.test(v)) throw errors.settingValue('sms-headers', `${HEADERS} (the value of ${k} is not one)`, undefined, HEADERS_EXAMPLE);
      }
      return JSON.stringify(o);
    },
  },
  {
    key: 'templates-dir',
    description: 'Directory with your own message templates (reminder.email.txt, reminder.sms.txt, …); files missing there come from the built-in templates',
    type: 'string',
    parse(raw) {
      const s = String(raw).trim();
      if (!s) throw errors.settingValue('templates-dir', 'a directory', raw, '/etc/ispctl/messages');
      return s;
    },
  },
  booleanSetting('invoice-issued-notify', 'Send each subscriber an "invoice issued" message (email with the invoice PDF, SMS with a payment link) when billing creates their invoice; false turns it off', true),
  integerSetting('notify-max-attempts', 'Attempts to deliver one message before it is marked failed (retries back off from 1 minute to 6 hours)', 1, 50, 8),
  integerSetting('notify-email-connections', 'SMTP connections kept open and used at once to deliver email (pooled; one message at a time on each)', 1, 100, 4),
  integerSetting('notify-sms-concurrency', 'SMS gateway requests in flight at once (kept-alive HTTP connections)', 1, 200, 8),
  {
    key: 'notify-email-rate',
    description: 'Most email the SMTP server is sent, e.g. 20/s, 600/min, 36000/h, or none; never exceeded',
    type: 'string',
    default: 'none',
    parse: (raw) => parseRate(raw, 'notify-email-rate'),
  },
  {
    key: 'notify-sms-rate',
    description: 'Most SMS the gateway is sent, e.g. 10/s, 600/min, or none; never exceeded (a 429 answer with Retry-After also slows it down)',
    type: 'string',
    default: 'none',
    parse: (raw) => parseRate(raw, 'notify-sms-rate'),
  },
  integerSetting(
    'notify-suspension-hold-minutes',
    'A suspension reaches the router only after its notice was delivered or given up, or after this many minutes (then the notice is given up); 0: suspend without waiting',
    0,
    1440,
    120,
  ),
];
