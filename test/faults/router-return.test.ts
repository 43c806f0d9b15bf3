// A router that comes back is noticed at once: routers with failed queued work are probed (a TCP
// connect to the API port) every second or few, in the daemon and in `jobs retry --wait`, and
// their work goes the moment they answer, whatever its backoff said.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { provisionChanges } from '../../src/core/provisioning/access.js';
import { apiDriver } from '../../src/core/provisioning/routeros/driver.js';
import { runJobs } from '../../src/core/provisioning/runner.js';
import { setSettings } from '../../src/core/settings/service.js';
import { startLabRouter, type LabRouter } from '../../src/lab/index.js';
import { ROOT } from '../helpers/cli.js';
import { startDaemon, type DaemonProcess } from './helpers.js';
import { seededPg, type Seeded } from './pg.js';

let lab: LabRouter;
let pg: Seeded;
let daemon: DaemonProcess | undefined;

beforeAll(async () => {
  lab = await startLabRouter({ adminPassword: 'lab-pw' });
  pg = await seededPg('routerreturn', { router: { host: '127.0.0.1', port: lab.port, user: 'admin', password: 'lab-pw' }, subscribers: 2, startDate: '2026-11-01' });
  // Only the probe can bring the work back soon: the ordinary retry is an hour away.
  await setSettings(pg.ctx, { 'jobs-interval-seconds': 3600, 'health-interval-seconds': 86_400 });
});
afterAll(async () => {
  await daemon?.stop();
  await lab?.close();
  await pg?.close();
});

const secrets = () => lab.state.menu('/ppp/secret').list().map((s) => String(s.name)).sort();

async function failOnce(): Promise<void> {
  lab.faults.refuseConnections = true;
  await pg.db.knex('provisioning_jobs').update({ status: 'cancelled' }).whereIn('status', ['pending', 'running']);
  for (const name of secrets()) lab.state.menu('/ppp/secret').remove(lab.state.menu('/ppp/secret').list().find((s) => s.name === name)!['.id'] as string);
  const ids = (await pg.db.knex('services').pluck('id')).map(Number);
  await provisionChanges(pg.db.knex, pg.ctx, { serviceIds: ids }, { created: ids });
  const r = await runJobs(pg.ctx, { api: apiDriver, radius: apiDriver }, { timeoutMs: 2_000, ignoreBackoff: true });
  expect(r.failed).toBeGreaterThan(0);
}

async function until(check: () => boolean, ms: number, what: string): Promise<number> {
  const started = performance.now();
  while (!check()) {
    if (performance.now() - started > ms) throw new Error(`${what}: not within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return performance.now() - started;
}

test('the daemon applies queued work within seconds of the router answering again', async () => {
  await failOnce();
  daemon = startDaemon({ ...pg.env, ISPCTL_ROUTER_TIMEOUT: '2' }, ['--instance-name', 'probe']);
  await daemon.waitFor('Now the leader');
  // Its first jobs run fails too (still refused), and leaves the router to the probe.
  await daemon.waitFor(/failed and will be retried|Nothing due/);
  await new Promise((r) => setTimeout(r, 1_500));
  expect(secrets()).toEqual([]);
  lab.faults.refuseConnections = false;
  const ms = await until(() => secrets().length === 2, 20_000, 'work applied after the router returned');
  console.info(`router return (daemon): applied ${Math.round(ms)} ms after the router answered again`);
  expect(daemon.output()).toContain('answer again');
  expect(secrets()).toEqual(['sub0', 'sub1']);
  expect(await daemon.stop()).toBe(0);
  daemon = undefined;
});

test('jobs retry --wait applies the work the moment the router answers again', async () => {
  await failOnce();
  const child = spawn(process.execPath, [join(ROOT, 'bin', 'run.js'), 'jobs', 'retry', '--wait', '60', '--timeout', '2', '--json'], {
    env: { ...process.env, NO_COLOR: '1', ...pg.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
  let returnedAt = 0;
  child.stderr!.setEncoding('utf8').on('data', (d: string) => {
    err += d;
    if (err.includes('Watching the routers') && !returnedAt) {
      lab.faults.refuseConnections = false;
      returnedAt = performance.now();
    }
  });
  const code = await new Promise<number | null>((r) => child.on('close', r));
  expect(code, err).toBe(0);
  expect(JSON.parse(out).data.remaining).toBe(0);
  expect(secrets()).toEqual(['sub0', 'sub1']);
  console.info(`router return (jobs retry --wait): done ${Math.round(performance.now() - returnedAt)} ms after the router answered again`);
});
