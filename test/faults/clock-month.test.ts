// A month of days through one running daemon, on a simulation clock that moves (ISPCTL_NOW=…@xN):
// invoices on the billing day, reminders around the due date, suspension after due date plus
// grace, all by the same daemon process, at the simulated dates the settings say.
import { afterAll, beforeAll, expect, test } from 'vitest';
import { setSettings } from '../../src/core/settings/service.js';
import { count, startDaemon, type DaemonProcess } from './helpers.js';
import { seededPg, type Seeded } from './pg.js';

// Simulated days per real second: 3 here, 1 in the full fault suite. A busy machine makes the
// daemon act a little late in simulated time, so dates are checked to within a simulated day.
const DAYS_PER_SECOND = count(3, 1);
const SPEED = 86_400 * DAYS_PER_SECOND;
const START = '2026-10-29T00:00:00+08:00';
let pg: Seeded;
let daemon: DaemonProcess | undefined;

beforeAll(async () => {
  pg = await seededPg('clockmonth', { subscribers: 3, startDate: '2026-11-01', mode: 'radius' });
  await setSettings(pg.ctx, {
    'grace-days': 5,
    'reminder-days': '-3,0',
    'collections-interval-minutes': 360,
    'notify-interval-seconds': 86_400,
    'health-interval-seconds': 86_400,
    'jobs-interval-seconds': 3600,
  });
});
afterAll(async () => {
  await daemon?.stop();
  await pg?.close();
});

const localDate = (d: Date) => new Date(d.getTime() + 8 * 3_600_000).toISOString().slice(0, 10);

test('one daemon on a moving clock bills on day 1, reminds before and on the due date, and suspends after due + grace', async () => {
  daemon = startDaemon({ ...pg.env, ISPCTL_NOW: `${START}@x${SPEED}` }, ['--instance-name', 'sim']);
  const knex = pg.db.knex;
  // Wait (in real time) until the simulated suspension has happened: 2026-11-21 is day 23.
  const deadline = Date.now() + (30 / DAYS_PER_SECOND) * 1000 + 60_000;
  for (;;) {
    const [{ n }] = (await knex.raw(`select count(*)::int as n from collection_events where kind = 'suspension'`)).rows;
    if (n === 3) break;
    if (Date.now() > deadline) throw new Error(`no suspension yet:\n${daemon.output().slice(-3000)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
  expect(await daemon.stop()).toBe(0);
  daemon = undefined;

  const addDays = (d: string, n: number) => new Date(Date.parse(`${d}T00:00:00Z`) + n * 86_400_000).toISOString().slice(0, 10);
  const within = (d: string, from: string) => d >= from && d <= addDays(from, 1);
  const invoices = await knex('invoices').select('issue_date', 'due_date', 'period_key', 'created_at');
  expect(invoices).toHaveLength(3);
  for (const i of invoices) {
    expect(i.period_key).toBe('2026-11');
    // Billed on the billing day (billing-hour 06:00 Manila) by the moving clock; due 15 days later.
    expect(within(i.issue_date, '2026-11-01'), i.issue_date).toBe(true);
    expect(i.due_date).toBe(addDays(i.issue_date, 15));
    expect(localDate(i.created_at)).toBe(i.issue_date);
  }
  const due = invoices[0]!.due_date as string;
  const events = (await knex('collection_events').select('kind', 'event_key', 'occurred_at').orderBy('occurred_at')) as Array<{ kind: string; event_key: string; occurred_at: Date }>;
  const days = (kind: string) => [...new Set(events.filter((e) => e.kind === kind).map((e) => localDate(e.occurred_at)))];
  const reminders = days('reminder');
  expect(events.filter((e) => e.kind === 'reminder')).toHaveLength(6);
  expect(within(reminders[0]!, addDays(due, -3)), reminders.join()).toBe(true);
  expect(within(reminders.at(-1)!, due), reminders.join()).toBe(true);
  const suspended = days('suspension');
  expect(suspended).toHaveLength(1);
  expect(within(suspended[0]!, addDays(due, 5)), suspended[0]).toBe(true);
  // One daemon process did it all: one instance recorded, one billing run.
  const [{ n: instances }] = (await knex.raw('select count(*)::int as n from daemon_instances')).rows;
  expect(instances).toBe(1);
});
