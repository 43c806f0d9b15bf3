// The plan: what must change on a router to make it hold the desired state. Pure: rows as the
// router printed them and desired objects in, operations out. Objects are matched by the marker
// in their comment, never by name alone; values are compared after normalising the ways
// RouterOS prints them (true/yes, 10M/20M vs 10000000/20000000, 8s vs 00:00:08, /32 targets).
import type { Row } from '../../routeros/index.js';
import { canonicalRanges } from '../../routers/pools.js';
import { parseMikrotikRateLimit, parseRouterOSRate } from '../../speed.js';
import { parseMarker, type MarkerKey } from './naming.js';
import { MANAGED_FIELDS, OBJECT_KINDS, type ActualState, type DesiredObject, type DesiredState, type InvalidObject, type ObjectKind } from './types.js';

export interface FieldChange {
  field: string;
  /** As the router prints it; undefined when unset. */
  from?: string;
  /** As ispctl writes it; undefined means unset the field. */
  to?: string;
}

export interface CreateOp {
  kind: ObjectKind;
  key: MarkerKey;
  name: string;
  fields: Record<string, string>;
}

export interface UpdateOp {
  kind: ObjectKind;
  /** The marker key the object carries after the update. */
  key: MarkerKey;
  id: string;
  /** The name the object has now. */
  name: string;
  changes: FieldChange[];
  /** An unmanaged object taken over (--adopt). */
  adopted?: boolean;
}

export type RemoveReason = 'not-desired' | 'duplicate' | 'prune';

export interface RemoveOp {
  kind: ObjectKind;
  /** Marker key, for managed objects. */
  key?: MarkerKey;
  id: string;
  name: string;
  reason: RemoveReason;
}

export interface UnmanagedObject {
  kind: ObjectKind;
  id: string;
  name: string;
  /** It holds the name a desired object needs (the desired object is not written). */
  conflictKey?: MarkerKey;
}

export interface SessionDrop {
  /** PPP user name of the session(s). */
  name: string;
  key?: MarkerKey;
  reason: string;
  /** `/ppp/active` ids, when sessions were read. */
  ids?: string[];
}

export interface RouterPlan {
  create: CreateOp[];
  update: UpdateOp[];
  remove: RemoveOp[];
  unmanaged: UnmanagedObject[];
  /** Live sessions to drop after the changes, so they reconnect with what was written. */
  sessions: SessionDrop[];
  /**
   * Profiles whose rate changed: every session of a secret on them is dropped (resolved on the
   * router at apply time; empty when the sessions are listed in `sessions`).
   */
  sessionProfiles: string[];
  invalid: InvalidObject[];
  warnings: string[];
}

export interface DiffOptions {
  /** Remove objects ispctl does not manage (never built-in profiles or dynamic queues). */
  prune?: boolean;
  /** Take over unmanaged objects that hold a desired object's name. */
  adopt?: boolean;
  /** Remove managed profiles no longer desired (sync does; scoped job runs do not). */
  removeProfiles?: boolean;
}

// ---- normalisation ---------------------------------------------------------------------------

function bool(v: string | undefined): string {
  if (v === undefined || v === '') return 'false';
  const s = v.toLowerCase();
  return s === 'true' || s === 'yes' ? 'true' : s === 'false' || s === 'no' ? 'false' : s;
}

/** One side of a rate pair in kbit/s as text, or the text itself when it is not a rate. */
function rate(v: string): string {
  const n = parseRouterOSRate(v);
  return n === undefined ? v.trim() : String(n);
}

function ratePair(v: string | undefined): string {
  if (v === undefined || v.trim() === '') return '0/0';
  const [a = '', b = a] = v.trim().split('/');
  return `${rate(a)}/${rate(b)}`;
}

/** Seconds of a RouterOS time (`8`, `8s`, `1m30s`, `00:00:08`, `1d`), or undefined. */
export function parseSeconds(v: string): number | undefined {
  const s = v.trim();
  if (/^\d+$/.test(s)) return Number(s);
  let m = /^(\d+):(\d{2}):(\d{2})$/.exec(s);
  if (m) return Number(m[1]) * 3600 + Number(m[2]) * 60 + Number(m[3]);
  m = /^(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m(?!s))?(?:(\d+)s)?(?:(\d+)ms)?$/.exec(s);
  if (!m || s === '') return undefined;
  const [, w = 0, d = 0, h = 0, min = 0, sec = 0, ms = 0] = m;
  return Number(w) * 604800 + Number(d) * 86400 + Number(h) * 3600 + Number(min) * 60 + Number(sec) + Number(ms) / 1000;
}

function timePair(v: string | undefined): string {
  if (v === undefined || v.trim() === '') return '0/0';
  const [a = '', b = a] = v.trim().split('/');
  const t = (x: string) => String(parseSeconds(x) ?? x);
  return `${t(a)}/${t(b)}`;
}

function rateLimit(v: string | undefined): string | undefined {
  if (v === undefined || v.trim() === '') return undefined;
  const r = parseMikrotikRateLimit(v);
  if (!r) return v.trim().split(/\s+/).join(' ');
  if (r.downloadKbps === 0 && r.uploadKbps === 0 && !r.burst) return undefined; // 0/0: unlimited
  return JSON.stringify([r.uploadKbps, r.downloadKbps, r.burst ? [r.burst.uploadKbps, r.burst.downloadKbps, r.burst.thresholdUploadKbps, r.burst.thresholdDownloadKbps, r.burst.timeSeconds] : null]);
}

function address(v: string | undefined): string | undefined {
  if (v === undefined) return undefined;
  const s = v.trim().replace(/\/32$/, '');
  return s === '' || s === '0.0.0.0' ? undefined : s;
}

function target(v: string | undefined): string | undefined {
  if (v === undefined || v.trim() === '') return undefined;
  return v
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean)
    .map((p) => (/^\d+\.\d+\.\d+\.\d+$/.test(p) ? `${p}/32` : p))
    .join(',');
}

function text(v: string | undefined): string | undefined {
  return v === undefined || v === '' ? undefined : v;
}

/**
 * The comparable form of a field's value. Two values that RouterOS treats the same normalise to
 * the same result; an unset field normalises to what the router assumes for it.
 */
export function normalizeField(kind: ObjectKind, field: string, value: string | undefined): string | undefined {
  switch (field) {
    case 'disabled':
      return bool(value);
    case 'rate-limit':
      return rateLimit(value);
    case 'max-limit':
    case 'burst-limit':
    case 'burst-threshold':
      return ratePair(value);
    case 'burst-time':
      return timePair(value);
    case 'remote-address':
    case 'local-address':
      return address(value);
    case 'ranges':
      return value === undefined || value.trim() === '' ? undefined : (canonicalRanges(value) ?? value.trim());
    case 'target':
      return target(value);
    case 'service':
      return text(value) ?? 'any';
    case 'profile':
      return kind === 'secret' ? (text(value) ?? 'default') : text(value);
    default:
      return text(value);
  }
}

/** Whether the router printed a field ispctl cannot see otherwise (passwords need the `sensitive` policy). */
function comparable(field: string, row: Row): boolean {
  return field !== 'password' || 'password' in row;
}

/**
 * Remembers normalised values: a router's rows repeat the same few rates and flags thousands
 * of times. One per diff, never shared between diffs.
 */
export type NormalizeCache = Map<string, string | undefined>;

function normalizeCached(kind: ObjectKind, field: string, value: string | undefined, cache: NormalizeCache | undefined): string | undefined {
  if (!cache || value === undefined || field === 'name' || field === 'comment' || field === 'password') return normalizeField(kind, field, value);
  const k = `${kind}\u0000${field}\u0000${value}`;
  if (cache.has(k)) return cache.get(k);
  const v = normalizeField(kind, field, value);
  cache.set(k, v);
  return v;
}

/** Field changes that turn `row` into `desired` (managed fields only). */
export function fieldChanges(kind: ObjectKind, row: Row, desired: DesiredObject, cache?: NormalizeCache): FieldChange[] {
  const changes: FieldChange[] = [];
  for (const field of MANAGED_FIELDS[kind]) {
    if (!comparable(field, row)) continue;
    const want = desired.fields[field];
    const have = row[field];
    if (have === want) continue; // the same text is the same value
    if (normalizeCached(kind, field, have, cache) === normalizeCached(kind, field, want, cache)) continue;
    const change: FieldChange = { field };
    if (have !== undefined && have !== '') change.from = have;
    if (want !== undefined) change.to = want;
    changes.push(change);
  }
  return changes;
}

// ---- matching --------------------------------------------------------------------------------

/** Rows ispctl never considers: built-in profiles, dynamic queues (a session's rate limit). */
export function ignoredRow(kind: ObjectKind, row: Row): boolean {
  if (kind === 'profile') return bool(row['default']) === 'true' || row.name === 'default' || row.name === 'default-encryption';
  if (kind === 'queue') return bool(row['dynamic']) === 'true' || (row.name ?? '').startsWith('<');
  return false;
}

/** The marker key of a row, when it carries one of the right kind. */
export function rowKey(kind: ObjectKind, row: Row): MarkerKey | undefined {
  const m = parseMarker(row.comment);
  if (!m) return undefined;
  if (kind === 'pool') return m.pool ? m.key : undefined;
  if (m.pool) return undefined;
  if (kind === 'profile' ? m.kind !== 'plan' : m.kind !== 'service') return undefined;
  return m.key;
}

/** One menu's rows read whole, by marker key and by name (positions in `rows`). */
export interface RowIndex {
  rows: readonly Row[];
  byKey: Map<MarkerKey, number[]>;
  byName: Map<string, number[]>;
}

/** Indexes rows of one kind read whole, once, for the scoped diffs of many chunks against them. */
export function indexRows(kind: ObjectKind, rows: readonly Row[]): RowIndex {
  const byKey = new Map<MarkerKey, number[]>();
  const byName = new Map<string, number[]>();
  const add = <K>(m: Map<K, number[]>, k: K, i: number) => {
    const list = m.get(k);
    if (list) list.push(i);
    else m.set(k, [i]);
  };
  rows.forEach((row, i) => {
    const key = rowKey(kind, row);
    if (key) add(byKey, key, i);
    if (row.name !== undefined) add(byName, row.name, i);
  });
  return { rows, byKey, byName };
}

/**
 * The rows of an index a diff scoped to `keys` can look at, in their order: those carrying one
 * of the keys, and those holding one of `names` (the desired names in scope). A scoped diff
 * considers managed rows only for keys in scope and other rows only when they hold a desired
 * name, so it plans the same on these as on all the rows, without going through all of them.
 */
export function rowsInScope(index: RowIndex, keys: Iterable<MarkerKey>, names: Iterable<string>): Row[] {
  const at = new Set<number>();
  for (const k of keys) for (const i of index.byKey.get(k) ?? []) at.add(i);
  for (const n of names) for (const i of index.byName.get(n) ?? []) at.add(i);
  return [...at].sort((a, b) => a - b).map((i) => index.rows[i]!);
}

function emptyPlan(state: DesiredState): RouterPlan {
  return { create: [], update: [], remove: [], unmanaged: [], sessions: [], sessionProfiles: [], invalid: [...state.invalid], warnings: [...state.warnings] };
}

interface KindContext {
  plan: RouterPlan;
  opts: DiffOptions;
  scope: ReadonlySet<MarkerKey> | undefined;
  invalidKeys: ReadonlySet<MarkerKey>;
  /** Keys whose desired object was not written because an unmanaged object holds its name. */
  blocked: Set<MarkerKey>;
  cache: NormalizeCache;
  /** Profiles being renamed (old name → new name): secrets on them follow without a change. */
  renames: Map<string, string>;
  /** Desired profile names ispctl cannot write (an unmanaged namesake holds them). */
  heldProfiles: Set<string>;
}

function inScope(kind: ObjectKind, key: MarkerKey, ctx: KindContext): boolean {
  if (!ctx.scope) return true;
  return kind === 'profile' || kind === 'pool' || ctx.scope.has(key);
}

function diffKind(kind: ObjectKind, desired: readonly DesiredObject[], rows: readonly Row[], ctx: KindContext): void {
  const { plan, opts } = ctx;
  const managed = new Map<MarkerKey, Row[]>();
  const unmanaged = new Map<string, Row>();
  const unmanagedRows: Row[] = [];
  const seen = new Set<string>();
  for (const row of rows) {
    const id = row['.id'];
    if (!id || seen.has(id) || ignoredRow(kind, row)) continue;
    seen.add(id);
    const key = rowKey(kind, row);
    if (key) {
      const list = managed.get(key) ?? [];
      list.push(row);
      managed.set(key, list);
    } else {
      unmanagedRows.push(row);
      if (row.name !== undefined && !unmanaged.has(row.name)) unmanaged.set(row.name, row);
    }
  }
  const handled = new Set<string>(); // ids of unmanaged rows adopted, pruned or in conflict
  const desiredKeys = new Set<MarkerKey>();

  for (const d of desired) {
    desiredKeys.add(d.key);
    if (!inScope(kind, d.key, ctx) || ctx.invalidKeys.has(d.key)) continue;
    if (kind === 'secret' && d.fields.profile !== undefined && ctx.heldProfiles.has(d.fields.profile)) {
      // Writing it would put the subscriber on a profile ispctl does not manage.
      plan.invalid.push({ key: d.key, kind, error: `its profile ${d.fields.profile} is held by a profile ispctl does not manage; ispctl sync --adopt takes it over, --prune replaces it` });
      continue;
    }
    const candidates = managed.get(d.key) ?? [];
    const primary = candidates.find((r) => r.name === d.name) ?? candidates[0];
    for (const extra of candidates) {
      if (extra !== primary) plan.remove.push({ kind, key: d.key, id: extra['.id']!, name: extra.name ?? '', reason: 'duplicate' });
    }
    const holder = unmanaged.get(d.name);
    const nameTaken = holder !== undefined && (!primary || primary.name !== d.name);
    if (nameTaken && holder) {
      handled.add(holder['.id']!);
      if (opts.adopt && !primary) {
        const changes = fieldChanges(kind, holder, d, ctx.cache);
        plan.update.push({ kind, key: d.key, id: holder['.id']!, name: holder.name ?? d.name, changes, adopted: true });
        continue;
      }
      if (opts.prune) {
        plan.remove.push({ kind, id: holder['.id']!, name: holder.name ?? '', reason: 'prune' });
      } else {
        plan.unmanaged.push({ kind, id: holder['.id']!, name: holder.name ?? '', conflictKey: d.key });
        ctx.blocked.add(d.key);
        continue;
      }
    }
    if (!primary) {
      plan.create.push({ kind, key: d.key, name: d.name, fields: { ...d.fields } });
      continue;
    }
    // A secret on a profile that is being renamed to the one it should be on is already right.
    const renamedTo = kind === 'secret' && primary.profile !== undefined ? ctx.renames.get(primary.profile) : undefined;
    const compared = renamedTo !== undefined ? { ...primary, profile: renamedTo } : primary;
    const changes = fieldChanges(kind, compared, d, ctx.cache);
    if (changes.length) plan.update.push({ kind, key: d.key, id: primary['.id']!, name: primary.name ?? '', changes: changes.map((c) => (c.field === 'profile' ? { ...c, from: primary.profile } : c)) });
    if (kind === 'profile') {
      const rename = changes.find((c) => c.field === 'name');
      if (rename?.to !== undefined && primary.name !== undefined) ctx.renames.set(primary.name, rename.to);
    }
  }
  if (kind === 'profile') {
    for (const d of desired) if (ctx.blocked.has(d.key)) ctx.heldProfiles.add(d.name);
  }

  for (const [key, list] of managed) {
    if (desiredKeys.has(key) || ctx.invalidKeys.has(key)) continue;
    if (kind === 'profile' || kind === 'pool' ? !opts.removeProfiles : ctx.scope !== undefined && !ctx.scope.has(key)) continue;
    for (const row of list) plan.remove.push({ kind, key, id: row['.id']!, name: row.name ?? '', reason: 'not-desired' });
  }

  // Objects ispctl does not manage: a full diff reports them (and removes them with prune); a
  // scoped one only cares about those in the way of a desired object (handled above).
  if (ctx.scope) return;
  for (const row of unmanagedRows) {
    if (handled.has(row['.id']!)) continue;
    if (opts.prune) plan.remove.push({ kind, id: row['.id']!, name: row.name ?? '', reason: 'prune' });
    else plan.unmanaged.push({ kind, id: row['.id']!, name: row.name ?? '' });
  }
}

/** Field changes that need a live session to reconnect, and the reason people read. */
function dropReason(change: FieldChange, shapingByProfile: boolean): string | undefined {
  switch (change.field) {
    case 'disabled':
      return bool(change.to) === 'true' ? 'blocked' : undefined;
    case 'remote-address':
      return 'static IP changed';
    case 'name':
      return 'user name changed';
    case 'password':
      return 'password changed';
    case 'profile':
      // RouterOS applies a profile's rate limit when a session starts, not to live sessions.
      return shapingByProfile ? 'speed changed' : undefined;
    default:
      return undefined;
  }
}

/**
 * The plan that makes the router hold `desired`. With `desired.scope`, only the services in
 * scope (and every profile) are looked at, and objects ispctl does not manage are reported only
 * when they hold a desired object's name.
 */
export function diffState(desired: DesiredState, actual: ActualState, opts: DiffOptions = {}): RouterPlan {
  const plan = emptyPlan(desired);
  const ctx: KindContext = {
    plan,
    opts: { ...opts, removeProfiles: opts.removeProfiles ?? desired.scope === undefined },
    scope: desired.scope,
    invalidKeys: new Set(desired.invalid.map((i) => i.key)),
    blocked: new Set(),
    cache: new Map(),
    renames: new Map(),
    heldProfiles: new Set(),
  };
  const byKind: Record<ObjectKind, { desired: DesiredObject[]; rows: Row[] }> = {
    pool: { desired: desired.pools ?? [], rows: actual.pools ?? [] },
    profile: { desired: desired.profiles, rows: actual.profiles },
    secret: { desired: desired.secrets, rows: actual.secrets },
    queue: { desired: desired.queues, rows: actual.queues },
  };
  for (const kind of OBJECT_KINDS) diffKind(kind, byKind[kind].desired, byKind[kind].rows, ctx);
  const conflicts = new Map(plan.unmanaged.filter((x) => x.conflictKey).map((x) => [x.conflictKey!, x]));
  for (const key of ctx.blocked) {
    const u = conflicts.get(key);
    plan.invalid.push({
      key,
      kind: u?.kind ?? 'secret',
      error: `an object ispctl does not manage already has the name ${JSON.stringify(u?.name ?? '')} (${u?.kind ?? 'secret'} ${u?.id ?? ''}); ispctl sync --adopt takes it over, --prune replaces it`,
    });
  }

  // ---- live sessions ----
  const shapingByProfile = desired.router.shaping === 'profile';
  const drops = new Map<string, SessionDrop>();
  const drop = (name: string, reason: string, key?: MarkerKey) => {
    if (!name || drops.has(name)) return;
    drops.set(name, key ? { name, key, reason } : { name, reason });
  };
  for (const u of plan.update) {
    if (u.kind !== 'secret' || u.adopted) continue;
    for (const c of u.changes) {
      const reason = dropReason(c, shapingByProfile);
      if (reason) {
        drop(u.name, reason, u.key);
        break;
      }
    }
  }
  for (const r of plan.remove) if (r.kind === 'secret') drop(r.name, r.reason === 'prune' ? 'secret pruned' : 'secret removed', r.key);
  for (const s of desired.services.values()) {
    if (!s.present || s.state !== 'blocked' || !s.username) continue;
    if (ctx.blocked.has(s.key)) continue;
    if (!desired.scope || desired.scope.has(s.key)) drop(s.username, 'blocked', s.key);
  }
  const rateChanged = plan.update.filter((u) => u.kind === 'profile' && u.changes.some((c) => c.field === 'rate-limit'));
  const sessions = actual.sessions;
  if (sessions) {
    // Sessions were read: list the concrete ones, including those of secrets on a profile whose
    // rate changes, and those at another address than the static IP.
    const profileNames = new Set(rateChanged.map((u) => u.name));
    const keyByName = new Map<string, MarkerKey>();
    for (const row of actual.secrets) {
      const key = rowKey('secret', row);
      if (key && row.name) keyByName.set(row.name, key);
      if (row.name && row.profile && profileNames.has(row.profile)) drop(row.name, 'speed changed', key);
    }
    const ids = new Map<string, string[]>();
    const addresses = new Map<string, string[]>();
    for (const x of sessions) {
      if (!x.name || !x['.id']) continue;
      const list = ids.get(x.name) ?? [];
      list.push(x['.id']);
      ids.set(x.name, list);
      if (x.address) addresses.set(x.name, [...(addresses.get(x.name) ?? []), x.address]);
    }
    for (const s of desired.services.values()) {
      if (!s.present || s.state === 'blocked' || !s.staticIp) continue;
      if ((addresses.get(s.username) ?? []).some((a) => a !== s.staticIp)) drop(s.username, 'not at its static IP', s.key);
    }
    for (const d of drops.values()) {
      const live = ids.get(d.name);
      if (live?.length) plan.sessions.push({ ...d, key: d.key ?? keyByName.get(d.name), ids: live });
    }
  } else {
    plan.sessions.push(...drops.values());
    plan.sessionProfiles = rateChanged.map((u) => finalName(u));
  }
  return plan;
}

/** The name an updated object has after the update. */
export function finalName(u: UpdateOp): string {
  return u.changes.find((c) => c.field === 'name')?.to ?? u.name;
}

export interface PlanCounts {
  create: number;
  update: number;
  remove: number;
  unmanaged: number;
  sessions: number;
  invalid: number;
}

export function planCounts(plan: RouterPlan): PlanCounts {
  return {
    create: plan.create.length,
    update: plan.update.length,
    remove: plan.remove.length,
    unmanaged: plan.unmanaged.length,
    sessions: plan.sessions.reduce((n, s) => n + (s.ids?.length ?? 1), 0),
    invalid: plan.invalid.length,
  };
}

/** True when applying the plan would change something on the router. */
export function planHasChanges(plan: RouterPlan): boolean {
  return plan.create.length + plan.update.length + plan.remove.length + plan.sessions.length + plan.sessionProfiles.length > 0;
}
