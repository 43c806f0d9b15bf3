// Controls over collections beyond its settings: the pause (no one is suspended or written off
// while it holds; restorations, reminders and warnings go on) and the extension of one
// subscriber (promise to pay: collections does not suspend them up to a date, and restores them
// at once if they are billing-suspended). Each change is audited and ends in the ledger's one
// rebalance step, so access follows like for any other change.
import { recordAudit } from '../audit.js';
import type { ServiceContext } from '../context.js';
import { withTransaction, type Db } from '../db/tx.js';
import { rebalance } from '../ledger/rebalance.js';
import { ispToday } from '../settings/service.js';
import { findSubscriberByRef } from '../subscribers/ref.js';
import { formatLocalDate, parseLocalDate } from '../time.js';
import { loadCollectionSettings } from './config.js';
import { loadPause, type CollectionsPause } from './pause-state.js';
import { formatSuspensionCap, suspensionLimit } from './setting-defs.js';
import { errors } from '../error-catalogue.js';

export { loadPause, type CollectionsPause } from './pause-state.js';

/** The reason is optional here; one given is checked like every other reason. */
function cleanReason(reason: string | undefined): string | null {
  return reason?.trim() ? errors.checkReason(reason, 'the pause or extension', 'typhoon, offices closed') : null;
}

export interface PauseResult {
  pause: CollectionsPause;
  /** False when collections was already paused (the first pause is kept). */
  changed: boolean;
}

/** Pauses collections: no suspension or write-off until resumed. Pausing twice keeps the first pause. */
export async function pauseCollections(ctx: ServiceContext, opts: { reason?: string } = {}): Promise<PauseResult> {
  const reason = cleanReason(opts.reason);
  return withTransaction(ctx.db, async (trx) => {
    const inserted = (await trx('collections_pause')
      .insert({ id: true, paused_at: ctx.clock.now(), paused_by: ctx.actor.user, reason })
      .onConflict('id')
      .ignore()
      .returning('id')) as unknown[];
    const pause = (await loadPause(trx))!;
    if (inserted.length) await recordAudit(trx, ctx, { entityType: 'collections', entityId: 'pause', action: 'pause', after: { reason } });
    return { pause, changed: inserted.length > 0 };
  });
}

export interface ResumeResult {
  /** The pause that was lifted, or null when collections was not paused. */
  was: CollectionsPause | null;
}

/** Lifts the pause; the next collections run suspends whoever is past due beyond grace. */
export async function resumeCollections(ctx: ServiceContext): Promise<ResumeResult> {
  return withTransaction(ctx.db, async (trx) => {
    const was = await loadPause(trx);
    if (was) {
      await trx('collections_pause').del();
      await recordAudit(trx, ctx, { entityType: 'collections', entityId: 'pause', action: 'resume', before: { pausedAt: was.pausedAt.toISOString(), pausedBy: was.pausedBy, reason: was.reason } });
    }
    return { was };
  });
}

/** Services one collections run counts the share cap against: not ended, access not blocked. */
export async function activeServiceCount(db: Db): Promise<number> {
  const [row] = (await db('services').whereNull('ended_on').whereNot('access_state', 'blocked').count({ n: '*' })) as Array<{ n: string | number }>;
  return Number(row?.n ?? 0);
}

export interface CollectionsStatus {
  paused: CollectionsPause | null;
  /** The setting as stored (500, 5%, none). */
  maxSuspensions: string;
  /** What it means today: the most services one run may suspend (null: no cap). */
  suspensionLimit: number | null;
  activeServices: number;
  /** Subscribers with an extension (promise to pay) running today or later. */
  extensions: Array<{ subscriberId: number; accountNo: string; fullName: string; until: string; reason: string | null }>;
}

export async function collectionsStatus(ctx: Pick<ServiceContext, 'db' | 'clock'>): Promise<CollectionsStatus> {
  const settings = await loadCollectionSettings(ctx.db);
  const today = await ispToday(ctx.db, ctx.clock.now());
  const active = await activeServiceCount(ctx.db);
  const rows = (await ctx.db('subscribers')
    .where('collections_hold_until', '>=', today)
    .orderBy('collections_hold_until')
    .orderBy('id')
    .select('id', 'account_no', 'full_name', ctx.db.raw('collections_hold_until::text as until'), 'collections_hold_reason')) as Array<{ id: number; account_no: string; full_name: string; until: string; collections_hold_reason: string | null }>;
  return {
    paused: await loadPause(ctx.db),
    maxSuspensions: formatSuspensionCap(settings.maxSuspensions),
    suspensionLimit: suspensionLimit(settings.maxSuspensions, active),
    activeServices: active,
    extensions: rows.map((r) => ({ subscriberId: Number(r.id), accountNo: r.account_no, fullName: r.full_name, until: r.until, reason: r.collections_hold_reason })),
  };
}

export interface ExtendOptions {
  /** Last ISP date of the extension, YYYY-MM-DD (today or later). */
  until: string;
  reason?: string;
}

export interface ExtendResult {
  subscriberId: number;
  accountNo: string;
  fullName: string;
  until: string;
  reason: string | null;
  /** The extension it replaced, if any. */
  before: { until: string; reason: string | null } | null;
  /** True when the subscriber was billing-suspended and is restored now. */
  restored: boolean;
  /** Router work queued (a restoration): apply it after commit. */
  jobIds: number[];
}

/**
 * A promise to pay: collections does not suspend the subscriber up to and including `until`
 * (an ISP date), and a billing-suspended subscriber is restored at once. Admin suspensions are
 * not touched (only `subscriber resume` lifts them).
 */
export async function extendSubscriber(ctx: ServiceContext, ref: string, opts: ExtendOptions): Promise<ExtendResult> {
  const until = formatLocalDate(parseLocalDate(opts.until, '--until'));
  const reason = cleanReason(opts.reason);
  const today = await ispToday(ctx.db, ctx.clock.now());
  if (until < today) {
    throw errors.invalidDate('--until', until, `is in the past (today is ${today} in the ISP's time zone); an extension runs up to a date today or later`, `--until ${today}`);
  }
  return withTransaction(ctx.db, async (trx) => {
    const { subscriberId } = await findSubscriberByRef(trx, ref);
    const row = (await trx('subscribers')
      .where({ id: subscriberId })
      .forUpdate()
      .first('account_no', 'full_name', trx.raw('collections_hold_until::text as until'), 'collections_hold_reason')) as { account_no: string; full_name: string; until: string | null; collections_hold_reason: string | null };
    const before = row.until ? { until: row.until, reason: row.collections_hold_reason } : null;
    await trx('subscribers').where({ id: subscriberId }).update({ collections_hold_until: until, collections_hold_reason: reason });
    await recordAudit(trx, ctx, { entityType: 'subscriber', entityId: row.account_no, action: 'extend', before: before ?? undefined, after: { until, reason } });
    const r = await rebalance(trx, ctx, { subscriberIds: [subscriberId] }, { today });
    return {
      subscriberId,
      accountNo: row.account_no,
      fullName: row.full_name,
      until,
      reason,
      before,
      restored: r.collections.restored.includes(subscriberId),
      jobIds: r.jobIds,
    };
  });
}
