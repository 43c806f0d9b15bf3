// In-memory configuration of a simulated MikroTik: the menus ispctl uses, with RouterOS's rules
// for ids, names, references, defaults and errors. Pure: no sockets, no files, no timers.
//
// Rows are kept as they are stored (references to other menus as ids, so renames follow) and
// rendered on print (references as names, computed fields filled in, write-only ones left out).

import { createHash } from 'node:crypto';
import { isIPv4 } from 'node:net';
import { deriveValues, normalizeFieldValue } from './fields.js';
import type { ChangeOp, RenderedRow, Stored, StoredRow, StoreHost } from './menu-store.js';
import { ListMenu, MenuStore, SingletonMenu } from './menu-store.js';
import type { BoardInfo, FieldDef, RenderContext } from './schema.js';
import { BUILTIN_USER_GROUPS, ETHERNET_PORTS, IP_SERVICES, MENUS } from './schema.js';
import { badArgument, failure, noSuchItem } from './trap.js';
import type { ListMenuPath, ListMenuRows, PppProfile, PppSecret, RadiusServer, SingletonMenuPath, SingletonMenuRows } from './types.js';
import type { VersionInfo } from './values.js';
import {
  formatBool,
  formatId,
  intToIpv4,
  ipv4InPrefix,
  ipv4ToInt,
  isIpAddress,
  normalizeId,
  parseId,
  parseRateLimit,
  parseRanges,
  parseVersion,
} from './values.js';

export { ListMenu, MenuStore, SingletonMenu };
export type { RenderedRow, WriteOptions } from './menu-store.js';

/** Ids at or above this value are printed after all others (built-ins such as *FFFFFFFE). */
const PINNED_ID = 0x80000000;

export const DEFAULT_VERSION = '7.18.2';

/** Built-in PPP profiles, with the ids RouterOS gives them. */
export const DEFAULT_PROFILE_ID = '*0';
export const DEFAULT_ENCRYPTION_PROFILE_ID = '*FFFFFFFE';

export interface RouterStateOptions {
  /** Emulated RouterOS version. Default 7.18.2. */
  version?: string;
  /** `/system/identity name`. Default MikroTik. */
  identity?: string;
  /** Password of the default `admin` user (group full). Default empty, as on a new router. */
  adminPassword?: string;
  /** Clock, in milliseconds since the epoch. Default Date.now. */
  now?: () => number;
  /** Hardware model (`/system routerboard model`): `CHR` (default) or e.g. `RB4011iGS+`. */
  board?: string;
}

export interface ChangeEvent {
  path: string;
  op: 'add' | 'set' | 'remove';
  /** Undefined for singleton menus. */
  id?: string;
  /** The row as printed, after the change (add, set) or before it (remove). */
  row: RenderedRow;
  dynamic: boolean;
}

/** Why a session ended; the lab NAS maps it to Acct-Terminate-Cause. */
export type DisconnectReason = 'admin-reset' | 'user-request' | 'lost-carrier' | 'session-timeout' | 'nas-request' | (string & {});

export interface ActiveSession {
  /** `/ppp/active` id. */
  id: string;
  name: string;
  service: string;
  callerId: string;
  address: string;
  /** `0x81000001` style, as `/ppp/active session-id` (also the Acct-Session-Id, lower case, without 0x). */
  sessionId: string;
  radius: boolean;
  encoding: string;
  limitBytesIn: number;
  limitBytesOut: number;
  startedAt: number;
  /** `<pppoe-alice>`: the dynamic interface name (queue target). */
  interfaceName: string;
  /** Rate limit applied through the dynamic queue, if any. */
  rateLimit?: string;
  /** Id of the dynamic `/queue/simple` entry, if any. */
  queueId?: string;
  /** Id of the dynamic `/ip firewall address-list` entry (profile `address-list`), if any. */
  addressListId?: string;
}

export interface ActiveSessionInput {
  name: string;
  /** Default `pppoe`. */
  service?: string;
  callerId?: string;
  address?: string;
  /** Default: generated, unique per router. */
  sessionId?: string;
  radius?: boolean;
  encoding?: string;
  limitBytesIn?: number;
  limitBytesOut?: number;
  /** RouterOS rate-limit syntax; creates a dynamic simple queue `<pppoe-NAME>` for the session. */
  rateLimit?: string;
  /** Default: now. */
  startedAt?: number;
  /** Put the session's address in this firewall address list while it lasts (profile `address-list`). */
  addressList?: string;
}

export interface SessionDownEvent {
  session: ActiveSession;
  reason: DisconnectReason;
}

export interface StateEvents {
  /** Any configuration change, including dynamic entries and sessions. */
  change: ChangeEvent;
  /** A session was added (after its dynamic queue). */
  'session-up': ActiveSession;
  /** A session was removed (API `/ppp/active/remove` or removeActiveSession); send Accounting Stop. */
  'session-down': SessionDownEvent;
}

/** What a PPP dial needs to know about a user. */
export interface PppUserLookup {
  secret: PppSecret;
  /** The secret's profile (the `default` profile when the reference dangles). */
  profile: PppProfile;
  /** Secret's local-address, else the profile's (an address or a pool name). */
  localAddress?: string;
  /** Secret's remote-address, else the profile's (an address or a pool name). */
  remoteAddress?: string;
  rateLimit?: string;
  /** Effective only-one (`default` defers to the default profile, then means no). */
  onlyOne: boolean;
  /** Sessions of this user now. */
  activeSessions: ActiveSession[];
}

export interface ApiUser {
  name: string;
  group: 'full' | 'write' | 'read';
}

export type ApiCredentials =
  | { name: string; password: string }
  /** Challenge login: `response` is `00` + md5hex(0x00 + password + challenge). */
  | { name: string; response: string; challenge: Buffer };

export interface LabStateSnapshot {
  format: 'ispctl-lab-router';
  formatVersion: 1;
  version: string;
  nextId: number;
  /** Rows as stored (references as ids), `.id` included. Sessions and dynamic rows are left out. */
  lists: Record<string, Array<Record<string, string>>>;
  singletons: Record<string, Record<string, string>>;
}

type Listener<T> = (event: T) => void;

/** `::ffff:127.0.0.1` → `127.0.0.1`. */
function plainAddress(address: string): string {
  return address.startsWith('::ffff:') && isIPv4(address.slice(7)) ? address.slice(7) : address;
}

function md5hex(...parts: Buffer[]): string {
  const h = createHash('md5');
  for (const p of parts) h.update(p);
  return h.digest('hex');
}

/** Challenge-login response for a password and challenge: `00` + md5hex(0x00 + password + challenge). */
export function challengeResponse(password: string, challenge: Buffer): string {
  return `00${md5hex(Buffer.from([0]), Buffer.from(password, 'utf8'), challenge)}`;
}

/**
 * The lab router's whole configuration and its live PPP sessions.
 *
 * Events (`on` returns an unsubscribe function): `change` for every write, `session-up` and
 * `session-down` for PPP sessions (the lab NAS sends accounting Start/Stop on them).
 */
export class RouterState implements StoreHost {
  readonly version: VersionInfo;
  readonly now: () => number;
  readonly bootTime: number;
  readonly board: BoardInfo;
  /**
   * Global script variables (`:global`), shared by every console run on this router as
   * RouterOS shares them (not saved: they do not survive a reboot either).
   */
  readonly scriptGlobals = new Map<string, unknown>();
  private nextId = 1;
  private sessionCounter = 0;
  private readonly stores = new Map<string, MenuStore>();
  private readonly listeners = new Map<keyof StateEvents, Set<Listener<never>>>();
  private readonly sessions = new Map<string, ActiveSession>();
  private readonly sessionAddresses = new Set<string>();
  /** Live sessions' ids by user name, and their interface names: a dial looks up its own, never every session. */
  private readonly sessionsByName = new Map<string, Set<string>>();
  private readonly sessionInterfaces = new Set<string>();
  private readonly poolCursor = new Map<string, number>();

  constructor(opts: RouterStateOptions = {}) {
    this.version = parseVersion(opts.version ?? DEFAULT_VERSION);
    this.now = opts.now ?? Date.now;
    this.bootTime = this.now();
    const model = opts.board ?? 'CHR';
    this.board = { model, serialNumber: model === 'CHR' ? '' : `HD0${createHash('md5').update(model).digest('hex').slice(0, 9).toUpperCase()}` };
    for (const def of MENUS) if (!def.available || def.available(this.version)) this.stores.set(def.path, new MenuStore(this, def));
    this.seed(opts);
  }

  private seed(opts: RouterStateOptions): void {
    for (const store of this.stores.values()) if (store.isSingleton) store.seedSingleton({});
    this.mustStore('/system/identity').seedSingleton({ name: opts.identity ?? 'MikroTik' });
    const profiles = this.mustStore('/ppp/profile');
    profiles.insert(DEFAULT_PROFILE_ID, { name: 'default', 'only-one': 'default', default: 'true' });
    profiles.insert(DEFAULT_ENCRYPTION_PROFILE_ID, { name: 'default-encryption', 'only-one': 'default', default: 'true' });
    this.seedServices();
    this.seedGroupsAndPorts();
    const full = this.mustStore('/user/group').getByName('full')!.id;
    this.mustStore('/user').insert(this.allocateId(), { name: 'admin', group: full, password: opts.adminPassword ?? '', disabled: 'false' });
  }

  /** Built-in user groups and the Ethernet ports every router has. */
  private seedGroupsAndPorts(): void {
    const groups = this.mustStore('/user/group');
    for (const [name, policy] of BUILTIN_USER_GROUPS) {
      if (!groups.getByName(name)) groups.insert(this.allocateId(), { name, policy, skin: 'default' });
    }
    const ports = this.mustStore('/interface');
    if (ports.size === 0) {
      for (const [name, mac] of ETHERNET_PORTS) {
        ports.insert(this.allocateId(), { name, type: 'ether', mtu: '1500', 'mac-address': mac, disabled: 'false' });
      }
    }
  }

  /** @internal rows other menus add to a print: `/interface` shows WireGuard and PPPoE interfaces. */
  viewRows(store: MenuStore, ctx: RenderContext): RenderedRow[] {
    if (store.path !== '/interface') return [];
    const out: RenderedRow[] = [];
    const wg = this.stores.get('/interface/wireguard');
    if (wg) {
      for (const row of wg.storedRows()) {
        const r = wg.render(row, ctx);
        const view: RenderedRow = { '.id': row.id, name: r['name'] ?? '', type: 'wg', mtu: r['mtu'] ?? '1420', running: r['running'] ?? 'true', disabled: r['disabled'] ?? 'false' };
        if (r['comment'] !== undefined) view['comment'] = r['comment'];
        view['dynamic'] = 'false';
        out.push(view);
      }
    }
    for (const s of this.sessions.values()) {
      out.push({ '.id': s.id, name: s.interfaceName, type: 'pppoe-in', mtu: '1480', running: 'true', disabled: 'false', dynamic: 'true' });
    }
    return out;
  }

  private seedServices(): void {
    const services = this.mustStore('/ip/service');
    for (const [name, port, disabled] of IP_SERVICES) {
      if (services.getByName(name)) continue;
      const values: Stored = { name, port: String(port), disabled: formatBool(disabled) };
      if (name.endsWith('-ssl')) {
        values['certificate'] = 'none';
        values['tls-version'] = 'any';
      }
      services.insert(this.allocateId(), values);
    }
  }

  // -------------------------------------------------------------------------------------------
  // Menus

  /** Typed access to a menu with rows. */
  menu<P extends ListMenuPath>(path: P): ListMenu<ListMenuRows[P]> {
    const store = this.mustStore(path);
    if (store.isSingleton) throw new Error(`${path} is a singleton menu; use singleton()`);
    return new ListMenu<ListMenuRows[P]>(this, store);
  }

  /** Typed access to a singleton menu. */
  singleton<P extends SingletonMenuPath>(path: P): SingletonMenu<SingletonMenuRows[P]> {
    const store = this.mustStore(path);
    if (!store.isSingleton) throw new Error(`${path} is not a singleton menu`);
    return new SingletonMenu<SingletonMenuRows[P]>(store);
  }

  /** The store behind a menu path (for the API command layer), or undefined. */
  store(path: string): MenuStore | undefined {
    return this.stores.get(path);
  }

  /** Every menu path the lab router knows. */
  menuPaths(): string[] {
    return [...this.stores.keys()];
  }

  private mustStore(path: string): MenuStore {
    const s = this.stores.get(path);
    if (!s) throw new Error(`unknown menu ${path}`);
    return s;
  }

  allocateId(): string {
    return formatId(this.nextId++);
  }

  // -------------------------------------------------------------------------------------------
  // Events

  on<K extends keyof StateEvents>(event: K, listener: Listener<StateEvents[K]>): () => void {
    let set = this.listeners.get(event);
    if (!set) this.listeners.set(event, (set = new Set()));
    set.add(listener as Listener<never>);
    return () => {
      set.delete(listener as Listener<never>);
    };
  }

  private emit<K extends keyof StateEvents>(event: K, payload: StateEvents[K]): void {
    const set = this.listeners.get(event);
    if (!set || set.size === 0) return;
    for (const l of [...set]) (l as Listener<StateEvents[K]>)(payload);
  }

  private hasListeners(event: keyof StateEvents): boolean {
    return (this.listeners.get(event)?.size ?? 0) > 0;
  }

  /** @internal whether anyone listens to `change` (so stores can skip rendering). */
  hasChangeListeners(): boolean {
    return this.hasListeners('change');
  }

  /** @internal called by MenuStore. */
  emitChange(store: MenuStore, op: ChangeOp, row: StoredRow | undefined, rendered?: RenderedRow): void {
    if (!this.hasListeners('change')) return;
    const printed = rendered ?? (row ? store.render(row) : store.renderSingleton());
    this.emit('change', { path: store.path, op, id: row?.id, row: printed, dynamic: row?.v['dynamic'] === 'true' });
  }

  // -------------------------------------------------------------------------------------------
  // Values

  /** @internal name of a referenced item, or the stored text (an address, or a dangling id). */
  refName(f: FieldDef, stored: string): string {
    const target = f.type.kind === 'ref' ? f.type.menu : f.type.kind === 'ip-or-pool' ? '/ip/pool' : undefined;
    if (!target || !stored.startsWith('*')) return stored;
    return this.stores.get(target)?.getStored(stored)?.v['name'] ?? stored;
  }

  private refId(menu: string, value: string): string | undefined {
    const store = this.stores.get(menu);
    if (!store) return undefined;
    const byName = store.getByName(value);
    if (byName) return byName.id;
    return parseId(value) !== undefined ? store.getStored(value)?.id : undefined;
  }

  /** @internal stored form of a written value; undefined means unset. Throws RouterTrap. */
  normalizeField(f: FieldDef, raw: string): string | undefined {
    return normalizeFieldValue(f, raw, (menu, value) => this.refId(menu, value));
  }

  /** @internal values a menu computes from others on write. */
  derive(store: MenuStore, values: Stored, existing: StoredRow | undefined): void {
    deriveValues(store, values, existing);
  }

  // -------------------------------------------------------------------------------------------
  // PPP sessions (for the lab NAS)

  /**
   * Adds a `/ppp/active` entry and, when `rateLimit` is given, a dynamic simple queue
   * `<pppoe-NAME>` for it. Emits `change` and `session-up`. Throws RouterTrap for a malformed
   * rate limit or an address already in use by another session.
   */
  addActiveSession(input: ActiveSessionInput): ActiveSession {
    if (!input.name) throw badArgument('missing value(s) of argument(s) name');
    const address = input.address ?? '';
    if (address && !isIpAddress(address)) throw badArgument('invalid value for argument address');
    if (address && this.sessionAddresses.has(address)) throw failure(`address ${address} already in use`);
    const limits = input.rateLimit !== undefined ? parseRateLimit(input.rateLimit) : undefined;
    if (input.rateLimit !== undefined && !limits) throw badArgument('invalid value for argument rate-limit');

    const service = input.service ?? 'pppoe';
    const store = this.mustStore('/ppp/active');
    const id = this.allocateId();
    const sessionId = input.sessionId ?? `0x81${(++this.sessionCounter).toString(16).toUpperCase().padStart(6, '0')}`;
    const session: ActiveSession = {
      id,
      name: input.name,
      service,
      callerId: input.callerId ?? '',
      address,
      sessionId,
      radius: input.radius ?? false,
      encoding: input.encoding ?? '',
      limitBytesIn: input.limitBytesIn ?? 0,
      limitBytesOut: input.limitBytesOut ?? 0,
      startedAt: input.startedAt ?? this.now(),
      interfaceName: this.freeInterfaceName(`<${service}-${input.name}>`),
    };
    if (limits) {
      session.rateLimit = input.rateLimit!.trim();
      session.queueId = this.addDynamicQueue(session.interfaceName, limits);
    }
    if (input.addressList && address) {
      const lists = this.mustStore('/ip/firewall/address-list');
      const entry = lists.insert(this.allocateId(), { list: input.addressList, address, disabled: 'false', dynamic: 'true' });
      this.emitChange(lists, 'add', entry);
      session.addressListId = entry.id;
    }
    const values: Stored = {
      name: session.name,
      service,
      'session-id': sessionId,
      'limit-bytes-in': String(session.limitBytesIn),
      'limit-bytes-out': String(session.limitBytesOut),
      radius: formatBool(session.radius),
      started: String(session.startedAt),
    };
    if (session.callerId) values['caller-id'] = session.callerId;
    if (session.encoding) values['encoding'] = session.encoding;
    if (address) values['address'] = address;
    const row = store.insert(id, values);
    this.sessions.set(id, session);
    if (address) this.sessionAddresses.add(address);
    let own = this.sessionsByName.get(session.name);
    if (!own) this.sessionsByName.set(session.name, (own = new Set()));
    own.add(id);
    this.sessionInterfaces.add(session.interfaceName);
    this.emitChange(store, 'add', row);
    this.emit('session-up', { ...session });
    return { ...session };
  }

  private freeInterfaceName(base: string): string {
    const taken = this.sessionInterfaces;
    if (!taken.has(base)) return base;
    for (let n = 1; ; n++) {
      const name = `${base.slice(0, -1)}-${n}>`;
      if (!taken.has(name)) return name;
    }
  }

  private addDynamicQueue(iface: string, limits: NonNullable<ReturnType<typeof parseRateLimit>>): string {
    const queues = this.mustStore('/queue/simple');
    const values: Stored = {
      name: iface,
      target: iface,
      'max-limit': limits['max-limit'],
      'limit-at': limits['limit-at'] ?? '0/0',
      'burst-limit': limits['burst-limit'] ?? '0/0',
      'burst-threshold': limits['burst-threshold'] ?? '0/0',
      'burst-time': limits['burst-time'] ?? '0s/0s',
      disabled: 'false',
      dynamic: 'true',
    };
    const existing = queues.getByName(iface);
    if (existing) queues.remove([existing], { force: true });
    const row = queues.insert(this.allocateId(), values);
    this.emitChange(queues, 'add', row);
    return row.id;
  }

  /**
   * Changes a live session's rate limit (what a CoA with Mikrotik-Rate-Limit does): replaces
   * its dynamic queue, or removes it when `rateLimit` is undefined.
   */
  setSessionRateLimit(id: string, rateLimit: string | undefined): ActiveSession {
    const session = this.sessions.get(normalizeId(id));
    if (!session) throw noSuchItem();
    const limits = rateLimit !== undefined ? parseRateLimit(rateLimit) : undefined;
    if (rateLimit !== undefined && !limits) throw badArgument('invalid value for argument rate-limit');
    const queues = this.mustStore('/queue/simple');
    if (session.queueId) {
      const q = queues.getStored(session.queueId);
      if (q) queues.remove([q], { force: true });
      delete session.queueId;
      delete session.rateLimit;
    }
    if (limits) {
      session.rateLimit = rateLimit!.trim();
      session.queueId = this.addDynamicQueue(session.interfaceName, limits);
    }
    return { ...session };
  }

  /**
   * Ends a session: removes its `/ppp/active` entry and dynamic queue, records the logout on
   * the secret, emits `change` and `session-down` (the NAS sends Accounting Stop on it).
   * Returns the ended session, or undefined when there is none with that id.
   */
  removeActiveSession(id: string, reason: DisconnectReason = 'admin-reset'): ActiveSession | undefined {
    const key = normalizeId(id);
    const session = this.sessions.get(key);
    if (!session) return undefined;
    const store = this.mustStore('/ppp/active');
    const row = store.getStored(key);
    if (row) store.remove([row], { force: true });
    if (session.queueId) {
      const queues = this.mustStore('/queue/simple');
      const q = queues.getStored(session.queueId);
      if (q) queues.remove([q], { force: true });
    }
    if (session.addressListId) {
      const lists = this.mustStore('/ip/firewall/address-list');
      const entry = lists.getStored(session.addressListId);
      if (entry) lists.remove([entry], { force: true });
    }
    this.sessions.delete(key);
    if (session.address) this.sessionAddresses.delete(session.address);
    const own = this.sessionsByName.get(session.name);
    own?.delete(key);
    if (own?.size === 0) this.sessionsByName.delete(session.name);
    this.sessionInterfaces.delete(session.interfaceName);
    const secrets = this.mustStore('/ppp/secret');
    const secret = secrets.getByName(session.name);
    if (secret) {
      const update: Record<string, string> = { 'last-logged-out': this.formatClock(this.now()), 'last-disconnect-reason': reason };
      if (session.callerId) update['last-caller-id'] = session.callerId;
      secrets.set([secret], update, { force: true });
    }
    const ended = { ...session };
    this.emit('session-down', { session: ended, reason });
    return ended;
  }

  /** The live sessions of one user name. */
  sessionsOf(name: string): ActiveSession[] {
    return [...(this.sessionsByName.get(name) ?? [])].map((id) => ({ ...this.sessions.get(id)! }));
  }

  activeSessions(): ActiveSession[] {
    return [...this.sessions.values()].map((s) => ({ ...s }));
  }

  getActiveSession(id: string): ActiveSession | undefined {
    const s = this.sessions.get(normalizeId(id));
    return s ? { ...s } : undefined;
  }

  /** `2025-01-31 13:45:00` in UTC, as RouterOS 7.10+ prints dates. */
  private formatClock(ms: number): string {
    return new Date(ms).toISOString().slice(0, 19).replace('T', ' ');
  }

  /** Everything a PPP dial needs about `name`, or undefined when there is no such secret. */
  lookupPppUser(name: string): PppUserLookup | undefined {
    const secret = this.menu('/ppp/secret').get(name);
    if (!secret || secret.name !== name) return undefined;
    const profiles = this.menu('/ppp/profile');
    const profile = profiles.get(secret.profile) ?? profiles.get(DEFAULT_PROFILE_ID)!;
    const defaultProfile = profiles.get(DEFAULT_PROFILE_ID)!;
    let onlyOne = profile['only-one'];
    if (onlyOne === 'default') onlyOne = defaultProfile['only-one'];
    return {
      secret,
      profile,
      localAddress: secret['local-address'] ?? profile['local-address'],
      remoteAddress: secret['remote-address'] ?? profile['remote-address'],
      rateLimit: profile['rate-limit'],
      onlyOne: onlyOne === 'yes',
      activeSessions: this.sessionsOf(name),
    };
  }

  /**
   * A free address from `/ip/pool` `poolName` (following `next-pool` when it is full), skipping
   * addresses of live sessions. Undefined when the pool does not exist or every pool is full.
   */
  allocatePoolAddress(poolName: string): string | undefined {
    const pools = this.mustStore('/ip/pool');
    const seen = new Set<string>();
    let row = pools.getByName(poolName);
    while (row && !seen.has(row.id)) {
      seen.add(row.id);
      const ranges = parseRanges(row.v['ranges'] ?? '') ?? [];
      const total = ranges.reduce((n, r) => n + (r.last - r.first + 1), 0);
      const start = this.poolCursor.get(row.id) ?? 0;
      for (let k = 0; k < total; k++) {
        const offset = (start + k) % total;
        let rest = offset;
        let ip = 0;
        for (const r of ranges) {
          const size = r.last - r.first + 1;
          if (rest < size) {
            ip = r.first + rest;
            break;
          }
          rest -= size;
        }
        const text = intToIpv4(ip);
        if (!this.sessionAddresses.has(text)) {
          this.poolCursor.set(row.id, (offset + 1) % total);
          return text;
        }
      }
      const next = row.v['next-pool'];
      row = next ? pools.getStored(next) : undefined;
    }
    return undefined;
  }

  /** Enabled `/radius` entries for a service (`ppp`), in order. */
  radiusServersFor(service: string): RadiusServer[] {
    return this.menu('/radius').find((r) => r.disabled === 'false' && (r.service ?? '').split(',').includes(service));
  }

  // -------------------------------------------------------------------------------------------
  // API users

  /**
   * Checks API credentials against `/user`: enabled user, right password (or challenge
   * response), and the client's address within the user's `address` list when one is set.
   */
  checkApiLogin(creds: ApiCredentials, remoteAddress?: string): ApiUser | undefined {
    const row = this.mustStore('/user').getByName(creds.name);
    if (!row || row.v['disabled'] === 'true') return undefined;
    const groups = this.mustStore('/user/group');
    const groupRef = row.v['group'] ?? '';
    const group = groups.getStored(groupRef) ?? groups.getByName(groupRef);
    const policy = new Set((group?.v['policy'] ?? '').split(','));
    // The API needs the `api` policy; what a user may change follows `write` and `policy`.
    if (!policy.has('api')) return undefined;
    const password = row.v['password'] ?? '';
    if ('response' in creds) {
      if (creds.response.toLowerCase() !== challengeResponse(password, creds.challenge)) return undefined;
    } else if (creds.password !== password) {
      return undefined;
    }
    const allowed = row.v['address'];
    if (allowed && remoteAddress) {
      const ip = plainAddress(remoteAddress);
      if (!allowed.split(',').some((p) => ipv4InPrefix(ip, p))) return undefined;
    }
    return { name: creds.name, group: policy.has('policy') && policy.has('write') ? 'full' : policy.has('write') ? 'write' : 'read' };
  }

  // -------------------------------------------------------------------------------------------
  // Saving

  /** Configuration for saving. Sessions and dynamic queues are runtime state and left out. */
  toJSON(): LabStateSnapshot {
    const lists: LabStateSnapshot['lists'] = {};
    const singletons: LabStateSnapshot['singletons'] = {};
    for (const store of this.stores.values()) {
      if (!store.def.persist) continue;
      if (store.isSingleton) singletons[store.path] = { ...store.singletonStored() };
      else lists[store.path] = store.snapshotRows();
    }
    return { format: 'ispctl-lab-router', formatVersion: 1, version: this.version.text, nextId: this.nextId, lists, singletons };
  }

  /**
   * A state from a snapshot. `opts.version` overrides the saved version; `identity` and
   * `adminPassword` apply only to menus the snapshot lacks.
   */
  static fromJSON(snapshot: unknown, opts: RouterStateOptions = {}): RouterState {
    if (typeof snapshot !== 'object' || snapshot === null) throw new Error('state file: not a JSON object');
    const s = snapshot as Partial<LabStateSnapshot>;
    if (s.format !== 'ispctl-lab-router' || s.formatVersion !== 1) {
      throw new Error('state file: not an ispctl lab router state (format ispctl-lab-router, version 1)');
    }
    const state = new RouterState({ ...opts, version: opts.version ?? s.version });
    state.load(s);
    return state;
  }

  private load(s: Partial<LabStateSnapshot>): void {
    let maxId = 0;
    for (const [path, rows] of Object.entries(s.lists ?? {})) {
      const store = this.stores.get(path);
      if (!store || !store.def.persist || store.isSingleton || !Array.isArray(rows)) continue;
      store.loadRows(rows);
      for (const row of store.storedRows()) {
        const n = parseId(row.id) ?? 0;
        if (n < PINNED_ID) maxId = Math.max(maxId, n);
      }
    }
    for (const [path, values] of Object.entries(s.singletons ?? {})) {
      const store = this.stores.get(path);
      if (!store || !store.def.persist || !store.isSingleton || typeof values !== 'object' || values === null) continue;
      const known: Stored = {};
      for (const f of store.fields) {
        const v = (values as Record<string, unknown>)[f.name];
        if (typeof v === 'string' && !f.compute) known[f.name] = v;
      }
      store.seedSingleton(known);
    }
    this.nextId = Math.max(typeof s.nextId === 'number' && Number.isInteger(s.nextId) ? s.nextId : 1, maxId + 1);
    // Built-ins a router always has.
    const profiles = this.mustStore('/ppp/profile');
    if (!profiles.getStored(DEFAULT_PROFILE_ID)) profiles.insert(DEFAULT_PROFILE_ID, { name: 'default', 'only-one': 'default', default: 'true' });
    if (!profiles.getStored(DEFAULT_ENCRYPTION_PROFILE_ID)) {
      profiles.insert(DEFAULT_ENCRYPTION_PROFILE_ID, { name: 'default-encryption', 'only-one': 'default', default: 'true' });
    }
    this.seedServices();
    this.seedGroupsAndPorts();
    // State files from before user groups were a menu name the group instead of its id.
    const groups = this.mustStore('/user/group');
    for (const row of this.mustStore('/user').storedRows()) {
      const g = row.v['group'];
      if (g !== undefined && !g.startsWith('*')) {
        const id = groups.getByName(g)?.id;
        if (id) row.v['group'] = id;
      }
    }
  }
}

/** Whether an IPv4 address is inside any of a pool's ranges (for tests and the NAS). */
export function poolContains(ranges: string, ip: string): boolean {
  const parsed = parseRanges(ranges);
  if (!parsed || !isIPv4(ip)) return false;
  const n = ipv4ToInt(ip);
  return parsed.some((r) => n >= r.first && n <= r.last);
}
