// IPv4 networks for the management plane: parsing CIDR, overlap, picking free host addresses.
import { invalid } from '../errors.js';

export interface Ipv4Network {
  /** Network address as an unsigned 32-bit number. */
  base: number;
  prefix: number;
}

export function parseIpv4(text: string): number | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(text.trim());
  if (!m) return undefined;
  const o = m.slice(1).map((x) => (String(Number(x)) === x ? Number(x) : NaN));
  if (o.some((x) => !(x >= 0 && x <= 255))) return undefined;
  return ((o[0]! << 24) >>> 0) + (o[1]! << 16) + (o[2]! << 8) + o[3]!;
}

export function formatIpv4(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

function maskOf(prefix: number): number {
  return prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
}

/** `a.b.c.d/p` or `a.b.c.d` (a /32), as the network it belongs to; undefined when malformed. */
export function parseCidrLoose(text: string): (Ipv4Network & { address: number }) | undefined {
  const [addr, pre, extra] = text.trim().split('/');
  if (extra !== undefined) return undefined;
  const address = parseIpv4(addr ?? '');
  if (address === undefined) return undefined;
  const prefix = pre === undefined ? 32 : /^\d{1,2}$/.test(pre) && Number(pre) <= 32 ? Number(pre) : NaN;
  if (Number.isNaN(prefix)) return undefined;
  return { base: (address & maskOf(prefix)) >>> 0, prefix, address };
}

/**
 * A network written exactly (no host bits set), for settings.
 * @throws IspctlError INVALID_NETWORK
 */
export function parseNetwork(text: string, field: string, opts: { minPrefix?: number; maxPrefix?: number } = {}): Ipv4Network {
  const s = String(text ?? '').trim();
  const n = parseCidrLoose(s);
  const minPrefix = opts.minPrefix ?? 8;
  const maxPrefix = opts.maxPrefix ?? 30;
  if (!n || !s.includes('/')) throw invalid('INVALID_NETWORK', `The ${field} ${JSON.stringify(s)} is not an IPv4 network in CIDR form such as 10.233.0.0/24.`, [], { field, input: s });
  if (n.base !== n.address) {
    throw invalid('INVALID_NETWORK', `The ${field} ${s} has host bits set; the network is ${formatCidr(n)}.`, [`Use ${formatCidr(n)}`], { field, input: s });
  }
  if (n.prefix < minPrefix || n.prefix > maxPrefix) {
    throw invalid('INVALID_NETWORK', `The ${field} ${s} must have a prefix from /${minPrefix} to /${maxPrefix}.`, [], { field, input: s });
  }
  return { base: n.base, prefix: n.prefix };
}

export function formatCidr(n: Ipv4Network): string {
  return `${formatIpv4(n.base)}/${n.prefix}`;
}

export function lastAddress(n: Ipv4Network): number {
  return (n.base + 2 ** (32 - n.prefix) - 1) >>> 0;
}

export function overlaps(a: Ipv4Network, b: Ipv4Network): boolean {
  return a.base <= lastAddress(b) && b.base <= lastAddress(a);
}

export function contains(n: Ipv4Network, address: number): boolean {
  return address >= n.base && address <= lastAddress(n);
}

/** The first usable host address of a network (the hub's address in the tunnel network). */
export function firstHost(n: Ipv4Network): number {
  return n.prefix >= 31 ? n.base : n.base + 1;
}

/**
 * The lowest host address of `n` that is not taken and lies outside every `avoid` network;
 * undefined when the network is full.
 */
export function pickFreeAddress(n: Ipv4Network, taken: Iterable<number>, avoid: Ipv4Network[] = []): number | undefined {
  const used = new Set(taken);
  const last = lastAddress(n);
  const start = firstHost(n);
  const end = n.prefix >= 31 ? last : last - 1;
  for (let a = start; a <= end; a++) {
    if (used.has(a)) continue;
    const clash = avoid.find((x) => contains(x, a));
    if (clash) {
      a = lastAddress(clash);
      continue;
    }
    return a;
  }
  return undefined;
}
