// The menus the lab router knows, their fields and how each field is checked. Data only (plus a
// few derived-value functions); the store in state.ts interprets it.

import type { VersionInfo } from './values.js';
import { formatTime, versionAtLeast } from './values.js';

export type FieldKind =
  | { kind: 'string'; nonEmpty?: boolean }
  | { kind: 'bool' }
  | { kind: 'int'; min: number; max: number }
  | { kind: 'enum'; values: readonly string[] }
  /** Comma-separated subset of values (`/radius service=ppp,login`). */
  | { kind: 'enum-list'; values: readonly string[] }
  /** One IPv4 or IPv6 address. */
  | { kind: 'ip' }
  /** An address or the name of an `/ip/pool` (PPP profile local/remote-address). */
  | { kind: 'ip-or-pool' }
  /** `a.b.c.d/len` (a bare address means /32), as `/ip/address address`. */
  | { kind: 'address-prefix' }
  /** Comma-separated prefixes (`allowed-address`, `/ip/service address`). */
  | { kind: 'prefix-list' }
  /** `/ip/pool ranges`. */
  | { kind: 'ranges' }
  /** The name of an item of another menu; stored as its id so renames follow. */
  | { kind: 'ref'; menu: string; none?: string }
  | { kind: 'time' }
  /** `upload/download` rates, printed in bits per second. */
  | { kind: 'rate-pair' }
  | { kind: 'time-pair' }
  /** A PPP `rate-limit` string (kept as written once it parses). */
  | { kind: 'rate-limit' }
  /** A WireGuard key: base64 of 32 bytes. */
  | { kind: 'wg-key' }
  /** `/user group policy`: comma-separated policy names, each optionally negated with `!`. */
  | { kind: 'policy' }
  /** Simple queue target: prefixes or interface names, comma-separated. */
  | { kind: 'queue-target' };

/** What a computed field sees when a row is printed. */
export interface RenderContext {
  now: number;
  bootTime: number;
  version: VersionInfo;
  board: BoardInfo;
}

/** What the emulated hardware is (`/system routerboard`, `/system resource board-name`). */
export interface BoardInfo {
  /** `CHR` (a cloud router, no RouterBOARD) or a RouterBOARD model such as `RB4011iGS+`. */
  model: string;
  serialNumber: string;
}

export function isRouterboard(board: BoardInfo): boolean {
  return board.model !== 'CHR';
}

export interface FieldDef {
  name: string;
  type: FieldKind;
  /** Must be given on add. */
  required?: boolean;
  /** Stored on add when not given (already in stored form). Absent: the field stays unset. */
  default?: string;
  /** Printed, but not writable over the API (`unknown parameter` on write). */
  readOnly?: boolean;
  /** Writable, never printed (`/user password`). */
  writeOnly?: boolean;
  /** Value computed at print time from the stored row (read-only). */
  compute?: (row: Readonly<Record<string, string>>, ctx: RenderContext) => string | undefined;
  /** Field exists only on some RouterOS versions. */
  available?: (v: VersionInfo) => boolean;
}

/**
 * - list: add/set/remove/enable/disable/unset/comment/print
 * - fixed: rows exist from the start (`/ip/service`): set/enable/disable/unset/comment/print
 * - singleton: one row without id (`/ppp/aaa`): set/print
 * - active: sessions, written only through the state API: print/remove
 */
export type MenuKind = 'list' | 'fixed' | 'singleton' | 'active';

export interface MenuDef {
  path: string;
  kind: MenuKind;
  /** Noun for messages: `secret with the same name already exists`. */
  noun: string;
  fields: readonly FieldDef[];
  /** `name` is unique and `.id`/`numbers` accept names. */
  keyedByName?: boolean;
  /** Message (after `failure: `) for a duplicate name or duplicate unique key. */
  duplicateMessage?: string;
  /** A singleton nobody can write (`/system/resource`). */
  readOnly?: boolean;
  /** Saved by toJSON (sessions and live resources are not). */
  persist: boolean;
  /** Secondary uniqueness key (e.g. address+interface); undefined means not constrained. */
  uniqueKey?: (row: Readonly<Record<string, string>>) => string | undefined;
  /** The menu exists only on some RouterOS versions (WireGuard from 7). */
  available?: (v: VersionInfo) => boolean;
  /** Order matters (firewall rules): `add` accepts `place-before`. */
  ordered?: boolean;
  /** Names of built-in items that cannot be removed (`/user group full`). */
  builtin?: readonly string[];
}

const BOOL = { kind: 'bool' } as const;
const STR = { kind: 'string' } as const;
const NAME = { kind: 'string', nonEmpty: true } as const;
const IP = { kind: 'ip' } as const;
const TIME = { kind: 'time' } as const;
const RATE = { kind: 'rate-pair' } as const;
const PORT = { kind: 'int', min: 0, max: 65535 } as const;

const comment: FieldDef = { name: 'comment', type: STR };
const disabled: FieldDef = { name: 'disabled', type: BOOL, default: 'false' };

/** `require-message-auth` came with the BlastRADIUS fix: 7.15 and 6.49.15. */
function hasMessageAuthOption(v: VersionInfo): boolean {
  return v.major >= 7 ? versionAtLeast(v, 7, 15) : versionAtLeast(v, 6, 49, 15);
}

export const PPP_SERVICES = ['any', 'async', 'l2tp', 'ovpn', 'pppoe', 'pptp', 'sstp'] as const;
export const RADIUS_SERVICES = ['ppp', 'login', 'hotspot', 'wireless', 'dhcp', 'ipsec', 'dot1x'] as const;
export const USER_GROUPS = ['full', 'write', 'read'] as const;

/** `/user group` policies. */
export const USER_POLICIES = [
  'local', 'telnet', 'ssh', 'ftp', 'reboot', 'read', 'write', 'policy', 'test', 'winbox', 'password', 'web', 'sniff',
  'sensitive', 'api', 'romon', 'dude', 'tikapp', 'rest-api',
] as const;

/** Built-in `/user group` rows: name and policy, as a new router has them. */
export const BUILTIN_USER_GROUPS: ReadonlyArray<readonly [string, string]> = [
  ['read', 'local,telnet,ssh,reboot,read,test,winbox,password,web,sniff,sensitive,api,romon,rest-api,!ftp,!write,!policy'],
  ['write', 'local,telnet,ssh,reboot,read,write,test,winbox,password,web,sniff,sensitive,api,romon,rest-api,!ftp,!policy'],
  ['full', 'local,telnet,ssh,ftp,reboot,read,write,policy,test,winbox,password,web,sniff,sensitive,api,romon,rest-api'],
];

/** Ethernet ports of a new lab router: name and MAC address. */
export const ETHERNET_PORTS: ReadonlyArray<readonly [string, string]> = [
  ['ether1', '4C:5E:0C:10:00:01'],
  ['ether2', '4C:5E:0C:10:00:02'],
  ['ether3', '4C:5E:0C:10:00:03'],
  ['ether4', '4C:5E:0C:10:00:04'],
  ['ether5', '4C:5E:0C:10:00:05'],
];

const fromV7 = (v: VersionInfo): boolean => v.major >= 7;
const FIREWALL_ACTIONS = [
  'accept', 'drop', 'reject', 'jump', 'return', 'passthrough', 'log', 'fasttrack-connection', 'tarpit',
  'add-src-to-address-list', 'add-dst-to-address-list',
] as const;

/** Fixed `/ip/service` rows: name, port, disabled. */
export const IP_SERVICES: ReadonlyArray<readonly [string, number, boolean]> = [
  ['telnet', 23, false],
  ['ftp', 21, false],
  ['www', 80, false],
  ['ssh', 22, false],
  ['www-ssl', 443, true],
  ['api', 8728, false],
  ['winbox', 8291, false],
  ['api-ssl', 8729, false],
];

export const MENUS: readonly MenuDef[] = [
  {
    path: '/system/identity',
    kind: 'singleton',
    noun: 'identity',
    persist: true,
    fields: [{ name: 'name', type: NAME, default: 'MikroTik' }],
  },
  {
    path: '/system/resource',
    kind: 'singleton',
    noun: 'resource',
    readOnly: true,
    persist: false,
    fields: [
      { name: 'uptime', type: STR, readOnly: true, compute: (_r, c) => formatTime(Math.floor((c.now - c.bootTime) / 1000) * 1000) },
      { name: 'version', type: STR, readOnly: true, compute: (_r, c) => `${c.version.text} (stable)` },
      { name: 'build-time', type: STR, readOnly: true, compute: () => '2025-01-01 00:00:00' },
      { name: 'factory-software', type: STR, readOnly: true, compute: (_r, c) => (c.version.major >= 7 ? '7.1' : '6.40') },
      { name: 'free-memory', type: STR, readOnly: true, compute: () => '1879048192' },
      { name: 'total-memory', type: STR, readOnly: true, compute: () => '2147483648' },
      { name: 'cpu', type: STR, readOnly: true, compute: () => 'QEMU Virtual CPU' },
      { name: 'cpu-count', type: STR, readOnly: true, compute: () => '2' },
      { name: 'cpu-frequency', type: STR, readOnly: true, compute: () => '2400' },
      { name: 'cpu-load', type: STR, readOnly: true, compute: () => '1' },
      { name: 'free-hdd-space', type: STR, readOnly: true, compute: () => '94371840' },
      { name: 'total-hdd-space', type: STR, readOnly: true, compute: () => '134217728' },
      { name: 'architecture-name', type: STR, readOnly: true, compute: () => 'x86_64' },
      { name: 'board-name', type: STR, readOnly: true, compute: (_r, c) => c.board.model },
      { name: 'platform', type: STR, readOnly: true, compute: () => 'MikroTik' },
    ],
  },
  {
    path: '/system/routerboard',
    kind: 'singleton',
    noun: 'routerboard',
    readOnly: true,
    persist: false,
    fields: [
      { name: 'routerboard', type: BOOL, readOnly: true, compute: (_r, c) => (isRouterboard(c.board) ? 'true' : 'false') },
      { name: 'board-name', type: STR, readOnly: true, compute: (_r, c) => c.board.model },
      { name: 'model', type: STR, readOnly: true, compute: (_r, c) => c.board.model },
      { name: 'serial-number', type: STR, readOnly: true, compute: (_r, c) => (isRouterboard(c.board) ? c.board.serialNumber : undefined) },
      { name: 'firmware-type', type: STR, readOnly: true, compute: (_r, c) => (isRouterboard(c.board) ? 'al2' : undefined) },
      { name: 'current-firmware', type: STR, readOnly: true, compute: (_r, c) => (isRouterboard(c.board) ? c.version.text : undefined) },
      { name: 'upgrade-firmware', type: STR, readOnly: true, compute: (_r, c) => (isRouterboard(c.board) ? c.version.text : undefined) },
    ],
  },
  {
    path: '/interface',
    kind: 'fixed',
    noun: 'interface',
    keyedByName: true,
    duplicateMessage: 'already have interface with such name',
    persist: true,
    fields: [
      { name: 'name', type: NAME },
      { name: 'type', type: STR, readOnly: true },
      { name: 'mtu', type: { kind: 'int', min: 64, max: 65535 }, default: '1500' },
      { name: 'mac-address', type: STR, readOnly: true },
      { name: 'running', type: BOOL, readOnly: true, compute: (r) => (r['disabled'] === 'true' ? 'false' : 'true') },
      disabled,
      comment,
      { name: 'dynamic', type: BOOL, readOnly: true, compute: () => 'false' },
    ],
  },
  {
    path: '/interface/pppoe-server/server',
    kind: 'list',
    noun: 'pppoe server',
    duplicateMessage: 'pppoe server with the same service name already exists',
    persist: true,
    uniqueKey: (r) => r['service-name'],
    fields: [
      { name: 'service-name', type: NAME, default: 'service1' },
      { name: 'interface', type: NAME, required: true },
      { name: 'max-mtu', type: STR, default: 'auto' },
      { name: 'max-mru', type: STR, default: 'auto' },
      { name: 'authentication', type: { kind: 'enum-list', values: ['pap', 'chap', 'mschap1', 'mschap2'] }, default: 'pap,chap,mschap1,mschap2' },
      { name: 'keepalive-timeout', type: TIME, default: '10s' },
      { name: 'one-session-per-host', type: BOOL, default: 'false' },
      { name: 'max-sessions', type: STR, default: 'unlimited' },
      { name: 'default-profile', type: { kind: 'ref', menu: '/ppp/profile' }, default: '*0' },
      { name: 'invalid', type: BOOL, readOnly: true, compute: () => 'false' },
      comment,
      disabled,
    ],
  },
  {
    path: '/ip/firewall/filter',
    kind: 'list',
    noun: 'rule',
    persist: true,
    ordered: true,
    fields: [
      { name: 'chain', type: NAME, required: true },
      { name: 'action', type: { kind: 'enum', values: FIREWALL_ACTIONS }, default: 'accept' },
      { name: 'protocol', type: STR },
      { name: 'src-address', type: STR },
      { name: 'dst-address', type: STR },
      { name: 'src-address-list', type: STR },
      { name: 'dst-address-list', type: STR },
      { name: 'in-interface', type: STR },
      { name: 'out-interface', type: STR },
      { name: 'in-interface-list', type: STR },
      { name: 'out-interface-list', type: STR },
      { name: 'src-port', type: STR },
      { name: 'dst-port', type: STR },
      { name: 'connection-state', type: STR },
      { name: 'jump-target', type: STR },
      { name: 'reject-with', type: STR },
      { name: 'address-list', type: STR },
      { name: 'log', type: BOOL, default: 'false' },
      { name: 'log-prefix', type: STR },
      comment,
      disabled,
      { name: 'dynamic', type: BOOL, readOnly: true, compute: () => 'false' },
      { name: 'invalid', type: BOOL, readOnly: true, compute: () => 'false' },
    ],
  },
  {
    path: '/ip/firewall/address-list',
    kind: 'list',
    noun: 'entry',
    duplicateMessage: 'already have such entry',
    persist: true,
    uniqueKey: (r) => (r['list'] && r['address'] ? `${r['list']}|${r['address']}` : undefined),
    fields: [
      { name: 'list', type: NAME, required: true },
      { name: 'address', type: NAME, required: true },
      { name: 'timeout', type: TIME },
      comment,
      disabled,
      { name: 'dynamic', type: BOOL, readOnly: true, default: 'false' },
    ],
  },
  {
    path: '/user/group',
    kind: 'list',
    noun: 'group',
    keyedByName: true,
    duplicateMessage: 'group with the same name already exists',
    persist: true,
    builtin: ['read', 'write', 'full'],
    fields: [
      { name: 'name', type: NAME, required: true },
      { name: 'policy', type: { kind: 'policy' }, default: '' },
      { name: 'skin', type: STR, default: 'default' },
      comment,
    ],
  },
  {
    path: '/ppp/secret',
    kind: 'list',
    noun: 'secret',
    keyedByName: true,
    duplicateMessage: 'secret with the same name already exists',
    persist: true,
    fields: [
      { name: 'name', type: NAME, required: true },
      { name: 'service', type: { kind: 'enum', values: PPP_SERVICES }, default: 'any' },
      { name: 'caller-id', type: STR },
      { name: 'password', type: STR },
      { name: 'profile', type: { kind: 'ref', menu: '/ppp/profile' }, default: '*0' },
      { name: 'local-address', type: IP },
      { name: 'remote-address', type: IP },
      { name: 'limit-bytes-in', type: { kind: 'int', min: 0, max: Number.MAX_SAFE_INTEGER }, default: '0' },
      { name: 'limit-bytes-out', type: { kind: 'int', min: 0, max: Number.MAX_SAFE_INTEGER }, default: '0' },
      { name: 'last-logged-out', type: STR, readOnly: true },
      { name: 'last-caller-id', type: STR, readOnly: true },
      { name: 'last-disconnect-reason', type: STR, readOnly: true },
      disabled,
      comment,
    ],
  },
  {
    path: '/ppp/profile',
    kind: 'list',
    noun: 'profile',
    keyedByName: true,
    duplicateMessage: 'profile with the same name already exists',
    persist: true,
    fields: [
      { name: 'name', type: NAME, required: true },
      { name: 'local-address', type: { kind: 'ip-or-pool' } },
      { name: 'remote-address', type: { kind: 'ip-or-pool' } },
      { name: 'rate-limit', type: { kind: 'rate-limit' } },
      { name: 'only-one', type: { kind: 'enum', values: ['yes', 'no', 'default'] }, default: 'default' },
      { name: 'address-list', type: STR },
      comment,
      { name: 'default', type: BOOL, readOnly: true, default: 'false' },
    ],
  },
  {
    path: '/ppp/active',
    kind: 'active',
    noun: 'active connection',
    persist: false,
    fields: [
      { name: 'name', type: NAME, readOnly: true },
      { name: 'service', type: STR, readOnly: true },
      { name: 'caller-id', type: STR, readOnly: true },
      { name: 'encoding', type: STR, readOnly: true },
      { name: 'address', type: STR, readOnly: true },
      { name: 'uptime', type: STR, readOnly: true, compute: (r, c) => formatTime(Math.floor((c.now - Number(r['started'] ?? c.now)) / 1000) * 1000) },
      { name: 'session-id', type: STR, readOnly: true },
      { name: 'limit-bytes-in', type: STR, readOnly: true },
      { name: 'limit-bytes-out', type: STR, readOnly: true },
      { name: 'radius', type: BOOL, readOnly: true },
    ],
  },
  {
    path: '/ppp/aaa',
    kind: 'singleton',
    noun: 'aaa',
    persist: true,
    fields: [
      { name: 'use-radius', type: BOOL, default: 'false' },
      { name: 'accounting', type: BOOL, default: 'true' },
      { name: 'interim-update', type: TIME, default: '0s' },
    ],
  },
  {
    path: '/queue/simple',
    kind: 'list',
    noun: 'queue',
    keyedByName: true,
    duplicateMessage: 'queue with the same name already exists',
    persist: true,
    fields: [
      { name: 'name', type: NAME },
      { name: 'target', type: { kind: 'queue-target' }, required: true },
      { name: 'max-limit', type: RATE, default: '0/0' },
      { name: 'limit-at', type: RATE, default: '0/0' },
      { name: 'burst-limit', type: RATE, default: '0/0' },
      { name: 'burst-threshold', type: RATE, default: '0/0' },
      { name: 'burst-time', type: { kind: 'time-pair' }, default: '0s/0s' },
      comment,
      disabled,
      { name: 'dynamic', type: BOOL, readOnly: true, default: 'false' },
    ],
  },
  {
    path: '/radius',
    kind: 'list',
    noun: 'radius server',
    persist: true,
    fields: [
      { name: 'service', type: { kind: 'enum-list', values: RADIUS_SERVICES } },
      { name: 'address', type: IP, required: true },
      { name: 'secret', type: STR },
      { name: 'authentication-port', type: PORT, default: '1812' },
      { name: 'accounting-port', type: PORT, default: '1813' },
      { name: 'timeout', type: TIME, default: '300ms' },
      {
        name: 'require-message-auth',
        type: { kind: 'enum', values: ['no', 'yes-for-request-resp'] },
        default: 'yes-for-request-resp',
        available: hasMessageAuthOption,
      },
      { name: 'src-address', type: IP, default: '0.0.0.0' },
      comment,
      disabled,
    ],
  },
  {
    path: '/radius/incoming',
    kind: 'singleton',
    noun: 'incoming',
    persist: true,
    fields: [
      { name: 'accept', type: BOOL, default: 'false' },
      { name: 'port', type: PORT, default: '3799' },
    ],
  },
  {
    path: '/ip/pool',
    kind: 'list',
    noun: 'pool',
    keyedByName: true,
    duplicateMessage: 'already have such name',
    persist: true,
    fields: [
      { name: 'name', type: NAME, required: true },
      { name: 'ranges', type: { kind: 'ranges' }, required: true },
      { name: 'next-pool', type: { kind: 'ref', menu: '/ip/pool', none: 'none' } },
      comment,
    ],
  },
  {
    path: '/ip/address',
    kind: 'list',
    noun: 'address',
    duplicateMessage: 'already have such address',
    persist: true,
    uniqueKey: (r) => (r['address'] && r['interface'] ? `${r['address']}|${r['interface']}` : undefined),
    fields: [
      { name: 'address', type: { kind: 'address-prefix' }, required: true },
      { name: 'network', type: IP, readOnly: true },
      { name: 'interface', type: NAME, required: true },
      { name: 'actual-interface', type: STR, readOnly: true, compute: (r) => r['interface'] },
      { name: 'invalid', type: BOOL, readOnly: true, compute: () => 'false' },
      { name: 'dynamic', type: BOOL, readOnly: true, compute: () => 'false' },
      disabled,
      comment,
    ],
  },
  {
    path: '/ip/service',
    kind: 'fixed',
    noun: 'service',
    keyedByName: true,
    persist: true,
    fields: [
      { name: 'name', type: NAME, readOnly: true },
      { name: 'port', type: { kind: 'int', min: 1, max: 65535 } },
      { name: 'address', type: { kind: 'prefix-list' } },
      { name: 'certificate', type: STR },
      { name: 'tls-version', type: { kind: 'enum', values: ['any', 'only-1.2'] } },
      disabled,
    ],
  },
  {
    path: '/user',
    kind: 'list',
    noun: 'user',
    keyedByName: true,
    duplicateMessage: 'user with the same name already exists',
    persist: true,
    fields: [
      { name: 'name', type: NAME, required: true },
      { name: 'group', type: { kind: 'ref', menu: '/user/group' }, required: true },
      { name: 'password', type: STR, writeOnly: true },
      { name: 'address', type: { kind: 'prefix-list' } },
      comment,
      disabled,
    ],
  },
  {
    path: '/interface/wireguard',
    kind: 'list',
    available: fromV7,
    noun: 'interface',
    keyedByName: true,
    duplicateMessage: 'already have interface with such name',
    persist: true,
    fields: [
      { name: 'name', type: NAME, required: true },
      { name: 'mtu', type: { kind: 'int', min: 1280, max: 65535 }, default: '1420' },
      { name: 'listen-port', type: { kind: 'int', min: 1, max: 65535 } },
      { name: 'private-key', type: { kind: 'wg-key' } },
      { name: 'public-key', type: STR, readOnly: true },
      { name: 'running', type: BOOL, readOnly: true, compute: (r) => (r['disabled'] === 'true' ? 'false' : 'true') },
      comment,
      disabled,
    ],
  },
  {
    path: '/interface/wireguard/peers',
    kind: 'list',
    available: fromV7,
    noun: 'peer',
    duplicateMessage: 'peer with the same public-key already exists on this interface',
    persist: true,
    uniqueKey: (r) => (r['interface'] && r['public-key'] ? `${r['interface']}|${r['public-key']}` : undefined),
    fields: [
      { name: 'interface', type: { kind: 'ref', menu: '/interface/wireguard' }, required: true },
      { name: 'public-key', type: { kind: 'wg-key' }, required: true },
      { name: 'endpoint-address', type: STR },
      { name: 'endpoint-port', type: PORT, default: '0' },
      { name: 'allowed-address', type: { kind: 'prefix-list' } },
      { name: 'persistent-keepalive', type: TIME },
      comment,
      disabled,
    ],
  },
];

export function menuDef(path: string): MenuDef | undefined {
  return MENUS.find((m) => m.path === path);
}

export function fieldDef(menu: MenuDef, name: string): FieldDef | undefined {
  return menu.fields.find((f) => f.name === name);
}
