// The state machines of invoices, of collection status and of router status, each changed in one place with
// conditional updates: a change from a status the machine does not allow is refused and
// leaves the row as it was.
import { beforeAll, expect, it } from 'vitest';
import { generateInvoices } from '../../src/core/billing/generate.js';
import { FixedClock } from '../../src/core/clock.js';
import type { ServiceContext } from '../../src/core/context.js';
import { markInvoicesSent, voidInvoices } from '../../src/core/ledger/allocate.js';
import { changeCollectionStatuses } from '../../src/core/provisioning/access.js';
import { changeRouterStatus } from '../../src/core/routers/status.js';
import { describeEachEngine } from '../helpers/db.js';
import { seedIsp, testContext, type Seeded } from '../helpers/fixtures.js';

describeEachEngine('state machines', (db) => {
  let ctx: ServiceContext;
  let seeded: Seeded;
  const invoiceOf = async (username: string) =>
    ctx.db('invoices as i').join('subscribers as s', 's.id', 'i.subscriber_id').join('services as v', 'v.subscriber_id', 's.id').where('v.username', username).first('i.id', 'i.status', 'i.sent_at');
  const serviceOf = async (username: string) => ctx.db('services').where({ username }).first('id', 'collection_status', 'access_state', 'revision');

  beforeAll(async () => {
    ctx = testContext(db(), new FixedClock('2026-11-01T01:00:00Z'));
    seeded = await seedIsp(ctx, { startDate: '2026-11-01', subscribers: ['ana', 'ben', 'cora', 'dan'] });
    await generateInvoices(ctx, { period: '2026-11' });
  });

  it('an issued invoice is marked sent once; a void one is refused and stays void', async () => {
    const ana = await invoiceOf('ana');
    expect(ana.status).toBe('issued');
    const at = new Date('2026-11-01T02:00:00Z');
    expect(await markInvoicesSent(ctx.db, [Number(ana.id)], at)).toEqual([Number(ana.id)]);
    expect(await invoiceOf('ana')).toMatchObject({ status: 'sent' });
    expect(await markInvoicesSent(ctx.db, [Number(ana.id)], new Date('2026-11-02T00:00:00Z'))).toEqual([]);
    expect(new Date((await invoiceOf('ana')).sent_at).toISOString()).toBe(at.toISOString());

    const ben = await invoiceOf('ben');
    expect(await voidInvoices(ctx.db, [Number(ben.id)], at, 'test')).toEqual([Number(ben.id)]);
    expect(await voidInvoices(ctx.db, [Number(ben.id)], at, 'again')).toEqual([]);
    expect(await markInvoicesSent(ctx.db, [Number(ben.id)], at)).toEqual([]);
    expect((await invoiceOf('ben')).status).toBe('void');
    expect((await ctx.db('invoices').where({ id: ben.id }).first('void_reason')).void_reason).toBe('test');
  });

  it('a collection status change the machine does not allow is refused and nothing is written', async () => {
    const cora = await serviceOf('cora');
    expect(cora.collection_status).toBe('current');
    for (const to of ['restored', 'uncollectible'] as const) {
      const res = await changeCollectionStatuses(ctx.db, ctx, [{ serviceId: Number(cora.id), from: 'current', to }]);
      expect(res.changed).toEqual([]);
      expect(res.refused).toEqual([{ serviceId: Number(cora.id), from: 'current', to }]);
      expect(res.jobIds).toEqual([]);
    }
    expect(await serviceOf('cora')).toEqual(cora);
  });

  it('a change from a status the service no longer has is not written', async () => {
    const dan = await serviceOf('dan');
    const res = await changeCollectionStatuses(ctx.db, ctx, [{ serviceId: Number(dan.id), from: 'suspended', to: 'restored' }]);
    expect(res).toMatchObject({ changed: [], refused: [] });
    expect(await serviceOf('dan')).toEqual(dan);
  });

  it('allowed changes are written with the access they imply: current → suspended → uncollectible', async () => {
    const id = seeded.subscribers.cora!.serviceId;
    const suspended = await changeCollectionStatuses(ctx.db, ctx, [{ serviceId: id, from: 'current', to: 'suspended' }]);
    expect(suspended).toMatchObject({ changed: [id], refused: [] });
    expect(await serviceOf('cora')).toMatchObject({ collection_status: 'suspended', access_state: 'blocked' });
    const written = await changeCollectionStatuses(ctx.db, ctx, [{ serviceId: id, from: 'suspended', to: 'uncollectible' }]);
    expect(written).toMatchObject({ changed: [id], refused: [] });
    // Nothing leaves uncollectible by itself.
    const back = await changeCollectionStatuses(ctx.db, ctx, [{ serviceId: id, from: 'uncollectible', to: 'current' }]);
    expect(back).toMatchObject({ changed: [], refused: [{ serviceId: id, from: 'uncollectible', to: 'current' }] });
    expect(await serviceOf('cora')).toMatchObject({ collection_status: 'uncollectible', access_state: 'blocked' });
  });

  it('a router status change the machine does not allow is refused; allowed ones are written once', async () => {
    const id = seeded.routers[0]!.id;
    const routerOf = async () => ctx.db('routers').where({ id }).first('status', 'status_changed_at', 'last_error');
    const before = await routerOf();
    expect(before.status).toBe('unknown');
    // Back to pending (no address) or to unknown: never, from anywhere.
    expect(await changeRouterStatus(ctx.db, id, { to: 'pending', set: { last_error: 'x' } })).toBe(false);
    expect(await changeRouterStatus(ctx.db, id, { from: 'offline', to: 'online' })).toBe(false); // not its status any more
    expect(await routerOf()).toEqual(before);
    const at = new Date('2026-11-01T03:00:00Z');
    expect(await changeRouterStatus(ctx.db, id, { from: 'unknown', to: 'offline', at, set: { last_error: 'timed out' } })).toBe(true);
    expect(await routerOf()).toEqual({ status: 'offline', status_changed_at: at, last_error: 'timed out' });
    expect(await changeRouterStatus(ctx.db, id, { to: 'unknown' })).toBe(false);
    // Staying offline writes the other columns and keeps when the status changed.
    expect(await changeRouterStatus(ctx.db, id, { from: 'offline', to: 'offline', at: new Date('2026-11-01T04:00:00Z'), set: { last_error: 'still' } })).toBe(true);
    expect(await routerOf()).toEqual({ status: 'offline', status_changed_at: at, last_error: 'still' });
  });
});
