// Subscribers and their services: add, list, show, edit, remove, and admin suspensions.
// A subscriber is found by account number (`S-000123`) or by a PPPoE username.

import { errors } from '../error-catalogue.js';
import type { Knex } from 'knex';
import { desiredAccess, type AccessState, type DesiredAccess } from '../access/policy.js';
import { loadNetworkSettings, type NetworkSettings } from '../access/settings.js';
import { recordAudit } from '../audit.js';
import type { ServiceContext } from '../context.js';
import { isUniqueViolation } from '../db/errors.js';
import { withTransaction, type Db } from '../db/tx.js';
import { provisionChanges } from '../provisioning/access.js';
import { assertRouterAddressing } from '../routers/pools.js';
import { findSubscriberByRef, subscriberNotFound } from './ref.js';
import { conflict, invalid, IspctlError } from '../errors.js';
import { parseMoney, type Discount } from '../money.js';
import { maskSecret, generatePassword } from '../secrets.js';
import { ispToday as settingsToday, loadIspSettings } from '../settings/service.js';
import { formatLocalDate, parseLocalDate, toLocalDate } from '../time.js';
import { planSelect, toPlan, toPlanPrefixed, type Plan } from '../plans/service.js';
import { insertPrepared, parseDiscount, prepareSubscribers, type FieldProblem, type SubscriberInput } from './prepare.js';
import { describeDiscount, monthlyPrice, toService, toSubscriber, type MonthlyPrice, type Service, type Subscriber } from './types.js';
import { normalisePhone, validateEmail, validateFullName, validatePppPassword, validateReason, validateStaticIp, validateText, validateUsername } from './validate.js';

export type { SubscriberInput } from './prepare.js';


/** Today in the ISP time zone, `YYYY-MM-DD` (reads the timezone setting; default Asia/Manila). */
export async function ispToday(ctx: Pick<ServiceContext, 'db' | 'clock'>): Promise<string> {
  return settingsToday(ctx.db, ctx.clock.now());
}

interface Resolved {
  subscriber: Subscriber;
  services: Service[];
  /** The services the reference names: all of the subscriber's for an account number, one for a username. */
  named: Service[];
  byUsername: boolean;
}

async function resolve(db: Db, ref: string, opts: { forUpdate?: boolean } = {}): Promise<Resolved> {
  const found = await findSubscriberByRef(db, ref);
  const sq = db('subscribers').where({ id: found.subscriberId });
  if (opts.forUpdate) sq.forUpdate();
  const subscriberRow = await sq.first();
  if (!subscriberRow) throw subscriberNotFound(found.ref);
  const subscriber = toSubscriber(subscriberRow);
  const q = db('services').where({ subscriber_id: subscriber.id }).orderBy('id');
  if (opts.forUpdate) q.forUpdate();
  const services = (await q).map(toService);
  const named = found.serviceId === undefined ? services : services.filter((s) => s.id === found.serviceId);
  return { subscriber, services, named, byUsername: found.serviceId !== undefined };
}

/** The one current service a reference names, for changes that apply to a single service. */
function singleCurrent(res: Resolved, ref: string): Service {
  const current = res.named.filter((s) => s.endedOn === null);
  if (current.length === 1) return current[0]!;
  if (current.length === 0) {
    throw conflict('SERVICE_ENDED', `Subscriber ${res.subscriber.accountNo} has no current service${res.byUsername ? ` under ${JSON.stringify(ref)}` : ''}; it ended.`, [`ispctl subscriber show ${res.subscriber.accountNo}`]);
  }
  throw invalid('AMBIGUOUS_SUBSCRIBER', `Subscriber ${res.subscriber.accountNo} has ${current.length} services; name one by its username.`, current.map((s) => `ispctl … ${s.username}`));
}

// ---- add ----------------------------------------------------------------------------------

export interface AddSubscriberResult {
  subscriber: Subscriber;
  service: Service;
  plan: string;
  router: string;
  /** Present only when ispctl generated the password: show it once. */
  generatedPassword?: string;
  /** Router work queued by the change (run it with the job runner). */
  jobIds: number[];
}

const FLAG_OF: Record<keyof SubscriberInput, string> = {
  fullName: '--name',
  email: '--email',
  phone: '--phone',
  address: '--address',
  notes: '--notes',
  username: '--username',
  password: '--password',
  plan: '--plan',
  router: '--router',
  staticIp: '--static-ip',
  price: '--price',
  discount: '--discount',
  discountUntil: '--discount-until',
  startDate: '--start-date',
};

/** The first problem as the error, the others listed as suggestions (so nothing is hidden). */
function firstProblem(problems: FieldProblem[]): IspctlError {
  const [first, ...rest] = problems;
  const e = first!.error;
  if (rest.length === 0) return e;
  return new IspctlError(e.code, e.message, {
    kind: e.kind,
    suggestions: [...e.suggestions, ...rest.map((p) => `Also ${FLAG_OF[p.field]}: ${p.error.message}`)],
    details: { ...(e.details ?? {}), problems: problems.map((p) => ({ field: p.field, code: p.error.code, message: p.error.message })) },
  });
}

function mapServiceUnique(err: unknown): never {
  if (isUniqueViolation(err, 'services_username_lower_key')) throw conflict('USERNAME_TAKEN', 'That username was taken by another process at the same time.', ['Choose another username']);
  if (isUniqueViolation(err, 'services_static_ip_key')) throw conflict('STATIC_IP_TAKEN', 'That static IP was assigned by another process at the same time.', ['Choose another address']);
  throw err;
}

/** Adds a subscriber with its first service. The plan and router must exist; nothing is invented. */
export async function addSubscriber(ctx: ServiceContext, input: SubscriberInput): Promise<AddSubscriberResult> {
  const settings = await loadIspSettings(ctx.db);
  const today = formatLocalDate(toLocalDate(ctx.clock.now(), settings.timezone));
  try {
    return await withTransaction(ctx.db, async (trx) => {
      const { prepared, problems } = await prepareSubscribers(trx, [input], { today, currency: settings.currency });
      if (problems[0]!.length > 0) throw firstProblem(problems[0]!);
      const row = prepared[0]!;
      const [created] = await insertPrepared(trx, ctx, [row]);
      await assertRouterAddressing(trx, [row.service.router_id]);
      const subscriber = toSubscriber(await trx('subscribers').where({ id: created!.subscriberId }).first());
      const { jobIds } = await provisionChanges(trx, ctx, { serviceIds: [created!.serviceId] }, { created: [created!.serviceId] });
      const service = toService(await trx('services').where({ id: created!.serviceId }).first());
      return { subscriber, service, plan: row.planName, router: row.routerName, ...(created!.generatedPassword ? { generatedPassword: created!.generatedPassword } : {}), jobIds };
    });
  } catch (err) {
    return mapServiceUnique(err);
  }
}

// ---- list ---------------------------------------------------------------------------------

export const LIST_STATES = ['active', 'throttled', 'blocked', 'suspended', 'ended'] as const;
export type ListState = (typeof LIST_STATES)[number];

export interface SubscriberListFilter {
  /** Plan name. */
  plan?: string;
  /** Router name. */
  router?: string;
  /**
   * Desired access (`active`, `throttled`, `blocked`, as the access policy decides), `suspended`
   * (by an administrator) or `ended`.
   */
  state?: string;
  /** Text in the name, username, email, phone or account number (case-insensitive). */
  search?: string;
  /** Include ended services (default: only current ones). */
  includeEnded?: boolean;
  limit?: number;
}

export interface SubscriberListRow {
  accountNo: string;
  fullName: string;
  email: string | null;
  phone: string | null;
  subscriberId: number;
  serviceId: number;
  username: string;
  plan: string;
  router: string | null;
  staticIp: string | null;
  adminStatus: Service['adminStatus'];
  adminReason: string | null;
  collectionStatus: Service['collectionStatus'];
  endedOn: string | null;
  access: DesiredAccess;
}

function escapeLike(s: string): string {
  return s.replace(/[\\%_]/g, (c) => `\\${c}`);
}

function planAccess(p: Plan) {
  return {
    downloadKbps: p.downloadKbps,
    uploadKbps: p.uploadKbps,
    burst: p.burst,
    throttleDownloadKbps: p.throttleDownloadKbps,
    throttleUploadKbps: p.throttleUploadKbps,
    suspensionAction: p.suspensionAction,
  };
}

export function accessOf(service: Pick<Service, 'adminStatus' | 'collectionStatus' | 'endedOn'>, plan: Plan, settings: NetworkSettings): DesiredAccess {
  return desiredAccess({ adminStatus: service.adminStatus, collectionStatus: service.collectionStatus, ended: service.endedOn !== null, plan: planAccess(plan), settings });
}

/**
 * One row per service matching the filters, in one query. The state filter is applied with the
 * access policy itself (never a second copy of its rules in SQL), then the limit.
 */
export async function listSubscribers(db: Db, filter: SubscriberListFilter = {}): Promise<SubscriberListRow[]> {
  const state = filter.state === undefined ? undefined : (String(filter.state).trim().toLowerCase() as ListState);
  if (state !== undefined && !(LIST_STATES as readonly string[]).includes(state)) {
    throw invalid('INVALID_STATE', `The state ${JSON.stringify(filter.state)} is not one of ${LIST_STATES.join(', ')}.`, [`Use one of: ${LIST_STATES.join(', ')}`]);
  }
  const limit = filter.limit ?? 100;
  if (!Number.isInteger(limit) || limit < 1) throw invalid('INVALID_LIMIT', `The limit ${JSON.stringify(filter.limit)} must be a whole number of at least 1.`);
  const settings = await loadNetworkSettings(db);
  const q = db('services as s')
    .join('subscribers as u', 'u.id', 's.subscriber_id')
    .join('plans as p', 'p.id', 's.plan_id')
    .leftJoin('routers as r', 'r.id', 's.router_id')
    .select(
      's.*',
      db.raw('host(s.static_ip) as static_ip'),
      'u.account_no',
      'u.full_name',
      'u.email',
      'u.phone',
      'r.name as router_name',
      ...planSelect('p'),
    )
    .orderBy([{ column: 'u.id' }, { column: 's.id' }]);
  if (filter.plan !== undefined) {
    const plan = await db('plans').whereRaw('lower(name) = lower(?)', [filter.plan.trim()]).first('id');
    if (!plan) throw errors.planNotFound(filter.plan);
    q.where('s.plan_id', plan.id);
  }
  if (filter.router !== undefined) {
    const router = await db('routers').whereRaw('lower(name) = lower(?)', [filter.router.trim()]).first('id');
    if (!router) throw errors.routerNotFound(filter.router);
    q.where('s.router_id', router.id);
  }
  if (state === 'ended') q.whereNotNull('s.ended_on');
  else if (!filter.includeEnded) q.whereNull('s.ended_on');
  if (state === 'suspended') q.where('s.admin_status', 'suspended');
  const search = filter.search?.trim();
  if (search) {
    const like = `%${escapeLike(search)}%`;
    const digits = search.replace(/[\s\-.()]/g, '');
    q.where((w) => {
      w.where('u.full_name', 'ilike', like)
        .orWhere('u.email', 'ilike', like)
        .orWhere('u.account_no', 'ilike', like)
        .orWhere('s.username', 'ilike', like)
        .orWhere('u.phone', 'ilike', like);
      if (/^\+?[0-9]{3,}$/.test(digits) && digits !== search) w.orWhere('u.phone', 'like', `%${escapeLike(digits)}%`);
    });
  }
  const computeState = state === 'active' || state === 'throttled' || state === 'blocked';
  if (!computeState) q.limit(limit);
  const rows: Array<Record<string, unknown>> = await q;
  const out: SubscriberListRow[] = [];
  for (const row of rows) {
    const plan = toPlanPrefixed(row);
    const service = toService(row);
    const access = accessOf(service, plan, settings);
    if (computeState && access.state !== (state as AccessState)) continue;
    out.push({
      accountNo: row.account_no as string,
      fullName: row.full_name as string,
      email: (row.email as string | null) ?? null,
      phone: (row.phone as string | null) ?? null,
      subscriberId: service.subscriberId,
      serviceId: service.id,
      username: service.username,
      plan: plan.name,
      router: (row.router_name as string | null) ?? null,
      staticIp: service.staticIp,
      adminStatus: service.adminStatus,
      adminReason: service.adminReason,
      collectionStatus: service.collectionStatus,
      endedOn: service.endedOn,
      access,
    });
    if (out.length >= limit) break;
  }
  return out;
}

// ---- show ---------------------------------------------------------------------------------

export interface ServiceDetails extends Service {
  plan: string;
  router: string | null;
  /** Masked unless asked for. */
  password: string;
  passwordShown: boolean;
  price: MonthlyPrice;
  access: DesiredAccess;
}

export interface SubscriberDetails {
  subscriber: Subscriber;
  services: ServiceDetails[];
  /** Extension (promise to pay, `subscriber extend`): collections does not suspend up to `until`; null when none runs today or later. */
  collectionsHold: { until: string; reason: string | null } | null;
}

/** A subscriber with every service, its plan, router, price today and desired access. */
export async function showSubscriber(ctx: Pick<ServiceContext, 'db' | 'clock'>, ref: string, opts: { showPassword?: boolean } = {}): Promise<SubscriberDetails> {
  const res = await resolve(ctx.db, ref);
  const settings = await loadNetworkSettings(ctx.db);
  const today = await ispToday(ctx);
  const ids = res.services.map((s) => s.id);
  const rows: Array<Record<string, unknown>> = ids.length
    ? await ctx.db('services as s').leftJoin('routers as r', 'r.id', 's.router_id').whereIn('s.id', ids).select('s.id', 's.password', 'r.name as router_name')
    : [];
  const extra = new Map(rows.map((r) => [Number(r.id), r]));
  const planIds = [...new Set(res.services.map((s) => s.planId))];
  const plans = new Map((planIds.length ? await ctx.db('plans').whereIn('id', planIds) : []).map((p: Record<string, unknown>) => [Number(p.id), toPlan(p)]));
  const hold = (await ctx.db('subscribers')
    .where({ id: res.subscriber.id })
    .where('collections_hold_until', '>=', today)
    .first(ctx.db.raw('collections_hold_until::text as until'), 'collections_hold_reason as reason')) as { until: string; reason: string | null } | undefined;
  return {
    subscriber: res.subscriber,
    collectionsHold: hold ? { until: hold.until, reason: hold.reason } : null,
    services: res.services.map((s) => {
      const plan = plans.get(s.planId)!;
      const x = extra.get(s.id)!;
      return {
        ...s,
        plan: plan.name,
        router: (x.router_name as string | null) ?? null,
        password: opts.showPassword ? (x.password as string) : maskSecret(x.password as string),
        passwordShown: Boolean(opts.showPassword),
        price: monthlyPrice(s, plan, today),
        access: accessOf(s, plan, settings),
      };
    }),
  };
}

// ---- edit ---------------------------------------------------------------------------------

/**
 * Changes to a subscriber and its (one current) service. For optional fields, null, '' or
 * 'none' clears the value (email, phone, address, notes, static IP, individual price, discount,
 * discount end date).
 */
export interface SubscriberChanges {
  fullName?: string;
  email?: string | null;
  phone?: string | null;
  address?: string | null;
  notes?: string | null;
  username?: string;
  password?: string;
  /** Replace the password with a generated one (returned once). */
  generatePassword?: boolean;
  plan?: string;
  router?: string;
  staticIp?: string | null;
  price?: string | null;
  discount?: string | null;
  discountUntil?: string | null;
}

export interface SubscriberEditResult {
  subscriber: Subscriber;
  service: Service | null;
  /** Fields that changed (the password as `password`, never its value). */
  changed: string[];
  /** True when something the router or FreeRADIUS holds changed (credentials, plan, router, address). */
  accessChanged: boolean;
  /** The service before the change, so provisioning can clean up an old username or router. */
  previous: Service | null;
  generatedPassword?: string;
  /** Router work queued by the change. */
  jobIds: number[];
}

const isClear = (v: string | null | undefined): boolean => v === null || (typeof v === 'string' && (v.trim() === '' || v.trim().toLowerCase() === 'none'));

const SERVICE_FIELDS: Array<keyof SubscriberChanges> = ['username', 'password', 'generatePassword', 'plan', 'router', 'staticIp', 'price', 'discount', 'discountUntil'];

export async function editSubscriber(ctx: ServiceContext, ref: string, changes: SubscriberChanges): Promise<SubscriberEditResult> {
  if (changes.password !== undefined && changes.generatePassword) throw invalid('CONFLICTING_FLAGS', 'Give a new password or ask for a generated one, not both.', ['--password … or --generate-password']);
  const settings = await loadIspSettings(ctx.db);
  const today = formatLocalDate(toLocalDate(ctx.clock.now(), settings.timezone));
  try {
    return await withTransaction(ctx.db, async (trx) => {
      const res = await resolve(trx, ref, { forUpdate: true });
      const touchesService = SERVICE_FIELDS.some((k) => changes[k] !== undefined && changes[k] !== false);
      const service = touchesService ? singleCurrent(res, ref) : null;

      // Subscriber fields.
      const sub = res.subscriber;
      const subUpdate: Record<string, unknown> = {};
      const changed: string[] = [];
      const setSub = (field: string, column: string, before: unknown, after: unknown) => {
        if (after !== before) {
          subUpdate[column] = after;
          changed.push(field);
        }
      };
      if (changes.fullName !== undefined) setSub('fullName', 'full_name', sub.fullName, validateFullName(changes.fullName));
      if (changes.email !== undefined) setSub('email', 'email', sub.email, isClear(changes.email) ? null : validateEmail(changes.email!));
      if (changes.phone !== undefined) setSub('phone', 'phone', sub.phone, isClear(changes.phone) ? null : normalisePhone(changes.phone!));
      if (changes.address !== undefined) setSub('address', 'address', sub.address, isClear(changes.address) ? null : validateText(changes.address!, 'address', 500));
      if (changes.notes !== undefined) setSub('notes', 'notes', sub.notes, isClear(changes.notes) ? null : validateText(changes.notes!, 'notes', 2000));

      // Service fields.
      const svcUpdate: Record<string, unknown> = {};
      let generated: string | undefined;
      let accessChanged = false;
      if (service) {
        const planRow = await trx('plans').where({ id: service.planId }).first();
        let plan = toPlan(planRow);
        const set = (field: string, column: string, before: unknown, after: unknown, access = false) => {
          if (JSON.stringify(after, big) !== JSON.stringify(before, big)) {
            svcUpdate[column] = after;
            changed.push(field);
            if (access) accessChanged = true;
          }
        };
        if (changes.username !== undefined) {
          const username = validateUsername(changes.username);
          if (username.toLowerCase() !== service.username.toLowerCase()) {
            const owner = await trx('services as s').join('subscribers as u', 'u.id', 's.subscriber_id').whereRaw('lower(s.username) = lower(?)', [username]).first('u.account_no');
            if (owner) throw conflict('USERNAME_TAKEN', `The username ${JSON.stringify(username)} is already used by subscriber ${owner.account_no}.`, ['Choose another username']);
          }
          set('username', 'username', service.username, username, true);
        }
        if (changes.password !== undefined || changes.generatePassword) {
          const password = changes.generatePassword ? (generated = generatePassword()) : validatePppPassword(changes.password!);
          svcUpdate.password = password;
          changed.push('password');
          accessChanged = true;
        }
        if (changes.plan !== undefined) {
          const row = await trx('plans').whereRaw('lower(name) = lower(?)', [changes.plan.trim()]).first();
          if (!row) throw errors.planNotFound(changes.plan);
          const next = toPlan(row);
          if (next.id !== plan.id && next.archivedAt) throw conflict('PLAN_ARCHIVED', `Plan ${JSON.stringify(next.name)} is archived and cannot be chosen.`, ['ispctl plan list shows the plans on offer']);
          set('plan', 'plan_id', plan.id, next.id, true);
          plan = next;
        }
        if (changes.router !== undefined) {
          const row = await trx('routers').whereRaw('lower(name) = lower(?)', [changes.router.trim()]).first('id');
          if (!row) throw errors.routerNotFound(changes.router);
          set('router', 'router_id', service.routerId, Number(row.id), true);
        }
        if (changes.staticIp !== undefined) {
          const ip = isClear(changes.staticIp) ? null : validateStaticIp(changes.staticIp!);
          if (ip && ip !== service.staticIp) {
            const owner = await trx('services').where('static_ip', ip).whereNull('ended_on').whereNot('id', service.id).first('username');
            if (owner) throw conflict('STATIC_IP_TAKEN', `The static IP ${ip} is already assigned to ${owner.username}.`, ['Choose a free address']);
          }
          set('staticIp', 'static_ip', service.staticIp, ip, true);
        }
        if (changes.price !== undefined) {
          const price = isClear(changes.price) || changes.price!.trim().toLowerCase() === 'plan' ? null : parseMoney(changes.price!, plan.currency, { field: 'price' });
          set('price', 'individual_price_minor', service.individualPriceMinor, price);
        }
        // A new discount replaces the old one with its end date (none unless given with it).
        let discount: Discount | null = service.discount;
        let until = service.discountUntil;
        if (changes.discount !== undefined) {
          discount = isClear(changes.discount) ? null : parseDiscount(changes.discount!, plan.currency);
          until = null;
        }
        if (changes.discountUntil !== undefined) {
          until = isClear(changes.discountUntil) ? null : formatLocalDate(parseLocalDate(changes.discountUntil!, 'discount end date'));
          if (until !== null && !discount) throw invalid('DISCOUNT_UNTIL_WITHOUT_DISCOUNT', 'A discount end date was given without a discount.', ['Add --discount, e.g. 10% or 100']);
          if (until !== null && until < today) throw invalid('DISCOUNT_UNTIL_PAST', `The discount end date ${until} is in the past (today is ${today}).`, ['Give a date from today on']);
        }
        if (!discount) until = null;
        const value = (d: Discount | null) => (d ? (d.kind === 'fixed' ? d.minor : BigInt(d.basisPoints)) : null);
        if (JSON.stringify([discount?.kind ?? null, value(discount)], big) !== JSON.stringify([service.discount?.kind ?? null, value(service.discount)], big)) {
          svcUpdate.discount_kind = discount?.kind ?? null;
          svcUpdate.discount_value = value(discount);
          changed.push('discount');
        }
        set('discountUntil', 'discount_until', service.discountUntil, until);
        if (discount && discount.kind === 'fixed') {
          const base = svcUpdate.individual_price_minor !== undefined ? (svcUpdate.individual_price_minor as bigint | null) ?? plan.priceMinor : service.individualPriceMinor ?? plan.priceMinor;
          if (discount.minor > base) {
            throw invalid('DISCOUNT_TOO_LARGE', `The discount ${describeDiscount(discount, plan.currency)} is more than the monthly price ${describeDiscount({ kind: 'fixed', minor: base }, plan.currency)} ${plan.currency}.`, ['Give a smaller amount, or a percentage such as 10%']);
          }
        }
      }

      if (changed.length === 0) return { subscriber: sub, service, changed: [], accessChanged: false, previous: service, jobIds: [] };
      const now = ctx.clock.now();
      let subscriber = sub;
      if (Object.keys(subUpdate).length) {
        const [row] = await trx('subscribers').where({ id: sub.id }).update({ ...subUpdate, updated_at: now }).returning('*');
        subscriber = toSubscriber(row);
      }
      let updated: Service | null = service;
      if (service && Object.keys(svcUpdate).length) {
        const [row] = await trx('services')
          .where({ id: service.id, revision: service.revision })
          .update({ ...svcUpdate, revision: trx.raw('revision + 1'), updated_at: now })
          .returning('*');
        if (!row) throw new IspctlError('CONFLICT', `Subscriber ${sub.accountNo} was changed by someone else at the same time; nothing was changed.`, { kind: 'conflict', suggestions: ['Run the command again'] });
        updated = toService(row);
      }
      const before: Record<string, unknown> = {};
      const after: Record<string, unknown> = {};
      for (const f of changed) {
        if (f === 'password') {
          after.passwordChanged = true;
          continue;
        }
        before[f] = auditValue(f, sub, service);
        after[f] = auditValue(f, subscriber, updated);
      }
      if (service) after.service = service.username;
      await recordAudit(trx, ctx, { entityType: 'subscriber', entityId: sub.accountNo, action: 'update', before, after });
      let jobIds: number[] = [];
      if (service && updated) {
        const id = service.id;
        if (['staticIp', 'plan', 'router'].some((f) => changed.includes(f)) && updated.routerId !== null) await assertRouterAddressing(trx, [updated.routerId]);
        const moved = updated.routerId !== service.routerId && service.routerId !== null;
        ({ jobIds } = await provisionChanges(
          trx,
          ctx,
          { serviceIds: [id] },
          {
            credentialsChanged: changed.includes('username') || changed.includes('password') ? [id] : [],
            addressChanged: changed.includes('staticIp') ? [id] : [],
            planChanged: changed.includes('plan') ? [id] : [],
            moved: moved ? [{ serviceId: id, fromRouterId: service.routerId!, username: service.username }] : [],
            previousUsernames: changed.includes('username') ? { [id]: service.username } : {},
          },
        ));
      }
      return { subscriber, service: updated, changed, accessChanged, previous: service, ...(generated ? { generatedPassword: generated } : {}), jobIds };
    });
  } catch (err) {
    return mapServiceUnique(err);
  }
}

function auditValue(field: string, sub: Subscriber, svc: Service | null): unknown {
  switch (field) {
    case 'fullName':
    case 'email':
    case 'phone':
    case 'address':
    case 'notes':
      return sub[field];
    case 'plan':
      return svc?.planId;
    case 'router':
      return svc?.routerId;
    case 'price':
      return svc?.individualPriceMinor;
    case 'discount':
      return svc?.discount ?? null;
    default:
      return svc ? (svc as unknown as Record<string, unknown>)[field] : undefined;
  }
}

function big(_k: string, v: unknown): unknown {
  return typeof v === 'bigint' ? v.toString() : v;
}

// ---- remove -------------------------------------------------------------------------------

export interface RemoveSubscriberResult {
  subscriber: Subscriber;
  /** Services ended now (their access becomes blocked; provisioning removes them from routers). */
  endedServiceIds: number[];
  /** The rows were deleted (purge), not just ended. */
  purged: boolean;
  /** Router work queued by the change. */
  jobIds: number[];
}

/**
 * Removes a subscriber. By default every current service ends today (kept for history and
 * invoices; access blocked). With `purge`, the subscriber and its services are deleted outright,
 * which the database refuses once anything (invoices, payments) refers to them.
 */
export async function removeSubscriber(ctx: ServiceContext, ref: string, opts: { purge?: boolean } = {}): Promise<RemoveSubscriberResult> {
  const today = await ispToday(ctx);
  try {
    return await withTransaction(ctx.db, async (trx) => {
      const res = await resolve(trx, ref, { forUpdate: true });
      const current = res.services.filter((s) => s.endedOn === null);
      if (opts.purge) {
        const { jobIds } = await provisionChanges(trx, ctx, {}, {
          removed: res.services.filter((s) => s.routerId !== null).map((s) => ({ serviceId: s.id, routerId: s.routerId!, username: s.username })),
        });
        await trx('services').where({ subscriber_id: res.subscriber.id }).del();
        await trx('subscribers').where({ id: res.subscriber.id }).del();
        await recordAudit(trx, ctx, {
          entityType: 'subscriber',
          entityId: res.subscriber.accountNo,
          action: 'delete',
          before: { fullName: res.subscriber.fullName, services: res.services.map((s) => s.username) },
        });
        return { subscriber: res.subscriber, endedServiceIds: current.map((s) => s.id), purged: true, jobIds };
      }
      if (current.length === 0) {
        throw conflict('ALREADY_REMOVED', `Subscriber ${res.subscriber.accountNo} has no current service; it was removed before.`, [
          `ispctl subscriber remove ${res.subscriber.accountNo} --purge deletes it for good (only while no invoice refers to it)`,
        ]);
      }
      const ended: Array<{ id: number }> = await trx('services')
        .whereIn('id', current.map((s) => s.id))
        .whereNull('ended_on')
        // Ends today, never in the future; a service that had not started yet never starts.
        .update({ ended_on: today, started_on: trx.raw('least(started_on, ?::date)', [today]), revision: trx.raw('revision + 1'), updated_at: ctx.clock.now() })
        .returning('id');
      await recordAudit(trx, ctx, {
        entityType: 'subscriber',
        entityId: res.subscriber.accountNo,
        action: 'remove',
        before: { services: current.map((s) => ({ username: s.username, endedOn: null })) },
        after: { services: current.map((s) => ({ username: s.username, endedOn: today })) },
      });
      const endedIds = ended.map((r) => Number(r.id));
      const { jobIds } = await provisionChanges(trx, ctx, { serviceIds: endedIds });
      return { subscriber: res.subscriber, endedServiceIds: endedIds, purged: false, jobIds };
    });
  } catch (err) {
    if ((err as { code?: string }).code === '23503') {
      throw conflict('SUBSCRIBER_REFERENCED', `Subscriber ${ref} cannot be purged: invoices or payments refer to it.`, [`ispctl subscriber remove ${ref} (without --purge) ends the service and keeps the history`]);
    }
    throw err;
  }
}

// ---- admin suspension ---------------------------------------------------------------------

export interface AdminChangeResult {
  subscriber: Subscriber;
  /** The services whose admin status changed. */
  services: Service[];
  /** Their ids, for provisioning. */
  affectedServiceIds: number[];
  /** Router work queued by the change. */
  jobIds: number[];
}

/**
 * Suspends by an administrator: every current active service the reference names (one for a
 * username, all for an account number) becomes blocked, whatever billing says, until
 * `resumeSubscriber`. Conditioned on the current state: a service already suspended is a
 * conflict, never a second suspension.
 */
export async function suspendSubscriber(ctx: ServiceContext, ref: string, opts: { reason: string }): Promise<AdminChangeResult> {
  const reason = validateReason(opts.reason);
  return withTransaction(ctx.db, async (trx) => {
    const res = await resolve(trx, ref, { forUpdate: true });
    const current = res.named.filter((s) => s.endedOn === null);
    if (current.length === 0) throw conflict('SERVICE_ENDED', `Subscriber ${res.subscriber.accountNo} has no current service to suspend.`, [`ispctl subscriber show ${res.subscriber.accountNo}`]);
    const active = current.filter((s) => s.adminStatus === 'active');
    if (active.length === 0) {
      const s = current[0]!;
      throw conflict('ALREADY_SUSPENDED', `${s.username} (${res.subscriber.accountNo}) is already suspended${s.adminReason ? `: ${s.adminReason}` : ''}.`, [`ispctl subscriber resume ${s.username}`]);
    }
    const now = ctx.clock.now();
    const rows = await trx('services')
      .whereIn('id', active.map((s) => s.id))
      .where({ admin_status: 'active' })
      .whereNull('ended_on')
      .update({ admin_status: 'suspended', admin_reason: reason, admin_suspended_at: now, revision: trx.raw('revision + 1'), updated_at: now })
      .returning('*');
    if (rows.length !== active.length) throw new IspctlError('CONFLICT', 'Another process changed this subscriber at the same time; nothing was changed.', { kind: 'conflict', suggestions: ['Run the command again'] });
    const services = rows.map(toService);
    await recordAudit(trx, ctx, {
      entityType: 'subscriber',
      entityId: res.subscriber.accountNo,
      action: 'suspend',
      before: { services: active.map((s) => s.username), adminStatus: 'active' },
      after: { services: services.map((s) => s.username), adminStatus: 'suspended', reason },
    });
    const { jobIds } = await provisionChanges(trx, ctx, { serviceIds: services.map((s) => s.id) });
    return { subscriber: res.subscriber, services, affectedServiceIds: services.map((s) => s.id), jobIds };
  });
}

/** Lifts an admin suspension. Billing never does this; only an administrator. */
export async function resumeSubscriber(ctx: ServiceContext, ref: string): Promise<AdminChangeResult> {
  return withTransaction(ctx.db, async (trx) => {
    const res = await resolve(trx, ref, { forUpdate: true });
    const current = res.named.filter((s) => s.endedOn === null);
    if (current.length === 0) throw conflict('SERVICE_ENDED', `Subscriber ${res.subscriber.accountNo} has no current service to resume.`, [`ispctl subscriber show ${res.subscriber.accountNo}`]);
    const suspended = current.filter((s) => s.adminStatus === 'suspended');
    if (suspended.length === 0) {
      throw conflict('NOT_SUSPENDED', `${current.map((s) => s.username).join(', ')} (${res.subscriber.accountNo}) is not suspended by an administrator.`, [
        'Suspensions for non-payment are lifted by payment, not by resume',
      ]);
    }
    const now = ctx.clock.now();
    const rows = await trx('services')
      .whereIn('id', suspended.map((s) => s.id))
      .where({ admin_status: 'suspended' })
      .update({ admin_status: 'active', admin_reason: null, admin_suspended_at: null, revision: trx.raw('revision + 1'), updated_at: now })
      .returning('*');
    if (rows.length !== suspended.length) throw new IspctlError('CONFLICT', 'Another process changed this subscriber at the same time; nothing was changed.', { kind: 'conflict', suggestions: ['Run the command again'] });
    const services = rows.map(toService);
    await recordAudit(trx, ctx, {
      entityType: 'subscriber',
      entityId: res.subscriber.accountNo,
      action: 'resume',
      before: { services: suspended.map((s) => s.username), adminStatus: 'suspended', reasons: [...new Set(suspended.map((s) => s.adminReason))] },
      after: { services: services.map((s) => s.username), adminStatus: 'active' },
    });
    const { jobIds } = await provisionChanges(trx, ctx, { serviceIds: services.map((s) => s.id) });
    return { subscriber: res.subscriber, services, affectedServiceIds: services.map((s) => s.id), jobIds };
  });
}

/** For provisioning: services by id with their plan and desired access, in one query (plus the settings). */
export async function desiredAccessForServices(db: Db, ids: number[]): Promise<Array<{ service: Service; plan: Plan; routerId: number | null; access: DesiredAccess }>> {
  if (ids.length === 0) return [];
  const settings = await loadNetworkSettings(db);
  const rows: Array<Record<string, unknown>> = await (db as Knex)('services as s')
    .join('plans as p', 'p.id', 's.plan_id')
    .whereIn('s.id', ids)
    .orderBy('s.id')
    .select('s.*', db.raw('host(s.static_ip) as static_ip'), ...planSelect('p'));
  return rows.map((row) => {
    const service = toService(row);
    const plan = toPlanPrefixed(row);
    return { service, plan, routerId: service.routerId, access: accessOf(service, plan, settings) };
  });
}
