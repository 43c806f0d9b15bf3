import { expect, test } from 'vitest';
import type { Knex } from 'knex';
import { FixedClock } from '../../src/core/clock.js';
import { provisionChanges, refreshAccess } from '../../src/core/provisioning/access.js';
import { claimJobs, completeJobs, countOpenJobs, enqueueJobs, failJobs, FINISHED_JOBS_KEEP_DAYS, forgetFinishedJobs, keepQueueStatistics, listJobs, QUEUE_STATISTICS_FROM, takeHeldJobs, workerId } from '../../src/core/provisioning/jobs.js';
import { housekeeping } from '../../src/core/daemon/store.js';
import { ALONE_TURN_FACTOR, runJobs, type Drivers } from '../../src/core/provisioning/runner.js';
import { describeEachEngine } from '../helpers/db.js';

async function seed(k: Knex) {
  const [api] = await k('routers').insert({ name: 'api1', host: '127.0.0.1', api_user: 'admin', api_password_enc: 'x', radius_secret_enc: 'x', mode: 'api' }).returning('id');
  const [rad] = await k('routers').insert({ name: 'rad1', host: '127.0.0.2', api_user: 'admin', api_password_enc: 'x', radius_secret_enc: 'x', mode: 'radius', nas_address: '127.0.0.2' }).returning('id');
  const [plan] = await k('plans').insert({ name: 'Fiber 50', price_minor: 150000n, currency: 'PHP', download_kbps: 50000, upload_kbps: 20000 }).returning('id');
  const [sub] = await k('subscribers').insert({ full_name: 'Juan dela Cruz' }).returning('id');
  const services = await k('services')
    .insert([
      { subscriber_id: sub.id, plan_id: plan.id, router_id: api.id, username: 'juan', password: 'p1', started_on: '2026-11-01' },
      { subscriber_id: sub.id, plan_id: plan.id, router_id: rad.id, username: 'maria', password: 'p2', started_on: '2026-11-01' },
    ])
    .returning('id');
  return { apiId: api.id as number, radId: rad.id as number, planId: plan.id as number, juan: services[0].id as number, maria: services[1].id as number };
}

describeEachEngine('provisioning', (db) => {
  let ids: Awaited<ReturnType<typeof seed>>;
  const clock = new FixedClock('2026-11-05T00:00:00Z');

  test('refreshAccess materialises the policy and reports only changes', async () => {
    ids = await seed(db().knex);
    const changes = await refreshAccess(db().knex, { clock }, { all: true });
    expect(changes).toHaveLength(2);
    const rows = await db().knex('services').orderBy('id').select('username', 'access_state', 'access_reason', 'rate_limit');
    expect(rows).toEqual([
      { username: 'juan', access_state: 'active', access_reason: 'ok', rate_limit: '20M/50M' },
      { username: 'maria', access_state: 'active', access_reason: 'ok', rate_limit: '20M/50M' },
    ]);
    expect(await refreshAccess(db().knex, { clock }, { all: true })).toEqual([]);
  });

  test('admin suspension queues a service job (API) and a disconnect (RADIUS)', async () => {
    await db().knex('services').update({ admin_status: 'suspended', admin_reason: 'abuse', admin_suspended_at: clock.now() });
    const r = await provisionChanges(db().knex, { clock }, { all: true });
    expect(r.changes.map((c) => c.after.state)).toEqual(['blocked', 'blocked']);
    const jobs = await listJobs(db().knex);
    expect(jobs.map((j) => [j.kind, j.target, j.routerId]).sort()).toEqual([
      ['radius_disconnect', `service:${ids.maria}`, ids.radId],
      ['service', `service:${ids.juan}`, ids.apiId],
    ]);
    expect(jobs.find((j) => j.kind === 'radius_disconnect')!.payload).toEqual({ username: 'maria' });
  });

  test('queuing the same target again coalesces into the pending job', async () => {
    const before = await countOpenJobs(db().knex);
    const again = await enqueueJobs(db().knex, [{ routerId: ids.apiId, kind: 'service', target: `service:${ids.juan}`, serviceId: ids.juan }], clock.now());
    expect(again).toHaveLength(1);
    expect(await countOpenJobs(db().knex)).toEqual(before);
  });

  test('a plan speed change on profile shaping queues one profile job, not one per service', async () => {
    await db().knex('services').update({ admin_status: 'active', admin_reason: null, admin_suspended_at: null });
    await provisionChanges(db().knex, { clock }, { all: true });
    const open = await claimJobs(db().knex, {}, clock.now());
    await completeJobs(db().knex, open.map((j) => j.id), clock.now());
    await db().knex('plans').update({ download_kbps: 100000 });
    const r = await provisionChanges(db().knex, { clock }, { planIds: [ids.planId] }, { plansChanged: [ids.planId] });
    expect(r.changes).toHaveLength(2);
    const jobs = await listJobs(db().knex);
    expect(jobs.map((j) => `${j.kind} ${j.target}`).sort()).toEqual([`profile plan:${ids.planId}`, `radius_coa service:${ids.maria}`]);
  });

  test('failed jobs go back with error, attempts and a later next try; claims skip them until then', async () => {
    const claimed = await claimJobs(db().knex, {}, clock.now());
    expect(claimed).toHaveLength(2);
    expect(await claimJobs(db().knex, {}, clock.now())).toEqual([]); // running jobs are not claimed twice
    await failJobs(db().knex, claimed.map((j) => ({ id: j.id, error: 'connect ECONNREFUSED' })), clock.now());
    const jobs = await listJobs(db().knex);
    for (const j of jobs) {
      expect(j).toMatchObject({ status: 'pending', attempts: 1, lastError: 'connect ECONNREFUSED' });
      expect(j.nextAttemptAt.getTime()).toBeGreaterThan(clock.now().getTime() + 3000);
    }
    expect(await claimJobs(db().knex, {}, clock.now())).toEqual([]);
    expect(await claimJobs(db().knex, { ignoreBackoff: true, ids: [jobs[0]!.id] }, clock.now())).toHaveLength(1);
    await failJobs(db().knex, [{ id: jobs[0]!.id, error: 'again' }], clock.now());
  });

  test('a failed job whose target was queued again meanwhile is cancelled, not duplicated', async () => {
    const [job] = await claimJobs(db().knex, { ignoreBackoff: true, limit: 1 }, clock.now());
    await enqueueJobs(db().knex, [{ routerId: job!.routerId, kind: job!.kind, target: job!.target, serviceId: job!.serviceId }], clock.now());
    await failJobs(db().knex, [{ id: job!.id, error: 'timeout' }], clock.now());
    const same = await db().knex('provisioning_jobs').where({ target: job!.target, kind: job!.kind }).orderBy('id');
    expect(same.filter((r) => r.status === 'pending')).toHaveLength(1);
    expect(same.find((r) => Number(r.id) === job!.id).status).toBe('cancelled');
  });

  test('runJobs hands each router its jobs and records outcomes; a hung driver times out', async () => {
    const seen: string[] = [];
    const drivers: Drivers = {
      api: { run: async (_c, router, jobs) => { seen.push(router.name); return jobs.map((j) => ({ id: j.id, ok: true })); } },
      radius: { run: () => new Promise(() => undefined) },
    };
    const later = new FixedClock(new Date(clock.now().getTime() + 3600_000));
    const summary = await runJobs({ ...db().ctx(later) }, drivers, { timeoutMs: 300 });
    expect(seen).toEqual(['api1']);
    expect(summary.done).toBe(1);
    expect(summary.failed).toBe(1);
    expect(summary.routers.find((r) => r.router === 'rad1')!.error).toMatch(/no answer from rad1/);
    expect(summary.remaining.pending).toBe(1);
  });
  test('a run that meets a mass of jobs the statistics do not know of has them gathered first', async () => {
    const k = db().knex;
    const known = async () => Number((await k.raw(`select reltuples::float8 as n from pg_class where oid = 'provisioning_jobs_due_idx'::regclass`)).rows[0].n);
    // The statistics as autovacuum left them while the queue was nearly empty.
    await k.raw('analyze provisioning_jobs');
    expect(await known()).toBeLessThan(100);
    const [bulk] = await k('routers').insert({ name: 'bulk1', host: '127.0.0.9', api_user: 'admin', api_password_enc: 'x', radius_secret_enc: 'x', mode: 'api' }).returning('id');
    const n = QUEUE_STATISTICS_FROM + 2_000;
    await k.raw(
      `insert into provisioning_jobs (router_id, kind, target, status, payload, attempts, next_attempt_at, created_at, updated_at)
       select ?, 'service', 'bulk:' || g, 'pending', '{}', 0, ?::timestamptz, ?::timestamptz, ?::timestamptz from generate_series(1, ?) g`,
      [bulk.id, clock.now(), clock.now(), clock.now(), n],
    );
    // Below the threshold nothing is looked at; a mass the statistics do not know of is gathered once.
    expect(await keepQueueStatistics(k, QUEUE_STATISTICS_FROM - 1)).toBe(false);
    expect(await known()).toBeLessThan(100);
    let ran = 0;
    const drivers: Drivers = {
      api: { run: async (_c, _r, jobs) => ((ran += jobs.length), jobs.map((j) => ({ id: j.id, ok: true }))) },
      radius: { run: async (_c, _r, jobs) => jobs.map((j) => ({ id: j.id, ok: true })) },
    };
    const summary = await runJobs(db().ctx(clock), drivers, { routerIds: [Number(bulk.id)] });
    expect(summary.done).toBe(n);
    expect(ran).toBe(n);
    // Gathered while the jobs were open: the sample's estimate of them, within a few per cent.
    expect(await known()).toBeGreaterThan(n * 0.9);
    expect(await keepQueueStatistics(k, n)).toBe(false);
  });
  test('a run that has seen one router gives it long turns; with two routers each turn is the usual length', async () => {
    const k = db().knex;
    const made = await k('routers')
      .insert([
        { name: 'turns1', host: '127.0.0.11', api_user: 'admin', api_password_enc: 'x', radius_secret_enc: 'x', mode: 'api' },
        { name: 'turns2', host: '127.0.0.12', api_user: 'admin', api_password_enc: 'x', radius_secret_enc: 'x', mode: 'api' },
      ])
      .returning('id');
    const [one, two] = made.map((r: { id: number }) => Number(r.id));
    const queue = async (routerId: number, n: number) =>
      enqueueJobs(k, Array.from({ length: n }, (_, i) => ({ routerId, kind: 'service' as const, target: `turns:${routerId}:${i}` })), clock.now());
    const turns: Array<[string, number]> = [];
    const drivers: Drivers = {
      api: { run: async (_c, router, jobs) => (turns.push([router.name, jobs.length]), jobs.map((j) => ({ id: j.id, ok: true }))) },
      radius: { run: async (_c, _r, jobs) => jobs.map((j) => ({ id: j.id, ok: true })) },
    };
    const turnJobs = 4;
    // One router: its 30 jobs in one turn (up to turnJobs x ALONE_TURN_FACTOR), not eight.
    await queue(one!, 30);
    expect(ALONE_TURN_FACTOR * turnJobs).toBeGreaterThanOrEqual(30);
    const alone = await runJobs(db().ctx(clock), drivers, { routerIds: [one!], turnJobs });
    expect(alone.done).toBe(30);
    expect(turns).toEqual([['turns1', 30]]);
    // Two routers in the run: turns of turnJobs, taken in turn, every job done.
    turns.length = 0;
    await queue(one!, 10);
    await queue(two!, 10);
    const both = await runJobs(db().ctx(clock), drivers, { routerIds: [one!, two!], turnJobs, concurrency: 1 });
    expect(both.done).toBe(20);
    expect(turns.every(([, n]) => n <= turnJobs)).toBe(true);
    expect(turns.slice(0, 2).map(([r]) => r).sort()).toEqual(['turns1', 'turns2']);
  });

  test('jobs queued held by a runner: running in its name (a pending one of the same target taken over), read by its run, not claimed by others; what the run does not get to goes back', async () => {
    const k = db().knex;
    const [r] = await k('routers').insert({ name: 'held1', host: '127.0.0.8', api_user: 'admin', api_password_enc: 'x', radius_secret_enc: 'x', mode: 'api' }).returning('id');
    const router = Number(r.id);
    const spec = (n: number) => ({ routerId: router, kind: 'service' as const, target: `service:${700_000 + n}` });
    const [pendingBefore] = await enqueueJobs(k, [spec(0)], clock.now());
    const me = workerId();
    const held = await enqueueJobs(k, [0, 1, 2, 3, 4].map(spec), clock.now(), { holder: me });
    expect(held).toHaveLength(5);
    expect(held).toContain(pendingBefore); // taken over, not queued twice
    const rows = (await k('provisioning_jobs').where({ router_id: router }).select('status', 'claimed_by')) as Array<{ status: string; claimed_by: string }>;
    expect(rows).toHaveLength(5);
    expect(rows.every((x) => x.status === 'running' && x.claimed_by === me)).toBe(true);
    // Nobody else's: another runner finds nothing to claim, and reads none of them as its own.
    expect(await claimJobs(k, { routerIds: [router] }, clock.now(), 'elsewhere:1:1')).toEqual([]);
    expect(await takeHeldJobs(k, { routerIds: [router] }, clock.now(), 'elsewhere:1:1')).toEqual([]);
    expect((await takeHeldJobs(k, { routerIds: [router] }, clock.now(), me, held.slice(0, 2))).map((j) => j.id)).toEqual([...held].sort((a, b) => a - b).slice(2));

    // Its run takes three (a limit stands in for a budget that ran out): those are done, the
    // other two go back to the queue, due at once, for anyone.
    const seen: number[] = [];
    const drivers: Drivers = {
      api: { run: async (_c, _r, jobs) => (seen.push(...jobs.map((j) => j.id)), jobs.map((j) => ({ id: j.id, ok: true }))) },
      radius: { run: async (_c, _r, jobs) => jobs.map((j) => ({ id: j.id, ok: true })) },
    };
    const summary = await runJobs(db().ctx(clock), drivers, { ids: held, held: true, limit: 3 });
    expect(summary).toMatchObject({ claimed: 3, done: 3, released: 2, doneElsewhere: 0 });
    expect(seen).toEqual([...held].sort((a, b) => a - b).slice(0, 3));
    const after = (await k('provisioning_jobs').where({ router_id: router }).orderBy('id').select('status', 'claimed_by')) as Array<{ status: string; claimed_by: string | null }>;
    expect(after.map((x) => `${x.status} ${x.claimed_by}`)).toEqual(['done null', 'done null', 'done null', 'pending null', 'pending null']);
    expect(await claimJobs(k, { routerIds: [router] }, clock.now(), 'elsewhere:1:1')).toHaveLength(2);
  });

  test('housekeeping forgets jobs finished over the retention, oldest first and a bounded number per call; open and recent ones stay', async () => {
    const k = db().knex;
    const [r] = await k('routers').insert({ name: 'keep1', host: '127.0.0.9', api_user: 'admin', api_password_enc: 'x', radius_secret_enc: 'x', mode: 'api' }).returning('id');
    const day = 86_400_000;
    // Judged on the service clock that wrote done_at (here a fixed one), not the database's.
    const now = new Date('2026-12-01T00:00:00Z');
    const at = (daysAgo: number) => new Date(now.getTime() - daysAgo * day);
    const job = (n: number, status: string, daysAgo: number | null) => ({
      router_id: r.id,
      kind: 'service',
      target: `keep:${n}`,
      payload: '{}',
      status,
      attempts: 1,
      next_attempt_at: k.fn.now(),
      done_at: daysAgo === null ? null : at(daysAgo),
      created_at: k.fn.now(),
      updated_at: k.fn.now(),
    });
    const old = FINISHED_JOBS_KEEP_DAYS + 1;
    const rows = [
      ...Array.from({ length: 5 }, (_, i) => job(i, 'done', old + i)),
      job(5, 'cancelled', old),
      job(6, 'done', FINISHED_JOBS_KEEP_DAYS - 1), // recent: kept
      job(7, 'pending', null), // open: kept, however old
      job(8, 'running', null),
    ];
    const ids = (await k('provisioning_jobs').insert(rows).returning('id')).map((x: { id: number }) => Number(x.id));
    // An old open job (its created_at long ago) is not finished: never forgotten.
    await k('provisioning_jobs').whereIn('id', ids.slice(7)).update({ created_at: at(365), done_at: null });

    expect(await forgetFinishedJobs(k, now, { max: 2 })).toBe(2);
    const left = async () => (await k('provisioning_jobs').where('router_id', r.id).orderBy('id').pluck('id')).map(Number);
    expect(await left()).toEqual(ids.slice(2)); // the oldest ids went first
    const h = await housekeeping(k, now);
    expect(h.jobs).toBe(4);
    expect(await left()).toEqual(ids.slice(6));
    expect(await forgetFinishedJobs(k, now)).toBe(0);
    await k('provisioning_jobs').where('router_id', r.id).del();
    await k('routers').where('id', r.id).del();
  });
});
