// Address pools: the PPP profile's local address (the router's side of every PPP link) and the
// remote address pool dynamic subscribers get their address from. A plan carries them, or a
// router as the default for plans that do not. The one rule: on one router, no two pools
// overlap, and no subscriber's static IP nor local address lies inside a pool (the pool would
// hand the address to someone else). Checked here, in one place, inside the transaction that
// changed a plan, a router or a service, so every path (plan edit, router edit, subscriber
// add/edit/import, brownfield import) is held to it.
import { isIPv4 } from 'node:net';
import type { Db } from '../db/tx.js';
import { conflict, invalid } from '../errors.js';

/** Parts one pool may have: RouterOS takes more, people rarely need more than a few. */
export const MAX_POOL_PARTS = 32;

/** Name of a plan's pool on a router (the same on every router the plan is used on). */
export function planPoolName(planId: number): string {
  return `ispctl-pool-${planId}`;
}

/** Name of a router's default pool. */
export const ROUTER_POOL_NAME = 'ispctl-pool-default';

export interface AddressRange {
  first: number;
  last: number;
}

export function ipv4ToInt(ip: string): number {
  return ip.split('.').reduce((n, o) => n * 256 + Number(o), 0);
}

export function intToIpv4(n: number): string {
  return [24, 16, 8, 0].map((s) => Math.floor(n / 2 ** s) % 256).join('.');
}

function leadingZero(s: string): boolean {
  return /^\d+(\.\d+){3}$/.test(s) && s.split('.').some((o) => o.length > 1 && o.startsWith('0'));
}

function strictIpv4(s: string): boolean {
  return isIPv4(s) && !s.split('.').some((o) => o.length > 1 && o.startsWith('0'));
}

export function formatRange(r: AddressRange): string {
  return r.first === r.last ? intToIpv4(r.first) : `${intToIpv4(r.first)}-${intToIpv4(r.last)}`;
}

/**
 * The parts of a RouterOS `ranges` value (`a-b`, a single address, or `a.b.c.d/len`, comma
 * separated), or undefined when it does not parse. Lenient: for reading what a router holds.
 */
export function parseRanges(text: string): AddressRange[] | undefined {
  const out: AddressRange[] = [];
  for (const raw of String(text).split(',')) {
    const part = raw.trim();
    if (part === '') return undefined;
    const dash = part.indexOf('-');
    if (dash >= 0) {
      const a = part.slice(0, dash).trim();
      const b = part.slice(dash + 1).trim();
      if (!isIPv4(a) || !isIPv4(b)) return undefined;
      const first = ipv4ToInt(a);
      const last = ipv4ToInt(b);
      if (last < first) return undefined;
      out.push({ first, last });
      continue;
    }
    const m = /^([0-9.]+)(?:\/([0-9]{1,2}))?$/.exec(part);
    if (!m || !isIPv4(m[1]!)) return undefined;
    const len = m[2] === undefined ? 32 : Number(m[2]);
    if (len > 32) return undefined;
    const size = 2 ** (32 - len);
    const base = Math.floor(ipv4ToInt(m[1]!) / size) * size;
    out.push({ first: base, last: base + size - 1 });
  }
  return out;
}

/** Canonical text of a `ranges` value: each part as `first-last`, in the order given. */
export function canonicalRanges(text: string): string | undefined {
  const r = parseRanges(text);
  return r ? r.map(formatRange).join(',') : undefined;
}

function overlaps(a: AddressRange, b: AddressRange): boolean {
  return a.first <= b.last && b.first <= a.last;
}

/**
 * A pool as people type it (`10.10.0.2-10.10.3.254`, several comma-separated, or a prefix
 * `10.10.0.0/22`), validated and written canonically (`first-last,…`). Rejects what RouterOS
 * would reject or silently misread: IPv6, leading zeros, reversed ranges, parts that overlap
 * each other, more than {@link MAX_POOL_PARTS} parts.
 */
export function validatePoolRanges(input: string, field = 'address pool'): string {
  const s = String(input ?? '').trim();
  const shown = JSON.stringify(String(input ?? ''));
  const example = 'Write ranges like 10.10.0.2-10.10.3.254, several separated by commas, or a prefix like 10.10.0.0/22';
  if (s === '') throw invalid('INVALID_POOL', `The ${field} is empty.`, [example], { field, input });
  const parts = s.split(',').map((p) => p.trim());
  if (parts.length > MAX_POOL_PARTS) throw invalid('INVALID_POOL', `The ${field} has ${parts.length} parts; at most ${MAX_POOL_PARTS}.`, ['Join neighbouring ranges into one'], { field, input });
  const ranges: Array<AddressRange & { text: string }> = [];
  for (const part of parts) {
    const bad = (why: string, extra: string[] = []): never => {
      throw invalid('INVALID_POOL', `The ${field} ${shown}: ${part === '' ? 'an empty part' : JSON.stringify(part)} ${why}.`, [...extra, example], { field, input });
    };
    if (part === '') bad('is not a range (two commas in a row?)');
    const dash = part.indexOf('-');
    let r: AddressRange;
    if (dash >= 0) {
      const a = part.slice(0, dash).trim();
      const b = part.slice(dash + 1).trim();
      for (const ip of [a, b]) {
        if (leadingZero(ip)) bad(`has an address with a leading zero (${ip}), which some tools read as octal`);
        if (!isIPv4(ip)) bad(`is not a range of IPv4 addresses (${JSON.stringify(ip)} is not an IPv4 address)`);
      }
      r = { first: ipv4ToInt(a), last: ipv4ToInt(b) };
      if (r.last < r.first) bad('ends before it starts', [`Did you mean ${b}-${a}?`]);
    } else {
      const m = /^([0-9.]+)(?:\/([0-9]{1,2}))?$/.exec(part);
      if (m && leadingZero(m[1]!)) bad('has an address with a leading zero, which some tools read as octal');
      if (!m || !isIPv4(m[1]!)) bad('is not an IPv4 address, range or prefix');
      const len = m![2] === undefined ? 32 : Number(m![2]);
      if (len < 8 || len > 32) bad('has a prefix length outside 8 to 32');
      const size = 2 ** (32 - len);
      const base = Math.floor(ipv4ToInt(m![1]!) / size) * size;
      if (base !== ipv4ToInt(m![1]!)) bad(`is not the start of its /${len} network`, [`Did you mean ${intToIpv4(base)}/${len}?`]);
      r = { first: base, last: base + size - 1 };
    }
    const clash = ranges.find((x) => overlaps(x, r));
    if (clash) throw invalid('INVALID_POOL', `The ${field} ${shown} lists ${clash.text} and ${part}, which overlap.`, ['Give each address once'], { field, input });
    ranges.push({ ...r, text: part });
  }
  return ranges.map(formatRange).join(',');
}

/** The local address of a PPP profile: one IPv4 address. */
export function validateLocalAddress(input: string, field = 'local address'): string {
  const s = String(input ?? '').trim();
  if (!strictIpv4(s)) {
    throw invalid('INVALID_LOCAL_ADDRESS', `The ${field} ${JSON.stringify(String(input ?? ''))} is not an IPv4 address${isIPv4(s) ? ' (no leading zeros)' : ''}.`, [
      "Give the router's side of the PPP links, e.g. --local-address 10.10.0.1 (usually outside the pool)",
    ], { field, input });
  }
  return s;
}

/** Whether `ip` lies inside `ranges` (canonical or RouterOS text). */
export function poolContains(ranges: string, ip: string): boolean {
  if (!isIPv4(ip)) return false;
  const n = ipv4ToInt(ip);
  return (parseRanges(ranges) ?? []).some((r) => r.first <= n && n <= r.last);
}

/** Where a pool or an address comes from, for messages: `plan "Fiber 50"`, `router core1`. */
interface Owned {
  owner: string;
  value: string;
}

/** Checks one plan's own addressing: its local address outside its own pool. */
export function checkOwnAddressing(owner: string, localAddress: string | null, ranges: string | null): void {
  if (localAddress && ranges && poolContains(ranges, localAddress)) {
    throw conflict('ADDRESS_CLASH', `The local address ${localAddress} of ${owner} lies inside its own pool ${ranges}: the pool would give it to a subscriber.`, [
      'Choose a local address outside the pool, e.g. the first address of the network with the pool starting after it',
    ]);
  }
}

/**
 * The rule, checked for each router given: on one router the router's default pool and the
 * pools of the plans its current services use never overlap; no static IP of a current
 * service on it and no local address lies inside one of them. Throws ADDRESS_CLASH naming both
 * values and where each comes from. Three queries whatever the number of routers.
 */
export async function assertRouterAddressing(db: Db, routerIds: Iterable<number>): Promise<void> {
  const ids = [...new Set([...routerIds].map(Number))].filter((n) => Number.isSafeInteger(n) && n > 0);
  if (ids.length === 0) return;
  const routers: Array<{ id: number; name: string; local_address: string | null; pool_ranges: string | null }> = await db('routers')
    .whereIn('id', ids)
    .select('id', 'name', db.raw('host(local_address) as local_address'), 'pool_ranges');
  const plans: Array<{ router_id: number; id: number; name: string; local_address: string | null; pool_ranges: string | null }> = await db('plans as p')
    .join(db('services').distinct('router_id', 'plan_id').whereIn('router_id', ids).whereNull('ended_on').as('u'), 'u.plan_id', 'p.id')
    .where((w) => w.whereNotNull('p.pool_ranges').orWhereNotNull('p.local_address'))
    .select('u.router_id', 'p.id', 'p.name', db.raw('host(p.local_address) as local_address'), 'p.pool_ranges');
  const pools = new Map<number, Array<Owned & { ranges: AddressRange[] }>>();
  const locals = new Map<number, Owned[]>();
  const push = <T>(m: Map<number, T[]>, k: number, v: T) => m.set(k, [...(m.get(k) ?? []), v]);
  for (const r of routers) {
    if (r.pool_ranges) push(pools, Number(r.id), { owner: `router ${r.name}`, value: r.pool_ranges, ranges: parseRanges(r.pool_ranges) ?? [] });
    if (r.local_address) push(locals, Number(r.id), { owner: `router ${r.name}`, value: r.local_address });
  }
  for (const p of plans) {
    if (p.pool_ranges) push(pools, Number(p.router_id), { owner: `plan ${JSON.stringify(p.name)}`, value: p.pool_ranges, ranges: parseRanges(p.pool_ranges) ?? [] });
    if (p.local_address) push(locals, Number(p.router_id), { owner: `plan ${JSON.stringify(p.name)}`, value: p.local_address });
  }
  const routerName = new Map(routers.map((r) => [Number(r.id), r.name]));
  for (const [rid, list] of pools) {
    for (let i = 0; i < list.length; i++) {
      for (let j = i + 1; j < list.length; j++) {
        const a = list[i]!;
        const b = list[j]!;
        const hit = a.ranges.find((x) => b.ranges.some((y) => overlaps(x, y)));
        if (hit) {
          throw conflict('POOL_OVERLAP', `On router ${routerName.get(rid)}, the pool ${a.value} of ${a.owner} overlaps the pool ${b.value} of ${b.owner}: both would hand out the same addresses.`, [
            'Give each plan on a router its own range, or leave the plan without a pool so it uses the router\'s default pool',
          ], { router: routerName.get(rid), pools: [a, b].map((x) => ({ owner: x.owner, ranges: x.value })) });
        }
      }
    }
    for (const l of locals.get(rid) ?? []) {
      const n = ipv4ToInt(l.value);
      const inside = list.find((p) => p.ranges.some((r) => r.first <= n && n <= r.last));
      if (inside) {
        throw conflict('ADDRESS_CLASH', `On router ${routerName.get(rid)}, the local address ${l.value} of ${l.owner} lies inside the pool ${inside.value} of ${inside.owner}.`, [
          'Choose a local address outside every pool on the router',
        ]);
      }
    }
  }
  const rows = await staticClashes(db, pools, locals);
  if (rows) {
    throw conflict('ADDRESS_CLASH', `On router ${routerName.get(rows.routerId)}, the static IP ${rows.ip} of ${rows.username} ${rows.why}.`, [
      'Give the subscriber an address outside every pool on the router, or shrink the pool to leave it out',
    ], { router: routerName.get(rows.routerId), staticIp: rows.ip, username: rows.username });
  }
}

async function staticClashes(
  db: Db,
  pools: Map<number, Array<Owned & { ranges: AddressRange[] }>>,
  locals: Map<number, Owned[]>,
): Promise<{ routerId: number; ip: string; username: string; why: string } | undefined> {
  const clauses: string[] = [];
  const bindings: Array<string | number> = [];
  for (const [rid, list] of pools) {
    for (const p of list) {
      for (const r of p.ranges) {
        clauses.push('(s.router_id = ? and s.static_ip between ?::inet and ?::inet)');
        bindings.push(rid, intToIpv4(r.first), intToIpv4(r.last));
      }
    }
  }
  for (const [rid, list] of locals) {
    for (const l of list) {
      clauses.push('(s.router_id = ? and s.static_ip = ?::inet)');
      bindings.push(rid, l.value);
    }
  }
  if (clauses.length === 0) return undefined;
  const res = await db.raw(
    `select s.username, host(s.static_ip) as ip, s.router_id from services s
      where s.ended_on is null and s.static_ip is not null and (${clauses.join(' or ')})
      order by s.id limit 1`,
    bindings,
  );
  const row = (res.rows ?? res)[0] as { username: string; ip: string; router_id: number } | undefined;
  if (!row) return undefined;
  const rid = Number(row.router_id);
  const n = ipv4ToInt(row.ip);
  const pool = (pools.get(rid) ?? []).find((p) => p.ranges.some((r) => r.first <= n && n <= r.last));
  const local = (locals.get(rid) ?? []).find((l) => l.value === row.ip);
  const why = pool ? `lies inside the pool ${pool.value} of ${pool.owner}` : `is the local address of ${local?.owner ?? 'a profile'}`;
  return { routerId: rid, ip: row.ip, username: row.username, why };
}
