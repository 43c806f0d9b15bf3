// `payment record --received-at`: dates and timestamps are read in the ISP's time zone, and a
// future one is refused in the words it was typed in (not as a UTC instant).
import { describe, expect, it } from 'vitest';
import { IspctlError } from '../../src/core/errors.js';
import { parseReceivedAt } from '../../src/core/payments/service.js';
import { formatLocalDateTime } from '../../src/core/time.js';

const TZ = 'Asia/Manila';
// 01:00 on 2 December in Manila, still 1 December in UTC.
const NOW = new Date('2026-12-01T17:00:00Z');

function refusal(input: string): IspctlError {
  try {
    parseReceivedAt(input, TZ, NOW);
  } catch (err) {
    if (err instanceof IspctlError) return err;
    throw err;
  }
  throw new Error(`${input} was accepted`);
}

describe('parseReceivedAt', () => {
  it('reads a date as the start of that day in the ISP time zone', () => {
    expect(parseReceivedAt('2026-12-02', TZ, NOW).toISOString()).toBe('2026-12-01T16:00:00.000Z');
    expect(parseReceivedAt('2026-11-30T23:30:00+08:00', TZ, NOW).toISOString()).toBe('2026-11-30T15:30:00.000Z');
  });

  it('refuses a future date as typed, with today in the ISP time zone', () => {
    const err = refusal('2026-12-03');
    expect(err.code).toBe('RECEIVED_IN_FUTURE');
    expect(err.message).toBe(`The payment cannot have been received on 2026-12-03: that day has not begun yet in ${TZ} (today there is 2026-12-02).`);
    expect(err.message).not.toMatch(/T\d\d:\d\d:\d\d/);
  });

  it('refuses a future timestamp as typed, with the wall clock of the ISP time zone', () => {
    const err = refusal('2026-12-02T09:00:00+08:00');
    expect(err.code).toBe('RECEIVED_IN_FUTURE');
    expect(err.message).toContain('at 2026-12-02T09:00:00+08:00 (2026-12-02 09:00 in Asia/Manila)');
    expect(err.message).toContain('it is 2026-12-02 01:00 there now');
    expect(err.message).not.toContain('Z');
    // A timestamp typed in UTC is still shown in the ISP's zone beside what was typed.
    expect(refusal('2026-12-02T03:00:00Z').message).toContain('at 2026-12-02T03:00:00Z (2026-12-02 11:00 in Asia/Manila)');
  });
});

describe('formatLocalDateTime', () => {
  it('shows the wall clock of the zone to the minute', () => {
    expect(formatLocalDateTime(new Date('2026-12-01T17:05:59Z'), TZ)).toBe('2026-12-02 01:05');
    expect(formatLocalDateTime(new Date('2026-03-08T07:30:00Z'), 'America/New_York')).toBe('2026-03-08 03:30');
  });
});
