// Onboarding with the real CLI and the lab router, step by step as a technician would script it:
// add pending → inspect script pasted into the lab console → review → install script pasted →
// registering → online. The tunnel network here is 127.0.0.0/24, so the "tunnel" is loopback
// (the hub is 127.0.0.1, the router 127.0.0.2) and no root is needed; the real WireGuard tunnel
// is in onboarding-wireguard.test.ts.
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLabRouter, type LabRouter } from '../../src/lab/index.js';
import { runScript } from '../../src/lab/console/index.js';
import { runCli, tempDataDir } from '../helpers/cli.js';

describe('ispctl router onboarding steps (CLI, lab router)', () => {
  const tmp = tempDataDir({ migrated: true });
  let lab: LabRouter;
  // Commands at the same time take turns on the embedded database: on a busy machine a turn may
  // come later than the default 30 s.
  const cli = (args: string[], input?: string) => runCli([...args], { env: { ...tmp.env, ISPCTL_LOCK_TIMEOUT: '180' }, input });
  let script = '';

  beforeAll(async () => {
    lab = await startLabRouter({ host: '127.0.0.2', port: 0, adminPassword: 'admin-pw', identity: 'tower-1' });
    // The router's API port is the one the lab listens on.
    expect(runScript(lab.state, `/ip service set [find where name="api"] port=${lab.port}\n/interface pppoe-server server add interface=ether2 service-name=isp`).errors).toEqual([]);
  });
  afterAll(async () => {
    await lab?.close();
    tmp.remove();
  });

  it('adds the router pending and prints a read-only inspect script', async () => {
    const add = await cli(['router', 'add', 'tower-1', '--mode', 'radius', '--json']);
    expect(add.json).toMatchObject({ ok: true, data: { name: 'tower-1', host: null, status: 'pending' } });
    expect((await cli(['settings', 'set', 'wireguard-network', '127.0.0.0/24'])).code).toBe(0);
    const [r, wizard] = await Promise.all([
      cli(['router', 'inspect-script', 'tower-1']),
      // The guided flow asks questions: from a script it names the steps instead of hanging.
      cli(['router', 'onboard', 'tower-1', '--json']),
    ]);
    expect(r.code).toBe(0);
    script = r.stdout;
    expect(script).toMatch(/^# ispctl inspect script/);
    expect(wizard.code).toBe(2);
    expect(wizard.json.error).toMatchObject({ code: 'NOT_A_TERMINAL' });
    expect(wizard.json.error.suggestions[0]).toMatch(/router inspect-script tower-1/);
  });

  it('reviews the pasted report: tunnel address, PPPoE interface, changes', async () => {
    const before = JSON.stringify(lab.state.toJSON());
    const out = runScript(lab.state, script);
    expect(out.errors).toEqual([]);
    expect(JSON.stringify(lab.state.toJSON())).toBe(before); // read-only
    const terminal = `[admin@tower-1] > ${script.split('\n')[0]}\n${out.output}[admin@tower-1] > `;
    const r = await cli(['router', 'review', 'tower-1', '--report', '-', '--json'], terminal);
    expect(r.json).toMatchObject({ ok: true, data: { tunnel: { address: '127.0.0.2', addressCidr: '127.0.0.2/24', hubAddress: '127.0.0.1' }, pppoe: { interface: 'ether2' }, apiPort: lab.port, wireguard: true } });
    expect(r.json.data.changes.join('\n')).toMatch(/RADIUS: add server 127\.0\.0\.1 for ppp src-address 127\.0\.0\.2/);
  });

  it('refuses the install script until the hub has a public endpoint; then prints it and the router is registering', async () => {
    const refused = await cli(['router', 'install-script', 'tower-1', '--json']);
    expect(refused.code).toBe(2);
    expect(refused.json.error.code).toBe('WIREGUARD_ENDPOINT_UNSET');
    expect((await cli(['settings', 'set', 'wireguard-endpoint', 'vpn.example.net:51820'])).code).toBe(0);
    const out = join(tmp.dir, 'install.rsc');
    const hub = join(tmp.dir, 'wg-ispctl.conf');
    const r = await cli(['router', 'install-script', 'tower-1', '--out', out, '--hub-config', hub, '--verbose', '--json']);
    expect(r.json).toMatchObject({ ok: true, data: { status: 'registering', host: '127.0.0.2', via: 'wireguard' } });
    expect(r.json.data.script).toBeUndefined();
    for (const f of [out, hub]) expect(statSync(f).mode & 0o777).toBe(0o600);
    const install = readFileSync(out, 'utf8');
    const password = /\/user add name="ispctl" group="ispctl-api" password="([^"]+)"/.exec(install)![1]!;
    const privateKey = /private-key="([^"]+)"/.exec(install)![1]!;
    // Secrets only in the script: not in what the command printed, nor the audit log.
    for (const secret of [password, privateKey]) {
      expect(r.stdout + r.stderr).not.toContain(secret);
    }
    // Pasted twice: the second changes nothing.
    expect(runScript(lab.state, install).errors).toEqual([]);
    const once = JSON.stringify(lab.state.toJSON());
    expect(runScript(lab.state, install).errors).toEqual([]);
    expect(JSON.stringify(lab.state.toJSON())).toBe(once);
    // The hub knows the router's key.
    const [wg] = lab.state.menu('/interface/wireguard').list();
    expect(readFileSync(hub, 'utf8')).toContain(`[Peer]\nPublicKey = ${wg!['public-key']}\nAllowedIPs = 127.0.0.2/32\n`);

    // The router answers at its tunnel address with the restricted user: online.
    const check = await cli(['router', 'check', 'tower-1', '--json']);
    expect(check.json).toMatchObject({ ok: true, data: [{ router: 'tower-1', ok: true, status: 'online', identity: 'tower-1' }] });
    const [show, audit] = await Promise.all([cli(['router', 'show', 'tower-1', '--json']), cli(['audit', 'list', '--entity', 'router', '--json'])]);
    expect(show.json.data).toMatchObject({ status: 'online', host: '127.0.0.2', nasAddress: '127.0.0.2', apiUser: 'ispctl', onboarding: { tunnelAddress: '127.0.0.2' } });
    expect(show.json.data.onboarding.registeredAt).toBeTruthy();
    expect(audit.json.data.map((a: { action: string }) => a.action)).toEqual(expect.arrayContaining(['create', 'onboarding-report', 'onboarding-install']));
    for (const secret of [password, privateKey]) expect(show.stdout + audit.stdout).not.toContain(secret);
  });
});
