// Line speeds. ispctl stores every speed as a whole number of kbit/s, where 1M = 1000k and
// 1G = 1000M, as RouterOS counts. People type `50Mbps`, `50M`, `50 Mbit/s`, `512k`, `1.5G`;
// RouterOS wants `50M` or `1500k` (whole numbers with k or M); MikroTik rate limits are written
// from the router's point of view, rx (the subscriber's upload) first.

import { invalid } from './errors.js';

/** The largest speed ispctl accepts: 100 Gbit/s, in kbit/s. */
export const MAX_KBPS = 100_000_000;

const PREFIX_KBPS: Record<string, number> = { '': 0, k: 1, m: 1000, g: 1_000_000 };
/** Decimal places a prefix can carry and still name a whole number of kbit/s. */
const PREFIX_DECIMALS: Record<string, number> = { k: 0, m: 3, g: 6 };

const BIT_SUFFIXES = new Set(['', 'b', 'bps', 'bit/s', 'bits/s', 'b/s', 'bit', 'bits', 'ps']);
/** Byte units: an upper-case B (except all-caps BPS, which people write for bits), or `byte`. */
const BYTE_SUFFIX = /^(B|Bps|B\/s|[Bb]ytes?(\/s)?)$/;

function speedExample(field: string): string {
  return `Give the ${field} with a unit: 50M (50 Mbit/s), 512k (512 kbit/s) or 1.5G`;
}

/**
 * Parses a speed as people type it into kbit/s.
 *
 * Accepted: a number (whole, or with decimals when they still make whole kbit/s) followed by a
 * unit prefix `k`, `M` or `G` (any case), optionally followed by `bps`, `bit/s`, `bits/s`, `b/s`
 * or `ps`, with or without a space: `50M`, `50Mbps`, `50 Mbit/s`, `512k`, `512kbps`, `1.5G`,
 * `1.5M` (1500 kbit/s). Plain bits per second are accepted when they make whole kbit/s
 * (`512000bps`).
 *
 * Rejected with INVALID_SPEED: a bare number (`100`: ambiguous, say `100M` or `100k`), bytes
 * (`50MB/s`, `50MBps`), zero, negatives, fractions of a kbit/s (`1.5k`), and more than
 * {@link MAX_KBPS}.
 */
export function parseSpeed(input: string, opts: { field?: string } = {}): number {
  const field = opts.field ?? 'speed';
  const shown = JSON.stringify(String(input));
  const fail = (why: string, suggestions: string[] = []): never => {
    throw invalid('INVALID_SPEED', `${capitalize(field)} ${shown} ${why}.`, [...suggestions, speedExample(field)], { field, input });
  };
  if (typeof input !== 'string' || input.trim() === '') {
    throw invalid('INVALID_SPEED', `${capitalize(field)} is empty.`, [speedExample(field)], { field, input });
  }
  const s = input.trim();
  const m = /^([+-]?)([0-9]+(?:[.,][0-9]+)?|[.,][0-9]+)\s*([kKmMgG]?)\s*(.*)$/.exec(s);
  if (!m) return fail('is not a speed');
  const [, sign, number = '', prefixRaw = '', suffix = ''] = m;
  if (number.includes(',')) return fail('uses a comma', ['Use a dot for decimals, e.g. 1.5M']);
  const prefix = prefixRaw.toLowerCase();
  if (BYTE_SUFFIX.test(suffix)) {
    const unit = prefix === '' ? '' : prefix === 'k' ? 'k' : prefix.toUpperCase();
    return fail('is in bytes per second, but speeds here are in bits per second', [
      unit ? `In bits per second that is ${eightTimes(number)}${unit} (8 bits to a byte)` : 'Multiply by 8 for bits per second',
      'Write bits with a lower-case b, e.g. 50Mbps',
    ]);
  }
  if (!BIT_SUFFIXES.has(suffix.toLowerCase())) {
    return fail(`has an unknown unit ${JSON.stringify(suffix)}`, ['Units are k, M and G, optionally followed by bps or bit/s']);
  }
  if (sign === '-') return fail('is negative');
  if (prefix === '' && suffix === '') {
    return fail('has no unit', [`Did you mean ${number}M (${number} Mbit/s) or ${number}k (${number} kbit/s)?`]);
  }
  const [whole = '', frac = ''] = number.split('.');
  let kbps: number;
  if (prefix === '') {
    // plain bits per second
    if (frac !== '') return fail('has a fraction of a bit per second');
    const bits = BigInt(whole || '0');
    if (bits % 1000n !== 0n) return fail('is not a whole number of kbit/s', [`Round it to a multiple of 1000 bps, e.g. ${(bits / 1000n) * 1000n || 1000n}bps`]);
    kbps = bits / 1000n > BigInt(MAX_KBPS) ? Infinity : Number(bits / 1000n);
  } else {
    const decimals = PREFIX_DECIMALS[prefix]!;
    const trimmedFrac = frac.replace(/0+$/, '');
    if (trimmedFrac.length > decimals) {
      return fail(
        prefix === 'k' ? 'has a fraction of a kbit/s, the smallest step ispctl and RouterOS use' : `has more decimals than whole kbit/s allow`,
        [prefix === 'k' ? `Round to a whole number, e.g. ${Math.round(Number(`${whole || '0'}.${frac}`))}k` : `Use at most ${decimals} decimal places with ${prefixRaw.toUpperCase()}`],
      );
    }
    if (whole.length > 12) return fail(`is more than the largest speed, ${formatSpeed(MAX_KBPS)}`);
    kbps = Number(whole || '0') * PREFIX_KBPS[prefix]! + Number(trimmedFrac.padEnd(decimals, '0') || '0');
  }
  if (kbps === 0) return fail('is zero; a speed must be more than 0');
  if (kbps > MAX_KBPS) return fail(`is more than the largest speed, ${formatSpeed(MAX_KBPS)}`);
  return kbps;
}

function eightTimes(number: string): string {
  const n = Number(number.replace(',', '.'));
  return String(Math.round(n * 8 * 1000) / 1000);
}

function assertKbps(kbps: number, what = 'speed'): void {
  if (!Number.isSafeInteger(kbps) || kbps <= 0) throw new RangeError(`${what} must be a positive whole number of kbit/s, got ${String(kbps)}`);
}

/**
 * A speed for people, the shortest form {@link parseSpeed} reads back to the same value:
 * `50M`, `1.5M`, `512k`, `1G`, `2.5G`, `1234k`.
 */
export function formatSpeed(kbps: number): string {
  assertKbps(kbps);
  if (kbps >= 1_000_000 && (kbps % 1_000_000 === 0 || kbps % 100_000 === 0)) return `${trimDecimal(kbps / 1_000_000)}G`;
  if (kbps >= 1000 && kbps % 10 === 0) return `${trimDecimal(kbps / 1000)}M`;
  return `${kbps}k`;
}

function trimDecimal(n: number): string {
  // n has at most 3 decimals by construction; toFixed avoids binary noise.
  return n.toFixed(3).replace(/\.?0+$/, '');
}

/** A speed as RouterOS rate strings take it: a whole number with `M` when it divides, else `k`. */
export function toRouterOSRate(kbps: number): string {
  assertKbps(kbps);
  return kbps % 1000 === 0 ? `${kbps / 1000}M` : `${kbps}k`;
}

/**
 * Reads one RouterOS rate as the router prints it (`50M`, `1500k`, `1G`, `10000000` in bits per
 * second, `0` for unlimited) into kbit/s; 0 means no limit. Undefined when it is not a rate.
 */
export function parseRouterOSRate(value: string): number | undefined {
  const m = /^([0-9]+)([kKMG]?)$/.exec(value.trim());
  if (!m) return undefined;
  const n = Number(m[1]);
  switch (m[2]) {
    case 'k':
    case 'K':
      return n;
    case 'M':
      return n * 1000;
    case 'G':
      return n * 1_000_000;
    default:
      return n % 1000 === 0 ? n / 1000 : Math.round(n / 1000);
  }
}

/** Burst settings of a rate limit, each direction from the subscriber's side. */
export interface RateLimitBurst {
  downloadKbps: number;
  uploadKbps: number;
  thresholdDownloadKbps: number;
  thresholdUploadKbps: number;
  /** Averaging window in seconds, both directions. */
  timeSeconds: number;
}

export interface RateLimitInput {
  downloadKbps: number;
  uploadKbps: number;
  burst?: RateLimitBurst | null;
}

/**
 * The `Mikrotik-Rate-Limit` / PPP profile `rate-limit` string. RouterOS reads it from the router's
 * side, rx first: rx is what the router receives from the subscriber, their **upload**; tx is
 * their **download**. `{download: 50M, upload: 10M}` → `10M/50M`. With burst:
 * `rx/tx rx-burst/tx-burst rx-threshold/tx-threshold rx-time/tx-time`, e.g.
 * `10M/50M 20M/100M 8M/40M 8/8`.
 */
export function mikrotikRateLimit(r: RateLimitInput): string {
  assertKbps(r.downloadKbps, 'download');
  assertKbps(r.uploadKbps, 'upload');
  const pair = (up: number, down: number) => `${toRouterOSRate(up)}/${toRouterOSRate(down)}`;
  const base = pair(r.uploadKbps, r.downloadKbps);
  const b = r.burst;
  if (!b) return base;
  assertKbps(b.downloadKbps, 'burst download');
  assertKbps(b.uploadKbps, 'burst upload');
  assertKbps(b.thresholdDownloadKbps, 'burst threshold download');
  assertKbps(b.thresholdUploadKbps, 'burst threshold upload');
  if (!Number.isSafeInteger(b.timeSeconds) || b.timeSeconds <= 0) throw new RangeError(`burst time must be a positive whole number of seconds, got ${String(b.timeSeconds)}`);
  return `${base} ${pair(b.uploadKbps, b.downloadKbps)} ${pair(b.thresholdUploadKbps, b.thresholdDownloadKbps)} ${b.timeSeconds}/${b.timeSeconds}`;
}

/** Parsed form of a MikroTik rate limit (the fields ispctl writes), or undefined. */
export function parseMikrotikRateLimit(value: string): RateLimitInput | undefined {
  const parts = value.trim().split(/\s+/);
  if (parts.length === 0 || parts[0] === '') return undefined;
  const pair = (p: string | undefined, rate: (s: string) => number | undefined): [number, number] | undefined => {
    if (p === undefined) return undefined;
    const [a, b = a] = p.split('/');
    const x = rate(a!);
    const y = rate(b!);
    return x === undefined || y === undefined ? undefined : [x, y];
  };
  const base = pair(parts[0], parseRouterOSRate);
  if (!base) return undefined;
  const out: RateLimitInput = { uploadKbps: base[0], downloadKbps: base[1] };
  if (parts.length >= 4) {
    const burst = pair(parts[1], parseRouterOSRate);
    const thr = pair(parts[2], parseRouterOSRate);
    const time = pair(parts[3], (s) => (/^[0-9]+s?$/.test(s) ? Number.parseInt(s, 10) : undefined));
    if (!burst || !thr || !time) return undefined;
    if (burst[0] > 0 || burst[1] > 0) {
      out.burst = { uploadKbps: burst[0], downloadKbps: burst[1], thresholdUploadKbps: thr[0], thresholdDownloadKbps: thr[1], timeSeconds: time[0] };
    }
  } else if (parts.length > 1) {
    return undefined;
  }
  return out;
}

/** A simple queue's `max-limit`: upload/download from the subscriber's side (`10M/50M`). */
export function simpleQueueMaxLimit(r: { downloadKbps: number; uploadKbps: number }): string {
  return `${toRouterOSRate(r.uploadKbps)}/${toRouterOSRate(r.downloadKbps)}`;
}

function capitalize(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}
