import { describe, expect, test } from 'vitest';
import { clockFromEnv, clockRate, FixedClock, MovingClock, systemClock } from '../../src/core/clock.js';

describe('the simulation clock', () => {
  test('starts at an instant and moves at its speed', () => {
    let real = 1_000_000;
    const c = new MovingClock('2026-11-01T00:00:00+08:00', 1440, { realNow: () => real });
    expect(c.now().toISOString()).toBe('2026-10-31T16:00:00.000Z');
    real += 60_000; // a real minute is a simulated day
    expect(c.now().toISOString()).toBe('2026-11-01T16:00:00.000Z');
    expect(clockRate(c)).toBe(1440);
  });

  test('an anchor lets several processes share one timeline', () => {
    const anchor = Date.parse('2026-01-01T00:00:00Z');
    const c = new MovingClock('2026-11-01T00:00:00Z', 2, { anchorMs: anchor, realNow: () => anchor + 1000 });
    expect(c.now().toISOString()).toBe('2026-11-01T00:00:02.000Z');
  });

  test('from the environment: frozen, moving, or the system clock', () => {
    expect(clockFromEnv({ ISPCTL_NOW: '2026-11-24T08:00:00+08:00' })).toBeInstanceOf(FixedClock);
    expect(clockRate(clockFromEnv({ ISPCTL_NOW: '2026-11-24T08:00:00+08:00' }))).toBe(0);
    const m = clockFromEnv({ ISPCTL_NOW: '2026-11-01T00:00:00+08:00@x1440' });
    expect(m).toBeInstanceOf(MovingClock);
    expect(clockRate(m)).toBe(1440);
    expect(Math.abs(m.now().getTime() - Date.parse('2026-10-31T16:00:00Z'))).toBeLessThan(1440 * 5_000);
    expect(clockRate(clockFromEnv({ ISPCTL_CLOCK_START: '2026-11-01T00:00:00Z', ISPCTL_CLOCK_SPEED: '60' }))).toBe(60);
    expect(clockRate(clockFromEnv({ ISPCTL_CLOCK_START: '2026-11-01T00:00:00Z' }))).toBe(1);
    expect(clockFromEnv({})).toBe(systemClock);
    expect(() => clockFromEnv({ ISPCTL_NOW: '2026-11-01T00:00:00Z@xfast' })).toThrow(/Clock speed "fast"/);
    expect(() => clockFromEnv({ ISPCTL_NOW: '2026-11-01T00:00:00Z@x0' })).toThrow(/positive/);
  });
});
