// Reading subscribers: the list (filtered by the access policy itself), one subscriber with its
// services, prices and access, and the desired access of services for provisioning.
import { errors } from '../error-catalogue.js';
import type { AccessState, DesiredAccess } from '../access/policy.js';
import { loadNetworkSettings, type NetworkSettings } from '../access/settings.js';
import type { ServiceContext } from '../context.js';
import type { PlanRow, PrefixedPlanRow, RouterRow, ServiceRow, SubscriberRow } from '../db/rows.js';
import type { Db } from '../db/tx.js';
import { invalid } from '../errors.js';
import { planSelect, toPlan, toPlanPrefixed, type Plan } from '../plans/service.js';
import { maskSecret } from '../secrets.js';
import { collectionsHold, serviceSecrets, type ServiceWithPlanRow } from './repository.js';
import { accessOf, ispToday, resolve } from './resolve.js';
import { monthlyPrice, toService, type MonthlyPrice, type Service, type Subscriber } from './types.js';

/**
 * A row of the list query: what the list shows of the service and what its access is decided on,
 * the subscriber's contact and the router's name. Its plan is one of the plans read once.
 */
type ListRow = Pick<ServiceRow, 'id' | 'subscriber_id' | 'plan_id' | 'username' | 'static_ip' | 'admin_status' | 'admin_reason' | 'collection_status' | 'ended_on'> &
  Pick<SubscriberRow, 'account_no' | 'full_name' | 'email' | 'phone'> & { router_name: RouterRow['name'] | null };

/**
 * The list's columns of a service. Not `s.*` with the plan's columns beside: a page of 5,000 spent
 * most of its time making Dates of timestamps no list shows (seven a row) and strings of the plan
 * it repeats (at 200,000 services, 0.86 s in parseDate alone and 1 s of garbage collection).
 */
const LIST_SERVICE_COLUMNS = ['s.id', 's.subscriber_id', 's.plan_id', 's.username', 's.admin_status', 's.admin_reason', 's.collection_status', 's.ended_on'];

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
  /** Services read at a time (default LIST_PAGE), until `limit` pass. */
  pageSize?: number;
}

/** Services read at a time (listSubscribers, subscriberListPages). */
export const LIST_PAGE = 5000;

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

/**
 * One row per service matching the filters, in subscriber order. The state filter is applied
 * with the access policy itself (never a second copy of its rules in SQL), then the limit: the
 * services are then read a page at a time (by subscriber and service id, after the last one
 * read) until `limit` have passed, so the memory it takes is a page's and the limit's, not the
 * whole table's (every service of a million subscribers, to find the first 100 blocked).
 */
export async function listSubscribers(db: Db, filter: SubscriberListFilter = {}): Promise<SubscriberListRow[]> {
  const out: SubscriberListRow[] = [];
  for await (const page of subscriberListPages(db, filter)) for (const row of page) out.push(row);
  return out;
}

/**
 * listSubscribers' rows a page at a time (at most `pageSize`, default LIST_PAGE), for a command
 * that writes each page as it comes: whatever the limit, it holds one page. A bad filter is
 * thrown by the first page.
 */
export async function* subscriberListPages(db: Db, filter: SubscriberListFilter = {}): AsyncGenerator<SubscriberListRow[]> {
  const state = filter.state === undefined ? undefined : (String(filter.state).trim().toLowerCase() as ListState);
  if (state !== undefined && !(LIST_STATES as readonly string[]).includes(state)) {
    throw invalid('INVALID_STATE', `The state ${JSON.stringify(filter.state)} is not one of ${LIST_STATES.join(', ')}.`, [`Use one of: ${LIST_STATES.join(', ')}`]);
  }
  const limit = filter.limit ?? 100;
  if (!Number.isInteger(limit) || limit < 1) throw invalid('INVALID_LIMIT', `The limit ${JSON.stringify(filter.limit)} must be a whole number of at least 1.`);
  const settings = await loadNetworkSettings(db);
  const readPlans = async () => new Map(((await db('plans').select('*')) as PlanRow[]).map((r) => [Number(r.id), toPlan(r)]));
  let plans = await readPlans();
  const q = db('services as s')
    .join('subscribers as u', 'u.id', 's.subscriber_id')
    .leftJoin('routers as r', 'r.id', 's.router_id')
    .select(...LIST_SERVICE_COLUMNS, db.raw('host(s.static_ip) as static_ip'), 'u.account_no', 'u.full_name', 'u.email', 'u.phone', 'r.name as router_name')
    .orderBy([{ column: 's.subscriber_id' }, { column: 's.id' }]);
  if (filter.plan !== undefined) {
    const plan: Pick<PlanRow, 'id'> | undefined = await db('plans').whereRaw('lower(name) = lower(?)', [filter.plan.trim()]).first('id');
    if (!plan) throw errors.planNotFound(filter.plan);
    q.where('s.plan_id', plan.id);
  }
  if (filter.router !== undefined) {
    const router: Pick<RouterRow, 'id'> | undefined = await db('routers').whereRaw('lower(name) = lower(?)', [filter.router.trim()]).first('id');
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
  const page = Math.max(1, filter.pageSize ?? LIST_PAGE);
  let left = limit;
  let after: [number, number] | undefined;
  for (;;) {
    // Filtered by the policy, a page may keep fewer than it read: read whole pages then.
    const take = computeState ? page : Math.min(page, left);
    // The subscribers' side bounded too: a merge join would otherwise walk their index from the
    // first subscriber on every page (at 200,000 services a page took 56 ms instead of 10).
    const pq = after ? q.clone().whereRaw('(s.subscriber_id, s.id) > (?, ?)', after).where('u.id', '>=', after[0]) : q.clone();
    const rows: ListRow[] = await pq.limit(take);
    const out: SubscriberListRow[] = [];
    // A plan created since they were read (and given to a service meanwhile): read them again.
    if (rows.some((r) => !plans.has(Number(r.plan_id)))) plans = await readPlans();
    addListRows(out, rows, plans, settings, computeState ? (state as AccessState) : undefined, left);
    left -= out.length;
    if (out.length) yield out;
    if (left <= 0 || rows.length < take) return;
    const last = rows[rows.length - 1]!;
    after = [Number(last.subscriber_id), Number(last.id)];
  }
}

/** Adds `rows` to `out` as list rows, those whose access is `state` when given, up to `limit`. */
function addListRows(out: SubscriberListRow[], rows: readonly ListRow[], plans: ReadonlyMap<number, Plan>, settings: NetworkSettings, state: AccessState | undefined, limit: number): void {
  for (const row of rows) {
    const plan = plans.get(Number(row.plan_id))!;
    const decided = { adminStatus: row.admin_status, collectionStatus: row.collection_status, endedOn: row.ended_on ?? null };
    const access = accessOf(decided, plan, settings);
    if (state !== undefined && access.state !== state) continue;
    out.push({
      accountNo: row.account_no,
      fullName: row.full_name,
      email: row.email ?? null,
      phone: row.phone ?? null,
      subscriberId: Number(row.subscriber_id),
      serviceId: Number(row.id),
      username: row.username,
      plan: plan.name,
      router: row.router_name ?? null,
      staticIp: row.static_ip ?? null,
      adminStatus: row.admin_status,
      adminReason: row.admin_reason ?? null,
      collectionStatus: row.collection_status,
      endedOn: decided.endedOn,
      access,
    });
    if (out.length >= limit) return;
  }
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
  const secrets = await serviceSecrets(ctx.db, res.services.map((s) => s.id));
  const planIds = [...new Set(res.services.map((s) => s.planId))];
  const planRows: PlanRow[] = planIds.length ? await ctx.db('plans').whereIn('id', planIds) : [];
  const plans = new Map(planRows.map((p) => [Number(p.id), toPlan(p)]));
  const hold = await collectionsHold(ctx.db, res.subscriber.id, today);
  return {
    subscriber: res.subscriber,
    collectionsHold: hold,
    services: res.services.map((s) => {
      const plan = plans.get(s.planId)!;
      const x = secrets.get(s.id)!;
      return {
        ...s,
        plan: plan.name,
        router: x.routerName,
        password: opts.showPassword ? x.password : maskSecret(x.password),
        passwordShown: Boolean(opts.showPassword),
        price: monthlyPrice(s, plan, today),
        access: accessOf(s, plan, settings),
      };
    }),
  };
}

/** For provisioning: services by id with their plan and desired access, in one query (plus the settings). */
export async function desiredAccessForServices(db: Db, ids: number[]): Promise<Array<{ service: Service; plan: Plan; routerId: number | null; access: DesiredAccess }>> {
  if (ids.length === 0) return [];
  const settings = await loadNetworkSettings(db);
  const rows: ServiceWithPlanRow[] = await db('services as s')
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
