// When the daemon's schedules are due: billing runs on the ISP's calendar (billing day, lead
// days, billing hour, daylight saving), backoff after failures, interval schedules.
import { describe, expect, it } from 'vitest';
import { billingSlotFor, billingSlots, describeInterval, nextIntervalDue, retryDelayMs } from '../../src/core/daemon/schedule.js';

const manila = { timezone: 'Asia/Manila', billingDay: 5, invoiceLeadDays: 0, billingHour: 6 };
const iso = (d: Date) => d.toISOString();

describe('billing runs in the ISP time zone', () => {
  it('billing day 5 at 06:00 Asia/Manila is 22:00 UTC the day before', () => {
    const s = billingSlotFor('2026-12', manila);
    expect(iso(s.at)).toBe('2026-12-04T22:00:00.000Z');
    expect(s.runDate).toBe('2026-12-05');
    expect(s.periodKey).toBe('2026-12');
  });

  it('the last run due and the next one, either side of the billing hour', () => {
    const before = billingSlots(new Date('2026-12-04T21:59:59Z'), manila);
    expect(before.last.periodKey).toBe('2026-11');
    expect(iso(before.last.at)).toBe('2026-11-04T22:00:00.000Z');
    expect(before.next.periodKey).toBe('2026-12');
    expect(iso(before.next.at)).toBe('2026-12-04T22:00:00.000Z');

    const at = billingSlots(new Date('2026-12-04T22:00:00Z'), manila);
    expect(at.last.periodKey).toBe('2026-12');
    expect(at.next.periodKey).toBe('2027-01');
    expect(iso(at.next.at)).toBe('2027-01-04T22:00:00.000Z');
  });

  it('a daemon started later in the period still owes that period its run (catch-up)', () => {
    // 20 December, 10:00 in Manila: the run of 5 December is the last one due.
    const s = billingSlots(new Date('2026-12-20T02:00:00Z'), manila);
    expect(s.last.periodKey).toBe('2026-12');
    expect(s.next.periodKey).toBe('2027-01');
    // Before the billing day, the period that started last month.
    expect(billingSlots(new Date('2026-12-03T00:00:00Z'), manila).last.periodKey).toBe('2026-11');
  });

  it('lead days move the run before the period, across month ends and short Februaries', () => {
    const lead = { timezone: 'Asia/Manila', billingDay: 1, invoiceLeadDays: 3, billingHour: 6 };
    expect(billingSlotFor('2026-12', lead).runDate).toBe('2026-11-28');
    expect(iso(billingSlotFor('2026-12', lead).at)).toBe('2026-11-27T22:00:00.000Z');
    expect(billingSlotFor('2027-03', lead).runDate).toBe('2027-02-26');
    expect(billingSlotFor('2028-03', lead).runDate).toBe('2028-02-27'); // leap year
    // 28 November, 09:00 local: December's run (06:00) is done, January's is next.
    const s = billingSlots(new Date('2026-11-28T01:00:00Z'), lead);
    expect(s.last.periodKey).toBe('2026-12');
    expect(s.next.periodKey).toBe('2027-01');
    expect(iso(s.next.at)).toBe('2026-12-28T22:00:00.000Z');
    // 28 November, 05:00 local: still November's.
    expect(billingSlots(new Date('2026-11-27T21:00:00Z'), lead).last.periodKey).toBe('2026-11');
  });

  it('follows daylight saving: EDT in summer, EST in winter', () => {
    const ny = { timezone: 'America/New_York', billingDay: 1, invoiceLeadDays: 0, billingHour: 6 };
    expect(iso(billingSlotFor('2026-07', ny).at)).toBe('2026-07-01T10:00:00.000Z');
    expect(iso(billingSlotFor('2026-12', ny).at)).toBe('2026-12-01T11:00:00.000Z');
  });

  it('an hour skipped by spring-forward runs at the first hour after the gap', () => {
    // 8 March 2026, New York: 02:00 does not exist; 03:00 EDT.
    const ny = { timezone: 'America/New_York', billingDay: 8, invoiceLeadDays: 0, billingHour: 2 };
    expect(iso(billingSlotFor('2026-03', ny).at)).toBe('2026-03-08T07:00:00.000Z');
  });

  it('an hour repeated by fall-back runs once, at the first of the two', () => {
    // 25 October 2026, Berlin: 02:00 happens at 00:00Z (CEST) and 01:00Z (CET).
    const berlin = { timezone: 'Europe/Berlin', billingDay: 25, invoiceLeadDays: 0, billingHour: 2 };
    const s = billingSlotFor('2026-10', berlin);
    expect(iso(s.at)).toBe('2026-10-25T00:00:00.000Z');
    // Between the two 02:00s the run is already due, and it is the same slot: it runs once.
    expect(billingSlots(new Date('2026-10-25T00:30:00Z'), berlin).last.periodKey).toBe('2026-10');
    expect(billingSlots(new Date('2026-10-25T01:30:00Z'), berlin).last.periodKey).toBe('2026-10');
  });

  it('a zone east of UTC whose billing hour falls on the previous UTC day', () => {
    const auckland = { timezone: 'Pacific/Auckland', billingDay: 1, invoiceLeadDays: 0, billingHour: 0 };
    // 1 January 2027, 00:00 NZDT (+13) = 31 December 11:00 UTC.
    expect(iso(billingSlotFor('2027-01', auckland).at)).toBe('2026-12-31T11:00:00.000Z');
    expect(billingSlots(new Date('2026-12-31T11:00:00Z'), auckland).last.periodKey).toBe('2027-01');
    expect(billingSlots(new Date('2026-12-31T10:59:59Z'), auckland).last.periodKey).toBe('2026-12');
  });
});

describe('interval schedules and backoff', () => {
  it('runs at once when it never ran, then every interval', () => {
    expect(nextIntervalDue(undefined, 60_000)).toBe(0);
    expect(nextIntervalDue(1_000, 60_000)).toBe(61_000);
  });

  it('backs off after failures: 30 s doubling to 15 min, never sooner than the interval', () => {
    expect(retryDelayMs(0, 10_000)).toBe(10_000);
    expect(retryDelayMs(1)).toBe(30_000);
    expect(retryDelayMs(2)).toBe(60_000);
    expect(retryDelayMs(3)).toBe(120_000);
    expect(retryDelayMs(20)).toBe(900_000);
    expect(retryDelayMs(1, 300_000)).toBe(300_000);
    expect(nextIntervalDue(1_000, 10_000, 2)).toBe(61_000);
  });

  it('describes intervals for status', () => {
    expect(describeInterval(300_000)).toBe('every 5 min');
    expect(describeInterval(30_000)).toBe('every 30 s');
    expect(describeInterval(7_200_000)).toBe('every 2 h');
  });
});
