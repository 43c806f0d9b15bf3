// Plans: what subscribers buy. Prices in minor units of the ISP currency, speeds in kbit/s.
// Plans are archived, never deleted, so invoices and past services keep their references.

import { errors } from '../error-catalogue.js';
import { recordAudit } from '../audit.js';
import { SUSPENSION_ACTIONS, type SuspensionAction } from '../access/policy.js';
import type { ServiceContext } from '../context.js';
import { isUniqueViolation } from '../db/errors.js';
import type { PlanRow, PrefixedPlanRow } from '../db/rows.js';
import { big as toBig } from '../db/sql.js';
import { withTransaction, type Db } from '../db/tx.js';
import { provisionChanges } from '../provisioning/access.js';
import { conflict, invalid, IspctlError } from '../errors.js';
import { parseMoney, toDecimalString } from '../money.js';
import { loadIspSettings } from '../settings/service.js';
import { assertRouterAddressing, checkOwnAddressing, planPoolName, validateLocalAddress, validatePoolRanges } from '../routers/pools.js';
import { formatSpeed, mikrotikRateLimit, parseSpeed, type RateLimitBurst } from '../speed.js';

export const BILLING_TYPES = ['postpaid', 'prepaid'] as const;
export type BillingType = (typeof BILLING_TYPES)[number];

/** Burst defaults when only the burst rates are given: threshold 3/4 of the rate, 8 seconds. */
export const DEFAULT_BURST_TIME_SECONDS = 8;

export interface Plan {
  id: number;
  name: string;
  priceMinor: bigint;
  currency: string;
  /** Decimal string of the price, e.g. `1500.00`. */
  price: string;
  downloadKbps: number;
  uploadKbps: number;
  /** `50M` etc., for people. */
  download: string;
  upload: string;
  billingType: BillingType;
  burst: RateLimitBurst | null;
  throttleDownloadKbps: number | null;
  throttleUploadKbps: number | null;
  suspensionAction: SuspensionAction | null;
  /** MikroTik rate limit at full speed (upload/download order). */
  rateLimit: string;
  /** PPP profile local-address; null = the router's. */
  localAddress: string | null;
  /** Remote address pool (canonical ranges); null = the router's default pool. */
  poolRanges: string | null;
  /** Name of the pool on routers (`ispctl-pool-<id>`), when the plan has one. */
  poolName: string | null;
  archivedAt: Date | null;
  revision: number;
  createdAt: Date;
  updatedAt: Date;
}

export interface PlanSummary extends Plan {
  /** Services on the plan that have not ended. */
  serviceCount: number;
}

/** What people type; speeds like `50M`, prices like `1,500.00`. */
export interface PlanInput {
  name: string;
  price: string;
  download: string;
  upload: string;
  billingType?: string;
  burstDownload?: string;
  burstUpload?: string;
  burstThresholdDownload?: string;
  burstThresholdUpload?: string;
  /** Seconds, `8` or `8s`. */
  burstTime?: string;
  throttleDownload?: string;
  throttleUpload?: string;
  suspensionAction?: string;
  /** PPP profile local-address (IPv4). */
  localAddress?: string;
  /** Remote address pool: `10.10.0.2-10.10.3.254`, several comma-separated, or a prefix. */
  pool?: string;
}

/**
 * Changes to a plan. For throttle speeds and the suspension action, `default` (or null) goes
 * back to the setting. `clearBurst` removes the burst.
 */
export interface PlanChanges extends Partial<Omit<PlanInput, 'throttleDownload' | 'throttleUpload' | 'suspensionAction' | 'localAddress' | 'pool'>> {
  /** null, '' or `default`: back to the router's. */
  localAddress?: string | null;
  pool?: string | null;
  throttleDownload?: string | null;
  throttleUpload?: string | null;
  suspensionAction?: string | null;
  clearBurst?: boolean;
}

function n(v: number | null | undefined): number | null {
  return v === null || v === undefined ? null : Number(v);
}

export function toPlan(r: PlanRow): Plan {
  const burst: RateLimitBurst | null =
    r.burst_download_kbps === null || r.burst_download_kbps === undefined
      ? null
      : {
          downloadKbps: Number(r.burst_download_kbps),
          uploadKbps: Number(r.burst_upload_kbps),
          thresholdDownloadKbps: Number(r.burst_threshold_download_kbps),
          thresholdUploadKbps: Number(r.burst_threshold_upload_kbps),
          timeSeconds: Number(r.burst_time_seconds),
        };
  const downloadKbps = Number(r.download_kbps);
  const uploadKbps = Number(r.upload_kbps);
  const priceMinor = toBig(r.price_minor);
  const currency = r.currency;
  return {
    id: Number(r.id),
    name: r.name,
    priceMinor,
    currency,
    price: toDecimalString(priceMinor, currency),
    downloadKbps,
    uploadKbps,
    download: formatSpeed(downloadKbps),
    upload: formatSpeed(uploadKbps),
    billingType: r.billing_type,
    burst,
    throttleDownloadKbps: n(r.throttle_download_kbps),
    throttleUploadKbps: n(r.throttle_upload_kbps),
    suspensionAction: r.suspension_action ?? null,
    rateLimit: mikrotikRateLimit({ downloadKbps, uploadKbps, burst }),
    localAddress: r.local_address ?? null,
    poolRanges: r.pool_ranges ?? null,
    poolName: r.pool_ranges ? planPoolName(Number(r.id)) : null,
    archivedAt: r.archived_at ?? null,
    revision: Number(r.revision),
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}

/** Every column of `plans`, for selecting a plan next to other tables' columns. */
export const PLAN_COLUMNS: ReadonlyArray<keyof PlanRow> = [
  'id', 'name', 'price_minor', 'currency', 'download_kbps', 'upload_kbps', 'billing_type',
  'burst_download_kbps', 'burst_upload_kbps', 'burst_threshold_download_kbps', 'burst_threshold_upload_kbps', 'burst_time_seconds',
  'throttle_download_kbps', 'throttle_upload_kbps', 'suspension_action', 'local_address', 'pool_ranges', 'archived_at', 'revision', 'created_at', 'updated_at',
];

/** `p.name as plan_name`, …: select a plan joined as `alias` with prefixed names, read back with {@link toPlanPrefixed}. */
export function planSelect(alias = 'p'): string[] {
  return PLAN_COLUMNS.map((c) => `${alias}.${c} as plan_${c}`);
}

/** A plan selected with {@link planSelect} beside another table's columns. */
export function toPlanPrefixed(row: PrefixedPlanRow): Plan {
  return toPlan({
    id: row.plan_id,
    name: row.plan_name,
    price_minor: row.plan_price_minor,
    currency: row.plan_currency,
    download_kbps: row.plan_download_kbps,
    upload_kbps: row.plan_upload_kbps,
    billing_type: row.plan_billing_type,
    burst_download_kbps: row.plan_burst_download_kbps,
    burst_upload_kbps: row.plan_burst_upload_kbps,
    burst_threshold_download_kbps: row.plan_burst_threshold_download_kbps,
    burst_threshold_upload_kbps: row.plan_burst_threshold_upload_kbps,
    burst_time_seconds: row.plan_burst_time_seconds,
    throttle_download_kbps: row.plan_throttle_download_kbps,
    throttle_upload_kbps: row.plan_throttle_upload_kbps,
    suspension_action: row.plan_suspension_action,
    archived_at: row.plan_archived_at,
    revision: row.plan_revision,
    created_at: row.plan_created_at,
    updated_at: row.plan_updated_at,
    local_address: row.plan_local_address,
    pool_ranges: row.plan_pool_ranges,
  });
}

/** The fields of a plan the audit log records. */
function auditView(p: Plan): Record<string, unknown> {
  return {
    name: p.name,
    price: p.price,
    currency: p.currency,
    download: p.download,
    upload: p.upload,
    billingType: p.billingType,
    burst: p.burst,
    throttleDownloadKbps: p.throttleDownloadKbps,
    throttleUploadKbps: p.throttleUploadKbps,
    suspensionAction: p.suspensionAction,
    localAddress: p.localAddress,
    poolRanges: p.poolRanges,
    archivedAt: p.archivedAt,
  };
}

export function validatePlanName(input: string, field = 'plan name'): string {
  const s = String(input ?? '').trim();
  // eslint-disable-next-line no-control-regex
  if (s === '' || s.length > 64 || /[\u0000-\u001f\u007f]/.test(s)) {
    const why = s === '' ? 'is empty' : s.length > 64 ? 'is longer than 64 characters' : 'contains control characters';
    throw invalid('INVALID_PLAN_NAME', `The ${field} ${JSON.stringify(String(input ?? ''))} ${why}.`, ['Use a short name such as "Fiber 50" or home-25'], { field, input });
  }
  return s;
}

export function planNotFound(name: string): IspctlError {
  return errors.planNotFound(name);
}

/** The plan with this name (ignoring case), archived or not, or PLAN_NOT_FOUND (exit 4). */
export async function getPlan(db: Db, name: string): Promise<Plan> {
  const row = await db('plans').whereRaw('lower(name) = lower(?)', [String(name).trim()]).first();
  if (!row) throw planNotFound(name);
  return toPlan(row);
}

/** Plans by name with their number of current services; archived ones only when asked. One query. */
export async function listPlans(db: Db, opts: { includeArchived?: boolean } = {}): Promise<PlanSummary[]> {
  const q = db('plans as p')
    .leftJoin('services as s', function () {
      this.on('s.plan_id', 'p.id').andOnNull('s.ended_on');
    })
    .groupBy('p.id')
    .orderByRaw('p.archived_at is not null, lower(p.name)')
    .select('p.*', db.raw('count(s.id)::int as service_count'));
  if (!opts.includeArchived) q.whereNull('p.archived_at');
  const rows = await q;
  return rows.map((r: PlanRow & { service_count: number }) => ({ ...toPlan(r), serviceCount: Number(r.service_count) }));
}

export async function showPlan(db: Db, name: string): Promise<PlanSummary> {
  const plan = await getPlan(db, name);
  const [{ c }] = await db('services').where({ plan_id: plan.id }).whereNull('ended_on').count<{ c: number }[]>({ c: '*' });
  return { ...plan, serviceCount: Number(c) };
}

function parseBurstTime(input: string): number {
  const s = String(input).trim();
  const m = /^([0-9]{1,4})\s*s?$/.exec(s);
  const v = m ? Number(m[1]) : NaN;
  if (!Number.isInteger(v) || v < 1 || v > 3600) {
    throw invalid('INVALID_BURST_TIME', `The burst time ${JSON.stringify(input)} is not a whole number of seconds from 1 to 3600.`, ['e.g. --burst-time 8 (seconds)'], { field: 'burst time', input });
  }
  return v;
}

/** The row fields that decide access (a change to any of them must reach the routers). */
const ACCESS_FIELDS = ['downloadKbps', 'uploadKbps', 'burst', 'throttleDownloadKbps', 'throttleUploadKbps', 'suspensionAction'] as const;

interface PlanValues {
  name: string;
  priceMinor: bigint;
  downloadKbps: number;
  uploadKbps: number;
  billingType: BillingType;
  burst: RateLimitBurst | null;
  throttleDownloadKbps: number | null;
  throttleUploadKbps: number | null;
  suspensionAction: SuspensionAction | null;
  localAddress: string | null;
  poolRanges: string | null;
}

/** The fields that decide what the plan's PPP profiles address (API: profile jobs; RADIUS: triggers). */
const ADDRESSING_FIELDS = ['localAddress', 'poolRanges'] as const;

function choice<T extends string>(input: string, values: readonly T[], field: string, code: string): T {
  const s = String(input).trim().toLowerCase();
  if (!(values as readonly string[]).includes(s)) {
    throw invalid(code, `The ${field} ${JSON.stringify(input)} is not one of ${values.join(', ')}.`, [`Use one of: ${values.join(', ')}`], { field, input });
  }
  return s as T;
}

const isDefault = (v: string | null | undefined) => v === null || (typeof v === 'string' && ['default', 'none', ''].includes(v.trim().toLowerCase()));

/**
 * Burst from the given fields, on top of `current`. Rates are required together; thresholds
 * default to 3/4 of the plan speed and the time to 8 s.
 */
function resolveBurst(v: { downloadKbps: number; uploadKbps: number }, given: Pick<Partial<PlanInput>, 'burstDownload' | 'burstUpload' | 'burstThresholdDownload' | 'burstThresholdUpload' | 'burstTime'>, current: RateLimitBurst | null): RateLimitBurst | null {
  const any = [given.burstDownload, given.burstUpload, given.burstThresholdDownload, given.burstThresholdUpload, given.burstTime].some((x) => x !== undefined);
  if (!any && !current) return null;
  const dl = given.burstDownload !== undefined ? parseSpeed(given.burstDownload, { field: 'burst download' }) : current?.downloadKbps;
  const ul = given.burstUpload !== undefined ? parseSpeed(given.burstUpload, { field: 'burst upload' }) : current?.uploadKbps;
  if (dl === undefined || ul === undefined) {
    throw invalid('INCOMPLETE_BURST', 'A burst needs both rates: --burst-download and --burst-upload.', ['e.g. --burst-download 100M --burst-upload 20M (thresholds default to 3/4 of the plan speed, time to 8 s)']);
  }
  const burst: RateLimitBurst = {
    downloadKbps: dl,
    uploadKbps: ul,
    thresholdDownloadKbps:
      given.burstThresholdDownload !== undefined ? parseSpeed(given.burstThresholdDownload, { field: 'burst threshold download' }) : current?.thresholdDownloadKbps ?? Math.max(1, Math.floor((v.downloadKbps * 3) / 4)),
    thresholdUploadKbps:
      given.burstThresholdUpload !== undefined ? parseSpeed(given.burstThresholdUpload, { field: 'burst threshold upload' }) : current?.thresholdUploadKbps ?? Math.max(1, Math.floor((v.uploadKbps * 3) / 4)),
    timeSeconds: given.burstTime !== undefined ? parseBurstTime(given.burstTime) : current?.timeSeconds ?? DEFAULT_BURST_TIME_SECONDS,
  };
  return burst;
}

/** Checks a whole plan row: burst against the speeds, throttle in pairs. */
function checkPlanValues(v: PlanValues): void {
  const b = v.burst;
  if (b) {
    if (b.downloadKbps <= v.downloadKbps || b.uploadKbps <= v.uploadKbps) {
      throw invalid('INVALID_BURST', `The burst rates (${formatSpeed(b.downloadKbps)} down, ${formatSpeed(b.uploadKbps)} up) must be faster than the plan speeds (${formatSpeed(v.downloadKbps)} down, ${formatSpeed(v.uploadKbps)} up).`, [
        'Raise the burst rates, or remove the burst with --no-burst',
      ]);
    }
    if (b.thresholdDownloadKbps > v.downloadKbps || b.thresholdUploadKbps > v.uploadKbps) {
      throw invalid('INVALID_BURST', `The burst thresholds (${formatSpeed(b.thresholdDownloadKbps)} down, ${formatSpeed(b.thresholdUploadKbps)} up) must not exceed the plan speeds (${formatSpeed(v.downloadKbps)} down, ${formatSpeed(v.uploadKbps)} up).`, [
        'A threshold of about 3/4 of the plan speed is usual; leave them out for that default',
      ]);
    }
  }
}

/** Creates a plan in the ISP currency (copied from the settings). */
export async function createPlan(ctx: ServiceContext, input: PlanInput): Promise<Plan> {
  const settings = await loadIspSettings(ctx.db);
  const name = validatePlanName(input.name);
  const speeds = { downloadKbps: parseSpeed(input.download, { field: 'download speed' }), uploadKbps: parseSpeed(input.upload, { field: 'upload speed' }) };
  const values: PlanValues = {
    name,
    priceMinor: parseMoney(input.price, settings.currency, { field: 'price' }),
    ...speeds,
    billingType: input.billingType === undefined ? 'postpaid' : choice(input.billingType, BILLING_TYPES, 'billing type', 'INVALID_BILLING_TYPE'),
    burst: resolveBurst(speeds, input, null),
    throttleDownloadKbps: input.throttleDownload === undefined || isDefault(input.throttleDownload) ? null : parseSpeed(input.throttleDownload, { field: 'throttle download speed' }),
    throttleUploadKbps: input.throttleUpload === undefined || isDefault(input.throttleUpload) ? null : parseSpeed(input.throttleUpload, { field: 'throttle upload speed' }),
    suspensionAction: input.suspensionAction === undefined || isDefault(input.suspensionAction) ? null : choice(input.suspensionAction, SUSPENSION_ACTIONS, 'suspension action', 'INVALID_SUSPENSION_ACTION'),
    localAddress: input.localAddress === undefined || isDefault(input.localAddress) ? null : validateLocalAddress(input.localAddress),
    poolRanges: input.pool === undefined || isDefault(input.pool) ? null : validatePoolRanges(input.pool, 'pool'),
  };
  checkPlanValues(values);
  checkOwnAddressing(`plan ${JSON.stringify(name)}`, values.localAddress, values.poolRanges);
  const existing = await ctx.db('plans').whereRaw('lower(name) = lower(?)', [name]).first('name', 'archived_at');
  if (existing) throw planExists(existing.name, existing.archived_at !== null);
  const now = ctx.clock.now();
  try {
    return await withTransaction(ctx.db, async (trx) => {
      const [row] = await trx('plans')
        .insert({ ...toColumns(values), currency: settings.currency, created_at: now, updated_at: now })
        .returning('*');
      const plan = toPlan(row);
      await recordAudit(trx, ctx, { entityType: 'plan', entityId: plan.id, action: 'create', after: auditView(plan) });
      return plan;
    });
  } catch (err) {
    if (isUniqueViolation(err, 'plans_name_lower_key')) throw planExists(name, false);
    throw err;
  }
}

function planExists(name: string, archived: boolean): IspctlError {
  return conflict('PLAN_EXISTS', `A plan called ${JSON.stringify(name)} already exists${archived ? ' (archived)' : ''}.`, [
    archived ? 'Archived plans keep their names so old invoices stay clear; choose another name' : `ispctl plan show ${JSON.stringify(name)}`,
    'Choose another name',
  ]);
}

function toColumns(v: PlanValues): Record<string, unknown> {
  return {
    name: v.name,
    price_minor: v.priceMinor,
    download_kbps: v.downloadKbps,
    upload_kbps: v.uploadKbps,
    billing_type: v.billingType,
    burst_download_kbps: v.burst?.downloadKbps ?? null,
    burst_upload_kbps: v.burst?.uploadKbps ?? null,
    burst_threshold_download_kbps: v.burst?.thresholdDownloadKbps ?? null,
    burst_threshold_upload_kbps: v.burst?.thresholdUploadKbps ?? null,
    burst_time_seconds: v.burst?.timeSeconds ?? null,
    throttle_download_kbps: v.throttleDownloadKbps,
    throttle_upload_kbps: v.throttleUploadKbps,
    suspension_action: v.suspensionAction,
    local_address: v.localAddress,
    pool_ranges: v.poolRanges,
  };
}

export interface PlanEditResult {
  plan: Plan;
  changed: string[];
  /** True when speeds, burst, throttle or suspension action changed. */
  accessChanged: boolean;
  /**
   * Current services on the plan whose desired access may have changed; the provisioning layer
   * brings their routers in line. Empty when only the name, price or billing type changed.
   */
  affectedServiceIds: number[];
  /** Router work queued by the change. */
  jobIds: number[];
}

/**
 * Changes a plan. Price changes apply to invoices from now on; speed changes to every current
 * service on the plan (returned in affectedServiceIds for provisioning). Conditioned on the
 * revision read, so two concurrent edits cannot silently overwrite each other.
 */
export async function editPlan(ctx: ServiceContext, name: string, changes: PlanChanges): Promise<PlanEditResult> {
  const current = await getPlan(ctx.db, name);
  const next: PlanValues = {
    name: changes.name !== undefined ? validatePlanName(changes.name, 'new name') : current.name,
    priceMinor: changes.price !== undefined ? parseMoney(changes.price, current.currency, { field: 'price' }) : current.priceMinor,
    downloadKbps: changes.download !== undefined ? parseSpeed(changes.download, { field: 'download speed' }) : current.downloadKbps,
    uploadKbps: changes.upload !== undefined ? parseSpeed(changes.upload, { field: 'upload speed' }) : current.uploadKbps,
    billingType: changes.billingType !== undefined ? choice(changes.billingType, BILLING_TYPES, 'billing type', 'INVALID_BILLING_TYPE') : current.billingType,
    burst: null,
    throttleDownloadKbps:
      changes.throttleDownload === undefined ? current.throttleDownloadKbps : isDefault(changes.throttleDownload) ? null : parseSpeed(changes.throttleDownload!, { field: 'throttle download speed' }),
    throttleUploadKbps:
      changes.throttleUpload === undefined ? current.throttleUploadKbps : isDefault(changes.throttleUpload) ? null : parseSpeed(changes.throttleUpload!, { field: 'throttle upload speed' }),
    suspensionAction:
      changes.suspensionAction === undefined
        ? current.suspensionAction
        : isDefault(changes.suspensionAction)
          ? null
          : choice(changes.suspensionAction!, SUSPENSION_ACTIONS, 'suspension action', 'INVALID_SUSPENSION_ACTION'),
    localAddress: changes.localAddress === undefined ? current.localAddress : isDefault(changes.localAddress) ? null : validateLocalAddress(changes.localAddress!),
    poolRanges: changes.pool === undefined ? current.poolRanges : isDefault(changes.pool) ? null : validatePoolRanges(changes.pool!, 'pool'),
  };
  const burstGiven = [changes.burstDownload, changes.burstUpload, changes.burstThresholdDownload, changes.burstThresholdUpload, changes.burstTime].some((x) => x !== undefined);
  if (changes.clearBurst && burstGiven) throw errors.conflictingFlags('Remove the burst or change it, not both.', '--no-burst, or --burst-download … --burst-upload …');
  next.burst = changes.clearBurst ? null : resolveBurst(next, changes, current.burst);
  checkPlanValues(next);
  checkOwnAddressing(`plan ${JSON.stringify(next.name)}`, next.localAddress, next.poolRanges);

  const currentValues: Record<string, unknown> = { ...current };
  const nextValues: Record<string, unknown> = { ...next };
  const changed = (Object.keys(next) as Array<keyof PlanValues>).filter((k) => JSON.stringify(currentValues[k], big) !== JSON.stringify(nextValues[k], big));
  if (changed.length === 0) return { plan: current, changed: [], accessChanged: false, affectedServiceIds: [], jobIds: [] };
  const accessChanged = changed.some((k) => (ACCESS_FIELDS as readonly string[]).includes(k));
  const addressingChanged = changed.some((k) => (ADDRESSING_FIELDS as readonly string[]).includes(k));
  if (next.name.toLowerCase() !== current.name.toLowerCase()) {
    const clash = await ctx.db('plans').whereRaw('lower(name) = lower(?)', [next.name]).first('name', 'archived_at');
    if (clash) throw planExists(clash.name, clash.archived_at !== null);
  }
  try {
    return await withTransaction(ctx.db, async (trx) => {
      const [row] = await trx('plans')
        .where({ id: current.id, revision: current.revision })
        .update({ ...toColumns(next), revision: trx.raw('revision + 1'), updated_at: ctx.clock.now() })
        .returning('*');
      if (!row) throw errors.changedConcurrently(`Plan ${current.name}`);
      const plan = toPlan(row);
      await recordAudit(trx, ctx, { entityType: 'plan', entityId: plan.id, action: 'update', before: auditView(current), after: auditView(plan) });
      if (addressingChanged) {
        // The plan's pool now counts on every router it is used on.
        const routerIds = (await trx('services').where({ plan_id: plan.id }).whereNull('ended_on').whereNotNull('router_id').distinct('router_id').pluck('router_id')).map(Number);
        await assertRouterAddressing(trx, routerIds);
      }
      const affected = accessChanged || addressingChanged ? (await trx('services').where({ plan_id: plan.id }).whereNull('ended_on').orderBy('id').pluck('id')).map(Number) : [];
      const { jobIds } =
        accessChanged || addressingChanged
          ? await provisionChanges(trx, ctx, { planIds: [plan.id] }, { ...(accessChanged ? { plansChanged: [plan.id] } : {}), ...(addressingChanged ? { addressingChanged: [plan.id] } : {}) })
          : { jobIds: [] };
      return { plan, changed, accessChanged, affectedServiceIds: affected, jobIds };
    });
  } catch (err) {
    if (isUniqueViolation(err, 'plans_name_lower_key')) throw planExists(next.name, false);
    throw err;
  }
}

function big(_k: string, v: unknown): unknown {
  return typeof v === 'bigint' ? v.toString() : v;
}

export interface PlanArchiveResult {
  plan: Plan;
  /** Current services still on the plan; they keep it (and its price) until moved. */
  currentServices: number;
  alreadyArchived: boolean;
}

/**
 * Archives a plan: it can no longer be chosen for new or changed services. Refused (conflict)
 * while current services use it, unless `force`: then they keep the archived plan, at its
 * price and speed, until moved to another plan.
 */
export async function archivePlan(ctx: ServiceContext, name: string, opts: { force?: boolean } = {}): Promise<PlanArchiveResult> {
  const plan = await getPlan(ctx.db, name);
  if (plan.archivedAt) return { plan, currentServices: 0, alreadyArchived: true };
  return withTransaction(ctx.db, async (trx) => {
    const [{ c }] = await trx('services').where({ plan_id: plan.id }).whereNull('ended_on').count<{ c: number }[]>({ c: '*' });
    const currentServices = Number(c);
    if (currentServices > 0 && !opts.force) {
      throw conflict(
        'PLAN_IN_USE',
        `Plan ${JSON.stringify(plan.name)} still has ${currentServices} current service${currentServices === 1 ? '' : 's'}.`,
        [`Move them to another plan first (ispctl subscriber list --plan ${JSON.stringify(plan.name)})`, `Or archive it anyway and let them keep it: ispctl plan archive ${JSON.stringify(plan.name)} --force`],
        { services: currentServices },
      );
    }
    const [row] = await trx('plans')
      .where({ id: plan.id })
      .whereNull('archived_at')
      .update({ archived_at: ctx.clock.now(), revision: trx.raw('revision + 1'), updated_at: ctx.clock.now() })
      .returning('*');
    if (!row) throw errors.changedConcurrently(`Plan ${plan.name}`);
    const archived = toPlan(row);
    await recordAudit(trx, ctx, { entityType: 'plan', entityId: plan.id, action: 'archive', before: { archivedAt: null }, after: { archivedAt: archived.archivedAt, currentServices } });
    return { plan: archived, currentServices, alreadyArchived: false };
  });
}
