// The install script: what a technician pastes into a router to put it under ispctl's
// management. Every step checks before it adds (`:if ([:len [find where …]] = 0) do={ add … }
// else={ set … }`), so a second paste changes nothing. Objects it creates carry a comment
// starting `ispctl:mgmt`, which is how a later run finds them again.
//
// Two ways in:
// - wireguard (RouterOS 7): a WireGuard interface with the hub as its only peer, the router's
//   tunnel address, and the API reachable from the tunnel network only;
// - address (RouterOS 6, which has no WireGuard, or by choice): no tunnel; the API is reachable
//   only from the ispctl host's address, and ispctl reaches the router at a management address.
// Both: a restricted API group and user, `/ip service` api and api-ssl limited, a firewall
// accept placed before any other rule, and in RADIUS mode the `/radius` client, `/radius
// incoming` and `/ppp aaa`.
//
// The script holds secrets (the router's tunnel private key, the API password, the RADIUS
// secret). It exists only in what ispctl prints or writes with --out (mode 0600).
import { rosAddress, rosName, rosNumber, rosQuote } from './script.js';

export const MARK_TUNNEL = 'ispctl:mgmt tunnel';
export const MARK_HUB = 'ispctl:mgmt hub';
export const MARK_API = 'ispctl:mgmt api';
export const MARK_FIREWALL = 'ispctl:mgmt firewall';
export const MARK_RADIUS = 'ispctl:mgmt radius';

/**
 * Policies of the API group, the fewest that ispctl's work needs: `api` to log in over the API,
 * `read` to read configuration and sessions, `write` to change PPP secrets, profiles, pools and
 * queues and to remove active sessions, `sensitive` to read PPP secrets' passwords (snapshots
 * of an existing router). Not: local, telnet, ssh, ftp, winbox, web, reboot, policy, test,
 * sniff, romon, password, rest-api.
 */
export const API_GROUP_POLICIES = ['api', 'read', 'write', 'sensitive'] as const;

export interface WireguardWay {
  via: 'wireguard';
  interfaceName: string;
  privateKey: string;
  hubPublicKey: string;
  hubEndpointHost: string;
  hubEndpointPort: number;
  hubAddress: string;
  /** The router's address with the tunnel network's prefix, e.g. 10.233.0.2/24. */
  tunnelAddressCidr: string;
  tunnelNetwork: string;
  keepaliveSeconds: number;
}

export interface AddressWay {
  via: 'address';
  /** The network (or /32) the ispctl host reaches the router from. */
  allowFrom: string;
}

export interface InstallScriptOptions {
  router: string;
  version: [number, number, number];
  way: WireguardWay | AddressWay;
  apiUser: string;
  apiGroup: string;
  apiPassword: string;
  radius?: {
    /** FreeRADIUS's address as the router reaches it. */
    serverAddress: string;
    /** The router's source address towards it (its tunnel address), if any. */
    srcAddress?: string;
    secret: string;
    coaPort: number;
    authPort: number;
    acctPort: number;
    interimUpdate: string;
  };
}

/** `require-message-auth` exists from RouterOS 7.15. */
export function supportsMessageAuth(v: [number, number, number]): boolean {
  return v[0] > 7 || (v[0] === 7 && v[1] >= 15);
}

function ifElse(menu: string, where: string, add: string, set: string): string[] {
  return [
    `  :if ([:len [${menu} find where ${where}]] = 0) do={`,
    `    ${menu} add ${add}`,
    '  } else={',
    `    ${menu} set [${menu} find where ${where}] ${set}`,
    '  }',
  ];
}

export function buildInstallScript(o: InstallScriptOptions): string {
  const router = rosName(o.router, 'router name');
  const user = rosQuote(rosName(o.apiUser, 'API user'));
  const group = rosQuote(rosName(o.apiGroup, 'API group'));
  const lines: string[] = [];
  const step = (text: string) => lines.push('', `  # ${text}`);
  let allow: string;
  if (o.way.via === 'wireguard') {
    const w = o.way;
    if (o.version[0] < 7) throw new RangeError('WireGuard needs RouterOS 7');
    const wg = rosQuote(rosName(w.interfaceName, 'WireGuard interface'));
    allow = rosAddress(w.tunnelNetwork, 'tunnel network');
    const hub = rosAddress(`${w.hubAddress}/32`, 'hub address');
    const tunnel = rosAddress(w.tunnelAddressCidr, 'tunnel address');
    const keepalive = `${rosNumber(w.keepaliveSeconds, 'keepalive', 1, 3600)}s`;
    const peer = `public-key=${rosQuote(w.hubPublicKey)} endpoint-address=${rosQuote(w.hubEndpointHost)} endpoint-port=${rosNumber(w.hubEndpointPort, 'hub port', 1)} allowed-address=${hub} persistent-keepalive=${keepalive}`;
    step('1. The management tunnel: a WireGuard interface with the ispctl hub as its only peer.');
    lines.push(...ifElse('/interface wireguard', `name=${wg}`, `name=${wg} private-key=${rosQuote(w.privateKey)} comment=${rosQuote(MARK_TUNNEL)}`, `private-key=${rosQuote(w.privateKey)} disabled=no`));
    lines.push(...ifElse('/interface wireguard peers', `interface=${wg} and comment=${rosQuote(MARK_HUB)}`, `interface=${wg} ${peer} comment=${rosQuote(MARK_HUB)}`, `${peer} disabled=no`));
    step('2. The router\'s address in the tunnel network.');
    lines.push(...ifElse('/ip address', `comment=${rosQuote(MARK_TUNNEL)}`, `address=${tunnel} interface=${wg} comment=${rosQuote(MARK_TUNNEL)}`, `address=${tunnel} interface=${wg} disabled=no`));
  } else {
    allow = rosAddress(o.way.allowFrom, 'address ispctl connects from');
  }
  const n = o.way.via === 'wireguard' ? 3 : 1;
  step(`${n}. An API group with only the policies ispctl needs (${API_GROUP_POLICIES.join(', ')}), and its user, allowed from ${allow} only.`);
  const policy = API_GROUP_POLICIES.join(',');
  lines.push(...ifElse('/user group', `name=${group}`, `name=${group} policy=${policy} comment=${rosQuote(MARK_API)}`, `policy=${policy}`));
  lines.push(...ifElse('/user', `name=${user}`, `name=${user} group=${group} password=${rosQuote(o.apiPassword)} address=${allow} comment=${rosQuote(MARK_API)}`, `group=${group} password=${rosQuote(o.apiPassword)} address=${allow} disabled=no`));
  step(`${n + 1}. The API (and API-SSL) answer only ${allow}.`);
  lines.push(`  /ip service set [/ip service find where name="api"] address=${allow} disabled=no`);
  lines.push(`  /ip service set [/ip service find where name="api-ssl"] address=${allow}`);
  step(`${n + 2}. Accept ${o.way.via === 'wireguard' ? 'the tunnel' : 'ispctl'} in the input chain, before any other rule (so before any drop).`);
  const rule = o.way.via === 'wireguard' ? `chain=input in-interface=${rosQuote(o.way.interfaceName)} src-address=${allow} action=accept` : `chain=input src-address=${allow} action=accept`;
  lines.push(
    `  :if ([:len [/ip firewall filter find where comment=${rosQuote(MARK_FIREWALL)}]] = 0) do={`,
    '    :if ([:len [/ip firewall filter find where dynamic=no]] = 0) do={',
    `      /ip firewall filter add ${rule} comment=${rosQuote(MARK_FIREWALL)}`,
    '    } else={',
    `      /ip firewall filter add ${rule} comment=${rosQuote(MARK_FIREWALL)} place-before=[:pick [/ip firewall filter find where dynamic=no] 0]`,
    '    }',
    '  } else={',
    `    /ip firewall filter set [/ip firewall filter find where comment=${rosQuote(MARK_FIREWALL)}] ${rule} disabled=no`,
    '  }',
  );
  if (o.radius) {
    const r = o.radius;
    const mauth = supportsMessageAuth(o.version) ? ' require-message-auth=yes-for-request-resp' : '';
    const src = r.srcAddress ? ` src-address=${rosAddress(r.srcAddress, 'RADIUS source address')}` : '';
    const props = `service=ppp address=${rosAddress(r.serverAddress, 'RADIUS server address')} secret=${rosQuote(r.secret)} authentication-port=${rosNumber(r.authPort, 'RADIUS port', 1)} accounting-port=${rosNumber(r.acctPort, 'accounting port', 1)} timeout=3s${src}${mauth}`;
    step(`${n + 3}. RADIUS: ispctl's FreeRADIUS answers PPPoE logins; CoA and Disconnect arrive on port ${r.coaPort}.`);
    lines.push(...ifElse('/radius', `comment=${rosQuote(MARK_RADIUS)}`, `${props} comment=${rosQuote(MARK_RADIUS)}`, `${props} disabled=no`));
    lines.push(`  /radius incoming set accept=yes port=${rosNumber(r.coaPort, 'CoA port', 1)}`);
    if (!/^\d+[smh]$/.test(r.interimUpdate)) throw new RangeError('interim update must look like 5m');
    lines.push(`  /ppp aaa set use-radius=yes accounting=yes interim-update=${r.interimUpdate}`);
  }
  const v = o.version.join('.');
  return [
    `# ispctl install script for router ${router} (RouterOS ${v}${o.way.via === 'wireguard' ? ', over WireGuard' : ', management address'}${o.radius ? ', RADIUS mode' : ', API mode'}).`,
    '# Paste it into the router\'s terminal. Safe to paste again: a second run changes nothing.',
    '# It holds secrets (tunnel private key, API password): do not save or share it.',
    '{',
    ...lines.slice(1),
    '',
    `  :put "ispctl: ${router} is set up; ispctl now waits for it to register."`,
    '}',
    '',
  ].join('\n');
}
