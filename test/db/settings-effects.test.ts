// What a change of setting does beyond its own row, on both engines: the currency is fixed once
// money is recorded; settings the access policy reads change the access of the services they
// apply to at once, and the routers (a lab router over real sockets, API mode) follow.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { FixedClock } from '../../src/core/clock.js';
import type { ServiceContext } from '../../src/core/context.js';
import { IspctlError } from '../../src/core/errors.js';
import { generateInvoices } from '../../src/core/billing/generate.js';
import { runCollections } from '../../src/core/collections/run.js';
import { recordPayment } from '../../src/core/payments/service.js';
import { applyNow } from '../../src/core/provisioning/apply.js';
import { getSetting, setSettings } from '../../src/core/settings/service.js';
import { showSubscriber } from '../../src/core/subscribers/service.js';
import { startLabRouter, type LabRouter } from '../../src/lab/index.js';
import { describeEachEngine } from '../helpers/db.js';
import { seedIsp, testContext } from '../helpers/fixtures.js';

describeEachEngine('settings with effects', (db) => {
  let ctx: ServiceContext;
  let lab: LabRouter;
  const secret = (name: string) => lab.state.menu('/ppp/secret').list().find((s) => s.name === name);
  const profile = (name: string) => lab.state.menu('/ppp/profile').list().find((p) => p.name === name);
  const apply = async (jobIds: readonly number[]) => {
    const outcome = await applyNow(ctx, jobIds, { timeoutMs: 30_000 });
    expect(outcome.remaining, JSON.stringify(outcome.queued)).toBe(0);
    return outcome;
  };

  beforeAll(async () => {
    lab = await startLabRouter({ adminPassword: 'lab-pw' });
    ctx = testContext(db(), new FixedClock('2026-11-01T01:00:00Z'));
    await seedIsp(ctx, {
      settings: { 'isp-name': 'Test ISP' },
      routers: [{ host: '127.0.0.1', apiPort: lab.port, apiUser: 'admin', apiPassword: 'lab-pw', mode: 'api' }],
      plans: [{ price: '1500', upload: '20M' }, { name: 'Home 10', price: '999', download: '10M', upload: '5M', throttleDownload: '3M', throttleUpload: '1M' }],
      subscribers: [
        { username: 'ana', password: 'pw-ana' },
        { username: 'ben', password: 'pw-ben' },
        { username: 'cy', password: 'pw-cy', plan: 'Home 10' },
      ],
      apply: (_ctx, jobIds) => apply(jobIds),
    });
  });

  afterAll(async () => {
    await lab?.close();
  });

  it('changes the currency while no money is recorded, and refuses once a payment is', async () => {
    expect((await setSettings(ctx, { currency: 'usd' })).changes.map((c) => [c.key, c.before, c.after])).toEqual([['currency', 'PHP', 'USD']]);
    await setSettings(ctx, { currency: 'PHP' });

    await recordPayment(ctx, { subscriber: 'ana', amount: '500', method: 'cash', receivedAt: '2026-11-01' });
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
    expect((await setSettings(ctx, { currency: 'php', 'grace-days': '6' })).changes).toEqual([{ key: 'grace-days', before: 5, after: 6 }]);
  });

  it('suspension-action and the throttle speeds reach billing-suspended subscribers and the router at once', async () => {
    // Ben and Cy never pay November: past due (16th) and grace, collections suspends them (blocked).
    ctx = { ...ctx, clock: new FixedClock('2026-11-01T01:00:00Z') };
    await generateInvoices(ctx, { period: '2026-11' });
    ctx = { ...ctx, clock: new FixedClock('2026-11-25T01:00:00Z') };
    await recordPayment(ctx, { subscriber: 'ana', amount: '1000', method: 'cash' });
    const run = await runCollections(ctx);
    expect(run.suspended).toHaveLength(2);
    await apply(run.jobIds);
    expect(secret('ben')).toMatchObject({ disabled: 'true' });
    const fiber = secret('ana')!.profile!;
    expect(fiber).toMatch(/^ispctl-\d+-fiber-50$/);

    const r = await setSettings(ctx, { 'suspension-action': 'throttle' });
    expect(r.accessChanged).toBe(2);
    await apply(r.jobIds);
    const ben = await showSubscriber(ctx, 'ben');
    expect(ben.services[0]!.access).toMatchObject({ state: 'throttled', rateLimit: '1M/1M' });
    expect(await ctx.db('services').where({ username: 'ben' }).first('access_state', 'rate_limit')).toEqual({ access_state: 'throttled', rate_limit: '1M/1M' });
    expect(secret('ben')).toMatchObject({ disabled: 'false', profile: `${fiber}-throttled` });
    expect(profile(`${fiber}-throttled`)).toMatchObject({ 'rate-limit': '1M/1M' });
    // Cy's plan has throttle speeds of its own; Ana paid and is untouched.
    expect(secret('cy')).toMatchObject({ disabled: 'false', profile: expect.stringMatching(/-home-10-throttled$/) });
    expect(profile(secret('cy')!.profile!)).toMatchObject({ 'rate-limit': '1M/3M' });
    expect(secret('ana')).toMatchObject({ disabled: 'false', profile: fiber });

    // The ISP-wide throttle speed: the throttled profile of plans without their own.
    const speed = await setSettings(ctx, { 'throttle-download': '2M' });
    await apply(speed.jobIds);
    expect(profile(`${fiber}-throttled`)).toMatchObject({ 'rate-limit': '1M/2M' });
    expect(profile(secret('cy')!.profile!)).toMatchObject({ 'rate-limit': '1M/3M' });
    expect((await showSubscriber(ctx, 'ben')).services[0]!.access).toMatchObject({ state: 'throttled', rateLimit: '1M/2M' });

    // Back to block, then the block action: the secret goes from disabled to removed.
    await apply((await setSettings(ctx, { 'suspension-action': 'block' })).jobIds);
    expect(secret('ben')).toMatchObject({ disabled: 'true' });
    expect((await showSubscriber(ctx, 'ben')).services[0]!.access.state).toBe('blocked');
    await apply((await setSettings(ctx, { 'api-block-action': 'remove' })).jobIds);
    expect(secret('ben')).toBeUndefined();
    expect(secret('ana')).toMatchObject({ disabled: 'false' });
    // An audit row names the services whose access changed.
    const audit = await ctx.db('audit_log').where({ entity_type: 'services', entity_id: 'access' }).orderBy('id').select('after');
    expect(audit.length).toBe(3);
  });
});
