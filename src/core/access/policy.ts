// The access policy: the ONE place that decides what the network lets a service do. Pure: no
// database, no clock, no I/O. Everything else (RADIUS views, API provisioning, reconcile, the
// dashboard, `subscriber list --state`) asks this function.

import { mikrotikRateLimit, type RateLimitBurst } from '../speed.js';

export const ADMIN_STATUSES = ['active', 'suspended'] as const;
export type AdminStatus = (typeof ADMIN_STATUSES)[number];

/**
 * Where collections stand with a service. Billing moves it; only `suspended` and `uncollectible`
 * affect access.
 */
export const COLLECTION_STATUSES = ['current', 'reminded', 'warned', 'suspended', 'restored', 'uncollectible'] as const;
export type CollectionStatus = (typeof COLLECTION_STATUSES)[number];

/**
 * The collection status state machine: for each status, the statuses a service may reach it
 * from. Collections moves a service between the first five as its invoices age and are paid
 * (restored only after a suspension); writing off (`uncollectible`) takes a suspended service,
 * and nothing leaves it automatically. The one writer, changeCollectionStatuses in
 * provisioning/access.ts, refuses any other change.
 */
export const COLLECTION_TRANSITIONS: Readonly<Record<CollectionStatus, readonly CollectionStatus[]>> = {
  current: ['reminded', 'warned', 'suspended', 'restored'],
  reminded: ['current', 'restored'],
  warned: ['current', 'reminded', 'restored'],
  suspended: ['current', 'reminded', 'warned', 'restored'],
  restored: ['suspended'],
  uncollectible: ['suspended'],
};

/** Whether a service may go from `from` to `to` (never to the status it has). */
export function collectionTransitionAllowed(from: CollectionStatus, to: CollectionStatus): boolean {
  return COLLECTION_TRANSITIONS[to]?.includes(from) ?? false;
}

export const SUSPENSION_ACTIONS = ['block', 'throttle'] as const;
export type SuspensionAction = (typeof SUSPENSION_ACTIONS)[number];

export const ACCESS_STATES = ['active', 'throttled', 'blocked'] as const;
export type AccessState = (typeof ACCESS_STATES)[number];

/** Why a service has the access it has; stable codes for scripts. */
export type AccessReason = 'ok' | 'ended' | 'admin_suspended' | 'uncollectible' | 'billing_suspended';

/** What the policy needs of a plan. Nullable fields fall back to the settings. */
export interface PlanAccess {
  downloadKbps: number;
  uploadKbps: number;
  burst?: RateLimitBurst | null;
  throttleDownloadKbps?: number | null;
  throttleUploadKbps?: number | null;
  suspensionAction?: SuspensionAction | null;
}

/** ISP-wide fallbacks (settings `throttle-download`, `throttle-upload`, `suspension-action`). */
export interface AccessSettings {
  throttleDownloadKbps: number;
  throttleUploadKbps: number;
  suspensionAction: SuspensionAction;
}

export interface AccessInput {
  adminStatus: AdminStatus;
  collectionStatus: CollectionStatus;
  /** The service has ended (`ended_on` is set: `subscriber remove`). */
  ended?: boolean;
  plan: PlanAccess;
  settings: AccessSettings;
}

export interface DesiredAccess {
  state: AccessState;
  reason: AccessReason;
  /** One sentence for people. */
  detail: string;
  /** Speeds and the MikroTik rate limit, for `active` and `throttled` only. */
  downloadKbps?: number;
  uploadKbps?: number;
  rateLimit?: string;
}

/**
 * The desired access of one service. In order of precedence:
 * 1. ended → blocked;
 * 2. admin suspension (`subscriber suspend`) → blocked, whatever billing says;
 * 3. collections `uncollectible` (written off) → blocked;
 * 4. collections `suspended` (unpaid) → the plan's suspension action, else the setting's:
 *    `block` → blocked, `throttle` → throttled at the plan's throttle speed, else the setting's,
 *    never faster than the plan itself, without burst;
 * 5. otherwise (`current`, `reminded`, `warned`, `restored`) → active at the plan's speed and burst.
 * @throws RangeError on a status this version does not know (never guesses)
 */
export function desiredAccess(input: AccessInput): DesiredAccess {
  const { adminStatus, collectionStatus, plan, settings } = input;
  if (!(ADMIN_STATUSES as readonly string[]).includes(adminStatus)) throw new RangeError(`unknown admin status ${JSON.stringify(adminStatus)}`);
  if (!(COLLECTION_STATUSES as readonly string[]).includes(collectionStatus)) throw new RangeError(`unknown collection status ${JSON.stringify(collectionStatus)}`);

  if (input.ended) return { state: 'blocked', reason: 'ended', detail: 'The service has ended.' };
  if (adminStatus === 'suspended') return { state: 'blocked', reason: 'admin_suspended', detail: 'Suspended by an administrator.' };
  if (collectionStatus === 'uncollectible') return { state: 'blocked', reason: 'uncollectible', detail: 'The account was written off as uncollectible.' };

  if (collectionStatus === 'suspended') {
    const action = plan.suspensionAction ?? settings.suspensionAction;
    if (!(SUSPENSION_ACTIONS as readonly string[]).includes(action)) throw new RangeError(`unknown suspension action ${JSON.stringify(action)}`);
    if (action === 'block') return { state: 'blocked', reason: 'billing_suspended', detail: 'Suspended for non-payment.' };
    const downloadKbps = Math.min(plan.throttleDownloadKbps ?? settings.throttleDownloadKbps, plan.downloadKbps);
    const uploadKbps = Math.min(plan.throttleUploadKbps ?? settings.throttleUploadKbps, plan.uploadKbps);
    return {
      state: 'throttled',
      reason: 'billing_suspended',
      detail: 'Throttled for non-payment.',
      downloadKbps,
      uploadKbps,
      rateLimit: mikrotikRateLimit({ downloadKbps, uploadKbps }),
    };
  }

  return {
    state: 'active',
    reason: 'ok',
    detail: 'Active at the plan speed.',
    downloadKbps: plan.downloadKbps,
    uploadKbps: plan.uploadKbps,
    rateLimit: mikrotikRateLimit({ downloadKbps: plan.downloadKbps, uploadKbps: plan.uploadKbps, burst: plan.burst ?? null }),
  };
}

/**
 * Whether a service with this end date has ended on `today` (both `YYYY-MM-DD`). ispctl never
 * writes a future end date (`subscriber remove` ends a service today), so this agrees with
 * "ended_on is set", which the list and the constraints use.
 */
export function hasEnded(endedOn: string | null | undefined, today: string): boolean {
  return endedOn !== null && endedOn !== undefined && endedOn <= today;
}
