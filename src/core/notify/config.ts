// Notification settings as the outbox needs them, read in one query (secrets unmasked: this is
// the one reader that needs them; never print what it returns).
import type { Db } from '../db/tx.js';
import { settingDef, type SettingValue } from '../settings/registry.js';
import { parseChannels, ratePerSecond, type Channel, type Rate } from './setting-defs.js';

export interface SmsGatewayConfig {
  url: string;
  method: 'POST' | 'PUT' | 'GET';
  format: 'json' | 'form';
  bodyTemplate: string;
  headers: Record<string, string>;
}

export interface NotifyConfig {
  ispName: string;
  currency: string;
  timezone: string;
  /** Channels enabled by `notify-channels` AND set up (SMTP / SMS gateway). */
  channels: Channel[];
  /** Channels enabled by `notify-channels`, set up or not. */
  wanted: Channel[];
  smtpUrl: string | null;
  mailFrom: string | null;
  sms: SmsGatewayConfig | null;
  templatesDir: string | null;
  maxAttempts: number;
  /** How each gateway may be used: connections or requests at once, and the most per second. */
  limits: Record<Channel, GatewayLimits>;
  /** How long a suspension waits for its notice, minutes (0: it does not wait). */
  suspensionHoldMinutes: number;
}

export interface GatewayLimits {
  /** Messages handed to the gateway at once (SMTP: pooled connections). */
  concurrency: number;
  /** Most messages per second, or null for no limit. */
  rate: Rate;
}

const KEYS = [
  'isp-name',
  'currency',
  'timezone',
  'notify-channels',
  'smtp-url',
  'mail-from',
  'sms-url',
  'sms-method',
  'sms-format',
  'sms-body-template',
  'sms-headers',
  'templates-dir',
  'notify-max-attempts',
  'notify-email-connections',
  'notify-sms-concurrency',
  'notify-email-rate',
  'notify-sms-rate',
  'notify-suspension-hold-minutes',
] as const;

export async function loadNotifyConfig(db: Db): Promise<NotifyConfig> {
  const rows: Array<{ key: string; value: SettingValue }> = await db('settings').whereIn('key', KEYS as unknown as string[]).select('key', 'value');
  return notifyConfigFrom(new Map(rows.map((r) => [r.key, r.value])));
}

/** The notification settings from what the settings table holds (its keys above, or storedSettings: every key, secrets unmasked). */
export function notifyConfigFrom(stored: ReadonlyMap<string, SettingValue>): NotifyConfig {
  const get = (k: (typeof KEYS)[number]): SettingValue | null => (stored.has(k) ? stored.get(k)! : (settingDef(k).default ?? null));
  const str = (k: (typeof KEYS)[number]): string | null => {
    const v = get(k);
    return v === null || v === '' ? null : String(v);
  };
  const wanted = parseChannels(get('notify-channels') ?? 'email,sms');
  const smtpUrl = str('smtp-url');
  const mailFrom = str('mail-from');
  const smsUrl = str('sms-url');
  let headers: Record<string, string> = {};
  const rawHeaders = str('sms-headers');
  if (rawHeaders) {
    try {
      headers = JSON.parse(rawHeaders) as Record<string, string>;
    } catch {
      headers = {};
    }
  }
  const sms: SmsGatewayConfig | null = smsUrl
    ? {
        url: smsUrl,
        method: (str('sms-method') ?? 'POST') as SmsGatewayConfig['method'],
        format: (str('sms-format') ?? 'json') as SmsGatewayConfig['format'],
        bodyTemplate: str('sms-body-template') ?? '{"to":"{{to}}","text":"{{text}}"}',
        headers,
      }
    : null;
  const channels = wanted.filter((c) => (c === 'email' ? Boolean(smtpUrl && mailFrom) : Boolean(sms)));
  return {
    ispName: str('isp-name') ?? 'Your ISP',
    currency: str('currency') ?? 'PHP',
    timezone: str('timezone') ?? 'Asia/Manila',
    channels,
    wanted,
    smtpUrl,
    mailFrom,
    sms,
    templatesDir: str('templates-dir'),
    maxAttempts: Number(get('notify-max-attempts') ?? 8),
    limits: {
      email: { concurrency: Number(get('notify-email-connections') ?? 4), rate: ratePerSecond(get('notify-email-rate')) },
      sms: { concurrency: Number(get('notify-sms-concurrency') ?? 8), rate: ratePerSecond(get('notify-sms-rate')) },
    },
    suspensionHoldMinutes: Number(get('notify-suspension-hold-minutes') ?? 120),
  };
}
