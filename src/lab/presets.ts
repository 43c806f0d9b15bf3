// Ready-made lab router configurations.
//
// `brownfield`: a router a person set up by hand over the years, the kind ispctl must take over
// without dropping anyone: PPP profiles with every rate-limit spelling RouterOS accepts, pools,
// a suspension profile with an address list, comments Winbox wrote in cp1252, names that differ
// only in case, shared caller-ids, disabled secrets, static addresses, a few simple queues, live
// sessions, and a few thousand secrets. Deterministic: the same seed gives the same router.
//
// `radius`: the router as a RADIUS client (a `/radius` entry, `/ppp aaa use-radius=yes`,
// `/radius incoming accept=yes`).

import { textFromBytes } from './bytes.js';
import type { LabNas } from './nas.js';
import type { RouterState } from './state.js';

export const PRESETS = ['brownfield'] as const;
export type PresetName = (typeof PRESETS)[number];

export interface BrownfieldOptions {
  /** Generated PPP secrets (besides the hand-made ones). Default 3000. */
  secrets?: number;
  /** Seed of the generator. Default 1. */
  seed?: number;
  /** Live sessions to bring up. Default 40. */
  sessions?: number;
}

export interface PresetSummary {
  preset: PresetName;
  profiles: number;
  pools: number;
  secrets: number;
  disabledSecrets: number;
  queues: number;
  sessions: number;
}

/** mulberry32: a small seeded generator, enough for test data. */
function generator(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A comment as Winbox on a Windows PC writes it: cp1252 bytes (`ñ` is 0xF1), not UTF-8. */
export function winboxComment(text: string): string {
  const bytes = Buffer.alloc(text.length);
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code > 0xff) throw new RangeError(`${JSON.stringify(text)} has a character outside cp1252's Latin-1 range`);
    bytes[i] = code;
  }
  return textFromBytes(bytes);
}

const FIRST = ['juan', 'maria', 'jose', 'ana', 'pedro', 'rosa', 'carlos', 'luz', 'ramon', 'elena', 'miguel', 'nina', 'andres', 'teresa', 'paolo', 'grace'];
const LAST = ['delacruz', 'santos', 'reyes', 'garcia', 'mendoza', 'torres', 'flores', 'ramos', 'navarro', 'pena', 'munoz', 'castillo'];
/** Names as people wrote them in comments, some with ñ/é (written by Winbox in cp1252). */
const DISPLAY_LAST = ['Dela Cruz', 'Santos', 'Reyes', 'García', 'Mendoza', 'Torres', 'Flores', 'Ramos', 'Navarro', 'Peña', 'Muñoz', 'Castillo'];
const PLACES = ['Brgy. San Isidro', 'Purok 3', 'Sitio Malinis', 'Brgy. Niño Jesus', 'Zone 5', 'Poblacion'];

interface ProfileSpec {
  name: string;
  rateLimit?: string;
  local?: string;
  remote?: string;
  onlyOne?: 'yes' | 'no';
  addressList?: string;
  comment?: string;
  /** Share of generated secrets on this profile. */
  weight: number;
}

const POOLS: ReadonlyArray<readonly [string, string, string?]> = [
  ['pool-10m', '10.10.0.2-10.10.15.254'],
  ['pool-5m', '10.20.0.2-10.20.7.254'],
  ['pool-biz', '10.30.0.2-10.30.0.254'],
  ['pool-isolir', '172.16.99.2-172.16.99.254'],
  // An overflow pool chained after pool-5m, as people do when a pool fills up.
  ['pool-5m-b', '10.21.0.2-10.21.3.254'],
];

const PROFILES: readonly ProfileSpec[] = [
  { name: '10M', rateLimit: '10M/10M', local: '10.10.0.1', remote: 'pool-10m', onlyOne: 'yes', comment: 'Paket 10 Mbps', weight: 30 },
  // Upload/download with burst rate, burst threshold and burst time (bare seconds).
  { name: 'paket-5M', rateLimit: '5M/10M 6M/12M 4M/8M 10/10', local: '10.20.0.1', remote: 'pool-5m', weight: 25 },
  { name: 'Home 2M', rateLimit: '512k/2M', local: '10.20.0.1', remote: 'pool-5m', comment: 'old plan, no new customers', weight: 12 },
  { name: 'legacy-4M', rateLimit: '2048k/4096k', local: '10.20.0.1', remote: 'pool-5m', weight: 8 },
  // Bursts, priority and minimum (limit-at) rates.
  { name: 'BIZ-20M', rateLimit: '20M/20M 25M/25M 15M/15M 8s/8s 2 10M/10M', local: '10.30.0.1', remote: 'pool-biz', onlyOne: 'yes', comment: 'Negosyo', weight: 5 },
  // The same plan under a name that differs only in case.
  { name: '10m', rateLimit: '10M/10M', local: '10.10.0.1', remote: 'pool-10m', weight: 5 },
  { name: 'Unlimited', local: '10.10.0.1', remote: 'pool-10m', comment: 'staff', weight: 2 },
  { name: 'isolir', rateLimit: '64k/64k', local: '172.16.99.1', remote: 'pool-isolir', addressList: 'isolir', comment: 'suspended: redirect to payment page', weight: 5 },
];

/**
 * Fill a new lab router like a hand-made brownfield router. With a NAS, the live sessions are
 * dialled through it (so `lab hangup` and accounting know them); without, they are added to
 * `/ppp/active` directly.
 */
export async function applyBrownfieldPreset(state: RouterState, opts: BrownfieldOptions = {}, nas?: LabNas): Promise<PresetSummary> {
  const rnd = generator(opts.seed ?? 1);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(rnd() * items.length)]!;
  const hex = (n: number): string => Array.from({ length: n }, () => Math.floor(rnd() * 16).toString(16)).join('');

  const ports = state.menu('/interface');
  ports.set('ether1', { comment: 'UPLINK ISP' });
  ports.set('ether2', { comment: 'to tower (pppoe)' });
  const addresses = state.menu('/ip/address');
  addresses.add({ address: '203.0.113.10/24', interface: 'ether1', comment: 'uplink' });
  addresses.add({ address: '192.168.88.1/24', interface: 'ether3', comment: 'office LAN' });

  const pools = state.menu('/ip/pool');
  for (const [name, ranges] of POOLS) pools.add({ name, ranges });
  pools.set('pool-5m', { 'next-pool': 'pool-5m-b' });

  const profiles = state.menu('/ppp/profile');
  for (const p of PROFILES) {
    profiles.add({
      name: p.name,
      ...(p.rateLimit ? { 'rate-limit': p.rateLimit } : {}),
      ...(p.local ? { 'local-address': p.local } : {}),
      ...(p.remote ? { 'remote-address': p.remote } : {}),
      ...(p.onlyOne ? { 'only-one': p.onlyOne } : {}),
      ...(p.addressList ? { 'address-list': p.addressList } : {}),
      ...(p.comment ? { comment: p.comment } : {}),
    });
  }
  state.menu('/interface/pppoe-server/server').add({ 'service-name': 'pppoe-tower', interface: 'ether2', 'default-profile': '10M', 'one-session-per-host': 'yes' });

  const filter = state.menu('/ip/firewall/filter');
  filter.add({ chain: 'forward', action: 'drop', 'src-address-list': 'isolir', protocol: 'tcp', 'dst-port': '!80', comment: 'isolir: block all but the payment page' });
  filter.add({ chain: 'input', action: 'accept', 'connection-state': 'established,related' });
  filter.add({ chain: 'input', action: 'drop', 'in-interface': 'ether1', comment: 'drop from internet' });
  state.menu('/ip/firewall/address-list').add({ list: 'isolir', address: '172.16.99.0/24', comment: 'isolir pool' });

  // Secrets: a few made by hand to be awkward, then the generated ones.
  const secrets = state.menu('/ppp/secret');
  const hand: Array<Record<string, string>> = [
    { name: 'Juan', password: 'juan123', profile: '10M', comment: winboxComment('Juan Niño (old account)') },
    { name: 'juan', password: 'juan123', profile: '10M', comment: winboxComment('Juan Niño') },
    { name: 'MARIA.santos', password: 'ms2019', profile: 'paket-5M', 'caller-id': '4C:5E:0C:AA:00:01' },
    { name: 'maria.santos', password: 'ms2021', profile: 'paket-5M', 'caller-id': '4C:5E:0C:AA:00:01', comment: 'same CPE as MARIA.santos' },
    { name: 'kantor-desa', password: 'desa!2020', profile: 'BIZ-20M', 'remote-address': '10.30.1.10', comment: 'Kantor Desa (static)' },
    { name: 'cctv-plaza', password: 'cam', profile: 'BIZ-20M', 'remote-address': '10.30.1.11', service: 'any' },
    { name: 'pedro.old', password: 'x', profile: 'Home 2M', disabled: 'yes', comment: 'moved away 2022' },
    { name: 'rosa.unpaid', password: 'r0sa', profile: 'isolir', comment: winboxComment('Rosa Peña: unpaid since March') },
    { name: 'tech test', password: 'test', profile: 'default', comment: 'technician test account' },
  ];
  for (const h of hand) secrets.add(h);

  const weights = PROFILES.map((p) => p.weight);
  const totalWeight = weights.reduce((a, b) => a + b, 0);
  const pickProfile = (): ProfileSpec => {
    let r = rnd() * totalWeight;
    for (const p of PROFILES) {
      r -= p.weight;
      if (r < 0) return p;
    }
    return PROFILES[0]!;
  };
  const count = opts.secrets ?? 3000;
  const used = new Set(hand.map((h) => h.name));
  let staticHost = 0;
  let sharedMac: string | undefined;
  for (let i = 0; i < count; i++) {
    const first = pick(FIRST);
    const li = Math.floor(rnd() * LAST.length);
    let name = `${first}.${LAST[li]}`;
    for (let n = 2; used.has(name); n++) name = `${first}.${LAST[li]}${n}`;
    used.add(name);
    const profile = pickProfile();
    const row: Record<string, string> = { name, password: hex(8), profile: profile.name, service: rnd() < 0.9 ? 'pppoe' : 'any' };
    const display = `${first[0]!.toUpperCase()}${first.slice(1)} ${DISPLAY_LAST[li]}`;
    const c = rnd();
    if (c < 0.35) row.comment = winboxComment(display);
    else if (c < 0.55) row.comment = `${display.normalize('NFD').replace(/[\u0300-\u036f]/g, '')} - ${pick(PLACES)}`;
    else if (c < 0.6) row.comment = winboxComment(`${display}, ${pick(PLACES)}`);
    if (rnd() < 0.2) {
      const mac = `4C:5E:0C:${hex(2)}:${hex(2)}:${hex(2)}`.toUpperCase();
      // Now and then two secrets carry the same caller-id (a shared or reused CPE).
      row['caller-id'] = sharedMac && rnd() < 0.05 ? sharedMac : mac;
      sharedMac = mac;
    }
    if (rnd() < 0.03) row.disabled = 'yes';
    if (profile.name === 'BIZ-20M' || rnd() < 0.02) {
      const n = staticHost++;
      row['remote-address'] = `10.30.${2 + Math.floor(n / 250)}.${2 + (n % 250)}`;
    }
    secrets.add(row);
  }

  const queues = state.menu('/queue/simple');
  queues.add({ name: 'Kantor Desa', target: '10.30.1.10/32', 'max-limit': '10M/10M', comment: 'static customer, shaped by hand' });
  queues.add({ name: 'CCTV', target: '192.168.88.50/32', 'max-limit': '2M/5M', 'limit-at': '1M/1M' });
  queues.add({ name: 'office', target: '192.168.88.0/24', 'max-limit': '50M/50M', 'burst-limit': '60M/60M', 'burst-threshold': '40M/40M', 'burst-time': '16s/16s' });

  // Live sessions: the first enabled generated secrets, dialled in.
  const wanted = opts.sessions ?? 40;
  let up = 0;
  for (const s of secrets.list()) {
    if (up >= wanted) break;
    if (s.disabled === 'true' || s['caller-id'] || !s.password) continue;
    if (nas) {
      try {
        await nas.dial({ username: s.name, password: s.password });
        up++;
      } catch {
        // A pool or only-one refusal: this one stays offline, as on a real router.
      }
      continue;
    }
    const lookup = state.lookupPppUser(s.name);
    const remote = lookup?.remoteAddress;
    const address = remote === undefined ? undefined : /^\d/.test(remote) ? remote : state.allocatePoolAddress(remote);
    if (!address) continue;
    state.addActiveSession({ name: s.name, address, ...(lookup?.rateLimit ? { rateLimit: lookup.rateLimit } : {}), ...(lookup?.profile['address-list'] ? { addressList: lookup.profile['address-list'] } : {}), callerId: `02:00:00:00:${(up >> 8).toString(16).padStart(2, '0')}:${(up & 255).toString(16).padStart(2, '0')}`.toUpperCase() });
    up++;
  }

  return {
    preset: 'brownfield',
    profiles: profiles.size,
    pools: pools.size,
    secrets: secrets.size,
    disabledSecrets: secrets.find((s) => s.disabled === 'true').length,
    queues: queues.find((q) => q.dynamic !== 'true').length,
    sessions: state.activeSessions().length,
  };
}

export interface RadiusClientOptions {
  /** RADIUS server address. */
  server: string;
  authPort: number;
  acctPort: number;
  secret: string;
  /** `/radius incoming` port for CoA and Disconnect. */
  incomingPort: number;
  /** `/radius src-address` (NAS-IP-Address), when set. */
  srcAddress?: string;
  /** `/ppp aaa interim-update`. Default 5m. */
  interimUpdate?: string;
}

/**
 * Make the router a RADIUS client for PPP: one `/radius` entry for the server (added, or set
 * when one with that address exists), `/ppp aaa use-radius=yes accounting=yes`, and
 * `/radius incoming accept=yes port=…`. Running it again changes nothing.
 */
export function applyRadiusClient(state: RouterState, o: RadiusClientOptions): void {
  const radius = state.menu('/radius');
  const values = {
    service: 'ppp',
    address: o.server,
    secret: o.secret,
    'authentication-port': o.authPort,
    'accounting-port': o.acctPort,
    timeout: '1s',
    ...(o.srcAddress ? { 'src-address': o.srcAddress } : {}),
    comment: 'lab: RADIUS mode',
    disabled: 'no',
  };
  const existing = radius.find((r) => r.address === o.server)[0];
  if (existing) radius.set(existing['.id'], values);
  else radius.add(values);
  state.singleton('/ppp/aaa').set({ 'use-radius': true, accounting: true, 'interim-update': o.interimUpdate ?? '5m' });
  state.singleton('/radius/incoming').set({ accept: true, port: o.incomingPort });
}
