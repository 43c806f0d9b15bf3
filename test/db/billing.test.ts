// Invoice generation on both engines, with a fixed clock travelling through November and
// December 2026 (time zone Asia/Manila, billing day 1, due in 15 days). Amounts to the centavo.
import { beforeAll, expect, it } from 'vitest';
import { FixedClock } from '../../src/core/clock.js';
import type { ServiceContext } from '../../src/core/context.js';
import { openDatabase } from '../../src/core/db/connection.js';
import { generateInvoices, type GenerateProgress } from '../../src/core/billing/generate.js';
import { priceLine, type PlanPrice } from '../../src/core/billing/pricing.js';
import { billedRange } from '../../src/core/billing/proration.js';
import { showInvoice } from '../../src/core/billing/invoices.js';
import { createPlan } from '../../src/core/plans/service.js';
import { provisionChanges } from '../../src/core/provisioning/access.js';
import { setSettings } from '../../src/core/settings/service.js';
import { addSubscriber, editSubscriber, resumeSubscriber, suspendSubscriber, type SubscriberInput } from '../../src/core/subscribers/service.js';
import { describeEachEngine, type TestDb } from '../helpers/db.js';
import { seedIsp, testContext } from '../helpers/fixtures.js';

async function setUp(db: TestDb, clock: FixedClock): Promise<ServiceContext> {
  const ctx = testContext(db, clock);
  await seedIsp(ctx, { routers: [{ host: '127.0.0.61' }], plans: [{}, { name: 'Home 25', price: '999', download: '25M', upload: '5M' }] });
  return ctx;
}

async function add(ctx: ServiceContext, username: string, extra: Partial<SubscriberInput> = {}) {
  const r = await addSubscriber(ctx, { fullName: `Subscriber ${username}`, username, plan: 'Fiber 50', router: 'core1', startDate: '2026-10-01', ...extra });
  return { subscriberId: r.subscriber.id, serviceId: r.service.id, accountNo: r.subscriber.accountNo };
}

async function linesOf(db: TestDb, serviceId: number) {
  return db.knex('invoice_lines').where({ service_id: serviceId }).orderBy('id');
}

describeEachEngine('billing generate', (db) => {
  const clock = new FixedClock('2026-10-01T02:00:00Z');
  let ctx: ServiceContext;
  const subs: Record<string, Awaited<ReturnType<typeof add>>> = {};

  beforeAll(async () => {
    ctx = await setUp(db(), clock);
    for (const u of ['ana', 'ben', 'cora']) subs[u] = await add(ctx, u);
  });

  it('bills three subscribers at 1,500.00 on the billing day: three invoices of 150000, due in 15 days', async () => {
    clock.set('2026-11-01T00:30:00+08:00');
    const r = await generateInvoices(ctx);
    expect(r).toMatchObject({ period: { key: '2026-11', start: '2026-11-01', end: '2026-11-30', days: 30 }, issueDate: '2026-11-01', invoices: 3, lines: 3, totalMinor: 450000n, currency: 'PHP', alreadyInvoiced: 0, skipped: [] });
    expect(r.firstNumber).toBe('INV-2026-000001');
    expect(r.lastNumber).toBe('INV-2026-000003');
    const invoices = await db().knex('invoices').orderBy('id');
    expect(invoices.map((i) => [i.number, i.total_minor, i.subtotal_minor, i.discount_minor, i.paid_minor, i.due_date, i.issue_date, i.status, i.currency])).toEqual([
      ['INV-2026-000001', 150000n, 150000n, 0n, 0n, '2026-11-16', '2026-11-01', 'issued', 'PHP'],
      ['INV-2026-000002', 150000n, 150000n, 0n, 0n, '2026-11-16', '2026-11-01', 'issued', 'PHP'],
      ['INV-2026-000003', 150000n, 150000n, 0n, 0n, '2026-11-16', '2026-11-01', 'issued', 'PHP'],
    ]);
    const [line] = await linesOf(db(), subs.ana!.serviceId);
    expect(line).toMatchObject({ period_key: '2026-11', price_source: 'plan', unit_price_minor: 150000n, days: 30, period_days: 30, amount_minor: 150000n, discount_minor: 0n, total_minor: 150000n, segments: null });
    const audits = await db().knex('audit_log').where({ entity_type: 'billing', action: 'generate' });
    expect(audits).toHaveLength(1);
    expect(audits[0].after).toMatchObject({ period: '2026-11', invoices: 3, lines: 3, totalMinor: '450000' });
  });

  it('running it again adds nothing: one line per service and period, no invoice number used up', async () => {
    const again = await generateInvoices(ctx);
    expect(again).toMatchObject({ invoices: 0, lines: 0, totalMinor: 0n, alreadyInvoiced: 3 });
    const [{ n }] = await db().knex('invoice_lines').count({ n: '*' });
    expect(Number(n)).toBe(3);
    const dry = await generateInvoices(ctx, { dryRun: true });
    expect(dry).toMatchObject({ dryRun: true, invoices: 0, lines: 0, alreadyInvoiced: 3 });
  });

  it('a second service of a subscriber already billed for the period goes onto that invoice, and its total follows', async () => {
    const svc = (await db().knex('services').where({ id: subs.ana!.serviceId }).first()) as { plan_id: number; router_id: number };
    const [extra] = (await db()
      .knex('services')
      .insert({ subscriber_id: subs.ana!.subscriberId, plan_id: svc.plan_id, router_id: svc.router_id, username: 'ana2', password: 'pw-ana2', started_on: '2026-10-01', access_state: 'active', access_reason: 'ok', rate_limit: '10M/50M', created_at: clock.now(), updated_at: clock.now() })
      .returning('id')) as Array<{ id: number }>;
    const r = await generateInvoices(ctx);
    expect(r).toMatchObject({ invoices: 0, invoicesExtended: 1, lines: 1, totalMinor: 150000n, alreadyInvoiced: 3 });
    const [line] = await linesOf(db(), extra!.id);
    const invoice = await db().knex('invoices').where({ id: line.invoice_id }).first();
    expect(invoice).toMatchObject({ subscriber_id: subs.ana!.subscriberId, number: 'INV-2026-000001', subtotal_minor: 300000n, total_minor: 300000n, status: 'issued' });
    // Ended before the period it would be billed for next, so the later tests see the same three subscribers.
    await db().knex('services').where({ id: extra!.id }).update({ ended_on: '2026-11-01' });
  });

  it('a service priced in JavaScript (started part way through) for a subscriber already billed goes onto that invoice too', async () => {
    const svc = (await db().knex('services').where({ id: subs.ben!.serviceId }).first()) as { plan_id: number; router_id: number };
    const [extra] = (await db()
      .knex('services')
      .insert({ subscriber_id: subs.ben!.subscriberId, plan_id: svc.plan_id, router_id: svc.router_id, username: 'ben2', password: 'pw-ben2', started_on: '2026-11-16', access_state: 'active', access_reason: 'ok', rate_limit: '10M/50M', created_at: clock.now(), updated_at: clock.now() })
      .returning('id')) as Array<{ id: number }>;
    const dry = await generateInvoices(ctx, { dryRun: true });
    expect(dry).toMatchObject({ invoices: 0, invoicesExtended: 1, lines: 1, totalMinor: 75000n, alreadyInvoiced: 3 });
    const r = await generateInvoices(ctx);
    expect(r).toMatchObject({ invoices: 0, invoicesExtended: 1, lines: 1, totalMinor: 75000n, alreadyInvoiced: 3, invoiceIds: [] });
    const [line] = await linesOf(db(), extra!.id);
    expect(line).toMatchObject({ days: 15, period_days: 30, amount_minor: 75000n, total_minor: 75000n });
    const invoice = await db().knex('invoices').where({ id: line.invoice_id }).first();
    expect(invoice).toMatchObject({ subscriber_id: subs.ben!.subscriberId, number: 'INV-2026-000002', subtotal_minor: 225000n, total_minor: 225000n, status: 'issued' });
    expect(await generateInvoices(ctx)).toMatchObject({ invoices: 0, lines: 0, alreadyInvoiced: 4 });
    await db().knex('services').where({ id: extra!.id }).update({ ended_on: '2026-11-17' });
  });

  it('a dry run shows the same summary and writes nothing, not even an invoice number', async () => {
    const dana = await add(ctx, 'dana', { price: '1,200', discount: '10%' });
    subs.dana = dana;
    const before = await db().knex('invoices').count({ n: '*' });
    const dry = await generateInvoices(ctx, { dryRun: true });
    expect(dry).toMatchObject({ dryRun: true, invoices: 1, lines: 1, totalMinor: 108000n, invoiceIds: [] });
    expect(await db().knex('invoices').count({ n: '*' })).toEqual(before);
    const real = await generateInvoices(ctx);
    expect(real).toMatchObject({ invoices: 1, lines: 1, totalMinor: 108000n, firstNumber: 'INV-2026-000004' });
  });

  it('snapshots the individual price and discount; editing them changes only the next invoice', async () => {
    const dana = subs.dana!;
    const [nov] = await linesOf(db(), dana.serviceId);
    expect(nov).toMatchObject({ price_source: 'individual', unit_price_minor: 120000n, amount_minor: 120000n, discount_kind: 'percent', discount_value: 1000n, discount_minor: 12000n, total_minor: 108000n });
    clock.set('2026-11-20T09:00:00+08:00');
    await editSubscriber(ctx, 'dana', { price: '1,300', discount: '100' });
    clock.set('2026-12-01T08:00:00+08:00');
    const dec = await generateInvoices(ctx, { subscriberIds: [dana.subscriberId] });
    expect(dec).toMatchObject({ period: { key: '2026-12' }, invoices: 1, lines: 1, totalMinor: 120000n });
    const [novAfter, decLine] = await linesOf(db(), dana.serviceId);
    expect(novAfter).toMatchObject({ unit_price_minor: 120000n, discount_minor: 12000n, total_minor: 108000n });
    expect(decLine).toMatchObject({ period_key: '2026-12', price_source: 'individual', unit_price_minor: 130000n, discount_kind: 'fixed', discount_value: 10000n, discount_minor: 10000n, total_minor: 120000n, days: 31, period_days: 31 });
    const novInvoice = await db().knex('invoices').where({ id: novAfter.invoice_id }).first();
    expect(novInvoice.total_minor).toBe(108000n);
    // Invoice numbers come from the sequence, without gaps: 4 invoices in November, then this one.
    expect((await db().knex('invoices').where({ id: decLine.invoice_id }).first()).number).toBe('INV-2026-000005');
  });

  it('prorates a service that starts part way through the period: 15 of 30 days of 1,500.00 is 750.00', async () => {
    clock.set('2026-11-16T10:00:00+08:00');
    const emil = await add(ctx, 'emil', { startDate: '2026-11-16' });
    const r = await generateInvoices(ctx, { subscriberIds: [emil.subscriberId] });
    expect(r).toMatchObject({ period: { key: '2026-11' }, invoices: 1, lines: 1, totalMinor: 75000n });
    const [line] = await linesOf(db(), emil.serviceId);
    expect(line).toMatchObject({ days: 15, period_days: 30, unit_price_minor: 150000n, amount_minor: 75000n, total_minor: 75000n });
    expect(line.description).toContain('2026-11-16 to 2026-11-30 (15 of 30 days)');
    const inv = await db().knex('invoices').where({ id: line.invoice_id }).first();
    expect(inv).toMatchObject({ issue_date: '2026-11-16', due_date: '2026-12-01', total_minor: 75000n });
  });

  it('prorates a plan change part way through: two segments by days on one line', async () => {
    clock.set('2026-10-01T10:00:00+08:00');
    const fe = await add(ctx, 'fe', { plan: 'Home 25' });
    clock.set('2026-11-16T10:00:00+08:00');
    await editSubscriber(ctx, 'fe', { plan: 'Fiber 50' });
    clock.set('2026-12-01T10:00:00+08:00');
    const r = await generateInvoices(ctx, { period: '2026-11', subscriberIds: [fe.subscriberId] });
    expect(r).toMatchObject({ invoices: 1, lines: 1, totalMinor: 124950n });
    const [line] = await linesOf(db(), fe.serviceId);
    expect(line).toMatchObject({ days: 30, period_days: 30, amount_minor: 124950n, total_minor: 124950n, price_source: 'plan', unit_price_minor: 150000n });
    expect(line.segments).toEqual([
      { planId: expect.any(Number), planName: 'Home 25', from: '2026-11-01', to: '2026-11-15', days: 15, unitPriceMinor: '99900', amountMinor: '49950' },
      { planId: line.plan_id, planName: 'Fiber 50', from: '2026-11-16', to: '2026-11-30', days: 15, unitPriceMinor: '150000', amountMinor: '75000' },
    ]);
    const shown = await showInvoice(ctx, (await db().knex('invoices').where({ id: line.invoice_id }).first()).number);
    expect(shown.lines[0]!.segments!.map((s) => s.amountMinor)).toEqual([49950n, 75000n]);
    expect(shown.lines[0]!.description).toContain('Home 25 → Fiber 50');
  });

  it('skips services blocked for the whole period unless bill-suspended-services; resuming does not backfill', async () => {
    clock.set('2026-10-01T10:00:00+08:00');
    const gil = await add(ctx, 'gil');
    await provisionChanges(ctx.db, ctx, { serviceIds: [gil.serviceId] });
    clock.set('2026-10-20T10:00:00+08:00');
    await suspendSubscriber(ctx, 'gil', { reason: 'moved abroad for a while' });
    await provisionChanges(ctx.db, ctx, { serviceIds: [gil.serviceId] });
    clock.set('2026-11-02T10:00:00+08:00');
    const nov = await generateInvoices(ctx, { subscriberIds: [gil.subscriberId] });
    expect(nov).toMatchObject({ invoices: 0, lines: 0, skipped: [{ serviceId: gil.serviceId, username: 'gil', periodKey: '2026-11', reason: 'blocked' }] });
    expect((await generateInvoices(ctx, { subscriberIds: [gil.subscriberId], dryRun: true })).skipped).toHaveLength(1);

    await setSettings(ctx, { 'bill-suspended-services': true });
    expect(await generateInvoices(ctx, { subscriberIds: [gil.subscriberId], dryRun: true })).toMatchObject({ invoices: 1, lines: 1, totalMinor: 150000n, skipped: [] });
    await setSettings(ctx, { 'bill-suspended-services': false });

    clock.set('2026-11-10T10:00:00+08:00');
    await resumeSubscriber(ctx, 'gil');
    await provisionChanges(ctx.db, ctx, { serviceIds: [gil.serviceId] });
    clock.set('2026-12-01T10:00:00+08:00');
    const dec = await generateInvoices(ctx, { subscriberIds: [gil.subscriberId] });
    expect(dec).toMatchObject({ period: { key: '2026-12' }, invoices: 1, lines: 1, totalMinor: 150000n, skipped: [] });
    expect((await linesOf(db(), gil.serviceId)).map((l) => l.period_key)).toEqual(['2026-12']);
  });

  it('bills only the days before a service ended', async () => {
    clock.set('2026-10-01T10:00:00+08:00');
    const hugo = await add(ctx, 'hugo');
    await db().knex('services').where({ id: hugo.serviceId }).update({ ended_on: '2026-11-11' });
    clock.set('2026-12-01T10:00:00+08:00');
    const r = await generateInvoices(ctx, { period: '2026-11', subscriberIds: [hugo.subscriberId] });
    expect(r).toMatchObject({ lines: 1, totalMinor: 50000n }); // 10 of 30 days
    const dec = await generateInvoices(ctx, { subscriberIds: [hugo.subscriberId] });
    expect(dec).toMatchObject({ lines: 0, invoices: 0 });
  });

  it('prepaid plans are billed a period ahead, due at its start; their first partial period too', async () => {
    clock.set('2026-11-11T10:00:00+08:00');
    await createPlan(ctx, { name: 'Prepaid 20', price: '800', download: '20M', upload: '5M', billingType: 'prepaid' });
    const ivy = await add(ctx, 'ivy', { plan: 'Prepaid 20', startDate: '2026-11-11' });
    const r = await generateInvoices(ctx, { subscriberIds: [ivy.subscriberId] });
    expect(r).toMatchObject({ period: { key: '2026-11' }, prepaidPeriod: { key: '2026-12' }, invoices: 2, lines: 2 });
    const invs = await db().knex('invoices').where({ subscriber_id: ivy.subscriberId }).orderBy('period_key');
    expect(invs.map((i) => [i.period_key, i.total_minor, i.due_date])).toEqual([
      ['2026-11', 53333n, '2026-11-11'], // 20 of 30 days of 800.00 = 533.333… → 533.33, due at once
      ['2026-12', 80000n, '2026-12-01'],
    ]);
    expect(await generateInvoices(ctx, { subscriberIds: [ivy.subscriberId] })).toMatchObject({ invoices: 0, lines: 0, alreadyInvoiced: 2 });
  });
});

describeEachEngine('billing generate twice at once', (db) => {
  it('two runs on two connections give exactly one line per service and no gaps in invoice numbers', async () => {
    const clock = new FixedClock('2026-10-01T02:00:00Z');
    const ctx = await setUp(db(), clock);
    for (let i = 0; i < 40; i++) await add(ctx, `user${i}`);
    clock.set('2026-11-01T08:00:00+08:00');
    if (db().engine === 'postgres') {
      const other = await openDatabase({ engine: 'postgres', url: db().url! });
      try {
        const ctx2: ServiceContext = { ...ctx, db: other.knex };
        const [a, b] = await Promise.all([generateInvoices(ctx), generateInvoices(ctx2)]);
        expect(a.invoices + b.invoices).toBe(40);
        expect(a.lines + b.lines).toBe(40);
        expect(Math.min(a.invoices, b.invoices)).toBe(0);
      } finally {
        await other.close();
      }
    } else {
      // One connection: the runs queue up behind each other.
      const [a, b] = await Promise.all([generateInvoices(ctx), generateInvoices(ctx)]);
      expect(a.lines + b.lines).toBe(40);
    }
    const lines = await db().knex('invoice_lines').select('service_id', 'period_key');
    expect(lines).toHaveLength(40);
    expect(new Set(lines.map((l) => `${l.service_id}|${l.period_key}`)).size).toBe(40);
    const numbers = (await db().knex('invoices').orderBy('number').pluck('number')) as string[];
    expect(numbers).toEqual(Array.from({ length: 40 }, (_, i) => `INV-2026-${String(i + 1).padStart(6, '0')}`));
    const [{ last_value }] = (await db().knex.raw(`select last_value from invoice_number_counters where series = 'invoice'`)).rows;
    expect(Number(last_value)).toBe(40);
  });
});

describeEachEngine('billing generate in chunks', (db) => {
  it('the database prices the common line exactly as priceLine does, and a run in chunks numbers its invoices as one run would', async () => {
    const clock = new FixedClock('2026-10-01T02:00:00Z');
    const ctx = await setUp(db(), clock);
    // Priced by the database: a plan price, an individual price, a discount that ended before
    // the period. Priced by priceLine: a partial period, a discount that applies.
    const dan = await add(ctx, 'dan');
    const eve = await add(ctx, 'eve', { price: '1,234.56' });
    const gus = await add(ctx, 'gus', { plan: 'Home 25', discount: '10%', discountUntil: '2026-10-15' });
    const fay = await add(ctx, 'fay', { startDate: '2026-11-16' });
    const hal = await add(ctx, 'hal', { discount: '100' });
    clock.set('2026-11-01T08:00:00+08:00');
    const events: GenerateProgress[] = [];
    const r = await generateInvoices(ctx, { chunkServices: 2, onProgress: (p) => events.push(p) });
    expect(r).toMatchObject({ invoices: 5, lines: 5, chunks: 3, firstNumber: 'INV-2026-000001', lastNumber: 'INV-2026-000005' });
    // One progress update per chunk, counting services.
    expect(events.filter((e) => e.phase === 'invoices').map((e) => [e.done, e.total])).toEqual([[0, 5], [2, 5], [4, 5], [5, 5]]);
    const numbers = await db().knex('invoices').orderBy('subscriber_id').pluck('number');
    expect(numbers).toEqual(['INV-2026-000001', 'INV-2026-000002', 'INV-2026-000003', 'INV-2026-000004', 'INV-2026-000005']);

    const plans = new Map<number, PlanPrice>(
      ((await db().knex('plans').select('id', 'name', 'price_minor', 'currency')) as Array<{ id: number; name: string; price_minor: bigint; currency: string }>).map((p) => [p.id, { id: p.id, name: p.name, priceMinor: p.price_minor, currency: p.currency }]),
    );
    const period = { start: '2026-11-01', end: '2026-11-30', days: 30 };
    for (const who of [dan, eve, gus, fay, hal]) {
      const svc = (await db().knex('services').where({ id: who.serviceId }).first()) as {
        plan_id: number;
        started_on: string;
        ended_on: string | null;
        individual_price_minor: bigint | null;
        discount_kind: 'fixed' | 'percent' | null;
        discount_value: bigint | null;
        discount_until: string | null;
      };
      const discount = svc.discount_kind === 'fixed' ? { kind: 'fixed' as const, minor: svc.discount_value! } : svc.discount_kind === 'percent' ? { kind: 'percent' as const, basisPoints: Number(svc.discount_value) } : null;
      const range = billedRange(period, String(svc.started_on), svc.ended_on);
      const priced = priceLine({ period, range: range!, planId: svc.plan_id, individualPriceMinor: svc.individual_price_minor, discount, discountUntil: svc.discount_until }, { plans, currency: 'PHP' });
      if (!priced.ok) throw new Error('not priced');
      const [line] = await linesOf(db(), who.serviceId);
      const l = priced.line;
      expect(line).toMatchObject({
        plan_id: l.planId,
        description: l.description,
        price_source: l.priceSource,
        unit_price_minor: l.unitPriceMinor,
        days: l.days,
        period_days: l.periodDays,
        amount_minor: l.amountMinor,
        discount_kind: l.discountKind,
        discount_value: l.discountValue,
        discount_minor: l.discountMinor,
        total_minor: l.totalMinor,
        segments: null,
      });
    }
    expect((await linesOf(db(), eve.serviceId))[0]).toMatchObject({ description: 'Fiber 50 (individual price), 2026-11-01 to 2026-11-30', total_minor: 123456n });
    expect((await linesOf(db(), fay.serviceId))[0]).toMatchObject({ days: 15, total_minor: 75000n });

    // A dry run in chunks reports what a run would do and writes nothing; a run after it adds nothing.
    await add(ctx, 'ida');
    const before = await db().knex('invoice_number_counters').first('last_value');
    const dry = await generateInvoices(ctx, { chunkServices: 2, dryRun: true });
    expect(dry).toMatchObject({ dryRun: true, invoices: 1, lines: 1, totalMinor: 150000n, alreadyInvoiced: 5, invoiceIds: [], firstNumber: null });
    expect(await db().knex('invoice_number_counters').first('last_value')).toEqual(before);
    expect(await db().knex('invoices').count({ n: '*' }).first()).toMatchObject({ n: 5n });
  });
});

describeEachEngine('billing generate in chunks, lines grouped when they share an invoice', (db) => {
  it('a chunk where a subscriber has two new lines is written with them on one invoice, after chunks of one line each, numbers unbroken', async () => {
    const clock = new FixedClock('2026-10-01T02:00:00Z');
    const ctx = await setUp(db(), clock);
    const who: Array<Awaited<ReturnType<typeof add>>> = [];
    for (const u of ['jan', 'kim', 'lee', 'max', 'ned', 'oto']) who.push(await add(ctx, u));
    // A second service for lee (priced in JavaScript: it starts part way through) and for ned
    // (priced by the database): their chunks need grouping, the first one does not.
    const svc = (await db().knex('services').where({ id: who[0]!.serviceId }).first()) as { plan_id: number; router_id: number };
    const second = async (w: (typeof who)[number], username: string, startedOn: string) =>
      db()
        .knex('services')
        .insert({ subscriber_id: w.subscriberId, plan_id: svc.plan_id, router_id: svc.router_id, username, password: `pw-${username}`, started_on: startedOn, access_state: 'active', access_reason: 'ok', rate_limit: '10M/50M', created_at: clock.now(), updated_at: clock.now() });
    await second(who[2]!, 'lee2', '2026-11-16');
    await second(who[4]!, 'ned2', '2026-10-01');
    clock.set('2026-11-01T08:00:00+08:00');
    const r = await generateInvoices(ctx, { chunkServices: 2 });
    expect(r).toMatchObject({ invoices: 6, lines: 8, totalMinor: 8n * 150000n - 75000n, firstNumber: 'INV-2026-000001', lastNumber: 'INV-2026-000006' });
    const invoices = (await db().knex('invoices').orderBy('subscriber_id').select('id', 'number', 'subscriber_id', 'subtotal_minor', 'total_minor')) as Array<{ id: number; number: string; subscriber_id: number; subtotal_minor: bigint; total_minor: bigint }>;
    expect(invoices.map((i) => i.number)).toEqual(['INV-2026-000001', 'INV-2026-000002', 'INV-2026-000003', 'INV-2026-000004', 'INV-2026-000005', 'INV-2026-000006']);
    expect(invoices.map((i) => i.total_minor)).toEqual([150000n, 150000n, 225000n, 150000n, 300000n, 150000n]);
    for (const i of invoices) {
      const lines = (await db().knex('invoice_lines').where({ invoice_id: i.id }).select('total_minor')) as Array<{ total_minor: bigint }>;
      expect(lines.reduce((s, l) => s + l.total_minor, 0n)).toBe(i.subtotal_minor);
    }
    // No number drawn by a try that wrote nothing.
    expect(Number((await db().knex('invoice_number_counters').where({ series: 'invoice' }).first('last_value')).last_value)).toBe(6);
    expect(await generateInvoices(ctx, { chunkServices: 2 })).toMatchObject({ invoices: 0, lines: 0, alreadyInvoiced: 8 });
  });
});
