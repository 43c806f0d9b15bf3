// The desired state of an API-mode router, built from the database set-based: one query for the
// settings, one for the router's services (with their subscribers), one for the plans they use.
// It reads the access policy's answer (services.access_state, services.rate_limit) and never
// decides access itself.
import { desiredAccess, type AccessState } from '../../access/policy.js';
import { loadNetworkSettings, networkSettingsFrom, type NetworkSettings } from '../../access/settings.js';
import { settingViews } from '../../settings/service.js';
import type { SettingValue } from '../../settings/registry.js';
import type { Db } from '../../db/tx.js';
import { idArray } from '../../db/sql.js';
import type { Router } from '../../routers/service.js';
import { parseMikrotikRateLimit, toRouterOSRate } from '../../speed.js';
import { planPoolName, ROUTER_POOL_NAME } from '../../routers/pools.js';
import { markerComment, nameProblem, planKey, poolKey, profileName, queueName, serviceKey, valueProblem, type MarkerKey } from './naming.js';
import type { DesiredObject, DesiredService, DesiredState, InvalidObject, RouterFacts } from './types.js';

export interface DesiredScope {
  /** Only these services (others on the router are not looked at). Undefined: every service. */
  serviceIds?: readonly number[];
  /** Plans whose profiles must be built even when no service on the router uses them. */
  planIds?: readonly number[];
}

interface PlanRow {
  id: number;
  name: string;
  download_kbps: number;
  upload_kbps: number;
  burst_download_kbps: number | null;
  burst_upload_kbps: number | null;
  burst_threshold_download_kbps: number | null;
  burst_threshold_upload_kbps: number | null;
  burst_time_seconds: number | null;
  throttle_download_kbps: number | null;
  throttle_upload_kbps: number | null;
  local_address?: string | null;
  pool_ranges?: string | null;
}

interface ServiceRow {
  id: number;
  username: string;
  password: string;
  static_ip: string | null;
  plan_id: number;
  access_state: AccessState;
  rate_limit: string | null;
  full_name: string;
  account_no: string;
}

/** Above this many services in scope, read the whole router's services and filter in memory. */
const SCOPED_QUERY_LIMIT = 5000;

/** The router facts the desired state depends on. */
export function routerFacts(router: Router, settings: Pick<NetworkSettings, 'apiBlockAction'>): RouterFacts {
  return {
    id: router.id,
    name: router.name,
    shaping: router.shaping,
    blockAction: router.blockAction ?? settings.apiBlockAction,
    localAddress: router.localAddress,
    poolRanges: router.poolRanges,
  };
}

/** Rate limits of a plan's two profiles: at the plan speed, and at the throttle speed. */
export function planRates(plan: PlanRow, settings: NetworkSettings): { active: string; throttled: string } {
  const access = {
    downloadKbps: Number(plan.download_kbps),
    uploadKbps: Number(plan.upload_kbps),
    burst:
      plan.burst_download_kbps === null
        ? null
        : {
            downloadKbps: Number(plan.burst_download_kbps),
            uploadKbps: Number(plan.burst_upload_kbps),
            thresholdDownloadKbps: Number(plan.burst_threshold_download_kbps),
            thresholdUploadKbps: Number(plan.burst_threshold_upload_kbps),
            timeSeconds: Number(plan.burst_time_seconds),
          },
    throttleDownloadKbps: plan.throttle_download_kbps === null ? null : Number(plan.throttle_download_kbps),
    throttleUploadKbps: plan.throttle_upload_kbps === null ? null : Number(plan.throttle_upload_kbps),
  };
  // Ask the policy, so the profiles can never disagree with what RADIUS mode would send.
  const active = desiredAccess({ adminStatus: 'active', collectionStatus: 'current', plan: access, settings });
  const throttled = desiredAccess({ adminStatus: 'active', collectionStatus: 'suspended', plan: { ...access, suspensionAction: 'throttle' }, settings });
  return { active: active.rateLimit!, throttled: throttled.rateLimit! };
}

/** Simple queue fields for a rate limit (upload/download from the subscriber's side). */
export function queueLimits(rateLimit: string): Record<string, string> | undefined {
  const r = parseMikrotikRateLimit(rateLimit);
  if (!r) return undefined;
  const pair = (up: number, down: number) => `${up ? toRouterOSRate(up) : '0'}/${down ? toRouterOSRate(down) : '0'}`;
  const b = r.burst;
  return {
    'max-limit': pair(r.uploadKbps, r.downloadKbps),
    'burst-limit': b ? pair(b.uploadKbps, b.downloadKbps) : '0/0',
    'burst-threshold': b ? pair(b.thresholdUploadKbps, b.thresholdDownloadKbps) : '0/0',
    'burst-time': b ? `${b.timeSeconds}s/${b.timeSeconds}s` : '0s/0s',
  };
}

function stripMask(ip: string | null): string | null {
  if (ip === null || ip === undefined) return null;
  return String(ip).replace(/\/32$/, '');
}

/**
 * What `router` should hold. With `scope.serviceIds`, only those services are described (their
 * keys form `scope`; a service not on the router, or gone, is described as absent); profiles
 * are always described for every plan used on the router.
 */
export async function buildDesiredState(db: Db, router: Router, scope: DesiredScope = {}): Promise<DesiredState> {
  const q = db('services as s')
    .join('subscribers as sub', 'sub.id', 's.subscriber_id')
    .where('s.router_id', router.id)
    .select(
      's.id',
      's.username',
      's.password',
      db.raw('host(s.static_ip) as static_ip'),
      's.plan_id',
      's.access_state',
      's.rate_limit',
      'sub.full_name',
      'sub.account_no',
    )
    .orderBy('s.id');
  const wanted = scope.serviceIds ? new Set(scope.serviceIds.map(Number)) : undefined;
  // One array parameter, not a placeholder per service (a turn asks for up to thousands).
  if (wanted && wanted.size <= SCOPED_QUERY_LIMIT) q.whereRaw('s.id = any(?::bigint[])', [idArray(wanted)]);
  let services = (await q) as ServiceRow[];
  if (wanted) services = services.filter((s) => wanted.has(Number(s.id)));

  // Profiles exist for every plan used on the router (not only the services in scope), so a
  // scoped run never mistakes a plan's profiles for unwanted ones. The settings come with the
  // plans (one round trip less for every router's turn), as pairs of key and stored value.
  const planQuery = db('plans')
    .select(
      'id',
      'name',
      'download_kbps',
      'upload_kbps',
      'burst_download_kbps',
      'burst_upload_kbps',
      'burst_threshold_download_kbps',
      'burst_threshold_upload_kbps',
      'burst_time_seconds',
      'throttle_download_kbps',
      'throttle_upload_kbps',
      db.raw('host(local_address) as local_address'),
      'pool_ranges',
      db.raw(`(select coalesce(json_agg(json_build_array(st.key, st.value)), '[]'::json) from settings st) as settings_json`),
    )
    .whereIn('id', db('services').distinct('plan_id').where('router_id', router.id))
    .orderBy('id');
  if (scope.planIds?.length) planQuery.orWhereRaw('id = any(?::bigint[])', [idArray(scope.planIds)]);
  const plans = (await planQuery) as Array<PlanRow & { settings_json: unknown }>;
  // No plan at all (nothing on the router, no plan asked for): the settings on their own.
  const settings = plans.length ? networkSettingsFrom(settingViews(storedSettings(plans[0]!.settings_json))) : await loadNetworkSettings(db);
  return desiredStateFromRows(routerFacts(router, settings), settings, plans, services, scope.serviceIds);
}

/** Stored settings from `json_agg` of `[key, value]` pairs (parsed by the driver, or still text). */
function storedSettings(raw: unknown): Map<string, SettingValue> {
  const pairs = (typeof raw === 'string' ? JSON.parse(raw) : raw) as Array<[string, SettingValue]>;
  return new Map(pairs);
}

/** The pure half of {@link buildDesiredState}: rows in, desired objects out. */
export function desiredStateFromRows(
  facts: RouterFacts,
  settings: NetworkSettings,
  plans: readonly PlanRow[],
  services: readonly ServiceRow[],
  scopeServiceIds?: readonly number[],
): DesiredState {
  const state: DesiredState = { router: facts, pools: [], profiles: [], secrets: [], queues: [], services: new Map(), invalid: [], warnings: [] };
  const invalid = (key: MarkerKey, kind: DesiredObject['kind'], error: string) => state.invalid.push({ key, kind, error } satisfies InvalidObject);
  const queueShaping = facts.shaping === 'queue';

  if (facts.poolRanges) {
    const key = poolKey('router', facts.id);
    state.pools.push({ kind: 'pool', key, name: ROUTER_POOL_NAME, fields: { name: ROUTER_POOL_NAME, ranges: facts.poolRanges, comment: markerComment(key, `default pool of ${facts.name}`) } });
  }
  const profileNames = new Map<number, { active: string; throttled: string }>();
  let poolWithoutLocal = 0;
  for (const p of plans) {
    const id = Number(p.id);
    const names = { active: profileName({ id, name: p.name }), throttled: profileName({ id, name: p.name }, true) };
    profileNames.set(id, names);
    const rates = planRates(p, settings);
    if (p.pool_ranges) {
      const key = poolKey('plan', id);
      const name = planPoolName(id);
      state.pools.push({ kind: 'pool', key, name, fields: { name, ranges: p.pool_ranges, comment: markerComment(key, p.name) } });
    }
    // The plan's own addressing, else the router's default.
    const local = p.local_address ?? facts.localAddress ?? undefined;
    const remote = p.pool_ranges ? planPoolName(id) : facts.poolRanges ? ROUTER_POOL_NAME : undefined;
    if (remote && !local) poolWithoutLocal++;
    for (const throttled of [false, true]) {
      const key = planKey(id, throttled);
      const name = throttled ? names.throttled : names.active;
      const fields: Record<string, string> = { name, comment: markerComment(key, throttled ? `${p.name}, throttled` : p.name) };
      // Never both: with queue shaping the profile carries no rate, the queue does.
      if (!queueShaping) fields['rate-limit'] = throttled ? rates.throttled : rates.active;
      if (local) fields['local-address'] = local;
      if (remote) fields['remote-address'] = remote;
      state.profiles.push({ kind: 'profile', key, name, fields });
    }
  }
  if (poolWithoutLocal) {
    state.warnings.push(
      `${poolWithoutLocal} plan${poolWithoutLocal === 1 ? '' : 's'} on ${facts.name} ha${poolWithoutLocal === 1 ? 's' : 've'} an address pool but no local address: give the plan or the router one (--local-address), or PPP links come up without the router's side`,
    );
  }

  let unshaped = 0;
  for (const s of services) {
    const id = Number(s.id);
    const key = serviceKey(id);
    const staticIp = stripMask(s.static_ip);
    const blocked = s.access_state === 'blocked';
    state.services.set(key, { serviceId: id, key, username: s.username, state: s.access_state, staticIp, present: true });
    const names = profileNames.get(Number(s.plan_id));
    if (!names) {
      invalid(key, 'secret', `the plan of service ${id} was not found`);
      continue;
    }
    const problem = nameProblem(s.username) ?? valueProblem('password', s.password) ?? (s.password === '' ? 'the password is empty' : undefined);
    if (problem) {
      invalid(key, 'secret', `service ${id} (${s.username}): ${problem}`);
      continue;
    }
    const comment = markerComment(key, `${s.account_no} ${s.full_name}`);
    if (!(blocked && facts.blockAction === 'remove')) {
      const fields: Record<string, string> = {
        name: s.username,
        password: s.password,
        service: 'pppoe',
        profile: s.access_state === 'throttled' ? names.throttled : names.active,
        disabled: blocked ? 'yes' : 'no',
        comment,
      };
      if (staticIp) fields['remote-address'] = staticIp;
      state.secrets.push({ kind: 'secret', key, name: s.username, fields });
    }
    if (queueShaping && !blocked) {
      if (!staticIp) {
        unshaped++;
      } else {
        const limits = s.rate_limit ? queueLimits(s.rate_limit) : undefined;
        if (!limits) {
          invalid(key, 'queue', `service ${id} (${s.username}): rate limit ${JSON.stringify(s.rate_limit)} cannot be written as a queue`);
          continue;
        }
        const name = queueName(s.username);
        state.queues.push({ kind: 'queue', key, name, fields: { name, target: `${staticIp}/32`, ...limits, disabled: 'no', comment } });
      }
    }
  }
  if (unshaped) {
    state.warnings.push(
      `${unshaped} service${unshaped === 1 ? '' : 's'} on ${facts.name} ha${unshaped === 1 ? 's' : 've'} no static IP: queue shaping needs one, so ${unshaped === 1 ? 'it is' : 'they are'} not speed-limited (give a static IP, or use profile shaping)`,
    );
  }

  if (scopeServiceIds) {
    const keys = new Set<MarkerKey>();
    for (const raw of scopeServiceIds) {
      const id = Number(raw);
      const key = serviceKey(id);
      keys.add(key);
      if (!state.services.has(key)) state.services.set(key, { serviceId: id, key, username: '', state: 'blocked', staticIp: null, present: false });
    }
    state.scope = keys;
  }
  return state;
}
