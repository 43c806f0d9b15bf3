// A month of days through one running daemon, on a simulation clock that moves (ISPCTL_NOW=…@xN):
// invoices on the billing day, reminders around the due date, suspension after due date plus
// grace, all by the same daemon process, at the simulated dates the settings say.
import { afterAll, beforeAll, expect, test } from 'vitest';
import { setSettings } from '../../src/core/settings/service.js';
import { count, startDaemon, type DaemonProcess } from './helpers.js';
import { seededPg, type Seeded } from './pg.js';

// Simulated days per real second: 3 here, 1 in the full fault suite. A busy machine makes the
// daemon act late in simulated time (a third of a real second is a day), so each run is checked
// against the day it ran for, as the daemon reports it.
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
  // Wait (in real time) until the run that suspends has reported: 2026-11-21 is day 23.
  await daemon.waitFor(/Collections for \S+: \d+ reminded, \d+ warned, [1-9]\d* suspended/, (30 / DAYS_PER_SECOND) * 1000 + 60_000);
  expect(await daemon.stop()).toBe(0);

  const addDays = (d: string, n: number) => new Date(Date.parse(`${d}T00:00:00Z`) + n * 86_400_000).toISOString().slice(0, 10);
  // What each run saw is checked against the run's own day, which the daemon prints ("Billing for
  // …", "Collections for <day>: …"), not against when its rows were written: at three simulated
  // days a real second, a run that a busy machine starts a third of a second late is a simulated
  // day late, and a row written a tenth of a second into a run is hours later than the run's day.
  // What must hold on any machine: nothing happens before its day, and the first run on or after
  // its day does it (no run on a later day went by without it).
  const output = daemon.output();
  daemon = undefined;
  const lines = output.split('\n');
  const billingAt = lines.findIndex((l) => /Billing for 2026-11 .*3 invoice\(s\) created/.test(l));
  expect(billingAt, output.slice(-3000)).toBeGreaterThanOrEqual(0);
  const runs = lines.flatMap((l, at) => {
    const m = /Collections for (\d{4}-\d{2}-\d{2}): (\d+) reminded, \d+ warned, (\d+) suspended/.exec(l);
    return m ? [{ at, day: m[1]!, reminded: Number(m[2]), suspended: Number(m[3]) }] : [];
  });
  expect(runs.length, output.slice(-3000)).toBeGreaterThan(0);
  /** The run that did something: on or after `day`, and no earlier run was on or after `day`. */
  const firstOnOrAfter = (day: string, did: (r: (typeof runs)[number]) => boolean, after = -1) => {
    const i = runs.findIndex((r, k) => k > after && did(r));
    expect(i, `nothing done for ${day}: ${runs.map((r) => `${r.day} ${r.reminded}/${r.suspended}`).join(', ')}`).toBeGreaterThanOrEqual(0);
    expect(runs[i]!.day >= day, `done on ${runs[i]!.day}, before ${day}`).toBe(true);
    const missed = runs.slice(after + 1, i).filter((r) => r.day >= day);
    expect(missed.map((r) => r.day), `runs on or after ${day} that did not do it`).toEqual([]);
    return i;
  };

  const invoices = await knex('invoices').select('issue_date', 'due_date', 'period_key', 'created_at');
  expect(invoices).toHaveLength(3);
  for (const i of invoices) {
    expect(i.period_key).toBe('2026-11');
    // Billed when the billing day came (billing-hour 06:00 Manila) on the moving clock, by the
    // first run after it: no collections run on a later day came before the billing run.
    expect(i.issue_date >= '2026-11-01', i.issue_date).toBe(true);
    expect(runs.filter((r) => r.at < billingAt && r.day > '2026-11-01').map((r) => r.day)).toEqual([]);
    expect(i.due_date).toBe(addDays(i.issue_date, 15));
    // Written on the moving clock's time (the real clock is a month later).
    expect(localDate(i.created_at) >= i.issue_date && localDate(i.created_at) < i.due_date, localDate(i.created_at)).toBe(true);
  }
  const due = invoices[0]!.due_date as string;
  // Reminders 3 days before and on the due date, to all three at once. A run that first comes
  // after both days (runs late on a busy machine) sends one reminder, not two.
  const reminders = (await knex('collection_events').where({ kind: 'reminder' }).select('id')).length;
  const reminding = runs.filter((r) => r.reminded > 0);
  expect(reminding.map((r) => r.reminded)).toEqual(reminding.map(() => 3));
  expect(reminders).toBe(3 * reminding.length);
  const early = firstOnOrAfter(addDays(due, -3), (r) => r.reminded > 0);
  if (runs[early]!.day < due) {
    firstOnOrAfter(due, (r) => r.reminded > 0, early);
    expect(reminding).toHaveLength(2);
  } else expect(reminding).toHaveLength(1);
  // Suspended once the due date plus 5 days of grace has passed: on the day after it, all three
  // in one run.
  const suspended = firstOnOrAfter(addDays(due, 6), (r) => r.suspended > 0);
  expect(runs[suspended]!.suspended).toBe(3);
  expect(runs.filter((r) => r.suspended > 0)).toHaveLength(1);
  // One daemon process did it all: one instance recorded, one billing run.
  const [{ n: instances }] = (await knex.raw('select count(*)::int as n from daemon_instances')).rows;
  expect(instances).toBe(1);
});
