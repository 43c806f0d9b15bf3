// The executor against the lab router over a real socket: phase order, per-object errors that do
// not stop the rest, unset fields, live sessions dropped by name and by profile, and the scoped
// reads the driver uses.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { NetworkSettings } from '../../src/core/access/settings.js';
import { RouterOSClient, type RouterOSWriter } from '../../src/core/routeros/index.js';
import { desiredStateFromRows } from '../../src/core/provisioning/routeros/desired.js';
import { diffState, planHasChanges } from '../../src/core/provisioning/routeros/diff.js';
import { applyPlan, IDS_PER_COMMAND } from '../../src/core/provisioning/routeros/execute.js';
import { printWhereAny, readFullState, readScopedState } from '../../src/core/provisioning/routeros/read.js';
import { startLabRouter, type LabRouter } from '../../src/lab/index.js';

const settings: NetworkSettings = { suspensionAction: 'block', throttleDownloadKbps: 1000, throttleUploadKbps: 1000, apiBlockAction: 'disable' };
const plan = (id: number, name: string, down: number) => ({
  id,
  name,
  download_kbps: down,
  upload_kbps: 10_000,
  burst_download_kbps: null,
  burst_upload_kbps: null,
  burst_threshold_download_kbps: null,
  burst_threshold_upload_kbps: null,
  burst_time_seconds: null,
  throttle_download_kbps: null,
  throttle_upload_kbps: null,
});
type Svc = Parameters<typeof desiredStateFromRows>[3][number];
const svc = (id: number, username: string, extra: Partial<Svc> = {}): Svc => ({
  id,
  username,
  password: `pw-${username}`,
  static_ip: null,
  plan_id: 1,
  access_state: 'active',
  rate_limit: '10M/50M',
  full_name: `Person ${id}`,
  account_no: `S-${id}`,
  ...extra,
});
const facts = { id: 1, name: 'lab', shaping: 'profile' as const, blockAction: 'disable' as const };

describe('applying plans on the lab router', () => {
  let lab: LabRouter;
  let client: RouterOSClient;

  beforeAll(async () => {
    lab = await startLabRouter({ adminPassword: 'pw', nas: true });
    client = await RouterOSClient.connect({ host: '127.0.0.1', port: lab.port, user: 'admin', password: 'pw' });
  });
  afterAll(async () => {
    await client?.close();
    await lab?.close();
  });
  beforeEach(() => {
    for (const s of lab.state.activeSessions()) lab.state.removeActiveSession(s.id);
    for (const s of lab.state.menu('/ppp/secret').list()) lab.state.menu('/ppp/secret').remove(s['.id']!);
    for (const p of lab.state.menu('/ppp/profile').list()) if (p.default !== 'true') lab.state.menu('/ppp/profile').remove(p['.id']!);
    for (const q of lab.state.menu('/queue/simple').list()) if (q.dynamic !== 'true') lab.state.menu('/queue/simple').remove(q['.id']!);
  });

  const converge = async (desired: ReturnType<typeof desiredStateFromRows>) => {
    const plan = diffState(desired, await readFullState(client));
    const result = await applyPlan(client, plan);
    return { plan, result };
  };

  it('creates profiles before the secrets that name them, and converges in one pass', async () => {
    const desired = desiredStateFromRows(facts, settings, [plan(1, 'Fiber 50', 50_000)], [svc(1, 'juan'), svc(2, 'ana', { static_ip: '10.0.0.9' })]);
    const { result } = await converge(desired);
    expect(result.counts).toMatchObject({ created: 4, failed: 0 });
    expect(planHasChanges(diffState(desired, await readFullState(client)))).toBe(false);
    const session = await lab.nas!.dial({ username: 'ana', password: 'pw-ana' });
    expect(session).toMatchObject({ address: '10.0.0.9', rateLimit: '10M/50M' });
  });

  it('renames a plan\'s profiles in place (secrets follow) and unsets a rate for queue shaping', async () => {
    await converge(desiredStateFromRows(facts, settings, [plan(1, 'Fiber 50', 50_000)], [svc(1, 'juan')]));
    const renamed = desiredStateFromRows(facts, settings, [plan(1, 'Fiber Max', 50_000)], [svc(1, 'juan')]);
    const { plan: p, result } = await converge(renamed);
    // Only the profiles change: the secret follows the rename, and its session is left alone.
    expect(p.update.map((u) => `${u.kind} ${u.name}`)).toEqual(['profile ispctl-1-fiber-50', 'profile ispctl-1-fiber-50-throttled']);
    expect(p.sessions).toEqual([]);
    expect(result.counts.failed).toBe(0);
    expect(lab.state.menu('/ppp/secret').get('juan')!.profile).toBe('ispctl-1-fiber-max');

    const queued = desiredStateFromRows({ ...facts, shaping: 'queue' }, settings, [plan(1, 'Fiber Max', 50_000)], [svc(1, 'juan', { static_ip: '10.0.0.7' })]);
    const q = await converge(queued);
    expect(q.result.counts.failed).toBe(0);
    expect(lab.state.menu('/ppp/profile').get('ispctl-1-fiber-max')!['rate-limit']).toBeUndefined();
    expect(lab.state.menu('/queue/simple').get('ispctl-juan')).toMatchObject({ target: '10.0.0.7/32', 'max-limit': '10000000/50000000' });
    expect(planHasChanges(diffState(queued, await readFullState(client)))).toBe(false);
  });

  it('one refused object does not stop the others; its error names the object', async () => {
    lab.state.menu('/ppp/profile').add({ name: 'ispctl-1-fiber-50' }); // unmarked namesake of the profile
    const desired = desiredStateFromRows(facts, settings, [plan(1, 'Fiber 50', 50_000)], [svc(1, 'juan'), svc(2, 'ana')]);
    const { plan: p, result } = await converge(desired);
    expect(p.unmanaged.map((u) => `${u.kind} ${u.name} ${u.conflictKey}`)).toEqual(['profile ispctl-1-fiber-50 plan:1']);
    // The secrets would land on a profile ispctl does not manage: held back, with the reason.
    expect(p.invalid.map((i) => i.key).sort()).toEqual(['plan:1', 'service:1', 'service:2']);
    expect(p.invalid.find((i) => i.key === 'service:1')!.error).toMatch(/profile ispctl-1-fiber-50 is held by a profile ispctl does not manage/);
    expect(result.counts).toMatchObject({ created: 1, failed: 0 }); // the throttled profile only
    expect(lab.state.menu('/ppp/secret').list()).toEqual([]);

    // A refused object does not stop the rest: ana's secret is refused by the router (an
    // unmanaged namesake created after the plan was read), juan's goes through.
    lab.state.menu('/ppp/profile').remove('ispctl-1-fiber-50');
    const p2 = diffState(desired, await readFullState(client));
    lab.state.menu('/ppp/secret').add({ name: 'ana' });
    const r2 = await applyPlan(client, p2);
    const failed = r2.outcomes.filter((o) => !o.ok);
    expect(failed.map((o) => [o.key, o.error])).toEqual([['service:2', expect.stringMatching(/^secret ana: .*already exists/)]]);
    expect(lab.state.menu('/ppp/secret').get('juan')).toBeDefined();
  });

  it('frees a name before taking it: a removed service\'s secret goes before a new one of the same name', async () => {
    await converge(desiredStateFromRows(facts, settings, [plan(1, 'Fiber 50', 50_000)], [svc(1, 'juan')]));
    const { result } = await converge(desiredStateFromRows(facts, settings, [plan(1, 'Fiber 50', 50_000)], [svc(2, 'juan', { password: 'new' })]));
    expect(result.counts).toMatchObject({ removed: 1, created: 1, failed: 0 });
    expect(lab.state.menu('/ppp/secret').get('juan')).toMatchObject({ password: 'new', comment: expect.stringMatching(/^ispctl:service:2 /) });
  });

  it('drops sessions by name after blocking, and every session on a profile whose rate changed', async () => {
    await converge(desiredStateFromRows(facts, settings, [plan(1, 'Fiber 50', 50_000)], [svc(1, 'juan'), svc(2, 'ana'), svc(3, 'bob')]));
    for (const u of ['juan', 'ana', 'bob']) await lab.nas!.dial({ username: u, password: `pw-${u}` });
    // Scoped (as a job runs): juan blocked, sessions not read beforehand.
    const blocked = desiredStateFromRows(facts, settings, [plan(1, 'Fiber 50', 50_000)], [svc(1, 'juan', { access_state: 'blocked', rate_limit: null })], [1]);
    const actual = await readScopedState(client, { secrets: { names: ['juan'], comments: [] }, queues: { names: [], comments: [] } });
    expect(actual.secrets.map((s) => s.name)).toEqual(['juan']);
    const r1 = await applyPlan(client, diffState(blocked, actual));
    expect(r1.counts).toMatchObject({ updated: 1, dropped: 1, failed: 0 });
    expect(lab.state.activeSessions().map((s) => s.name).sort()).toEqual(['ana', 'bob']);

    // A speed change, scoped to no service: resolved by profile on the router.
    const faster = desiredStateFromRows(facts, settings, [plan(1, 'Fiber 50', 100_000)], [], []);
    const p2 = diffState(faster, await readScopedState(client, { secrets: { names: [], comments: [] }, queues: { names: [], comments: [] } }));
    expect(p2.sessionProfiles).toEqual(['ispctl-1-fiber-50']);
    const r2 = await applyPlan(client, p2);
    expect(r2.counts).toMatchObject({ updated: 1, dropped: 2, failed: 0 });
    expect(lab.state.activeSessions()).toEqual([]);
  });

  it('reads by name or exact comment in bounded OR queries', async () => {
    for (let i = 0; i < 120; i++) lab.state.menu('/ppp/secret').add({ name: `u${i}`, comment: `c${i}` });
    const rows = await printWhereAny(client, '/ppp/secret', [...Array.from({ length: 60 }, (_, i) => ['name', `u${i}`] as const), ['comment', 'c100'], ['name', 'u0'], ['name', 'nobody']], ['name']);
    expect(rows.map((r) => r.name).sort()).toEqual([...Array.from({ length: 60 }, (_, i) => `u${i}`), 'u100'].sort());
  });

  it('sends objects changed alike and sessions to drop many to a command; a refused list goes again one by one', async () => {
    const n = 2 * IDS_PER_COMMAND + 30;
    const people = Array.from({ length: n }, (_, i) => svc(i + 1, `user${i + 1}`));
    await converge(desiredStateFromRows(facts, settings, [plan(1, 'Fiber 50', 50_000)], people));
    for (const p of people.slice(0, 150)) await lab.nas!.dial({ username: p.username, password: p.password });
    // Every one blocked (a mass suspension), and one of them given a new password too.
    const blocked = people.map((p) => ({ ...p, access_state: 'blocked' as const, rate_limit: null, ...(p.id === 7 ? { password: 'changed' } : {}) }));
    const desired = desiredStateFromRows(facts, settings, [plan(1, 'Fiber 50', 50_000)], blocked);
    const p1 = diffState(desired, await readFullState(client));
    // A secret deleted after the plan was read, a session hung up after the sessions were: their
    // lists are refused, and go again one by one.
    lab.state.menu('/ppp/secret').remove('user12');
    const sent: string[] = [];
    const counting: RouterOSWriter = {
      write: (command, params, opts) => {
        if (command === '/ppp/active/remove' && !sent.includes(command)) {
          const hungUp = lab.state.activeSessions().find((s) => s.name === 'user40')!;
          lab.state.removeActiveSession(hungUp.id);
        }
        sent.push(command);
        return client.write(command, params, opts);
      },
    };
    const r1 = await applyPlan(counting, p1);

    const failed = r1.outcomes.filter((o) => !o.ok);
    expect(failed.map((o) => [o.key, o.error])).toEqual([['service:12', expect.stringMatching(/^secret user12: .*no such item/)]]);
    const secrets = lab.state.menu('/ppp/secret').list();
    expect(secrets).toHaveLength(n - 1);
    expect(secrets.filter((s) => s.disabled !== 'true')).toEqual([]);
    expect(lab.state.menu('/ppp/secret').get('user7')).toMatchObject({ password: 'changed', disabled: 'true' });
    expect(lab.state.activeSessions()).toEqual([]);
    expect(r1.counts).toMatchObject({ updated: n - 1, dropped: 150, failed: 1 });
    // The blocks: lists of at most IDS_PER_COMMAND (the one holding user12 sent again one a
    // command), user7's own set; the sessions: two lists, the one holding user40's sent again.
    const sets = sent.filter((c) => c === '/ppp/secret/set').length;
    const removes = sent.filter((c) => c === '/ppp/active/remove').length;
    expect(sets).toBe(Math.ceil((n - 1) / IDS_PER_COMMAND) + 1 + IDS_PER_COMMAND);
    expect(removes).toBe(2 + IDS_PER_COMMAND);
    expect(planHasChanges(diffState(desired, await readFullState(client)))).toBe(true); // user12 only: created again next time
  });

  it('removes many secrets a command when blocking removes them', async () => {
    const n = IDS_PER_COMMAND + 20;
    const people = Array.from({ length: n }, (_, i) => svc(i + 1, `user${i + 1}`));
    const removing = { ...facts, blockAction: 'remove' as const };
    await converge(desiredStateFromRows(removing, settings, [plan(1, 'Fiber 50', 50_000)], people));
    const blocked = desiredStateFromRows(removing, settings, [plan(1, 'Fiber 50', 50_000)], people.map((p) => ({ ...p, access_state: 'blocked' as const, rate_limit: null })));
    const p1 = diffState(blocked, await readFullState(client));
    const sent: string[] = [];
    const r1 = await applyPlan({ write: (command, params, opts) => (sent.push(command), client.write(command, params, opts)) }, p1);
    expect(r1.counts).toMatchObject({ removed: n, failed: 0 });
    expect(lab.state.menu('/ppp/secret').list()).toEqual([]);
    expect(sent.filter((c) => c === '/ppp/secret/remove')).toHaveLength(2);
  });
});
