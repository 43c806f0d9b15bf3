// The outbox at scale, by outcomes: a suspension notice reaches the subscriber before the
// suspension reaches the router (or is given up first, when it cannot be delivered), a payment
// is never held behind a notice, and an SMS gateway answering 429 with Retry-After is left
// alone for as long as it asked. Real parts: the lab router over its API socket, an SMTP server
// (smtp-server) and an HTTP gateway on loopback ports.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { generateInvoices } from '../../src/core/billing/generate.js';
import { FixedClock } from '../../src/core/clock.js';
import { runCollections } from '../../src/core/collections/run.js';
import { runCollectionsThrough } from '../../src/core/collections/through.js';
import type { ServiceContext } from '../../src/core/context.js';
import { CANCELLED_ERROR, GIVEN_UP_ERROR } from '../../src/core/notify/hold.js';
import { queueNotifications, sendNotifications } from '../../src/core/notify/outbox.js';
import { recordPayment } from '../../src/core/payments/service.js';
import { apiDriver } from '../../src/core/provisioning/routeros/driver.js';
import { runJobs, type Drivers } from '../../src/core/provisioning/runner.js';
import { createPlan } from '../../src/core/plans/service.js';
import { addRouter } from '../../src/core/routers/service.js';
import { initialise } from '../../src/core/settings/init.js';
import { setSettings } from '../../src/core/settings/service.js';
import { addSubscriber } from '../../src/core/subscribers/service.js';
import { startLabRouter, type LabRouter } from '../../src/lab/index.js';
import { describeEachEngine } from '../helpers/db.js';

const drivers: Drivers = {
  api: apiDriver,
  radius: { run: async (_c, _r, jobs) => jobs.map((j) => ({ id: j.id, ok: false as const, error: 'not in this test' })) },
};

/** What a message found on the router when it arrived: was its subscriber's secret still enabled? */
interface Arrival {
  channel: 'email' | 'sms';
  to: string;
  text: string;
  routerHadThemDisabled: string | undefined;
}

describeEachEngine('outbox: notices before actions, gateway limits', (db) => {
  let ctx: ServiceContext;
  let clock: FixedClock;
  let lab: LabRouter;
  let smtp: SMTPServer;
  let gateway: Server;
  const arrivals: Arrival[] = [];
  /** Phone numbers the gateway refuses (500), and the status it answers everyone else. */
  const refused = new Set<string>();
  let gatewayAnswer: { status: number; retryAfter?: string } = { status: 200 };
  let gatewayRequests = 0;
  const users = ['ana', 'ben', 'cora', 'dan'] as const;
  const phoneOf = (u: string) => `+6391700000${users.indexOf(u as (typeof users)[number]) + 1}`;
  const userOf = (to: string) => (to.includes('@') ? to.split('@')[0]! : users[Number(to.slice(-1)) - 1]!);
  const secret = (u: string) => lab.state.menu('/ppp/secret').list().find((s) => s.name === u);
  const at = (iso: string) => {
    clock = new FixedClock(iso);
    ctx = { ...ctx, clock };
  };

  beforeAll(async () => {
    lab = await startLabRouter({ adminPassword: 'lab-pw' });
    smtp = new SMTPServer({
      disabledCommands: ['STARTTLS', 'AUTH'],
      authOptional: true,
      logger: false,
      onData(stream, session, callback) {
        let raw = '';
        stream.on('data', (c: Buffer) => (raw += c.toString('utf8')));
        stream.on('end', () => {
          const to = session.envelope.rcptTo[0]!.address;
          arrivals.push({ channel: 'email', to, text: raw, routerHadThemDisabled: secret(userOf(to))?.disabled });
          callback();
        });
      },
    });
    await new Promise<void>((r) => smtp.listen(0, '127.0.0.1', r));
    gateway = createServer((req, res) => {
      let body = '';
      req.on('data', (d: Buffer) => (body += d.toString('utf8')));
      req.on('end', () => {
        gatewayRequests++;
        const msg = JSON.parse(body) as { to: string; text: string };
        const status = refused.has(msg.to) ? 500 : gatewayAnswer.status;
        if (status === 200) arrivals.push({ channel: 'sms', to: msg.to, text: msg.text, routerHadThemDisabled: secret(userOf(msg.to))?.disabled });
        res.writeHead(status, gatewayAnswer.retryAfter && status === 429 ? { 'retry-after': gatewayAnswer.retryAfter } : {});
        res.end(status === 200 ? 'ok' : 'busy');
      });
    });
    await new Promise<void>((r) => gateway.listen(0, '127.0.0.1', r));
    clock = new FixedClock('2026-11-01T00:00:00Z');
    ctx = { ...db().ctx(clock), env: { ISPCTL_SECRET_KEY: 'a7'.repeat(32) } };
    await initialise(ctx, { values: { 'isp-name': 'Bayan Net', currency: 'PHP', timezone: 'Asia/Manila', 'billing-day': 1, 'due-days': 15, 'grace-days': 5 } });
    await setSettings(ctx, {
      'smtp-url': `smtp://127.0.0.1:${((smtp as unknown as { server: Server }).server.address() as AddressInfo).port}`,
      'mail-from': 'Bayan Net <billing@bayan.example>',
      'sms-url': `http://127.0.0.1:${(gateway.address() as AddressInfo).port}/sms`,
      'invoice-issued-notify': 'false',
    });
    await addRouter(ctx, { name: 'lab1', host: '127.0.0.1', apiPort: lab.port, apiUser: 'admin', apiPassword: 'lab-pw', mode: 'api' });
    await createPlan(ctx, { name: 'Fiber 50', price: '1500', download: '50M', upload: '20M' });
    for (const u of users) {
      await addSubscriber(ctx, { fullName: `${u} Tester`, username: u, password: `pw-${u}`, plan: 'Fiber 50', router: 'lab1', email: `${u}@example.net`, phone: phoneOf(u), startDate: '2026-10-01' });
    }
    await runJobs(ctx, drivers, { timeoutMs: 5000 });
    await generateInvoices(ctx, {});
  });

  afterAll(async () => {
    await new Promise<void>((r) => smtp?.close(() => r()));
    await new Promise((r) => gateway?.close(r));
    await lab?.close();
  });

  it('a suspension waits for its notice: the router is told only after the email and the SMS arrived', async () => {
    for (const u of users) expect(secret(u)?.disabled).toBe('false');
    refused.add(phoneOf('dan')); // Dan's SMS cannot be delivered: his suspension waits for it
    at('2026-11-25T01:00:00Z');
    const r = await runCollections(ctx, { force: true });
    expect(r.suspended).toHaveLength(4);
    expect(r.notifications).toBe(8);
    // Nothing delivered yet: the router work of the suspensions is held.
    const early = await runJobs(ctx, drivers, { timeoutMs: 5000 });
    expect(early.claimed).toBe(0);
    for (const u of users) expect(secret(u)?.disabled).toBe('false');

    // Ana pays before her notice goes out: her service is restored, and nothing waits for a message.
    await recordPayment(ctx, { subscriber: 'ana', amount: '10000', method: 'cash', reference: 'OR-1' });
    expect((await runJobs(ctx, drivers, { timeoutMs: 5000 })).claimed).toBeGreaterThan(0);
    expect(secret('ana')?.disabled).toBe('false');

    const sent = await sendNotifications(ctx, {});
    expect(sent).toMatchObject({ retrying: 1, failed: 0, cancelled: 2 });
    await runJobs(ctx, drivers, { timeoutMs: 5000 });
    // Every notice found its subscriber still connected when it arrived; then the router acted.
    // Ana's were not sent: they would announce a suspension that no longer stands.
    const notices = arrivals.filter((a) => /service is suspended|has been suspended/.test(a.text));
    expect(notices.map((a) => `${a.channel}:${userOf(a.to)}`).sort()).toEqual(['email:ben', 'email:cora', 'email:dan', 'sms:ben', 'sms:cora'].sort());
    // Kept for the record, marked cancelled with the reason; `notify retry` does not queue them again.
    const anas = await ctx.db('notifications').where({ template: 'suspension' }).whereIn('recipient', ['ana@example.net', phoneOf('ana')]).select('channel', 'status', 'last_error', 'sent_at').orderBy('channel');
    expect(anas).toEqual([
      { channel: 'email', status: 'cancelled', last_error: CANCELLED_ERROR, sent_at: null },
      { channel: 'sms', status: 'cancelled', last_error: CANCELLED_ERROR, sent_at: null },
    ]);
    expect(notices.every((a) => a.routerHadThemDisabled === 'false')).toBe(true);
    expect(secret('ben')?.disabled).toBe('true');
    expect(secret('cora')?.disabled).toBe('true');
    // Dan's SMS is still being retried: his suspension still waits.
    expect(secret('dan')?.disabled).toBe('false');
  });

  it('a notice that cannot be delivered within the hold is given up, then the suspension goes ahead; it never arrives after it', async () => {
    at('2026-11-25T02:30:00Z'); // within the 120-minute hold: still waiting
    await runJobs(ctx, drivers, { timeoutMs: 5000 });
    expect(secret('dan')?.disabled).toBe('false');
    at('2026-11-25T03:01:00Z'); // the hold has passed
    refused.delete(phoneOf('dan')); // the gateway would now take it, but it is too late
    const s = await sendNotifications(ctx, {});
    expect(s.givenUp).toBe(1);
    expect(s.sent).toBe(0);
    const dan = await ctx.db('notifications').where({ channel: 'sms', recipient: phoneOf('dan') }).first('status', 'last_error');
    expect(dan).toEqual({ status: 'failed', last_error: GIVEN_UP_ERROR });
    await runJobs(ctx, drivers, { timeoutMs: 5000 });
    expect(secret('dan')?.disabled).toBe('true');
    expect(arrivals.filter((a) => a.channel === 'sms' && a.to === phoneOf('dan'))).toEqual([]);
  });

  it('carried through as the command does it, a suspension still waiting for its notice is left queued, not held by the run, and goes ahead when the notice is given up', async () => {
    // Ben pays November and is restored; his December invoice goes unpaid.
    at('2026-11-30T00:00:00Z');
    await recordPayment(ctx, { subscriber: 'ben', amount: '1500', method: 'cash', reference: 'OR-2' });
    await runJobs(ctx, drivers, { timeoutMs: 5000 });
    expect(secret('ben')?.disabled).toBe('false');
    at('2026-12-01T00:00:00Z');
    await generateInvoices(ctx, {});
    refused.add(phoneOf('ben')); // his suspension SMS cannot be delivered

    at('2026-12-25T01:00:00Z');
    const through = await runCollectionsThrough(ctx, { force: true }, { apply: { drivers, timeoutMs: 5000 } });
    expect(through.run.suspended).toHaveLength(1);
    expect(through.notices).toMatchObject({ sent: 1, retrying: 1 });
    // The run queued its router work held for itself; the suspension waiting for the SMS went back
    // to the queue (anyone's, due at once, still waiting for its notice), the router untouched.
    expect(secret('ben')?.disabled).toBe('false');
    expect(through.routers).toMatchObject({ status: 'partial', applied: 0, remaining: 1 });
    const jobs = await ctx.db('provisioning_jobs').whereIn('id', through.run.jobIds).select('status', 'claimed_by');
    expect(jobs).toEqual([{ status: 'pending', claimed_by: null }]);
    expect((await runJobs(ctx, drivers, { timeoutMs: 5000 })).claimed).toBe(0);

    at('2026-12-25T03:05:00Z'); // the hold has passed: the notice is given up, the suspension goes ahead
    expect((await sendNotifications(ctx, {})).givenUp).toBe(1);
    await runJobs(ctx, drivers, { timeoutMs: 5000 });
    expect(secret('ben')?.disabled).toBe('true');
    refused.delete(phoneOf('ben'));
  });

  it('an SMS gateway answering 429 with Retry-After is left alone for as long as it asked; nothing is lost or counted as a failed attempt', async () => {
    await setSettings(ctx, { 'notify-channels': 'sms', 'notify-sms-concurrency': '1' });
    const subs: Array<{ id: number }> = await ctx.db('subscribers').orderBy('id').select('id');
    const q = await queueNotifications(
      ctx.db,
      ctx,
      Array.from({ length: 10 }, (_, i) => ({ subscriberId: subs[i % subs.length]!.id, eventKey: `restoration:test:${i}`, template: 'restoration' as const, data: {} })),
    );
    expect(q.queued).toBe(10);
    // The gateway takes three, then asks for two minutes.
    let taken = 0;
    const before = gatewayRequests;
    gatewayAnswer = { status: 200 };
    const original = gateway.listeners('request')[0] as (...a: unknown[]) => void;
    gateway.removeAllListeners('request');
    gateway.on('request', (req, res) => {
      if (taken >= 3) gatewayAnswer = { status: 429, retryAfter: '120' };
      taken++;
      original(req, res);
    });
    const first = await sendNotifications(ctx, { ids: q.ids });
    expect(first).toMatchObject({ claimed: 10, sent: 3, retrying: 0, failed: 0, deferred: 7, more: true });
    expect(gatewayRequests - before).toBe(4); // three taken, one told to wait, none after that
    const rows: Array<{ status: string; attempts: number; next_attempt_at: Date }> = await ctx.db('notifications').whereIn('id', q.ids).where('status', 'pending').select('status', 'attempts', 'next_attempt_at');
    expect(rows).toHaveLength(7);
    for (const r of rows) {
      expect(r.attempts).toBe(0);
      expect(r.next_attempt_at.getTime()).toBeGreaterThanOrEqual(clock.now().getTime() + 115_000);
    }
    // Asked again within the two minutes: the gateway is not called.
    expect(await sendNotifications(ctx, { ids: q.ids })).toMatchObject({ claimed: 0 });
    expect(gatewayRequests - before).toBe(4);
    // After it: the rest goes, each once.
    gatewayAnswer = { status: 200 };
    taken = -1000;
    at(new Date(clock.now().getTime() + 121_000).toISOString());
    expect(await sendNotifications(ctx, { ids: q.ids })).toMatchObject({ claimed: 7, sent: 7 });
    expect(gatewayRequests - before).toBe(11);
    expect(Number((await ctx.db('notifications').whereIn('id', q.ids).where('status', 'sent').count('* as n').first())!.n)).toBe(10);
  });
});
