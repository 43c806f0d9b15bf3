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
import { recordRouterHealth, routerNotFound, toRouter, type Router, type RouterStatus } from './service.js';

export const DEFAULT_CHECK_TIMEOUT_MS = 5_000;

export interface RouterCheckResult {
  router: string;
  host: string;
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
  const r = toRouter(row);
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
  return err instanceof Error ? err.message : String(err);
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
  const connect = await routerConnectOptions(ctx, router, opts);
  const started = Date.now();
  const checkedAt = ctx.clock.now();
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
    await recordRouterHealth(ctx.db, router.id, { status: 'online', at: checkedAt, identity: result.identity, version: result.version, board: result.board });
    return result;
  } catch (err) {
    if (err instanceof IspctlError) throw err;
    const status = statusOf(err);
    const error = describe(err);
    await recordRouterHealth(ctx.db, router.id, { status, at: checkedAt, error });
    return { router: router.name, host: router.host, port: router.apiPort, status, ok: false, error, elapsedMs: Date.now() - started, checkedAt };
  } finally {
    if (client) await client.close().catch(() => undefined);
  }
}
