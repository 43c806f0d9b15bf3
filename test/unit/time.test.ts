import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { IspctlError } from '../../src/core/errors.js';
import {
  addDays,
  addMonths,
  assertBillingDay,
  assertTimeZone,
  billingPeriodFor,
  compareLocalDate,
  daysInMonth,
  diffDays,
  formatLocalDate,
  isValidLocalDate,
  isValidTimeZone,
  parseLocalDate,
  periodFromKey,
  startOfDay,
  toLocalDate,
  zonedDateTimeToInstant,
  type LocalDate,
} from '../../src/core/time.js';

const d = (s: string): LocalDate => parseLocalDate(s);
const iso = (date: Date): string => date.toISOString();

function caught(fn: () => unknown): IspctlError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(IspctlError);
    return err as IspctlError;
  }
  throw new Error('expected an IspctlError');
}

describe('time zones', () => {
  it.each(['Asia/Manila', 'America/New_York', 'Europe/Berlin', 'UTC', 'Etc/UTC', 'Asia/Kolkata', 'Asia/Calcutta', 'US/Eastern', 'America/Argentina/Buenos_Aires', 'Etc/GMT+8'])(
    'accepts %s',
    (tz) => {
      expect(isValidTimeZone(tz)).toBe(true);
      expect(assertTimeZone(tz)).toBe(tz);
    },
  );

  it.each([
    ['asia/manila', 'Asia/Manila'],
    ['utc', 'UTC'],
    ['Manila', 'Asia/Manila'],
    ['Asia/Manilla', 'Asia/Manila'],
    ['new york', 'America/New_York'],
    ['+08:00', undefined],
    ['Mars/Olympus', undefined],
    ['', undefined],
    ['Asia/Manila ', 'Asia/Manila'],
  ])('rejects %j with INVALID_TIME_ZONE', (tz, suggestion) => {
    expect(isValidTimeZone(tz)).toBe(false);
    const err = caught(() => assertTimeZone(tz));
    expect(err.code).toBe('INVALID_TIME_ZONE');
    expect(err.message).toContain(JSON.stringify(tz));
    if (suggestion) expect(err.suggestions[0]).toContain(suggestion);
    expect(err.suggestions.at(-1)).toContain('Asia/Manila');
  });

  it('functions that take a zone validate it', () => {
    expect(caught(() => toLocalDate(new Date(), 'Nowhere/City')).code).toBe('INVALID_TIME_ZONE');
    expect(caught(() => startOfDay(d('2026-11-24'), 'asia/manila')).code).toBe('INVALID_TIME_ZONE');
  });
});

describe('local dates', () => {
  it('parses strictly', () => {
    expect(parseLocalDate('2026-11-24')).toEqual({ year: 2026, month: 11, day: 24 });
    expect(parseLocalDate('2024-02-29')).toEqual({ year: 2024, month: 2, day: 29 });
    for (const bad of ['', '2026-11-31', '2025-02-29', '2026-13-01', '2026-00-10', '2026-1-5', '26-11-24', '2026/11/24', '2026-11-24T00:00', 'today', '0000-01-01']) {
      const err = caught(() => parseLocalDate(bad));
      expect(err.code).toBe('INVALID_DATE');
      expect(err.suggestions).toContain('Use YYYY-MM-DD, e.g. 2026-11-24');
    }
    expect(caught(() => parseLocalDate('x', 'due date')).message).toBe('Due date "x" is not a date in the form YYYY-MM-DD.');
  });

  it('formats with zero padding', () => {
    expect(formatLocalDate({ year: 2026, month: 1, day: 5 })).toBe('2026-01-05');
    expect(formatLocalDate({ year: 987, month: 12, day: 31 })).toBe('0987-12-31');
    expect(() => formatLocalDate({ year: 2026, month: 2, day: 30 })).toThrow(RangeError);
  });

  it('knows month lengths', () => {
    expect(daysInMonth(2026, 1)).toBe(31);
    expect(daysInMonth(2026, 2)).toBe(28);
    expect(daysInMonth(2024, 2)).toBe(29);
    expect(daysInMonth(2000, 2)).toBe(29);
    expect(daysInMonth(1900, 2)).toBe(28);
    expect(daysInMonth(2026, 4)).toBe(30);
    expect(daysInMonth(2026, 12)).toBe(31);
    expect(() => daysInMonth(2026, 13)).toThrow(RangeError);
  });

  it('adds days across months, years and leap days', () => {
    expect(addDays(d('2026-11-24'), 7)).toEqual(d('2026-12-01'));
    expect(addDays(d('2026-12-31'), 1)).toEqual(d('2027-01-01'));
    expect(addDays(d('2027-01-01'), -1)).toEqual(d('2026-12-31'));
    expect(addDays(d('2024-02-28'), 1)).toEqual(d('2024-02-29'));
    expect(addDays(d('2025-02-28'), 1)).toEqual(d('2025-03-01'));
    expect(addDays(d('2026-11-24'), 0)).toEqual(d('2026-11-24'));
    expect(addDays(d('2000-01-01'), 366)).toEqual(d('2001-01-01'));
  });

  it('adds months, clamping the day', () => {
    expect(addMonths(d('2026-01-31'), 1)).toEqual(d('2026-02-28'));
    expect(addMonths(d('2024-01-31'), 1)).toEqual(d('2024-02-29'));
    expect(addMonths(d('2026-03-31'), -1)).toEqual(d('2026-02-28'));
    expect(addMonths(d('2026-11-15'), 2)).toEqual(d('2027-01-15'));
    expect(addMonths(d('2026-01-15'), -1)).toEqual(d('2025-12-15'));
    expect(addMonths(d('2026-05-31'), 12)).toEqual(d('2027-05-31'));
    expect(addMonths(d('2026-05-31'), -25)).toEqual(d('2024-04-30'));
  });

  it('compares and measures', () => {
    expect(compareLocalDate(d('2026-11-24'), d('2026-11-25'))).toBe(-1);
    expect(compareLocalDate(d('2026-11-24'), d('2026-11-24'))).toBe(0);
    expect(compareLocalDate(d('2027-01-01'), d('2026-12-31'))).toBe(1);
    expect([d('2026-03-01'), d('2025-12-31'), d('2026-01-15')].sort(compareLocalDate).map(formatLocalDate)).toEqual([
      '2025-12-31',
      '2026-01-15',
      '2026-03-01',
    ]);
    expect(diffDays(d('2026-11-01'), d('2026-11-24'))).toBe(23);
    expect(diffDays(d('2026-11-24'), d('2026-11-01'))).toBe(-23);
    expect(diffDays(d('2024-01-01'), d('2025-01-01'))).toBe(366);
    expect(diffDays(d('2026-02-01'), d('2026-03-01'))).toBe(28);
  });

  it('agrees with Date arithmetic (property)', () => {
    const dates = fc.integer({ min: Date.UTC(1900, 0, 1), max: Date.UTC(2200, 0, 1) }).map((ms) => {
      const t = new Date(ms);
      return { year: t.getUTCFullYear(), month: t.getUTCMonth() + 1, day: t.getUTCDate() };
    });
    const utc = (x: LocalDate): number => Date.UTC(x.year, x.month - 1, x.day);
    fc.assert(
      fc.property(dates, dates, fc.integer({ min: -5000, max: 5000 }), (a, b, n) => {
        expect(diffDays(a, b)).toBe((utc(b) - utc(a)) / 86_400_000);
        const c = addDays(a, n);
        expect(isValidLocalDate(c)).toBe(true);
        expect(utc(c) - utc(a)).toBe(n * 86_400_000);
        expect(compareLocalDate(a, b)).toBe(Math.sign(utc(a) - utc(b)));
        expect(parseLocalDate(formatLocalDate(a))).toEqual(a);
      }),
    );
  });
});

describe('instants and zones', () => {
  it('finds the calendar date of an instant in a zone', () => {
    expect(toLocalDate(new Date('2026-11-23T16:00:00Z'), 'Asia/Manila')).toEqual(d('2026-11-24'));
    expect(toLocalDate(new Date('2026-11-23T15:59:59.999Z'), 'Asia/Manila')).toEqual(d('2026-11-23'));
    expect(toLocalDate(new Date('2026-11-24T03:00:00Z'), 'America/New_York')).toEqual(d('2026-11-23'));
    expect(toLocalDate(new Date('2026-12-31T23:30:00Z'), 'UTC')).toEqual(d('2026-12-31'));
    expect(toLocalDate(new Date('2026-12-31T23:30:00Z'), 'Europe/Berlin')).toEqual(d('2027-01-01'));
  });

  it('converts wall-clock time to an instant (no DST)', () => {
    expect(iso(zonedDateTimeToInstant(d('2026-11-24'), { hour: 8, minute: 0 }, 'Asia/Manila'))).toBe('2026-11-24T00:00:00.000Z');
    expect(iso(zonedDateTimeToInstant(d('2026-01-01'), { hour: 0, minute: 0 }, 'Asia/Manila'))).toBe('2025-12-31T16:00:00.000Z');
    expect(iso(zonedDateTimeToInstant(d('2026-07-01'), { hour: 12, minute: 34, second: 56 }, 'UTC'))).toBe('2026-07-01T12:34:56.000Z');
    expect(iso(zonedDateTimeToInstant(d('2026-07-01'), { hour: 12, minute: 0 }, 'America/New_York'))).toBe('2026-07-01T16:00:00.000Z');
    expect(iso(zonedDateTimeToInstant(d('2026-01-15'), { hour: 12, minute: 0 }, 'America/New_York'))).toBe('2026-01-15T17:00:00.000Z');
  });

  it('shifts forward in a spring-forward gap', () => {
    // New York: 2026-03-08 02:00 EST → 03:00 EDT
    expect(iso(zonedDateTimeToInstant(d('2026-03-08'), { hour: 2, minute: 30 }, 'America/New_York'))).toBe('2026-03-08T07:30:00.000Z'); // 03:30 EDT
    expect(iso(zonedDateTimeToInstant(d('2026-03-08'), { hour: 1, minute: 59 }, 'America/New_York'))).toBe('2026-03-08T06:59:00.000Z');
    expect(iso(zonedDateTimeToInstant(d('2026-03-08'), { hour: 3, minute: 0 }, 'America/New_York'))).toBe('2026-03-08T07:00:00.000Z');
    // Berlin: 2026-03-29 02:00 CET → 03:00 CEST
    expect(iso(zonedDateTimeToInstant(d('2026-03-29'), { hour: 2, minute: 30 }, 'Europe/Berlin'))).toBe('2026-03-29T01:30:00.000Z'); // 03:30 CEST
    expect(iso(zonedDateTimeToInstant(d('2026-03-29'), { hour: 1, minute: 30 }, 'Europe/Berlin'))).toBe('2026-03-29T00:30:00.000Z');
  });

  it('picks the earlier instant in a fall-back overlap', () => {
    // New York: 2026-11-01 02:00 EDT → 01:00 EST; 01:30 happens twice
    expect(iso(zonedDateTimeToInstant(d('2026-11-01'), { hour: 1, minute: 30 }, 'America/New_York'))).toBe('2026-11-01T05:30:00.000Z'); // EDT
    expect(iso(zonedDateTimeToInstant(d('2026-11-01'), { hour: 2, minute: 0 }, 'America/New_York'))).toBe('2026-11-01T07:00:00.000Z'); // EST
    // Berlin: 2026-10-25 03:00 CEST → 02:00 CET; 02:30 happens twice
    expect(iso(zonedDateTimeToInstant(d('2026-10-25'), { hour: 2, minute: 30 }, 'Europe/Berlin'))).toBe('2026-10-25T00:30:00.000Z'); // CEST
    expect(iso(zonedDateTimeToInstant(d('2026-10-25'), { hour: 3, minute: 0 }, 'Europe/Berlin'))).toBe('2026-10-25T02:00:00.000Z');
  });

  it('round-trips wall times outside transitions (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: Date.UTC(1990, 0, 1), max: Date.UTC(2060, 0, 1) }),
        fc.constantFrom('Asia/Manila', 'America/New_York', 'Europe/Berlin', 'UTC', 'Australia/Lord_Howe'),
        (ms, tz) => {
          const instant = new Date(Math.floor(ms / 1000) * 1000);
          const date = toLocalDate(instant, tz);
          const parts = new Intl.DateTimeFormat('en-US', { timeZone: tz, hour: 'numeric', minute: 'numeric', second: 'numeric', hourCycle: 'h23' }).formatToParts(instant);
          const get = (t: string): number => Number(parts.find((p) => p.type === t)!.value);
          const back = zonedDateTimeToInstant(date, { hour: get('hour'), minute: get('minute'), second: get('second') }, tz);
          // Equal, or the earlier reading of an ambiguous wall time.
          expect(back.getTime()).toBeLessThanOrEqual(instant.getTime());
          expect(instant.getTime() - back.getTime()).toBeLessThanOrEqual(3_600_000);
          expect(toLocalDate(back, tz)).toEqual(date);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('finds the start of a day', () => {
    expect(iso(startOfDay(d('2026-11-24'), 'Asia/Manila'))).toBe('2026-11-23T16:00:00.000Z');
    expect(iso(startOfDay(d('2026-03-08'), 'America/New_York'))).toBe('2026-03-08T05:00:00.000Z');
    expect(iso(startOfDay(d('2026-11-02'), 'America/New_York'))).toBe('2026-11-02T05:00:00.000Z');
    expect(iso(startOfDay(d('2026-06-01'), 'Europe/Berlin'))).toBe('2026-05-31T22:00:00.000Z');
    // São Paulo skipped midnight on 2018-11-04: the day began at 01:00 (-02:00)
    expect(iso(startOfDay(d('2018-11-04'), 'America/Sao_Paulo'))).toBe('2018-11-04T03:00:00.000Z');
  });

  it('rejects impossible wall times', () => {
    expect(() => zonedDateTimeToInstant(d('2026-11-24'), { hour: 24, minute: 0 }, 'UTC')).toThrow(RangeError);
    expect(() => zonedDateTimeToInstant(d('2026-11-24'), { hour: 1, minute: 60 }, 'UTC')).toThrow(RangeError);
    expect(() => zonedDateTimeToInstant({ year: 2026, month: 2, day: 30 }, { hour: 0, minute: 0 }, 'UTC')).toThrow(RangeError);
  });
});

describe('billing periods', () => {
  const period = (date: string, billingDay: number) => {
    const p = billingPeriodFor(d(date), billingDay);
    return { start: formatLocalDate(p.start), end: formatLocalDate(p.end), key: p.key };
  };

  it('billing day 1 gives calendar months, February in leap years included', () => {
    expect(period('2026-11-24', 1)).toEqual({ start: '2026-11-01', end: '2026-11-30', key: '2026-11' });
    expect(period('2026-11-01', 1)).toEqual({ start: '2026-11-01', end: '2026-11-30', key: '2026-11' });
    expect(period('2024-02-29', 1)).toEqual({ start: '2024-02-01', end: '2024-02-29', key: '2024-02' });
    expect(period('2026-02-10', 1)).toEqual({ start: '2026-02-01', end: '2026-02-28', key: '2026-02' });
    expect(period('2026-12-31', 1)).toEqual({ start: '2026-12-01', end: '2026-12-31', key: '2026-12' });
  });

  it('billing day 28', () => {
    expect(period('2026-11-28', 28)).toEqual({ start: '2026-11-28', end: '2026-12-27', key: '2026-11' });
    expect(period('2026-11-27', 28)).toEqual({ start: '2026-10-28', end: '2026-11-27', key: '2026-10' });
    expect(period('2026-01-31', 28)).toEqual({ start: '2026-01-28', end: '2026-02-27', key: '2026-01' });
    expect(period('2024-02-28', 28)).toEqual({ start: '2024-02-28', end: '2024-03-27', key: '2024-02' });
    expect(period('2024-03-01', 28)).toEqual({ start: '2024-02-28', end: '2024-03-27', key: '2024-02' });
  });

  it('a date before the billing day is in the previous month’s period, across year boundaries', () => {
    expect(period('2026-11-14', 15)).toEqual({ start: '2026-10-15', end: '2026-11-14', key: '2026-10' });
    expect(period('2026-11-15', 15)).toEqual({ start: '2026-11-15', end: '2026-12-14', key: '2026-11' });
    expect(period('2027-01-05', 15)).toEqual({ start: '2026-12-15', end: '2027-01-14', key: '2026-12' });
    expect(period('2026-12-20', 15)).toEqual({ start: '2026-12-15', end: '2027-01-14', key: '2026-12' });
    expect(period('2027-01-01', 2)).toEqual({ start: '2026-12-02', end: '2027-01-01', key: '2026-12' });
  });

  it('periods tile the calendar: each contains its date and the next starts the day after (property)', () => {
    const dates = fc.integer({ min: Date.UTC(1999, 0, 1), max: Date.UTC(2101, 0, 1) }).map((ms) => {
      const t = new Date(ms);
      return { year: t.getUTCFullYear(), month: t.getUTCMonth() + 1, day: t.getUTCDate() };
    });
    fc.assert(
      fc.property(dates, fc.integer({ min: 1, max: 28 }), (date, billingDay) => {
        const p = billingPeriodFor(date, billingDay);
        expect(compareLocalDate(p.start, date)).toBeLessThanOrEqual(0);
        expect(compareLocalDate(date, p.end)).toBeLessThanOrEqual(0);
        expect(p.start.day).toBe(billingDay);
        const next = billingPeriodFor(addDays(p.end, 1), billingDay);
        expect(next.start).toEqual(addDays(p.end, 1));
        expect(diffDays(p.start, p.end) + 1).toBe(daysInMonth(p.start.year, p.start.month));
        expect(periodFromKey(p.key, billingDay)).toEqual(p);
      }),
    );
  });

  it('periodFromKey', () => {
    const p = periodFromKey('2026-11', 15);
    expect([formatLocalDate(p.start), formatLocalDate(p.end), p.key]).toEqual(['2026-11-15', '2026-12-14', '2026-11']);
    const feb = periodFromKey('2024-02', 1);
    expect(formatLocalDate(feb.end)).toBe('2024-02-29');
    for (const bad of ['2026-13', '2026-1', '2026/11', '2026-11-01', '', 'nov']) {
      expect(caught(() => periodFromKey(bad, 1)).code).toBe('INVALID_PERIOD');
    }
  });

  it('only billing days 1 to 28', () => {
    expect(assertBillingDay(28)).toBe(28);
    for (const bad of [0, 29, 31, 1.5, -1, Number.NaN]) {
      const err = caught(() => billingPeriodFor(d('2026-11-24'), bad));
      expect(err.code).toBe('INVALID_BILLING_DAY');
      expect(err.suggestions[0]).toMatch(/1 to 28/);
    }
  });
});
