// Routers: the MikroTiks that terminate PPPoE. Registering one stores how to reach its API
// (password encrypted), how FreeRADIUS knows it (NAS address, generated shared secret, CoA port)
// and how subscribers on it are provisioned (mode, shaping, block action).

import { errors } from '../error-catalogue.js';
import type { Knex } from 'knex';
import { recordAudit } from '../audit.js';
import type { ServiceContext } from '../context.js';
import { isUniqueViolation } from '../db/errors.js';
import type { RouterRow } from '../db/rows.js';
import { withTransaction, type Db } from '../db/tx.js';
import { provisionChanges } from '../provisioning/access.js';
import { publishNasSecret } from '../provisioning/radius/nas-secret.js';
import { conflict, invalid, IspctlError } from '../errors.js';
import { decryptSecret, encryptSecret, generateSecret, loadSecretKey, maskSecret } from '../secrets.js';
import { listSettings } from '../settings/service.js';
import { recordAuditMany } from '../subscribers/audit-many.js';
import { assertRouterAddressing, checkOwnAddressing, ROUTER_POOL_NAME, validateLocalAddress, validatePoolRanges } from './pools.js';
import { createRouterOnboarding, loadHubSettings, ONBOARDING_API_USER } from '../onboarding/hub.js';
import { onboardingOf, registeringAdviceFor } from '../onboarding/state.js';
import { validateChoice, validateHost, validateIpAddress, validatePort, validateRadiusSecret, validateRouterName } from './validate.js';
import { changeRouterStatus } from './status.js';

export const ROUTER_MODES = ['radius', 'api'] as const;
export type RouterMode = (typeof ROUTER_MODES)[number];
export const SHAPING_MODES = ['profile', 'queue'] as const;
export type Shaping = (typeof SHAPING_MODES)[number];
export const BLOCK_ACTIONS = ['disable', 'remove'] as const;
export type BlockAction = (typeof BLOCK_ACTIONS)[number];
/**
 * pending: added, not set up yet (no host); registering: its install script was printed and
 * ispctl waits to reach it through the tunnel; then health from checks.
 */
export const ROUTER_STATUSES = ['pending', 'registering', 'unknown', 'online', 'degraded', 'offline'] as const;
export type RouterStatus = (typeof ROUTER_STATUSES)[number];

export const DEFAULT_API_PORT = 8728;
export const DEFAULT_API_TLS_PORT = 8729;
export const DEFAULT_COA_PORT = 3799;

/** A router as the rest of ispctl sees it. Never carries a secret. */
export interface Router {
  id: number;
  name: string;
  /** Null while pending (onboarding over WireGuard gives it its tunnel address). */
  host: string | null;
  apiPort: number;
  apiUser: string;
  apiTls: boolean;
  apiTlsVerify: boolean;
  mode: RouterMode;
  nasAddress: string | null;
  coaPort: number;
  shaping: Shaping;
  /** As stored; null means the setting api-block-action. */
  blockAction: BlockAction | null;
  status: RouterStatus;
  lastContactAt: Date | null;
  lastError: string | null;
  identity: string | null;
  version: string | null;
  board: string | null;
  /** Default PPP profile local-address for plans that carry none. */
  localAddress: string | null;
  /** Default remote address pool (canonical ranges) for plans that carry none. */
  poolRanges: string | null;
  /** `ispctl-pool-default` when the router has a default pool. */
  poolName: string | null;
  revision: number;
  createdAt: Date;
  updatedAt: Date;
}

export interface RouterSummary extends Router {
  /** Services on this router that have not ended. */
  serviceCount: number;
  /** blockAction, or the setting when the router does not say. */
  effectiveBlockAction: BlockAction;
}

export interface RouterDetails extends RouterSummary {
  /** Masked (`ab••••••yz`), or a note when the key cannot decrypt it. */
  apiPassword: string;
  radiusSecret: string;
  /** Onboarding over WireGuard, when the router was brought in (or is being brought in) that way. */
  onboarding?: {
    tunnelAddress: string | null;
    publicKey: string;
    reportedAt: Date | null;
    installPrintedAt: Date | null;
    registeredAt: Date | null;
    /** While registering for longer than about 90 s: what to check. */
    advice?: string;
  };
}

export interface RouterInput {
  name: string;
  /** Omitted: the router is added pending, to be onboarded over WireGuard (API user and password generated). */
  host?: string;
  apiPort?: number;
  apiUser?: string;
  apiPassword?: string;
  apiTls?: boolean;
  apiTlsVerify?: boolean;
  mode?: string;
  /** Radius mode: default the host, when the host is an IP address (required otherwise). */
  nasAddress?: string;
  coaPort?: number;
  shaping?: string;
  blockAction?: string;
  /** Default: a generated 32-character secret. */
  radiusSecret?: string;
  /** Default PPP local-address for plans without one. */
  localAddress?: string;
  /** Default remote address pool for plans without one. */
  pool?: string;
}

export interface RouterChanges {
  name?: string;
  host?: string;
  apiPort?: number;
  apiUser?: string;
  apiPassword?: string;
  apiTls?: boolean;
  apiTlsVerify?: boolean;
  mode?: string;
  /** null or '' clears it (api mode only). */
  nasAddress?: string | null;
  coaPort?: number;
  shaping?: string;
  /** null, '' or 'default' falls back to the setting. */
  blockAction?: string | null;
  radiusSecret?: string;
  /** Generate a new RADIUS secret. */
  rotateRadiusSecret?: boolean;
  /** null, '' or `none` clears it. */
  localAddress?: string | null;
  pool?: string | null;
}

export function toRouter(r: RouterRow): Router {
  return {
    id: Number(r.id),
    name: r.name,
    host: r.host ?? null,
    apiPort: Number(r.api_port),
    apiUser: r.api_user,
    apiTls: Boolean(r.api_tls),
    apiTlsVerify: Boolean(r.api_tls_verify),
    mode: r.mode,
    nasAddress: r.nas_address ?? null,
    coaPort: Number(r.coa_port),
    shaping: r.shaping,
    blockAction: r.block_action ?? null,
    status: r.status,
    lastContactAt: r.last_contact_at ?? null,
    lastError: r.last_error ?? null,
    identity: r.identity ?? null,
    version: r.version ?? null,
    board: r.board ?? null,
    localAddress: r.local_address ?? null,
    poolRanges: r.pool_ranges ?? null,
    poolName: r.pool_ranges ? ROUTER_POOL_NAME : null,
    revision: Number(r.revision),
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}

/** What the audit log records of a router: its configuration, never its secrets. */
function auditView(r: RouterValues): RouterValues {
  return {
    name: r.name,
    host: r.host,
    apiPort: r.apiPort,
    apiUser: r.apiUser,
    apiTls: r.apiTls,
    apiTlsVerify: r.apiTlsVerify,
    mode: r.mode,
    nasAddress: r.nasAddress,
    coaPort: r.coaPort,
    shaping: r.shaping,
    blockAction: r.blockAction,
    localAddress: r.localAddress,
    poolRanges: r.poolRanges,
  };
}

function validateApiUser(input: string): string {
  const s = String(input ?? '').trim();
  // eslint-disable-next-line no-control-regex
  if (s === '' || s.length > 64 || /[\s\u0000-\u001f\u007f"'\\]/.test(s)) {
    throw invalid('INVALID_API_USER', `The API user ${JSON.stringify(String(input ?? ''))} is not a valid RouterOS user name (1 to 64 characters, no spaces or quotes).`, [
      'Create a dedicated API user on the router, e.g. /user add name=ispctl group=full password=…',
    ]);
  }
  return s;
}

function validateApiPassword(input: string): string {
  const s = String(input ?? '');
  if (s === '') throw invalid('INVALID_API_PASSWORD', 'The API password is empty.', ['Give the password of the router\'s API user with --api-password, or in ISPCTL_ROUTER_API_PASSWORD']);
  // eslint-disable-next-line no-control-regex
  if (s.length > 128 || /[\u0000-\u001f\u007f]/.test(s)) throw invalid('INVALID_API_PASSWORD', 'The API password is longer than 128 characters or contains control characters.');
  return s;
}


/** The router with this name (ignoring case), or NOT_FOUND (exit 4). */
export async function getRouter(db: Db, name: string): Promise<Router> {
  const row = await db('routers').whereRaw('lower(name) = lower(?)', [String(name).trim()]).first();
  if (!row) throw routerNotFound(name);
  return toRouter(row);
}

export function routerNotFound(name: string): IspctlError {
  return errors.routerNotFound(name);
}

async function effectiveBlockActionSetting(db: Db): Promise<BlockAction> {
  const s = (await listSettings(db)).find((x) => x.key === 'api-block-action');
  return (s?.value as BlockAction | undefined) ?? 'disable';
}

function summarise(r: Router, serviceCount: number, fallback: BlockAction): RouterSummary {
  return { ...r, serviceCount, effectiveBlockAction: r.blockAction ?? fallback };
}

/** Every router with its number of current services, by name. One query. */
export async function listRouters(db: Db): Promise<RouterSummary[]> {
  const fallback = await effectiveBlockActionSetting(db);
  const rows = await db('routers as r')
    .leftJoin('services as s', function () {
      this.on('s.router_id', 'r.id').andOnNull('s.ended_on');
    })
    .groupBy('r.id')
    .orderByRaw('lower(r.name)')
    .select('r.*', db.raw('count(s.id)::int as service_count'));
  return rows.map((row: RouterRow & { service_count: number }) => summarise(toRouter(row), Number(row.service_count), fallback));
}

/** One router with its secrets masked. Decrypting needs the key; without it the secrets show as unavailable. */
export async function showRouter(ctx: ServiceContext, name: string): Promise<RouterDetails> {
  const row = await ctx.db('routers').whereRaw('lower(name) = lower(?)', [String(name).trim()]).first();
  if (!row) throw routerNotFound(name);
  const r = toRouter(row);
  const [{ n }] = await ctx.db('services').where({ router_id: r.id }).whereNull('ended_on').count<{ n: number }[]>({ n: '*' });
  const fallback = await effectiveBlockActionSetting(ctx.db);
  let apiPassword: string;
  let radiusSecret: string;
  try {
    const key = loadSecretKey(ctx.env);
    apiPassword = maskSecret(decryptSecret(row.api_password_enc, key, 'API password'));
    radiusSecret = maskSecret(decryptSecret(row.radius_secret_enc, key, 'RADIUS secret'));
  } catch (err) {
    const why = err instanceof IspctlError ? err.code : 'error';
    apiPassword = radiusSecret = `(cannot decrypt: ${why})`;
  }
  const o = await onboardingOf(ctx.db, r.id);
  let onboarding: RouterDetails['onboarding'];
  if (o) {
    const advice = r.status === 'registering' ? await registeringAdviceFor(ctx.db, r, ctx.clock.now(), r.lastError, await loadHubSettings(ctx.db)) : undefined;
    onboarding = { tunnelAddress: o.tunnelAddress, publicKey: o.publicKey, reportedAt: o.reportedAt, installPrintedAt: o.installPrintedAt, registeredAt: o.registeredAt, ...(advice ? { advice } : {}) };
  }
  return { ...summarise(r, Number(n), fallback), apiPassword, radiusSecret, ...(onboarding ? { onboarding } : {}) };
}

/** Validated and normalised values of a whole router row (after defaults or changes). */
type RouterValues = {
  name: string;
  host: string | null;
  apiPort: number;
  apiUser: string;
  apiTls: boolean;
  apiTlsVerify: boolean;
  mode: RouterMode;
  nasAddress: string | null;
  coaPort: number;
  shaping: Shaping;
  blockAction: BlockAction | null;
  localAddress: string | null;
  poolRanges: string | null;
};

const clears = (v: string | null | undefined) => v === null || (typeof v === 'string' && ['', 'none', 'default'].includes(v.trim().toLowerCase()));

function checkModeNeeds(v: RouterValues, pending = false): void {
  if (v.mode === 'radius' && !v.nasAddress && !pending) {
    throw invalid('MISSING_NAS_ADDRESS', `A router in radius mode needs the address FreeRADIUS sees it at, and the host ${JSON.stringify(v.host)} is not an IP address.`, [
      'Add --nas-address with the router\'s source address towards FreeRADIUS, e.g. --nas-address 10.8.0.2',
    ]);
  }
}

async function assertNameFree(db: Db, name: string, exceptId?: number): Promise<void> {
  const q = db('routers').whereRaw('lower(name) = lower(?)', [name]).first('id', 'name');
  const row = await q;
  if (row && Number(row.id) !== exceptId) {
    throw errors.routerExists(String(row.name));
  }
}

async function assertNasFree(db: Db, nas: string | null, exceptId?: number): Promise<void> {
  if (!nas) return;
  const row = await db('routers').whereRaw('nas_address = ?::inet', [nas]).first('id', 'name');
  if (row && Number(row.id) !== exceptId) {
    throw errors.nasAddressTaken(nas, String(row.name));
  }
}

function mapUnique(err: unknown): never {
  if (isUniqueViolation(err, 'routers_name_lower_key')) throw errors.routerExists();
  if (isUniqueViolation(err, 'routers_nas_address_key')) throw errors.nasAddressTaken(undefined);
  throw err;
}

/**
 * Registers a router. The API password and the RADIUS secret (generated unless given) are
 * stored encrypted; the key file is created on first use.
 */
export async function addRouter(ctx: ServiceContext, input: RouterInput): Promise<Router> {
  const name = validateRouterName(input.name);
  const pending = input.host === undefined || input.host === '';
  if (pending && (input.apiUser !== undefined || input.apiPassword !== undefined || input.apiTls)) {
    throw invalid('MISSING_HOST', 'An API user, password or TLS was given without --host.', [
      `Give --host to register a router ispctl can already reach`,
      `Or leave out the API flags to add it pending and onboard it over WireGuard: ispctl router onboard ${name}`,
    ]);
  }
  const host = pending ? null : validateHost(input.host!);
  const apiTls = input.apiTls ?? false;
  const mode = input.mode === undefined ? 'api' : validateChoice(input.mode, ROUTER_MODES, 'mode', 'INVALID_ROUTER_MODE');
  const nasGiven = input.nasAddress !== undefined && input.nasAddress !== '';
  const values: RouterValues = {
    name,
    host,
    apiPort: validatePort(input.apiPort ?? (apiTls ? DEFAULT_API_TLS_PORT : DEFAULT_API_PORT), 'API port'),
    apiUser: pending ? ONBOARDING_API_USER : validateApiUser(input.apiUser ?? ''),
    apiTls,
    apiTlsVerify: input.apiTlsVerify ?? true,
    mode,
    nasAddress: nasGiven ? validateIpAddress(input.nasAddress!, 'NAS address') : mode === 'radius' && host !== null && isIpLiteral(host) ? host : null,
    coaPort: validatePort(input.coaPort ?? DEFAULT_COA_PORT, 'CoA port'),
    shaping: input.shaping === undefined ? 'profile' : validateChoice(input.shaping, SHAPING_MODES, 'shaping', 'INVALID_SHAPING'),
    blockAction: input.blockAction === undefined || input.blockAction === '' || input.blockAction === 'default' ? null : validateChoice(input.blockAction, BLOCK_ACTIONS, 'block action', 'INVALID_BLOCK_ACTION'),
    localAddress: input.localAddress === undefined || clears(input.localAddress) ? null : validateLocalAddress(input.localAddress),
    poolRanges: input.pool === undefined || clears(input.pool) ? null : validatePoolRanges(input.pool, 'pool'),
  };
  checkOwnAddressing(`router ${name}`, values.localAddress, values.poolRanges);
  const apiPassword = pending ? undefined : validateApiPassword(input.apiPassword ?? '');
  const radiusSecret = input.radiusSecret === undefined ? generateSecret(24) : validateRadiusSecret(input.radiusSecret);
  checkModeNeeds(values, pending);
  await assertNameFree(ctx.db, name);
  await assertNasFree(ctx.db, values.nasAddress);
  const key = loadSecretKey(ctx.env, { create: true });
  const now = ctx.clock.now();
  try {
    return await withTransaction(ctx.db, async (trx) => {
      const [inserted] = await trx('routers')
        .insert({
          ...toColumns(values),
          // A pending router gets the password its install script will set (below).
          api_password_enc: encryptSecret(apiPassword ?? '', key),
          radius_secret_enc: encryptSecret(radiusSecret, key),
          ...(pending ? { status: 'pending' } : {}),
          created_at: now,
          updated_at: now,
        })
        .returning('*');
      let row = inserted;
      if (pending) {
        const onboarding = await createRouterOnboarding(trx, Number(inserted.id), key, now);
        [row] = await trx('routers').where({ id: inserted.id }).update({ api_password_enc: encryptSecret(onboarding.apiPassword, key) }).returning('*');
      }
      const router = toRouter(row);
      await publishNasSecret(trx, router.id, radiusSecret);
      await recordAudit(trx, ctx, { entityType: 'router', entityId: router.id, action: 'create', after: auditView(router) });
      return router;
    });
  } catch (err) {
    return mapUnique(err);
  }
}

function toColumns(v: RouterValues): Record<string, unknown> {
  return {
    name: v.name,
    host: v.host,
    api_port: v.apiPort,
    api_user: v.apiUser,
    api_tls: v.apiTls,
    api_tls_verify: v.apiTlsVerify,
    mode: v.mode,
    nas_address: v.nasAddress,
    coa_port: v.coaPort,
    shaping: v.shaping,
    block_action: v.blockAction,
    local_address: v.localAddress,
    pool_ranges: v.poolRanges,
  };
}

function isIpLiteral(host: string): boolean {
  return /^[0-9.]+$/.test(host) || host.includes(':');
}

export interface RouterEditResult {
  router: Router;
  /** Names of the fields that changed (secrets as apiPassword / radiusSecret). */
  changed: string[];
  /** Current services on the router, for provisioning to act on when something that matters to them changed. */
  affectedServiceIds: number[];
  /** Router work queued by the change. */
  jobIds: number[];
}

/** Changes a router; validates the whole resulting row; a conditioned update (no lost writes). */
export async function editRouter(ctx: ServiceContext, name: string, changes: RouterChanges): Promise<RouterEditResult> {
  const current = await getRouter(ctx.db, name);
  const next: RouterValues = auditView(current);
  if (changes.name !== undefined) next.name = validateRouterName(changes.name, 'new name');
  if (changes.host !== undefined) next.host = validateHost(changes.host);
  if (changes.apiTls !== undefined) next.apiTls = changes.apiTls;
  if (changes.apiPort !== undefined) next.apiPort = validatePort(changes.apiPort, 'API port');
  else if (changes.apiTls !== undefined && changes.apiTls !== current.apiTls && current.apiPort === (current.apiTls ? DEFAULT_API_TLS_PORT : DEFAULT_API_PORT)) {
    next.apiPort = changes.apiTls ? DEFAULT_API_TLS_PORT : DEFAULT_API_PORT;
  }
  if (changes.apiUser !== undefined) next.apiUser = validateApiUser(changes.apiUser);
  if (changes.apiTlsVerify !== undefined) next.apiTlsVerify = changes.apiTlsVerify;
  if (changes.mode !== undefined) next.mode = validateChoice(changes.mode, ROUTER_MODES, 'mode', 'INVALID_ROUTER_MODE');
  const nasGiven = changes.nasAddress !== undefined;
  if (nasGiven) next.nasAddress = changes.nasAddress === null || changes.nasAddress === '' || changes.nasAddress === 'none' ? null : validateIpAddress(changes.nasAddress!, 'NAS address');
  else if (next.mode === 'radius' && !next.nasAddress && next.host !== null && isIpLiteral(next.host)) next.nasAddress = next.host;
  if (changes.coaPort !== undefined) next.coaPort = validatePort(changes.coaPort, 'CoA port');
  if (changes.localAddress !== undefined) next.localAddress = clears(changes.localAddress) ? null : validateLocalAddress(changes.localAddress!);
  if (changes.pool !== undefined) next.poolRanges = clears(changes.pool) ? null : validatePoolRanges(changes.pool!, 'pool');
  checkOwnAddressing(`router ${next.name}`, next.localAddress, next.poolRanges);
  if (changes.shaping !== undefined) next.shaping = validateChoice(changes.shaping, SHAPING_MODES, 'shaping', 'INVALID_SHAPING');
  if (changes.blockAction !== undefined) {
    next.blockAction = changes.blockAction === null || changes.blockAction === '' || changes.blockAction === 'default' ? null : validateChoice(changes.blockAction, BLOCK_ACTIONS, 'block action', 'INVALID_BLOCK_ACTION');
  }
  checkModeNeeds(next, current.status === 'pending' && next.host === null);
  if (changes.radiusSecret !== undefined && changes.rotateRadiusSecret) {
    throw errors.conflictingFlags('Give a new RADIUS secret or ask for a generated one, not both.', '--radius-secret … or --rotate-radius-secret');
  }
  const apiPassword = changes.apiPassword === undefined ? undefined : validateApiPassword(changes.apiPassword);
  const radiusSecret = changes.rotateRadiusSecret ? generateSecret(24) : changes.radiusSecret === undefined ? undefined : validateRadiusSecret(changes.radiusSecret);

  const before = auditView(current);
  const changed: string[] = (Object.keys(before) as Array<keyof RouterValues>).filter((k) => JSON.stringify(before[k]) !== JSON.stringify(next[k]));
  if (apiPassword !== undefined) changed.push('apiPassword');
  if (radiusSecret !== undefined) changed.push('radiusSecret');
  if (changed.length === 0) return { router: current, changed: [], affectedServiceIds: [], jobIds: [] };

  if (next.name.toLowerCase() !== current.name.toLowerCase()) await assertNameFree(ctx.db, next.name, current.id);
  await assertNasFree(ctx.db, next.nasAddress, current.id);
  const key = apiPassword !== undefined || radiusSecret !== undefined ? loadSecretKey(ctx.env, { create: true }) : undefined;
  try {
    return await withTransaction(ctx.db, async (trx) => {
      const update: Record<string, unknown> = { ...toColumns(next), updated_at: ctx.clock.now(), revision: trx.raw('revision + 1') };
      if (apiPassword !== undefined) update.api_password_enc = encryptSecret(apiPassword, key!);
      if (radiusSecret !== undefined) update.radius_secret_enc = encryptSecret(radiusSecret, key!);
      const [row] = await trx('routers').where({ id: current.id, revision: current.revision }).update(update).returning('*');
      if (!row) throw errors.changedConcurrently(`Router ${current.name}`);
      // A pending router given a host by hand is an ordinary router from now on.
      if (row.status === 'pending' && next.host !== null) {
        await changeRouterStatus(trx, current.id, { from: 'pending', to: 'unknown', at: ctx.clock.now() });
        row.status = 'unknown';
      }
      const router = toRouter(row);
      const after: Record<string, unknown> = auditView(router);
      if (apiPassword !== undefined) after.apiPasswordChanged = true;
      if (radiusSecret !== undefined) after.radiusSecretChanged = true;
      await recordAudit(trx, ctx, { entityType: 'router', entityId: router.id, action: 'update', before, after });
      if (radiusSecret !== undefined || changed.includes('mode')) {
        const secret = radiusSecret ?? decryptSecret(row.radius_secret_enc, loadSecretKey(ctx.env), 'RADIUS secret');
        await publishNasSecret(trx, router.id, secret);
      }
      if (changed.includes('localAddress') || changed.includes('poolRanges')) await assertRouterAddressing(trx, [router.id]);
      const ids = (await trx('services').where({ router_id: router.id }).whereNull('ended_on').orderBy('id').pluck('id')).map(Number);
      // How the router is provisioned changed: converge every service on it again.
      const reprovision = ['mode', 'shaping', 'blockAction', 'host', 'apiPort', 'apiTls', 'localAddress', 'poolRanges'].some((k) => changed.includes(k));
      const { jobIds } = reprovision ? await provisionChanges(trx, ctx, { serviceIds: ids }, { resyncRouters: [router.id] }) : { jobIds: [] as number[] };
      return { router, changed, affectedServiceIds: ids, jobIds };
    });
  } catch (err) {
    return mapUnique(err);
  }
}

export interface RouterRemoveOptions {
  /** Move every service on the router to this router first. */
  moveTo?: string;
  /** Remove even though ended services still reference it (they are detached). Never removes a router with current services. */
  force?: boolean;
}

export interface RouterRemoveResult {
  router: Router;
  /** Services moved to `moveTo`. */
  movedServiceIds: number[];
  movedTo?: string;
  /** Ended services detached from the router (with --force). */
  detachedServiceIds: number[];
  /** Router work queued for the router the services moved to. */
  jobIds: number[];
}

/**
 * Removes a router. Refused (conflict) while services reference it, unless they are moved to
 * another router (`moveTo`: all of them, current and ended), or every one of them has ended and
 * `force` is given (they are detached: their history stays, without a router). A router with
 * current services is never removed from under them.
 */
export async function removeRouter(ctx: ServiceContext, name: string, opts: RouterRemoveOptions = {}): Promise<RouterRemoveResult> {
  const router = await getRouter(ctx.db, name);
  const target = opts.moveTo === undefined ? undefined : await getRouter(ctx.db, opts.moveTo).catch((err) => {
    if (err instanceof IspctlError && err.code === 'ROUTER_NOT_FOUND') throw errors.routerNotFound(String(opts.moveTo), 'to move the services to');
    throw err;
  });
  if (target && target.id === router.id) throw invalid('INVALID_MOVE_TARGET', 'The services cannot be moved to the router being removed.', ['Name another router with --move-to']);
  return withTransaction(ctx.db, async (trx) => {
    const services: Array<{ id: number; ended_on: string | null; username: string; account_no: string }> = await trx('services as s')
      .join('subscribers as u', 'u.id', 's.subscriber_id')
      .where('s.router_id', router.id)
      .forUpdate()
      .select('s.id', 's.ended_on', 's.username', 'u.account_no');
    const current = services.filter((s) => s.ended_on === null);
    let movedServiceIds: number[] = [];
    let detachedServiceIds: number[] = [];
    if (services.length > 0 && target) {
      movedServiceIds = (
        await trx('services')
          .where({ router_id: router.id })
          .update({ router_id: target.id, revision: trx.raw('revision + 1'), updated_at: ctx.clock.now() })
          .returning('id')
      ).map((r: { id: number }) => Number(r.id));
      await recordAuditMany(
        trx,
        ctx,
        services.map((s) => ({ entityType: 'subscriber', entityId: s.account_no, action: 'move', before: { service: s.username, router: router.name }, after: { service: s.username, router: target.name } })),
      );
    } else if (current.length > 0) {
      throw conflict(
        'ROUTER_IN_USE',
        `Router ${router.name} still has ${current.length} current service${current.length === 1 ? '' : 's'}; removing it would cut them off.`,
        [`Move them first: ispctl router remove ${router.name} --move-to OTHER-ROUTER`, `See them: ispctl subscriber list --router ${router.name}`],
        { services: current.length },
      );
    } else if (services.length > 0) {
      if (!opts.force) {
        throw conflict(
          'ROUTER_IN_USE',
          `Router ${router.name} is still referenced by ${services.length} ended service${services.length === 1 ? '' : 's'} (history).`,
          [`Keep the history and detach them: ispctl router remove ${router.name} --force`, `Or move them: ispctl router remove ${router.name} --move-to OTHER-ROUTER`],
          { endedServices: services.length },
        );
      }
      detachedServiceIds = (
        await trx('services').where({ router_id: router.id }).whereNotNull('ended_on').update({ router_id: null, revision: trx.raw('revision + 1'), updated_at: ctx.clock.now() }).returning('id')
      ).map((r: { id: number }) => Number(r.id));
    }
    const deleted = await trx('routers').where({ id: router.id }).del().returning('id');
    if (deleted.length !== 1) throw errors.changedConcurrently(`Router ${router.name}`);
    await recordAudit(trx, ctx, {
      entityType: 'router',
      entityId: router.id,
      action: 'delete',
      before: auditView(router),
      after: target ? { movedServices: movedServiceIds.length, movedTo: target.name } : detachedServiceIds.length ? { detachedServices: detachedServiceIds.length } : undefined,
    });
    const { jobIds } = movedServiceIds.length ? await provisionChanges(trx, ctx, { serviceIds: movedServiceIds }, { created: movedServiceIds }) : { jobIds: [] as number[] };
    return { router, movedServiceIds, movedTo: target?.name, detachedServiceIds, jobIds };
  });
}

export type RouterSecretKind = 'api' | 'radius';

/**
 * Reveals one of a router's secrets on purpose (`router secret show`); the reveal is audited
 * (which secret, never its value).
 */
export async function revealRouterSecret(ctx: ServiceContext, name: string, which: RouterSecretKind): Promise<{ router: Router; which: RouterSecretKind; secret: string }> {
  const kind = validateChoice(which, ['api', 'radius'] as const, 'secret kind', 'INVALID_SECRET_KIND');
  const { router, apiPassword, radiusSecret } = await decryptRouterSecrets(ctx, name);
  await recordAudit(ctx.db, ctx, { entityType: 'router', entityId: router.id, action: 'reveal-secret', after: { name: router.name, which: kind } });
  return { router, which: kind, secret: kind === 'api' ? apiPassword : radiusSecret };
}

/** Both secrets of a router, decrypted, for provisioning (CoA, the API, FreeRADIUS clients). Not audited; never log them. */
export async function decryptRouterSecrets(ctx: Pick<ServiceContext, 'db' | 'env'>, name: string): Promise<{ router: Router; apiPassword: string; radiusSecret: string }> {
  const row = await ctx.db('routers').whereRaw('lower(name) = lower(?)', [String(name).trim()]).first();
  if (!row) throw routerNotFound(name);
  const key = loadSecretKey(ctx.env);
  return {
    router: toRouter(row),
    apiPassword: decryptSecret(row.api_password_enc, key, 'API password'),
    radiusSecret: decryptSecret(row.radius_secret_enc, key, 'RADIUS secret'),
  };
}

/** Records what a check (or any contact) saw; not an audited change and not a new revision. */
/**
 * What provisioning saw of a router: a successful contact, or the error. Status (online,
 * degraded, offline) is left to the health checks and their consecutive-check thresholds.
 */
export async function recordRouterContact(db: Knex | Knex.Transaction, id: number, contact: { at: Date; error?: string | null }): Promise<void> {
  await db('routers')
    .where({ id })
    .update(contact.error ? { last_error: contact.error } : { last_contact_at: contact.at, last_error: null });
}

/**
 * What a check saw: the status it found (through the router state machine, conditioned on the
 * status the check started `from`) with the error or what the router said of itself. Returns
 * false when nothing was written (the router moved on meanwhile, or the change is not allowed).
 */
export async function recordRouterHealth(
  db: Knex | Knex.Transaction,
  id: number,
  health: { from: RouterStatus; status: RouterStatus; at: Date; error?: string | null; identity?: string; version?: string; board?: string },
): Promise<boolean> {
  const update: Record<string, unknown> = { last_error: health.error ?? null };
  if (health.status === 'online' || health.status === 'degraded') update.last_contact_at = health.at;
  if (health.identity !== undefined) update.identity = health.identity;
  if (health.version !== undefined) update.version = health.version;
  if (health.board !== undefined) update.board = health.board;
  return changeRouterStatus(db, id, { from: health.from, to: health.status, at: health.at, set: update });
}
