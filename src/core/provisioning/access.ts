// Materialises the access policy on each service (access_state, access_reason, rate_limit) and
// turns what changed into provisioning jobs. The policy function decides; this only stores its
// answer, set-based, so RADIUS views and API drivers read a column instead of re-deciding.
import type { ServiceContext } from '../context.js';
import { collectionTransitionAllowed, desiredAccess, hasEnded, type AccessState, type AdminStatus, type CollectionStatus, type SuspensionAction } from '../access/policy.js';
import { ACCESS_SETTING_KEYS, loadNetworkSettings, networkSettingsFrom, type NetworkSettings } from '../access/settings.js';
import { chunks, idArray, rowsOf, type SubscriberRange } from '../db/sql.js';
import type { Db } from '../db/tx.js';
import { ispToday, listSettings, type SettingView } from '../settings/service.js';
import { formatLocalDate, toLocalDate } from '../time.js';
import { enqueueJobs, type EnqueueOptions, type JobSpec } from './jobs.js';

export interface AccessScope {
  serviceIds?: number[];
  planIds?: number[];
  routerIds?: number[];
  /** Every service. */
  all?: boolean;
}

export interface AccessChange {
  serviceId: number;
  routerId: number | null;
  before: { state: AccessState; rateLimit: string | null; reason: string };
  after: { state: AccessState; rateLimit: string | null; reason: string };
}

const BATCH = 5000;
/** Services per access update of one value (an id array of this size is about 0.5 MB). */
const UPDATE_BATCH = 50_000;

/** A service with what the policy reads of it and of its plan (one row of services joined with plans). */
interface AccessRow {
  id: number;
  router_id: number | null;
  username: string;
  revision: number;
  admin_status: AdminStatus;
  collection_status: CollectionStatus;
  ended_on: string | null;
  access_state: AccessState;
  access_reason: string;
  rate_limit: string | null;
  download_kbps: number;
  upload_kbps: number;
  burst_download_kbps: number | null;
  burst_upload_kbps: number | null;
  burst_threshold_download_kbps: number | null;
  burst_threshold_upload_kbps: number | null;
  burst_time_seconds: number | null;
  throttle_download_kbps: number | null;
  throttle_upload_kbps: number | null;
  suspension_action: SuspensionAction | null;
}

const ACCESS_COLUMNS = [
  's.id',
  's.router_id',
  's.username',
  's.revision',
  's.admin_status',
  's.collection_status',
  's.ended_on',
  's.access_state',
  's.access_reason',
  's.rate_limit',
  'p.download_kbps',
  'p.upload_kbps',
  'p.burst_download_kbps',
  'p.burst_upload_kbps',
  'p.burst_threshold_download_kbps',
  'p.burst_threshold_upload_kbps',
  'p.burst_time_seconds',
  'p.throttle_download_kbps',
  'p.throttle_upload_kbps',
  'p.suspension_action',
];

type AccessValue = AccessChange['after'];

/** What the policy decides for one row, with `collectionStatus` in place of the stored one when given. */
function decide(r: AccessRow, settings: NetworkSettings, today: string, collectionStatus: CollectionStatus = r.collection_status): AccessValue {
  const burst =
    r.burst_download_kbps === null
      ? null
      : {
          downloadKbps: Number(r.burst_download_kbps),
          uploadKbps: Number(r.burst_upload_kbps),
          thresholdDownloadKbps: Number(r.burst_threshold_download_kbps),
          thresholdUploadKbps: Number(r.burst_threshold_upload_kbps),
          timeSeconds: Number(r.burst_time_seconds),
        };
  const d = desiredAccess({
    adminStatus: r.admin_status,
    collectionStatus,
    ended: hasEnded(r.ended_on, today),
    plan: {
      downloadKbps: Number(r.download_kbps),
      uploadKbps: Number(r.upload_kbps),
      burst,
      throttleDownloadKbps: r.throttle_download_kbps === null ? null : Number(r.throttle_download_kbps),
      throttleUploadKbps: r.throttle_upload_kbps === null ? null : Number(r.throttle_upload_kbps),
      suspensionAction: r.suspension_action ?? null,
    },
    settings,
  });
  return { state: d.state, rateLimit: d.rateLimit ?? null, reason: d.reason };
}

function storedAccess(r: AccessRow): AccessValue {
  return { state: r.access_state, rateLimit: r.rate_limit ?? null, reason: r.access_reason };
}

function sameAccess(a: AccessValue, b: AccessValue): boolean {
  return a.state === b.state && a.rateLimit === b.rateLimit && a.reason === b.reason;
}

/**
 * Recomputes desired access for the services in scope and stores what changed. Returns the
 * changes (before and after) so the caller can queue router work.
 */
export async function refreshAccess(db: Db, ctx: Pick<ServiceContext, 'clock'>, scope: AccessScope): Promise<AccessChange[]> {
  const settings = await loadNetworkSettings(db);
  const now = ctx.clock.now();
  const today = await ispToday(db, now);
  const q = db('services as s').join('plans as p', 'p.id', 's.plan_id').select(ACCESS_COLUMNS);
  if (!scope.all) {
    if (!scope.serviceIds?.length && !scope.planIds?.length && !scope.routerIds?.length) return [];
    q.where((w) => {
      if (scope.serviceIds?.length) w.orWhereRaw('s.id = any(?::int[])', [idArray(scope.serviceIds)]);
      if (scope.planIds?.length) w.orWhereRaw('s.plan_id = any(?::int[])', [idArray(scope.planIds)]);
      if (scope.routerIds?.length) w.orWhereRaw('s.router_id = any(?::int[])', [idArray(scope.routerIds)]);
    });
  }
  const rows = (await q) as AccessRow[];
  const changes: AccessChange[] = [];
  for (const r of rows) {
    const after = decide(r, settings, today);
    const before = storedAccess(r);
    if (!sameAccess(before, after)) changes.push({ serviceId: Number(r.id), routerId: r.router_id === null ? null : Number(r.router_id), before, after });
  }
  // One statement per distinct access value (a mass suspension has a handful), each naming its
  // services by an id array: the rows are found through the primary key, not by joining a
  // per-row list against the whole table once per batch.
  const byValue = new Map<string, { value: AccessValue; ids: number[] }>();
  for (const c of changes) {
    const key = JSON.stringify([c.after.state, c.after.reason, c.after.rateLimit]);
    let g = byValue.get(key);
    if (!g) byValue.set(key, (g = { value: c.after, ids: [] }));
    g.ids.push(c.serviceId);
  }
  for (const { value, ids } of byValue.values()) {
    for (const chunk of chunks(ids, UPDATE_BATCH)) {
      await db.raw(
        `update services set access_state = ?, access_reason = ?, rate_limit = ?, access_changed_at = ?::timestamptz where id = any(?::int[])`,
        [value.state, value.reason, value.rateLimit, now, idArray(chunk)],
      );
    }
  }
  return changes;
}

/** A change of collection status of one service, conditioned on the status it was computed from. */
export interface CollectionStatusChange {
  serviceId: number;
  from: CollectionStatus;
  to: CollectionStatus;
}

export interface CollectionStatusResult {
  /** Services whose status changed (the others had moved on since they were read). */
  changed: number[];
  /** Changes the state machine does not allow (COLLECTION_TRANSITIONS): not written. */
  refused: CollectionStatusChange[];
  /** Access changes that followed (suspended or restored), queued for the routers. */
  changes: AccessChange[];
  jobIds: number[];
}

/**
 * The one writer of collection status (collections' evaluation and its write-offs): sets the new statuses and the access the policy
 * derives from them in one statement per batch (a service row written once, not once for the
 * status and again for its access), each conditioned on the status and revision it was read
 * with, then queues the router work for the services whose access changed (as provisionChanges
 * does for any other change). A change the state machine does not allow (COLLECTION_TRANSITIONS
 * in access/policy.ts) is refused: returned in `refused`, nothing written. Call inside the
 * transaction that decided the changes.
 *
 * `within`: every service in `list` belongs to a subscriber in this id range (a chunk of a
 * collections run). The services are then read and written through the range, an index range on
 * services.subscriber_id whatever the table's size, besides their ids: on PostgreSQL a list of
 * 1,000 ids alone is a scan of the whole table at 10,000 services, three index pages a row at 200,000.
 */
export async function changeCollectionStatuses(
  db: Db,
  ctx: Pick<ServiceContext, 'clock'>,
  list: readonly CollectionStatusChange[],
  given?: StatusWriteSettings,
  within?: SubscriberRange,
  queue: EnqueueOptions = {},
): Promise<CollectionStatusResult> {
  const out: CollectionStatusResult = { changed: [], refused: [], changes: [], jobIds: [] };
  const allowed = list.filter((c) => collectionTransitionAllowed(c.from, c.to));
  out.refused = list.filter((c) => !collectionTransitionAllowed(c.from, c.to));
  if (!allowed.length) return out;
  const settings = given?.network ?? (await loadNetworkSettings(db));
  const now = ctx.clock.now();
  const today = given ? formatLocalDate(toLocalDate(now, given.timezone)) : await ispToday(db, now);
  const wanted = new Map(allowed.map((c) => [c.serviceId, c]));
  let routers = given?.routers ?? (await routerModes(db));
  const specs: JobSpec[] = [];
  for (const ids of chunks([...wanted.keys()], BATCH)) {
    const q = db('services as s').join('plans as p', 'p.id', 's.plan_id').select(ACCESS_COLUMNS).whereRaw('s.id = any(?::int[])', [idArray(ids)]);
    if (within) q.whereRaw('s.subscriber_id > ? and s.subscriber_id <= ?', [within.after, within.upTo]);
    const rows = (await q) as AccessRow[];
    const { byId, values } = statusWrites(rows, wanted, settings, today);
    if (!values.length) continue;
    // A router added since the caller read the routers: read them again.
    if (given && rows.some((r) => r.router_id !== null && !routers.has(Number(r.router_id)))) routers = given.routers = await routerModes(db);
    const res = await rowsOf<{ id: number }>(
      db,
      `update services s
          set collection_status = v.to_status, updated_at = ?::timestamptz, revision = s.revision + 1,
              access_state = v.state, access_reason = v.reason, rate_limit = v.rate,
              access_changed_at = case when v.access then ?::timestamptz else s.access_changed_at end
         from (select r.i as id, r.n as revision, r.f as from_status, r.t as to_status, r.s as state, r.r as reason, r.l as rate, r.a as access
                 from json_to_recordset(?::json) as r(i int, n int, f text, t text, s text, r text, l text, a boolean)) as v
        where s.id = v.id and s.collection_status = v.from_status and s.revision = v.revision${within ? ' and s.subscriber_id > ? and s.subscriber_id <= ?' : ''}
      returning s.id`,
      within ? [now, now, statusRowsJson(values), within.after, within.upTo] : [now, now, statusRowsJson(values)],
    );
    statusWritten(res, byId, routers, out, specs);
  }
  out.jobIds = await enqueueJobs(db, specs, now, queue);
  return out;
}

/** What changeCollectionStatuses writes for the rows it read: each row's new status and access. */
interface StatusWrite {
  id: number;
  revision: number;
  from_status: CollectionStatus;
  to_status: CollectionStatus;
  state: AccessState;
  reason: string | null;
  rate: string | null;
  access: boolean;
}

/**
 * The writes as changeCollectionStatuses sends them to json_to_recordset: one letter a key (a
 * mass run's chunk sends 1,000, and the columns' names were half of the JSON), no key for a null.
 */
function statusRowsJson(values: readonly StatusWrite[]): string {
  return JSON.stringify(values.map((v) => ({ i: v.id, n: v.revision, f: v.from_status, t: v.to_status, s: v.state, r: v.reason ?? undefined, l: v.rate ?? undefined, a: v.access })));
}

/**
 * The writes for `rows` (pure, one pass: a mass run's thousands of rows a chunk), skipping rows
 * whose status moved on since it was read, with each row's access change by service id.
 */
function statusWrites(
  rows: readonly AccessRow[],
  wanted: ReadonlyMap<number, CollectionStatusChange>,
  settings: NetworkSettings,
  today: string,
): { byId: Map<number, { row: AccessRow; change: AccessChange | undefined }>; values: StatusWrite[] } {
  const byId = new Map<number, { row: AccessRow; change: AccessChange | undefined }>();
  const values: StatusWrite[] = [];
  for (const r of rows) {
    const c = wanted.get(Number(r.id))!;
    if (r.collection_status !== c.from) continue; // moved on since it was read: not this run's to change
    const before = storedAccess(r);
    const after = decide(r, settings, today, c.to);
    const change = sameAccess(before, after) ? undefined : { serviceId: Number(r.id), routerId: r.router_id === null ? null : Number(r.router_id), before, after };
    byId.set(Number(r.id), { row: r, change });
    values.push({ id: Number(r.id), revision: r.revision, from_status: c.from, to_status: c.to, state: after.state, reason: after.reason, rate: after.rateLimit, access: change !== undefined });
  }
  return { byId, values };
}

/** Records the services written (`res`) in `out`, and the router jobs their access changes need in `specs`. */
function statusWritten(
  res: ReadonlyArray<{ id: number }>,
  byId: ReadonlyMap<number, { row: AccessRow; change: AccessChange | undefined }>,
  routers: ReadonlyMap<number, RouterMode>,
  out: CollectionStatusResult,
  specs: JobSpec[],
): void {
  for (const x of res) {
    const id = Number(x.id);
    out.changed.push(id);
    const hit = byId.get(id)!;
    if (!hit.change) continue;
    out.changes.push(hit.change);
    const router = hit.row.router_id === null ? undefined : routers.get(Number(hit.row.router_id));
    if (!router) continue;
    const spec = planServiceJob({ id, username: hit.row.username, accessState: hit.change.after.state }, router, hit.change, NO_FLAGS);
    if (spec) specs.push(spec);
  }
}

const NO_FLAGS: ServiceFlags = { created: false, credentialsChanged: false, addressChanged: false, planChanged: false, moved: false };

interface RouterModeRow {
  id: number;
  mode: RouterMode['mode'];
  shaping: RouterMode['shaping'];
}

/**
 * What changeCollectionStatuses reads besides the services, read once by a caller that writes
 * statuses many times (a collections run, once per run rather than once per chunk).
 */
export interface StatusWriteSettings {
  network: NetworkSettings;
  /** The ISP's time zone (today is taken from the clock at each write). */
  timezone: string;
  routers: Map<number, RouterMode>;
}

export async function loadStatusWriteSettings(db: Db, views?: readonly SettingView[]): Promise<StatusWriteSettings> {
  const v = views ?? (await listSettings(db));
  return { network: networkSettingsFrom(v), timezone: String(v.find((x) => x.key === 'timezone')?.value ?? 'UTC'), routers: await routerModes(db) };
}

async function routerModes(db: Db): Promise<Map<number, RouterMode>> {
  const rows = (await db('routers').select('id', 'mode', 'shaping')) as RouterModeRow[];
  return new Map(rows.map((r) => [Number(r.id), { id: Number(r.id), mode: r.mode, shaping: r.shaping }]));
}

/** What else changed about services, beyond what refreshAccess sees. */
export interface ServiceEvents {
  /** New services. */
  created?: number[];
  /** Username or password changed. */
  credentialsChanged?: number[];
  /** Static IP added, changed or removed (live sessions must reconnect). */
  addressChanged?: number[];
  /** Plan changed (API mode: another profile). */
  planChanged?: number[];
  /** Service moved: its old router must forget it. */
  moved?: Array<{ serviceId: number; fromRouterId: number; username: string }>;
  /** Service deleted: its router must forget it. */
  removed?: Array<{ serviceId: number; routerId: number; username: string }>;
  /** Plans whose speed changed (API mode: their profiles on every router). */
  plansChanged?: number[];
  /** Old usernames of renamed services (RADIUS mode: the live session to drop carries the old one). */
  previousUsernames?: Record<number, string>;
  /** Plans whose local address or pool changed (API mode: their profiles and pools, whatever the shaping). */
  addressingChanged?: number[];
  /** Routers whose provisioning settings changed: converge every service and profile on them. */
  resyncRouters?: number[];
  /** API mode: services whose router objects must be converged again though their access did not change. */
  reconverge?: number[];
}

export interface RouterMode {
  id: number;
  mode: 'api' | 'radius';
  shaping: 'profile' | 'queue';
}

/** What else happened to one service, beyond its access change. */
export interface ServiceFlags {
  created: boolean;
  credentialsChanged: boolean;
  addressChanged: boolean;
  planChanged: boolean;
  moved: boolean;
}

/**
 * The job kind decision table for one service on its router (pure):
 *
 * API mode: converge the PPP secret (`service`), except when only the rate changed and the
 * profile carries the rate (shaping `profile`): the profile job does it.
 *
 * RADIUS mode: nothing for a new or moved service (FreeRADIUS reads the views at the next
 * login); `radius_disconnect` when access became blocked, the address or credentials changed,
 * or the plan changed while blocked (with the old username after a rename); `radius_coa` when
 * the rate changed, or access came back from blocked, on a live session.
 */
export function planServiceJob(
  s: { id: number; username: string; accessState: AccessState },
  router: RouterMode,
  change: AccessChange | undefined,
  f: ServiceFlags,
  previousUsername?: string,
): JobSpec | null {
  const target = `service:${s.id}`;
  if (router.mode === 'api') {
    const onlyRate = change !== undefined && change.before.state === change.after.state && !f.created && !f.credentialsChanged && !f.addressChanged && !f.planChanged && !f.moved;
    if (onlyRate && router.shaping === 'profile') return null;
    return { routerId: router.id, kind: 'service', target, serviceId: s.id, ...(previousUsername ? { payload: { usernames: [previousUsername] } } : {}) };
  }
  if (f.created || f.moved) return null;
  const blocked = s.accessState === 'blocked' && change !== undefined && change.before.state !== 'blocked';
  if (blocked || f.addressChanged || f.credentialsChanged || (f.planChanged && s.accessState === 'blocked')) {
    return { routerId: router.id, kind: 'radius_disconnect', target, serviceId: s.id, payload: { username: previousUsername ?? s.username } };
  }
  if (change && change.after.rateLimit !== null && (change.before.rateLimit !== change.after.rateLimit || change.before.state === 'blocked')) {
    return { routerId: router.id, kind: 'radius_coa', target, serviceId: s.id, payload: { username: s.username } };
  }
  return null;
}

export interface ProvisionResult {
  changes: AccessChange[];
  /** Ids of the pending jobs that carry this change to routers. */
  jobIds: number[];
}

/**
 * The one entry point for anything that changes services or plans: recompute desired access,
 * then queue what each router must be told. Call inside the transaction that made the change.
 */
export async function provisionChanges(db: Db, ctx: Pick<ServiceContext, 'clock'>, scope: AccessScope, events: ServiceEvents = {}): Promise<ProvisionResult> {
  const changes = await refreshAccess(db, ctx, scope);
  const now = ctx.clock.now();
  const touched = new Set<number>([
    ...changes.map((c) => c.serviceId),
    ...(events.created ?? []),
    ...(events.credentialsChanged ?? []),
    ...(events.addressChanged ?? []),
    ...(events.planChanged ?? []),
    ...(events.moved ?? []).map((m) => m.serviceId),
    ...(events.reconverge ?? []),
  ]);
  const routers = await routerModes(db);
  const specs: JobSpec[] = [];
  const byId = new Map(changes.map((c) => [c.serviceId, c]));
  const set = (ids?: number[]) => new Set(ids ?? []);
  const created = set(events.created);
  const creds = set(events.credentialsChanged);
  const address = set(events.addressChanged);
  const planChanged = set(events.planChanged);
  const movedIds = set((events.moved ?? []).map((m) => m.serviceId));
  const resync = set(events.resyncRouters);
  if (resync.size) {
    const onRouters: number[] = (await db('services').whereIn('router_id', [...resync]).whereNull('ended_on').pluck('id')).map(Number);
    for (const id of onRouters) {
      touched.add(id);
      created.add(id);
    }
    const pairs: Array<{ router_id: number; plan_id: number }> = await db('services').whereIn('router_id', [...resync]).distinct('router_id', 'plan_id');
    for (const p of pairs) {
      const router = routers.get(Number(p.router_id));
      if (router?.mode === 'api') specs.push({ routerId: router.id, kind: 'profile', target: `plan:${p.plan_id}`, payload: { planId: Number(p.plan_id) } });
    }
  }

  if (touched.size) {
    const services: Array<{ id: number; router_id: number | null; username: string; access_state: AccessState }> = [];
    const ids = [...touched];
    for (const chunk of chunks(ids, UPDATE_BATCH)) {
      services.push(...(await db('services').whereRaw('id = any(?::int[])', [idArray(chunk)]).select('id', 'router_id', 'username', 'access_state')));
    }
    for (const s of services) {
      if (s.router_id === null) continue;
      const router = routers.get(s.router_id);
      if (!router) continue;
      const id = Number(s.id);
      const spec = planServiceJob(
        { id, username: s.username, accessState: s.access_state },
        router,
        byId.get(id),
        { created: created.has(id), credentialsChanged: creds.has(id), addressChanged: address.has(id), planChanged: planChanged.has(id), moved: movedIds.has(id) },
        events.previousUsernames?.[id],
      );
      if (spec) specs.push(spec);
    }
  }
  for (const m of events.moved ?? []) {
    const old = routers.get(m.fromRouterId);
    if (!old) continue;
    specs.push(
      old.mode === 'api'
        ? { routerId: old.id, kind: 'remove', target: `service:${m.serviceId}`, serviceId: m.serviceId, payload: { username: m.username } }
        : { routerId: old.id, kind: 'radius_disconnect', target: `service:${m.serviceId}`, serviceId: m.serviceId, payload: { username: m.username } },
    );
  }
  for (const r of events.removed ?? []) {
    const router = routers.get(r.routerId);
    if (!router) continue;
    specs.push(
      router.mode === 'api'
        ? { routerId: router.id, kind: 'remove', target: `service:${r.serviceId}`, serviceId: r.serviceId, payload: { username: r.username } }
        : { routerId: router.id, kind: 'radius_disconnect', target: `service:${r.serviceId}`, serviceId: r.serviceId, payload: { username: r.username } },
    );
  }
  if (events.plansChanged?.length || events.addressingChanged?.length) {
    const addressing = set(events.addressingChanged);
    const pairs: Array<{ router_id: number; plan_id: number }> = await db('services')
      .whereIn('plan_id', [...new Set([...(events.plansChanged ?? []), ...addressing])])
      .whereNotNull('router_id')
      .distinct('router_id', 'plan_id');
    for (const p of pairs) {
      const router = routers.get(Number(p.router_id));
      if (router?.mode === 'api' && (router.shaping === 'profile' || addressing.has(Number(p.plan_id)))) {
        specs.push({ routerId: router.id, kind: 'profile', target: `plan:${p.plan_id}`, payload: { planId: Number(p.plan_id) } });
      }
    }
  }
  const jobIds = await enqueueJobs(db, specs, now);
  return { changes, jobIds };
}

/**
 * After a change of settings the access policy reads (ACCESS_SETTING_KEYS), in the same
 * transaction: access is computed afresh for every service (the policy decides who changes:
 * billing-suspended services on the ISP-wide suspension action and throttle speeds), and the
 * routers are told like for any other change. API mode: the secrets of services whose access
 * changed, the throttled profiles of plans on the ISP-wide throttle speeds, and the secrets of
 * blocked services when the block action changed; RADIUS mode: the views answer differently at
 * once, and live sessions get CoA or Disconnect-Request.
 */
export async function provisionSettingsChange(db: Db, ctx: Pick<ServiceContext, 'clock'>, keys: readonly string[]): Promise<ProvisionResult> {
  const changed = new Set(keys.filter((k) => ACCESS_SETTING_KEYS.includes(k)));
  if (changed.size === 0) return { changes: [], jobIds: [] };
  const events: ServiceEvents = {};
  if (changed.has('throttle-download') || changed.has('throttle-upload')) {
    events.plansChanged = ((await db('plans').whereNull('throttle_download_kbps').orWhereNull('throttle_upload_kbps').pluck('id')) as Array<number | string>).map(Number);
  }
  if (changed.has('api-block-action')) {
    events.reconverge = (
      (await db('services as s')
        .join('routers as r', 'r.id', 's.router_id')
        .where({ 'r.mode': 'api', 's.access_state': 'blocked' })
        .whereNull('r.block_action')
        .pluck('s.id')) as Array<number | string>
    ).map(Number);
  }
  return provisionChanges(db, ctx, { all: true }, events);
}
