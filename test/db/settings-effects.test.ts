// What a change of setting does beyond its own row, on both engines: the currency is fixed once
// money is recorded.
import { beforeAll, expect, it } from 'vitest';
import { FixedClock } from '../../src/core/clock.js';
import type { ServiceContext } from '../../src/core/context.js';
import { IspctlError } from '../../src/core/errors.js';
import { recordPayment } from '../../src/core/payments/service.js';
import { createPlan } from '../../src/core/plans/service.js';
import { addRouter } from '../../src/core/routers/service.js';
import { initialise } from '../../src/core/settings/init.js';
import { getSetting, setSettings } from '../../src/core/settings/service.js';
import { addSubscriber } from '../../src/core/subscribers/service.js';
import { describeEachEngine } from '../helpers/db.js';

describeEachEngine('settings with effects', (db) => {
  let ctx: ServiceContext;

  beforeAll(async () => {
    ctx = { ...db().ctx(new FixedClock('2026-11-01T01:00:00Z')), env: { ISPCTL_SECRET_KEY: 'a7'.repeat(32) } };
    await initialise(ctx, { values: { 'isp-name': 'Test ISP', currency: 'PHP', timezone: 'Asia/Manila' } });
    await addRouter(ctx, { name: 'core1', host: '127.0.0.1', apiPort: 1, apiUser: 'admin', apiPassword: 'x', mode: 'api' });
    await createPlan(ctx, { name: 'Fiber 50', price: '1500', download: '50M', upload: '20M' });
    await addSubscriber(ctx, { fullName: 'Ana Reyes', username: 'ana', password: 'pw-ana', plan: 'Fiber 50', router: 'core1' });
  });

  it('changes the currency while no money is recorded, and refuses once a payment is', async () => {
    expect((await setSettings(ctx, { currency: 'usd' })).map((c) => [c.key, c.before, c.after])).toEqual([['currency', 'PHP', 'USD']]);
    await setSettings(ctx, { currency: 'PHP' });

    await recordPayment(ctx, { subscriber: 'ana', amount: '500', method: 'cash' });
    const audits = Number((await ctx.db('audit_log').count({ n: '*' }))[0]!.n);
    const err = await setSettings(ctx, { currency: 'USD', 'grace-days': '7' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(IspctlError);
    const e = err as IspctlError;
    expect([e.code, e.exitCode]).toEqual(['CURRENCY_FIXED', 1]);
    expect(e.message).toContain('from PHP to USD');
    expect(e.suggestions.join(' ')).toMatch(/new database/);
    // Nothing changed: neither the currency nor the other setting of the same call, no audit row.
    expect((await getSetting(ctx.db, 'currency')).value).toBe('PHP');
    expect((await getSetting(ctx.db, 'grace-days')).value).toBe(5);
    expect(Number((await ctx.db('audit_log').count({ n: '*' }))[0]!.n)).toBe(audits);
    // Setting the same currency again is no change, and other settings still change.
    expect(await setSettings(ctx, { currency: 'php', 'grace-days': '6' })).toEqual([{ key: 'grace-days', before: 5, after: 6 }]);
  });
});
