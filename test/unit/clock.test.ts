import { describe, expect, it } from 'vitest';
import { IspctlError } from '../../src/core/errors.js';
import { FixedClock, clockFromEnv, parseTimestamp, systemClock } from '../../src/core/clock.js';

describe('systemClock', () => {
  it('tells the real time', () => {
    const before = Date.now();
    const now = systemClock.now().getTime();
    expect(now).toBeGreaterThanOrEqual(before);
    expect(now).toBeLessThanOrEqual(Date.now());
  });
});

describe('FixedClock', () => {
  it('stands still and hands out fresh Dates', () => {
    const clock = new FixedClock('2026-11-24T08:00:00Z');
    const a = clock.now();
    a.setUTCFullYear(2000);
    expect(clock.now().toISOString()).toBe('2026-11-24T08:00:00.000Z');
  });

  it('starts from a Date or an ISO string with an offset', () => {
    expect(new FixedClock(new Date(Date.UTC(2026, 0, 1))).now().toISOString()).toBe('2026-01-01T00:00:00.000Z');
    expect(new FixedClock('2026-11-24T16:00:00+08:00').now().toISOString()).toBe('2026-11-24T08:00:00.000Z');
    expect(new FixedClock('2026-11-24').now().toISOString()).toBe('2026-11-24T00:00:00.000Z');
  });

  it('can be set and advanced, also backwards', () => {
    const clock = new FixedClock('2026-11-24T08:00:00Z');
    clock.advance({ days: 1, hours: 2, minutes: 3, seconds: 4, ms: 5 });
    expect(clock.now().toISOString()).toBe('2026-11-25T10:03:04.005Z');
    clock.advance({ days: -2 });
    expect(clock.now().toISOString()).toBe('2026-11-23T10:03:04.005Z');
    clock.set('2027-01-01T00:00:00Z');
    expect(clock.now().toISOString()).toBe('2027-01-01T00:00:00.000Z');
    clock.set(new Date(Date.UTC(2027, 5, 1)));
    expect(clock.now().toISOString()).toBe('2027-06-01T00:00:00.000Z');
    expect(clock.advance({}).now().toISOString()).toBe('2027-06-01T00:00:00.000Z');
  });

  it('rejects bad input', () => {
    expect(() => new FixedClock('yesterday')).toThrow(IspctlError);
    expect(() => new FixedClock(new Date('nope'))).toThrow(RangeError);
    expect(() => new FixedClock('2026-11-24T08:00:00Z').advance({ hours: Number.NaN })).toThrow(RangeError);
  });
});

describe('parseTimestamp', () => {
  it('reads ISO 8601 timestamps with a zone', () => {
    expect(parseTimestamp('2026-11-24T08:00:00Z').toISOString()).toBe('2026-11-24T08:00:00.000Z');
    expect(parseTimestamp('2026-11-24T08:00:00.123456Z').toISOString()).toBe('2026-11-24T08:00:00.123Z');
    expect(parseTimestamp('2026-11-24T08:00Z').toISOString()).toBe('2026-11-24T08:00:00.000Z');
    expect(parseTimestamp('2026-11-24T00:30:00-05:00').toISOString()).toBe('2026-11-24T05:30:00.000Z');
    expect(parseTimestamp('2024-02-29').toISOString()).toBe('2024-02-29T00:00:00.000Z');
  });

  it.each(['', 'now', '2026-11-24T08:00:00', '2026-02-30T00:00:00Z', '2026-13-01', '2025-02-29', '2026-11-24T24:00:00Z', '2026-11-24T08:60:00Z', '24/11/2026'])(
    'rejects %j with INVALID_TIMESTAMP',
    (input) => {
      try {
        parseTimestamp(input);
        expect.unreachable();
      } catch (err) {
        expect(err).toBeInstanceOf(IspctlError);
        expect((err as IspctlError).code).toBe('INVALID_TIMESTAMP');
        expect((err as IspctlError).suggestions[0]).toMatch(/2026-11-24T08:00:00Z/);
      }
    },
  );
});

describe('clockFromEnv', () => {
  it('uses the system clock without ISPCTL_NOW', () => {
    expect(clockFromEnv({})).toBe(systemClock);
    expect(clockFromEnv({ ISPCTL_NOW: '' })).toBe(systemClock);
    expect(clockFromEnv({ ISPCTL_NOW: '   ' })).toBe(systemClock);
  });

  it('freezes time at ISPCTL_NOW', () => {
    const clock = clockFromEnv({ ISPCTL_NOW: '2026-11-24T16:00:00+08:00' });
    expect(clock).toBeInstanceOf(FixedClock);
    expect(clock.now().toISOString()).toBe('2026-11-24T08:00:00.000Z');
  });

  it('names ISPCTL_NOW when it is invalid', () => {
    try {
      clockFromEnv({ ISPCTL_NOW: 'tomorrow' });
      expect.unreachable();
    } catch (err) {
      expect((err as IspctlError).code).toBe('INVALID_TIMESTAMP');
      expect((err as IspctlError).message).toContain('ISPCTL_NOW');
      expect((err as IspctlError).exitCode).toBe(2);
    }
  });
});
