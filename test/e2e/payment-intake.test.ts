// Done when: Pedro is suspended for non-payment, pays through a signed webhook and is back online
// at full speed on the lab router without anyone typing a command; a replayed webhook pays
// nothing; the evening's collections report matches the payments to the centavo. The built
// `ispctl daemon` serves the webhook (intake-listen) on PostgreSQL, the lab router holds the PPP
// secrets (API mode, real sockets) and dials Pedro's PPPoE session; the cashier's cash payment
// and the GCash statement go through the built binary too. Build first.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Knex } from 'knex';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FixedClock } from '../../src/core/clock.js';
import { openDatabase, type Database } from '../../src/core/db/connection.js';
import type { ServiceContext } from '../../src/core/context.js';
import { generateInvoices } from '../../src/core/billing/generate.js';
import { runCollections } from '../../src/core/collections/run.js';
import { addGateway } from '../../src/core/intake/gateways.js';
import { hmacHex } from '../../src/core/intake/signature.js';
import { applyNow } from '../../src/core/provisioning/apply.js';
import { createPlan } from '../../src/core/plans/service.js';
import { addRouter } from '../../src/core/routers/service.js';
import { initialise } from '../../src/core/settings/init.js';
import { setSettings } from '../../src/core/settings/service.js';
import { addSubscriber } from '../../src/core/subscribers/service.js';
import { DialRejectedError, startLabRouter, type LabRouter } from '../../src/lab/index.js';
import { BIN, runCli } from '../helpers/cli.js';
import { createPgDatabase } from '../helpers/db.js';

const SECRET_KEY = 'd7'.repeat(32);
const NOW = '2026-11-22T18:30:00+08:00'; // the evening of 22 November in Manila
const TODAY = '2026-11-22';

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

describe('Pedro pays through a signed webhook and is back online at full speed', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'ispctl-intake-e2e-'));
  let database: { url: string; drop(): Promise<void> };
  let opened: Database;
  let knex: Knex;
  let lab: LabRouter;
  let daemon: ChildProcess | undefined;
  let daemonOutput = '';
  let port = 0;
  let gatewaySecret = '';
  const accounts: Record<string, string> = {};
  const env = () => ({ ISPCTL_DATABASE_URL: database.url, DATABASE_URL: database.url, ISPCTL_SECRET_KEY: SECRET_KEY, ISPCTL_NOW: NOW, ISPCTL_DATA_DIR: join(tmp, 'data'), ISPCTL_CONFIG_DIR: join(tmp, 'config') });
  const secretOf = (name: string) => lab.state.menu('/ppp/secret').list().find((s) => s.name === name);

  const webhook = (body: string) => {
    const t = Math.floor(new Date(NOW).getTime() / 1000);
    return fetch(`http://127.0.0.1:${port}/webhooks/gcash-checkout`, {
      method: 'POST',
      body,
      headers: { 'content-type': 'application/json', 'x-ispctl-timestamp': String(t), 'x-ispctl-signature': `sha256=${hmacHex(gatewaySecret, t, body)}` },
    }).then(async (r) => ({ status: r.status, json: (await r.json()) as { outcome: string; message: string; payment?: string } }));
  };

  beforeAll(async () => {
    database = await createPgDatabase('ispctl_intake', { migrated: true });
    opened = await openDatabase({ engine: 'postgres', url: database.url });
    knex = opened.knex;
    lab = await startLabRouter({ adminPassword: 'lab-pw', nas: true });
    port = await freePort();
    // The ISP's month so far, set up through the core services: the November invoices were
    // not paid, and collections suspended everyone the day after the grace days.
    const clock = new FixedClock('2026-10-01T00:00:00Z');
    const ctx: ServiceContext = { db: knex, engine: 'postgres', clock, actor: { user: 'setup', command: 'test setup' }, env: { ISPCTL_SECRET_KEY: SECRET_KEY } };
    await initialise(ctx, { values: { 'isp-name': 'Juan Net', currency: 'PHP', timezone: 'Asia/Manila', 'billing-day': 1, 'due-days': 15, 'grace-days': 5 } });
    await setSettings(ctx, { 'intake-listen': `127.0.0.1:${port}` });
    await addRouter(ctx, { name: 'tower', host: '127.0.0.1', apiPort: lab.port, apiUser: 'admin', apiPassword: 'lab-pw', mode: 'api', localAddress: '10.0.1.1', pool: '10.0.1.2-10.0.1.254' });
    await createPlan(ctx, { name: 'Fiber 50', price: '1,499.75', download: '50M', upload: '20M' });
    for (const [key, name] of [
      ['pedro', 'Pedro Penduko'],
      ['maria', 'Maria Clara'],
      ['jose', 'Jose Rizal'],
    ] as const) {
      const r = await addSubscriber(ctx, { fullName: name, username: key, password: `${key}-pa55`, plan: 'Fiber 50', router: 'tower', startDate: '2026-10-01' });
      accounts[key] = r.subscriber.accountNo;
      await applyNow(ctx, r.jobIds ?? []);
    }
    gatewaySecret = (await addGateway(ctx, { name: 'gcash-checkout', kind: 'generic', method: 'gcash' })).secret!;
    clock.set('2026-11-01T08:00:00+08:00');
    await generateInvoices(ctx);
    clock.set('2026-11-22T08:00:00+08:00');
    const c = await runCollections(ctx);
    expect((await applyNow(ctx, c.jobIds)).status).toBe('applied');
  });

  afterAll(async () => {
    if (daemon && daemon.exitCode === null) {
      daemon.kill('SIGTERM');
      await new Promise((r) => daemon!.once('exit', r));
    }
    await lab?.close();
    await opened?.close();
    await database?.drop();
    rmSync(tmp, { recursive: true, force: true });
  });

  it('Pedro starts suspended: the router refuses his dial', async () => {
    expect(secretOf('pedro')).toMatchObject({ disabled: 'true' });
    await expect(lab.nas!.dial({ username: 'pedro', password: 'pedro-pa55' })).rejects.toBeInstanceOf(DialRejectedError);
  });

  it('the daemon takes his signed payment and he dials in at full speed; nobody typed a command', async () => {
    daemon = spawn(process.execPath, [BIN, 'daemon', '--log-format', 'json'], { env: { ...process.env, NO_COLOR: '1', ...env() } as NodeJS.ProcessEnv, stdio: ['ignore', 'pipe', 'pipe'] });
    daemon.stdout!.setEncoding('utf8').on('data', (d: string) => (daemonOutput += d));
    daemon.stderr!.setEncoding('utf8').on('data', (d: string) => (daemonOutput += d));
    const deadline = Date.now() + 60_000;
    for (;;) {
      const up = await fetch(`http://127.0.0.1:${port}/healthz`).then((r) => r.ok, () => false);
      if (up) break;
      if (daemon.exitCode !== null || Date.now() > deadline) throw new Error(`the daemon did not start listening:\n${daemonOutput.slice(-3000)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    const body = JSON.stringify({ id: 'chk_20261122_0001', amount: '1499.75', currency: 'PHP', account: accounts.pedro, method: 'gcash', paid_at: '2026-11-22T18:05:00+08:00' });
    const r = await webhook(body);
    expect(r.status, daemonOutput.slice(-2000)).toBe(200);
    expect(r.json).toMatchObject({ outcome: 'recorded', message: expect.stringContaining('service restored') });
    // Answered only after the router was told: no waiting, no command.
    expect(secretOf('pedro')).toMatchObject({ disabled: 'false' });
    const session = await lab.nas!.dial({ username: 'pedro', password: 'pedro-pa55' });
    const profile = lab.state.menu('/ppp/profile').list().find((p) => p.name === secretOf('pedro')!.profile);
    expect(profile?.['rate-limit']).toBe('20M/50M');
    expect(session.rateLimit).toBe('20M/50M');
  });

  it('a replay of the same webhook pays nothing', async () => {
    const body = JSON.stringify({ id: 'chk_20261122_0001', amount: '1499.75', currency: 'PHP', account: accounts.pedro, method: 'gcash', paid_at: '2026-11-22T18:05:00+08:00' });
    const r = await webhook(body);
    expect(r.status).toBe(200);
    expect(r.json.outcome).toBe('duplicate');
    expect((await knex('payments').where({ subscriber_id: knex('subscribers').select('id').where({ account_no: accounts.pedro }) }).select('amount_minor')).map((p) => p.amount_minor)).toEqual([149975n]);
  });

  it("the cashier's cash and the GCash statement, then the evening's collections report matches the payments to the centavo", async () => {
    const cash = await runCli(['payment', 'record', '--subscriber', accounts.maria!, '--amount', '₱700.25', '--method', 'cash', '--reference', 'OR-0042', '--json'], { env: env() });
    expect(cash.code, cash.stderr).toBe(0);
    const statement = join(tmp, 'gcash.csv');
    writeFileSync(
      statement,
      [
        'Date and Time,Description,Reference No.,Debit,Credit,Balance',
        `2026-11-22 10:15 AM,Received GCash from JOSE R. ${accounts.jose},7012345600001,,"1,499.75","1,499.75"`,
        '2026-11-22 11:00 AM,Received GCash from SOMEONE,7012345600002,,100.00,"1,599.75"',
      ].join('\n'),
    );
    const imported = await runCli(['payment', 'import', statement, '--preset', 'gcash', '--json'], { env: env() });
    expect(imported.code, imported.stderr).toBe(0);
    expect(imported.json.data.imported).toMatchObject([{ line: 2, accountNo: accounts.jose, amountMinor: 149975 }]);
    expect(imported.json.data.unmatched).toMatchObject([{ line: 3, kind: 'unmatched' }]);
    expect(secretOf('jose')).toMatchObject({ disabled: 'false' });

    const report = await runCli(['report', 'collections', '--from', TODAY, '--to', TODAY, '--json'], { env: env() });
    expect(report.code, report.stderr).toBe(0);
    const day = (await knex.raw(`select coalesce(sum(amount_minor), 0)::bigint as total, count(*)::int as n from payments where voided_at is null and method <> 'credit' and (received_at at time zone 'Asia/Manila')::date = ?::date`, [TODAY])).rows[0];
    expect(Number(day.n)).toBe(3);
    expect(String(day.total)).toBe('369975'); // 1,499.75 + 700.25 + 1,499.75
    expect(String(report.json.data.totalMinor)).toBe(String(day.total));
    expect(report.json.data.payments).toBe(3);
    expect(report.json.data.byMethod).toEqual([
      { method: 'cash', payments: 1, amountMinor: 70025 },
      { method: 'gcash', payments: 2, amountMinor: 299950 },
    ]);
    expect(report.json.data.byRecorder.map((r: { recordedBy: string }) => r.recordedBy)).toContain('webhook:gcash-checkout');
  });
});
