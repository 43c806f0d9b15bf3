// Router work across a fleet: four lab routers in this process, one of them stalling part-way
// through its batch and one gone. A mass suspension converges on the healthy routers, the
// stalled router keeps what it acknowledged before it stalled (only the rest is retried), and
// both catch up once they answer again.
import { afterAll, beforeAll, expect, test } from 'vitest';
import { FixedClock } from '../../src/core/clock.js';
import type { ServiceContext } from '../../src/core/context.js';
import { provisionChanges } from '../../src/core/provisioning/access.js';
import { retryAsRoutersReturn } from '../../src/core/provisioning/probe.js';
import { apiDriver } from '../../src/core/provisioning/routeros/driver.js';
import { runJobs, type Drivers } from '../../src/core/provisioning/runner.js';
import { createPlan } from '../../src/core/plans/service.js';
import { addRouter } from '../../src/core/routers/service.js';
import { initialise } from '../../src/core/settings/init.js';
import { importSubscribers } from '../../src/core/subscribers/import.js';
import { resetFaults, startLabFleet, type LabFleet, type LabRouter } from '../../src/lab/index.js';
import { openTestDatabase, type TestDb } from '../helpers/db.js';

const ROUTERS = 4;
const PER_ROUTER = 10;
const drivers: Drivers = { api: apiDriver, radius: apiDriver };
let db: TestDb;
let fleet: LabFleet;
let ctx: ServiceContext;

beforeAll(async () => {
  db = await openTestDatabase('postgres');
  fleet = await startLabFleet({ count: ROUTERS, adminPassword: 'lab-pw' });
  ctx = { ...db.ctx(new FixedClock('2026-11-01T00:00:00Z')), env: { ISPCTL_SECRET_KEY: 'e5'.repeat(32) } };
  await initialise(ctx, { values: { 'isp-name': 'Fleet ISP', currency: 'PHP', timezone: 'Asia/Manila' } });
  for (const [i, r] of fleet.routers.entries()) await addRouter(ctx, { name: `r${i + 1}`, host: '127.0.0.1', apiPort: r.port, apiUser: 'admin', apiPassword: 'lab-pw', mode: 'api' });
  await createPlan(ctx, { name: 'Fiber 50', price: '1500', download: '50M', upload: '20M' });
  const rows = Array.from({ length: ROUTERS * PER_ROUTER }, (_, i) => `Sub ${i},u${i},Fiber 50,r${(i % ROUTERS) + 1},2026-11-01`);
  await importSubscribers(ctx, `full_name,username,plan,router,start_date\n${rows.join('\n')}\n`);
  const first = await runJobs(ctx, drivers, { timeoutMs: 10_000 });
  expect(first).toMatchObject({ done: ROUTERS * PER_ROUTER, failed: 0 });
});
afterAll(async () => {
  await fleet?.close();
  await db?.close();
});

/** User names whose secret the router holds, and those of them disabled. */
const secrets = (r: LabRouter) => r.state.menu('/ppp/secret').list();
const held = (r: LabRouter) => secrets(r).map((s) => String(s.name)).sort();
const disabled = (r: LabRouter) => secrets(r).filter((s) => s.disabled === 'true').map((s) => String(s.name)).sort();
/** The router's subscribers whose suspension job is done, by user name. */
async function doneOn(router: string, ids: number[]): Promise<string[]> {
  const rows = (await ctx.db('provisioning_jobs as j')
    .join('routers as r', 'r.id', 'j.router_id')
    .join('services as s', 's.id', 'j.service_id')
    .whereIn('j.id', ids)
    .where({ 'r.name': router, 'j.status': 'done' })
    .select('s.username')) as Array<{ username: string }>;
  return rows.map((r) => r.username).sort();
}
const names = (router: number) => Array.from({ length: PER_ROUTER }, (_, k) => `u${k * ROUTERS + router - 1}`).sort();

test('a mass suspension converges on the healthy routers, keeps what the stalled one took, and the returning ones catch up', async () => {
  const [r1, r2, r3, r4] = fleet.routers as [LabRouter, LabRouter, LabRouter, LabRouter];
  // r3 answers a first chunk, then hangs; r4 is gone (nothing listens on its port).
  r3.faults.stallAfterCommands = 12;
  await r4.offline();

  await ctx.db('services').update({ admin_status: 'suspended', admin_reason: 'mass suspension test', admin_suspended_at: ctx.clock.now() });
  const { jobIds } = await provisionChanges(ctx.db, ctx, { all: true });
  expect(jobIds).toHaveLength(ROUTERS * PER_ROUTER);
  const run = await runJobs(ctx, drivers, { ids: jobIds, timeoutMs: 1_500, firstChunk: 3 });

  // The healthy routers: every subscriber suspended on the router, every job done.
  for (const [r, n] of [[r1, 1], [r2, 2]] as const) {
    expect(disabled(r)).toEqual(names(n));
    expect(await doneOn(`r${n}`, jobIds)).toEqual(names(n));
  }
  // The stalled one: what it acknowledged stays done and is on the router; the rest is queued
  // with the reason.
  const kept = await doneOn('r3', jobIds);
  expect(kept.length).toBeGreaterThan(0);
  expect(kept.length).toBeLessThan(PER_ROUTER);
  expect(disabled(r3)).toEqual(kept);
  expect(run.routers.find((x) => x.router === 'r3')!.error).toMatch(/no answer from r3/);
  // The one that is gone: nothing done, everything queued with its error.
  expect(await doneOn('r4', jobIds)).toEqual([]);
  expect(disabled(r4)).toEqual([]);
  const open = (await ctx.db('provisioning_jobs').whereIn('id', jobIds).whereIn('status', ['pending', 'running']).select('status', 'attempts', 'last_error')) as Array<{ status: string; attempts: number; last_error: string | null }>;
  expect(open).toHaveLength(2 * PER_ROUTER - kept.length);
  expect(open.every((j) => j.status === 'pending' && j.attempts === 1 && j.last_error)).toBe(true);
  expect(run.failedRouterIds).toHaveLength(2);

  // r3 now hangs outright (its probe gets no answer either); then both come back while the
  // work is watched: it goes the moment each answers, whatever the backoff says.
  r3.faults.stallReplies = true;
  const watching = retryAsRoutersReturn(ctx, drivers, { ids: jobIds, waitMs: 120_000, timeoutMs: 1_500 });
  await new Promise((r) => setTimeout(r, 1_500));
  expect(disabled(r3)).toEqual(kept);
  resetFaults(r3.faults);
  await r4.online();
  const applied = await watching;
  expect(applied).toBe(2 * PER_ROUTER - kept.length);
  for (const [r, n] of [[r1, 1], [r2, 2], [r3, 3], [r4, 4]] as const) {
    expect(held(r)).toEqual(names(n)); // each subscriber exactly once
    expect(disabled(r)).toEqual(names(n));
  }
  expect(Number((await ctx.db('provisioning_jobs').whereIn('id', jobIds).whereNot('status', 'done').count({ n: '*' }).first())!.n)).toBe(0);
});
