// Invoice numbers are gapless: drawn in the transaction that commits the invoices, so a run that
// rolls back gives its numbers back.
import { expect, it } from 'vitest';
import { FixedClock } from '../../src/core/clock.js';
import { generateInvoices } from '../../src/core/billing/generate.js';
import { drawNumbers } from '../../src/core/billing/numbering.js';
import { createPlan } from '../../src/core/plans/service.js';
import { addRouter } from '../../src/core/routers/service.js';
import { initialise } from '../../src/core/settings/init.js';
import { addSubscriber } from '../../src/core/subscribers/service.js';
import { describeEachEngine } from '../helpers/db.js';

describeEachEngine('gapless invoice numbers', (db) => {
  it('a billing run that rolls back leaves no gap: the next run starts where the last commit ended', async () => {
    const clock = new FixedClock('2026-10-01T02:00:00Z');
    const ctx = { ...db().ctx(clock), env: { ISPCTL_SECRET_KEY: 'b1'.repeat(32) } };
    await initialise(ctx, { values: { 'isp-name': 'Juan Net', currency: 'PHP', timezone: 'Asia/Manila', 'billing-day': 1, 'due-days': 15 } });
    await addRouter(ctx, { name: 'core1', host: '127.0.0.61', apiUser: 'u', apiPassword: 'p' });
    await createPlan(ctx, { name: 'Fiber 50', price: '1,500.00', download: '50M', upload: '10M' });
    for (const u of ['ana', 'ben', 'cora']) await addSubscriber(ctx, { fullName: `Subscriber ${u}`, username: u, plan: 'Fiber 50', router: 'core1', startDate: '2026-10-01' });
    clock.set('2026-11-01T08:00:00+08:00');

    const crash = new Error('crash after numbering');
    await expect(
      db().knex.transaction(async (trx) => {
        const r = await generateInvoices({ ...ctx, db: trx });
        expect(r.lastNumber).toBe('INV-2026-000003');
        throw crash;
      }),
    ).rejects.toBe(crash);
    expect(await db().knex('invoices').count({ n: '*' }).first()).toEqual({ n: 0n });

    const r = await generateInvoices(ctx);
    expect([r.firstNumber, r.lastNumber]).toEqual(['INV-2026-000001', 'INV-2026-000003']);
    expect(await db().knex('invoices').orderBy('number').pluck('number')).toEqual(['INV-2026-000001', 'INV-2026-000002', 'INV-2026-000003']);
  });

  it('drawNumbers hands out consecutive values and gives them back on rollback', async () => {
    await db().knex.transaction(async (trx) => {
      expect(await drawNumbers(trx, 2, 'test')).toEqual([1n, 2n]);
    });
    await db().knex.transaction(async (trx) => {
      expect(await drawNumbers(trx, 3, 'test')).toEqual([3n, 4n, 5n]);
      await trx.rollback();
    }).catch(() => undefined);
    await db().knex.transaction(async (trx) => {
      expect(await drawNumbers(trx, 1, 'test')).toEqual([3n]);
      expect(await drawNumbers(trx, 0, 'test')).toEqual([]);
    });
  });
});
