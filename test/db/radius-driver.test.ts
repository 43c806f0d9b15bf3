// The RADIUS-mode driver against the lab router's NAS over real sockets: CoA and Disconnect
// addressed from radacct, ACK / NAK / no answer, the RouterOS API as the fallback, and jobs
// that stay queued when neither answers. Sessions are dialled on local secrets and their
// radacct rows written here, so no FreeRADIUS is needed (test/e2e/radius-mode.test.ts has it).
import { createSocket } from 'node:dgram';
import { afterAll, beforeAll, expect, test } from 'vitest';
import type { Knex } from 'knex';
import { FixedClock } from '../../src/core/clock.js';
import type { ServiceContext } from '../../src/core/context.js';
import { enqueueJobs, listJobs, type JobKind } from '../../src/core/provisioning/jobs.js';
import { radiusDriver } from '../../src/core/provisioning/radius/driver.js';
import { runJobs, type Drivers } from '../../src/core/provisioning/runner.js';
import { encryptSecret } from '../../src/core/secrets.js';
import { startLabRouter, type LabRouter, type LabSession } from '../../src/lab/index.js';
import { describeEachEngine } from '../helpers/db.js';

const KEY_HEX = 'b'.repeat(64);
const KEY = Buffer.from(KEY_HEX, 'hex');
const SECRET = 'driver-test-secret-0123456789';
const LAB_PW = 'lab-admin-pw';

function freeUdpPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createSocket('udp4');
    s.once('error', reject);
    s.bind(0, '127.0.0.1', () => {
      const port = s.address().port;
      s.close(() => resolve(port));
    });
  });
}

const apiNeverUsed: Drivers['api'] = { run: async (_c, _r, jobs) => jobs.map((j) => ({ id: j.id, ok: false, error: 'not an api router' })) };
const drivers: Drivers = { radius: radiusDriver, api: apiNeverUsed };

describeEachEngine('RADIUS driver', (db) => {
  let lab: LabRouter;
  let coaPort: number;
  let routerId: number;
  let planId: number;
  let subscriberId: number;
  const clock = new FixedClock('2026-11-05T00:00:00Z');
  let acctCounter = 0;
  const ctx = (): ServiceContext => ({ ...db().ctx(clock), env: { ISPCTL_SECRET_KEY: KEY_HEX } });
  const k = (): Knex => db().knex;

  beforeAll(async () => {
    lab = await startLabRouter({ adminPassword: LAB_PW, identity: 'lab-driver', nas: { nasAddress: '127.0.0.1' } });
    coaPort = await freeUdpPort();
    const s = lab.state;
    s.menu('/radius').add({ service: 'ppp', address: '127.0.0.1', secret: SECRET });
    s.singleton('/radius/incoming').set({ accept: 'true', port: String(coaPort) });
    await lab.nas!.settled();
    expect(lab.nas!.incomingPort()).toBe(coaPort);
    const [router] = await k()('routers')
      .insert({
        name: 'lab',
        host: '127.0.0.1',
        api_port: lab.port,
        api_user: 'admin',
        api_password_enc: encryptSecret(LAB_PW, KEY),
        radius_secret_enc: encryptSecret(SECRET, KEY),
        mode: 'radius',
        nas_address: '127.0.0.1',
        coa_port: coaPort,
      })
      .returning('id');
    routerId = router.id;
    const [plan] = await k()('plans').insert({ name: 'Fiber', price_minor: 1000n, currency: 'PHP', download_kbps: 50000, upload_kbps: 20000 }).returning('id');
    planId = plan.id;
    const [sub] = await k()('subscribers').insert({ full_name: 'Driver Test' }).returning('id');
    subscriberId = sub.id;
  });

  afterAll(async () => {
    await lab?.close();
  });

  /** A service on the lab router, a local secret for it, a live session and its radacct row. */
  async function dialIn(username: string, opts: { rateLimit?: string; state?: string; address?: string } = {}): Promise<{ serviceId: number; session: LabSession }> {
    const [svc] = await k()('services')
      .insert({
        subscriber_id: subscriberId,
        plan_id: planId,
        router_id: routerId,
        username,
        password: `${username}-pw`,
        started_on: '2026-11-01',
        access_state: opts.state ?? 'active',
        access_reason: opts.state === 'blocked' ? 'admin_suspended' : 'ok',
        rate_limit: opts.state === 'blocked' ? null : (opts.rateLimit ?? '20M/50M'),
      })
      .returning('id');
    lab.state.menu('/ppp/secret').add({ name: username, password: `${username}-pw`, ...(opts.address ? { 'remote-address': opts.address } : {}) });
    const session = await lab.nas!.dial({ username, password: `${username}-pw` });
    await openRow(username, session.acctSessionId, opts.address);
    return { serviceId: svc.id, session };
  }

  async function openRow(username: string, acctSessionId: string, ip?: string, nas = '127.0.0.1'): Promise<void> {
    await k()('radacct').insert({
      acctsessionid: acctSessionId,
      acctuniqueid: `u-${++acctCounter}-${acctSessionId}`,
      username,
      nasipaddress: nas,
      acctstarttime: clock.now(),
      framedipaddress: ip ?? null,
    });
  }

  async function queue(kind: JobKind, serviceId: number, username: string): Promise<number> {
    const [id] = await enqueueJobs(k(), [{ routerId, kind, target: `service:${serviceId}`, serviceId, payload: { username } }], clock.now());
    return id!;
  }

  async function job(id: number) {
    return (await k()('provisioning_jobs').where({ id }).first()) as Record<string, unknown>;
  }

  const live = (name: string) => lab.nas!.sessions().filter((s) => s.name === name);

  test('CoA-ACK: the live session gets the rate the service has now', async () => {
    const { serviceId, session } = await dialIn('alice');
    expect(session.rateLimit).toBeUndefined();
    const id = await queue('radius_coa', serviceId, 'alice');
    // Changed again after queuing: the job sends what is current when it runs.
    await k()('services').where({ id: serviceId }).update({ rate_limit: '20M/100M' });
    const summary = await runJobs(ctx(), drivers, { ids: [id], timeoutMs: 5000 });
    expect(summary).toMatchObject({ done: 1, failed: 0 });
    expect(live('alice')).toEqual([expect.objectContaining({ id: session.id, rateLimit: '20M/100M' })]);
    expect(lab.state.menu('/queue/simple').find((q) => q.name === '<pppoe-alice>')[0]).toMatchObject({ 'max-limit': '20000000/100000000' });
    expect((await job(id)).status).toBe('done');
  });

  test('NAK with Error-Cause 503: the radacct row was stale and is closed; the live session still gets its CoA', async () => {
    await openRow('alice', 'deadbeef');
    const [svc] = await k()('services').where({ username: 'alice' }).select('id');
    await k()('services').where({ id: svc.id }).update({ rate_limit: '10M/30M' });
    const id = await queue('radius_coa', svc.id, 'alice');
    expect(await runJobs(ctx(), drivers, { ids: [id] })).toMatchObject({ done: 1, failed: 0 });
    const stale = await k()('radacct').where({ acctsessionid: 'deadbeef' }).first();
    expect(stale.acctstoptime).toBeInstanceOf(Date);
    expect(stale.acctterminatecause).toBe('NAS-Error');
    expect(live('alice')[0]!.rateLimit).toBe('10M/30M');
  });

  test('no open session: nothing live to change, the job is done', async () => {
    const [svc] = await k()('services')
      .insert({ subscriber_id: subscriberId, plan_id: planId, router_id: routerId, username: 'offline', password: 'pw', started_on: '2026-11-01', access_state: 'active', access_reason: 'ok', rate_limit: '1M/1M' })
      .returning('id');
    // A session of the same user on another NAS is not this router's.
    await openRow('offline', 'cafe0001', undefined, '127.0.0.99');
    const a = await queue('radius_coa', svc.id, 'offline');
    const b = await queue('radius_disconnect', svc.id, 'offline');
    expect(await runJobs(ctx(), drivers, { ids: [a, b] })).toMatchObject({ done: 2, failed: 0 });
  });

  test('Disconnect-ACK drops the session; a CoA for a service that is blocked by now disconnects it too', async () => {
    const bob = await dialIn('bob', { address: '10.0.0.5' });
    const carol = await dialIn('carol');
    await k()('services').where({ id: carol.serviceId }).update({ access_state: 'blocked', access_reason: 'admin_suspended', rate_limit: null });
    const ids = [await queue('radius_disconnect', bob.serviceId, 'bob'), await queue('radius_coa', carol.serviceId, 'carol')];
    expect(await runJobs(ctx(), drivers, { ids })).toMatchObject({ done: 2, failed: 0 });
    expect(live('bob')).toEqual([]);
    expect(live('carol')).toEqual([]);
  });

  test('a disconnect job for a renamed user reaches the session under the old name', async () => {
    const { serviceId } = await dialIn('dave');
    await k()('services').where({ id: serviceId }).update({ username: 'dave2' });
    const [id] = await enqueueJobs(k(), [{ routerId, kind: 'radius_disconnect', target: `service:${serviceId}`, serviceId, payload: { username: 'dave2', previousUsername: 'dave' } }], clock.now());
    expect(await runJobs(ctx(), drivers, { ids: [id!] })).toMatchObject({ done: 1 });
    expect(live('dave')).toEqual([]);
  });

  test('a CoA the router refuses for another reason becomes a disconnect, so the next login gets the new attributes', async () => {
    const { serviceId } = await dialIn('erin');
    // The lab refuses a rate limit it cannot parse with Error-Cause 407.
    await k()('services').where({ id: serviceId }).update({ rate_limit: 'fast please' });
    const id = await queue('radius_coa', serviceId, 'erin');
    expect(await runJobs(ctx(), drivers, { ids: [id] })).toMatchObject({ done: 1 });
    expect(live('erin')).toEqual([]);
  });

  test('no answer on the CoA port: the session is removed over the RouterOS API', async () => {
    const { serviceId } = await dialIn('frank');
    lab.state.singleton('/radius/incoming').set({ accept: 'false' });
    await lab.nas!.settled();
    try {
      await k()('services').where({ id: serviceId }).update({ rate_limit: '5M/5M' });
      const id = await queue('radius_coa', serviceId, 'frank');
      expect(await runJobs(ctx(), drivers, { ids: [id], timeoutMs: 3000 })).toMatchObject({ done: 1, failed: 0 });
      expect(live('frank')).toEqual([]);
      expect(lab.state.menu('/ppp/secret').get('frank')).toMatchObject({ 'last-disconnect-reason': 'admin-reset' });
    } finally {
      lab.state.singleton('/radius/incoming').set({ accept: 'true', port: String(coaPort) });
      await lab.nas!.settled();
    }
  });

  test('router unreachable (no CoA answer, API refused): jobs stay queued with both errors; once it is back they apply once', async () => {
    const { serviceId, session } = await dialIn('grace');
    lab.state.singleton('/radius/incoming').set({ accept: 'false' });
    await lab.nas!.settled();
    lab.faults.refuseConnections = true;
    let id: number;
    try {
      await k()('services').where({ id: serviceId }).update({ rate_limit: '7M/7M' });
      id = await queue('radius_coa', serviceId, 'grace');
      const summary = await runJobs(ctx(), drivers, { ids: [id], timeoutMs: 3000 });
      expect(summary).toMatchObject({ done: 0, failed: 1, remaining: { pending: 1 } });
      const j = await job(id);
      expect(j).toMatchObject({ status: 'pending', attempts: 1 });
      expect(j.last_error).toMatch(/RADIUS: no RADIUS response/);
      expect(j.last_error).toMatch(/RouterOS API: /);
      expect(live('grace')[0]!.rateLimit).toBeUndefined();
    } finally {
      lab.faults.refuseConnections = false;
      lab.state.singleton('/radius/incoming').set({ accept: 'true', port: String(coaPort) });
      await lab.nas!.settled();
    }
    const coas: string[] = [];
    const off = lab.state.on('change', (e) => {
      if (e.path === '/queue/simple' && e.op === 'add') coas.push(e.path);
    });
    try {
      const again = await runJobs(ctx(), drivers, { ids: [id], ignoreBackoff: true });
      expect(again).toMatchObject({ claimed: 1, done: 1, failed: 0 });
      expect(live('grace')).toEqual([expect.objectContaining({ id: session.id, rateLimit: '7M/7M' })]);
      expect(await runJobs(ctx(), drivers, { ids: [id], ignoreBackoff: true })).toMatchObject({ claimed: 0 });
      expect(coas).toHaveLength(1);
    } finally {
      off();
    }
    expect((await listJobs(k(), { serviceId })).map((j) => j.status)).toEqual([]);
  });

  test('many jobs at once are pipelined', async () => {
    const n = 60;
    const [sub] = await k()('subscribers').insert({ full_name: 'Many' }).returning('id');
    const rows = Array.from({ length: n }, (_, i) => ({
      subscriber_id: sub.id,
      plan_id: planId,
      router_id: routerId,
      username: `m${i}`,
      password: `m${i}-pw`,
      started_on: '2026-11-01',
      access_state: 'active',
      access_reason: 'ok',
      rate_limit: '3M/9M',
    }));
    const services: Array<{ id: number; username: string }> = await k()('services').insert(rows).returning(['id', 'username']);
    for (const s of services) {
      lab.state.menu('/ppp/secret').add({ name: s.username, password: `${s.username}-pw` });
      const session = await lab.nas!.dial({ username: s.username, password: `${s.username}-pw` });
      await openRow(s.username, session.acctSessionId);
    }
    const ids = await enqueueJobs(
      k(),
      services.map((s) => ({ routerId, kind: 'radius_coa' as const, target: `service:${s.id}`, serviceId: s.id, payload: { username: s.username } })),
      clock.now(),
    );
    expect(await runJobs(ctx(), drivers, { ids })).toMatchObject({ done: n, failed: 0 });
    expect(lab.nas!.sessions().filter((s) => s.name.startsWith('m') && s.rateLimit === '3M/9M')).toHaveLength(n);
  });
});
