// `subscriber edit`: changes to a subscriber and its one current service. Every field is read and
// checked by the same rules as a new subscriber (prepare.ts); the service is updated on its
// revision (no lost writes), then provisioning is told what changed.
import { errors } from '../error-catalogue.js';
import { recordAudit } from '../audit.js';
import type { ServiceContext } from '../context.js';
import type { PlanRow } from '../db/rows.js';
import { withTransaction } from '../db/tx.js';
import { parseMoney, type Discount } from '../money.js';
import { toPlan } from '../plans/service.js';
import { provisionChanges } from '../provisioning/access.js';
import { assertRouterAddressing } from '../routers/pools.js';
import { generatePassword } from '../secrets.js';
import { loadIspSettings } from '../settings/service.js';
import { formatLocalDate, toLocalDate } from '../time.js';
import { discountProblems, FIELD_PARSERS, lookupPlans, lookupRouters, parseDiscount, planArchived, staticIpTaken, takenStaticIps, takenUsernames, usernameTaken } from './prepare.js';
import { updateServiceAt, updateSubscriber, type ServiceUpdate, type SubscriberUpdate } from './repository.js';
import { mapServiceUnique, resolve, singleCurrent } from './resolve.js';
import type { Service, Subscriber } from './types.js';

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

/** An optional field read with prepare.ts's parser, or null when cleared. */
const optional = (v: string | null | undefined, parse: (v: string) => string): string | null => (isClear(v) ? null : parse(v!));

const SERVICE_FIELDS: Array<keyof SubscriberChanges> = ['username', 'password', 'generatePassword', 'plan', 'router', 'staticIp', 'price', 'discount', 'discountUntil'];

function bigJson(_k: string, v: unknown): unknown {
  return typeof v === 'bigint' ? v.toString() : v;
}

/**
 * Throws what editSubscriber would about the values themselves (no database), in `currency` (the
 * ISP's): for checkInput, before the database is opened or migrated.
 */
export function checkSubscriberChanges(changes: SubscriberChanges, currency: string): void {
  if (changes.fullName !== undefined) FIELD_PARSERS.fullName(changes.fullName);
  for (const field of ['email', 'phone', 'address', 'notes', 'staticIp', 'discountUntil'] as const) {
    if (changes[field] !== undefined) optional(changes[field], FIELD_PARSERS[field]);
  }
  if (changes.username !== undefined) FIELD_PARSERS.username(changes.username);
  if (changes.password !== undefined && !changes.generatePassword) FIELD_PARSERS.password(changes.password);
  if (changes.price !== undefined && !isClear(changes.price) && changes.price!.trim().toLowerCase() !== 'plan') parseMoney(changes.price!, currency, { field: 'price' });
  if (changes.discount !== undefined && !isClear(changes.discount)) parseDiscount(changes.discount!, currency);
}

export async function editSubscriber(ctx: ServiceContext, ref: string, changes: SubscriberChanges): Promise<SubscriberEditResult> {
  if (changes.password !== undefined && changes.generatePassword) throw errors.conflictingFlags('Give a new password or ask for a generated one, not both.', '--password … or --generate-password');
  const settings = await loadIspSettings(ctx.db);
  const today = formatLocalDate(toLocalDate(ctx.clock.now(), settings.timezone));
  try {
    return await withTransaction(ctx.db, async (trx) => {
      const res = await resolve(trx, ref, { forUpdate: true });
      const touchesService = SERVICE_FIELDS.some((k) => changes[k] !== undefined && changes[k] !== false);
      const service = touchesService ? singleCurrent(res, ref) : null;

      // Subscriber fields.
      const sub = res.subscriber;
      const subUpdate: SubscriberUpdate = {};
      const changed: string[] = [];
      const setSub = <K extends keyof SubscriberUpdate>(field: keyof Subscriber, column: K, after: SubscriberUpdate[K]) => {
        if (after !== sub[field]) {
          subUpdate[column] = after;
          changed.push(field);
        }
      };
      if (changes.fullName !== undefined) setSub('fullName', 'full_name', FIELD_PARSERS.fullName(changes.fullName));
      if (changes.email !== undefined) setSub('email', 'email', optional(changes.email, FIELD_PARSERS.email));
      if (changes.phone !== undefined) setSub('phone', 'phone', optional(changes.phone, FIELD_PARSERS.phone));
      if (changes.address !== undefined) setSub('address', 'address', optional(changes.address, FIELD_PARSERS.address));
      if (changes.notes !== undefined) setSub('notes', 'notes', optional(changes.notes, FIELD_PARSERS.notes));

      // Service fields.
      const svcUpdate: ServiceUpdate = {};
      let generated: string | undefined;
      let accessChanged = false;
      if (service) {
        const planRow: PlanRow = await trx('plans').where({ id: service.planId }).first();
        let plan = toPlan(planRow);
        const set = <K extends keyof ServiceUpdate>(field: string, column: K, before: unknown, after: ServiceUpdate[K], access = false) => {
          if (JSON.stringify(after, bigJson) !== JSON.stringify(before, bigJson)) {
            svcUpdate[column] = after;
            changed.push(field);
            if (access) accessChanged = true;
          }
        };
        if (changes.username !== undefined) {
          const username = FIELD_PARSERS.username(changes.username);
          if (username.toLowerCase() !== service.username.toLowerCase()) {
            const owner = (await takenUsernames(trx, [username])).get(username.toLowerCase());
            if (owner) throw usernameTaken(username, owner);
          }
          set('username', 'username', service.username, username, true);
        }
        if (changes.password !== undefined || changes.generatePassword) {
          svcUpdate.password = changes.generatePassword ? (generated = generatePassword()) : FIELD_PARSERS.password(changes.password!);
          changed.push('password');
          accessChanged = true;
        }
        if (changes.plan !== undefined) {
          const row = (await lookupPlans(trx, [changes.plan])).get(changes.plan.trim().toLowerCase());
          if (!row) throw errors.planNotFound(changes.plan);
          const next = toPlan(row);
          if (next.id !== plan.id && next.archivedAt) throw planArchived(next.name);
          set('plan', 'plan_id', plan.id, next.id, true);
          plan = next;
        }
        if (changes.router !== undefined) {
          const row = (await lookupRouters(trx, [changes.router])).get(changes.router.trim().toLowerCase());
          if (!row) throw errors.routerNotFound(changes.router);
          set('router', 'router_id', service.routerId, Number(row.id), true);
        }
        if (changes.staticIp !== undefined) {
          const ip = optional(changes.staticIp, FIELD_PARSERS.staticIp);
          if (ip && ip !== service.staticIp) {
            const owner = (await takenStaticIps(trx, [ip])).get(ip);
            if (owner) throw staticIpTaken(ip, owner);
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
        if (changes.discountUntil !== undefined) until = optional(changes.discountUntil, FIELD_PARSERS.discountUntil);
        const individual = svcUpdate.individual_price_minor !== undefined ? svcUpdate.individual_price_minor : service.individualPriceMinor;
        const [problem] = discountProblems({ discount, until: changes.discountUntil !== undefined ? until : null, baseMinor: individual ?? plan.priceMinor, currency: plan.currency, today });
        if (problem) throw problem.error;
        if (!discount) until = null;
        const value = (d: Discount | null) => (d ? (d.kind === 'fixed' ? d.minor : BigInt(d.basisPoints)) : null);
        if (JSON.stringify([discount?.kind ?? null, value(discount)], bigJson) !== JSON.stringify([service.discount?.kind ?? null, value(service.discount)], bigJson)) {
          svcUpdate.discount_kind = discount?.kind ?? null;
          svcUpdate.discount_value = value(discount);
          changed.push('discount');
        }
        set('discountUntil', 'discount_until', service.discountUntil, until);
      }

      if (changed.length === 0) return { subscriber: sub, service, changed: [], accessChanged: false, previous: service, jobIds: [] };
      const now = ctx.clock.now();
      const subscriber = Object.keys(subUpdate).length ? await updateSubscriber(trx, sub.id, subUpdate, now) : sub;
      const updated = service && Object.keys(svcUpdate).length ? await updateServiceAt(trx, service, svcUpdate, now, sub.accountNo) : service;
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

/** What the audit log records of a changed field. */
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
    case 'username':
      return svc?.username;
    case 'staticIp':
      return svc?.staticIp;
    case 'discountUntil':
      return svc?.discountUntil;
    default:
      return undefined;
  }
}
