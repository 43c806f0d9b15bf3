// API-mode provisioning on both engines: the desired state built set-based from real rows, and
// the driver and sync carrying it to a lab router over real sockets.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { FixedClock } from '../../src/core/clock.js';
import type { ServiceContext } from '../../src/core/context.js';
import { provisionChanges } from '../../src/core/provisioning/access.js';
import { listJobs } from '../../src/core/provisioning/jobs.js';
import { buildDesiredState } from '../../src/core/provisioning/routeros/desired.js';
import { apiDriver } from '../../src/core/provisioning/routeros/driver.js';
import { applySync, planSync } from '../../src/core/provisioning/routeros/sync.js';
import { retryJobs } from '../../src/core/provisioning/retry.js';
import { runJobs, type Drivers } from '../../src/core/provisioning/runner.js';
import { createPlan, editPlan } from '../../src/core/plans/service.js';
import { addRouter, editRouter, getRouter } from '../../src/core/routers/service.js';
import { initialise } from '../../src/core/settings/init.js';
import { addSubscriber, editSubscriber, resumeSubscriber, suspendSubscriber } from '../../src/core/subscribers/service.js';
import { startLabRouter, type LabRouter } from '../../src/lab/index.js';
import { describeEachEngine } from '../helpers/db.js';

const drivers: Drivers = {
  api: apiDriver,
  radius: { run: async (_c, _r, jobs) => jobs.map((j) => ({ id: j.id, ok: false as const, error: 'not in this test' })) },
};

describeEachEngine('API-mode provisioning', (db) => {
  let ctx: ServiceContext;
  let lab: LabRouter;
  let clock: FixedClock;
  const ids: Record<string, number> = {};

  const secrets = () => lab.state.menu('/ppp/secret').list();
  const secret = (name: string) => secrets().find((s) => s.name === name);
  const profile = (name: string) => lab.state.menu('/ppp/profile').list().find((p) => p.name === name);
  /** Queue provisioning for these services (whatever the services already queued) and run it. */
  const provisionAndRun = async (serviceIds: number[], events: Parameters<typeof provisionChanges>[3] = {}) => {
    await provisionChanges(ctx.db, ctx, { serviceIds }, events);
    return runJobs(ctx, drivers, { timeoutMs: 5000 });
  };
  const later = (seconds: number) => {
    clock = new FixedClock(new Date(clock.now().getTime() + seconds * 1000));
    ctx = { ...ctx, clock };
  };

  beforeAll(async () => {
    lab = await startLabRouter({ adminPassword: 'lab-pw', nas: true });
    clock = new FixedClock('2026-11-01T00:00:00Z');
    ctx = { ...db().ctx(clock), env: { ISPCTL_SECRET_KEY: 'a7'.repeat(32) } };
    await initialise(ctx, { values: { 'isp-name': 'Test ISP', currency: 'PHP', timezone: 'Asia/Manila' } });
    await addRouter(ctx, { name: 'lab1', host: '127.0.0.1', apiPort: lab.port, apiUser: 'admin', apiPassword: 'lab-pw', mode: 'api' });
    await createPlan(ctx, { name: 'Fiber 50', price: '1500', download: '50M', upload: '20M' });
    await createPlan(ctx, { name: 'Home 10', price: '999', download: '10M', upload: '5M', throttleDownload: '2M', throttleUpload: '1M' });
    for (const [username, plan, staticIp] of [
      ['juan', 'Fiber 50', '10.20.0.15'],
      ['ana', 'Fiber 50', undefined],
      ['bob', 'Home 10', undefined],
    ] as const) {
      const r = await addSubscriber(ctx, { fullName: `${username} Tester`, username, password: `pw-${username}`, plan, router: 'lab1', staticIp });
      ids[username] = r.service.id;
    }
  });

  afterAll(async () => {
    await lab?.close();
  });

  it('builds the desired state set-based: the same few queries for 3 services or 50', async () => {
    const router = await getRouter(ctx.db, 'lab1');
    await provisionChanges(ctx.db, ctx, { all: true });
    const queries: string[] = [];
    const onQuery = (q: { sql: string }) => queries.push(q.sql);
    ctx.db.on('query', onQuery);
    const desired = await buildDesiredState(ctx.db, router);
    ctx.db.off('query', onQuery);
    expect(queries.length).toBeLessThanOrEqual(3);

    expect(desired.profiles.map((p) => [p.name, p.fields['rate-limit']])).toEqual([
      [expect.stringMatching(/^ispctl-\d+-fiber-50$/), '20M/50M'],
      [expect.stringMatching(/^ispctl-\d+-fiber-50-throttled$/), '1M/1M'],
      [expect.stringMatching(/^ispctl-\d+-home-10$/), '5M/10M'],
      [expect.stringMatching(/^ispctl-\d+-home-10-throttled$/), '1M/2M'],
    ]);
    expect(desired.secrets.map((s) => [s.name, s.fields['remote-address'], s.fields.disabled, s.fields.comment])).toEqual([
      ['juan', '10.20.0.15', 'no', expect.stringMatching(new RegExp(`^ispctl:service:${ids.juan} S-\\d+ juan Tester$`))],
      ['ana', undefined, 'no', expect.stringMatching(/^ispctl:service:\d+ S-\d+ ana Tester$/)],
      ['bob', undefined, 'no', expect.stringMatching(/^ispctl:service:\d+ S-\d+ bob Tester$/)],
    ]);

    // 47 more services, added set-based: still the same number of queries.
    const [sub] = await ctx.db('subscribers').insert({ full_name: 'Bulk' }).returning('id');
    const plan = await ctx.db('plans').where({ name: 'Home 10' }).first();
    await ctx.db('services').insert(
      Array.from({ length: 47 }, (_, i) => ({ subscriber_id: sub.id, plan_id: plan.id, router_id: router.id, username: `bulk${i}`, password: 'x', started_on: '2026-11-01', access_state: 'active', access_reason: 'ok', rate_limit: '5M/10M' })),
    );
    queries.length = 0;
    ctx.db.on('query', onQuery);
    const big = await buildDesiredState(ctx.db, router);
    ctx.db.off('query', onQuery);
    expect(big.secrets).toHaveLength(50);
    expect(queries.length).toBeLessThanOrEqual(3);
    await ctx.db('services').where('subscriber_id', sub.id).delete();

    // Scoped: only the services asked about; one that is not on the router is described as absent.
    const scoped = await buildDesiredState(ctx.db, router, { serviceIds: [ids.ana!, 999_999] });
    expect(scoped.secrets.map((s) => s.name)).toEqual(['ana']);
    expect(scoped.services.get('service:999999')).toMatchObject({ present: false });
    expect(scoped.profiles).toHaveLength(4);
  });

  it('the driver writes profiles and marked secrets; each subscriber dials in at its rate and address', async () => {
    const summary = await provisionAndRun(Object.values(ids), { created: Object.values(ids) });
    expect(summary.failed).toBe(0);
    expect(summary.done).toBeGreaterThanOrEqual(3);
    expect(secret('juan')).toMatchObject({ password: 'pw-juan', service: 'pppoe', 'remote-address': '10.20.0.15', disabled: 'false', comment: expect.stringMatching(new RegExp(`^ispctl:service:${ids.juan} `)) });
    expect(profile(secret('juan')!.profile!)!['rate-limit']).toBe('20M/50M');
    expect(profile(secret('bob')!.profile!)!['rate-limit']).toBe('5M/10M');
    const juan = await lab.nas!.dial({ username: 'juan', password: 'pw-juan' });
    expect(juan).toMatchObject({ address: '10.20.0.15', rateLimit: '20M/50M' });
    expect((await lab.nas!.dial({ username: 'bob', password: 'pw-bob' })).rateLimit).toBe('5M/10M');
  });

  it('suspend disables the secret and drops the live session; resume enables it again', async () => {
    const s = await suspendSubscriber(ctx, 'juan', { reason: 'abuse' });
    await provisionAndRun(s.affectedServiceIds);
    expect(secret('juan')!.disabled).toBe('true');
    expect(lab.state.activeSessions().some((x) => x.name === 'juan')).toBe(false);
    await expect(lab.nas!.dial({ username: 'juan', password: 'pw-juan' })).rejects.toMatchObject({ reason: 'secret-disabled' });

    const r = await resumeSubscriber(ctx, 'juan');
    await provisionAndRun(r.affectedServiceIds);
    expect(secret('juan')!.disabled).toBe('false');
    expect((await lab.nas!.dial({ username: 'juan', password: 'pw-juan' })).address).toBe('10.20.0.15');
  });

  it('a plan speed change rewrites the profile; sessions on it reconnect at the new rate', async () => {
    const before = lab.state.activeSessions().map((x) => x.name).sort();
    expect(before).toEqual(['bob', 'juan']);
    const edit = await editPlan(ctx, 'Fiber 50', { download: '100M' });
    const planId = (await ctx.db('plans').where({ name: 'Fiber 50' }).first()).id as number;
    await provisionChanges(ctx.db, ctx, { planIds: [planId] }, { plansChanged: [planId] });
    void edit;
    const jobs = await listJobs(ctx.db, { status: 'pending' });
    expect(jobs.map((j) => j.kind)).toContain('profile');
    const summary = await runJobs(ctx, drivers, { timeoutMs: 5000 });
    expect(summary.failed).toBe(0);
    expect(profile(secret('juan')!.profile!)!['rate-limit']).toBe('20M/100M');
    expect(lab.state.activeSessions().map((x) => x.name)).toEqual(['bob']); // juan's session dropped, bob is on another plan
    expect((await lab.nas!.dial({ username: 'juan', password: 'pw-juan' })).rateLimit).toBe('20M/100M');
  });

  it('a new user name or static IP: the secret is renamed in place (found by its marker) and the session reconnects', async () => {
    await lab.nas!.dial({ username: 'ana', password: 'pw-ana' });
    const count = secrets().length;
    const e = await editSubscriber(ctx, 'ana', { username: 'ana.reyes', staticIp: '10.20.0.16' });
    await provisionAndRun([e.service!.id], { credentialsChanged: [e.service!.id], addressChanged: [e.service!.id] });
    expect(secret('ana')).toBeUndefined();
    expect(secret('ana.reyes')).toMatchObject({ password: 'pw-ana', 'remote-address': '10.20.0.16', comment: expect.stringMatching(new RegExp(`^ispctl:service:${ids.ana} `)) });
    expect(secrets()).toHaveLength(count);
    expect(lab.state.activeSessions().some((x) => x.name === 'ana')).toBe(false);
    expect((await lab.nas!.dial({ username: 'ana.reyes', password: 'pw-ana' })).address).toBe('10.20.0.16');
    const back = await editSubscriber(ctx, 'ana.reyes', { username: 'ana', staticIp: null });
    await provisionAndRun([back.service!.id], { credentialsChanged: [back.service!.id], addressChanged: [back.service!.id] });
    expect(secret('ana')!['remote-address']).toBeUndefined();
    expect(lab.state.activeSessions().some((x) => x.name.startsWith('ana'))).toBe(false);
  });

  it('a router that refuses connections fails the jobs with their error; they apply once it is back', async () => {
    lab.faults.refuseConnections = true;
    const s = await suspendSubscriber(ctx, 'ana', { reason: 'test' });
    const summary = await provisionAndRun(s.affectedServiceIds);
    expect(summary.failed).toBe(1);
    const [job] = await listJobs(ctx.db, { status: 'pending' });
    expect(job).toMatchObject({ kind: 'service', target: `service:${ids.ana}`, attempts: 1, lastError: expect.stringMatching(/lab1|127\.0\.0\.1/) });
    // Provisioning records the error; the status is the health checks' to decide.
    expect((await ctx.db('routers').where({ name: 'lab1' }).first()).last_error).toMatch(/lab1|127\.0\.0\.1/);
    expect(secret('ana')!.disabled).toBe('false');

    lab.faults.refuseConnections = false;
    expect((await runJobs(ctx, drivers, {})).claimed).toBe(0); // backing off
    const retry = await runJobs(ctx, drivers, { ignoreBackoff: true });
    expect(retry).toMatchObject({ claimed: 1, done: 1, failed: 0 });
    expect(secret('ana')!.disabled).toBe('true');
    expect((await ctx.db('routers').where({ name: 'lab1' }).first()).last_error).toBeNull();
    await resumeSubscriber(ctx, 'ana');
    await provisionAndRun([ids.ana!]);
  });

  it('jobs retry takes the ids asked for: an unknown id is an error that changes nothing; a job done is not run again', async () => {
    lab.faults.refuseConnections = true;
    const s = await suspendSubscriber(ctx, 'bob', { reason: 'test' });
    expect((await provisionAndRun(s.affectedServiceIds)).failed).toBe(1);
    lab.faults.refuseConnections = false;
    const [job] = await listJobs(ctx.db, { status: 'pending' });
    expect(job).toMatchObject({ target: `service:${ids.bob}` });

    await expect(retryJobs(ctx, { ids: [job!.id, 999_999], timeoutMs: 5000, drivers })).rejects.toMatchObject({ code: 'JOB_NOT_FOUND', message: expect.stringMatching(/\b999999\b/) });
    expect((await listJobs(ctx.db, { status: 'pending' })).map((j) => j.id)).toEqual([job!.id]);
    expect(secret('bob')!.disabled).toBe('false');
    // Another router's jobs only: this one is not among them.
    await addRouter(ctx, { name: 'lab2', host: '127.0.0.1', apiPort: lab.port, apiUser: 'admin', apiPassword: 'lab-pw', mode: 'api' });
    expect(await retryJobs(ctx, { router: 'lab2', ids: [job!.id], timeoutMs: 5000, drivers })).toMatchObject({ tried: 0, jobs: [] });
    expect(secret('bob')!.disabled).toBe('false');

    const r = await retryJobs(ctx, { router: 'lab1', ids: [job!.id, job!.id], timeoutMs: 5000, drivers });
    expect(r).toMatchObject({ tried: 1, done: 1, remaining: 0 });
    expect(r.jobs).toEqual([expect.objectContaining({ id: job!.id, status: 'done', router: 'lab1' })]);
    expect(secret('bob')!.disabled).toBe('true');
    expect(await retryJobs(ctx, { ids: [job!.id], timeoutMs: 5000, drivers })).toMatchObject({ tried: 0, jobs: [] });
    await ctx.db('routers').where({ name: 'lab2' }).delete();
    await resumeSubscriber(ctx, 'bob');
    await provisionAndRun([ids.bob!]);
    expect(secret('bob')!.disabled).toBe('false');
  });

  it('sync lists exactly the hand edits, fixes them, and then has nothing to do', async () => {
    const clean = await planSync(ctx, {});
    expect(clean).toHaveLength(1);
    expect(clean[0]!.changes).toBe(false);

    const secretsMenu = lab.state.menu('/ppp/secret');
    secretsMenu.set('bob', { profile: 'default' });
    secretsMenu.add({ name: 'guest', password: 'g', service: 'pppoe' });
    secretsMenu.remove('ana');

    const [p] = await planSync(ctx, {});
    const plan = p!.plan!;
    expect(plan.create.map((c) => `${c.kind} ${c.name}`)).toEqual(['secret ana']);
    expect(plan.update.map((u) => `${u.kind} ${u.name} ${u.changes.map((c) => `${c.field}:${c.from}→${c.to}`).join(',')}`)).toEqual([
      expect.stringMatching(/^secret bob profile:default→ispctl-\d+-home-10$/),
    ]);
    expect(plan.remove).toEqual([]);
    expect(plan.unmanaged.map((u) => `${u.kind} ${u.name}`)).toEqual(['secret guest']);

    const [outcome] = await applySync(ctx, [p!], {});
    expect(outcome).toMatchObject({ status: 'applied', counts: { created: 1, updated: 1, removed: 0, failed: 0 } });
    expect(secret('ana')).toMatchObject({ password: 'pw-ana', disabled: 'false' });
    expect(secret('guest')).toBeDefined();
    const [again] = await planSync(ctx, {});
    expect(again!.changes).toBe(false);
    expect(again!.plan!.unmanaged.map((u) => u.name)).toEqual(['guest']);

    const [pruned] = await planSync(ctx, { prune: true });
    expect(pruned!.plan!.remove.map((r) => `${r.name} ${r.reason}`)).toEqual(['guest prune']);
    await applySync(ctx, [pruned!], {});
    expect(secret('guest')).toBeUndefined();
  });

  it('queue shaping: unrated profiles and a queue on the static IP, never both; removing a service cleans up', async () => {
    await editRouter(ctx, 'lab1', { shaping: 'queue' });
    const [p] = await planSync(ctx, {});
    await applySync(ctx, [p!], {});
    const queues = lab.state.menu('/queue/simple').list().filter((q) => q.dynamic !== 'true');
    expect(queues.map((q) => [q.name, q.target, q['max-limit']])).toEqual([['ispctl-juan', '10.20.0.15/32', '20000000/100000000']]);
    expect(profile(secret('juan')!.profile!)!['rate-limit']).toBeUndefined();
    const [again] = await planSync(ctx, {});
    expect(again!.changes).toBe(false);

    // A remove job (the service left the router) takes its secret and queue away.
    later(3600);
    await provisionChanges(ctx.db, ctx, {}, { removed: [{ serviceId: ids.juan!, routerId: (await getRouter(ctx.db, 'lab1')).id, username: 'juan' }] });
    await ctx.db('services').where({ id: ids.juan }).update({ router_id: null, ended_on: '2026-11-01' });
    const summary = await runJobs(ctx, drivers, { ignoreBackoff: true });
    expect(summary.failed).toBe(0);
    expect(secret('juan')).toBeUndefined();
    expect(lab.state.menu('/queue/simple').list().filter((q) => q.dynamic !== 'true')).toEqual([]);
  });
});
