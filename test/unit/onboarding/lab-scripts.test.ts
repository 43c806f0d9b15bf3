// The scripts ispctl prints, pasted into the lab router's console exactly as printed: the
// inspect report reads back every name byte for byte, the install script sets up what it says,
// a second paste changes nothing, and hostile names cannot get out of their strings.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { buildInspectScript } from '../../../src/core/onboarding/inspect-script.js';
import { buildInstallScript, MARK_FIREWALL, MARK_HUB, MARK_TUNNEL, type InstallScriptOptions } from '../../../src/core/onboarding/install-script.js';
import { parseNetwork } from '../../../src/core/onboarding/ipv4.js';
import { formatReport, parseReport, type InspectReport } from '../../../src/core/onboarding/report.js';
import { computeReview, type ReviewInput } from '../../../src/core/onboarding/review.js';
import { rosQuote } from '../../../src/core/onboarding/script.js';
import { generateWireguardKeyPair } from '../../../src/core/onboarding/wireguard-keys.js';
import { bytesFromText, textFromBytes } from '../../../src/lab/bytes.js';
import { runScript } from '../../../src/lab/console/index.js';
import { RouterState } from '../../../src/lab/state.js';

function paste(state: RouterState, script: string): string {
  const r = runScript(state, script);
  expect(r.errors).toEqual([]);
  return r.output;
}

function inspect(state: RouterState): InspectReport {
  return parseReport(paste(state, buildInspectScript({ router: 'tower-1', apiUser: 'ispctl' }))).report;
}

function reviewInput(report: InspectReport, over: Partial<ReviewInput> = {}): ReviewInput {
  return {
    router: 'tower-1',
    mode: 'api',
    coaPort: 3799,
    report,
    network: parseNetwork('10.233.0.0/24', 'n'),
    hubAddress: '10.233.0.1',
    hubEndpoint: 'vpn.example.net:51820',
    interfaceName: 'wg-ispctl',
    apiUser: 'ispctl',
    apiGroup: 'ispctl-api',
    currentTunnelAddress: null,
    takenAddresses: ['10.233.0.2'],
    radiusServerAddress: '10.233.0.1',
    interimUpdate: '5m',
    ...over,
  };
}

const HOSTILE = ['x"; /system reset-configuration; :put "', 'a$[/system reboot]b', 'semi;colon,comma|bar=eq%25', 'new\nline\ttab', 'q?mark \\back', 'Niño ñ 日本'];

describe('the inspect script in the lab console', () => {
  it('reports version, board, interfaces, addresses, PPPoE servers, pools, counts, RADIUS and services; names come back byte for byte', () => {
    const state = new RouterState({ identity: 'tower "one"', board: 'RB4011iGS+' });
    const cp1252 = textFromBytes(Buffer.from('Ni\xf1o', 'latin1'));
    HOSTILE.forEach((name, i) => {
      state.menu('/ip/pool').add({ name, ranges: `10.50.${i}.2-10.50.${i}.254` });
    });
    state.menu('/ip/pool').add({ name: cp1252, ranges: '10.60.0.2-10.60.0.10' });
    paste(
      state,
      [
        '/ip address add address=192.168.88.1/24 interface=ether2',
        '/ip address add address=203.0.113.7/29 interface=ether1',
        `/interface pppoe-server server add interface=ether2 service-name=${rosQuote(HOSTILE[0]!)}`,
        '/ppp profile add name=plan-10M rate-limit=10M/10M',
        '/ppp secret add name=alice password=x profile=plan-10M',
        '/radius add service=ppp address=192.0.2.10 secret=s3cretsecret',
        '/ip firewall filter add chain=input action=drop in-interface=ether1',
      ].join('\n'),
    );
    const r = inspect(state);
    expect(r).toMatchObject({ version: '7.18.2 (stable)', versionNumber: [7, 18, 2], board: 'RB4011iGS+', identity: 'tower "one"', profileCount: 3, secretCount: 1, apiUserExists: false });
    expect(r.addresses).toEqual([
      { address: '192.168.88.1/24', interface: 'ether2', disabled: false },
      { address: '203.0.113.7/29', interface: 'ether1', disabled: false },
    ]);
    expect(r.pppoeServers).toEqual([{ interface: 'ether2', serviceName: HOSTILE[0], disabled: false }]);
    expect(r.pools.map((p) => p.name)).toEqual([...HOSTILE, 'Niño']);
    expect(r.radius).toEqual([{ address: '192.0.2.10', service: 'ppp', srcAddress: '0.0.0.0', disabled: false }]);
    expect(r.firewallInput).toEqual({ rules: 1, drops: 1 });
    expect(r.services.find((s) => s.name === 'api')).toEqual({ name: 'api', port: 8728, address: '', disabled: false });
    // The report never carries a secret.
    expect(formatReport(r)).not.toContain('s3cretsecret');
  });

  it('runs on RouterOS 6 too (no WireGuard menu in it); the review says WireGuard needs 7', () => {
    const state = new RouterState({ version: '6.49.17' });
    const r = inspect(state);
    expect(r.versionNumber).toEqual([6, 49, 17]);
    const review = computeReview(reviewInput(r));
    expect(review.wireguard).toBe(false);
    expect(review.tunnel).toBeNull();
    expect(review.warnings.join('\n')).toMatch(/no WireGuard.*--management-address/);
  });

  it('refuses a cut or changed report, and reads one a terminal wrapped', () => {
    const line = paste(new RouterState({}), buildInspectScript({ router: 'r', apiUser: 'ispctl' })).trim();
    expect(() => parseReport(line.slice(0, 200))).toThrow(/len=N|cut/);
    expect(() => parseReport(line.replace('ether2', 'ether9x'))).toThrow(/part of the line was lost/);
    expect(() => parseReport('hello')).toThrow(/no line starting with ISPCTL-REPORT/);
    const wrapped = `[admin@MikroTik] > { ... }\r\n${line.slice(0, 80)}\r\n${line.slice(80, 160)}\n${line.slice(160)}\n[admin@MikroTik] >`;
    expect(parseReport(wrapped).raw).toBe(line);
  });
});

describe('the review', () => {
  it('picks a free tunnel address, finds the PPPoE interface and lists what install changes', () => {
    const state = new RouterState({});
    paste(state, '/ip address add address=192.168.88.1/24 interface=ether2\n/interface pppoe-server server add interface=ether3 service-name=isp');
    const review = computeReview(reviewInput(inspect(state), { mode: 'radius' }));
    expect(review.tunnel).toEqual({ network: '10.233.0.0/24', hubAddress: '10.233.0.1', address: '10.233.0.3', addressCidr: '10.233.0.3/24' });
    expect(review.pppoe).toEqual({ interface: 'ether3', serviceName: 'isp', servers: 1 });
    const changes = review.changes.join('\n');
    expect(changes).toMatch(/add interface wg-ispctl/);
    expect(changes).toMatch(/allowed-address 10\.233\.0\.1\/32, keepalive 25s/);
    expect(changes).toMatch(/Service api \(port 8728\): allowed from 10\.233\.0\.0\/24 only \(today: from anywhere\)/);
    expect(changes).toMatch(/RADIUS: add server 10\.233\.0\.1 for ppp src-address 10\.233\.0\.3, require-message-auth/);
    expect(changes).toMatch(/PPP AAA: use-radius no → yes.*interim-update 0s → 5m/);
    // Keeps the address it picked before.
    expect(computeReview(reviewInput(inspect(state), { currentTunnelAddress: '10.233.0.9' })).tunnel?.address).toBe('10.233.0.9');
  });

  it('refuses a tunnel network that overlaps the router\'s own, naming the clash and suggesting another', () => {
    const state = new RouterState({});
    paste(state, '/ip address add address=10.233.0.77/16 interface=ether2');
    let err: unknown;
    try {
      computeReview(reviewInput(inspect(state)));
    } catch (e) {
      err = e;
    }
    expect(err).toMatchObject({ code: 'TUNNEL_NETWORK_CLASH', kind: 'conflict' });
    expect((err as Error).message).toMatch(/10\.233\.0\.77\/16 on "ether2"/);
    expect((err as { suggestions: string[] }).suggestions[0]).toMatch(/settings set wireguard-network 172\.31\.233\.0\/24/);
  });
});

function installOptions(report: InspectReport, over: Partial<InstallScriptOptions> = {}): InstallScriptOptions & { keys: { router: ReturnType<typeof generateWireguardKeyPair>; hub: ReturnType<typeof generateWireguardKeyPair> } } {
  const router = generateWireguardKeyPair();
  const hub = generateWireguardKeyPair();
  return {
    router: 'tower-1',
    version: report.versionNumber,
    way: { via: 'wireguard', interfaceName: 'wg-ispctl', privateKey: router.privateKey, hubPublicKey: hub.publicKey, hubEndpointHost: 'vpn.example.net', hubEndpointPort: 51820, hubAddress: '10.233.0.1', tunnelAddressCidr: '10.233.0.2/24', tunnelNetwork: '10.233.0.0/24', keepaliveSeconds: 25 },
    apiUser: 'ispctl',
    apiGroup: 'ispctl-api',
    apiPassword: 'Pw-$x"y?z\\',
    keys: { router, hub },
    ...over,
  };
}

describe('the install script in the lab console', () => {
  it('sets up the tunnel, a restricted API user, the service and a first firewall rule; a second paste changes nothing', () => {
    const state = new RouterState({});
    paste(state, '/ip firewall filter add chain=input action=accept connection-state=established\n/ip firewall filter add chain=input action=drop in-interface=ether1');
    const o = installOptions(inspect(state));
    const script = buildInstallScript(o);
    paste(state, script);
    const [wg] = state.menu('/interface/wireguard').list();
    expect(wg).toMatchObject({ name: 'wg-ispctl', 'private-key': o.keys.router.privateKey, 'public-key': o.keys.router.publicKey });
    expect(state.menu('/interface/wireguard/peers').list()).toMatchObject([
      { interface: 'wg-ispctl', 'public-key': o.keys.hub.publicKey, 'endpoint-address': 'vpn.example.net', 'endpoint-port': '51820', 'allowed-address': '10.233.0.1/32', 'persistent-keepalive': '25s', comment: MARK_HUB },
    ]);
    expect(state.menu('/ip/address').list()).toContainEqual(expect.objectContaining({ address: '10.233.0.2/24', interface: 'wg-ispctl', comment: MARK_TUNNEL }));
    expect(state.menu('/user/group').list().find((g) => g.name === 'ispctl-api')).toMatchObject({ policy: expect.stringMatching(/^(?=.*api)(?=.*read)(?=.*write)(?=.*sensitive)/) });
    const user = state.menu('/user').list().find((u) => u.name === 'ispctl');
    expect(user).toMatchObject({ group: 'ispctl-api', address: '10.233.0.0/24' });
    expect(state.checkApiLogin({ name: 'ispctl', password: o.apiPassword }, '10.233.0.1')).toMatchObject({ name: 'ispctl' });
    expect(state.checkApiLogin({ name: 'ispctl', password: o.apiPassword }, '192.168.88.20')).toBeUndefined();
    expect(state.menu('/ip/service').list().find((s) => s.name === 'api')).toMatchObject({ address: '10.233.0.0/24', disabled: 'false' });
    const rules = state.menu('/ip/firewall/filter').list();
    expect(rules[0]).toMatchObject({ chain: 'input', action: 'accept', 'in-interface': 'wg-ispctl', 'src-address': '10.233.0.0/24', comment: MARK_FIREWALL });
    expect(rules).toHaveLength(3);

    const before = JSON.stringify(state.toJSON());
    paste(state, script);
    expect(JSON.stringify(state.toJSON())).toBe(before);
  });

  it('in RADIUS mode adds the /radius client from the tunnel address, CoA and AAA; require-message-auth only from 7.15', () => {
    for (const [version, mauth] of [['7.18.2', true], ['7.14.3', false]] as const) {
      const state = new RouterState({ version });
      const o = installOptions(inspect(state), { radius: { serverAddress: '10.233.0.1', srcAddress: '10.233.0.2', secret: 'R4d1us-"$?-secret', coaPort: 3799, authPort: 1812, acctPort: 1813, interimUpdate: '5m' } });
      const script = buildInstallScript(o);
      expect(script.includes('require-message-auth')).toBe(mauth);
      paste(state, script);
      const [radius] = state.menu('/radius').list();
      expect(radius).toMatchObject({ address: '10.233.0.1', 'src-address': '10.233.0.2', service: 'ppp', secret: 'R4d1us-"$?-secret' });
      expect(state.singleton('/radius/incoming').get()).toMatchObject({ accept: 'true', port: '3799' });
      expect(state.singleton('/ppp/aaa').get()).toMatchObject({ 'use-radius': 'true', 'interim-update': '5m' });
      const before = JSON.stringify(state.toJSON());
      paste(state, script);
      expect(JSON.stringify(state.toJSON())).toBe(before);
    }
  });

  it('with a management address (RouterOS 6): no tunnel, API and firewall limited to the ispctl host', () => {
    const state = new RouterState({ version: '6.49.17' });
    const o = installOptions(inspect(state), { way: { via: 'address', allowFrom: '198.51.100.4/32' } });
    const script = buildInstallScript(o);
    expect(script).not.toMatch(/wireguard/);
    paste(state, script);
    expect(state.menu('/ip/service').list().find((s) => s.name === 'api')).toMatchObject({ address: '198.51.100.4/32' });
    expect(state.menu('/ip/firewall/filter').list()[0]).toMatchObject({ 'src-address': '198.51.100.4/32', action: 'accept' });
  });
});

describe('escaping, checked by the lab console\'s own parser', () => {
  it('any bytes quoted by ispctl are read back by the console as the same bytes', () => {
    const state = new RouterState({});
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 60 }), (bytes) => {
        const r = runScript(state, `:put ${rosQuote(bytes)}`);
        if (r.errors.length) return false;
        return bytesFromText(r.output).equals(Buffer.concat([Buffer.from(bytes), Buffer.from('\n')]));
      }),
      { numRuns: 300 },
    );
  });

  it('a hostile value stays one value: written as a name, it is stored whole and runs nothing', () => {
    for (const h of HOSTILE) {
      const state = new RouterState({});
      const r = runScript(state, `/ip pool add name=${rosQuote(h)} ranges=10.0.0.1`);
      expect(r.errors).toEqual([]);
      expect(state.menu('/ip/pool').list().map((p) => p.name)).toEqual([h]);
      expect(state.singleton('/system/identity').get().name).toBe('MikroTik');
    }
  });
});
