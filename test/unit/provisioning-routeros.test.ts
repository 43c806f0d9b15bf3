// API-mode provisioning, the pure parts: names and markers, normalisation of what RouterOS
// prints, and the plan that turns what a router holds into what ispctl wants.
import { describe, expect, it } from 'vitest';
import type { NetworkSettings } from '../../src/core/access/settings.js';
import { desiredStateFromRows, queueLimits } from '../../src/core/provisioning/routeros/desired.js';
import { diffState, fieldChanges, indexRows, normalizeField, parseSeconds, planCounts, planHasChanges, rowsInScope } from '../../src/core/provisioning/routeros/diff.js';
import { desiredByKey, narrowed } from '../../src/core/provisioning/routeros/driver.js';
import { cleanText, markerComment, nameProblem, parseMarker, profileName, queueName, slug } from '../../src/core/provisioning/routeros/naming.js';
import type { ActualState, DesiredState, RouterFacts } from '../../src/core/provisioning/routeros/types.js';

const settings: NetworkSettings = { suspensionAction: 'block', throttleDownloadKbps: 1000, throttleUploadKbps: 1000, apiBlockAction: 'disable' };
const plan = (id: number, name: string, down: number, up: number) => ({
  id,
  name,
  download_kbps: down,
  upload_kbps: up,
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
  rate_limit: '20M/50M',
  full_name: `Person ${id}`,
  account_no: `S-${String(id).padStart(6, '0')}`,
  ...extra,
});
const facts = (over: Partial<RouterFacts> = {}): RouterFacts => ({ id: 1, name: 'core1', shaping: 'profile', blockAction: 'disable', ...over });

function state(services: Svc[], over: Partial<RouterFacts> = {}, scope?: number[]): DesiredState {
  return desiredStateFromRows(facts(over), settings, [plan(1, 'Fiber 50', 50_000, 20_000)], services, scope);
}

/** What a router holding exactly `desired` prints (ids *1, *2, …), rates printed RouterOS style. */
function routerHolding(desired: DesiredState): ActualState {
  let n = 0x10;
  const id = () => `*${(n++).toString(16).toUpperCase()}`;
  return {
    profiles: [{ '.id': '*0', name: 'default', default: 'true' }, ...desired.profiles.map((p) => ({ '.id': id(), ...p.fields, default: 'false' }))],
    secrets: desired.secrets.map((s) => ({ '.id': id(), ...s.fields, disabled: s.fields.disabled === 'yes' ? 'true' : 'false' })),
    queues: desired.queues.map((q) => ({
      '.id': id(),
      ...q.fields,
      'max-limit': q.fields['max-limit']!.replace(/(\d+)M/g, (_m, d) => `${Number(d) * 1_000_000}`),
      'burst-time': '0s/0s',
      disabled: 'false',
      dynamic: 'false',
    })),
    sessions: [],
  };
}

describe('names and markers', () => {
  it('parses only well-formed markers at the start of a comment', () => {
    expect(parseMarker('ispctl:service:42 Juan dela Cruz')).toEqual({ kind: 'service', id: 42, throttled: false, pool: false, key: 'service:42' });
    expect(parseMarker('ispctl:plan:3:pool Fiber 50')).toEqual({ kind: 'plan', id: 3, throttled: false, pool: true, key: 'plan:3:pool' });
    expect(parseMarker('ispctl:router:1:pool default pool of core1')).toMatchObject({ kind: 'router', id: 1, pool: true, key: 'router:1:pool' });
    expect(parseMarker('ispctl:plan:3:throttled Fiber 50, throttled')).toMatchObject({ kind: 'plan', id: 3, throttled: true, key: 'plan:3:throttled' });
    expect(parseMarker('ispctl:plan:3')).toMatchObject({ key: 'plan:3' });
    for (const bad of [undefined, '', 'juan', ' ispctl:service:42', 'ispctl:service:42x', 'ispctl:service:0', 'ispctl:service:throttled', 'ispctl:service:4:throttled', 'x ispctl:service:4', 'ispctl:service:4:pool', 'ispctl:router:1', 'ispctl:router:1:throttled']) {
      expect(parseMarker(bad)).toBeUndefined();
    }
  });

  it('writes one-line comments without control characters, bounded in length', () => {
    expect(markerComment('service:42', 'S-000042 Juan\r\n dela\tCruz\u0007')).toBe('ispctl:service:42 S-000042 Juan dela Cruz');
    const long = markerComment('service:1', 'x'.repeat(500));
    expect([...long].length).toBeLessThanOrEqual(200);
    expect(parseMarker(long)?.key).toBe('service:1');
    expect(cleanText('  a\u2028b  ')).toBe('a b');
    // Bounded in characters, not UTF-16 units: at the bound, over it, and astral characters.
    expect(cleanText('abcde', 5)).toBe('abcde');
    expect(cleanText('abcdef', 5)).toBe('abcd…');
    expect(cleanText('😀😀😀', 5)).toBe('😀😀😀');
    expect(cleanText('😀😀😀😀😀😀', 5)).toBe('😀😀😀😀…');
  });

  it('names profiles from the plan id and a slug, and queues from the user name', () => {
    expect(profileName({ id: 3, name: 'Fiber 50 (Promo)' })).toBe('ispctl-3-fiber-50-promo');
    expect(profileName({ id: 3, name: 'Fibra Niño 50' }, true)).toBe('ispctl-3-fibra-nino-50-throttled');
    expect(profileName({ id: 7, name: '***' })).toBe('ispctl-7-plan');
    expect(slug('A'.repeat(100)).length).toBeLessThanOrEqual(32);
    expect(queueName('juan.dc')).toBe('ispctl-juan.dc');
    expect(nameProblem('juan.dc@isp')).toBeUndefined();
    expect(nameProblem('bad name ')).toMatch(/not a name/);
    expect(nameProblem('a\nb')).toMatch(/not a name/);
  });
});

describe('normalisation of what RouterOS prints', () => {
  it('treats yes/true and no/false/unset alike', () => {
    expect(normalizeField('secret', 'disabled', 'yes')).toBe(normalizeField('secret', 'disabled', 'true'));
    expect(normalizeField('secret', 'disabled', undefined)).toBe(normalizeField('secret', 'disabled', 'no'));
  });

  it('compares rates numerically: 10M/20M = 10000000/20000000 = 10000k/20M', () => {
    expect(normalizeField('queue', 'max-limit', '10M/20M')).toBe(normalizeField('queue', 'max-limit', '10000000/20000000'));
    expect(normalizeField('queue', 'max-limit', '10000k/20M')).toBe(normalizeField('queue', 'max-limit', '10M/20M'));
    expect(normalizeField('queue', 'max-limit', '10M/20M')).not.toBe(normalizeField('queue', 'max-limit', '20M/10M'));
    expect(normalizeField('queue', 'burst-limit', undefined)).toBe(normalizeField('queue', 'burst-limit', '0/0'));
    expect(normalizeField('profile', 'rate-limit', '20M/50M')).toBe(normalizeField('profile', 'rate-limit', '20000k/50000k'));
    expect(normalizeField('profile', 'rate-limit', '20M/50M 40M/100M 16M/40M 8/8')).toBe(normalizeField('profile', 'rate-limit', '20M/50M 40M/100M 16M/40M 8s/8s'));
    expect(normalizeField('profile', 'rate-limit', '')).toBeUndefined();
  });

  it('reads times and targets the ways routers print them', () => {
    expect(parseSeconds('8')).toBe(8);
    expect(parseSeconds('8s')).toBe(8);
    expect(parseSeconds('00:00:08')).toBe(8);
    expect(parseSeconds('1m30s')).toBe(90);
    expect(parseSeconds('1d')).toBe(86400);
    expect(parseSeconds('abc')).toBeUndefined();
    expect(normalizeField('queue', 'burst-time', '8s/8s')).toBe(normalizeField('queue', 'burst-time', '00:00:08/8'));
    expect(normalizeField('queue', 'target', '10.0.0.5')).toBe(normalizeField('queue', 'target', '10.0.0.5/32'));
    expect(normalizeField('secret', 'remote-address', '0.0.0.0')).toBeUndefined();
    expect(normalizeField('secret', 'profile', undefined)).toBe('default');
  });

  it('compares pool ranges and profile addresses as RouterOS means them', () => {
    expect(normalizeField('pool', 'ranges', '10.0.0.0/24')).toBe(normalizeField('pool', 'ranges', '10.0.0.0-10.0.0.255'));
    expect(normalizeField('pool', 'ranges', '10.0.0.2-10.0.0.9, 10.0.1.1')).toBe(normalizeField('pool', 'ranges', '10.0.0.2-10.0.0.9,10.0.1.1-10.0.1.1'));
    expect(normalizeField('pool', 'ranges', '10.0.0.2-10.0.0.9')).not.toBe(normalizeField('pool', 'ranges', '10.0.0.2-10.0.0.10'));
    expect(normalizeField('profile', 'local-address', '10.0.0.1/32')).toBe('10.0.0.1');
    expect(normalizeField('profile', 'remote-address', '')).toBeUndefined();
  });

  it('does not compare a password the router does not print', () => {
    const d = state([svc(1, 'juan')]).secrets[0]!;
    const row = { '.id': '*1', ...d.fields, disabled: 'false' };
    delete (row as Record<string, string>).password;
    expect(fieldChanges('secret', row, d)).toEqual([]);
    expect(fieldChanges('secret', { ...row, password: 'other' }, d)).toEqual([{ field: 'password', from: 'other', to: 'pw-juan' }]);
  });
});

describe('desired state from rows', () => {
  it('profile shaping: two rated profiles per plan, one secret per service, no queues', () => {
    const d = state([svc(1, 'juan'), svc(2, 'ana', { static_ip: '10.0.0.5', access_state: 'throttled', rate_limit: '1M/1M' }), svc(3, 'bob', { access_state: 'blocked', rate_limit: null })]);
    expect(d.profiles.map((p) => [p.name, p.fields['rate-limit'], p.fields.comment])).toEqual([
      ['ispctl-1-fiber-50', '20M/50M', 'ispctl:plan:1 Fiber 50'],
      ['ispctl-1-fiber-50-throttled', '1M/1M', 'ispctl:plan:1:throttled Fiber 50, throttled'],
    ]);
    expect(d.secrets.map((s) => s.fields)).toEqual([
      { name: 'juan', password: 'pw-juan', service: 'pppoe', profile: 'ispctl-1-fiber-50', disabled: 'no', comment: 'ispctl:service:1 S-000001 Person 1' },
      { name: 'ana', password: 'pw-ana', service: 'pppoe', profile: 'ispctl-1-fiber-50-throttled', disabled: 'no', comment: 'ispctl:service:2 S-000002 Person 2', 'remote-address': '10.0.0.5' },
      { name: 'bob', password: 'pw-bob', service: 'pppoe', profile: 'ispctl-1-fiber-50', disabled: 'yes', comment: 'ispctl:service:3 S-000003 Person 3' },
    ]);
    expect(d.queues).toEqual([]);
  });

  it('queue shaping: unrated profiles and a queue per static IP (never both), warning about the rest', () => {
    const d = state([svc(1, 'juan'), svc(2, 'ana', { static_ip: '10.0.0.5' }), svc(3, 'bob', { static_ip: '10.0.0.6', access_state: 'blocked', rate_limit: null })], { shaping: 'queue' });
    expect(d.profiles.every((p) => p.fields['rate-limit'] === undefined)).toBe(true);
    expect(d.queues).toEqual([
      {
        kind: 'queue',
        key: 'service:2',
        name: 'ispctl-ana',
        fields: { name: 'ispctl-ana', target: '10.0.0.5/32', 'max-limit': '20M/50M', 'burst-limit': '0/0', 'burst-threshold': '0/0', 'burst-time': '0s/0s', disabled: 'no', comment: 'ispctl:service:2 S-000002 Person 2' },
      },
    ]);
    expect(d.warnings.join(' ')).toMatch(/1 service on core1 has no static IP/);
  });

  it('block action remove: a blocked service has no secret at all', () => {
    const d = state([svc(1, 'juan', { access_state: 'blocked', rate_limit: null })], { blockAction: 'remove' });
    expect(d.secrets).toEqual([]);
    expect(d.services.get('service:1')).toMatchObject({ state: 'blocked', username: 'juan', present: true });
  });

  it('queue limits carry burst settings in queue order (upload/download)', () => {
    expect(queueLimits('10M/50M 20M/100M 8M/40M 8/8')).toEqual({ 'max-limit': '10M/50M', 'burst-limit': '20M/100M', 'burst-threshold': '8M/40M', 'burst-time': '8s/8s' });
    expect(queueLimits('nonsense')).toBeUndefined();
  });

  it('leaves a service it cannot write alone and says why', () => {
    const d = state([svc(1, 'juan', { password: 'a\nb' })]);
    expect(d.secrets).toEqual([]);
    expect(d.invalid).toEqual([{ key: 'service:1', kind: 'secret', error: expect.stringMatching(/control characters/) }]);
    const plan = diffState(d, { profiles: [], secrets: [{ '.id': '*9', name: 'juan', comment: 'ispctl:service:1 old' }], queues: [] });
    expect(plan.remove).toEqual([]);
  });

  it('scoped: services asked about but not on the router are described as absent', () => {
    const d = state([svc(1, 'juan')], {}, [1, 9]);
    expect([...d.scope!]).toEqual(['service:1', 'service:9']);
    expect(d.services.get('service:9')).toMatchObject({ present: false });
  });
});

describe('the plan', () => {
  const services = [svc(1, 'juan'), svc(2, 'ana', { static_ip: '10.0.0.5' }), svc(3, 'bob')];

  it('creates everything on an empty router, profiles included', () => {
    const d = state(services);
    const plan = diffState(d, { profiles: [{ '.id': '*0', name: 'default', default: 'true' }], secrets: [], queues: [], sessions: [] });
    expect(plan.create.map((c) => `${c.kind} ${c.name}`)).toEqual(['profile ispctl-1-fiber-50', 'profile ispctl-1-fiber-50-throttled', 'secret juan', 'secret ana', 'secret bob']);
    expect(planCounts(plan)).toMatchObject({ create: 5, update: 0, remove: 0, unmanaged: 0, sessions: 0 });
  });

  it('shows nothing to do when the router holds the desired state, printed its own way', () => {
    for (const shaping of ['profile', 'queue'] as const) {
      const d = state(services, { shaping });
      const plan = diffState(d, routerHolding(d));
      expect(planHasChanges(plan)).toBe(false);
      expect(plan.unmanaged).toEqual([]);
    }
  });

  it('lists exactly the hand edits: a changed profile, an unmanaged secret, a deleted managed one', () => {
    const d = state(services);
    const actual = routerHolding(d);
    actual.secrets[0]!.profile = 'ispctl-1-fiber-50-throttled'; // juan moved by hand
    actual.secrets.splice(2, 1); // bob deleted by hand
    actual.secrets.push({ '.id': '*99', name: 'guest', password: 'x', profile: 'default', disabled: 'false' });
    const plan = diffState(d, actual);
    expect(plan.create.map((c) => `${c.kind} ${c.name}`)).toEqual(['secret bob']);
    expect(plan.update).toEqual([{ kind: 'secret', key: 'service:1', id: actual.secrets[0]!['.id'], name: 'juan', changes: [{ field: 'profile', from: 'ispctl-1-fiber-50-throttled', to: 'ispctl-1-fiber-50' }] }]);
    expect(plan.remove).toEqual([]);
    expect(plan.unmanaged).toEqual([{ kind: 'secret', id: '*99', name: 'guest' }]);
  });

  it('matches by marker: renames follow the marker, an unmarked namesake is a conflict', () => {
    const d = state([svc(1, 'juan2', { password: 'pw-juan' }), svc(2, 'ana')]);
    const actual = routerHolding(state([svc(1, 'juan'), svc(3, 'old')]));
    actual.secrets.push({ '.id': '*A0', name: 'ana', password: 'theirs', profile: 'default' }); // no marker
    const plan = diffState(d, actual);
    expect(plan.update.find((u) => u.key === 'service:1')!.changes).toEqual([{ field: 'name', from: 'juan', to: 'juan2' }]);
    expect(plan.remove.map((r) => `${r.name} ${r.reason}`)).toEqual(['old not-desired']);
    expect(plan.create.map((c) => c.name)).not.toContain('ana');
    expect(plan.unmanaged).toEqual([{ kind: 'secret', id: '*A0', name: 'ana', conflictKey: 'service:2' }]);
    expect(plan.invalid.map((i) => i.key)).toEqual(['service:2']);

    const adopt = diffState(d, actual, { adopt: true });
    const taken = adopt.update.find((u) => u.key === 'service:2')!;
    expect(taken).toMatchObject({ id: '*A0', adopted: true });
    expect(taken.changes.map((c) => c.field)).toEqual(['password', 'service', 'profile', 'comment']);

    const prune = diffState(d, actual, { prune: true });
    expect(prune.remove.map((r) => `${r.name} ${r.reason}`)).toEqual(['ana prune', 'old not-desired']);
    expect(prune.create.map((c) => c.name)).toContain('ana');
  });

  it('removes duplicates of one marker, keeping the one with the right name', () => {
    const d = state([svc(1, 'juan')]);
    const actual = routerHolding(d);
    actual.secrets.unshift({ ...actual.secrets[0]!, '.id': '*5', name: 'juan-copy' });
    const plan = diffState(d, actual);
    expect(plan.remove).toEqual([{ kind: 'secret', key: 'service:1', id: '*5', name: 'juan-copy', reason: 'duplicate' }]);
    expect(plan.update).toEqual([]);
  });

  it('never touches built-in profiles or dynamic queues, even with prune', () => {
    const d = state([svc(2, 'ana', { static_ip: '10.0.0.5' })], { shaping: 'queue' });
    const actual = routerHolding(d);
    actual.queues.push({ '.id': '*D1', name: '<pppoe-ana>', target: '<pppoe-ana>', 'max-limit': '1000000/1000000', dynamic: 'true' });
    actual.profiles.push({ '.id': '*FFFFFFFE', name: 'default-encryption', default: 'true' });
    const plan = diffState(d, actual, { prune: true });
    expect(plan.remove).toEqual([]);
    expect(plan.unmanaged).toEqual([]);
  });

  it('switching a router to queue shaping unrates the profiles and adds queues; back again removes them', () => {
    const byProfile = state(services);
    const byQueue = state(services, { shaping: 'queue' });
    const toQueue = diffState(byQueue, routerHolding(byProfile));
    expect(toQueue.update.filter((u) => u.kind === 'profile').map((u) => u.changes)).toEqual([
      [{ field: 'rate-limit', from: '20M/50M' }],
      [{ field: 'rate-limit', from: '1M/1M' }],
    ]);
    expect(toQueue.create.map((c) => `${c.kind} ${c.name}`)).toEqual(['queue ispctl-ana']);
    const toProfile = diffState(byProfile, routerHolding(byQueue));
    expect(toProfile.remove.map((r) => `${r.kind} ${r.name}`)).toEqual(['queue ispctl-ana']);
  });

  it('drops sessions that must reconnect: blocked, new static IP, new profile speed; and only live ones', () => {
    const before = state(services);
    const actual = routerHolding(before);
    actual.sessions = [
      { '.id': '*S1', name: 'juan', address: '10.9.0.1' },
      { '.id': '*S2', name: 'ana', address: '10.0.0.5' },
      { '.id': '*S3', name: 'bob', address: '10.9.0.3' },
      { '.id': '*S4', name: 'stranger', address: '10.9.0.4' },
    ];
    const after = state([svc(1, 'juan', { access_state: 'blocked', rate_limit: null }), svc(2, 'ana', { static_ip: '10.0.0.7' }), svc(3, 'bob', { access_state: 'throttled', rate_limit: '1M/1M' })]);
    const plan = diffState(after, actual);
    expect(plan.sessions.map((s) => [s.name, s.reason, s.ids])).toEqual([
      ['juan', 'blocked', ['*S1']],
      ['ana', 'static IP changed', ['*S2']],
      ['bob', 'speed changed', ['*S3']],
    ]);
  });

  it('a plan speed change rates the profile anew and every session on it reconnects', () => {
    const d = desiredStateFromRows(facts(), settings, [plan(1, 'Fiber 50', 100_000, 20_000)], services);
    const actual = routerHolding(state(services));
    actual.sessions = [{ '.id': '*S1', name: 'juan' }, { '.id': '*S2', name: 'ana' }];
    const full = diffState(d, actual);
    expect(full.update.map((u) => [u.name, u.changes])).toEqual([['ispctl-1-fiber-50', [{ field: 'rate-limit', from: '20M/50M', to: '20M/100M' }]]]);
    expect(full.sessions.map((s) => s.name)).toEqual(['juan', 'ana']);
    // Scoped (a job, sessions not read): resolved on the router by profile at apply time.
    const scoped = diffState({ ...d, scope: new Set() }, { ...actual, sessions: undefined });
    expect(scoped.sessionProfiles).toEqual(['ispctl-1-fiber-50']);
  });

  it('scoped: looks only at the services asked about, reports no unrelated unmanaged objects', () => {
    const d = state(services, {}, [1]);
    const actual = routerHolding(state([svc(1, 'juan', { password: 'old' }), svc(7, 'gone')]));
    actual.secrets.push({ '.id': '*99', name: 'guest' });
    actual.sessions = undefined;
    const plan = diffState(d, actual);
    expect(plan.update.map((u) => `${u.name} ${u.changes.map((c) => c.field)}`)).toEqual(['juan password']);
    expect(plan.remove).toEqual([]); // service:7 is not in scope
    expect(plan.unmanaged).toEqual([]);
    expect(plan.create).toEqual([]); // ana and bob are not in scope
    expect(plan.sessions.map((s) => [s.name, s.reason])).toEqual([['juan', 'password changed']]);
    // A removed service in scope: its objects go, its session is dropped.
    const gone = diffState(state(services, {}, [7]), actual);
    expect(gone.remove.map((r) => r.name)).toEqual(['gone']);
    expect(gone.sessions.map((s) => s.name)).toEqual(['gone']);
  });

  it('scoped: a chunk diffed on the rows in its scope (from a whole read, indexed once) plans as on every row', () => {
    // A router read whole once, then diffed chunk by chunk: each chunk sees only the rows of its
    // services and those holding their names; the plan must be what every row would give.
    const everyone = [1, 2, 3, 4, 5, 6, 7, 8].map((id) => svc(id, `user${id}`, id % 3 === 0 ? { static_ip: `10.0.0.${id}`, access_state: 'blocked', rate_limit: null } : {}));
    for (const shaping of ['profile', 'queue'] as const) {
      const actual = routerHolding(state([...everyone, svc(9, 'gone')], { shaping }));
      actual.sessions = undefined;
      const secret = (name: string) => actual.secrets.find((r) => r.name === name)!;
      // A hand edit, a duplicate of a marker, a marker with more comment, an unmarked namesake
      // of a desired name, unrelated unmanaged rows, a disabled secret to enable.
      secret('user1').password = 'changed';
      actual.secrets.push({ ...secret('user2'), '.id': '*A1', name: 'user2-copy' });
      secret('user4').comment = `${secret('user4').comment} edited by hand`;
      actual.secrets.push({ '.id': '*A2', name: 'user10', comment: 'not ours' }, { '.id': '*A3', name: 'guest' });
      secret('user5').disabled = 'true';
      actual.queues.push({ '.id': '*A4', name: 'hand-made', target: '10.9.9.9/32', dynamic: 'false' });
      const desired = state([...everyone, svc(10, 'user10')], { shaping });
      const secrets = indexRows('secret', actual.secrets);
      const queues = indexRows('queue', actual.queues);
      for (const scope of [[1, 2], [3, 4, 9], [5, 10], [6, 7, 8], [11]]) {
        const d = { ...desired, scope: new Set(scope.map((id) => `service:${id}` as const)) };
        const names = (list: Array<{ key: string; name: string }>) => list.filter((o) => d.scope.has(o.key as never)).map((o) => o.name);
        const narrowed = { ...actual, secrets: rowsInScope(secrets, d.scope, names(d.secrets)), queues: rowsInScope(queues, d.scope, names(d.queues)) };
        expect(narrowed.secrets.length).toBeLessThan(actual.secrets.length);
        for (const opts of [{}, { adopt: true }, { prune: true }]) expect(diffState(d, narrowed, opts)).toEqual(diffState(d, actual, opts));
      }
    }
  });

  it("a chunk's desired state narrowed to its services (secrets and queues too) plans as the whole one scoped", () => {
    const everyone = [1, 2, 3, 4, 5, 6, 7, 8].map((id) => svc(id, `user${id}`, id % 3 === 0 ? { static_ip: `10.0.0.${id}`, access_state: 'blocked', rate_limit: null } : id % 2 ? { static_ip: `10.0.1.${id}` } : {}));
    for (const shaping of ['profile', 'queue'] as const) {
      const actual = routerHolding(state([...everyone, svc(9, 'gone')], { shaping }));
      actual.sessions = undefined;
      actual.secrets.find((r) => r.name === 'user1')!.password = 'changed';
      actual.secrets.push({ '.id': '*A2', name: 'user10', comment: 'not ours' });
      const desired = state([...everyone, svc(10, 'user10')], { shaping });
      const byKey = desiredByKey(desired);
      for (const scope of [[1, 2], [3, 4, 9], [5, 10], [8, 7, 6], [11]]) {
        const part = narrowed(desired, new Set(scope), byKey);
        expect(part.secrets.length + part.queues.length).toBeLessThan(desired.secrets.length + desired.queues.length);
        const whole = { ...desired, scope: part.scope! };
        for (const opts of [{}, { adopt: true }, { prune: true }]) expect(diffState(part, actual, opts)).toEqual(diffState(whole, actual, opts));
      }
    }
  });
});
