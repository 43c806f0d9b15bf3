// RADIUS mode: a subscriber throttled for non-payment pays through a signed webhook, and real
// FreeRADIUS (reading ispctl's views on PostgreSQL) answers his next Access-Request with the
// full-speed Mikrotik-Rate-Limit; his live session on the lab router gets the full speed by
// CoA before the webhook is answered. A replayed webhook pays nothing. The intake server runs
// in-process with the real drivers (the API-mode equivalent is test/db/intake.test.ts).
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { FixedClock } from '../../src/core/clock.js';
import type { ServiceContext } from '../../src/core/context.js';
import { openDatabase, type Database } from '../../src/core/db/connection.js';
import { generateInvoices } from '../../src/core/billing/generate.js';
import { runCollections } from '../../src/core/collections/run.js';
import { addGateway } from '../../src/core/intake/gateways.js';
import { startIntakeServer, type IntakeServer } from '../../src/core/intake/server.js';
import { hmacHex } from '../../src/core/intake/signature.js';
import { applyNow } from '../../src/core/provisioning/apply.js';
import { detectFreeRadiusConfigDir } from '../../src/core/provisioning/radius/freeradius-config.js';
import { createPlan } from '../../src/core/plans/service.js';
import { addRouter, revealRouterSecret } from '../../src/core/routers/service.js';
import { initialise } from '../../src/core/settings/init.js';
import { setSettings } from '../../src/core/settings/service.js';
import { addSubscriber } from '../../src/core/subscribers/service.js';
import { RouterOSClient } from '../../src/core/routeros/index.js';
import { startLabRouter, type LabRouter, type LabSession } from '../../src/lab/index.js';
import { createPgDatabase } from '../helpers/db.js';
import { freeUdpPort, startFreeRadius, type FreeRadiusInstance } from '../helpers/freeradius.js';

const sourceDir = detectFreeRadiusConfigDir();
const FULL = '20M/50M';
const THROTTLED = '512k/1M';

describe.skipIf(!sourceDir)(`RADIUS mode: a webhook payment brings FreeRADIUS's answer back to full speed${sourceDir ? '' : ' (skipped: FreeRADIUS is not installed)'}`, () => {
  let database: { url: string; drop(): Promise<void> };
  let opened: Database;
  let ctx: ServiceContext;
  let lab: LabRouter;
  let radius: FreeRadiusInstance;
  let server: IntakeServer;
  let secret = '';
  let pedro = '';
  let throttled: LabSession;
  const clock = new FixedClock('2026-10-01T00:00:00Z');

  const post = (body: string) => {
    const t = Math.floor(clock.now().getTime() / 1000);
    return fetch(`http://127.0.0.1:${server.port}/webhooks/shop`, {
      method: 'POST',
      body,
      headers: { 'content-type': 'application/json', 'x-ispctl-timestamp': String(t), 'x-ispctl-signature': `sha256=${hmacHex(secret, t, body)}` },
    }).then(async (r) => ({ status: r.status, json: (await r.json()) as { outcome: string; message: string } }));
  };

  beforeAll(async () => {
    database = await createPgDatabase('ispctl_intake_radius', { migrated: true });
    opened = await openDatabase({ engine: 'postgres', url: database.url });
    ctx = { db: opened.knex, engine: 'postgres', clock, actor: { user: 'tester', command: 'test' }, env: { ISPCTL_SECRET_KEY: 'f1'.repeat(32) } };
    lab = await startLabRouter({ adminPassword: 'lab-pw', nas: { nasAddress: '127.0.0.1' } });
    const coaPort = await freeUdpPort();
    await initialise(ctx, { values: { 'isp-name': 'Tower Net', currency: 'PHP', timezone: 'Asia/Manila', 'billing-day': 1, 'due-days': 15, 'grace-days': 5 } });
    await setSettings(ctx, { 'suspension-action': 'throttle', 'throttle-download': '1M', 'throttle-upload': '512k' });
    await addRouter(ctx, { name: 'tower', host: '127.0.0.1', apiPort: lab.port, apiUser: 'admin', apiPassword: 'lab-pw', mode: 'radius', nasAddress: '127.0.0.1', coaPort, localAddress: '10.0.1.1', pool: '10.0.1.2-10.0.1.254' });
    await createPlan(ctx, { name: 'Fiber 50', price: '1,500.00', download: '50M', upload: '20M' });
    pedro = (await addSubscriber(ctx, { fullName: 'Pedro Penduko', username: 'pedro', password: 'pedro-pa55', plan: 'Fiber 50', router: 'tower', startDate: '2026-10-01' })).subscriber.accountNo;
    secret = (await addGateway(ctx, { name: 'shop', kind: 'generic', method: 'gcash' })).secret!;

    const admin = new URL(inject('pgAdminUrl'));
    radius = await startFreeRadius({ db: { host: '127.0.0.1', port: Number(admin.port), user: decodeURIComponent(admin.username), password: decodeURIComponent(admin.password) || undefined, database: database.url.split('/').pop()!.split('?')[0]! } });
    const radiusSecret = (await revealRouterSecret(ctx, 'tower', 'radius')).secret;
    const api = await RouterOSClient.connect({ host: '127.0.0.1', port: lab.port, user: 'admin', password: 'lab-pw', timeoutMs: 10_000 });
    try {
      await api.write('/radius/add', { service: 'ppp', address: '127.0.0.1', secret: radiusSecret, 'authentication-port': radius.authPort, 'accounting-port': radius.acctPort, timeout: '3s', 'require-message-auth': 'yes-for-request-resp' });
      await api.write('/ppp/aaa/set', { 'use-radius': true, accounting: true, 'interim-update': '5m' });
      await api.write('/ip/pool/add', { name: 'ispctl-pool-default', ranges: '10.0.1.2-10.0.1.254' });
      await api.write('/ppp/profile/set', { '.id': 'default', 'local-address': '10.0.1.1' });
      await api.write('/radius/incoming/set', { accept: true, port: coaPort });
    } finally {
      await api.close();
    }
    await lab.nas!.settled();

    // November unpaid: throttled after the grace days.
    clock.set('2026-11-01T08:00:00+08:00');
    await generateInvoices(ctx);
    clock.set('2026-11-22T08:00:00+08:00');
    await applyNow(ctx, (await runCollections(ctx)).jobIds);
    server = await startIntakeServer({ host: '127.0.0.1', port: 0, withContext: (fn) => fn(ctx), apply: { timeoutMs: 5000 } });
  });

  afterAll(async () => {
    await server?.close();
    await radius?.stop();
    await lab?.close();
    await opened?.close();
    await database?.drop();
  });

  it('before paying, FreeRADIUS accepts Pedro at the throttled speed only', async () => {
    throttled = await lab.nas!.dial({ username: 'pedro', password: 'pedro-pa55' });
    expect(throttled).toMatchObject({ radius: true, rateLimit: THROTTLED });
  });

  it('a signed webhook pays; his live session is at full speed by the answer, and a new Access-Request is accepted at full speed', async () => {
    const body = JSON.stringify({ id: 'txn-radius-1', amount: '1500.00', currency: 'PHP', account: pedro });
    const r = await post(body);
    expect(r.status).toBe(200);
    expect(r.json).toMatchObject({ outcome: 'recorded', message: expect.stringContaining('service restored') });
    // The session that was up, changed live (CoA) before the gateway got its answer.
    expect(lab.nas!.session(throttled.acctSessionId)?.rateLimit ?? lab.nas!.sessions().find((s) => s.name === 'pedro')?.rateLimit).toBe(FULL);
    // A fresh dial: FreeRADIUS answers Access-Accept with the full-speed Mikrotik-Rate-Limit.
    await lab.nas!.hangup(throttled.acctSessionId);
    const fresh = await lab.nas!.dial({ username: 'pedro', password: 'pedro-pa55' });
    expect(fresh).toMatchObject({ radius: true, authenticatedBy: 'radius', rateLimit: FULL });
  });

  it('the same webhook again pays nothing', async () => {
    const body = JSON.stringify({ id: 'txn-radius-1', amount: '1500.00', currency: 'PHP', account: pedro });
    const r = await post(body);
    expect(r.json.outcome).toBe('duplicate');
    expect(Number((await opened.knex('payments').count('* as n'))[0]!.n)).toBe(1);
  });
});
