// The clock: injected wherever "now" matters, so tests and demos can travel in time.

import { invalid } from './errors.js';

export interface Clock {
  /** The current instant. Returns a fresh Date each call; callers may mutate it. */
  now(): Date;
  /**
   * How many milliseconds of this clock pass per real millisecond: 1 for the system clock (the
   * default when absent), 0 for a frozen clock, 1440 for a simulation where a day lasts a
   * minute. Schedules that sleep (the daemon) divide their waits by it.
   */
  readonly rate?: number;
}

/** The real clock. */
export const systemClock: Clock = Object.freeze({
  now: (): Date => new Date(),
  rate: 1,
});

/**
 * A clock that starts at an instant and moves at `speed` times real time: for simulations
 * (a month of billing days through one running daemon). `anchorMs` is the real instant at which
 * it shows `start` (default: when it is made); processes given the same anchor agree on "now".
 */
export class MovingClock implements Clock {
  readonly rate: number;
  readonly #startMs: number;
  readonly #anchorMs: number;
  readonly #realNow: () => number;

  constructor(start: Date | string, speed = 1, opts: { anchorMs?: number; realNow?: () => number } = {}) {
    const ms = typeof start === 'string' ? parseTimestamp(start, 'clock start').getTime() : start.getTime();
    if (!Number.isFinite(ms)) throw new RangeError('MovingClock needs a valid start');
    if (!Number.isFinite(speed) || speed <= 0) throw new RangeError(`MovingClock speed must be a positive number, got ${String(speed)}`);
    this.rate = speed;
    this.#startMs = ms;
    this.#realNow = opts.realNow ?? Date.now;
    this.#anchorMs = opts.anchorMs ?? this.#realNow();
  }

  now(): Date {
    return new Date(this.#startMs + Math.round((this.#realNow() - this.#anchorMs) * this.rate));
  }
}

/** The clock's rate (see {@link Clock.rate}). */
export function clockRate(clock: Clock): number {
  return clock.rate ?? 1;
}

export interface ClockAdvance {
  days?: number;
  hours?: number;
  minutes?: number;
  seconds?: number;
  ms?: number;
}

const MS = { days: 86_400_000, hours: 3_600_000, minutes: 60_000, seconds: 1_000, ms: 1 } as const;

/**
 * Parses an ISO 8601 timestamp. Date-times must carry `Z` or an offset, so the instant does not
 * depend on the machine's time zone; a bare date (`2026-11-24`) means midnight UTC.
 * @throws IspctlError INVALID_TIMESTAMP
 */
export function parseTimestamp(input: string, field = 'timestamp'): Date {
  const ms = typeof input === 'string' ? isoToMs(input.trim()) : undefined;
  if (ms === undefined) {
    throw invalid(
      'INVALID_TIMESTAMP',
      `${field.charAt(0).toUpperCase()}${field.slice(1)} ${JSON.stringify(String(input))} is not an ISO 8601 timestamp with a time zone.`,
      ['Use a form like 2026-11-24T08:00:00Z or 2026-11-24T16:00:00+08:00'],
      { field, input },
    );
  }
  return new Date(ms);
}

const ISO_TIMESTAMP =
  /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?(Z|([+-])(\d{2}):?(\d{2})))?$/i;

/** Strict ISO 8601 (calendar dates only); out-of-range fields are rejected, not rolled over. */
function isoToMs(s: string): number | undefined {
  const m = ISO_TIMESTAMP.exec(s);
  if (!m) return undefined;
  const [, y, mo, d, h, mi, sec, frac, zone, sign, oh, om] = m;
  const year = Number(y);
  const month = Number(mo);
  const day = Number(d);
  if (month < 1 || month > 12 || day < 1 || day > monthLength(year, month)) return undefined;
  if (h !== undefined && zone === undefined) return undefined; // a date-time needs Z or an offset
  const hour = Number(h ?? 0);
  const minute = Number(mi ?? 0);
  const second = Number(sec ?? 0);
  const millis = Number((frac ?? '').slice(0, 3).padEnd(3, '0'));
  if (hour > 23 || minute > 59 || second > 59) return undefined;
  let offsetMinutes = 0;
  if (sign !== undefined) {
    if (Number(oh) > 23 || Number(om) > 59) return undefined;
    offsetMinutes = (sign === '-' ? -1 : 1) * (Number(oh) * 60 + Number(om));
  }
  const date = new Date(0);
  date.setUTCFullYear(year, month - 1, day);
  date.setUTCHours(hour, minute, second, millis);
  const ms = date.getTime() - offsetMinutes * 60_000;
  return Number.isFinite(ms) ? ms : undefined;
}

function monthLength(year: number, month: number): number {
  if (month === 2) return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28;
  return [4, 6, 9, 11].includes(month) ? 30 : 31;
}

/**
 * A clock that stands still until told otherwise. For tests, and for the demo through
 * `ISPCTL_NOW` (see {@link clockFromEnv}).
 */
export class FixedClock implements Clock {
  readonly rate = 0;
  #ms: number;

  constructor(start: Date | string) {
    this.#ms = FixedClock.#toMs(start);
  }

  now(): Date {
    return new Date(this.#ms);
  }

  /** Moves the clock to an instant. */
  set(to: Date | string): this {
    this.#ms = FixedClock.#toMs(to);
    return this;
  }

  /**
   * Moves the clock by a duration (negative values go back). A day is exactly 24 hours of
   * elapsed time, not a calendar day in some time zone.
   */
  advance(by: ClockAdvance): this {
    let delta = 0;
    for (const unit of Object.keys(MS) as Array<keyof typeof MS>) {
      const n = by[unit];
      if (n === undefined) continue;
      if (!Number.isFinite(n)) throw new RangeError(`advance: ${unit} must be a finite number, got ${String(n)}`);
      delta += n * MS[unit];
    }
    const next = this.#ms + Math.round(delta);
    if (Number.isNaN(new Date(next).getTime())) throw new RangeError('advance: the result is out of the range of Date');
    this.#ms = next;
    return this;
  }

  static #toMs(d: Date | string): number {
    const ms = typeof d === 'string' ? parseTimestamp(d, 'clock time').getTime() : d instanceof Date ? d.getTime() : NaN;
    if (!Number.isFinite(ms)) throw new RangeError('FixedClock needs a valid Date or ISO 8601 timestamp');
    return ms;
  }
}

/**
 * The clock to use for a process, from the environment:
 *
 * - `ISPCTL_NOW=2026-11-24T08:00:00+08:00`: a {@link FixedClock}; every command of the process
 *   sees the same frozen "now" (end-to-end tests, the demo).
 * - `ISPCTL_NOW=2026-11-01T00:00:00+08:00@x1440`, or `ISPCTL_CLOCK_START=…` with
 *   `ISPCTL_CLOCK_SPEED=1440`: a {@link MovingClock} that starts there and runs 1440 times as fast
 *   as real time (a day a minute). `ISPCTL_CLOCK_ANCHOR` (an ISO timestamp of real time) is the
 *   real instant at which it showed the start, so several processes share one timeline; without
 *   it each process starts the clock when it starts.
 * - Otherwise the system clock.
 *
 * Meant for tests, demos and simulations only. Do not set these in production.
 *
 * @throws IspctlError INVALID_TIMESTAMP or INVALID_CLOCK_SPEED when a variable is malformed
 */
export function clockFromEnv(env: Readonly<Record<string, string | undefined>> = process.env): Clock {
  const raw = env.ISPCTL_NOW?.trim();
  let start: string | undefined;
  let speed: string | undefined;
  if (raw) {
    const at = raw.lastIndexOf('@');
    if (at < 0) return new FixedClock(parseTimestamp(raw, 'ISPCTL_NOW'));
    start = raw.slice(0, at);
    speed = raw.slice(at + 1).replace(/^x/i, '');
  } else if (env.ISPCTL_CLOCK_START?.trim()) {
    start = env.ISPCTL_CLOCK_START.trim();
    speed = env.ISPCTL_CLOCK_SPEED?.trim() || '1';
  } else {
    return systemClock;
  }
  const rate = Number(speed);
  if (!/^\d+(\.\d+)?$/.test(speed) || !(rate > 0) || rate > 1e9) {
    throw invalid('INVALID_CLOCK_SPEED', `Clock speed ${JSON.stringify(speed)} is not a positive number.`, [
      'Use e.g. ISPCTL_NOW=2026-11-01T00:00:00+08:00@x1440 (a day a minute), or ISPCTL_CLOCK_SPEED=1440',
    ]);
  }
  const anchor = env.ISPCTL_CLOCK_ANCHOR?.trim();
  return new MovingClock(parseTimestamp(start, raw ? 'ISPCTL_NOW' : 'ISPCTL_CLOCK_START'), rate, anchor ? { anchorMs: parseTimestamp(anchor, 'ISPCTL_CLOCK_ANCHOR').getTime() } : {});
}
