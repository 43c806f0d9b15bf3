// The review: what ispctl makes of an inspect report before anything changes on the router.
// Pure: the tunnel address it picks, the clash it refuses, the PPPoE interface it found, and
// exactly what the install script will change.
import { IspctlError } from '../errors.js';
import { API_GROUP_POLICIES, supportsMessageAuth } from './install-script.js';
import { formatCidr, formatIpv4, overlaps, parseCidrLoose, pickFreeAddress, type Ipv4Network } from './ipv4.js';
import type { InspectReport } from './report.js';
import { errors } from '../error-catalogue.js';

export interface ReviewInput {
  router: string;
  mode: 'api' | 'radius';
  coaPort: number;
  report: InspectReport;
  network: Ipv4Network;
  hubAddress: string;
  hubEndpoint: string | null;
  interfaceName: string;
  apiUser: string;
  apiGroup: string;
  /** The router's current tunnel address, kept when still valid. */
  currentTunnelAddress: string | null;
  /** Tunnel addresses of the other routers. */
  takenAddresses: string[];
  radiusServerAddress: string;
  interimUpdate: string;
}

export interface Review {
  router: string;
  mode: 'api' | 'radius';
  routerOs: { version: string; board: string; identity: string };
  /** False on RouterOS 6: onboarding needs a management address instead. */
  wireguard: boolean;
  tunnel: { network: string; hubAddress: string; address: string; addressCidr: string } | null;
  pppoe: { interface: string | null; serviceName: string | null; servers: number };
  apiPort: number;
  existing: {
    wireguardInterfaces: string[];
    radiusServers: string[];
    pools: string[];
    profiles: number;
    secrets: number;
  };
  /** What the install script will change, one line each. */
  changes: string[];
  warnings: string[];
}

const CANDIDATE_NETWORKS = ['10.233.0.0', '172.31.233.0', '192.168.233.0', '10.254.233.0', '172.20.233.0', '10.123.45.0'];

/** Networks of the router's addresses (disabled ones too: they come back when enabled). */
export function routerNetworks(report: InspectReport): Array<Ipv4Network & { address: string; interface: string }> {
  const out: Array<Ipv4Network & { address: string; interface: string }> = [];
  for (const a of report.addresses) {
    const n = parseCidrLoose(a.address);
    if (n) out.push({ base: n.base, prefix: n.prefix, address: a.address, interface: a.interface });
  }
  return out;
}

/**
 * Refuses a tunnel network that overlaps one of the router's own networks: the router would
 * route part of the tunnel elsewhere. Names the clashing address and suggests free networks.
 */
export function checkTunnelClash(router: string, network: Ipv4Network, report: InspectReport): void {
  const own = routerNetworks(report);
  const clash = own.find((n) => overlaps(n, network));
  if (!clash) return;
  const free = CANDIDATE_NETWORKS.map((base) => ({ base: parseCidrLoose(base)!.base, prefix: Math.max(network.prefix, 24) }))
    .filter((c) => !own.some((n) => overlaps(n, c)) && !overlaps(c, network))
    .slice(0, 2)
    .map(formatCidr);
  throw new IspctlError(
    'TUNNEL_NETWORK_CLASH',
    `The tunnel network ${formatCidr(network)} overlaps router ${router}'s own network: ${clash.address} on ${JSON.stringify(clash.interface)}. The router would send part of the tunnel elsewhere.`,
    {
      kind: 'conflict',
      suggestions: [
        ...free.map((f) => `Use another tunnel network: ispctl settings set wireguard-network ${f}   (only while no router is onboarded yet: routers keep their address)`),
        `Then review again: ispctl router review ${router}`,
      ],
      details: { network: formatCidr(network), clashAddress: clash.address, clashInterface: clash.interface, suggestions: free },
    },
  );
}

function show(s: string): string {
  return /^[A-Za-z0-9._:/-]+$/.test(s) ? s : JSON.stringify(s);
}

export function computeReview(i: ReviewInput): Review {
  const r = i.report;
  const wireguard = r.versionNumber[0] >= 7;
  const warnings: string[] = [];
  const changes: string[] = [];
  let tunnel: Review['tunnel'] = null;
  const network = formatCidr(i.network);
  let allow = network;
  if (wireguard) {
    checkTunnelClash(i.router, i.network, r);
    const hub = parseCidrLoose(i.hubAddress)!.address;
    const current = i.currentTunnelAddress ? parseCidrLoose(i.currentTunnelAddress) : undefined;
    const taken = new Set(i.takenAddresses.map((a) => parseCidrLoose(a)?.address).filter((x): x is number => x !== undefined));
    let pick: number | undefined;
    if (current && overlaps({ base: current.address, prefix: 32 }, i.network) && current.address !== hub && !taken.has(current.address)) pick = current.address;
    else pick = pickFreeAddress(i.network, [hub, ...taken]);
    if (pick === undefined) {
      throw new IspctlError('TUNNEL_NETWORK_FULL', `The tunnel network ${network} has no free address left for router ${i.router}.`, {
        kind: 'conflict',
        suggestions: ['Use a larger tunnel network (ispctl settings set wireguard-network …/23) before onboarding more routers'],
      });
    }
    const address = formatIpv4(pick);
    tunnel = { network, hubAddress: i.hubAddress, address, addressCidr: `${address}/${i.network.prefix}` };
  } else {
    allow = 'the address ispctl connects from';
    warnings.push(`RouterOS ${r.version} has no WireGuard (it arrived in RouterOS 7). Upgrade the router to 7, or onboard it with a management address: ispctl router install-script ${i.router} --management-address ROUTER-IP --allow-from ISPCTL-IP`);
  }

  const wgIfaces = r.interfaces.filter((x) => x.type === 'wg' || x.type === 'wireguard').map((x) => x.name);
  if (tunnel) {
    const exists = wgIfaces.includes(i.interfaceName);
    changes.push(exists ? `WireGuard: set the private key of the existing interface ${i.interfaceName} (ispctl's own, from an earlier install)` : `WireGuard: add interface ${i.interfaceName}`);
    changes.push(`WireGuard: add the hub as peer (${i.hubEndpoint ?? 'endpoint not set yet: settings set wireguard-endpoint'}, allowed-address ${i.hubAddress}/32, keepalive 25s)`);
    changes.push(`Address: add ${tunnel.addressCidr} on ${i.interfaceName}`);
    const others = wgIfaces.filter((n) => n !== i.interfaceName);
    if (others.length) warnings.push(`Other WireGuard interfaces stay as they are: ${others.map(show).join(', ')}`);
  }
  changes.push(`User group: add ${i.apiGroup} with policies ${API_GROUP_POLICIES.join(',')} only`);
  changes.push(r.apiUserExists ? `User: the existing user ${i.apiUser} moves to group ${i.apiGroup} with a new random password, logins from ${allow} only` : `User: add ${i.apiUser} in ${i.apiGroup} with a random password, logins from ${allow} only`);
  const api = r.services.find((s) => s.name === 'api');
  const apiSsl = r.services.find((s) => s.name === 'api-ssl');
  const apiPort = api?.port ?? 8728;
  changes.push(`Service api (port ${apiPort}): ${api?.disabled ? 'enable it, ' : ''}allowed from ${allow} only${api?.address ? ` (today: ${api.address})` : ' (today: from anywhere)'}`);
  changes.push(`Service api-ssl: allowed from ${allow} only${apiSsl?.address ? ` (today: ${apiSsl.address})` : ''}${apiSsl?.disabled ? ', stays disabled' : ''}`);
  changes.push(`Firewall: add "accept ${tunnel ? `input from ${i.interfaceName} ${network}` : 'input from ispctl'}" before every other rule (today ${r.firewallInput.rules} input rule(s), ${r.firewallInput.drops} of them drop)`);

  if (i.mode === 'radius') {
    const src = tunnel ? ` src-address ${tunnel.address}` : '';
    const mauth = supportsMessageAuth(r.versionNumber) ? ', require-message-auth yes-for-request-resp' : ` (RouterOS ${r.version} has no require-message-auth: it arrived in 7.15)`;
    changes.push(`RADIUS: add server ${i.radiusServerAddress} for ppp${src}${mauth}`);
    changes.push(`RADIUS incoming (CoA): accept ${r.radiusIncoming.accept ? 'yes' : 'no → yes'}, port ${r.radiusIncoming.port ?? '?'}${r.radiusIncoming.port === i.coaPort ? '' : ` → ${i.coaPort}`}`);
    changes.push(`PPP AAA: use-radius ${r.pppAaa.useRadius ? 'yes' : 'no → yes'}, accounting yes, interim-update ${r.pppAaa.interimUpdate || '?'}${r.pppAaa.interimUpdate === i.interimUpdate ? '' : ` → ${i.interimUpdate}`}`);
    const others = r.radius.filter((x) => x.address !== i.radiusServerAddress);
    if (others.length) warnings.push(`Other RADIUS servers on the router stay as they are and may answer first: ${others.map((x) => `${x.address} (${x.service})`).join(', ')}`);
    if (r.secretCount > 0) warnings.push(`${r.secretCount} local PPP secret(s) stay: RouterOS checks local secrets before RADIUS. Import them first (ispctl router snapshot/import) or they keep logging in on their own terms.`);
  }

  const servers = r.pppoeServers;
  const active = servers.filter((s) => !s.disabled);
  const found = active[0] ?? servers[0];
  if (!found) warnings.push('No PPPoE server on the router: subscribers cannot dial in until one is added (/interface pppoe-server server add interface=… service-name=…).');
  else if (active.length > 1) warnings.push(`${active.length} PPPoE servers are enabled; ${show(found.interface)} is taken as the main one.`);
  if (found?.disabled) warnings.push(`The PPPoE server on ${show(found.interface)} is disabled.`);

  return {
    router: i.router,
    mode: i.mode,
    routerOs: { version: r.version, board: r.board, identity: r.identity },
    wireguard,
    tunnel,
    pppoe: { interface: found?.interface ?? null, serviceName: found?.serviceName ?? null, servers: servers.length },
    apiPort,
    existing: {
      wireguardInterfaces: wgIfaces,
      radiusServers: r.radius.map((x) => x.address),
      pools: r.pools.map((p) => p.name),
      profiles: r.profileCount,
      secrets: r.secretCount,
    },
    changes,
    warnings,
  };
}

/** The checked management address of a router onboarded without WireGuard. */
export function checkManagementAddress(text: string, field: string): string {
  const n = parseCidrLoose(String(text ?? ''));
  if (!n || String(text).includes('/')) throw errors.invalidAddress(field, text, 'is not an IPv4 address', ['e.g. 192.0.2.10']);
  return formatIpv4(n.address);
}
