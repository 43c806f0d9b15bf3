// Payments, allocation, credit and voids on both engines, to the centavo. A fixed clock walks
// through November and December 2026 (Asia/Manila, billing day 1, due in 15 days).
import { beforeAll, expect, it } from 'vitest';
import { FixedClock } from '../../src/core/clock.js';
import type { ServiceContext } from '../../src/core/context.js';
import { IspctlError } from '../../src/core/errors.js';
import { generateInvoices } from '../../src/core/billing/generate.js';
import { findInvoice, listInvoices, voidInvoice } from '../../src/core/billing/invoices.js';
import { settle } from '../../src/core/ledger/allocate.js';
import { subscriberBalance, subscriberBalances } from '../../src/core/ledger/read-model.js';
import { subscriberStatement } from '../../src/core/ledger/statement.js';
import { listPayments, recordPayment, showPayment, voidPayment } from '../../src/core/payments/service.js';
import { describeEachEngine } from '../helpers/db.js';
import { seedIsp, testContext } from '../helpers/fixtures.js';

async function rejection(p: Promise<unknown>): Promise<IspctlError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof IspctlError) return err;
    throw err;
  }
  throw new Error('expected the promise to reject');
}

/** The clock's date in Manila, the ISP's time zone in these tests. */
const ispDate = (c: FixedClock) => new Date(c.now().getTime() + 8 * 3600_000).toISOString().slice(0, 10);

describeEachEngine('payments', (db) => {
  const clock = new FixedClock('2026-10-01T02:00:00Z');
  let ctx: ServiceContext;
  const ids: Record<string, { subscriberId: number; accountNo: string }> = {};
  const invoiceOf = async (name: string, period = '2026-11') =>
    (await listInvoices(ctx.db, { today: ispDate(clock), subscriberId: ids[name]!.subscriberId, periodKey: period })).find((i) => i.status !== 'void')!;

  beforeAll(async () => {
    ctx = testContext(db(), clock);
    const names = ['full', 'half', 'over', 'bounce', 'mistake'];
    const seeded = await seedIsp(ctx, { startDate: '2026-10-01', subscribers: names.map((name) => ({ username: name, fullName: `Subscriber ${name}` })) });
    Object.assign(ids, seeded.subscribers);
    clock.set('2026-11-01T08:00:00+08:00');
    expect((await generateInvoices(ctx)).invoices).toBe(5);
  });

  it('a full payment with a GCash reference pays the invoice', async () => {
    clock.set('2026-11-05T10:00:00+08:00');
    const r = await recordPayment(ctx, { subscriber: ids.full!.accountNo, amount: '1,500.00', method: 'gcash', reference: 'GC-7012345' });
    expect(r.payment).toMatchObject({ amountMinor: 150000n, currency: 'PHP', method: 'gcash', reference: 'GC-7012345', allocatedMinor: 150000n, unallocatedMinor: 0n });
    expect(r.allocations).toEqual([{ invoiceId: expect.any(Number), number: 'INV-2026-000001', amountMinor: 150000n, status: 'paid', balanceMinor: 0n }]);
    expect(r.creditMinor).toBe(0n);
    expect(r.balance).toMatchObject({ owedMinor: 0n, overdueMinor: 0n, creditMinor: 0n, nextDue: null });
    expect(await invoiceOf('full')).toMatchObject({ status: 'paid', paidMinor: 150000n, balanceMinor: 0n });
    const audit = await db().knex('audit_log').where({ entity_type: 'payment', action: 'record' }).first();
    expect(audit.after).toMatchObject({ subscriber: ids.full!.accountNo, amountMinor: '150000', method: 'gcash', reference: 'GC-7012345' });
  });

  it('the same method and reference again is a conflict (exit 5) naming the payment, and changes nothing', async () => {
    const err = await rejection(recordPayment(ctx, { subscriber: 'half', amount: '1500', method: 'gcash', reference: 'gc-7012345' }));
    expect(err.code).toBe('DUPLICATE_PAYMENT');
    expect(err.exitCode).toBe(5);
    expect(err.message).toContain(ids.full!.accountNo);
    expect(err.details).toMatchObject({ existingSubscriber: ids.full!.accountNo, existingAmountMinor: '150000' });
    expect(await listPayments(ctx.db, {})).toHaveLength(1);
    expect(await invoiceOf('half')).toMatchObject({ status: 'issued', paidMinor: 0n });
    // Another method may carry the same reference number.
    const cash = await recordPayment(ctx, { subscriber: 'half', amount: '750', method: 'cash', reference: 'GC-7012345' });
    expect(cash.payment.method).toBe('cash');
  });

  it('a partial payment leaves the invoice partially paid', async () => {
    const inv = await invoiceOf('half');
    expect(inv).toMatchObject({ status: 'partially_paid', paidMinor: 75000n, balanceMinor: 75000n });
    const b = await subscriberBalance(ctx.db, ids.half!.subscriberId, '2026-11-05');
    expect(b).toMatchObject({ owedMinor: 75000n, overdueMinor: 0n, creditMinor: 0n, nextDue: { number: inv.number, dueDate: '2026-11-16', balanceMinor: 75000n } });
  });

  it('an overpayment becomes credit that the next invoice uses automatically', async () => {
    const r = await recordPayment(ctx, { subscriber: 'over', amount: '₱2,000.00', method: 'bank', reference: 'BDO-1' });
    expect(r.allocations.map((a) => a.amountMinor)).toEqual([150000n]);
    expect(r.creditMinor).toBe(50000n);
    expect(r.balance).toMatchObject({ owedMinor: 0n, creditMinor: 50000n });
    clock.set('2026-12-01T08:00:00+08:00');
    const dec = await generateInvoices(ctx, { subscriberIds: [ids.over!.subscriberId] });
    expect(dec).toMatchObject({ invoices: 1, totalMinor: 150000n, creditAppliedMinor: 50000n });
    expect(await invoiceOf('over', '2026-12')).toMatchObject({ status: 'partially_paid', totalMinor: 150000n, paidMinor: 50000n, balanceMinor: 100000n });
    expect(await subscriberBalance(ctx.db, ids.over!.subscriberId, '2026-12-01')).toMatchObject({ owedMinor: 100000n, creditMinor: 0n });
  });

  it('--invoice names the subscriber and is paid first, before older invoices', async () => {
    // "over" now has only December open; pay a bit against it by number.
    const dec = await invoiceOf('over', '2026-12');
    const r = await recordPayment(ctx, { invoice: dec.number.toLowerCase(), amount: '100', method: 'cash' });
    expect(r.subscriber.accountNo).toBe(ids.over!.accountNo);
    expect(r.allocations).toEqual([expect.objectContaining({ number: dec.number, amountMinor: 10000n, status: 'partially_paid', balanceMinor: 90000n })]);
    const mismatch = await rejection(recordPayment(ctx, { invoice: dec.number, subscriber: 'half', amount: '1', method: 'cash' }));
    expect(mismatch.code).toBe('INVOICE_SUBSCRIBER_MISMATCH');
  });

  it('voiding a payment reverses its allocations: the invoice is open again (sent before the due date, overdue after)', async () => {
    clock.set('2026-11-06T10:00:00+08:00');
    const p = await recordPayment(ctx, { subscriber: 'bounce', amount: '1500', method: 'card', reference: 'AUTH-55' });
    expect(p.allocations[0]!.status).toBe('paid');
    clock.set('2026-11-10T10:00:00+08:00');
    const v = await voidPayment(ctx, p.payment.id, { reason: 'card chargeback' });
    expect(v.reversedMinor).toBe(150000n);
    expect(v.payment).toMatchObject({ unallocatedMinor: 0n, voidReason: 'card chargeback' });
    expect(await invoiceOf('bounce')).toMatchObject({ status: 'issued', paidMinor: 0n, balanceMinor: 150000n });
    const shown = await showPayment(ctx.db, `P-${p.payment.id}`);
    expect(shown.allocations).toHaveLength(1);
    expect(shown.allocations[0]!.reversedAt).not.toBeNull();
    expect((await rejection(voidPayment(ctx, p.payment.id, { reason: 'again' }))).code).toBe('PAYMENT_ALREADY_VOID');

    // A second one, voided after the due date: overdue.
    const p2 = await recordPayment(ctx, { subscriber: 'bounce', amount: '1500', method: 'card', reference: 'AUTH-56' });
    clock.set('2026-11-20T10:00:00+08:00');
    await voidPayment(ctx, `P-${p2.payment.id}`, { reason: 'reversed by the bank' });
    expect(await invoiceOf('bounce')).toMatchObject({ status: 'overdue', paidMinor: 0n });
    expect(await subscriberBalance(ctx.db, ids.bounce!.subscriberId, '2026-11-20')).toMatchObject({ owedMinor: 150000n, overdueMinor: 150000n, creditMinor: 0n });
  });

  it('voiding an invoice turns what was paid on it into credit; a new invoice for the period uses it', async () => {
    clock.set('2026-11-07T10:00:00+08:00');
    await recordPayment(ctx, { subscriber: 'mistake', amount: '1500', method: 'gcash', reference: 'GC-888' });
    const inv = await invoiceOf('mistake');
    expect(inv.status).toBe('paid');
    clock.set('2026-11-07T11:00:00+08:00');
    const v = await voidInvoice(ctx, inv.number, { reason: 'wrong price' });
    expect(v.invoice).toMatchObject({ status: 'void', balanceMinor: 0n, paidMinor: 0n, voidReason: 'wrong price' });
    expect(v.reversedMinor).toBe(150000n);
    expect(await subscriberBalance(ctx.db, ids.mistake!.subscriberId, '2026-11-07')).toMatchObject({ owedMinor: 0n, creditMinor: 150000n });
    expect((await db().knex('invoice_lines').where({ invoice_id: inv.id }).first()).voided).toBe(true);
    expect((await rejection(voidInvoice(ctx, inv.number, { reason: 'again' }))).code).toBe('INVOICE_ALREADY_VOID');

    clock.set('2026-11-07T12:00:00+08:00');
    const again = await generateInvoices(ctx, { period: '2026-11', subscriberIds: [ids.mistake!.subscriberId] });
    expect(again).toMatchObject({ invoices: 1, lines: 1, totalMinor: 150000n, creditAppliedMinor: 150000n });
    const fresh = await invoiceOf('mistake');
    expect(fresh.number).not.toBe(inv.number);
    expect(fresh).toMatchObject({ status: 'paid', paidMinor: 150000n });
    expect(await subscriberBalance(ctx.db, ids.mistake!.subscriberId, '2026-11-07')).toMatchObject({ owedMinor: 0n, creditMinor: 0n });

    const st = await subscriberStatement(ctx.db, ids.mistake!.subscriberId, { timezone: 'Asia/Manila' });
    expect(st.entries.map((e) => [e.kind, e.debitMinor, e.creditMinor, e.kind.startsWith('allocation') ? null : e.balanceMinor])).toEqual([
      ['invoice', 150000n, 0n, 150000n],
      ['payment', 0n, 150000n, 0n],
      ['allocation', 0n, 0n, null],
      ['invoice_void', 0n, 150000n, -150000n],
      ['allocation_reversed', 0n, 0n, null],
      ['invoice', 150000n, 0n, 0n],
      ['allocation', 0n, 0n, null],
    ]);
    expect(st.closingBalanceMinor).toBe(0n);
    const since = await subscriberStatement(ctx.db, ids.mistake!.subscriberId, { timezone: 'Asia/Manila', since: '2026-11-07' });
    expect(since.openingBalanceMinor).toBe(150000n);
  });

  it('settle is idempotent and the books balance: paid = active allocations, statement = owed − credit', async () => {
    expect((await settle(ctx.db, ctx)).allocations).toEqual([]);
    const mismatched = (
      await db().knex.raw(`
        select i.id from invoices i
          left join (select invoice_id, sum(amount_minor) s from payment_allocations where reversed_at is null group by invoice_id) a on a.invoice_id = i.id
         where i.status <> 'void' and i.paid_minor <> coalesce(a.s, 0)`)
    ).rows;
    expect(mismatched).toEqual([]);
    const over = (
      await db().knex.raw(`
        select p.id from payments p join payment_allocations a on a.payment_id = p.id and a.reversed_at is null
         group by p.id, p.amount_minor, p.voided_at having sum(a.amount_minor) > p.amount_minor or (p.voided_at is not null and sum(a.amount_minor) > 0)`)
    ).rows;
    expect(over).toEqual([]);
    const balances = await subscriberBalances(ctx.db, { today: '2026-11-20' });
    for (const [name, { subscriberId }] of Object.entries(ids)) {
      const st = await subscriberStatement(ctx.db, subscriberId, { timezone: 'Asia/Manila' });
      const b = balances.get(subscriberId) ?? { netMinor: 0n };
      expect(st.closingBalanceMinor, name).toBe(b.netMinor);
      expect(await subscriberBalance(ctx.db, subscriberId, '2026-11-20'), name).toMatchObject({ netMinor: b.netMinor });
    }
  });

  it('rejects bad input before writing anything', async () => {
    expect((await rejection(recordPayment(ctx, { subscriber: 'full', amount: '1.234', method: 'cash' }))).code).toBe('INVALID_AMOUNT');
    expect((await rejection(recordPayment(ctx, { subscriber: 'full', amount: '0', method: 'cash' }))).code).toBe('INVALID_AMOUNT');
    expect((await rejection(recordPayment(ctx, { subscriber: 'full', amount: '$10', method: 'cash' }))).code).toBe('INVALID_AMOUNT');
    expect((await rejection(recordPayment(ctx, { subscriber: 'full', amount: '10', method: 'cheque' }))).code).toBe('INVALID_PAYMENT_METHOD');
    // Money by GCash, bank or card without a reference or an idempotency key could be recorded twice by a retried script.
    const missing = await rejection(recordPayment(ctx, { subscriber: 'full', amount: '10', method: 'gcash' }));
    expect(missing.code).toBe('MISSING_REFERENCE');
    expect(missing.message).toContain('--reference');
    expect((await rejection(recordPayment(ctx, { subscriber: 'full', amount: '10', method: 'bank', reference: '  ' }))).code).toBe('MISSING_REFERENCE');
    expect((await rejection(recordPayment(ctx, { subscriber: 'nobody', amount: '10', method: 'cash' }))).code).toBe('SUBSCRIBER_NOT_FOUND');
    expect((await rejection(recordPayment(ctx, { amount: '10', method: 'cash' }))).code).toBe('MISSING_FLAGS');
    expect((await rejection(recordPayment(ctx, { subscriber: 'full', amount: '10', method: 'cash', receivedAt: '2027-01-01' }))).code).toBe('RECEIVED_IN_FUTURE');
    expect((await rejection(findInvoice(ctx.db, 'INV-1999-000001'))).code).toBe('INVOICE_NOT_FOUND');
  });

  it('a GCash payment without a reference is recorded with an idempotency key, and the same key again pays nothing', async () => {
    const r = await recordPayment(ctx, { subscriber: 'full', amount: '10', method: 'gcash', idempotencyKey: 'row-17' });
    expect(r.payment).toMatchObject({ method: 'gcash', reference: null, amountMinor: 1000n });
    const again = await rejection(recordPayment(ctx, { subscriber: 'full', amount: '10', method: 'gcash', idempotencyKey: 'row-17' }));
    expect(again.code).toBe('DUPLICATE_PAYMENT');
    expect(Number((await ctx.db('payments').where({ idempotency_key: 'row-17' }).count('* as n'))[0]!.n)).toBe(1);
  });
});

describeEachEngine('payments at the same time', (db) => {
  it('two payments for the same subscriber at once never allocate the same invoice twice', async () => {
    const clock = new FixedClock('2026-10-01T02:00:00Z');
    const ctx = testContext(db(), clock);
    const { subscribers } = await seedIsp(ctx, { startDate: '2026-10-01', subscribers: [{ username: 'rita', fullName: 'Rita' }] });
    const rita = subscribers.rita!;
    clock.set('2026-11-01T08:00:00+08:00');
    await generateInvoices(ctx);
    const pay = (c: ServiceContext, ref: string) => recordPayment(c, { subscriber: 'rita', amount: '1000', method: 'gcash', reference: ref });
    if (db().engine === 'postgres') {
      const { openDatabase } = await import('../../src/core/db/connection.js');
      const other = await openDatabase({ engine: 'postgres', url: db().url! });
      try {
        await Promise.all([pay(ctx, 'R-1'), pay({ ...ctx, db: other.knex }, 'R-2')]);
      } finally {
        await other.close();
      }
    } else {
      await Promise.all([pay(ctx, 'R-1'), pay(ctx, 'R-2')]);
    }
    const [{ s: allocated }] = (await db().knex.raw('select sum(amount_minor)::bigint as s from payment_allocations where reversed_at is null')).rows;
    expect(BigInt(allocated)).toBe(150000n);
    expect(await subscriberBalance(ctx.db, rita.subscriberId, '2026-11-01')).toMatchObject({ owedMinor: 0n, creditMinor: 50000n });
    expect((await listInvoices(ctx.db, { today: '2026-11-01', subscriberId: rita.subscriberId }))[0]).toMatchObject({ status: 'paid', paidMinor: 150000n });
  });
});
