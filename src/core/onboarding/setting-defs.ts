// Settings of the management plane: the WireGuard hub on the ispctl host that routers dial.
import { validateHost } from '../routers/validate.js';
import type { SettingDef } from '../settings/registry.js';
import { formatCidr, parseNetwork } from './ipv4.js';
import { errors } from '../error-catalogue.js';
import { integerSetting } from '../settings/kinds.js';

export const DEFAULT_WIREGUARD_NETWORK = '10.233.0.0/24';
export const DEFAULT_WIREGUARD_PORT = 51820;
export const DEFAULT_WIREGUARD_INTERFACE = 'wg-ispctl';

export interface HubEndpoint {
  host: string;
  /** Undefined: the hub's listen port. */
  port?: number;
}

/**
 * The hub's public endpoint as routers dial it: `host`, `host:port`, `[v6]` or `[v6]:port`.
 * @throws IspctlError INVALID_SETTING_VALUE
 */
export function parseEndpoint(raw: unknown, key = 'wireguard-endpoint'): HubEndpoint {
  const s = String(raw ?? '').trim();
  const bad = (why: string): never => {
    throw errors.settingValue(key, `a host name or IP address with an optional :port from 1 to 65535 (this one ${why})`, s, ['vpn.example.net:51820', '203.0.113.5:51820']);
  };
  let host: string;
  let port: string | undefined;
  const v6 = /^\[([0-9A-Fa-f:.]+)\](?::(\d+))?$/.exec(s);
  if (v6) {
    host = v6[1]!;
    port = v6[2];
  } else {
    const m = /^([^:\s]+)(?::(\d+))?$/.exec(s);
    if (!m) return bad('is not host[:port]');
    host = m[1]!;
    port = m[2];
  }
  let checked: string;
  try {
    checked = validateHost(host, key);
  } catch {
    return bad('does not start with one');
  }
  if (port !== undefined && !(Number(port) >= 1 && Number(port) <= 65535)) bad('has a port outside that range');
  return { host: checked, ...(port !== undefined ? { port: Number(port) } : {}) };
}

export function formatEndpoint(e: HubEndpoint): string {
  const host = e.host.includes(':') ? `[${e.host}]` : e.host;
  return e.port === undefined ? host : `${host}:${e.port}`;
}

export const WIREGUARD_SETTINGS: readonly SettingDef[] = [
  {
    key: 'wireguard-endpoint',
    description: 'WireGuard hub: the public host[:port] routers dial to reach this ispctl host (port default: wireguard-listen-port)',
    type: 'string',
    parse: (raw) => formatEndpoint(parseEndpoint(raw)),
  },
  {
    key: 'wireguard-network',
    description: 'WireGuard hub: the tunnel network (CIDR) routers get their management address from; the hub takes the first address',
    type: 'string',
    default: DEFAULT_WIREGUARD_NETWORK,
    parse: (raw) => formatCidr(parseNetwork(String(raw), 'wireguard-network', { minPrefix: 16, maxPrefix: 29 })),
  },
  integerSetting('wireguard-listen-port', 'WireGuard hub: UDP port the hub listens on', 1, 65535, DEFAULT_WIREGUARD_PORT),
  {
    key: 'wireguard-interface',
    description: 'WireGuard hub: name of the tunnel interface, on this host and on each router (letters, digits, . _ -; at most 15)',
    type: 'string',
    default: DEFAULT_WIREGUARD_INTERFACE,
    parse(raw) {
      const s = String(raw).trim();
      if (!/^[A-Za-z0-9._-]{1,15}$/.test(s)) {
        throw errors.settingValue('wireguard-interface', 'a Linux interface name: 1 to 15 letters, digits, ".", "_" or "-"', raw, DEFAULT_WIREGUARD_INTERFACE);
      }
      return s;
    },
  },
];
