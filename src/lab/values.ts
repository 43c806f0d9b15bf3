// Value syntax of the lab router: ids, booleans, times, rates, addresses and versions, parsed and
// printed the way RouterOS does. Pure functions only.

import { isIPv4, isIPv6 } from 'node:net';

// ---------------------------------------------------------------------------------------------
// Ids

/** `*1A` from 26. */
export function formatId(n: number): string {
  return `*${n.toString(16).toUpperCase()}`;
}

/** 26 from `*1a` or `*1A`; undefined when the text is not an id. */
export function parseId(text: string): number | undefined {
  if (!/^\*[0-9a-fA-F]{1,8}$/.test(text)) return undefined;
  return Number.parseInt(text.slice(1), 16);
}

/** Canonical spelling of an id (`*1a` → `*1A`), or the text unchanged when it is not an id. */
export function normalizeId(text: string): string {
  const n = parseId(text);
  return n === undefined ? text : formatId(n);
}

// ---------------------------------------------------------------------------------------------
// Booleans

/** RouterOS accepts yes/no and true/false on writes; undefined for anything else. */
export function parseBool(text: string): boolean | undefined {
  switch (text.toLowerCase()) {
    case 'yes':
    case 'true':
      return true;
    case 'no':
    case 'false':
      return false;
    default:
      return undefined;
  }
}

/** Booleans print as `true`/`false` over the API. */
export function formatBool(b: boolean): 'true' | 'false' {
  return b ? 'true' : 'false';
}

// ---------------------------------------------------------------------------------------------
// Times

const TIME_UNITS: Record<string, number> = { w: 604_800_000, d: 86_400_000, h: 3_600_000, m: 60_000, s: 1000, ms: 1 };

/**
 * Milliseconds from RouterOS time syntax: `300ms`, `10s`, `1h30m`, `1w2d`, `00:05:00`, `1d00:00:10`
 * or a bare number of seconds. Undefined when the text is not a time.
 */
export function parseTime(text: string): number | undefined {
  const t = text.trim();
  if (t === '') return undefined;
  if (/^\d+(\.\d+)?$/.test(t)) return Math.round(Number(t) * 1000);
  const clock = /^(?:(\d+)d)?(\d{1,2}):(\d{2}):(\d{2})(?:\.(\d{1,3}))?$/.exec(t);
  if (clock) {
    const [, d, h, m, s, frac] = clock;
    return (
      Number(d ?? 0) * TIME_UNITS.d! +
      Number(h) * TIME_UNITS.h! +
      Number(m) * TIME_UNITS.m! +
      Number(s) * 1000 +
      (frac ? Number(frac.padEnd(3, '0')) : 0)
    );
  }
  const re = /(\d+)(ms|w|d|h|m|s)/y;
  let total = 0;
  let at = 0;
  while (at < t.length) {
    re.lastIndex = at;
    const m = re.exec(t);
    if (!m) return undefined;
    total += Number(m[1]) * TIME_UNITS[m[2]!]!;
    at = re.lastIndex;
  }
  return total;
}

/** RouterOS spelling of a duration: `0s`, `300ms`, `5m`, `1w2d3h4m5s`, `1s500ms`. */
export function formatTime(ms: number): string {
  let rest = Math.max(0, Math.round(ms));
  if (rest === 0) return '0s';
  let out = '';
  for (const unit of ['w', 'd', 'h', 'm', 's', 'ms'] as const) {
    const size = TIME_UNITS[unit]!;
    const n = Math.floor(rest / size);
    if (n > 0) {
      out += `${n}${unit}`;
      rest -= n * size;
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Rates

const RATE_UNITS: Record<string, number> = { '': 1, k: 1000, K: 1000, M: 1_000_000, G: 1_000_000_000 };

/** Bits per second from `512k`, `10M`, `1.5M`, `1G` or a bare number. */
export function parseRate(text: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)([kKMG]?)$/.exec(text.trim());
  if (!m) return undefined;
  return Math.round(Number(m[1]) * RATE_UNITS[m[2]!]!);
}

/** `10M/20M` → `10000000/20000000`; a single value applies to both directions. */
export function normalizeRatePair(text: string): string | undefined {
  const parts = text.split('/');
  if (parts.length < 1 || parts.length > 2) return undefined;
  const a = parseRate(parts[0]!);
  const b = parts.length === 2 ? parseRate(parts[1]!) : a;
  if (a === undefined || b === undefined) return undefined;
  return `${a}/${b}`;
}

/** `8s/8s` style pair of times; a single value applies to both directions. */
export function normalizeTimePair(text: string): string | undefined {
  const parts = text.split('/');
  if (parts.length < 1 || parts.length > 2) return undefined;
  const a = parseTime(parts[0]!);
  const b = parts.length === 2 ? parseTime(parts[1]!) : a;
  if (a === undefined || b === undefined) return undefined;
  return `${formatTime(a)}/${formatTime(b)}`;
}

/** The parts of a `Mikrotik-Rate-Limit` / profile `rate-limit` string, as simple queue fields. */
export interface RateLimitQueueFields {
  'max-limit': string;
  'burst-limit'?: string;
  'burst-threshold'?: string;
  'burst-time'?: string;
  'limit-at'?: string;
  priority?: string;
}

/**
 * Parse `rx[/tx] [rx-burst[/tx-burst] [rx-threshold[/tx-threshold] [rx-time[/tx-time]
 * [priority] [rx-min[/tx-min]]]]]`. rx is the subscriber's upload and tx the download, which is
 * also the order of a simple queue's `max-limit`. Undefined when malformed.
 */
export function parseRateLimit(text: string): RateLimitQueueFields | undefined {
  const parts = text.trim().split(/\s+/);
  if (parts.length === 0 || parts.length > 6 || parts[0] === '') return undefined;
  const max = normalizeRatePair(parts[0]!);
  if (!max) return undefined;
  const out: RateLimitQueueFields = { 'max-limit': max };
  if (parts[1] !== undefined) {
    const v = normalizeRatePair(parts[1]);
    if (!v) return undefined;
    out['burst-limit'] = v;
  }
  if (parts[2] !== undefined) {
    const v = normalizeRatePair(parts[2]);
    if (!v) return undefined;
    out['burst-threshold'] = v;
  }
  if (parts[3] !== undefined) {
    const v = normalizeTimePair(parts[3]);
    if (!v) return undefined;
    out['burst-time'] = v;
  }
  if (parts[4] !== undefined) {
    if (!/^[1-8]$/.test(parts[4])) return undefined;
    out.priority = parts[4];
  }
  if (parts[5] !== undefined) {
    const v = normalizeRatePair(parts[5]);
    if (!v) return undefined;
    out['limit-at'] = v;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Addresses

export function isIpAddress(text: string): boolean {
  return isIPv4(text) || isIPv6(text);
}

/** 32-bit unsigned value of a dotted IPv4 address (caller checks validity). */
export function ipv4ToInt(ip: string): number {
  let n = 0;
  for (const part of ip.split('.')) n = n * 256 + Number(part);
  return n >>> 0;
}

export function intToIpv4(n: number): string {
  return [(n >>> 24) & 255, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

export interface Prefix {
  address: string;
  length: number;
  family: 4 | 6;
}

/** `10.0.0.1/24`, `10.0.0.1` (as /32), `2001:db8::/32`. Undefined when malformed. */
export function parsePrefix(text: string): Prefix | undefined {
  const slash = text.indexOf('/');
  const address = slash < 0 ? text : text.slice(0, slash);
  const family = isIPv4(address) ? 4 : isIPv6(address) ? 6 : 0;
  if (family === 0) return undefined;
  const max = family === 4 ? 32 : 128;
  let length = max;
  if (slash >= 0) {
    const lenText = text.slice(slash + 1);
    if (!/^\d{1,3}$/.test(lenText)) return undefined;
    length = Number(lenText);
    if (length > max) return undefined;
  }
  return { address, length, family };
}

/** Network address of an IPv4 prefix (`10.0.0.7/24` → `10.0.0.0`). */
export function ipv4Network(address: string, length: number): string {
  const mask = length === 0 ? 0 : (0xffffffff << (32 - length)) >>> 0;
  return intToIpv4((ipv4ToInt(address) & mask) >>> 0);
}

/** Whether an IPv4 address lies inside `prefix` (`10.0.0.0/8`, or a bare address). */
export function ipv4InPrefix(ip: string, prefix: string): boolean {
  const p = parsePrefix(prefix);
  if (!p || p.family !== 4 || !isIPv4(ip)) return false;
  return ipv4Network(ip, p.length) === ipv4Network(p.address, p.length);
}

/** One `/ip pool` range, inclusive, as 32-bit integers. */
export interface AddressRange {
  first: number;
  last: number;
}

/**
 * Parse pool ranges: comma-separated `a.b.c.d-e.f.g.h`, `a.b.c.d/len` or single addresses.
 * Undefined when any part is malformed or reversed.
 */
export function parseRanges(text: string): AddressRange[] | undefined {
  const out: AddressRange[] = [];
  for (const raw of text.split(',')) {
    const part = raw.trim();
    if (part === '') return undefined;
    const dash = part.indexOf('-');
    if (dash >= 0) {
      const a = part.slice(0, dash);
      const b = part.slice(dash + 1);
      if (!isIPv4(a) || !isIPv4(b)) return undefined;
      const first = ipv4ToInt(a);
      const last = ipv4ToInt(b);
      if (last < first) return undefined;
      out.push({ first, last });
      continue;
    }
    const p = parsePrefix(part);
    if (!p || p.family !== 4) return undefined;
    const base = ipv4ToInt(ipv4Network(p.address, p.length));
    out.push({ first: base, last: base + 2 ** (32 - p.length) - 1 });
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Versions

export interface VersionInfo {
  /** As configured, e.g. `7.18.2`. */
  text: string;
  major: number;
  minor: number;
  patch: number;
}

/** `7.18.2` → {7, 18, 2}; `6.49.x` → {6, 49, 0}. */
export function parseVersion(text: string): VersionInfo {
  const m = /^(\d+)(?:\.(\d+))?(?:\.(\d+))?/.exec(text.trim());
  if (!m) throw new RangeError(`invalid RouterOS version ${JSON.stringify(text)}: expected e.g. 7.18.2 or 6.49.17`);
  return { text: text.trim(), major: Number(m[1]), minor: Number(m[2] ?? 0), patch: Number(m[3] ?? 0) };
}

/** Whether `v` is at least `major.minor.patch`. */
export function versionAtLeast(v: VersionInfo, major: number, minor = 0, patch = 0): boolean {
  if (v.major !== major) return v.major > major;
  if (v.minor !== minor) return v.minor > minor;
  return v.patch >= patch;
}
