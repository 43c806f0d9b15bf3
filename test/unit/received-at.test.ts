// `payment record --received-at`: dates and timestamps are read in the ISP's time zone, and a
// future one is refused in the words it was typed in (not as a UTC instant).
import { describe, expect, it } from 'vitest';
import { IspctlError } from '../../src/core/errors.js';
import { parseReceivedAt } from '../../src/core/payments/service.js';
import { formatLocalDateTime, parseDateTime } from '../../src/core/time.js';

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

  it('reads a date and time without a zone on the ISP wall clock', () => {
    expect(parseReceivedAt('2026-12-01 09:00', TZ, NOW).toISOString()).toBe('2026-12-01T01:00:00.000Z');
    expect(parseReceivedAt('2026-12-01T09:00:30', TZ, NOW).toISOString()).toBe('2026-12-01T01:00:30.000Z');
    expect(parseReceivedAt(' 2026-12-02 00:59 ', TZ, NOW).toISOString()).toBe('2026-12-01T16:59:00.000Z');
    // The same wall time in another ISP's zone is another instant.
    expect(parseReceivedAt('2026-12-01 09:00', 'America/New_York', NOW).toISOString()).toBe('2026-12-01T14:00:00.000Z');
  });

  it('refuses a future wall-clock time as typed', () => {
    const err = refusal('2026-12-02 09:00');
    expect(err.code).toBe('RECEIVED_IN_FUTURE');
    expect(err.message).toBe('The payment cannot have been received at 2026-12-02 09:00 in Asia/Manila: that is still to come (it is 2026-12-02 01:00 there now).');
  });

  it.each([
    ['2026-12-01 9am', 'is not a date, or a date and a time of day'],
    ['01/12/2026 09:00', 'is not a date, or a date and a time of day'],
    ['2026-02-30 09:00', 'is not a real calendar date (2026-02-30)'],
    ['2026-12-01 24:00', 'has no such time of day (24:00;'],
    ['2026-12-01 09:60', 'has no such time of day (09:60;'],
    ['2026-12-01T09:00+25:00', 'has an offset out of range (+25:00)'],
  ])('refuses %j saying what is wrong, the value and the accepted forms', (input, why) => {
    const err = refusal(input);
    expect(err.code).toBe('INVALID_DATE');
    expect(err.exitCode).toBe(2);
    expect(err.message).toContain(`Received at ${JSON.stringify(input)} ${why}`);
    expect(err.suggestions[0]).toBe(
      'Use a day (2026-12-01, from its start), a time on the Asia/Manila clock (2026-12-01 09:00), or a time with its offset (2026-12-01T09:00:00+08:00, 2026-12-01T01:00:00Z)',
    );
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

describe('parseDateTime', () => {
  it('says which form was typed', () => {
    expect(parseDateTime('2026-12-01', TZ)).toEqual({ at: new Date('2026-11-30T16:00:00Z'), form: 'date' });
    expect(parseDateTime('2026-12-01 09:00', TZ)).toEqual({ at: new Date('2026-12-01T01:00:00Z'), form: 'local' });
    expect(parseDateTime('2026-12-01T09:00:00.250', TZ)).toEqual({ at: new Date('2026-12-01T01:00:00.250Z'), form: 'local' });
    expect(parseDateTime('2026-12-01T09:00:00+08:00', TZ)).toEqual({ at: new Date('2026-12-01T01:00:00Z'), form: 'offset' });
    expect(parseDateTime('2026-12-01 09:00Z', TZ)).toEqual({ at: new Date('2026-12-01T09:00:00Z'), form: 'offset' });
    expect(parseDateTime('2026-12-01T09:00-0500', TZ)).toEqual({ at: new Date('2026-12-01T14:00:00Z'), form: 'offset' });
  });

  it('reads a wall time in a daylight-saving gap forward, and one in an overlap as the earlier instant', () => {
    // 02:30 does not happen in New York on 2026-03-08 (clocks go from 02:00 to 03:00).
    expect(parseDateTime('2026-03-08 02:30', 'America/New_York').at.toISOString()).toBe('2026-03-08T07:30:00.000Z');
    // 01:30 happens twice on 2026-11-01: EDT first.
    expect(parseDateTime('2026-11-01 01:30', 'America/New_York').at.toISOString()).toBe('2026-11-01T05:30:00.000Z');
  });
});
