// Brownfield on both engines, against a lab router on real sockets that someone set up by hand:
// snapshot → the review file a person edits → import → sync plans nothing. No live session is
// dropped, hostile text survives the round trip, a second import changes nothing.
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { parseDocument } from 'yaml';
import { FixedClock } from '../../src/core/clock.js';
import type { ServiceContext } from '../../src/core/context.js';
import { IspctlError } from '../../src/core/errors.js';
import { importReview, snapshotRouter } from '../../src/core/onboarding/brownfield-service.js';
import { getPlan } from '../../src/core/plans/service.js';
import { planSync } from '../../src/core/provisioning/routeros/sync.js';
import { addRouter } from '../../src/core/routers/service.js';
import { initialise } from '../../src/core/settings/init.js';
import { startLabRouter, type LabRouter } from '../../src/lab/index.js';
import { runScript } from '../../src/lab/console/interpreter.js';
import { describeEachEngine } from '../helpers/db.js';

// What a technician typed over the years: assorted rate limits, a shared-looking suspension
// profile, Winbox comments in cp1252 (\E9 is é), quotes, $ and newlines in names and comments.
const BROWNFIELD = String.raw`
/ip pool add name=pool-home ranges=10.50.0.2-10.50.0.254
/ip pool add name=pool-biz ranges=10.60.0.2-10.60.0.100
/ppp profile add name="Home 10M" rate-limit="5M/10M 8M/15M 4M/8M 8/8" local-address=10.50.0.1 remote-address=pool-home
/ppp profile add name="Biz \"Gold\" \$50" rate-limit=10M/50M local-address=10.60.0.1 remote-address=pool-biz
/ppp profile add name=isolir rate-limit=256k/256k local-address=10.50.0.1 remote-address=pool-home
/ppp secret add name=juan password=pw-juan service=any profile="Home 10M" caller-id=AA:BB:CC:00:00:01 comment="Jos\E9 Rizal"
/ppp secret add name=maria password="pa\$\$w0rd" profile="Biz \"Gold\" \$50" remote-address=10.70.0.5 comment="Maria \"M\" \$(x)\nline two"
/ppp secret add name=JUAN password=pw-dup profile="Home 10M" comment="duplicate of juan"
/ppp secret add name=late password=pw-late profile=isolir comment="Late payer"
/ppp secret add name=off password=pw-off profile="Home 10M" disabled=yes comment="Moved away"
/ppp secret add name="bad\"name" password=pw-bad profile="Home 10M" comment="hostile user name"
/ppp secret add name=dflt password=pw-dflt comment="on the default profile"
/ppp secret add name=quoted password="pw\"q" profile="Home 10M" comment="password with a quote"
/queue simple add name=q-maria target=10.70.0.5/32 max-limit=10M/50M
`;

describeEachEngine('brownfield snapshot and import', (db) => {
  let ctx: ServiceContext;
  let lab: LabRouter;
  const dir = mkdtempSync(join(tmpdir(), 'ispctl-brownfield-'));
  const file = join(dir, 'review.yaml');
  const active = () => lab.state.activeSessions().map((s) => s.name).sort();

  beforeAll(async () => {
    lab = await startLabRouter({ adminPassword: 'lab-pw', nas: true });
    const r = runScript(lab.state, BROWNFIELD);
    expect(r.errors ?? [], JSON.stringify(r)).toEqual([]);
    await lab.nas!.dial({ username: 'juan', password: 'pw-juan', callerId: 'AA:BB:CC:00:00:01' });
    await lab.nas!.dial({ username: 'maria', password: 'pa$$w0rd' });
    await lab.nas!.dial({ username: 'late', password: 'pw-late' });
    ctx = { ...db().ctx(new FixedClock('2026-12-01T00:00:00Z')), env: { ISPCTL_SECRET_KEY: 'c3'.repeat(32) } };
    await initialise(ctx, { values: { 'isp-name': 'Test ISP', currency: 'PHP', timezone: 'Asia/Manila' } });
    await addRouter(ctx, { name: 'old1', host: '127.0.0.1', apiPort: lab.port, apiUser: 'admin', apiPassword: 'lab-pw', mode: 'api' });
  });

  afterAll(async () => {
    await lab?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('snapshot writes a 0600 review: plans with parsed rates, subscribers, decisions, warnings', async () => {
    const r = await snapshotRouter(ctx, 'old1', { out: file });
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const text = readFileSync(file, 'utf8');
    expect(text).toContain('SENSITIVE');
    const doc = parseDocument(text).toJS();
    expect(doc.plans).toEqual([
      expect.objectContaining({ profile: 'Home 10M', include: true, price: null, download: '10M', upload: '5M', burst: { download: '15M', upload: '8M', thresholdDownload: '8M', thresholdUpload: '4M', time: 8 }, localAddress: '10.50.0.1', pool: '10.50.0.2-10.50.0.254', fromPool: 'pool-home' }),
      expect.objectContaining({ profile: 'Biz "Gold" $50', name: 'Biz "Gold" $50', include: true, download: '50M', upload: '10M', burst: null, pool: '10.60.0.2-10.60.0.100' }),
      expect.objectContaining({ profile: 'isolir', include: false }),
    ]);
    const subs = Object.fromEntries(doc.subscribers.map((s: { username: string }) => [s.username, s]));
    expect(Object.keys(subs).sort()).toEqual(['juan', 'maria', 'off']);
    expect(subs.juan).toMatchObject({ name: 'José Rizal', profile: 'Home 10M', password: 'pw-juan', callerId: 'AA:BB:CC:00:00:01', suspended: false });
    expect(subs.maria).toMatchObject({ name: 'Maria "M" $(x) line two', password: 'pa$$w0rd', staticIp: '10.70.0.5' });
    expect(subs.off).toMatchObject({ suspended: true });
    const decide = Object.fromEntries(doc.decide.map((s: { username: string; problem: string }) => [s.username, s.problem]));
    expect(Object.keys(decide).sort()).toEqual(['JUAN', 'bad"name', 'dflt', 'late', 'quoted']);
    expect(decide.late).toMatch(/suspension profile "isolir".*online, so it is imported active/);
    expect(doc.decide.find((d: { username: string }) => d.username === 'late')).toMatchObject({ include: false, suspended: false, profile: null });
    expect(decide.JUAN).toMatch(/letter case/);
    expect(r.counts).toMatchObject({ sessions: 3, pools: 2, queues: 1 });
    expect(doc.warnings.join('\n')).toMatch(/simple queue/);
  });

  it('refuses a file with an included plan without a price, naming it with its line; nothing is imported', async () => {
    const err = await importReview(ctx, 'old1', { review: file }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(IspctlError);
    const e = err as IspctlError;
    expect(e.code).toBe('REVIEW_INVALID');
    expect(e.message).toMatch(/line \d+: plan "Home 10M" \(profile "Home 10M"\) has no price/);
    expect(e.message).toMatch(/line \d+: plan "Biz \\"Gold\\" \$50"/);
    const lines = (e.details!.problems as Array<{ line: number }>).map((p) => p.line);
    const text = readFileSync(file, 'utf8').split('\n');
    expect(text[lines[0]! - 1]).toContain('profile: Home 10M');
    expect(Number((await ctx.db('plans').count({ n: '*' }).first())!.n)).toBe(0);
  });

  it('imports the edited file in one go without dropping a session; sync then plans nothing', async () => {
    const doc = parseDocument(readFileSync(file, 'utf8'));
    doc.setIn(['plans', 0, 'price'], '999');
    doc.setIn(['plans', 0, 'name'], 'Home 10');
    doc.setIn(['plans', 1, 'price'], '2,500.00');
    // The late payer, online on the suspension profile: on Home 10, imported active (the default
    // for an online one: suspended would have the next sync drop the session).
    const late = (doc.toJS().decide as Array<{ username: string }>).findIndex((d) => d.username === 'late');
    doc.setIn(['decide', late, 'include'], true);
    doc.setIn(['decide', late, 'profile'], 'Home 10M');
    writeFileSync(file, doc.toString(), { mode: 0o600 });

    const dry = await importReview(ctx, 'old1', { review: file, dryRun: true });
    expect(dry.plans.created.sort()).toEqual(['Biz "Gold" $50', 'Home 10']);
    expect(dry.subscribers.created.sort()).toEqual(['juan', 'late', 'maria', 'off']);
    expect(Number((await ctx.db('services').count({ n: '*' }).first())!.n)).toBe(0);

    const before = active();
    const r = await importReview(ctx, 'old1', { review: file });
    expect(r.failures).toEqual([]);
    expect(r.subscribers.created.sort()).toEqual(['juan', 'late', 'maria', 'off']);
    expect(r.sessions).toEqual({ before: 3, after: 3 });
    expect(active()).toEqual(before);

    // The database: prices as typed, rates as parsed, names from the comments, suspensions.
    const home = await getPlan(ctx.db, 'Home 10');
    expect(home).toMatchObject({ priceMinor: 99900n, downloadKbps: 10000, uploadKbps: 5000, localAddress: '10.50.0.1', poolRanges: '10.50.0.2-10.50.0.254' });
    expect(home.burst).toMatchObject({ downloadKbps: 15000, uploadKbps: 8000, timeSeconds: 8 });
    expect((await getPlan(ctx.db, 'Biz "Gold" $50')).priceMinor).toBe(250000n);
    const rows = await ctx.db('services as s').join('subscribers as u', 'u.id', 's.subscriber_id').orderBy('s.username').select('s.username', 'u.full_name', 's.admin_status', ctx.db.raw('host(s.static_ip) as ip'));
    expect(rows).toEqual([
      { username: 'juan', full_name: 'José Rizal', admin_status: 'active', ip: null },
      { username: 'late', full_name: 'Late payer', admin_status: 'active', ip: null },
      { username: 'maria', full_name: 'Maria "M" $(x) line two', admin_status: 'active', ip: '10.70.0.5' },
      { username: 'off', full_name: 'Moved away', admin_status: 'suspended', ip: null },
    ]);

    // The router: objects taken over in place (same ids), caller-id kept, nothing removed.
    const secrets = lab.state.menu('/ppp/secret').list();
    const juan = secrets.find((s) => s.name === 'juan')!;
    expect(juan).toMatchObject({ comment: expect.stringMatching(/^ispctl:service:\d+ S-\d+ José Rizal$/), 'caller-id': 'AA:BB:CC:00:00:01', service: 'pppoe', profile: `ispctl-${home.id}-home-10` });
    expect(secrets.map((s) => s.name).sort()).toEqual(['JUAN', 'bad"name', 'dflt', 'juan', 'late', 'maria', 'off', 'quoted']);
    expect(secrets.find((s) => s.name === 'late')).toMatchObject({ disabled: 'false', profile: `ispctl-${home.id}-home-10` });
    expect(secrets.find((s) => s.name === 'off')).toMatchObject({ disabled: 'true' });
    expect(lab.state.menu('/ip/pool').list().map((p) => p.name).sort()).toEqual([`ispctl-pool-${home.id}`, expect.stringMatching(/^ispctl-pool-\d+$/)]);
    expect(lab.state.menu('/ppp/profile').list().some((p) => p.name === 'isolir')).toBe(true);

    const [plan] = await planSync(ctx, { router: 'old1' });
    expect(plan!.status).toBe('planned');
    expect({ create: plan!.plan!.create, update: plan!.plan!.update, remove: plan!.plan!.remove, sessions: plan!.plan!.sessions }).toEqual({ create: [], update: [], remove: [], sessions: [] });
    expect(plan!.changes).toBe(false);
  });

  it('a second import reports everything as already imported and changes nothing', async () => {
    const plans = Number((await ctx.db('plans').count({ n: '*' }).first())!.n);
    const r = await importReview(ctx, 'old1', { review: file });
    expect(r.plans.created).toEqual([]);
    expect(r.plans.existing.sort()).toEqual(['Biz "Gold" $50', 'Home 10']);
    expect(r.subscribers.created).toEqual([]);
    expect(r.subscribers.alreadyImported.sort()).toEqual(['juan', 'late', 'maria', 'off']);
    expect(r.applied).toBeUndefined();
    expect(Number((await ctx.db('plans').count({ n: '*' }).first())!.n)).toBe(plans);
    // A new snapshot lists them as imported.
    const again = await snapshotRouter(ctx, 'old1', { out: join(dir, 'again.yaml') });
    expect(again.counts).toMatchObject({ importedSubscribers: 4, subscribers: 0 });
  });
});
