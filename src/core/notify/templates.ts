// Message templates: plain text files with {{placeholders}}, one per message and channel, in
// templates/messages (or the directory of the `templates-dir` setting, file by file). Amounts
// are formatted in the ISP's currency and dates on the ISP's calendar before they reach a
// template, so a template only places ready-made text.
import { existsSync, readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { IspctlError } from '../errors.js';
import { formatMoney } from '../money.js';
import { parseLocalDate, toLocalDate, type LocalDate } from '../time.js';
import type { Channel } from './setting-defs.js';

export const TEMPLATE_NAMES = ['reminder', 'warning', 'suspension', 'restoration', 'receipt', 'invoice'] as const;
export type TemplateName = (typeof TEMPLATE_NAMES)[number];

/**
 * Placeholders every message has. pay_link is the subscriber's short payment page link and
 * pay_line "Pay online: <link>"; both are empty when public-url is not set.
 */
export const COMMON_FIELDS = ['isp_name', 'subscriber_name', 'account_no', 'balance', 'pay_link', 'pay_line'] as const;

/** Placeholders of each message, beyond the common ones. */
export const TEMPLATE_FIELDS: Record<TemplateName, readonly string[]> = {
  reminder: ['invoice_number', 'amount', 'due_date'],
  warning: ['invoice_number', 'amount', 'due_date', 'suspension_date'],
  suspension: ['invoice_number', 'amount', 'due_date'],
  restoration: [],
  receipt: ['amount', 'method', 'reference', 'received_on'],
  invoice: ['invoice_number', 'amount', 'due_date', 'period'],
};

export interface MessageTemplate {
  name: TemplateName;
  channel: Channel;
  /** Email only. */
  subject: string | null;
  body: string;
  /** Where it was read from, for error messages. */
  source: string;
}

export interface RenderedMessage {
  subject: string | null;
  body: string;
}

export type MessageData = Record<string, string>;

/** The ispctl package root (holds package.json and templates/), from src/ or dist/src/. */
function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'templates'))) return dir;
    dir = dirname(dir);
  }
  throw new Error('cannot find the ispctl package root (templates/ next to package.json)');
}

/** Where the built-in message templates are. */
export function builtinTemplatesDir(): string {
  return join(packageRoot(), 'templates', 'messages');
}

export function templateFileName(name: TemplateName, channel: Channel): string {
  return `${name}.${channel}.txt`;
}

function templateError(code: string, message: string, suggestions: string[] = []): IspctlError {
  return new IspctlError(code, message, { kind: 'invalid', suggestions });
}

/** Splits an email template into its `Subject:` line and body. */
export function parseTemplateText(name: TemplateName, channel: Channel, text: string, source: string): MessageTemplate {
  const normalised = text.replace(/^\uFEFF/, '').replace(/\r\n?/g, '\n');
  if (channel === 'sms') return { name, channel, subject: null, body: normalised.trim(), source };
  const m = /^Subject:[ \t]*(.*)\n(?:[ \t]*\n)?([\s\S]*)$/.exec(normalised);
  if (!m || !m[1]!.trim()) {
    throw templateError('TEMPLATE_INVALID', `Email template ${source} must start with a "Subject: …" line, then a blank line, then the body.`);
  }
  return { name, channel, subject: m[1]!.trim(), body: m[2]!.replace(/\s+$/, '') + '\n', source };
}

/**
 * Loads templates, each file once per loader: from `dir` when it has the file, otherwise the
 * built-in one. Create one loader per run; it is not shared between runs.
 */
export function createTemplateLoader(dir?: string | null): { get(name: TemplateName, channel: Channel): Promise<MessageTemplate> } {
  const cache = new Map<string, Promise<MessageTemplate>>();
  const builtin = builtinTemplatesDir();
  return {
    get(name, channel) {
      if (!(TEMPLATE_NAMES as readonly string[]).includes(name)) throw templateError('UNKNOWN_TEMPLATE', `There is no message template called ${JSON.stringify(name)}; the templates are ${TEMPLATE_NAMES.join(', ')}.`);
      const file = templateFileName(name, channel);
      let p = cache.get(file);
      if (!p) {
        p = (async () => {
          const own = dir ? resolve(dir, file) : null;
          const path = own && existsSync(own) ? own : join(builtin, file);
          let text: string;
          try {
            text = await readFile(path, 'utf8');
          } catch (err) {
            throw templateError('TEMPLATE_UNREADABLE', `Cannot read message template ${path}: ${(err as Error).message}.`, ['Check the templates-dir setting']);
          }
          return parseTemplateText(name, channel, text, own && path === own ? own : `templates/messages/${file}`);
        })();
        cache.set(file, p);
      }
      return p;
    },
  };
}

/** Loads one template synchronously (for tools and tests). */
export function loadTemplateSync(name: TemplateName, channel: Channel, dir?: string | null): MessageTemplate {
  const file = templateFileName(name, channel);
  const own = dir ? resolve(dir, file) : null;
  const path = own && existsSync(own) ? own : join(builtinTemplatesDir(), file);
  return parseTemplateText(name, channel, readFileSync(path, 'utf8'), path);
}

const PLACEHOLDER = /\{\{\s*([^{}]*?)\s*\}\}/g;

/**
 * Fills `{{name}}` placeholders (spaces inside the braces allowed) with `data`. A placeholder the
 * data does not have is an error naming the ones it has: a typo in a template must not send
 * "Dear {{nmae}}" to thousands of people.
 * @throws IspctlError TEMPLATE_PLACEHOLDER
 */
export function renderText(template: string, data: MessageData, where = 'template'): string {
  return template.replace(PLACEHOLDER, (_all, rawName: string) => {
    const value = Object.prototype.hasOwnProperty.call(data, rawName) ? data[rawName] : undefined;
    if (value === undefined || value === null) {
      throw templateError(
        'TEMPLATE_PLACEHOLDER',
        `${where} uses {{${rawName}}}, which this message does not have.`,
        [`The placeholders are ${Object.keys(data).sort().map((k) => `{{${k}}}`).join(', ')}`],
      );
    }
    return String(value);
  });
}

/** Text split at its placeholders: literal, name, literal, name, …, literal. */
type Compiled = string[];

function compile(template: string): Compiled {
  const parts: string[] = [];
  let last = 0;
  for (const m of template.matchAll(PLACEHOLDER)) {
    parts.push(template.slice(last, m.index), m[1]!);
    last = m.index! + m[0].length;
  }
  parts.push(template.slice(last));
  return parts;
}

function fillCompiled(parts: readonly string[], data: MessageData, where: string, template: string): string {
  let out = parts[0]!;
  for (let i = 1; i < parts.length; i += 2) {
    const value = Object.prototype.hasOwnProperty.call(data, parts[i]!) ? data[parts[i]!] : undefined;
    if (value === undefined || value === null) return renderText(template, data, where); // throws, with the message
    out += String(value) + parts[i + 1]!;
  }
  return out;
}

/**
 * A template's subject and body split at their placeholders (literal, name, literal, …,
 * literal), compiled on first use and kept on the template object.
 */
export function templateParts(template: MessageTemplate): { subject: readonly string[] | null; body: readonly string[] } {
  const t = template as MessageTemplate & { compiled?: { subject: Compiled | null; body: Compiled } };
  t.compiled ??= { subject: template.subject === null ? null : compile(template.subject), body: compile(template.body) };
  return t.compiled;
}

/**
 * Renders a message template. Compiled on first use and kept on the template object, so a run
 * that renders thousands of messages splits each template once.
 */
export function renderMessage(template: MessageTemplate, data: MessageData): RenderedMessage {
  const t = templateParts(template);
  return {
    subject: t.subject === null ? null : fillCompiled(t.subject, data, template.source, template.subject!).replace(/[\r\n]+/g, ' '),
    body: fillCompiled(t.body, data, template.source, template.body),
  };
}

// ---- formatting for messages ------------------------------------------------------------------

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** An amount in minor units as people read it in the ISP currency: ₱1,500.00. */
export function messageMoney(minor: bigint, currency: string): string {
  return formatMoney(minor, currency);
}

/** A calendar date (already on the ISP calendar): `Nov 16, 2026`. */
export function messageDate(date: string | LocalDate): string {
  const d = typeof date === 'string' ? parseLocalDate(date) : date;
  return `${MONTHS[d.month - 1]} ${d.day}, ${d.year}`;
}

/** The date of an instant on the ISP's calendar: `Dec 1, 2026` for 2026-11-30T20:00Z in Asia/Manila. */
export function messageDateOf(instant: Date, timezone: string): string {
  return messageDate(toLocalDate(instant, timezone));
}

export interface MessageFormat {
  ispName: string;
  currency: string;
  timezone: string;
}

/** The placeholders every message has, ready for a template. */
export function commonData(fmt: MessageFormat, subscriber: { fullName: string; accountNo: string }, balanceMinor: bigint, payLink: string | null = null): MessageData {
  return {
    isp_name: fmt.ispName,
    subscriber_name: subscriber.fullName,
    account_no: subscriber.accountNo,
    balance: messageMoney(balanceMinor, fmt.currency),
    pay_link: payLink ?? '',
    pay_line: payLink ? `Pay online: ${payLink}` : '',
  };
}
