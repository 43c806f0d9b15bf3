// `router check`: log in over the API, read identity, version and resources, and record what
// was seen (status and last contact). A router that cannot be reached is recorded offline.
import type { ServiceContext } from '../context.js';
import { IspctlError } from '../errors.js';
import {
  RouterOSClient,
  RouterOSConnectError,
  RouterOSConnectionClosedError,
  RouterOSLoginError,
  RouterOSTimeoutError,
  menu,
  type RouterOSConnectOptions,
} from '../routeros/index.js';
import { decryptSecret, loadSecretKey } from '../secrets.js';
import { loadHubSettings } from '../onboarding/hub.js';
import { markRegistered, registeringAdviceFor } from '../onboarding/state.js';
import { recordRouterHealth, routerNotFound, toRouter, type Router, type RouterStatus } from './service.js';
import { describeError } from '../error-text.js';

export const DEFAULT_CHECK_TIMEOUT_MS = 5_000;

export interface RouterCheckResult {
  router: string;
  /** Null while the router is pending. */
  host: string | null;
  port: number;
  status: RouterStatus;
  /** True when ispctl logged in and read the router. */
  ok: boolean;
  identity?: string;
  version?: string;
  board?: string;
  uptime?: string;
  cpuLoad?: number;
  freeMemory?: number;
  totalMemory?: number;
  error?: string;
  elapsedMs: number;
  checkedAt: Date;
}

/** How to reach a router's API, with its password decrypted. For provisioning and checks only. */
export async function routerConnectOptions(ctx: ServiceContext, router: Router | string, opts: { timeoutMs?: number } = {}): Promise<RouterOSConnectOptions> {
  const row = await ctx.db('routers').whereRaw('lower(name) = lower(?)', [typeof router === 'string' ? router : router.name]).first();
  if (!row) throw routerNotFound(typeof router === 'string' ? router : router.name);
  return connectOptionsFromRow(ctx, row, opts);
}

/** {@link routerConnectOptions} from a routers row already read (a run that read every router at once). */
export function connectOptionsFromRow(ctx: Pick<ServiceContext, 'env'>, row: Parameters<typeof toRouter>[0], opts: { timeoutMs?: number } = {}): RouterOSConnectOptions {
  const r = toRouter(row);
  if (r.host === null) throw routerPending(r.name);
  const password = decryptSecret(row.api_password_enc, loadSecretKey(ctx.env), 'API password');
  return {
    host: r.host,
    port: r.apiPort,
    user: r.apiUser,
    password,
    tls: r.apiTls ? { rejectUnauthorized: r.apiTlsVerify } : false,
    timeoutMs: opts.timeoutMs ?? DEFAULT_CHECK_TIMEOUT_MS,
    connectTimeoutMs: opts.timeoutMs ?? DEFAULT_CHECK_TIMEOUT_MS,
  };
}

function num(v: string | undefined): number | undefined {
  if (v === undefined || v === '') return undefined;
  const n = Number(v);
  return Number.isFinite(n) ? n : undefined;
}

/** Classifies a failure: unreachable is offline; reachable but refusing or failing is degraded. */
function statusOf(err: unknown): RouterStatus {
  if (err instanceof RouterOSConnectError || err instanceof RouterOSConnectionClosedError || err instanceof RouterOSTimeoutError) return 'offline';
  return 'degraded';
}

function describe(err: unknown): string {
  if (err instanceof RouterOSLoginError) return `the router refused the API user or password (${err.message})`;
  return describeError(err);
}

/**
 * Checks one router and records the outcome. Resolves with ok false (and the error) when the
 * router is unreachable or refuses the login; throws only for problems on this side (no key,
 * unknown router).
 */
export async function checkRouter(ctx: ServiceContext, name: string, opts: { timeoutMs?: number } = {}): Promise<RouterCheckResult> {
  const row = await ctx.db('routers').whereRaw('lower(name) = lower(?)', [String(name).trim()]).first();
  if (!row) throw routerNotFound(name);
  const router = toRouter(row);
  const checkedAt = ctx.clock.now();
  if (router.host === null) {
    return { router: router.name, host: null, port: router.apiPort, status: router.status, ok: false, error: routerPending(router.name).message, elapsedMs: 0, checkedAt };
  }
  const connect = await routerConnectOptions(ctx, router, opts);
  const started = Date.now();
  let client: RouterOSClient | undefined;
  try {
    client = await RouterOSClient.connect(connect);
    const [identity] = await menu.print(client, '/system/identity');
    const [resource] = await menu.print(client, '/system/resource');
    const result: RouterCheckResult = {
      router: router.name,
      host: router.host,
      port: router.apiPort,
      status: 'online',
      ok: true,
      identity: identity?.name,
      version: resource?.version,
      board: resource?.['board-name'],
      uptime: resource?.uptime,
      cpuLoad: num(resource?.['cpu-load']),
      freeMemory: num(resource?.['free-memory']),
      totalMemory: num(resource?.['total-memory']),
      elapsedMs: Date.now() - started,
      checkedAt,
    };
    await recordRouterHealth(ctx.db, router.id, { from: router.status, status: 'online', at: checkedAt, identity: result.identity, version: result.version, board: result.board });
    if (router.status === 'registering') await markRegistered(ctx.db, router.id, checkedAt);
    return result;
  } catch (err) {
    if (err instanceof IspctlError) throw err;
    // A router waiting for its tunnel stays registering; after a while the error says what to check.
    const status = router.status === 'registering' ? 'registering' : statusOf(err);
    let error = describe(err);
    if (status === 'registering') error = (await registeringAdviceFor(ctx.db, router, checkedAt, error, await loadHubSettings(ctx.db))) ?? error;
    await recordRouterHealth(ctx.db, router.id, { from: router.status, status, at: checkedAt, error });
    return { router: router.name, host: router.host, port: router.apiPort, status, ok: false, error, elapsedMs: Date.now() - started, checkedAt };
  } finally {
    if (client) await client.close().catch(() => undefined);
  }
}

/** The error for work that needs a router's API while it is still pending (no address yet). */
export function routerPending(name: string): IspctlError {
  return new IspctlError('ROUTER_PENDING', `Router ${name} is pending: it has no address yet, so ispctl cannot reach it.`, {
    kind: 'conflict',
    suggestions: [`Bring it in over WireGuard: ispctl router onboard ${name}`, `Or give it an address ispctl can reach: ispctl router edit ${name} --host … --api-user … --api-password …`],
  });
}
