// `ispctl collections run` and `collections events`: the state machine in its own transaction,
// and the record of what it did.
import { reporter, type OnProgress } from '../progress.js';
import type { ServiceContext } from '../context.js';
import { findSubscriberByRef } from '../subscribers/ref.js';
import { withTransaction, type Db } from '../db/tx.js';
import { parseLocalDate } from '../time.js';
import { chargeLateFeesAndWriteOffs } from './late.js';
import { rebalance } from '../ledger/rebalance.js';
import { loadCollectionSettings } from './config.js';
import { activeServiceCount } from './controls.js';
import { evaluateCollections, type CollectionEventKind, type EvaluateResult } from './evaluate.js';
import { loadPause, type CollectionsPause } from './pause-state.js';
import { suspensionLimit } from './setting-defs.js';

export interface RunCollectionsOptions {
  /** Work out what would happen and change nothing. */
  dryRun?: boolean;
  /** Evaluate as of this ISP date (YYYY-MM-DD) instead of today. */
  today?: string;
  /** Account numbers (S-000123) or PPPoE usernames; default everyone. */
  subscribers?: string[];
  /** Which step the run is in (the core never prints). */
  onProgress?: OnProgress;
  /** Suspend however many are due, over the collections-max-suspensions cap (never while paused). */
  force?: boolean;
}

export interface RunCollectionsResult extends EvaluateResult {
  /** The pause in force during the run (nothing suspended or written off), or null. */
  paused: CollectionsPause | null;
}

/** Subscriber ids from account numbers or PPPoE usernames. */
export async function resolveSubscriberRefs(db: Db, refs: string[]): Promise<number[]> {
  const ids: number[] = [];
  for (const ref of refs) ids.push((await findSubscriberByRef(db, ref)).subscriberId);
  return [...new Set(ids)];
}

/**
 * One collections run: reminders, warnings, suspensions and restorations due today, in one
 * transaction (nothing half done), returning the provisioning jobs to run after it.
 */
export async function runCollections(ctx: ServiceContext, opts: RunCollectionsOptions = {}): Promise<RunCollectionsResult> {
  if (opts.today !== undefined) parseLocalDate(opts.today, '--today');
  const subscriberIds = opts.subscribers?.length ? await resolveSubscriberRefs(ctx.db, opts.subscribers) : undefined;
  const progress = reporter(opts.onProgress);
  progress({ phase: 'Settling balances and collections' });
  // The per-run cap, from the setting and the services active now (--force: none).
  const settings = await loadCollectionSettings(ctx.db);
  const maxSuspensions = opts.force ? null : suspensionLimit(settings.maxSuspensions, await activeServiceCount(ctx.db));
  const paused = await loadPause(ctx.db);
  if (opts.dryRun) return { ...(await evaluateCollections(ctx.db, ctx, { subscriberIds, today: opts.today, dryRun: true, maxSuspensions })), paused };
  // The ledger step first (credit allocated, statuses such as overdue brought up to date), then
  // collections on the result: one rebalance of everyone (or the subscribers named).
  // Then the late fees and write-offs of what is still unpaid (src/core/collections/late.ts),
  // unless collections is paused.
  return withTransaction(ctx.db, async (trx) => {
    const r = await rebalance(trx, ctx, subscriberIds ? { subscriberIds } : { all: true }, { ...(opts.today ? { today: opts.today } : {}), maxSuspensions });
    if (paused) return { ...r.collections, paused };
    progress({ phase: 'Late fees and write-offs' });
    const late = await chargeLateFeesAndWriteOffs(trx, ctx, { today: r.today, subscriberIds });
    return late.jobIds.length ? { ...r.collections, jobIds: [...r.collections.jobIds, ...late.jobIds], paused } : { ...r.collections, paused };
  });
}

export interface CollectionEvent {
  id: number;
  subscriberId: number;
  accountNo: string;
  fullName: string;
  invoiceId: number | null;
  invoiceNumber: string | null;
  kind: CollectionEventKind | 'receipt';
  eventKey: string;
  fromStatus: string | null;
  toStatus: string | null;
  reason: string | null;
  occurredAt: Date;
}

export interface CollectionEventFilter {
  subscriberId?: number;
  kind?: string;
  since?: Date;
  limit?: number;
}

interface CollectionEventRow {
  id: bigint;
  subscriber_id: number;
  account_no: string;
  full_name: string;
  invoice_id: bigint | null;
  invoice_number: string | null;
  kind: CollectionEvent['kind'];
  event_key: string;
  from_status: string | null;
  to_status: string | null;
  reason: string | null;
  occurred_at: Date;
}

export async function listCollectionEvents(db: Db, filter: CollectionEventFilter = {}): Promise<CollectionEvent[]> {
  const q = db('collection_events as e')
    .join('subscribers as s', 's.id', 'e.subscriber_id')
    .leftJoin('invoices as i', 'i.id', 'e.invoice_id')
    .select('e.*', 's.account_no', 's.full_name', 'i.number as invoice_number')
    .orderBy('e.id', 'desc')
    .limit(filter.limit ?? 50);
  if (filter.subscriberId !== undefined) q.where('e.subscriber_id', filter.subscriberId);
  if (filter.kind) q.where('e.kind', filter.kind);
  if (filter.since) q.where('e.occurred_at', '>=', filter.since);
  const rows = (await q) as CollectionEventRow[];
  return rows.map((r) => ({
    id: Number(r.id),
    subscriberId: r.subscriber_id,
    accountNo: r.account_no,
    fullName: r.full_name,
    invoiceId: r.invoice_id === null ? null : Number(r.invoice_id),
    invoiceNumber: r.invoice_number,
    kind: r.kind,
    eventKey: r.event_key,
    fromStatus: r.from_status,
    toStatus: r.to_status,
    reason: r.reason,
    occurredAt: r.occurred_at,
  }));
}
