// API mode end to end, through the built `ispctl` binary against a lab router with its PPPoE NAS
// (in this process, over real sockets on 127.0.0.1). What is checked is what a technician would
// check: what the router holds, who can dial in, at which rate and address. On a PostgreSQL
// database (a clone of the migrated template): API mode does not depend on the engine, and the
// demo walks it on the embedded one (test/e2e/demo.test.ts). Build first.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RouterOSClient, menu, q } from '../../src/core/routeros/index.js';
import { startLabRouter, type LabRouter } from '../../src/lab/index.js';
import { runCli } from '../helpers/cli.js';
import { createPgDatabase } from '../helpers/db.js';

describe('API mode end to end: ispctl and the lab router', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'ispctl-api-e2e-'));
  let database: { url: string; drop(): Promise<void> };
  let env: Record<string, string>;
  const cli = (...args: string[]) => runCli(args, { env });
  let lab: LabRouter;
  let api: RouterOSClient;

  /** What the router holds, read over the RouterOS API like any other client would. */
  const secrets = () => menu.print(api, '/ppp/secret');
  const secret = async (name: string) => (await menu.print(api, '/ppp/secret', { where: [q.eq('name', name)] }))[0];
  const profile = async (name: string) => (await menu.print(api, '/ppp/profile', { where: [q.eq('name', name)] }))[0];
  const sessions = async (name: string) => menu.print(api, '/ppp/active', { where: [q.eq('name', name)] });
  const dial = (username: string) => lab.nas!.dial({ username, password: `pw-${username}` });

  beforeAll(async () => {
    database = await createPgDatabase('ispctl_api', { migrated: true });
    env = { DATABASE_URL: database.url, ISPCTL_DATA_DIR: join(tmp, 'data'), ISPCTL_CONFIG_DIR: join(tmp, 'config'), ISPCTL_ROUTER_TIMEOUT: '5' };
    lab = await startLabRouter({ adminPassword: 'lab-pw', identity: 'lab-api', nas: true });
    api = await RouterOSClient.connect({ host: '127.0.0.1', port: lab.port, user: 'admin', password: 'lab-pw' });
  });
  afterAll(async () => {
    await api?.close();
    await lab?.close();
    await database?.drop();
    rmSync(tmp, { recursive: true, force: true });
  });

  it('router add, plan create, three subscribers: each dials in with the right rate and address', async () => {
    expect((await cli('init', '--isp-name', 'Juan Net', '--currency', 'PHP', '--timezone', 'Asia/Manila', '--yes')).code).toBe(0);
    const add = await cli('router', 'add', 'lab1', '--host', '127.0.0.1', '--api-port', String(lab.port), '--api-user', 'admin', '--api-password', 'lab-pw', '--mode', 'api');
    expect(add.code, add.stderr).toBe(0);
    const plan = await cli('plan', 'create', 'Fiber 50', '--price', '1500', '--download', '50M', '--upload', '20M');
    expect(plan.code, plan.stderr).toBe(0);

    for (const [name, username, staticIp] of [
      ['Juan dela Cruz', 'juan', '10.20.0.15'],
      ['Ana Reyes', 'ana', undefined],
      ['Bob Santos', 'bob', undefined],
    ] as const) {
      const r = await cli('subscriber', 'add', '--name', name, '--username', username, '--password', `pw-${username}`, '--plan', 'Fiber 50', '--router', 'lab1', ...(staticIp ? ['--static-ip', staticIp] : []));
      expect(r.code, r.stderr).toBe(0);
    }

    const all = await secrets();
    expect(all.map((s) => s.name).sort()).toEqual(['ana', 'bob', 'juan']);
    for (const s of all) {
      expect(s.comment).toMatch(/^ispctl:service:\d+ S-\d+ /);
      expect(s).toMatchObject({ service: 'pppoe', disabled: 'false', password: `pw-${s.name}` });
    }
    expect((await secret('juan'))!.comment).toContain('Juan dela Cruz');
    expect((await secret('juan'))!['remote-address']).toBe('10.20.0.15');
    const profileName = (await secret('ana'))!.profile!;
    expect(profileName).toMatch(/^ispctl-\d+-fiber-50$/);
    expect(await profile(profileName)).toMatchObject({ 'rate-limit': '20M/50M', comment: expect.stringMatching(/^ispctl:plan:\d+ Fiber 50$/) });
    expect((await profile(`${profileName}-throttled`))!['rate-limit']).toBe('1M/1M');

    const juan = await dial('juan');
    expect(juan).toMatchObject({ address: '10.20.0.15', rateLimit: '20M/50M' });
    expect((await dial('ana')).rateLimit).toBe('20M/50M');
    expect((await dial('bob')).rateLimit).toBe('20M/50M');
  });

  it('admin-suspend disables the secret and drops the session; resume restores it', async () => {
    expect(await sessions('juan')).toHaveLength(1);
    const s = await cli('subscriber', 'suspend', 'juan', '--reason', 'abuse report', '--yes');
    expect(s.code, s.stderr).toBe(0);
    expect((await secret('juan'))!.disabled).toBe('true');
    expect(await sessions('juan')).toEqual([]);
    await expect(dial('juan')).rejects.toMatchObject({ reason: 'secret-disabled' });

    const r = await cli('subscriber', 'resume', 'juan');
    expect(r.code, r.stderr).toBe(0);
    expect((await secret('juan'))!.disabled).toBe('false');
    expect(await dial('juan')).toMatchObject({ address: '10.20.0.15', rateLimit: '20M/50M' });
  });

  it('a plan speed change reaches every secret: the profile is rewritten and sessions reconnect at the new rate', async () => {
    const e = await cli('plan', 'edit', 'Fiber 50', '--download', '100M', '--yes');
    expect(e.code, e.stderr).toBe(0);
    const names = new Set((await secrets()).map((s) => s.profile));
    expect(names.size).toBe(1);
    expect((await profile([...names][0]!))!['rate-limit']).toBe('20M/100M');
    for (const u of ['juan', 'ana', 'bob']) {
      expect(await sessions(u)).toEqual([]); // dropped: RouterOS applies a profile's rate at login
      expect((await dial(u)).rateLimit).toBe('20M/100M');
    }
  });

  it('with the router unreachable a change is saved and queued (exit 3); jobs retry applies it once', async () => {
    lab.faults.refuseConnections = true;
    try {
      const add = await cli('subscriber', 'add', '--name', 'Carla Lim', '--username', 'carla', '--password', 'pw-carla', '--plan', 'Fiber 50', '--router', 'lab1', '--json');
      expect(add.code, add.stderr).toBe(3);
      expect(add.json.ok).toBe(true);
      expect(add.json.warnings.join(' ')).toMatch(/queued/);

      const list = await cli('jobs', 'list', '--router', 'lab1', '--json');
      expect(list.code).toBe(0);
      const queued = list.json.data.filter((j: { status: string }) => j.status === 'pending');
      expect(queued).toHaveLength(1);
      expect(queued[0]).toMatchObject({ kind: 'service', router: 'lab1', attempts: 1, lastError: expect.stringMatching(/lab1|127\.0\.0\.1/) });
      expect(await secret('carla')).toBeUndefined();

      // Still down: retry fails again and says so (exit 3), nothing lost.
      const stillDown = await cli('jobs', 'retry', '--router', 'lab1', '--json');
      expect(stillDown.code).toBe(3);
      expect(stillDown.json.data).toMatchObject({ remaining: 1 });
    } finally {
      lab.faults.refuseConnections = false;
    }
    const retry = await cli('jobs', 'retry', '--router', 'lab1');
    expect(retry.code, retry.stderr).toBe(0);
    expect(retry.stdout).toMatch(/1 applied/);
    expect((await secrets()).filter((s) => s.name === 'carla')).toHaveLength(1);
    expect((await dial('carla')).rateLimit).toBe('20M/100M');

    const after = await cli('jobs', 'list', '--router', 'lab1', '--status', 'open', '--json');
    expect(after.json.data).toEqual([]);
    const again = await cli('jobs', 'retry', '--json');
    expect(again.code).toBe(0);
    expect(again.json.data.tried).toBe(0);
    expect((await secrets()).filter((s) => s.name === 'carla')).toHaveLength(1);
  });

  it('sync --dry-run lists exactly the hand edits; sync fixes them; a second dry run has nothing to do', async () => {
    const clean = await cli('sync', '--dry-run', '--json');
    expect(clean.code, clean.stderr).toBe(0);
    expect(clean.json.data.routers[0]).toMatchObject({ router: 'lab1', status: 'planned', counts: { create: 0, update: 0, remove: 0, unmanaged: 0, sessions: 0 } });

    // A technician edits the router by hand.
    const throttled = `${(await secret('bob'))!.profile}-throttled`;
    await menu.set(api, '/ppp/secret', (await secret('bob'))!['.id']!, { profile: throttled });
    await menu.add(api, '/ppp/secret', { name: 'guest', password: 'guest-pw', service: 'pppoe' });
    await menu.remove(api, '/ppp/secret', (await secret('ana'))!['.id']!);

    const dry = await cli('sync', '--dry-run');
    expect(dry.code, dry.stderr).toBe(0);
    const lines = dry.stdout.split('\n').filter((l) => /^\s+[+~!-] /.test(l));
    expect(lines).toEqual([
      expect.stringMatching(/^\s+\+ secret ana /),
      expect.stringMatching(/^\s+~ secret bob /),
      // bob is online: moving him back to the plan's profile makes his session reconnect.
      expect.stringMatching(/^\s+- session bob speed changed$/),
      expect.stringMatching(/^\s+! secret guest .*left alone/),
    ]);
    expect(dry.stdout).toContain(`profile: ${throttled} → ${throttled.replace(/-throttled$/, '')}`);
    expect(dry.stdout).toMatch(/Plan: 1 to create, 1 to update, 0 to remove, 1 unmanaged left alone, 1 session to drop\./);
    expect(dry.stdout).not.toContain('pw-ana');
    const json = await cli('sync', '--dry-run', '--json');
    const p = json.json.data.routers[0].plan;
    expect(p.create.map((c: { name: string }) => c.name)).toEqual(['ana']);
    expect(p.create[0].fields.password).toBe('(hidden)');
    expect(p.update.map((u: { name: string; changes: Array<{ field: string }> }) => [u.name, u.changes.map((c) => c.field)])).toEqual([['bob', ['profile']]]);
    expect(p.remove).toEqual([]);
    expect(p.unmanaged.map((u: { name: string }) => u.name)).toEqual(['guest']);
    expect((await secret('ana'))).toBeUndefined(); // a dry run changes nothing

    const apply = await cli('sync', '--yes');
    expect(apply.code, apply.stderr).toBe(0);
    expect(apply.stdout).toMatch(/lab1: applied: 1 created, 1 updated, 0 removed, 1 session dropped\./);
    expect(await sessions('bob')).toEqual([]);
    expect((await secret('ana'))!.comment).toMatch(/^ispctl:service:\d+ /);
    expect((await secret('bob'))!.profile).toBe(throttled.replace(/-throttled$/, ''));
    expect(await secret('guest')).toBeDefined(); // not ispctl's: left alone

    const second = await cli('sync', '--dry-run', '--json');
    expect(second.json.data.routers[0]).toMatchObject({ counts: { create: 0, update: 0, remove: 0, unmanaged: 1, sessions: 0 } });
    const text = await cli('sync', '--dry-run');
    expect(text.stdout).toMatch(/No changes\./);

    // Pruning removes something: a script must say --yes.
    const prune = await cli('sync', '--prune', '--json');
    expect(prune.code).toBe(2);
    expect(prune.json.error.code).toBe('CONFIRMATION_REQUIRED');
    expect(await secret('guest')).toBeDefined();
    expect((await cli('sync', '--prune', '--yes')).code).toBe(0);
    expect(await secret('guest')).toBeUndefined();
  });

  it('sync reports a router it cannot reach and exits 3', async () => {
    lab.faults.refuseConnections = true;
    try {
      const r = await cli('sync', '--dry-run', '--json');
      expect(r.code).toBe(3);
      expect(r.json.data.routers[0]).toMatchObject({ router: 'lab1', status: 'unreachable' });
    } finally {
      lab.faults.refuseConnections = false;
    }
  });
});
