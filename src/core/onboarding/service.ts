// Onboarding a router, step by step: the inspect script, the report pasted back and its review,
// the install script. Each step is one function the commands (and the wizard) call.
import { recordAudit } from '../audit.js';
import type { ServiceContext } from '../context.js';
import { isUniqueViolation } from '../db/errors.js';
import { withTransaction, type Db } from '../db/tx.js';
import { IspctlError } from '../errors.js';
import { publishNasSecret } from '../provisioning/radius/nas-secret.js';
import { getRouter, type Router } from '../routers/service.js';
import { changeRouterStatus } from '../routers/status.js';
import { decryptSecret, encryptSecret, loadSecretKey } from '../secrets.js';
import { createRouterOnboarding, ensureHubKeys, loadHubSettings, ONBOARDING_API_GROUP, requireEndpoint, WIREGUARD_KEEPALIVE_SECONDS } from './hub.js';
import { buildInspectScript } from './inspect-script.js';
import { buildInstallScript } from './install-script.js';
import { formatCidr, parseCidrLoose } from './ipv4.js';
import { parseReport, type InspectReport } from './report.js';
import { checkManagementAddress, computeReview, type Review } from './review.js';
import { errors } from '../error-catalogue.js';

/** How often a RADIUS-mode router sends interim accounting updates. */
export const INTERIM_UPDATE = '5m';
export const RADIUS_AUTH_PORT = 1812;
export const RADIUS_ACCT_PORT = 1813;

interface OnboardingRow {
  router_id: number;
  wg_private_key_enc: string;
  wg_public_key: string;
  tunnel: string | null;
  api_user: string;
  api_password_enc: string;
  report: InspectReport | null;
  report_raw: string | null;
}

async function onboardingRow(db: Db, routerId: number): Promise<OnboardingRow | undefined> {
  const row = await db('router_onboarding').where({ router_id: routerId }).first('*', db.raw('host(tunnel_address) as tunnel'));
  if (!row) return undefined;
  const report = typeof row.report === 'string' ? (JSON.parse(row.report) as InspectReport) : ((row.report as InspectReport | null) ?? null);
  return { ...row, router_id: Number(row.router_id), report } as OnboardingRow;
}

/** The router and its onboarding row, creating the row (keys, API password) for a router that has none yet. */
async function routerForOnboarding(ctx: ServiceContext, name: string): Promise<{ router: Router; row: OnboardingRow }> {
  const router = await getRouter(ctx.db, name);
  let row = await onboardingRow(ctx.db, router.id);
  if (!row) {
    const key = loadSecretKey(ctx.env, { create: true });
    await withTransaction(ctx.db, async (trx) => {
      const again = await trx('router_onboarding').where({ router_id: router.id }).first('router_id');
      if (!again) await createRouterOnboarding(trx, router.id, key, ctx.clock.now());
    });
    row = (await onboardingRow(ctx.db, router.id))!;
  }
  return { router, row };
}

export interface InspectScriptResult {
  router: string;
  status: string;
  script: string;
}

/** The read-only inspect script for a router (no secret in it). */
export async function inspectScript(ctx: ServiceContext, name: string): Promise<InspectScriptResult> {
  const { router, row } = await routerForOnboarding(ctx, name);
  return { router: router.name, status: router.status, script: buildInspectScript({ router: router.name, apiUser: row.api_user }) };
}

async function reviewFor(ctx: ServiceContext, router: Router, row: OnboardingRow, report: InspectReport): Promise<Review> {
  const hub = await loadHubSettings(ctx.db);
  const taken = (await ctx.db('router_onboarding').whereNot({ router_id: router.id }).whereNotNull('tunnel_address').select(ctx.db.raw('host(tunnel_address) as a'))).map((r: { a: string }) => r.a);
  return computeReview({
    router: router.name,
    mode: router.mode,
    coaPort: router.coaPort,
    report,
    network: hub.network,
    hubAddress: hub.hubAddress,
    hubEndpoint: hub.endpoint ? requireEndpoint(hub).text : null,
    interfaceName: hub.interfaceName,
    apiUser: row.api_user,
    apiGroup: ONBOARDING_API_GROUP,
    currentTunnelAddress: row.tunnel,
    takenAddresses: taken,
    radiusServerAddress: hub.hubAddress,
    interimUpdate: INTERIM_UPDATE,
  });
}

export interface ReviewResult extends Review {
  status: string;
  /** The report was new (not the one stored already). */
  reportChanged: boolean;
}

/**
 * Reads a pasted report (or, without one, the stored report), stores it with the tunnel address
 * and PPPoE interface the review picked, and returns the review. A report ispctl cannot read
 * changes nothing. A tunnel network that clashes with the router's networks is refused after
 * the report is stored, so `router review NAME` works again once the setting is changed.
 */
export async function reviewRouter(ctx: ServiceContext, name: string, pasted?: string): Promise<ReviewResult> {
  const { router, row } = await routerForOnboarding(ctx, name);
  let report: InspectReport;
  let raw: string | null = row.report_raw;
  if (pasted === undefined) {
    if (!row.report) throw noReport(router.name);
    report = row.report;
  } else {
    ({ report, raw } = parseReport(pasted));
  }
  const reportChanged = raw !== row.report_raw;
  const now = ctx.clock.now();
  if (reportChanged) {
    await ctx.db('router_onboarding').where({ router_id: router.id }).update({ report_raw: raw, report: JSON.stringify(report), reported_at: now, updated_at: now });
    await recordAudit(ctx.db, ctx, { entityType: 'router', entityId: router.id, action: 'onboarding-report', after: { name: router.name, version: report.version, board: report.board, identity: report.identity } });
  }
  for (let attempt = 0; ; attempt++) {
    const review = await reviewFor(ctx, router, row, report);
    try {
      await ctx.db('router_onboarding')
        .where({ router_id: router.id })
        .update({ tunnel_address: review.tunnel?.address ?? null, pppoe_interface: review.pppoe.interface, updated_at: now });
      return { ...review, status: router.status, reportChanged };
    } catch (err) {
      // Another router took the same address at the same moment: pick again.
      if (attempt < 3 && isUniqueViolation(err, 'router_onboarding_tunnel_address_key')) continue;
      throw err;
    }
  }
}

function noReport(router: string): IspctlError {
  return new IspctlError('REPORT_MISSING', `Router ${router} has no inspect report yet.`, {
    kind: 'conflict',
    suggestions: [`Print the inspect script: ispctl router inspect-script ${router}`, `Paste what it prints: ispctl router review ${router} --report FILE (or - for stdin)`],
  });
}

export interface InstallScriptOptions {
  /** Onboard without WireGuard: ispctl reaches the router at this address (RouterOS 6, or by choice). */
  managementAddress?: string;
  /** With managementAddress: the address (or network) ispctl connects from, as the router sees it. */
  allowFrom?: string;
}

export interface InstallScriptResult {
  router: string;
  status: string;
  via: 'wireguard' | 'address';
  host: string;
  review: Review;
  /** The script itself: holds the router's tunnel private key, the API password and (RADIUS mode) the shared secret. */
  script: string;
}

/**
 * The install script for a reviewed router. Printing it moves the router to registering (from
 * pending) and points ispctl at its tunnel address with the API user the script creates.
 */
export async function installScript(ctx: ServiceContext, name: string, opts: InstallScriptOptions = {}): Promise<InstallScriptResult> {
  const { router, row } = await routerForOnboarding(ctx, name);
  if (!row.report) throw noReport(router.name);
  const viaAddress = opts.managementAddress !== undefined;
  if (!viaAddress && opts.allowFrom !== undefined) throw errors.missingFlags('--allow-from goes with --management-address.', [`ispctl router install-script ${router.name} --management-address ROUTER-IP --allow-from ISPCTL-IP`]);
  const review = await reviewRouter(ctx, router.name);
  const hub = await loadHubSettings(ctx.db);
  const key = loadSecretKey(ctx.env);
  const apiPassword = decryptSecret(row.api_password_enc, key, 'API password');
  const radiusSecret = router.mode === 'radius' ? decryptSecret((await ctx.db('routers').where({ id: router.id }).first('radius_secret_enc')).radius_secret_enc, key, 'RADIUS secret') : undefined;
  let script: string;
  let host: string;
  if (!viaAddress) {
    if (!review.wireguard || !review.tunnel) {
      throw errors.routerOsWithoutWireGuard(router.name, review.routerOs.version);
    }
    const endpoint = requireEndpoint(hub);
    const { publicKey: hubPublicKey } = await ensureHubKeys(ctx);
    host = review.tunnel.address;
    script = buildInstallScript({
      router: router.name,
      version: row.report.versionNumber,
      way: {
        via: 'wireguard',
        interfaceName: hub.interfaceName,
        privateKey: decryptSecret(row.wg_private_key_enc, key, 'WireGuard private key'),
        hubPublicKey,
        hubEndpointHost: endpoint.host,
        hubEndpointPort: endpoint.port,
        hubAddress: hub.hubAddress,
        tunnelAddressCidr: review.tunnel.addressCidr,
        tunnelNetwork: formatCidr(hub.network),
        keepaliveSeconds: WIREGUARD_KEEPALIVE_SECONDS,
      },
      apiUser: row.api_user,
      apiGroup: ONBOARDING_API_GROUP,
      apiPassword,
      ...(radiusSecret !== undefined
        ? { radius: { serverAddress: hub.hubAddress, srcAddress: review.tunnel.address, secret: radiusSecret, coaPort: router.coaPort, authPort: RADIUS_AUTH_PORT, acctPort: RADIUS_ACCT_PORT, interimUpdate: INTERIM_UPDATE } }
        : {}),
    });
  } else {
    host = checkManagementAddress(opts.managementAddress!, 'management address');
    if (opts.allowFrom === undefined) throw errors.missingFlags('Missing --allow-from: the address ispctl connects to the router from, as the router sees it.', [`ispctl router install-script ${router.name} --management-address ${host} --allow-from ISPCTL-IP`]);
    const allow = parseCidrLoose(opts.allowFrom);
    if (!allow) throw errors.invalidAddress('--allow-from', opts.allowFrom, 'is not an IPv4 address or network', ['e.g. 192.0.2.10 or 192.0.2.0/24']);
    const allowFrom = formatCidr(allow);
    if (radiusSecret !== undefined && allow.prefix !== 32) {
      throw errors.invalidAddress('--allow-from', opts.allowFrom, 'is a network; in RADIUS mode it must be one address, the one the router sends RADIUS to (FreeRADIUS on the ispctl host)', [`--allow-from ${formatCidr(allow).replace(/\/\d+$/, '')}`]);
    }
    script = buildInstallScript({
      router: router.name,
      version: row.report.versionNumber,
      way: { via: 'address', allowFrom },
      apiUser: row.api_user,
      apiGroup: ONBOARDING_API_GROUP,
      apiPassword,
      ...(radiusSecret !== undefined
        ? { radius: { serverAddress: allowFrom.replace(/\/32$/, ''), secret: radiusSecret, coaPort: router.coaPort, authPort: RADIUS_AUTH_PORT, acctPort: RADIUS_ACCT_PORT, interimUpdate: INTERIM_UPDATE } }
        : {}),
    });
  }
  const now = ctx.clock.now();
  const status = await withTransaction(ctx.db, async (trx) => {
    const update: Record<string, unknown> = {
      host,
      api_user: row.api_user,
      api_password_enc: encryptSecret(apiPassword, key),
      api_port: review.apiPort,
      api_tls: false,
      updated_at: now,
      revision: trx.raw('revision + 1'),
    };
    if (router.mode === 'radius') update.nas_address = host;
    await trx('routers').where({ id: router.id }).update(update);
    // A router not yet in service waits for its tunnel; one already online keeps its status.
    if (router.status === 'pending' || router.status === 'registering' || router.host !== host) {
      await changeRouterStatus(trx, router.id, { to: 'registering', at: now, set: { consecutive_failures: 0, status_changed_at: now } });
    }
    const r = await trx('routers').where({ id: router.id }).first('status', 'id');
    await trx('router_onboarding').where({ router_id: router.id }).update({ install_printed_at: now, updated_at: now });
    if (radiusSecret !== undefined) await publishNasSecret(trx, router.id, radiusSecret);
    await recordAudit(trx, ctx, {
      entityType: 'router',
      entityId: router.id,
      action: 'onboarding-install',
      before: { host: router.host, status: router.status, apiUser: router.apiUser },
      after: { host, status: r.status, apiUser: row.api_user, via: viaAddress ? 'address' : 'wireguard', apiPasswordChanged: true },
    });
    return r.status as string;
  }).catch((err) => {
    if (isUniqueViolation(err, 'routers_nas_address_key')) throw errors.nasAddressTaken(host);
    throw err;
  });
  return { router: router.name, status, via: viaAddress ? 'address' : 'wireguard', host, review, script };
}
