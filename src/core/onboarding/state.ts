// Where a router is on its way into service, and what to check when it does not arrive.
//
// pending → registering (its install script was printed) → online at the first good check
// through the tunnel; then degraded/offline as health checks see it. A router registering for
// longer than REGISTERING_ADVICE_AFTER_MS gets advice on what to check, in `router show`,
// `router check` and the daemon's log.
import type { Db } from '../db/tx.js';
import type { Router } from '../routers/service.js';
import type { HubSettings } from './hub.js';

export const REGISTERING_ADVICE_AFTER_MS = 90_000;

export interface RegisteringContext {
  router: string;
  /** When registering began (the install script was printed). */
  since: Date | null;
  now: Date;
  /** The last error talking to the router's API through the tunnel. */
  error?: string | null;
  tunnelAddress?: string | null;
  hubInterface: string;
  hubEndpoint?: string | null;
  hubListenPort: number;
  apiPort: number;
}

function duration(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 120) return `${s} s`;
  const m = Math.floor(s / 60);
  return m < 120 ? `${m} min` : `${Math.floor(m / 60)} h ${m % 60} min`;
}

/**
 * What to check for a router still registering after REGISTERING_ADVICE_AFTER_MS; undefined
 * while it is early (or the router is not registering).
 */
export function registeringAdvice(c: RegisteringContext): string | undefined {
  if (!c.since) return undefined;
  const waited = c.now.getTime() - c.since.getTime();
  if (waited < REGISTERING_ADVICE_AFTER_MS) return undefined;
  if (!c.tunnelAddress) {
    // Onboarded with a management address (no tunnel).
    return [
      `Router ${c.router} has not answered at its management address for ${duration(waited)} since its install script was printed${c.error ? ` (last error: ${c.error})` : ''}. Check:`,
      `1. the install script ran on the router without an error (paste it again: a second run changes nothing);`,
      `2. the router's address is reachable from this host (ping it), and port ${c.apiPort} is not filtered on the way;`,
      `3. the router sees this host at the --allow-from address (NAT in between changes it): /ip service api address and the "ispctl:mgmt firewall" rule allow only that address.`,
    ].join('\n');
  }
  const endpoint = c.hubEndpoint ?? `this host's public address, UDP port ${c.hubListenPort}`;
  const parts = [
    `Router ${c.router} has not answered through the WireGuard tunnel for ${duration(waited)} since its install script was printed${c.error ? ` (last error: ${c.error})` : ''}. Check:`,
    `1. the install script ran on the router without an error (paste it again: a second run changes nothing);`,
    `2. the tunnel handshake: \`wg show ${c.hubInterface}\` here shows a recent "latest handshake" for the router's peer (run \`ispctl wireguard config --out …\` and \`wg syncconf\` after onboarding a router, or the hub does not know it); on the router, /interface wireguard peers print;`,
    `3. the router can reach ${endpoint}: the hub's UDP port is open in this host's firewall and forwarded by any NAT in front of it;`,
    `4. persistent-keepalive=25s on the router's peer (the hub cannot call a router behind NAT first);`,
    `5. the router accepts the API from the tunnel: /ip service api address includes the tunnel network, port ${c.apiPort}, and the "ispctl:mgmt firewall" rule sits before any drop rule${c.tunnelAddress ? ` (ping ${c.tunnelAddress} from here)` : ''}.`,
  ];
  return parts.join('\n');
}

/** The onboarding row of a router, as other modules need it (undefined when it has none). */
export async function onboardingOf(db: Db, routerId: number): Promise<{ tunnelAddress: string | null; installPrintedAt: Date | null; registeredAt: Date | null; reportedAt: Date | null; publicKey: string } | undefined> {
  const row = await db('router_onboarding').where({ router_id: routerId }).first('wg_public_key', db.raw('host(tunnel_address) as tunnel'), 'install_printed_at', 'registered_at', 'reported_at');
  if (!row) return undefined;
  return {
    tunnelAddress: (row.tunnel as string | null) ?? null,
    installPrintedAt: (row.install_printed_at as Date | null) ?? null,
    registeredAt: (row.registered_at as Date | null) ?? null,
    reportedAt: (row.reported_at as Date | null) ?? null,
    publicKey: row.wg_public_key as string,
  };
}

/** Records the first good check through the tunnel. */
export async function markRegistered(db: Db, routerId: number, at: Date): Promise<void> {
  await db('router_onboarding').where({ router_id: routerId }).whereNull('registered_at').update({ registered_at: at, updated_at: at });
}

/** What to check for a router still registering after a while (undefined before then). */
export async function registeringAdviceFor(db: Db, router: Router, now: Date, error: string | null | undefined, hub: HubSettings): Promise<string | undefined> {
  const o = await onboardingOf(db, router.id);
  return registeringAdvice({
    router: router.name,
    since: o?.installPrintedAt ?? null,
    now,
    error,
    tunnelAddress: o?.tunnelAddress,
    hubInterface: hub.interfaceName,
    hubEndpoint: hub.endpoint ? `${hub.endpoint.host} UDP port ${hub.endpoint.port ?? hub.listenPort}` : null,
    hubListenPort: hub.listenPort,
    apiPort: router.apiPort,
  });
}
