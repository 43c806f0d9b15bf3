import { beforeAll, expect, it } from 'vitest';
import { FixedClock } from '../../src/core/clock.js';
import type { ServiceContext } from '../../src/core/context.js';
import { checkRoutersHealth } from '../../src/core/daemon/health.js';
import { IspctlError } from '../../src/core/errors.js';
import { hubWireguardConfig } from '../../src/core/onboarding/hub.js';
import { formatReport, type InspectReport } from '../../src/core/onboarding/report.js';
import { installScript, reviewRouter } from '../../src/core/onboarding/service.js';
import { wireguardPublicKey } from '../../src/core/onboarding/wireguard-keys.js';
import { planRouterSync } from '../../src/core/provisioning/routeros/sync.js';
import { checkRouter } from '../../src/core/routers/check.js';
import { addRouter, decryptRouterSecrets, editRouter, showRouter } from '../../src/core/routers/service.js';
import { decryptSecret, parseSecretKey } from '../../src/core/secrets.js';
import { setSettings } from '../../src/core/settings/service.js';
import { initialise } from '../../src/core/settings/init.js';
import { describeEachEngine } from '../helpers/db.js';

const KEY = 'b2'.repeat(32);
const json = (v: unknown) => JSON.stringify(v, (_k, x) => (typeof x === 'bigint' ? x.toString() : x));

describeEachEngine('onboarding: pending routers and the WireGuard hub', (db) => {
  let ctx: ServiceContext;
  let clock: FixedClock;
  beforeAll(async () => {
    clock = new FixedClock('2026-12-01T00:00:00Z');
    ctx = { ...db().ctx(clock), env: { ISPCTL_SECRET_KEY: KEY } };
    await initialise(ctx, { values: { 'isp-name': 'Test ISP', currency: 'PHP', timezone: 'Asia/Manila' } });
  });

  it('adds a router before it is reachable: pending, no host, its tunnel key and API password generated and encrypted', async () => {
    const r = await addRouter(ctx, { name: 'tower-1', mode: 'radius' });
    expect(r).toMatchObject({ name: 'tower-1', host: null, status: 'pending', mode: 'radius', nasAddress: null, apiUser: 'ispctl' });
    const o = await ctx.db('router_onboarding').where({ router_id: r.id }).first();
    const key = parseSecretKey(KEY, 'test');
    const priv = decryptSecret(o.wg_private_key_enc, key);
    expect(wireguardPublicKey(priv)).toBe(o.wg_public_key);
    const { apiPassword } = await decryptRouterSecrets(ctx, 'tower-1');
    expect(decryptSecret(o.api_password_enc, key)).toBe(apiPassword);
    expect(apiPassword).toMatch(/^[A-Za-z0-9_-]{32}$/);
    const audit = json(await ctx.db('audit_log').where({ entity_type: 'router' }));
    expect(audit).not.toContain(apiPassword);
    expect(audit).not.toContain(priv);
    const shown = await showRouter(ctx, 'tower-1');
    expect(shown.onboarding).toMatchObject({ tunnelAddress: null, publicKey: o.wg_public_key });
    expect(json(shown)).not.toContain(priv);
  });

  it('refuses API flags without a host, and a check of a pending router says how to onboard it', async () => {
    await expect(addRouter(ctx, { name: 'x1', apiUser: 'admin', apiPassword: 'pw' })).rejects.toMatchObject({ code: 'MISSING_HOST' });
    const c = await checkRouter(ctx, 'tower-1');
    expect(c).toMatchObject({ ok: false, status: 'pending', host: null });
    expect(c.error).toMatch(/router onboard|pending/);
  });

  it('prints the hub configuration: key pair generated once, one peer per router with a tunnel address', async () => {
    const first = await hubWireguardConfig(ctx);
    expect(first.peers).toEqual([]);
    expect(first.address).toBe('10.233.0.1/24');
    expect(first.config).toMatch(/^\[Interface\]\nPrivateKey = [A-Za-z0-9+/]{43}=\nAddress = 10\.233\.0\.1\/24\nListenPort = 51820$/m);
    const priv = /PrivateKey = (\S+)/.exec(first.config)![1]!;
    expect(wireguardPublicKey(priv)).toBe(first.publicKey);
    const row = await ctx.db('wireguard_hub').first();
    expect(row.private_key_enc).not.toContain(priv);

    const r = await ctx.db('routers').where({ name: 'tower-1' }).first('id');
    await ctx.db('router_onboarding').where({ router_id: r.id }).update({ tunnel_address: '10.233.0.2' });
    await setSettings(ctx, { 'wireguard-endpoint': 'vpn.example.net' });
    const second = await hubWireguardConfig(ctx);
    expect(second.publicKey).toBe(first.publicKey);
    expect(second.endpoint).toBe('vpn.example.net:51820');
    const pub = (await ctx.db('router_onboarding').where({ router_id: r.id }).first()).wg_public_key;
    expect(second.config).toContain(`[Peer]\nPublicKey = ${pub}\nAllowedIPs = 10.233.0.2/32\n`);
    await expect(setSettings(ctx, { 'wireguard-network': '10.233.0.1/24' })).rejects.toBeInstanceOf(IspctlError);
  });

  it('a registering router stays registering while the tunnel is down, says what to check after 90 s, then goes online', async () => {
    const r = await ctx.db('routers').where({ name: 'tower-1' }).first('id');
    // What printing the install script does (onboarding service): host and NAS address = tunnel address.
    await ctx.db('routers').where({ id: r.id }).update({ status: 'registering', host: '10.233.0.2', nas_address: '10.233.0.2' });
    await ctx.db('router_onboarding').where({ router_id: r.id }).update({ install_printed_at: clock.now() });
    const down = async () => ({ ok: false as const, reachable: false, error: 'connect ETIMEDOUT 10.233.0.2:8728' });
    const opts = { degradedAfter: 1, offlineAfter: 2, timeoutMs: 1000, probe: down };
    clock.advance({ seconds: 30 });
    let h = await checkRoutersHealth(ctx, opts);
    expect(h.changes).toEqual([]);
    expect(h.registering).toEqual([]);
    clock.advance({ seconds: 30 });
    h = await checkRoutersHealth(ctx, opts);
    expect((await ctx.db('routers').where({ id: r.id }).first()).status).toBe('registering');
    clock.advance({ seconds: 40 });
    h = await checkRoutersHealth(ctx, opts);
    expect(h.registering).toHaveLength(1);
    expect(h.registering[0]!.advice).toMatch(/handshake/);
    expect(h.registering[0]!.advice).toMatch(/vpn\.example\.net UDP port 51820/);
    expect(h.registering[0]!.advice).toMatch(/keepalive/);
    const shown = await showRouter(ctx, 'tower-1');
    expect(shown.status).toBe('registering');
    expect(shown.onboarding?.advice).toMatch(/firewall/);

    h = await checkRoutersHealth(ctx, { ...opts, probe: async () => ({ ok: true as const, identity: 'tower-1', version: '7.16.2', board: 'hEX' }) });
    expect(h.changes).toMatchObject([{ router: 'tower-1', from: 'registering', to: 'online' }]);
    expect(h.returned).toEqual([r.id]);
    const o = await ctx.db('router_onboarding').where({ router_id: r.id }).first();
    expect(o.registered_at).not.toBeNull();
    // From here on, health as for any router.
    h = await checkRoutersHealth(ctx, opts);
    expect(h.changes).toMatchObject([{ from: 'online', to: 'degraded' }]);
  });

  it('skips pending routers in health checks; a pending router given a host by hand becomes an ordinary router', async () => {
    const pending = await addRouter(ctx, { name: 'tower-2' });
    expect(await planRouterSync(ctx, pending)).toMatchObject({ status: 'skipped', reason: expect.stringMatching(/^pending/) });
    const h = await checkRoutersHealth(ctx, { degradedAfter: 1, offlineAfter: 2, timeoutMs: 1000, probe: async (x) => { throw new Error(`probed ${x.name}`); } });
    expect(h.errors.map((e) => e.router)).not.toContain('tower-2');
    const e = await editRouter(ctx, 'tower-2', { host: '127.0.0.5' });
    expect(e.router).toMatchObject({ host: '127.0.0.5', status: 'unknown' });
  });

  const report = (over: Partial<InspectReport> = {}): string =>
    formatReport({
      version: '7.16.2 (stable)', versionNumber: [7, 16, 2], board: 'hEX', identity: 'r', interfaces: [{ name: 'ether1', type: 'ether', running: true, disabled: false }],
      addresses: [{ address: '192.168.88.1/24', interface: 'ether2', disabled: false }], pppoeServers: [{ interface: 'ether2', serviceName: 'isp', disabled: false }],
      pools: [], profileCount: 1, secretCount: 0, radius: [], radiusIncoming: { accept: false, port: 3799 }, pppAaa: { useRadius: false, interimUpdate: '0s' },
      services: [{ name: 'api', port: 8728, address: '', disabled: false }], apiUserExists: false, firewallInput: { rules: 0, drops: 0 }, ...over,
    });

  it('gives each router its own tunnel address; a clashing network is refused after the report is kept, and reviewed again once changed', async () => {
    await addRouter(ctx, { name: 'tower-3' });
    await addRouter(ctx, { name: 'tower-4' });
    const a = await reviewRouter(ctx, 'tower-3', report());
    const b = await reviewRouter(ctx, 'tower-4', report());
    expect(a.tunnel?.address).toBe('10.233.0.3'); // .1 the hub, .2 tower-1
    expect(b.tunnel?.address).toBe('10.233.0.4');
    expect((await reviewRouter(ctx, 'tower-3')).tunnel?.address).toBe('10.233.0.3'); // stable
    await addRouter(ctx, { name: 'tower-5' });
    await expect(reviewRouter(ctx, 'tower-5', report({ addresses: [{ address: '10.233.0.9/16', interface: 'bridge-lan', disabled: false }] }))).rejects.toMatchObject({ code: 'TUNNEL_NETWORK_CLASH' });
    await expect(reviewRouter(ctx, 'tower-5')).rejects.toMatchObject({ code: 'TUNNEL_NETWORK_CLASH' }); // the report was kept
    await expect(reviewRouter(ctx, 'tower-5', 'ISPCTL-REPORT v1;ros=7;len=99')).rejects.toMatchObject({ code: 'INVALID_REPORT' });
  });

  it('RouterOS 6: no WireGuard install; a management address instead, limited to the ispctl host', async () => {
    await addRouter(ctx, { name: 'old-ccr', mode: 'radius' });
    await reviewRouter(ctx, 'old-ccr', report({ version: '6.49.17 (long-term)', versionNumber: [6, 49, 17] }));
    await expect(installScript(ctx, 'old-ccr')).rejects.toMatchObject({ code: 'ROUTEROS_WITHOUT_WIREGUARD' });
    await expect(installScript(ctx, 'old-ccr', { managementAddress: '203.0.113.9', allowFrom: '198.51.100.0/24' })).rejects.toMatchObject({ code: 'INVALID_ADDRESS' });
    const r = await installScript(ctx, 'old-ccr', { managementAddress: '203.0.113.9', allowFrom: '198.51.100.4' });
    expect(r).toMatchObject({ via: 'address', host: '203.0.113.9', status: 'registering' });
    expect(r.script).not.toMatch(/wireguard|require-message-auth/);
    expect(r.script).toContain('/radius add service=ppp address=198.51.100.4 ');
    const shown = await showRouter(ctx, 'old-ccr');
    expect(shown).toMatchObject({ host: '203.0.113.9', nasAddress: '203.0.113.9', status: 'registering', apiUser: 'ispctl' });
    const { apiPassword, radiusSecret } = await decryptRouterSecrets(ctx, 'old-ccr');
    expect(r.script).toContain(`password="${apiPassword}"`);
    expect(r.script).toContain(`secret="${radiusSecret}"`);
    const audit = json(await ctx.db('audit_log').where({ entity_type: 'router' }));
    expect(audit).toContain('onboarding-install');
    expect(audit).not.toContain(apiPassword);
    expect(audit).not.toContain(radiusSecret);
  });
});
