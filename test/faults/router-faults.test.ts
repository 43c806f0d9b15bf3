// A router that refuses, stalls, drops connections or answers slowly: router work ends with its
// timeout (no connect or database write outlives the run), what failed stays queued, and the
// router ends up holding each subscriber exactly once.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { FixedClock } from '../../src/core/clock.js';
import type { ServiceContext } from '../../src/core/context.js';
import { provisionChanges } from '../../src/core/provisioning/access.js';
import { apiDriver } from '../../src/core/provisioning/routeros/driver.js';
import { runJobs, type Drivers } from '../../src/core/provisioning/runner.js';
import { createPlan } from '../../src/core/plans/service.js';
import { addRouter } from '../../src/core/routers/service.js';
import { initialise } from '../../src/core/settings/init.js';
import { addSubscriber } from '../../src/core/subscribers/service.js';
import { startLabRouter, resetFaults, type LabRouter } from '../../src/lab/index.js';
import { BIN } from '../helpers/cli.js';
import { openTestDatabase, type TestDb } from '../helpers/db.js';
import { WORKERS } from './helpers.js';

const drivers: Drivers = { api: apiDriver, radius: apiDriver };
let db: TestDb;
let lab: LabRouter;
let ctx: ServiceContext;
const services: number[] = [];

beforeAll(async () => {
  db = await openTestDatabase('postgres');
  lab = await startLabRouter({ adminPassword: 'lab-pw' });
  ctx = { ...db.ctx(new FixedClock('2026-11-01T00:00:00Z')), env: { ISPCTL_SECRET_KEY: 'd4'.repeat(32) } };
  await initialise(ctx, { values: { 'isp-name': 'Fault ISP', currency: 'PHP', timezone: 'Asia/Manila' } });
  await addRouter(ctx, { name: 'lab1', host: '127.0.0.1', apiPort: lab.port, apiUser: 'admin', apiPassword: 'lab-pw', mode: 'api' });
  await createPlan(ctx, { name: 'Fiber 50', price: '1500', download: '50M', upload: '20M' });
  for (const u of ['ana', 'ben', 'cora', 'dan']) services.push((await addSubscriber(ctx, { fullName: `${u} Tester`, username: u, password: `pw-${u}`, plan: 'Fiber 50', router: 'lab1' })).service.id);
});
afterAll(async () => {
  await lab?.close();
  await db?.close();
});

const secrets = () => lab.state.menu('/ppp/secret').list().map((s) => String(s.name)).sort();
const queue = async () => {
  await provisionChanges(ctx.db, ctx, { serviceIds: services });
};
const open = async () => Number((await ctx.db('provisioning_jobs').whereIn('status', ['pending', 'running']).count({ n: '*' }).first())!.n);

test('a stalled router: the run ends at its timeout, the connection is gone, and nothing touches the database afterwards', async () => {
  await queue();
  lab.faults.stallReplies = true;
  const r = await runJobs(ctx, drivers, { timeoutMs: 800, ignoreBackoff: true });
  expect(r).toMatchObject({ done: 0, failed: 4 });
  expect(r.routers[0]!.error).toContain('no answer from lab1');
  // Structural: after the run returns, no query runs and the abandoned login is not waiting.
  const late: string[] = [];
  const onQuery = (q: { sql: string }) => late.push(q.sql);
  ctx.db.on('query', onQuery);
  await new Promise((res) => setTimeout(res, 2_500));
  ctx.db.off('query', onQuery);
  expect(late).toEqual([]);
  expect(lab.connectionCount()).toBe(0);
  resetFaults(lab.faults);
  expect(await open()).toBe(4);
});

test('refusing, then dropping connections mid-run, then slow: every subscriber lands exactly once', async () => {
  lab.faults.refuseConnections = true;
  const refused = await runJobs(ctx, drivers, { timeoutMs: 2_000, ignoreBackoff: true });
  expect(refused.done).toBe(0);
  expect(secrets()).toEqual([]);
  lab.faults.refuseConnections = false;
  lab.faults.dropAfterCommands = 2;
  const dropped = await runJobs(ctx, drivers, { timeoutMs: 2_000, ignoreBackoff: true });
  expect(dropped.done).toBe(0);
  lab.faults.dropAfterCommands = null;
  lab.faults.delayMs = 150;
  const slow = await runJobs(ctx, drivers, { timeoutMs: 10_000, ignoreBackoff: true });
  expect(slow).toMatchObject({ done: 4, failed: 0 });
  resetFaults(lab.faults);
  expect(secrets()).toEqual(['ana', 'ben', 'cora', 'dan']);
  expect(await open()).toBe(0);
  // Running again changes nothing on the router.
  await queue();
  await runJobs(ctx, drivers, { timeoutMs: 5_000, ignoreBackoff: true });
  expect(secrets()).toEqual(['ana', 'ben', 'cora', 'dan']);
});

test('the real binary with --router-timeout 2 and a stalled router: exits soon after its result, not when an abandoned connect gives up', async () => {
  lab.faults.stallReplies = true;
  const env = { ...process.env, NO_COLOR: '1', DATABASE_URL: db.url!, ISPCTL_SECRET_KEY: 'd4'.repeat(32) };
  const child = spawn(process.execPath, ['-r', join(WORKERS, 'exit-time.cjs'), BIN, 'subscriber', 'suspend', 'ana', '--reason', 'stall test', '--yes', '--router-timeout', '2', '--json'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  let printedAt = 0;
  child.stdout.setEncoding('utf8').on('data', (d: string) => {
    out += d;
    printedAt ||= performance.now();
  });
  child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
  const code = await new Promise<number | null>((r) => child.on('close', r));
  const closedAt = performance.now();
  resetFaults(lab.faults);
  expect(code, err).toBe(3);
  expect(JSON.parse(out).data).toBeDefined();
  const lived = Number(/exit-at-ms=(\d+)/.exec(err)?.[1]);
  // The shape only (a busy machine stretches everything): it ends within seconds of its result,
  // never ~15 s later as when an abandoned connect waited for a closed pool. Figures: bench/router-stall.mjs.
  expect(closedAt - printedAt).toBeLessThan(8_000);
  console.info(`stalled router, --router-timeout 2: the process lived ${lived} ms; it closed ${Math.round(closedAt - printedAt)} ms after printing its result`);
});
