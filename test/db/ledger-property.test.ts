// Property: whatever happens to a subscriber's money, in whatever order (invoices generated,
// payments recorded and voided, invoices voided, days passing), the ledger agrees with its
// allocations. After every step, checked against the raw tables with SQL written here (not the
// code under test): each invoice's paid amount is its active allocations and its status follows
// from total, paid and due date; no payment is over-allocated and void ones hold nothing; no
// subscriber has credit while owing; the read model's balances and statuses say the same; and
// collections suspends exactly the subscribers with something unpaid past grace.
//
// Each run works on subscribers of its own in one database per engine, so runs need no fresh
// database; the clock only moves forward within a run.
import fc from 'fast-check';
import { beforeAll, expect, it } from 'vitest';
import { FixedClock } from '../../src/core/clock.js';
import type { ServiceContext } from '../../src/core/context.js';
import { withTransaction } from '../../src/core/db/tx.js';
import { generateInvoices } from '../../src/core/billing/generate.js';
import { listInvoices, voidInvoice } from '../../src/core/billing/invoices.js';
import { rebalance } from '../../src/core/ledger/rebalance.js';
import { subscriberBalance } from '../../src/core/ledger/read-model.js';
import { createPlan } from '../../src/core/plans/service.js';
import { recordPayment, voidPayment } from '../../src/core/payments/service.js';
import { addRouter } from '../../src/core/routers/service.js';
import { initialise } from '../../src/core/settings/init.js';
import { addSubscriber } from '../../src/core/subscribers/service.js';
import { describeEachEngine } from '../helpers/db.js';

const GRACE_DAYS = 5;
const DAY = 86_400_000;

type Op =
  | { kind: 'generate' }
  | { kind: 'pay'; who: number; centavos: number; first: boolean }
  | { kind: 'voidPayment'; pick: number }
  | { kind: 'voidInvoice'; pick: number }
  | { kind: 'days'; n: number };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 2, arbitrary: fc.constant<Op>({ kind: 'generate' }) },
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('pay' as const), who: fc.nat(1), centavos: fc.integer({ min: 1, max: 400_000 }), first: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('voidPayment' as const), pick: fc.nat(9) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('voidInvoice' as const), pick: fc.nat(9) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('days' as const), n: fc.integer({ min: 1, max: 25 }) }) },
);

/** The ISP date (Asia/Manila, UTC+8 all year) of an instant. */
const manilaDate = (d: Date) => new Date(d.getTime() + 8 * 3600_000).toISOString().slice(0, 10);
const plusDays = (date: string, n: number) => new Date(Date.parse(`${date}T00:00:00Z`) + n * DAY).toISOString().slice(0, 10);

function expectedStatus(i: { status: string; total: bigint; paid: bigint; due: string }, today: string): string {
  if (i.status === 'void' || i.status === 'draft') return i.status;
  if (i.paid >= i.total) return 'paid';
  if (i.due < today) return 'overdue';
  return i.paid > 0n ? 'partially_paid' : 'issued';
}

describeEachEngine('ledger property', (db) => {
  let ctx: ServiceContext;
  let run = 0;

  beforeAll(async () => {
    ctx = { ...db().ctx(new FixedClock('2026-10-01T08:00:00+08:00')), env: { ISPCTL_SECRET_KEY: 'a7'.repeat(32) } };
    await initialise(ctx, { values: { 'isp-name': 'Prop Net', currency: 'PHP', timezone: 'Asia/Manila', 'billing-day': 1, 'due-days': 15, 'grace-days': GRACE_DAYS } });
    await addRouter(ctx, { name: 'core1', host: '127.0.0.63', apiUser: 'u', apiPassword: 'p' });
    await createPlan(ctx, { name: 'Fiber 50', price: '1,500.00', download: '50M', upload: '10M' });
  });

  /** Every invariant, for these subscribers, on `today`. */
  async function check(subscriberIds: number[], today: string, label: string, rebalancedToday = false) {
    const k = db().knex;
    const invoices = (
      await k.raw(
        `select i.id, i.subscriber_id, i.status, i.total_minor, i.paid_minor, i.due_date::text as due,
                coalesce((select sum(a.amount_minor) from payment_allocations a where a.invoice_id = i.id and a.reversed_at is null), 0)::bigint as alloc
           from invoices i where i.subscriber_id = any(?::int[]) order by i.id`,
        [`{${subscriberIds.join(',')}}`],
      )
    ).rows as Array<{ id: bigint; subscriber_id: number; status: string; total_minor: bigint; paid_minor: bigint; due: string; alloc: bigint }>;
    const payments = (
      await k.raw(
        `select p.id, p.subscriber_id, p.amount_minor, p.voided_at,
                coalesce((select sum(a.amount_minor) from payment_allocations a where a.payment_id = p.id and a.reversed_at is null), 0)::bigint as alloc
           from payments p where p.subscriber_id = any(?::int[]) order by p.id`,
        [`{${subscriberIds.join(',')}}`],
      )
    ).rows as Array<{ id: bigint; subscriber_id: number; amount_minor: bigint; voided_at: Date | null; alloc: bigint }>;
    const services = (await k('services').whereIn('subscriber_id', subscriberIds).select('subscriber_id', 'collection_status', 'access_state')) as Array<{ subscriber_id: number; collection_status: string; access_state: string }>;
    const listed = new Map((await listInvoices(ctx.db, { today, limit: 100_000 })).map((i) => [i.id, i]));

    for (const i of invoices) {
      const where = `${label}: invoice ${i.id} (${i.status}, total ${i.total_minor}, due ${i.due})`;
      if (i.status === 'void') {
        expect(i.alloc, where).toBe(0n);
        continue;
      }
      // Paid is the allocations, never more than the total; the stored status is what they say
      // as of the subscriber's last rebalance, the status read is right as of today.
      expect(i.paid_minor, where).toBe(i.alloc);
      expect(i.alloc <= i.total_minor, where).toBe(true);
      expect(listed.get(Number(i.id))?.status, where).toBe(expectedStatus({ status: i.status, total: i.total_minor, paid: i.alloc, due: i.due }, today));
      // Right after a rebalance (the daily pass's included), the stored status is today's too.
      if (rebalancedToday) expect(i.status, `${where}, stored`).toBe(expectedStatus({ status: i.status, total: i.total_minor, paid: i.alloc, due: i.due }, today));
      expect(listed.get(Number(i.id))?.balanceMinor, where).toBe(i.total_minor - i.alloc);
    }
    for (const p of payments) {
      const where = `${label}: payment ${p.id}`;
      expect(p.alloc <= p.amount_minor, where).toBe(true);
      if (p.voided_at) expect(p.alloc, where).toBe(0n);
    }
    for (const sid of subscriberIds) {
      const mine = invoices.filter((i) => i.subscriber_id === sid && i.status !== 'void');
      const owed = mine.reduce((s, i) => s + (i.total_minor - i.alloc), 0n);
      const credit = payments.filter((p) => p.subscriber_id === sid && !p.voided_at).reduce((s, p) => s + (p.amount_minor - p.alloc), 0n);
      const billed = mine.reduce((s, i) => s + i.total_minor, 0n);
      const paid = payments.filter((p) => p.subscriber_id === sid && !p.voided_at).reduce((s, p) => s + p.amount_minor, 0n);
      const where = `${label}: subscriber ${sid} (owed ${owed}, credit ${credit})`;
      // Credit is used up while anything is owed.
      expect(owed === 0n || credit === 0n, where).toBe(true);
      // The read model: owed − credit is everything billed less everything paid.
      const b = await subscriberBalance(ctx.db, sid, today);
      expect({ owed: b.owedMinor, credit: b.creditMinor, net: b.netMinor }, where).toEqual({ owed, credit, net: billed - paid });
      expect(b.overdueMinor, where).toBe(mine.filter((i) => i.due < today).reduce((s, i) => s + (i.total_minor - i.alloc), 0n));
      // Collections: suspended exactly when something is unpaid past its due date plus grace.
      const pastGrace = mine.some((i) => i.alloc < i.total_minor && plusDays(i.due, GRACE_DAYS) < today);
      for (const s of services.filter((x) => x.subscriber_id === sid)) {
        expect(s.collection_status === 'suspended', `${where}: collection status ${s.collection_status} on ${today}`).toBe(pastGrace);
        expect(s.access_state === 'blocked', `${where}: access ${s.access_state}`).toBe(pastGrace);
      }
    }
  }

  it('balance, invoice statuses and collection status always agree with the allocations', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(opArb, { minLength: 1, maxLength: 8 }), async (ops) => {
        run++;
        const clock = new FixedClock('2026-10-01T08:00:00+08:00');
        const c: ServiceContext = { ...ctx, clock };
        const subs: Array<{ id: number; accountNo: string }> = [];
        for (const n of [0, 1]) {
          const r = await addSubscriber(c, { fullName: `Run ${run} ${n}`, username: `r${run}s${n}`, plan: 'Fiber 50', router: 'core1', startDate: '2026-10-01' });
          subs.push({ id: r.subscriber.id, accountNo: r.subscriber.accountNo });
        }
        const ids = subs.map((s) => s.id);
        let month = 10;
        const log: string[] = [];
        for (const op of ops) {
          log.push(JSON.stringify(op));
          const today = manilaDate(clock.now());
          if (op.kind === 'generate') {
            month++;
            const key = `${2026 + Math.floor((month - 1) / 12)}-${String(((month - 1) % 12) + 1).padStart(2, '0')}`;
            if (`${key}-01` > today) clock.set(`${key}-01T08:00:00+08:00`);
            await generateInvoices(c, { period: key, subscriberIds: ids });
          } else if (op.kind === 'pay') {
            const sub = subs[op.who]!;
            const open = (await listInvoices(c.db, { today, subscriberId: sub.id })).filter((i) => i.balanceMinor > 0n);
            const invoice = op.first && open.length ? open[open.length - 1]!.number : undefined; // the newest: not what oldest-first would pick
            await recordPayment(c, { subscriber: invoice ? undefined : sub.accountNo, invoice, amount: (op.centavos / 100).toFixed(2), method: 'cash' });
          } else if (op.kind === 'voidPayment') {
            const live = (await c.db('payments').whereIn('subscriber_id', ids).whereNull('voided_at').orderBy('id').select('id')) as Array<{ id: bigint }>;
            if (live.length) await voidPayment(c, Number(live[op.pick % live.length]!.id), { reason: 'property test' });
          } else if (op.kind === 'voidInvoice') {
            const live = (await c.db('invoices').whereIn('subscriber_id', ids).whereNot('status', 'void').orderBy('id').select('number')) as Array<{ number: string }>;
            if (live.length) await voidInvoice(c, live[op.pick % live.length]!.number, { reason: 'property test' });
          } else {
            // Days pass; the daemon's daily pass rebalances everyone (which recomputes only the
            // invoices the date turns overdue), or a writer rebalances this run's subscribers
            // (every invoice of theirs recomputed).
            clock.set(new Date(clock.now().getTime() + op.n * DAY));
            await withTransaction(c.db, (trx) => rebalance(trx, c, op.n % 2 ? { all: true } : { subscriberIds: ids }));
          }
          await check(ids, manilaDate(clock.now()), log.join(' → '), op.kind === 'days');
        }
      }),
      {
        numRuns: 10,
        seed: Number(process.env.LEDGER_PROPERTY_SEED ?? 20261202),
        // Always tried as well: an invoice falls due and the daily pass (everyone) turns it overdue.
        examples: [[[{ kind: 'generate' }, { kind: 'days', n: 17 }]]],
      },
    );
  }, 600_000);
});
