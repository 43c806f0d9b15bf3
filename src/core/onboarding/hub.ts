// The WireGuard hub on the ispctl host: its settings, its key pair (generated on first use and
// kept encrypted), each router's tunnel key pair, and the hub's wg-quick configuration with one
// [Peer] per onboarded router.
import type { ServiceContext } from '../context.js';
import type { Db } from '../db/tx.js';
import { IspctlError } from '../errors.js';
import { decryptSecret, encryptSecret, generateSecret, loadSecretKey } from '../secrets.js';
import { getSetting } from '../settings/service.js';
import { firstHost, formatCidr, formatIpv4, parseNetwork, type Ipv4Network } from './ipv4.js';
import { DEFAULT_WIREGUARD_INTERFACE, DEFAULT_WIREGUARD_NETWORK, DEFAULT_WIREGUARD_PORT, formatEndpoint, parseEndpoint, type HubEndpoint } from './setting-defs.js';
import { generateWireguardKeyPair } from './wireguard-keys.js';

/** The API user every onboarded router gets (in the group {@link ONBOARDING_API_GROUP}). */
export const ONBOARDING_API_USER = 'ispctl';
export const ONBOARDING_API_GROUP = 'ispctl-api';
export const WIREGUARD_KEEPALIVE_SECONDS = 25;

export interface HubSettings {
  /** Unset until `settings set wireguard-endpoint`; install scripts need it. */
  endpoint: HubEndpoint | null;
  network: Ipv4Network;
  listenPort: number;
  interfaceName: string;
  /** The hub's own address in the tunnel network (its first host address). */
  hubAddress: string;
}

export async function loadHubSettings(db: Db): Promise<HubSettings> {
  const [endpoint, network, port, iface] = await Promise.all(
    ['wireguard-endpoint', 'wireguard-network', 'wireguard-listen-port', 'wireguard-interface'].map((k) => getSetting(db, k).then((s) => s.value)),
  );
  const net = parseNetwork(String(network ?? DEFAULT_WIREGUARD_NETWORK), 'wireguard-network');
  return {
    endpoint: endpoint === null || endpoint === undefined || endpoint === '' ? null : parseEndpoint(endpoint),
    network: net,
    listenPort: Number(port ?? DEFAULT_WIREGUARD_PORT),
    interfaceName: String(iface ?? DEFAULT_WIREGUARD_INTERFACE),
    hubAddress: formatIpv4(firstHost(net)),
  };
}

/** The endpoint routers dial, with the port filled in; an error naming the setting when unset. */
export function requireEndpoint(s: HubSettings): { host: string; port: number; text: string } {
  if (!s.endpoint) {
    throw new IspctlError('WIREGUARD_ENDPOINT_UNSET', 'The WireGuard hub has no public endpoint yet: routers would not know where to dial.', {
      kind: 'invalid',
      suggestions: ['ispctl settings set wireguard-endpoint vpn.example.net:51820   (the public address and UDP port of this host)'],
    });
  }
  const port = s.endpoint.port ?? s.listenPort;
  return { host: s.endpoint.host, port, text: formatEndpoint({ host: s.endpoint.host, port }) };
}

/** The hub's public key, generating the key pair on first use (concurrent callers agree on one). */
export async function ensureHubKeys(ctx: Pick<ServiceContext, 'db' | 'env'>): Promise<{ publicKey: string; created: boolean }> {
  const row = await ctx.db('wireguard_hub').where({ id: 1 }).first('public_key');
  if (row) return { publicKey: row.public_key as string, created: false };
  const key = loadSecretKey(ctx.env, { create: true });
  const pair = generateWireguardKeyPair();
  const inserted = await ctx.db('wireguard_hub')
    .insert({ id: 1, private_key_enc: encryptSecret(pair.privateKey, key), public_key: pair.publicKey })
    .onConflict('id')
    .ignore()
    .returning('public_key');
  if (inserted.length) return { publicKey: pair.publicKey, created: true };
  const again = await ctx.db('wireguard_hub').where({ id: 1 }).first('public_key');
  return { publicKey: again.public_key as string, created: false };
}

/**
 * Starts onboarding for a router: its WireGuard key pair and the API user and password its
 * install script will create, all generated here and stored encrypted. Returns the password so
 * a pending router can be stored with the same one.
 */
export async function createRouterOnboarding(db: Db, routerId: number, key: Buffer, now: Date): Promise<{ apiUser: string; apiPassword: string; publicKey: string }> {
  const pair = generateWireguardKeyPair();
  const apiPassword = generateSecret(24);
  await db('router_onboarding').insert({
    router_id: routerId,
    wg_private_key_enc: encryptSecret(pair.privateKey, key),
    wg_public_key: pair.publicKey,
    api_user: ONBOARDING_API_USER,
    api_password_enc: encryptSecret(apiPassword, key),
    created_at: now,
    updated_at: now,
  });
  return { apiUser: ONBOARDING_API_USER, apiPassword, publicKey: pair.publicKey };
}

export interface HubPeer {
  router: string;
  status: string;
  publicKey: string;
  tunnelAddress: string;
}

export interface WireguardConfigResult {
  interfaceName: string;
  listenPort: number;
  address: string;
  network: string;
  publicKey: string;
  endpoint: string | null;
  peers: HubPeer[];
  /** The wg-quick file: holds the hub's private key. */
  config: string;
}

/** Routers with a tunnel address, by name: the hub's peers. */
export async function listHubPeers(db: Db): Promise<HubPeer[]> {
  const rows: Array<{ name: string; status: string; wg_public_key: string; tunnel: string }> = await db('router_onboarding as o')
    .join('routers as r', 'r.id', 'o.router_id')
    .whereNotNull('o.tunnel_address')
    .orderByRaw('lower(r.name)')
    .select('r.name', 'r.status', 'o.wg_public_key', db.raw('host(o.tunnel_address) as tunnel'));
  return rows.map((r) => ({ router: r.name, status: r.status, publicKey: r.wg_public_key, tunnelAddress: r.tunnel }));
}

/** The hub's wg-quick configuration: [Interface] with its key, address and port, one [Peer] per router. */
export async function hubWireguardConfig(ctx: Pick<ServiceContext, 'db' | 'env'>): Promise<WireguardConfigResult> {
  const settings = await loadHubSettings(ctx.db);
  const { publicKey } = await ensureHubKeys(ctx);
  const row = await ctx.db('wireguard_hub').where({ id: 1 }).first('private_key_enc');
  const privateKey = decryptSecret(row.private_key_enc, loadSecretKey(ctx.env), 'WireGuard hub private key');
  const peers = await listHubPeers(ctx.db);
  const address = `${settings.hubAddress}/${settings.network.prefix}`;
  const lines = [
    '# WireGuard hub of ispctl: written by `ispctl wireguard config`; do not edit, run it again after onboarding a router.',
    `# Apply without dropping established tunnels: wg syncconf ${settings.interfaceName} <(wg-quick strip ${settings.interfaceName})`,
    '[Interface]',
    `PrivateKey = ${privateKey}`,
    `Address = ${address}`,
    `ListenPort = ${settings.listenPort}`,
  ];
  for (const p of peers) {
    lines.push('', `# router ${p.router} (${p.status})`, '[Peer]', `PublicKey = ${p.publicKey}`, `AllowedIPs = ${p.tunnelAddress}/32`);
  }
  return {
    interfaceName: settings.interfaceName,
    listenPort: settings.listenPort,
    address,
    network: formatCidr(settings.network),
    publicKey,
    endpoint: settings.endpoint ? requireEndpoint(settings).text : null,
    peers,
    config: lines.join('\n') + '\n',
  };
}
