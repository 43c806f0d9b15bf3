// The collections state machine on both engines, with a fixed clock walking through a billing
// cycle: reminders at their offsets, the warning, suspension after due date plus grace (not
// before), partial payments, automatic reconnection, admin suspensions, and idempotency.
import { beforeAll, expect, test } from 'vitest';
import type { Knex } from 'knex';
import { FixedClock } from '../../src/core/clock.js';
import { evaluateCollections, type EvaluateResult } from '../../src/core/collections/evaluate.js';
import { runCollections } from '../../src/core/collections/run.js';
import { withTransaction } from '../../src/core/db/tx.js';
import { queueReceipt } from '../../src/core/notify/receipt.js';
import { provisionChanges } from '../../src/core/provisioning/access.js';
import { setSettings } from '../../src/core/settings/service.js';
import { describeEachEngine, type TestDb } from '../helpers/db.js';

const MANILA_9AM = (date: string) => `${date}T01:00:00Z`;

interface Seed {
  routerId: number;
  planId: number;
  subs: Record<'ana' | 'ben' | 'cora' | 'dan' | 'eva', { id: number; serviceId: number; invoiceId: number }>;
}

async function seed(k: Knex, clock: FixedClock, db: TestDb): Promise<Seed> {
  await setSettings(db.ctx(clock), {
    'isp-name': 'Bayan Net',
    currency: 'PHP',
    timezone: 'Asia/Manila',
    'grace-days': '5',
    'reminder-days': '-3,0,3',
    'warning-days': '1',
    'smtp-url': 'smtp://127.0.0.1:2525',
    'mail-from': 'Bayan Net <billing@bayan.example>',
    'sms-url': 'http://127.0.0.1:9/sms',
  });
  const [router] = await k('routers').insert({ name: 'core1', host: '127.0.0.1', api_user: 'admin', api_password_enc: 'x', radius_secret_enc: 'x', mode: 'api' }).returning('id');
  const [plan] = await k('plans').insert({ name: 'Fiber 1500', price_minor: 150000n, currency: 'PHP', download_kbps: 50000, upload_kbps: 20000 }).returning('id');
  const subs = {} as Seed['subs'];
  const names = { ana: 'Ana Reyes', ben: 'Ben Santos', cora: 'Cora Lim', dan: 'Dan Cruz', eva: 'Eva Tan' } as const;
  let n = 0;
  for (const [key, fullName] of Object.entries(names) as Array<[keyof typeof names, string]>) {
    n++;
    const [sub] = await k('subscribers').insert({ full_name: fullName, email: `${key}@example.net`, phone: `+6391700000${n}` }).returning('id');
    const [svc] = await k('services')
      .insert({ subscriber_id: sub.id, plan_id: plan.id, router_id: router.id, username: key, password: 'pw', started_on: '2026-10-01', created_at: clock.now(), updated_at: clock.now() })
      .returning('id');
    const [inv] = await k('invoices')
      .insert({
        number: `INV-2026-00000${n}`,
        subscriber_id: sub.id,
        period_key: '2026-11',
        period_start: '2026-11-01',
        period_end: '2026-11-30',
        issue_date: '2026-11-01',
        due_date: '2026-11-16',
        currency: 'PHP',
        subtotal_minor: 150000n,
        total_minor: 150000n,
        status: 'sent',
        created_at: clock.now(),
        updated_at: clock.now(),
      })
      .returning('id');
    subs[key] = { id: Number(sub.id), serviceId: Number(svc.id), invoiceId: Number(inv.id) };
  }
  // Dan is suspended by an administrator from the start.
  await k('services').where({ id: subs.dan.serviceId }).update({ admin_status: 'suspended', admin_reason: 'abuse report', admin_suspended_at: clock.now() });
  await provisionChanges(k, { clock }, { all: true });
  await k('provisioning_jobs').update({ status: 'done', done_at: clock.now() });
  return { routerId: Number(router.id), planId: Number(plan.id), subs };
}

/** A payment with its allocation, as the ledger records it (allocation, then paid recomputed). */
async function pay(k: Knex, clock: FixedClock, sub: { id: number; invoiceId: number }, amount: bigint, reference: string): Promise<number> {
  const [p] = await k('payments')
    .insert({ subscriber_id: sub.id, amount_minor: amount, currency: 'PHP', method: 'gcash', reference, received_at: clock.now(), recorded_at: clock.now() })
    .returning('id');
  await k('payment_allocations').insert({ payment_id: p.id, invoice_id: sub.invoiceId, amount_minor: amount, created_at: clock.now() });
  await k.raw(
    `update invoices i set paid_minor = a.s, status = case when a.s >= i.total_minor then 'paid' else 'partially_paid' end
       from (select invoice_id, sum(amount_minor) as s from payment_allocations where reversed_at is null group by invoice_id) a
      where a.invoice_id = i.id and i.id = ?`,
    [sub.invoiceId],
  );
  return Number(p.id);
}

async function statuses(k: Knex): Promise<Record<string, string>> {
  const rows: Array<{ username: string; collection_status: string; access_state: string }> = await k('services').orderBy('id').select('username', 'collection_status', 'access_state');
  return Object.fromEntries(rows.map((r) => [r.username, `${r.collection_status}/${r.access_state}`]));
}

describeEachEngine('collections state machine', (db) => {
  const clock = new FixedClock(MANILA_9AM('2026-11-01'));
  let s: Seed;
  let k: Knex;
  const ctx = () => db().ctx(clock);
  const day = (date: string) => clock.set(MANILA_9AM(date));
  const run = async (opts: { subscriberIds?: number[] } = {}): Promise<EvaluateResult> => withTransaction(k, (trx) => evaluateCollections(trx, ctx(), opts));
  const idOf = (key: keyof Seed['subs']) => s.subs[key].id;

  beforeAll(async () => {
    k = db().knex;
    s = await seed(k, clock, db());
    // Cora pays in full early; Eva pays in full too, then nothing should ever happen to her.
    day('2026-11-05');
    await pay(k, clock, s.subs.cora, 150000n, 'GC-1001');
    await pay(k, clock, s.subs.eva, 150000n, 'GC-1002');
  });

  test('nothing happens before the first reminder offset', async () => {
    day('2026-11-12');
    const r = await run();
    expect(r).toMatchObject({ today: '2026-11-12', reminded: [], warned: [], suspended: [], restored: [], events: 0, jobIds: [] });
  });

  test('reminder 3 days before the due date, once, to the unpaid only (admin-suspended too: they owe)', async () => {
    day('2026-11-13');
    const r = await run();
    expect(r.reminded.sort()).toEqual([idOf('ana'), idOf('ben'), idOf('dan')].sort());
    expect(r.events).toBe(3);
    expect(r.jobIds).toEqual([]);
    const events = await k('collection_events').where('kind', 'reminder').orderBy('id').pluck('event_key');
    expect(events).toEqual([`reminder:inv:${s.subs.ana.invoiceId}:-3`, `reminder:inv:${s.subs.ben.invoiceId}:-3`, `reminder:inv:${s.subs.dan.invoiceId}:-3`]);
    // One email and one SMS each, rendered in pesos and Manila dates.
    const mail = await k('notifications').where({ subscriber_id: idOf('ana'), channel: 'email' }).first();
    expect(mail.subject).toBe('Bayan Net: invoice INV-2026-000001 for ₱1,500.00 is due Nov 16, 2026');
    expect(mail.body).toContain('Dear Ana Reyes,');
    expect(Number((await k('notifications').count('* as n').first())!.n)).toBe(6);
    expect(await statuses(k)).toMatchObject({ ana: 'reminded/active', ben: 'reminded/active', cora: 'current/active', dan: 'reminded/blocked', eva: 'current/active' });
    // Running again the same day changes nothing.
    const again = await run();
    expect(again).toMatchObject({ reminded: [], events: 0, notifications: 0, transitions: [] });
  });

  test('no reminder on days between offsets; the next offset reminds again', async () => {
    day('2026-11-14');
    expect((await run()).events).toBe(0);
    day('2026-11-16');
    const r = await run();
    expect(r.reminded.sort()).toEqual([idOf('ana'), idOf('ben'), idOf('dan')].sort());
    expect(await k('collection_events').where('event_key', `reminder:inv:${s.subs.ana.invoiceId}:0`).first()).toBeTruthy();
    expect((await run()).events).toBe(0);
  });

  test('Ben pays half: still reminded after due date at +3', async () => {
    day('2026-11-18');
    await pay(k, clock, s.subs.ben, 75000n, 'GC-2001');
    const r = await run({ subscriberIds: [idOf('ben')] });
    expect(r.events).toBe(0);
    day('2026-11-19');
    const r2 = await run();
    expect(r2.reminded.sort()).toEqual([idOf('ana'), idOf('ben'), idOf('dan')].sort());
    const benSms = await k('notifications').where({ event_key: `reminder:inv:${s.subs.ben.invoiceId}:3`, channel: 'sms' }).first();
    expect(benSms.body).toContain('₱750.00');
  });

  test('warning one day before suspension (on due date plus grace), not suspended yet', async () => {
    day('2026-11-20');
    expect((await run()).events).toBe(0);
    day('2026-11-21');
    const r = await run();
    expect(r.warned.sort()).toEqual([idOf('ana'), idOf('ben'), idOf('dan')].sort());
    expect(r.suspended).toEqual([]);
    const warning = await k('notifications').where({ event_key: `warning:sub:${idOf('ana')}:inv:${s.subs.ana.invoiceId}`, channel: 'email' }).first();
    expect(warning.body).toContain('please pay before Nov 22, 2026');
    expect(await statuses(k)).toMatchObject({ ana: 'warned/active', ben: 'warned/active', dan: 'warned/blocked' });
    expect((await run()).events).toBe(0);
  });

  test('suspended the day after due date plus grace; a partial payment does not save the rest; admin suspension untouched', async () => {
    day('2026-11-22');
    const dry = await runCollections(ctx(), { dryRun: true });
    expect(dry.suspended.sort()).toEqual([idOf('ana'), idOf('ben'), idOf('dan')].sort());
    expect(await statuses(k)).toMatchObject({ ana: 'warned/active' }); // dry run wrote nothing
    const r = await run();
    expect(r.suspended.sort()).toEqual([idOf('ana'), idOf('ben'), idOf('dan')].sort());
    expect(await statuses(k)).toEqual({ ana: 'suspended/blocked', ben: 'suspended/blocked', cora: 'current/active', dan: 'suspended/blocked', eva: 'current/active' });
    // Jobs for the two whose access changed; none for the admin-suspended one (already blocked).
    const jobs = await k('provisioning_jobs').whereIn('id', r.jobIds).orderBy('service_id').select('service_id', 'kind', 'status');
    expect(jobs).toEqual([
      { service_id: s.subs.ana.serviceId, kind: 'service', status: 'pending' },
      { service_id: s.subs.ben.serviceId, kind: 'service', status: 'pending' },
    ]);
    const ben = await k('collection_events').where({ subscriber_id: idOf('ben'), kind: 'suspension' }).first();
    expect(ben.event_key).toBe(`suspension:sub:${idOf('ben')}:inv:${s.subs.ben.invoiceId}:1`);
    expect(ben.reason).toBe('Invoice INV-2026-000002 (due 2026-11-16) unpaid after 5 days of grace; overdue balance ₱750.00');
    const dan = await k('services').where({ id: s.subs.dan.serviceId }).first();
    expect(dan).toMatchObject({ admin_status: 'suspended', admin_reason: 'abuse report', access_reason: 'admin_suspended' });
    const again = await run();
    expect(again).toMatchObject({ events: 0, jobIds: [], transitions: [] });
  });

  test('paying the rest restores access at once: restored, router job queued, restoration message', async () => {
    day('2026-11-23');
    await k('provisioning_jobs').update({ status: 'done', done_at: clock.now() });
    const paymentId = await withTransaction(k, async (trx) => {
      const id = await pay(trx, clock, s.subs.ben, 75000n, 'GC-2002');
      await queueReceipt(trx, ctx(), { paymentId: id });
      return id;
    });
    const r = await run({ subscriberIds: [idOf('ben')] });
    expect(r.restored).toEqual([idOf('ben')]);
    expect(r.jobIds).toHaveLength(1);
    const job = await k('provisioning_jobs').where({ id: r.jobIds[0] }).first();
    expect(job).toMatchObject({ service_id: s.subs.ben.serviceId, kind: 'service', status: 'pending' });
    expect(await statuses(k)).toMatchObject({ ben: 'restored/active', ana: 'suspended/blocked' });
    const msgs = await k('notifications').where({ subscriber_id: idOf('ben') }).whereIn('template', ['restoration', 'receipt']).orderBy('id').select('template', 'channel', 'event_key', 'body');
    expect(msgs.map((m) => `${m.template}/${m.channel}`)).toEqual(['receipt/email', 'receipt/sms', 'restoration/email', 'restoration/sms']);
    expect(msgs[0]!.event_key).toBe(`receipt:payment:${paymentId}`);
    expect(msgs[0]!.body).toContain('Amount: ₱750.00');
    expect(msgs[0]!.body).toContain('Remaining balance: ₱0.00');
    // The receipt is queued once however often it is asked for.
    const again = await queueReceipt(k, ctx(), { paymentId });
    expect(again).toMatchObject({ queued: 0, duplicates: 2 });
  });

  test('an admin-suspended subscriber who pays is never restored by it', async () => {
    await pay(k, clock, s.subs.dan, 150000n, 'GC-3001');
    const r = await run({ subscriberIds: [idOf('dan')] });
    expect(r.restored).toEqual([]);
    expect(r.cleared).toEqual([idOf('dan')]);
    expect(r.jobIds).toEqual([]);
    expect(await statuses(k)).toMatchObject({ dan: 'current/blocked' });
    expect(await k('notifications').where({ subscriber_id: idOf('dan'), template: 'restoration' })).toEqual([]);
  });

  test('restored becomes current on the next run once nothing is due', async () => {
    day('2026-11-24');
    const r = await run();
    expect(r.cleared).toEqual([idOf('ben')]);
    expect(await statuses(k)).toMatchObject({ ben: 'current/active', ana: 'suspended/blocked' });
    expect((await run()).events).toBe(0);
  });

  test('two runs at once change everything once', async () => {
    await pay(k, clock, s.subs.ana, 150000n, 'GC-4001');
    const [a, b] = await Promise.all([run(), run()]);
    expect([...a.restored, ...b.restored]).toEqual([idOf('ana')]);
    expect(Number((await k('collection_events').where({ subscriber_id: idOf('ana'), kind: 'restoration' }).count('* as n').first())!.n)).toBe(1);
    expect(Number((await k('notifications').where({ subscriber_id: idOf('ana'), template: 'restoration' }).count('* as n').first())!.n)).toBe(2);
  });

  test('a voided payment puts the subscriber back: suspended again under a new event key', async () => {
    day('2026-11-25');
    await k('payment_allocations').whereIn('payment_id', k('payments').select('id').where('reference', 'GC-4001')).update({ reversed_at: clock.now() });
    await k('payments').where('reference', 'GC-4001').update({ voided_at: clock.now(), void_reason: 'bounced' });
    await k('invoices').where({ id: s.subs.ana.invoiceId }).update({ paid_minor: 0, status: 'overdue' });
    const r = await run();
    expect(r.suspended).toEqual([idOf('ana')]);
    expect(await k('collection_events').where({ subscriber_id: idOf('ana'), kind: 'suspension' }).orderBy('id').pluck('event_key')).toEqual([
      `suspension:sub:${idOf('ana')}:inv:${s.subs.ana.invoiceId}:1`,
      `suspension:sub:${idOf('ana')}:inv:${s.subs.ana.invoiceId}:2`,
    ]);
  });

  test('unallocated credit covering the overdue amount never suspends (no suspension with a zero balance)', async () => {
    // A payment the ledger has not allocated yet: credit equal to what is owed.
    await k('payments').insert({ subscriber_id: idOf('ana'), amount_minor: 150000n, currency: 'PHP', method: 'cash', reference: 'OR-1', received_at: clock.now(), recorded_at: clock.now() });
    const r = await run({ subscriberIds: [idOf('ana')] });
    expect(r.restored).toEqual([idOf('ana')]);
  });
});

describeEachEngine('collections with prepaid plans and throttling', (db) => {
  test('a prepaid invoice suspends the day after its due date, without grace; throttle per setting', async () => {
    const k = db().knex;
    const clock = new FixedClock(MANILA_9AM('2026-11-25'));
    const ctx = db().ctx(clock);
    await setSettings(ctx, { 'isp-name': 'Bayan Net', timezone: 'Asia/Manila', 'grace-days': '5', 'suspension-action': 'throttle', 'notify-channels': 'none' });
    const [router] = await k('routers').insert({ name: 'r1', host: '127.0.0.1', api_user: 'a', api_password_enc: 'x', radius_secret_enc: 'x', mode: 'api' }).returning('id');
    const [plan] = await k('plans').insert({ name: 'Prepaid 999', price_minor: 99900n, currency: 'PHP', download_kbps: 25000, upload_kbps: 10000, billing_type: 'prepaid' }).returning('id');
    const [sub] = await k('subscribers').insert({ full_name: 'Pia Go' }).returning('id');
    const [svc] = await k('services').insert({ subscriber_id: sub.id, plan_id: plan.id, router_id: router.id, username: 'pia', password: 'pw', started_on: '2026-11-01' }).returning('id');
    const [inv] = await k('invoices')
      .insert({ number: 'INV-P-1', subscriber_id: sub.id, period_key: '2026-12', period_start: '2026-12-01', period_end: '2026-12-31', issue_date: '2026-11-25', due_date: '2026-12-01', currency: 'PHP', subtotal_minor: 99900n, total_minor: 99900n, created_at: clock.now(), updated_at: clock.now() })
      .returning('id');
    await k('invoice_lines').insert({ invoice_id: inv.id, service_id: svc.id, period_key: '2026-12', plan_id: plan.id, description: 'Prepaid 999', price_source: 'plan', unit_price_minor: 99900n, days: 31, period_days: 31, amount_minor: 99900n, total_minor: 99900n, created_at: clock.now() });
    await provisionChanges(k, { clock }, { all: true });
    const run = (date: string) => withTransaction(k, (trx) => evaluateCollections(trx, ctx, { today: date }));
    expect((await run('2026-11-30')).reminded).toEqual([Number(sub.id)]); // 3 days before, reached on the 28th
    const due = await run('2026-12-01'); // the due date: the warning, one day before suspension
    expect(due.warned).toEqual([Number(sub.id)]);
    expect(due.suspended).toEqual([]);
    const r = await run('2026-12-02');
    expect(r.suspended).toEqual([Number(sub.id)]);
    expect(r.notifications).toBe(0); // notify-channels none
    const row = await k('services').where({ id: svc.id }).first('collection_status', 'access_state', 'rate_limit');
    expect(row).toEqual({ collection_status: 'suspended', access_state: 'throttled', rate_limit: '1M/1M' });
    const ev = await k('collection_events').where({ kind: 'suspension' }).first();
    expect(ev.reason).toContain('by its due date (no grace period)');
  });
});

describeEachEngine('collections and payments at once', (db) => {
  test('a full run and ten payments at the same time: no deadlock, each payer restored once, the rest stay suspended', async () => {
    const { recordPayment } = await import('../../src/core/payments/service.js');
    const k = db().knex;
    const clock = new FixedClock(MANILA_9AM('2026-11-22'));
    const ctx = db().ctx(clock);
    await setSettings(ctx, { 'isp-name': 'Bayan Net', currency: 'PHP', timezone: 'Asia/Manila', 'grace-days': '5', 'notify-channels': 'none' });
    const [router] = await k('routers').insert({ name: 'r1', host: '127.0.0.1', api_user: 'a', api_password_enc: 'x', radius_secret_enc: 'x', mode: 'api' }).returning('id');
    const [plan] = await k('plans').insert({ name: 'Fiber 1500', price_minor: 150000n, currency: 'PHP', download_kbps: 50000, upload_kbps: 20000 }).returning('id');
    const subs = await k('subscribers').insert(Array.from({ length: 30 }, (_, i) => ({ full_name: `Subscriber ${i}` }))).returning('id');
    await k('services').insert(subs.map((s, i) => ({ subscriber_id: s.id, plan_id: plan.id, router_id: router.id, username: `u${i}`, password: 'pw', started_on: '2026-10-01' })));
    await k('invoices').insert(
      subs.map((s, i) => ({ number: `INV-C-${i}`, subscriber_id: s.id, period_key: '2026-11', period_start: '2026-11-01', period_end: '2026-11-30', issue_date: '2026-11-01', due_date: '2026-11-16', currency: 'PHP', subtotal_minor: 150000n, total_minor: 150000n, created_at: clock.now(), updated_at: clock.now() })),
    );
    await provisionChanges(k, { clock }, { all: true });
    const first = await withTransaction(k, (trx) => evaluateCollections(trx, ctx));
    expect(first.suspended).toHaveLength(30);

    clock.set(MANILA_9AM('2026-11-23'));
    const payers = Array.from({ length: 10 }, (_, i) => `u${i * 3}`);
    const results = await Promise.allSettled([
      withTransaction(k, (trx) => evaluateCollections(trx, ctx)),
      ...payers.map((u, i) => recordPayment(ctx, { subscriber: u, amount: '1500', method: 'gcash', reference: `GC-RACE-${i}` })),
      withTransaction(k, (trx) => evaluateCollections(trx, ctx)),
    ]);
    expect(results.filter((r) => r.status === 'rejected')).toEqual([]);
    const rows: Array<{ username: string; collection_status: string; access_state: string }> = await k('services').orderBy('id').select('username', 'collection_status', 'access_state');
    for (const r of rows) {
      if (payers.includes(r.username)) {
        expect(['restored', 'current']).toContain(r.collection_status);
        expect(r.access_state).toBe('active');
      } else {
        expect(r).toMatchObject({ collection_status: 'suspended', access_state: 'blocked' });
      }
    }
    const restorations = await k('collection_events').where('kind', 'restoration').select('subscriber_id');
    expect(restorations).toHaveLength(10);
    expect(new Set(restorations.map((r) => r.subscriber_id)).size).toBe(10);
  });
});
