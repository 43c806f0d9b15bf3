// Validation and set-based insertion of new subscribers with their first service, shared by
// `subscriber add` (one) and `subscriber import` (many). Every field of every row is checked,
// then the lookups (plans, routers, taken user names and addresses) are done once for the whole
// batch, never once per row.

import { errors } from '../error-catalogue.js';
import type { Knex } from 'knex';
import { conflict, invalid, IspctlError } from '../errors.js';
import { parseMoney, parsePercent, type Discount } from '../money.js';
import { generatePassword } from '../secrets.js';
import { parseLocalDate, formatLocalDate } from '../time.js';
import type { PlanRow, RouterRow, ServiceRow, SubscriberRow } from '../db/rows.js';
import { big } from '../db/sql.js';
import { recordAuditMany } from './audit-many.js';
import type { Actor } from '../context.js';
import type { Clock } from '../clock.js';
import { describeDiscount } from './types.js';
import {
  normalisePhone,
  validateEmail,
  validateFullName,
  validatePppPassword,
  validateStaticIp,
  validateText,
  validateUsername,
} from './validate.js';

/** What people type for one new subscriber (flags of `subscriber add`, or one CSV row). */
export interface SubscriberInput {
  fullName: string;
  email?: string;
  phone?: string;
  address?: string;
  notes?: string;
  username: string;
  /** Generated (strong) when omitted. */
  password?: string;
  /** Plan name. */
  plan: string;
  /** Router name. */
  router: string;
  staticIp?: string;
  /** Individual monthly price replacing the plan's, in the plan currency. */
  price?: string;
  /** `100` (fixed amount) or `10%` (percent), applied after the price. */
  discount?: string;
  /** `YYYY-MM-DD`, last day of the discount. */
  discountUntil?: string;
  /** `YYYY-MM-DD`; default today in the ISP time zone. */
  startDate?: string;
}

export type InputField = keyof SubscriberInput;

export interface FieldProblem {
  field: InputField;
  error: IspctlError;
}

export interface PreparedSubscriber {
  subscriber: { full_name: string; email: string | null; phone: string | null; address: string | null; notes: string | null };
  service: {
    username: string;
    password: string;
    plan_id: number;
    router_id: number;
    static_ip: string | null;
    individual_price_minor: bigint | null;
    discount_kind: 'fixed' | 'percent' | null;
    discount_value: bigint | number | null;
    discount_until: string | null;
    started_on: string;
  };
  planName: string;
  routerName: string;
  currency: string;
  generatedPassword: boolean;
}

export interface PrepareResult {
  /** One per input, undefined where the row has problems. */
  prepared: Array<PreparedSubscriber | undefined>;
  /** One list per input (empty when the row is fine). */
  problems: FieldProblem[][];
}

export interface PrepareOptions {
  /** Today in the ISP time zone, `YYYY-MM-DD`. */
  today: string;
  /** ISP currency, for parsing prices when the plan is unknown. */
  currency: string;
  /** How rows are named in "also on …" messages: `row 7` for imports. */
  label?: (index: number) => string;
}

const blank = (v: string | undefined): boolean => v === undefined || v.trim() === '';

/**
 * Parses a discount: `10%` (percent, up to two decimals) or an amount in `currency` (fixed).
 * Empty, `none`, `0` and `0%` mean no discount.
 */
export function parseDiscount(input: string, currency: string): Discount | null {
  const s = input.trim();
  if (s === '' || s.toLowerCase() === 'none') return null;
  if (s.endsWith('%')) {
    const bp = parsePercent(s, { field: 'discount' });
    return bp === 0 ? null : { kind: 'percent', basisPoints: bp };
  }
  const minor = parseMoney(s, currency, { field: 'discount' });
  return minor === 0n ? null : { kind: 'fixed', minor };
}

/** How each field people type is read: for new subscribers (add, import) and edits alike. */
export const FIELD_PARSERS = {
  fullName: (v: string) => validateFullName(v),
  email: (v: string) => validateEmail(v),
  phone: (v: string) => normalisePhone(v),
  address: (v: string) => validateText(v, 'address', 500),
  notes: (v: string) => validateText(v, 'notes', 2000),
  username: (v: string) => validateUsername(v),
  password: (v: string) => validatePppPassword(v),
  staticIp: (v: string) => validateStaticIp(v),
  discountUntil: (v: string) => formatLocalDate(parseLocalDate(v, 'discount end date')),
  startDate: (v: string) => formatLocalDate(parseLocalDate(v, 'start date')),
} satisfies Partial<Record<InputField, (v: string) => string>>;

/** Without `username`/`accountNo`: another process took it between our check and our insert. */
export function usernameTaken(username?: string, accountNo?: string): IspctlError {
  return username && accountNo
    ? conflict('USERNAME_TAKEN', `The username ${JSON.stringify(username)} is already used by subscriber ${accountNo}.`, [`ispctl subscriber show ${accountNo}`, 'Choose another username'])
    : conflict('USERNAME_TAKEN', 'That username was taken by another process at the same time.', ['Choose another username']);
}

/** Without `ip`/`owner`: another process took it between our check and our insert. */
export function staticIpTaken(ip?: string, owner?: { username: string; account_no: string }): IspctlError {
  return ip && owner
    ? conflict('STATIC_IP_TAKEN', `The static IP ${ip} is already assigned to ${owner.username} (${owner.account_no}).`, ['Choose a free address', `ispctl subscriber show ${owner.account_no}`])
    : conflict('STATIC_IP_TAKEN', 'That static IP was assigned by another process at the same time.', ['Choose a free address']);
}

export function planArchived(name: string): IspctlError {
  return conflict('PLAN_ARCHIVED', `Plan ${JSON.stringify(name)} is archived and cannot be chosen for new subscribers.`, ['ispctl plan list shows the plans on offer']);
}

/**
 * The rules of a discount: a fixed one no more than the monthly price it applies to (`baseMinor`,
 * when known), an end date only with a discount and never before today. `discount` undefined
 * means it could not be read (its own problem is reported already).
 */
export function discountProblems(d: { discount: Discount | null | undefined; until: string | null; baseMinor: bigint | undefined; currency: string; today: string }): FieldProblem[] {
  const out: FieldProblem[] = [];
  if (d.discount && d.discount.kind === 'fixed' && d.baseMinor !== undefined && d.discount.minor > d.baseMinor) {
    out.push({
      field: 'discount',
      error: invalid('DISCOUNT_TOO_LARGE', `The discount ${describeDiscount(d.discount, d.currency)} is more than the monthly price ${describeDiscount({ kind: 'fixed', minor: d.baseMinor }, d.currency)} ${d.currency}.`, [
        'Give a smaller amount, or a percentage such as 10%',
      ]),
    });
  }
  if (d.until) {
    if (d.discount === null) {
      out.push({ field: 'discountUntil', error: invalid('DISCOUNT_UNTIL_WITHOUT_DISCOUNT', 'A discount end date was given without a discount.', ['Add the discount, e.g. 10% or 100']) });
    } else if (d.discount !== undefined && d.until < d.today) {
      out.push({ field: 'discountUntil', error: invalid('DISCOUNT_UNTIL_PAST', `The discount end date ${d.until} is in the past (today is ${d.today}).`, ['Give a date from today on, or leave it out for a discount without end']) });
    }
  }
  return out;
}

/** Plans by lower-case name (archived ones too). */
export async function lookupPlans(db: Knex | Knex.Transaction, names: readonly string[]): Promise<Map<string, PlanRow>> {
  const out = new Map<string, PlanRow>();
  const lower = [...new Set(names.map((n) => n.trim().toLowerCase()).filter(Boolean))];
  for (const chunk of chunks(lower, 1000)) {
    const rows: PlanRow[] = await db('plans').whereRaw(`lower(name) in (${marks(chunk)})`, chunk);
    for (const row of rows) out.set(row.name.toLowerCase(), row);
  }
  return out;
}

/** Routers by lower-case name. */
export async function lookupRouters(db: Knex | Knex.Transaction, names: readonly string[]): Promise<Map<string, Pick<RouterRow, 'id' | 'name'>>> {
  const out = new Map<string, Pick<RouterRow, 'id' | 'name'>>();
  const lower = [...new Set(names.map((n) => n.trim().toLowerCase()).filter(Boolean))];
  for (const chunk of chunks(lower, 1000)) {
    const rows: Array<Pick<RouterRow, 'id' | 'name'>> = await db('routers').whereRaw(`lower(name) in (${marks(chunk)})`, chunk).select('id', 'name');
    for (const row of rows) out.set(row.name.toLowerCase(), row);
  }
  return out;
}

/** Who holds these PPPoE usernames (any service, ended or not): lower-case username → account number. */
export async function takenUsernames(db: Knex | Knex.Transaction, usernames: readonly string[]): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const lower = [...new Set(usernames.map((u) => u.toLowerCase()))];
  for (const chunk of chunks(lower, 1000)) {
    const rows: Array<Pick<ServiceRow, 'username'> & Pick<SubscriberRow, 'account_no'>> = await db('services as s')
      .join('subscribers as u', 'u.id', 's.subscriber_id')
      .whereRaw(`lower(s.username) in (${marks(chunk)})`, chunk)
      .select('s.username', 'u.account_no');
    for (const row of rows) out.set(row.username.toLowerCase(), row.account_no);
  }
  return out;
}

/** Which current services hold these static IPs. */
export async function takenStaticIps(db: Knex | Knex.Transaction, ips: readonly string[]): Promise<Map<string, { username: string; account_no: string }>> {
  const out = new Map<string, { username: string; account_no: string }>();
  for (const chunk of chunks([...new Set(ips)], 1000)) {
    const rows: Array<{ ip: string; username: string; account_no: string }> = await db('services as s')
      .join('subscribers as u', 'u.id', 's.subscriber_id')
      .whereIn('s.static_ip', chunk)
      .whereNull('s.ended_on')
      .select(db.raw('host(s.static_ip) as ip'), 's.username', 'u.account_no');
    for (const row of rows) out.set(row.ip, row);
  }
  return out;
}

function attempt<T>(problems: FieldProblem[], field: InputField, fn: () => T): T | undefined {
  try {
    return fn();
  } catch (err) {
    if (err instanceof IspctlError) {
      problems.push({ field, error: err });
      return undefined;
    }
    throw err;
  }
}

/** The fields read without the database (their problems added to `p`). */
function parseFields(input: SubscriberInput, p: FieldProblem[], today: string) {
  return {
    fullName: attempt(p, 'fullName', () => FIELD_PARSERS.fullName(input.fullName)),
    email: blank(input.email) ? null : attempt(p, 'email', () => FIELD_PARSERS.email(input.email!)),
    phone: blank(input.phone) ? null : attempt(p, 'phone', () => FIELD_PARSERS.phone(input.phone!)),
    address: blank(input.address) ? null : attempt(p, 'address', () => FIELD_PARSERS.address(input.address!)),
    notes: blank(input.notes) ? null : attempt(p, 'notes', () => FIELD_PARSERS.notes(input.notes!)),
    username: attempt(p, 'username', () => FIELD_PARSERS.username(input.username)),
    password: input.password === undefined || input.password === '' ? undefined : attempt(p, 'password', () => FIELD_PARSERS.password(input.password!)),
    staticIp: blank(input.staticIp) ? null : attempt(p, 'staticIp', () => FIELD_PARSERS.staticIp(input.staticIp!)),
    discountUntil: blank(input.discountUntil) ? null : attempt(p, 'discountUntil', () => FIELD_PARSERS.discountUntil(input.discountUntil!)),
    startDate: blank(input.startDate) ? today : attempt(p, 'startDate', () => FIELD_PARSERS.startDate(input.startDate!)),
    plan: String(input.plan ?? '').trim(),
    router: String(input.router ?? '').trim(),
  };
}

/**
 * The problems of one subscriber's values that need no database: every field people type, the
 * price and discount read in `currency` (the ISP's). For a command's checkInput, before the
 * database is opened or migrated; prepareSubscribers finds the same again, and the rest.
 */
export function fieldProblems(input: SubscriberInput, currency: string): FieldProblem[] {
  const p: FieldProblem[] = [];
  parseFields(input, p, '');
  if (!blank(input.price)) attempt(p, 'price', () => parseMoney(input.price!, currency, { field: 'price' }));
  if (!blank(input.discount)) attempt(p, 'discount', () => parseDiscount(input.discount!, currency));
  return p;
}

/** Validates every input; lookups are set-based. Never writes. */
export async function prepareSubscribers(db: Knex | Knex.Transaction, inputs: SubscriberInput[], opts: PrepareOptions): Promise<PrepareResult> {
  const label = opts.label ?? ((i: number) => `row ${i + 1}`);
  const problems: FieldProblem[][] = inputs.map(() => []);

  // 1. Field by field, no database.
  const parsed = inputs.map((input, i) => parseFields(input, problems[i]!, opts.today));
  parsed.forEach((r, i) => {
    if (r.plan === '') problems[i]!.push({ field: 'plan', error: invalid('MISSING_PLAN', 'The plan is missing.', ['ispctl plan list shows the plans']) });
    if (r.router === '') problems[i]!.push({ field: 'router', error: invalid('MISSING_ROUTER', 'The router is missing.', ['ispctl router list shows the routers']) });
  });

  // 2. Lookups, once for the whole batch.
  const plans = await lookupPlans(db, parsed.map((r) => r.plan));
  const routers = await lookupRouters(db, parsed.map((r) => r.router));
  const takenUsers = await takenUsernames(db, parsed.map((r) => r.username).filter((u): u is string => Boolean(u)));
  const takenIps = await takenStaticIps(db, parsed.map((r) => r.staticIp).filter((x): x is string => Boolean(x)));

  // 3. Row by row, against the lookups and the rows before it.
  const seenUsers = new Map<string, number>();
  const seenIps = new Map<string, number>();
  const prepared = parsed.map((r, i): PreparedSubscriber | undefined => {
    const p = problems[i]!;
    const input = inputs[i]!;
    const plan = r.plan ? plans.get(r.plan.toLowerCase()) : undefined;
    if (r.plan && !plan) {
      p.push({ field: 'plan', error: errors.planNotFound(r.plan) });
    } else if (plan?.archived_at) {
      p.push({ field: 'plan', error: planArchived(plan.name) });
    }
    const router = r.router ? routers.get(r.router.toLowerCase()) : undefined;
    if (r.router && !router) {
      p.push({ field: 'router', error: errors.routerNotFound(r.router) });
    }
    const currency = plan?.currency ?? opts.currency;
    const price = blank(input.price) ? null : attempt(p, 'price', () => parseMoney(input.price!, currency, { field: 'price' }));
    const discount = blank(input.discount) ? null : attempt(p, 'discount', () => parseDiscount(input.discount!, currency));
    p.push(...discountProblems({ discount, until: r.discountUntil ?? null, baseMinor: plan && price !== undefined ? (price ?? big(plan.price_minor)) : undefined, currency, today: opts.today }));
    if (r.username) {
      const key = r.username.toLowerCase();
      const before = seenUsers.get(key);
      if (before !== undefined) {
        p.push({ field: 'username', error: conflict('DUPLICATE_USERNAME', `The username ${JSON.stringify(r.username)} is also on ${label(before)}.`, ['Each PPPoE username must be unique']) });
      } else {
        seenUsers.set(key, i);
        const owner = takenUsers.get(key);
        if (owner) p.push({ field: 'username', error: usernameTaken(r.username, owner) });
      }
    }
    if (r.staticIp) {
      const before = seenIps.get(r.staticIp);
      if (before !== undefined) {
        p.push({ field: 'staticIp', error: conflict('DUPLICATE_STATIC_IP', `The static IP ${r.staticIp} is also on ${label(before)}.`, ['Each static IP can be given to one subscriber']) });
      } else {
        seenIps.set(r.staticIp, i);
        const owner = takenIps.get(r.staticIp);
        if (owner) p.push({ field: 'staticIp', error: staticIpTaken(r.staticIp, owner) });
      }
    }
    if (p.length > 0 || !plan || !router || r.fullName === undefined || r.username === undefined || r.startDate === undefined) return undefined;
    const generated = r.password === undefined;
    return {
      subscriber: { full_name: r.fullName, email: r.email ?? null, phone: r.phone ?? null, address: r.address ?? null, notes: r.notes ?? null },
      service: {
        username: r.username,
        password: r.password ?? generatePassword(),
        plan_id: Number(plan.id),
        router_id: Number(router.id),
        static_ip: r.staticIp ?? null,
        individual_price_minor: price ?? null,
        discount_kind: discount?.kind ?? null,
        discount_value: discount ? (discount.kind === 'fixed' ? discount.minor : discount.basisPoints) : null,
        discount_until: discount ? (r.discountUntil ?? null) : null,
        started_on: r.startDate,
      },
      planName: plan.name,
      routerName: router.name,
      currency,
      generatedPassword: generated,
    };
  });
  return { prepared, problems };
}

/** `?, ?, ?` for a list of bindings. */
function marks(values: unknown[]): string {
  return values.map(() => '?').join(', ');
}

export function* chunks<T>(items: T[], size: number): Generator<T[]> {
  for (let i = 0; i < items.length; i += size) yield items.slice(i, i + size);
}

export interface CreatedSubscriber {
  subscriberId: number;
  accountNo: string;
  serviceId: number;
  username: string;
  /** Present only when ispctl generated the password: shown once. */
  generatedPassword?: string;
}

const INSERT_BATCH = 1000;

/**
 * Inserts prepared subscribers and their services with a few batch statements: ids and account
 * numbers are taken from their sequences in one query, then subscribers, services and audit rows
 * are inserted in batches. Call inside a transaction.
 */
export async function insertPrepared(trx: Knex.Transaction, ctx: { clock: Clock; actor: Actor }, rows: PreparedSubscriber[]): Promise<CreatedSubscriber[]> {
  if (rows.length === 0) return [];
  const now = ctx.clock.now();
  const ids: Array<{ id: number; account_no: string }> = [];
  for (const chunk of chunks(rows, INSERT_BATCH)) {
    const res = await trx.raw(
      `select nextval(pg_get_serial_sequence('subscribers', 'id'))::int as id, next_subscriber_account_no() as account_no from generate_series(1, ?)`,
      [chunk.length],
    );
    ids.push(...res.rows);
  }
  const subscriberRows = rows.map((r, i) => ({ id: ids[i]!.id, account_no: ids[i]!.account_no, ...r.subscriber, created_at: now, updated_at: now }));
  for (const chunk of chunks(subscriberRows, INSERT_BATCH)) await trx('subscribers').insert(chunk);
  const serviceIds = new Map<string, number>();
  const serviceRows = rows.map((r, i) => ({ subscriber_id: ids[i]!.id, ...r.service, created_at: now, updated_at: now }));
  for (const chunk of chunks(serviceRows, INSERT_BATCH)) {
    const inserted: Array<{ id: number; username: string }> = await trx('services').insert(chunk).returning(['id', 'username']);
    for (const s of inserted) serviceIds.set(s.username.toLowerCase(), Number(s.id));
  }
  await recordAuditMany(
    trx,
    ctx,
    rows.map((r, i) => ({
      entityType: 'subscriber',
      entityId: ids[i]!.account_no,
      action: 'create',
      after: {
        fullName: r.subscriber.full_name,
        email: r.subscriber.email,
        phone: r.subscriber.phone,
        address: r.subscriber.address,
        service: {
          username: r.service.username,
          plan: r.planName,
          router: r.routerName,
          staticIp: r.service.static_ip,
          individualPrice: r.service.individual_price_minor,
          discount: r.service.discount_kind ? describeDiscount(r.service.discount_kind === 'fixed' ? { kind: 'fixed', minor: BigInt(r.service.discount_value!) } : { kind: 'percent', basisPoints: Number(r.service.discount_value) }, r.currency) : null,
          discountUntil: r.service.discount_until,
          startedOn: r.service.started_on,
        },
      },
    })),
  );
  return rows.map((r, i) => ({
    subscriberId: ids[i]!.id,
    accountNo: ids[i]!.account_no,
    serviceId: serviceIds.get(r.service.username.toLowerCase())!,
    username: r.service.username,
    ...(r.generatedPassword ? { generatedPassword: r.service.password } : {}),
  }));
}
