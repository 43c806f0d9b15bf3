// Payments that arrive by themselves: signed notifications over real HTTP to the intake server,
// a lab router in API mode over real sockets. A suspended subscriber pays through a signed
// PayMongo webhook and their PPP secret is enabled again before the answer; a replay pays
// nothing; bad signatures, stale timestamps, unknown accounts and malformed bodies get a 4xx,
// an audit entry and no payment. Then the payment page and its signed, expiring link.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { FixedClock } from '../../src/core/clock.js';
import type { ServiceContext } from '../../src/core/context.js';
import { generateInvoices } from '../../src/core/billing/generate.js';
import { runCollections } from '../../src/core/collections/run.js';
import { addGateway } from '../../src/core/intake/gateways.js';
import { makeLinkToken, paymentLink } from '../../src/core/intake/links.js';
import { startIntakeServer, type IntakeServer } from '../../src/core/intake/server.js';
import { hmacHex } from '../../src/core/intake/signature.js';
import { applyNow } from '../../src/core/provisioning/apply.js';
import { apiDriver } from '../../src/core/provisioning/routeros/driver.js';
import type { Drivers } from '../../src/core/provisioning/runner.js';
import { createPlan } from '../../src/core/plans/service.js';
import { addRouter } from '../../src/core/routers/service.js';
import { initialise } from '../../src/core/settings/init.js';
import { setSettings } from '../../src/core/settings/service.js';
import { addSubscriber } from '../../src/core/subscribers/service.js';
import { startLabRouter, type LabRouter } from '../../src/lab/index.js';
import { openTestDatabase, type TestDb } from '../helpers/db.js';

const drivers: Drivers = {
  api: apiDriver,
  radius: { run: async (_c, _r, jobs) => jobs.map((j) => ({ id: j.id, ok: false as const, error: 'not in this test' })) },
};

let db: TestDb;
let lab: LabRouter;
let server: IntakeServer;
let ctx: ServiceContext;
const clock = new FixedClock('2026-10-01T00:00:00Z');
let pedro = '';
let paymongoSecret = '';
let genericSecret = '';

const secretOf = (name: string) => lab.state.menu('/ppp/secret').list().find((s) => s.name === name);
const count = async (table: string) => Number((await db.knex(table).count('* as n'))[0]!.n);

function paymongoEvent(opts: { id: string; payment: string; amount: unknown; account?: string; livemode?: boolean; type?: string; currency?: string }): string {
  return JSON.stringify({
    data: {
      id: opts.id,
      type: 'event',
      attributes: {
        type: opts.type ?? 'payment.paid',
        livemode: opts.livemode ?? false,
        created_at: Math.floor(clock.now().getTime() / 1000),
        data: {
          id: opts.payment,
          type: 'payment',
          attributes: { amount: opts.amount, currency: opts.currency ?? 'PHP', status: 'paid', description: `Internet bill ${opts.account ?? ''}`, source: { id: 'src_x', type: 'gcash' }, metadata: opts.account ? { account_no: opts.account } : undefined },
        },
      },
    },
  });
}

async function post(path: string, body: string, headers: Record<string, string>) {
  const r = await fetch(`http://127.0.0.1:${server.port}${path}`, { method: 'POST', body, headers: { 'content-type': 'application/json', ...headers } });
  return { status: r.status, json: (await r.json()) as { ok: boolean; outcome: string; message: string; payment?: string } };
}

function paymongoHeaders(body: string, secret = paymongoSecret, at = clock.now()) {
  const t = Math.floor(at.getTime() / 1000);
  return { 'Paymongo-Signature': `t=${t},te=${hmacHex(secret, t, body)},li=` };
}

beforeAll(async () => {
  db = await openTestDatabase('pglite');
  lab = await startLabRouter({ adminPassword: 'lab-pw', nas: true });
  ctx = { ...db.ctx(clock), env: { ISPCTL_SECRET_KEY: 'a7'.repeat(32) } };
  await initialise(ctx, { values: { 'isp-name': 'Juan Net', currency: 'PHP', timezone: 'Asia/Manila', 'billing-day': 1, 'due-days': 15, 'grace-days': 5 } });
  await setSettings(ctx, { 'public-url': 'https://pay.juan.example', 'checkout-url-template': 'https://checkout.example/pay?ref={{account}}&amount={{amount}}&name={{name}}' });
  await addRouter(ctx, { name: 'lab1', host: '127.0.0.1', apiPort: lab.port, apiUser: 'admin', apiPassword: 'lab-pw', mode: 'api' });
  await createPlan(ctx, { name: 'Fiber 50', price: '1,500.00', download: '50M', upload: '20M' });
  const r = await addSubscriber(ctx, { fullName: 'Pedro <script>alert(1)</script> Penduko', username: 'pedro', password: 'pw-pedro', plan: 'Fiber 50', router: 'lab1', startDate: '2026-10-01' });
  pedro = r.subscriber.accountNo;
  await applyNow(ctx, r.jobIds ?? [], { drivers });
  paymongoSecret = (await addGateway(ctx, { name: 'paymongo', kind: 'paymongo' })).secret!;
  genericSecret = (await addGateway(ctx, { name: 'shop', kind: 'generic', method: 'gcash' })).secret!;
  clock.set('2026-11-01T08:00:00+08:00');
  await generateInvoices(ctx);
  // Unpaid past the due date (Nov 16) and the grace days: suspended, the secret disabled.
  clock.set('2026-11-22T08:00:00+08:00');
  const c = await runCollections(ctx);
  await applyNow(ctx, c.jobIds, { drivers });
  server = await startIntakeServer({ host: '127.0.0.1', port: 0, withContext: (fn) => fn(ctx), apply: { drivers, timeoutMs: 5000 } });
});

afterAll(async () => {
  await server?.close();
  await lab?.close();
  await db?.close();
});

it('the subscriber starts suspended: the router holds the secret disabled', () => {
  expect(secretOf('pedro')).toMatchObject({ disabled: 'true' });
});

it('a bad signature, a stale timestamp, an unknown gateway: 4xx, audited, nothing paid', async () => {
  const body = paymongoEvent({ id: 'evt_1', payment: 'pay_1', amount: 150000, account: pedro });
  expect((await post('/webhooks/paymongo', body, paymongoHeaders(body, 'not-the-secret'))).status).toBe(401);
  const old = new Date(clock.now().getTime() - 3600_000);
  const stale = await post('/webhooks/paymongo', body, paymongoHeaders(body, paymongoSecret, old));
  expect(stale.status).toBe(401);
  expect(stale.json.message).toContain('old');
  expect((await post('/webhooks/paymongo', body.replace('150000', '1500000'), paymongoHeaders(body))).status).toBe(401);
  expect((await post('/webhooks/nosuch', body, paymongoHeaders(body))).status).toBe(404);
  expect(await count('payments')).toBe(0);
  const audit = await db.knex('audit_log').where({ entity_type: 'webhook', action: 'reject' }).select('after');
  expect(audit).toHaveLength(4);
  expect(Number((await db.knex('webhook_events').where({ outcome: 'rejected' }).count('* as n'))[0]!.n)).toBe(4);
  expect(secretOf('pedro')).toMatchObject({ disabled: 'true' });
});

it('malformed bodies and unknown accounts are refused and pay nothing', async () => {
  for (const [body, status] of [
    ['{not json', 400],
    [paymongoEvent({ id: 'evt_2', payment: 'pay_2', amount: '1500.00', account: pedro }), 400],
    [paymongoEvent({ id: 'evt_3', payment: 'pay_3', amount: 1500.5, account: pedro }), 400],
    [paymongoEvent({ id: 'evt_4', payment: 'pay_4', amount: 150000, account: pedro, currency: 'USD' }), 400],
    [paymongoEvent({ id: 'evt_5', payment: 'pay_5', amount: 150000, account: 'S-999999' }), 422],
    [paymongoEvent({ id: 'evt_6', payment: 'pay_6', amount: 150000 }), 422],
  ] as const) {
    const r = await post('/webhooks/paymongo', body, paymongoHeaders(body));
    expect(r.status, body).toBe(status);
  }
  expect(await count('payments')).toBe(0);
});

it('a signed payment.paid pays, restores the subscriber and enables the secret before answering', async () => {
  const ignored = paymongoEvent({ id: 'evt_7', payment: 'pay_7', amount: 150000, account: pedro, type: 'payment.failed' });
  expect((await post('/webhooks/paymongo', ignored, paymongoHeaders(ignored))).json.outcome).toBe('ignored');
  const body = paymongoEvent({ id: 'evt_8', payment: 'pay_8', amount: 150000, account: pedro });
  const r = await post('/webhooks/paymongo', body, paymongoHeaders(body));
  expect(r.status).toBe(200);
  expect(r.json).toMatchObject({ ok: true, outcome: 'recorded', payment: expect.stringMatching(/^P-\d+$/) });
  expect(secretOf('pedro')).toMatchObject({ disabled: 'false' });
  const p = await db.knex('payments').first('*');
  expect(p).toMatchObject({ amount_minor: 150000n, method: 'gcash', reference: 'pay_8', gateway: 'paymongo', external_id: 'pay_8', source: 'webhook', recorded_by: 'webhook:paymongo' });
  expect((await db.knex('services').where({ username: 'pedro' }).first('collection_status')).collection_status).not.toBe('suspended');
});

it('the same notification again (a retry or a replay) pays nothing and is answered 200 already recorded', async () => {
  const body = paymongoEvent({ id: 'evt_8', payment: 'pay_8', amount: 150000, account: pedro });
  const again = await post('/webhooks/paymongo', body, paymongoHeaders(body));
  expect(again.status).toBe(200);
  expect(again.json).toMatchObject({ outcome: 'duplicate', message: expect.stringContaining('already recorded') });
  expect(await count('payments')).toBe(1);
});

it('the generic signed JSON format, with a strict decimal amount', async () => {
  const sign = (body: string, at = clock.now()) => {
    const t = Math.floor(at.getTime() / 1000);
    return { 'X-Ispctl-Timestamp': String(t), 'X-Ispctl-Signature': `sha256=${hmacHex(genericSecret, t, body)}` };
  };
  const bad = JSON.stringify({ id: 'shop-1', amount: '1,500', currency: 'PHP', account: pedro });
  expect((await post('/webhooks/shop', bad, sign(bad))).status).toBe(400);
  const body = JSON.stringify({ id: 'shop-1', amount: '250.75', currency: 'PHP', account: pedro, method: 'gcash' });
  const r = await post('/webhooks/shop', body, sign(body));
  expect(r.json).toMatchObject({ outcome: 'recorded' });
  expect((await db.knex('payments').where({ gateway: 'shop' }).first('amount_minor', 'method')).amount_minor).toBe(25075n);
  expect((await post('/webhooks/shop', body, sign(body))).json.outcome).toBe('duplicate');
});

it('the payment page: balance, invoices, escaped name, a checkout link with encoded values; forged and expired links refused', async () => {
  // A new month's invoice, unpaid.
  clock.set('2026-12-01T08:00:00+08:00');
  await generateInvoices(ctx);
  const link = (await paymentLink(ctx, pedro))!;
  expect(link.url).toMatch(/^https:\/\/pay\.juan\.example\/pay\/S-\d+\.\d+\.[A-Za-z0-9_-]{43}$/);
  const path = new URL(link.url).pathname;
  const res = await fetch(`http://127.0.0.1:${server.port}${path}`);
  expect(res.status).toBe(200);
  expect(res.headers.get('content-security-policy')).toContain("default-src 'none'");
  const html = await res.text();
  expect(html).toContain('Pedro &lt;script&gt;alert(1)&lt;/script&gt; Penduko');
  expect(html).not.toContain('<script>');
  // 1,500.00 for December less 250.75 credit from the generic payment = 1,249.25.
  expect(html).toContain('₱1,249.25');
  expect(html).toContain('https://checkout.example/pay?ref=' + pedro + '&amp;amount=1249.25&amp;name=Pedro%20%3Cscript%3Ealert(1)%3C%2Fscript%3E%20Penduko');
  const pdfPath = /href="([^"]+\.pdf)"/.exec(html)![1]!;
  const pdf = await fetch(`http://127.0.0.1:${server.port}${pdfPath}`);
  expect(pdf.headers.get('content-type')).toBe('application/pdf');
  expect(Buffer.from(await pdf.arrayBuffer()).subarray(0, 5).toString()).toBe('%PDF-');
  // Someone else's invoice through this link: not found.
  const forgedPdf = await fetch(`http://127.0.0.1:${server.port}${path}/invoices/INV-2099-000001.pdf`);
  expect(forgedPdf.status).toBe(404);
  const forged = path.replace(/.$/, (c) => (c === 'A' ? 'B' : 'A'));
  expect((await fetch(`http://127.0.0.1:${server.port}${forged}`)).status).toBe(404);
  const expired = makeLinkToken(ctx.env, pedro, new Date(clock.now().getTime() - 1000));
  expect((await fetch(`http://127.0.0.1:${server.port}/pay/${expired}`)).status).toBe(410);
});
