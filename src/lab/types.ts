// Row shapes of the lab router's menus, as printed over the API: every value is a string,
// booleans are 'true'/'false', optional fields are absent when unset.

export type Bool = 'true' | 'false';

export interface PppSecret {
  '.id': string;
  name: string;
  service: string;
  'caller-id'?: string;
  password?: string;
  profile: string;
  'local-address'?: string;
  'remote-address'?: string;
  'limit-bytes-in': string;
  'limit-bytes-out': string;
  'last-logged-out'?: string;
  'last-caller-id'?: string;
  'last-disconnect-reason'?: string;
  disabled: Bool;
  comment?: string;
}

export interface PppProfile {
  '.id': string;
  name: string;
  'local-address'?: string;
  'remote-address'?: string;
  'rate-limit'?: string;
  'only-one': 'yes' | 'no' | 'default';
  'address-list'?: string;
  comment?: string;
  default: Bool;
}

export interface PppActive {
  '.id': string;
  name: string;
  service: string;
  'caller-id'?: string;
  encoding?: string;
  address?: string;
  uptime: string;
  'session-id': string;
  'limit-bytes-in': string;
  'limit-bytes-out': string;
  radius: Bool;
}

export interface QueueSimple {
  '.id': string;
  name: string;
  target: string;
  'max-limit': string;
  'limit-at': string;
  'burst-limit': string;
  'burst-threshold': string;
  'burst-time': string;
  comment?: string;
  disabled: Bool;
  dynamic: Bool;
}

export interface RadiusServer {
  '.id': string;
  service?: string;
  address: string;
  secret?: string;
  'authentication-port': string;
  'accounting-port': string;
  timeout: string;
  /** Absent on versions before 7.15 / 6.49.15. */
  'require-message-auth'?: 'no' | 'yes-for-request-resp';
  'src-address': string;
  comment?: string;
  disabled: Bool;
}

export interface IpPool {
  '.id': string;
  name: string;
  ranges: string;
  'next-pool'?: string;
  comment?: string;
}

export interface IpAddress {
  '.id': string;
  address: string;
  network: string;
  interface: string;
  'actual-interface': string;
  invalid: Bool;
  dynamic: Bool;
  disabled: Bool;
  comment?: string;
}

export interface IpService {
  '.id': string;
  name: string;
  port: string;
  address?: string;
  certificate?: string;
  'tls-version'?: string;
  disabled: Bool;
}

export interface RouterUser {
  '.id': string;
  name: string;
  /** A `/user group` name (built-in: full, write, read). */
  group: string;
  address?: string;
  comment?: string;
  disabled: Bool;
}

export interface WireguardInterface {
  '.id': string;
  name: string;
  mtu: string;
  'listen-port': string;
  'private-key': string;
  'public-key': string;
  running: Bool;
  comment?: string;
  disabled: Bool;
}

export interface WireguardPeer {
  '.id': string;
  interface: string;
  'public-key': string;
  'endpoint-address'?: string;
  'endpoint-port': string;
  'allowed-address'?: string;
  'persistent-keepalive'?: string;
  comment?: string;
  disabled: Bool;
}

export interface SystemIdentity {
  name: string;
}

export interface SystemResource {
  uptime: string;
  version: string;
  'build-time': string;
  'factory-software': string;
  'free-memory': string;
  'total-memory': string;
  cpu: string;
  'cpu-count': string;
  'cpu-frequency': string;
  'cpu-load': string;
  'free-hdd-space': string;
  'total-hdd-space': string;
  'architecture-name': string;
  'board-name': string;
  platform: string;
}

export interface PppAaa {
  'use-radius': Bool;
  accounting: Bool;
  'interim-update': string;
}

export interface RadiusIncoming {
  accept: Bool;
  port: string;
}

export interface UserGroup {
  '.id': string;
  name: string;
  policy: string;
  skin: string;
  comment?: string;
}

export interface EthernetInterface {
  '.id': string;
  name: string;
  type: string;
  mtu: string;
  'mac-address'?: string;
  running: Bool;
  disabled: Bool;
  comment?: string;
  dynamic: Bool;
}

export interface PppoeServer {
  '.id': string;
  'service-name': string;
  interface: string;
  'max-mtu': string;
  'max-mru': string;
  authentication: string;
  'keepalive-timeout': string;
  'one-session-per-host': Bool;
  'max-sessions': string;
  'default-profile': string;
  invalid: Bool;
  comment?: string;
  disabled: Bool;
}

export interface FirewallFilter {
  '.id': string;
  chain: string;
  action: string;
  protocol?: string;
  'src-address'?: string;
  'dst-address'?: string;
  'src-address-list'?: string;
  'dst-address-list'?: string;
  'in-interface'?: string;
  'out-interface'?: string;
  'src-port'?: string;
  'dst-port'?: string;
  'connection-state'?: string;
  comment?: string;
  disabled: Bool;
}

export interface AddressListEntry {
  '.id': string;
  list: string;
  address: string;
  timeout?: string;
  comment?: string;
  disabled: Bool;
  dynamic: Bool;
}

export interface SystemRouterboard {
  routerboard: Bool;
  'board-name': string;
  model: string;
  'serial-number'?: string;
  'firmware-type'?: string;
  'current-firmware'?: string;
  'upgrade-firmware'?: string;
}

/** Menus with rows and ids. */
export interface ListMenuRows {
  '/ppp/secret': PppSecret;
  '/ppp/profile': PppProfile;
  '/ppp/active': PppActive;
  '/queue/simple': QueueSimple;
  '/radius': RadiusServer;
  '/ip/pool': IpPool;
  '/ip/address': IpAddress;
  '/ip/service': IpService;
  '/user': RouterUser;
  '/user/group': UserGroup;
  '/interface': EthernetInterface;
  '/interface/pppoe-server/server': PppoeServer;
  '/ip/firewall/filter': FirewallFilter;
  '/ip/firewall/address-list': AddressListEntry;
  '/interface/wireguard': WireguardInterface;
  '/interface/wireguard/peers': WireguardPeer;
}

/** Menus with exactly one row and no id. */
export interface SingletonMenuRows {
  '/system/identity': SystemIdentity;
  '/system/resource': SystemResource;
  '/system/routerboard': SystemRouterboard;
  '/ppp/aaa': PppAaa;
  '/radius/incoming': RadiusIncoming;
}

export type ListMenuPath = keyof ListMenuRows;
export type SingletonMenuPath = keyof SingletonMenuRows;

/** A value a write accepts: text as on the wire, numbers in decimal, booleans as yes/no. */
export type WriteValue = string | number | boolean;

/**
 * What a write accepts: the menu's fields by their API names (plus write-only ones such as
 * `/user password`); unknown names are refused at run time with `unknown parameter`.
 */
export type WriteValues<R> = { [K in Exclude<keyof R, '.id'>]?: WriteValue } & Record<string, WriteValue | undefined>;
