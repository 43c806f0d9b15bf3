// A payment recorded while the daemon runs: the daemon, woken by the same change, may claim the
// restoration job before the command does. The command waits for that outcome, so it exits 0
// whenever the router was changed (never "could not be applied yet" for work that was applied).
import { afterAll, beforeAll, expect, test } from 'vitest';
import { generateInvoices } from '../../src/core/billing/generate.js';
import { runCollections } from '../../src/core/collections/run.js';
import { apiDriver } from '../../src/core/provisioning/routeros/driver.js';
import { runJobs } from '../../src/core/provisioning/runner.js';
import { startLabRouter, type LabRouter } from '../../src/lab/index.js';
import { runCli } from '../helpers/cli.js';
import { count, startDaemon, type DaemonProcess } from './helpers.js';
import { seededPg, type Seeded } from './pg.js';

const RUNS = count(3, 10);
const NOW = '2026-12-10T09:00:00+08:00';
let lab: LabRouter;
let pg: Seeded;
let daemon: DaemonProcess | undefined;

beforeAll(async () => {
  lab = await startLabRouter({ adminPassword: 'lab-pw' });
  pg = await seededPg('daemonpay', { router: { host: '127.0.0.1', port: lab.port, user: 'admin', password: 'lab-pw' }, subscribers: RUNS, startDate: '2026-10-01' });
  // November's invoices, unpaid past due and grace: everyone suspended on the router.
  pg.clock.set('2026-11-01T08:00:00+08:00');
  await generateInvoices(pg.ctx);
  pg.clock.set(NOW);
  await runCollections(pg.ctx);
  await runJobs(pg.ctx, { api: apiDriver, radius: apiDriver }, { timeoutMs: 10_000, ignoreBackoff: true });
});
afterAll(async () => {
  await daemon?.stop();
  await lab?.close();
  await pg?.close();
});

const secretOf = (name: string) => JSON.stringify(lab.state.menu('/ppp/secret').list().find((s) => s.name === name) ?? null);

test(`payment record while the daemon runs exits 0 whenever the router was changed (${RUNS} runs)`, async () => {
  const env = { ...pg.env, ISPCTL_NOW: NOW, ISPCTL_ROUTER_TIMEOUT: '10' };
  daemon = startDaemon(env, ['--instance-name', 'fault-daemon']);
  await daemon.waitFor('Now the leader');
  const outcomes: Array<{ code: number; changed: boolean; applied: unknown }> = [];
  for (let i = 0; i < RUNS; i++) {
    const before = secretOf(`sub${i}`);
    const r = await runCli(['payment', 'record', '--subscriber', `sub${i}`, '--amount', '1500', '--method', 'cash', '--reference', `OR-${i}`, '--json'], { env });
    const changed = secretOf(`sub${i}`) !== before;
    outcomes.push({ code: r.code, changed, applied: r.json?.data?.apply?.status ?? r.json?.warnings });
  }
  // Every payment restored its subscriber on the router, and none says otherwise.
  expect(outcomes.filter((o) => o.changed)).toHaveLength(RUNS);
  expect(outcomes.filter((o) => o.changed && o.code !== 0), JSON.stringify(outcomes)).toEqual([]);
  expect(await daemon.stop()).toBe(0);
  daemon = undefined;
});
