// Settings of notifications: which channels, the SMTP server, the SMS gateway request and where
// the message templates are. Values that carry credentials are marked secret: settings list and
// the audit log show them masked.
import { invalid } from '../errors.js';
import type { SettingDef } from '../settings/registry.js';

export const CHANNELS = ['email', 'sms'] as const;
export type Channel = (typeof CHANNELS)[number];

/** The placeholders an SMS request template may use. */
export const SMS_PLACEHOLDERS = ['to', 'text'] as const;

/** Parses `email,sms` (or `none`) into the enabled channels, in a stable order. */
export function parseChannels(raw: unknown, key = 'notify-channels'): Channel[] {
  const s = String(raw ?? '').trim().toLowerCase();
  if (s === 'none' || s === 'off') return [];
  const parts = s.split(/[,\s]+/).filter(Boolean);
  if (!parts.length) throw invalid('INVALID_SETTING_VALUE', `${key} needs email, sms, both (email,sms) or none.`, [`ispctl settings set ${key} email,sms`]);
  for (const p of parts) {
    if (!(CHANNELS as readonly string[]).includes(p)) {
      throw invalid('INVALID_SETTING_VALUE', `${key}: "${p}" is not a channel; use email, sms, email,sms or none.`, [`ispctl settings set ${key} email,sms`]);
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
        throw invalid('INVALID_SETTING_VALUE', `${key} is not a URL.`, [`ispctl settings set ${key} ${example}`]);
      }
      if (!protocols.includes(u.protocol) || !u.hostname) {
        throw invalid('INVALID_SETTING_VALUE', `${key} must be a ${protocols.map((p) => p.replace(':', '://')).join(' or ')} URL with a host, got ${JSON.stringify(maskUrl(s))}.`, [`ispctl settings set ${key} ${example}`]);
      }
      return s;
    },
  };
}

/** Checks a template's `{{placeholders}}` against the allowed names. */
function checkPlaceholders(key: string, template: string, allowed: readonly string[]): void {
  for (const m of template.matchAll(/\{\{\s*([^}]*?)\s*\}\}/g)) {
    if (!allowed.includes(m[1]!)) {
      throw invalid('INVALID_SETTING_VALUE', `${key} uses {{${m[1]}}}; the placeholders are ${allowed.map((a) => `{{${a}}}`).join(' and ')}.`);
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
    throw invalid('INVALID_SETTING_VALUE', `${key} must be a rate such as 20/s, 600/min or 36000/h (or none), got ${JSON.stringify(String(raw))}.`, [`ispctl settings set ${key} 20/s`, `ispctl settings set ${key} none`]);
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

function count(key: string, description: string, min: number, max: number, def: number): SettingDef {
  return {
    key,
    description,
    type: 'integer',
    default: def,
    min,
    max,
    parse(raw) {
      const s = String(raw).trim();
      if (!/^\d+$/.test(s) || Number(s) < min || Number(s) > max) throw invalid('INVALID_SETTING_VALUE', `${key} must be a whole number from ${min} to ${max}, got "${String(raw)}".`, [`ispctl settings set ${key} ${def}`]);
      return Number(s);
    },
  };
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
        throw invalid('INVALID_SETTING_VALUE', `mail-from must be an address, optionally with a name: "Example ISP <billing@example.net>", got ${JSON.stringify(s)}.`);
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
      if (!['POST', 'PUT', 'GET'].includes(s)) throw invalid('INVALID_SETTING_VALUE', `sms-method must be POST, PUT or GET, got "${String(raw)}".`);
      return s;
    },
  },
  {
    key: 'sms-format',
    description: 'Body of the SMS gateway request: json (the template is JSON) or form (to={{to}}&text={{text}}, sent as application/x-www-form-urlencoded)',
    type: 'enum',
    values: ['json', 'form'],
    default: 'json',
    parse(raw) {
      const s = String(raw).trim().toLowerCase();
      if (!['json', 'form'].includes(s)) throw invalid('INVALID_SETTING_VALUE', `sms-format must be json or form, got "${String(raw)}".`);
      return s;
    },
  },
  {
    key: 'sms-body-template',
    description: 'Body of the SMS gateway request with {{to}} and {{text}}, e.g. {"to":"{{to}}","text":"{{text}}"}; values are escaped for JSON or form encoding',
    type: 'string',
    default: '{"to":"{{to}}","text":"{{text}}"}',
    parse(raw) {
      const s = String(raw).trim();
      if (s.length > 4000) throw invalid('INVALID_SETTING_VALUE', 'sms-body-template is longer than 4000 characters.');
      checkPlaceholders('sms-body-template', s, SMS_PLACEHOLDERS);
      if (/^[[{]/.test(s)) {
        try {
          JSON.parse(s);
        } catch (err) {
          throw invalid('INVALID_SETTING_VALUE', `sms-body-template looks like JSON but is not valid JSON: ${(err as Error).message}.`, [`ispctl settings set sms-body-template '{"to":"{{to}}","text":"{{text}}"}'`]);
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
        throw invalid('INVALID_SETTING_VALUE', 'sms-headers must be a JSON object of header names and values, e.g. {"Authorization":"Bearer abc"}.');
      }
      if (o === null || typeof o !== 'object' || Array.isArray(o)) throw invalid('INVALID_SETTING_VALUE', 'sms-headers must be a JSON object, e.g. {"Authorization":"Bearer abc"}.');
      for (const [k, v] of Object.entries(o as Record<string, unknown>)) {
        if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(k)) throw invalid('INVALID_SETTING_VALUE', `sms-headers: ${JSON.stringify(k)} is not a valid header name.`);
        // eslint-disable-next-line no-control-regex
        if (typeof v !== 'string' || /[\u0000-\u001f\u007f]/.test(v)) throw invalid('INVALID_SETTING_VALUE', `sms-headers: the value of ${k} must be a string without control characters.`);
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
      if (!s) throw invalid('INVALID_SETTING_VALUE', 'templates-dir cannot be empty.');
      return s;
    },
  },
  {
    key: 'invoice-issued-notify',
    description: 'Send each subscriber an "invoice issued" message (email with the invoice PDF, SMS with a payment link) when billing creates their invoice; false turns it off',
    type: 'boolean',
    default: true,
    parse(raw) {
      if (typeof raw === 'boolean') return raw;
      const s = String(raw).trim().toLowerCase();
      if (['true', 'yes', 'on', '1'].includes(s)) return true;
      if (['false', 'no', 'off', '0'].includes(s)) return false;
      throw invalid('INVALID_SETTING_VALUE', `invoice-issued-notify must be true or false, got "${String(raw)}".`, ['ispctl settings set invoice-issued-notify false']);
    },
  },
  {
    key: 'notify-max-attempts',
    description: 'Attempts to deliver one message before it is marked failed (retries back off from 1 minute to 6 hours)',
    type: 'integer',
    default: 8,
    min: 1,
    max: 50,
    parse(raw) {
      const s = String(raw).trim();
      if (!/^\d+$/.test(s) || Number(s) < 1 || Number(s) > 50) throw invalid('INVALID_SETTING_VALUE', `notify-max-attempts must be a whole number from 1 to 50, got "${String(raw)}".`);
      return Number(s);
    },
  },
  count('notify-email-connections', 'SMTP connections kept open and used at once to deliver email (pooled; one message at a time on each)', 1, 100, 4),
  count('notify-sms-concurrency', 'SMS gateway requests in flight at once (kept-alive HTTP connections)', 1, 200, 8),
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
  count(
    'notify-suspension-hold-minutes',
    'A suspension reaches the router only after its notice was delivered or given up, or after this many minutes (then the notice is given up); 0: suspend without waiting',
    0,
    1440,
    120,
  ),
];
