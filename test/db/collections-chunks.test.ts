// A collections run works in chunks of subscribers, each its own transaction: a payment recorded
// while a mass run is part way is applied and restores its payer without waiting for the rest of
// the run, on both engines (PostgreSQL: another connection, the run's later chunks hold other
// subscribers; PGlite: one connection, the payment takes its turn between two chunks). The run
// is held part way by its chunk hook until the payments are done: a run that kept its locks
// until its end would never let them finish.
import { beforeAll, expect, it } from 'vitest';
import { generateInvoices } from '../../src/core/billing/generate.js';
import { FixedClock } from '../../src/core/clock.js';
import { pauseCollections, resumeCollections } from '../../src/core/collections/controls.js';
import { runCollections, type RunChunk } from '../../src/core/collections/run.js';
import { runCollectionsThrough } from '../../src/core/collections/through.js';
import type { ServiceContext } from '../../src/core/context.js';
import { recordPayment, type RecordPaymentResult } from '../../src/core/payments/service.js';
import { createPlan } from '../../src/core/plans/service.js';
import { addRouter } from '../../src/core/routers/service.js';
import { initialise } from '../../src/core/settings/init.js';
import { addSubscriber } from '../../src/core/subscribers/service.js';
import { describeEachEngine } from '../helpers/db.js';

const COUNT = 24; // over the share cap's floor of 20: the default 10% stops a run suspending them all
const CHUNK = 4; // six chunks

interface EventRow {
  id: number;
  username: string;
  kind: string;
}

/** COUNT subscribers with one invoice each, due 2026-11-16; the clock on 2026-11-25, past grace. */
async function world(base: ServiceContext): Promise<ServiceContext> {
  const ctx = { ...base, env: { ISPCTL_SECRET_KEY: 'b8'.repeat(32) } };
  await initialise(ctx, { values: { 'isp-name': 'Test ISP', currency: 'PHP', timezone: 'Asia/Manila', 'grace-days': 5 } });
  await addRouter(ctx, { name: 'core1', host: '127.0.0.1', apiPort: 1, apiUser: 'admin', apiPassword: 'x', mode: 'api' });
  await createPlan(ctx, { name: 'Fiber 50', price: '1500', download: '50M', upload: '20M' });
  for (let i = 1; i <= COUNT; i++) await addSubscriber(ctx, { fullName: `Sub ${i}`, username: `u${i}`, password: 'pw', plan: 'Fiber 50', router: 'core1' });
  await generateInvoices(ctx, { period: '2026-11' }); // due 2026-11-16, suspension after 2026-11-21
  return { ...ctx, clock: new FixedClock('2026-11-25T01:00:00Z') };
}

const suspendedCount = async (ctx: ServiceContext) => Number((await ctx.db('services').where({ collection_status: 'suspended' }).count({ n: '*' }).first())!.n);

describeEachEngine('collections run in chunks', (db) => {
  let ctx: ServiceContext;
  const statusOf = async (username: string) => ctx.db('services').where({ username }).first('collection_status', 'access_state');
  const events = async (): Promise<EventRow[]> =>
    (await ctx.db('collection_events as e').join('services as s', 's.subscriber_id', 'e.subscriber_id').orderBy('e.id').select('e.id', 's.username', 'e.kind')).map((r: EventRow) => ({ ...r, id: Number(r.id) }));

  beforeAll(async () => {
    ctx = await world(db().ctx(new FixedClock('2026-11-01T01:00:00Z')));
  });

  it('the per-run cap is decided for the whole run, not per chunk: no chunk suspends, one alert', async () => {
    const chunks: RunChunk[] = [];
    const r = await runCollections(ctx, { chunkSize: CHUNK, onChunk: (c) => void chunks.push(c) });
    expect(chunks.map((c) => c.subscribers)).toEqual([4, 4, 4, 4, 4, 4]);
    expect(r.chunks).toBe(6);
    expect(r.suspended).toEqual([]);
    expect(r.suspensionsHeld).toEqual({ reason: 'cap', subscribers: COUNT, services: COUNT, limit: 20 });
    expect(await suspendedCount(ctx)).toBe(0);
    expect(Number((await ctx.db('audit_log').where({ entity_type: 'collections', action: 'cap-exceeded' }).count({ n: '*' }).first())!.n)).toBe(1);
  });

  it('payments recorded part way through a mass run are applied before the run goes on: the payer behind it restored, the one ahead never suspended', async () => {
    let behind: Promise<RecordPaymentResult> | undefined;
    let ahead: Promise<RecordPaymentResult> | undefined;
    let paidDuringRun = false;
    // One chunk after the other (overlap 1, the embedded database's way; on PostgreSQL a run
    // has the next chunk under way meanwhile, see the overlap test below).
    const r = await runCollections(ctx, {
      force: true,
      chunkSize: CHUNK,
      overlap: 1,
      onChunk: async (c) => {
        if (c.index === 1) {
          // u1 was just suspended by the first chunk; u24 is in the last chunk, not reached yet.
          expect(c.suspended).toHaveLength(CHUNK);
          behind = recordPayment(ctx, { subscriber: 'u1', amount: '1500', method: 'cash', reference: 'OR-CHUNK-1' });
          ahead = recordPayment(ctx, { subscriber: `u${COUNT}`, amount: '1500', method: 'cash', reference: 'OR-CHUNK-24' });
        }
        if (c.index === 2) {
          // The run waits here for the payments; they must not wait for the run.
          let timer: NodeJS.Timeout | undefined;
          const stuck = new Promise<'stuck'>((resolve) => (timer = setTimeout(() => resolve('stuck'), 60_000)));
          const done = await Promise.race([Promise.all([behind!, ahead!]).then(() => 'done' as const), stuck]);
          clearTimeout(timer);
          paidDuringRun = done === 'done';
        }
      },
    });
    expect(paidDuringRun, 'the payments finished while the run was held after its second chunk').toBe(true);
    expect(r.chunks).toBe(6);

    const paidBehind = await behind!;
    expect(paidBehind.collections.restored).toHaveLength(1);
    expect(paidBehind.collections.jobIds.length).toBeGreaterThan(0);
    expect(await statusOf('u1')).toEqual({ collection_status: 'restored', access_state: 'active' });
    expect(await statusOf(`u${COUNT}`)).toMatchObject({ access_state: 'active' });
    expect(await statusOf('u2')).toEqual({ collection_status: 'suspended', access_state: 'blocked' });
    expect(r.suspended).toHaveLength(COUNT - 1);

    // In the order things happened: u1 suspended, then restored by its payment, and only then
    // the subscribers of the later chunks suspended; u24 paid before the run reached it.
    const log = await events();
    const at = (username: string, kind: string) => log.find((e) => e.username === username && e.kind === kind)?.id;
    expect(at('u1', 'suspension')).toBeDefined();
    expect(at('u1', 'restoration')).toBeGreaterThan(at('u1', 'suspension')!);
    for (const later of ['u9', 'u13', 'u17', 'u21', 'u23']) expect(at('u1', 'restoration'), later).toBeLessThan(at(later, 'suspension')!);
    expect(at(`u${COUNT}`, 'suspension')).toBeUndefined();
  });
});

// `collections pause` during a mass run: each chunk reads the pause as it locks its subscribers,
// so the chunks after the pause suspend no one (even with --force), and the run says why.
describeEachEngine('collections paused part way through a run', (db) => {
  let ctx: ServiceContext;
  beforeAll(async () => {
    ctx = await world(db().ctx(new FixedClock('2026-11-01T01:00:00Z')));
  });

  it('the chunks after the pause suspend no one; after resume the next run suspends the rest', async () => {
    const chunks: RunChunk[] = [];
    const r = await runCollections(ctx, {
      force: true,
      chunkSize: CHUNK,
      overlap: 1,
      onChunk: async (c) => {
        chunks.push(c);
        if (c.index === 1) await pauseCollections(ctx, { reason: 'bank feed late' });
      },
    });
    expect(r.paused, 'not paused when the run started').toBeNull();
    expect(chunks.map((c) => c.suspended.length)).toEqual([CHUNK, 0, 0, 0, 0, 0]);
    expect(r.suspended).toHaveLength(CHUNK);
    expect(r.suspensionsHeld).toMatchObject({ reason: 'paused', services: COUNT - CHUNK });
    expect(await suspendedCount(ctx)).toBe(CHUNK);

    await resumeCollections(ctx);
    const again = await runCollections(ctx, { force: true, chunkSize: CHUNK });
    expect(again.suspended).toHaveLength(COUNT - CHUNK);
    expect(await suspendedCount(ctx)).toBe(COUNT);
  });
});

// A run's result keeps the first transitions only (its memory must not grow with the number of
// subscribers): with more changes than its sample, it says how many there were in all, and the
// events recorded are every one of them.
describeEachEngine('collections run result bounded', (db) => {
  let ctx: ServiceContext;
  beforeAll(async () => {
    ctx = await world(db().ctx(new FixedClock('2026-11-01T01:00:00Z')));
  });

  it('more transitions than the sample: the first ones kept in subscriber order, the true total counted, every event recorded', async () => {
    const SAMPLE = 5;
    const usernames = new Map((await ctx.db('services').select('subscriber_id', 'username')).map((r: { subscriber_id: number; username: string }) => [Number(r.subscriber_id), r.username]));

    // A dry run goes through the same chunks, and writes nothing.
    const dry = await runCollections(ctx, { dryRun: true, force: true, chunkSize: CHUNK, sampleSize: SAMPLE });
    expect(dry).toMatchObject({ dryRun: true, chunks: 6, transitionsTotal: COUNT, events: 0 });
    expect(dry.transitions.map((t) => usernames.get(t.subscriberId))).toEqual(['u1', 'u2', 'u3', 'u4', 'u5']);
    expect(dry.suspended).toHaveLength(COUNT);
    expect(await suspendedCount(ctx)).toBe(0);
    // Over the cap (20 of 24), a dry run says so for the whole run, as the run would.
    expect((await runCollections(ctx, { dryRun: true, chunkSize: CHUNK })).suspensionsHeld).toEqual({ reason: 'cap', subscribers: COUNT, services: COUNT, limit: 20 });
    expect(Number((await ctx.db('audit_log').where({ entity_type: 'collections', action: 'cap-exceeded' }).count({ n: '*' }).first())!.n), 'a dry run records no alert').toBe(0);

    const r = await runCollections(ctx, { force: true, chunkSize: CHUNK, sampleSize: SAMPLE });
    expect(r.chunks).toBe(6);
    expect(r.transitionsTotal).toBe(COUNT);
    expect(r.transitions.map((t) => usernames.get(t.subscriberId))).toEqual(['u1', 'u2', 'u3', 'u4', 'u5']);
    expect(r.transitions.every((t) => t.kind === 'suspension')).toBe(true);
    // The counts and ids are whole: the notices and router work go from them.
    expect(r.suspended).toHaveLength(COUNT);
    expect(r.jobIds).toHaveLength(COUNT);
    expect(r.events).toBe(COUNT);
    expect(r.notificationErrorsTotal).toBe(r.notificationErrors.length);
    // What the run leaves out of its result is in the events, from the time it started.
    const recorded = await ctx.db('collection_events').where('kind', 'suspension').where('occurred_at', '>=', r.startedAt).count({ n: '*' }).first();
    expect(Number(recorded!.n)).toBe(COUNT);
    expect(await suspendedCount(ctx)).toBe(COUNT);

    // Nothing left to do: nothing kept, nothing counted.
    const again = await runCollections(ctx, { force: true, chunkSize: CHUNK, sampleSize: SAMPLE });
    expect(again).toMatchObject({ transitions: [], transitionsTotal: 0, events: 0 });
  });
});

// On PostgreSQL a run has the next chunk under way while one is written (runOverlap): the same
// outcome as one chunk after the other, chunks reported in subscriber order; a pause stops it
// after the chunks already under way; a chunk that fails ends the run with its error, nothing of
// that chunk written and nothing left running.
describeEachEngine('collections run with chunks under way at once', (db) => {
  let ctx: ServiceContext;
  beforeAll(async () => {
    ctx = await world(db().ctx(new FixedClock('2026-11-01T01:00:00Z')));
  });

  it('three chunks at once: everyone suspended once, chunks in order, events and jobs whole', async () => {
    const chunks: RunChunk[] = [];
    const r = await runCollections(ctx, { force: true, chunkSize: CHUNK, overlap: 3, onChunk: (c) => void chunks.push(c) });
    expect(chunks.map((c) => c.index)).toEqual([1, 2, 3, 4, 5, 6]);
    const lasts = chunks.map((c) => c.lastSubscriberId);
    expect(lasts).toEqual([...lasts].sort((a, b) => a - b));
    expect(new Set(lasts).size).toBe(6);
    expect(chunks.map((c) => c.subscribers)).toEqual([4, 4, 4, 4, 4, 4]);
    expect(r.chunks).toBe(6);
    expect(r.suspended).toHaveLength(COUNT);
    expect(new Set(r.suspended).size).toBe(COUNT);
    expect(r.suspended).toEqual([...r.suspended].sort((a, b) => a - b));
    expect(r.jobIds).toHaveLength(COUNT);
    expect(await suspendedCount(ctx)).toBe(COUNT);
    const events = await ctx.db('collection_events').where('kind', 'suspension').count({ n: '*' }).first();
    expect(Number(events!.n)).toBe(COUNT);
    const jobs = await ctx.db('provisioning_jobs').where({ status: 'pending' }).count({ n: '*' }).first();
    expect(Number(jobs!.n)).toBe(COUNT);
    // Nothing left to do.
    expect((await runCollections(ctx, { force: true, chunkSize: CHUNK, overlap: 3 })).events).toBe(0);
  });

  /** Everyone current again, no events, messages or jobs. */
  const everyoneCurrent = async () => {
    await ctx.db('collection_events').del();
    await ctx.db('notifications').del();
    await ctx.db('provisioning_jobs').del();
    await ctx.db('services').update({ collection_status: 'current', access_state: 'active', access_reason: 'ok', rate_limit: '20M/50M' });
  };

  /** Everyone current again; then `body` with u10 (of the third chunk) refusing to be suspended. */
  const withU10Refusing = async (body: () => Promise<void>) => {
    await everyoneCurrent();
    await ctx.db.raw(`create function refuse_u10() returns trigger language plpgsql as $$
      begin if new.username = 'u10' and new.collection_status = 'suspended' then raise exception 'u10 refuses'; end if; return new; end $$`);
    await ctx.db.raw('create trigger refuse_u10 before update on services for each row execute function refuse_u10()');
    try {
      await body();
    } finally {
      await ctx.db.raw('drop trigger refuse_u10 on services');
      await ctx.db.raw('drop function refuse_u10()');
    }
  };

  it('a chunk that fails ends the run with its error; what it would have written is not there, and nothing is left running', async () => {
    await withU10Refusing(async () => {
      const chunks: RunChunk[] = [];
      const run = runCollections(ctx, { force: true, chunkSize: CHUNK, overlap: 2, onChunk: (c) => void chunks.push(c) });
      await expect(run).rejects.toThrow(/u10 refuses/);
      expect(chunks.map((c) => c.index)).toEqual([1, 2]);
      const status = async (u: string) => (await ctx.db('services').where({ username: u }).first('collection_status')).collection_status;
      for (const u of ['u1', 'u8']) expect(await status(u), u).toBe('suspended');
      for (const u of ['u9', 'u10', 'u11', 'u12']) expect(await status(u), u).toBe('current');
      // No chunk still under way: the count does not move after the run returned.
      const now = await suspendedCount(ctx);
      await new Promise((r) => setTimeout(r, 200));
      expect(await suspendedCount(ctx)).toBe(now);
    });
    // The next run picks up whoever is still due.
    const again = await runCollections(ctx, { force: true, chunkSize: CHUNK, overlap: 2 });
    expect(await suspendedCount(ctx)).toBe(COUNT);
    expect(again.suspended.length).toBeGreaterThanOrEqual(4);
  });

  it('carried through (as the command does it), a run that fails part way leaves the router work of its committed chunks queued for anyone, not held by itself', async () => {
    await withU10Refusing(async () => {
      const chunks: RunChunk[] = [];
      await expect(runCollectionsThrough(ctx, { force: true, chunkSize: CHUNK, overlap: 1, onChunk: (c) => void chunks.push(c) })).rejects.toThrow(/u10 refuses/);
      expect(chunks.map((c) => c.index)).toEqual([1, 2]);
      // The two chunks' suspensions were queued held by the run; it gave them back as it failed.
      const jobs = (await ctx.db('provisioning_jobs').select('status', 'claimed_by')) as Array<{ status: string; claimed_by: string | null }>;
      expect(jobs).toHaveLength(8);
      expect(jobs.every((j) => j.status === 'pending' && j.claimed_by === null)).toBe(true);
    });
  });

  it('carried through, a run whose router work cannot start (its drivers fail to load) leaves that work queued for anyone, not held by itself', async () => {
    await everyoneCurrent();
    const through = runCollectionsThrough(ctx, { force: true, chunkSize: CHUNK, overlap: 1 }, { apply: { drivers: async () => Promise.reject(new Error('no drivers here')) } });
    await expect(through).rejects.toThrow(/no drivers here/);
    expect(await suspendedCount(ctx)).toBe(COUNT);
    const jobs = (await ctx.db('provisioning_jobs').select('status', 'claimed_by')) as Array<{ status: string; claimed_by: string | null }>;
    expect(jobs).toHaveLength(COUNT);
    expect(jobs.filter((j) => j.status !== 'pending' || j.claimed_by !== null)).toEqual([]);
  });
});
