// PostgreSQL restarting under a run, on a private cluster of this file (the shared one serves the
// other tests). `billing generate` caught mid-transaction fails with DATABASE_CONNECTION_LOST,
// says it is safe to repeat, and its re-run bills everyone once with gapless numbers; a running
// daemon survives the restart and carries on with the work queued after it.
import { afterAll, beforeAll, expect, test } from 'vitest';
import { apiDriver } from '../../src/core/provisioning/routeros/driver.js';
import { runJobs } from '../../src/core/provisioning/runner.js';
import { setSettings } from '../../src/core/settings/service.js';
import { startLabRouter, type LabRouter } from '../../src/lab/index.js';
import { runCli, BIN } from '../helpers/cli.js';
import { startPgCluster, type PgCluster } from '../helpers/pg-cluster.js';
import { spawn } from 'node:child_process';
import { startDaemon, type DaemonProcess } from './helpers.js';
import { seededPg, type Seeded } from './pg.js';

const SUBSCRIBERS = 150;
let cluster: PgCluster;
let lab: LabRouter;
let pg: Seeded;
let daemon: DaemonProcess | undefined;

beforeAll(async () => {
  cluster = await startPgCluster();
  lab = await startLabRouter({ adminPassword: 'lab-pw' });
  pg = await seededPg('pgrestart', { adminUrl: cluster.url, router: { host: '127.0.0.1', port: lab.port, user: 'admin', password: 'lab-pw' }, subscribers: SUBSCRIBERS, startDate: '2026-01-01' });
  await setSettings(pg.ctx, { 'bill-suspended-services': true, 'collections-max-suspensions': 'none', 'billing-hour': 23, 'collections-interval-minutes': 1440, 'health-interval-seconds': 86_400, 'jobs-interval-seconds': 2, 'notify-interval-seconds': 86_400 });
  await runJobs(pg.ctx, { api: apiDriver, radius: apiDriver }, { timeoutMs: 20_000, ignoreBackoff: true });
}, 120_000);
afterAll(async () => {
  await daemon?.stop();
  await lab?.close();
  await pg?.db.close().catch(() => undefined);
  cluster?.stop();
});

/** A query of the test's own, retried while the server comes back (its pooled connections died). */
async function q<T = Record<string, unknown>>(sql: string, bindings: unknown[] = []): Promise<T[]> {
  for (let i = 0; ; i++) {
    try {
      return (await pg.db.knex.raw(sql, bindings as never)).rows as T[];
    } catch (err) {
      if (i > 20) throw err;
      await new Promise((r) => setTimeout(r, 250));
    }
  }
}

test('billing generate when PostgreSQL restarts mid-run: DATABASE_CONNECTION_LOST, whole chunks kept, safe to repeat; the re-run bills everyone once', async () => {
  // Chunks of 10 services, each its own transaction: the restart lands inside the run.
  const env = { ...pg.env, ISPCTL_NOW: '2026-01-01T08:00:00+08:00', ISPCTL_BILLING_CHUNK: '10' };
  const child = spawn(process.execPath, [BIN, 'billing', 'generate', '--json'], { env: { ...process.env, NO_COLOR: '1', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
  const closed = new Promise<number | null>((r) => child.on('close', r));
  // Restart the moment the run has a transaction open that has written something.
  let caught = false;
  for (;;) {
    if (child.exitCode !== null) break;
    const [{ n }] = await q<{ n: number }>(
      `select count(*)::int as n from pg_stat_activity where datname = current_database() and pid <> pg_backend_pid() and backend_xid is not null`,
    );
    if (n > 0) {
      cluster.restart('fast');
      caught = true;
      break;
    }
    await new Promise((r) => setTimeout(r, 10));
  }
  const code = await closed;
  expect(caught, `billing ended before a transaction was seen: ${out}`).toBe(true);
  expect(code, err).toBe(1);
  const e = JSON.parse(out).error;
  expect(e.code, JSON.stringify(e)).toBe('DATABASE_CONNECTION_LOST');
  expect(e.message).toContain('was lost mid-run');
  expect(e.details).toMatchObject({ cause: 'connection_lost', safeToRepeat: true });
  expect(e.suggestions.join(' ')).toContain('run the same command again');
  // The chunk in progress was rolled back; the chunks before it stay, whole: the first
  // subscribers in id order, each with one invoice.
  const kept = await q<{ subscriber_id: number }>(`select subscriber_id from invoices order by subscriber_id`);
  expect(kept.length % 10).toBe(0);
  expect(kept.length).toBeLessThan(SUBSCRIBERS);
  const ids = (await q<{ id: number }>(`select id from subscribers order by id`)).map((r) => r.id);
  expect(kept.map((r) => r.subscriber_id)).toEqual(ids.slice(0, kept.length));
  const again = await runCli(['billing', 'generate', '--json'], { env });
  expect([0, 3], again.stderr).toContain(again.code);
  const rows = await q<{ number: string; subscriber_id: number }>(`select number, subscriber_id from invoices order by number`);
  expect(rows).toHaveLength(SUBSCRIBERS);
  expect(new Set(rows.map((r) => r.subscriber_id)).size).toBe(SUBSCRIBERS);
  expect(rows.map((r) => Number(r.number.slice(-6)))).toEqual(Array.from({ length: SUBSCRIBERS }, (_, i) => i + 1));
});

test('a daemon running while PostgreSQL restarts reconnects and carries on with new work', async () => {
  // The daemon's frozen clock is the time the work below is queued at, so its jobs are due for
  // the daemon's polling too, not only when the NOTIFY after the restart reaches it.
  const env = { ...pg.env, ISPCTL_NOW: '2026-01-02T09:00:00+08:00', ISPCTL_ROUTER_TIMEOUT: '10' };
  daemon = startDaemon(env, ['--instance-name', 'survivor']);
  await daemon.waitFor('Now the leader');
  cluster.restart('fast');
  // Work queued after the restart: the daemon applies it.
  const names = ['sub0', 'sub1', 'sub2'];
  pg.clock.set('2026-01-02T09:00:00+08:00');
  const { suspendSubscriber } = await import('../../src/core/subscribers/service.js');
  for (const n of names) {
    for (let i = 0; ; i++) {
      try {
        await suspendSubscriber(pg.ctx, n, { reason: 'restart test' });
        break;
      } catch (err) {
        if (i > 20) throw err;
        await new Promise((r) => setTimeout(r, 250));
      }
    }
  }
  const disabled = () => lab.state.menu('/ppp/secret').list().filter((s) => names.includes(String(s.name)) && s.disabled === 'true').length;
  const deadline = Date.now() + 60_000;
  while (disabled() < names.length) {
    if (Date.now() > deadline) throw new Error(`the daemon did not carry on after the restart:\n${daemon.output().slice(-3000)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
  expect(daemon.child.exitCode).toBeNull();
  // Still the leader, and billing is not doubled by a second leadership: one invoice per subscriber.
  expect((await q<{ n: number }>(`select count(*)::int as n from invoices`))[0]!.n).toBe(SUBSCRIBERS);
  expect(await daemon.stop()).toBe(0);
  console.info(`pg restart (daemon): ${daemon.output().split("\n").filter((l) => /lost|reconnect|leader|could not/i.test(l)).slice(1, 6).map((l) => l.slice(25, 200)).join(" / ")}`);
  daemon = undefined;
});
