// A router reported back (the probe saw it answer again) while one of its turns is under way:
// that turn claimed only the work already due, so the rest, still backing off, gets a turn of its
// own in the same run instead of waiting for the next run (the daemon's every 10 s).
import { afterAll, beforeAll, expect, it } from 'vitest';
import { FixedClock } from '../../src/core/clock.js';
import type { ServiceContext } from '../../src/core/context.js';
import { provisionChanges } from '../../src/core/provisioning/access.js';
import { apiDriver } from '../../src/core/provisioning/routeros/driver.js';
import { runJobs, type Drivers } from '../../src/core/provisioning/runner.js';
import { createPlan } from '../../src/core/plans/service.js';
import { addRouter } from '../../src/core/routers/service.js';
import { initialise } from '../../src/core/settings/init.js';
import { addSubscriber, suspendSubscriber } from '../../src/core/subscribers/service.js';
import { startLabRouter, type LabRouter } from '../../src/lab/index.js';
import { describeEachEngine } from '../helpers/db.js';

const drivers: Drivers = { api: apiDriver, radius: apiDriver };

describeEachEngine('router work of a router reported back mid-turn', (db) => {
  let ctx: ServiceContext;
  let slow: LabRouter;
  let fast: LabRouter;
  const services: Record<'slow' | 'fast', number[]> = { slow: [], fast: [] };

  beforeAll(async () => {
    slow = await startLabRouter({ adminPassword: 'lab-pw' });
    fast = await startLabRouter({ adminPassword: 'lab-pw' });
    ctx = { ...db().ctx(new FixedClock('2026-11-01T00:00:00Z')), env: { ISPCTL_SECRET_KEY: 'b4'.repeat(32) } };
    await initialise(ctx, { values: { 'isp-name': 'Test ISP', currency: 'PHP', timezone: 'Asia/Manila' } });
    await addRouter(ctx, { name: 'slow', host: '127.0.0.1', apiPort: slow.port, apiUser: 'admin', apiPassword: 'lab-pw', mode: 'api' });
    await addRouter(ctx, { name: 'fast', host: '127.0.0.1', apiPort: fast.port, apiUser: 'admin', apiPassword: 'lab-pw', mode: 'api' });
    await createPlan(ctx, { name: 'Fiber 50', price: '1500', download: '50M', upload: '20M' });
    for (const [router, n] of [['slow', 3], ['fast', 6]] as const) {
      for (let i = 1; i <= n; i++) {
        const r = await addSubscriber(ctx, { fullName: `${router} ${i}`, username: `${router}${i}`, password: 'pw-12345', plan: 'Fiber 50', router });
        services[router].push(r.service.id);
      }
    }
    expect(await runJobs(ctx, drivers, { timeoutMs: 5_000 })).toMatchObject({ failed: 0 });
  });

  afterAll(async () => {
    await slow?.close();
    await fast?.close();
  });

  const disabled = (lab: LabRouter) => lab.state.menu('/ppp/secret').list().filter((s) => s.disabled === 'true').length;

  it('gets another turn for its work still backing off', async () => {
    for (const username of ['slow1', 'slow2', 'slow3', 'fast1', 'fast2', 'fast3', 'fast4', 'fast5', 'fast6']) {
      const s = await suspendSubscriber(ctx, username, { reason: 'test' });
      await provisionChanges(ctx.db, ctx, { serviceIds: s.affectedServiceIds });
    }
    const slowId = Number((await ctx.db('routers').where({ name: 'slow' }).first('id')).id);
    // Two of the slow router's three jobs failed once before and back off for an hour.
    const slowJobs = (await ctx.db('provisioning_jobs').where({ router_id: slowId, status: 'pending' }).orderBy('id').pluck('id')).map(Number);
    expect(slowJobs).toHaveLength(3);
    await ctx.db('provisioning_jobs').whereIn('id', slowJobs.slice(1)).update({ attempts: 1, next_attempt_at: new Date('2026-11-01T01:00:00Z') });
    // The slow router's first turn (its one due job) waits at the driver's door until the other
    // lane, working on the fast router a job a turn, has asked between turns which routers came
    // back: the slow one, while that turn is under way. No timing: each side waits for the other.
    let reported = false;
    let slowAtDoor = false;
    let slowArrived!: () => void;
    const slowWaiting = new Promise<void>((r) => (slowArrived = r));
    let letSlowIn!: () => void;
    const slowMayGo = new Promise<void>((r) => (letSlowIn = r));
    const gated: Drivers = {
      api: {
        run: async (c, router, jobs, o) => {
          if (router.name === 'slow' && !reported) {
            slowAtDoor = true;
            slowArrived();
            await slowMayGo;
          } else if (router.name === 'fast') await slowWaiting;
          return apiDriver.run(c, router, jobs, o);
        },
      },
      radius: apiDriver,
    };
    const returnedRouters = () => {
      if (reported || !slowAtDoor) return [];
      reported = true;
      letSlowIn();
      return [slowId];
    };
    const summary = await runJobs(ctx, gated, { timeoutMs: 5_000, concurrency: 2, turnJobs: 1, returnedRouters });
    expect(reported).toBe(true);
    expect(summary).toMatchObject({ failed: 0, done: 9, remaining: { pending: 0, running: 0 } });
    expect(disabled(slow)).toBe(3);
    expect(disabled(fast)).toBe(6);
  });
});
