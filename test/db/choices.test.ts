// The pick lists a terminal prompt offers for a missing plan, router or subscriber, read
// through the core services.
import { beforeAll, expect, it } from 'vitest';
import type { ServiceContext } from '../../src/core/context.js';
import { planChoices, routerChoices, subscriberChoices } from '../../src/core/choices.js';
import { describeEachEngine } from '../helpers/db.js';
import { seedIsp, testContext } from '../helpers/fixtures.js';

describeEachEngine('prompt choices', (db) => {
  let ctx: ServiceContext;
  let accounts: Record<string, string>;

  beforeAll(async () => {
    ctx = testContext(db());
    const seeded = await seedIsp(ctx, { subscribers: [{ username: 'ana', fullName: 'Ana Cruz' }, { username: 'ben', fullName: 'Ben Reyes' }] });
    accounts = Object.fromEntries(Object.values(seeded.subscribers).map((s) => [s.username, s.accountNo]));
  });

  it('offers each plan by name with its price and speeds', async () => {
    expect(await planChoices(ctx)).toEqual([{ value: 'Fiber 50', name: 'Fiber 50  ₱1,500.00  download 50M / upload 10M' }]);
  });

  it('offers each router by name with its mode and host', async () => {
    const [r] = await routerChoices(ctx);
    expect(r!.value).toBe('core1');
    expect(r!.name).toMatch(/^core1  \w+ mode  127\.0\.0\.62$/);
  });

  it('finds subscribers by what was typed and gives their account number', async () => {
    expect((await subscriberChoices(ctx, ' ben ')).map((c) => c.value)).toEqual([accounts.ben]);
    expect((await subscriberChoices(ctx, undefined)).map((c) => c.value).sort()).toEqual([accounts.ana, accounts.ben].sort());
    const [ana] = await subscriberChoices(ctx, 'Ana');
    expect(ana).toEqual({ value: accounts.ana, name: `${accounts.ana}  Ana Cruz  ana`, description: 'Fiber 50 via core1' });
  });
});
