// `ispctl collections run` and `collections events`: the state machine over everyone, in chunks
// of subscribers, and the record of what it did.
//
// A run walks the subscribers in id order (keyset: `id > last`, so memory stays bounded at any
// size) in chunks of RUN_CHUNK. Each chunk is its own transaction: it locks its subscribers (in
// id order, as payments do), rebalances them (the ledger step, then collections and the access
// changes with their router jobs), charges late fees and writes off, and commits. A payment
// waits for at most the one chunk holding its subscriber, never for the whole run; a payment
// for a subscriber the run has not reached yet is simply seen by the run when it gets there.
// A run killed part way leaves every chunk either committed whole (its suspensions with their
// router jobs queued) or not at all, and the next run picks up whatever is still due. A dry run
// reads the same chunks (without locks) and writes nothing.
//
// On PostgreSQL the next chunk is under way while one is being written (runOverlap): it locks
// the subscribers after the last one the chunk before it locked, so chunks never share a
// subscriber, and their results are taken in order. A chunk reads the pause as it locks its
// subscribers, so a pause stops the run after the chunks already under way.
//
// Nothing per subscriber is kept beyond a chunk but ids: the result has the counts, the
// subscriber ids and job ids, and the first RUN_SAMPLE transitions (collections events lists
// them all).
//
// The per-run cap (collections-max-suspensions) is decided for the whole run before its first
// chunk: the suspensions due are counted (a dry run over the subscribers who could be due), and
// over the cap every chunk holds its suspensions back and the alert is recorded once.
import { reporter, type OnProgress } from '../progress.js';
import type { ServiceContext } from '../context.js';
import { findSubscriberByRef } from '../subscribers/ref.js';
import { withTransaction, type Db } from '../db/tx.js';
import { idArray, rowsOf } from '../db/sql.js';
import { parseLocalDate } from '../time.js';
import { chargeLateFeesAndWriteOffs } from './late.js';
import { rebalance } from '../ledger/rebalance.js';
import { loadCollectionSettings } from './config.js';
import { activeServiceCount } from './controls.js';
import { collectionsToday, evaluateCollections, recordCapExceeded, type CollectionEventKind, type EvaluateResult, type SuspensionsHeld } from './evaluate.js';
import { loadPause, type CollectionsPause } from './pause-state.js';
import { suspensionLimit } from './setting-defs.js';
import { listSettings } from '../settings/service.js';
import { loadNotifyConfig } from '../notify/config.js';
import { linkSettingsFrom } from '../intake/links.js';
import { loadStatusWriteSettings } from '../provisioning/access.js';

/** Subscribers per chunk of a collections run (one transaction each). */
export const RUN_CHUNK = 1000;

/**
 * Chunks of a run under way at once. On PostgreSQL two: while one chunk's statements run in
 * the database, the next one is locked, read and worked out here (a run is about half database
 * time and half this process's, on different processors); each chunk is its own transaction on
 * its own connection, and chunks never share a subscriber. The embedded database serves one
 * connection at a time, so there one chunk follows the other.
 */
export function runOverlap(ctx: Pick<ServiceContext, 'engine'>): number {
  return ctx.engine === 'pglite' ? 1 : 2;
}

/**
 * Transitions (and messages not rendered) a run's result keeps: the first ones, in subscriber
 * order; the rest are only counted, so that a run's memory does not grow with the number of
 * subscribers. `collections events` lists every event a run recorded.
 */
export const RUN_SAMPLE = 1000;

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
  /** Subscribers per chunk (default RUN_CHUNK). */
  chunkSize?: number;
  /**
   * Called after each chunk has committed (its subscribers unlocked; a dry run: evaluated), in
   * subscriber order. With `overlap` 1 the next chunk starts after it returns; with more, the
   * chunks already under way go on meanwhile.
   */
  onChunk?: (chunk: RunChunk) => void | Promise<void>;
  /**
   * Chunks under way at once, each its own transaction on its own connection (default
   * {@link runOverlap}: 2 on PostgreSQL, 1 on the embedded database, which serves one connection).
   */
  overlap?: number;
  /** Transitions and messages not rendered kept in the result (default RUN_SAMPLE); the rest are counted. */
  sampleSize?: number;
  /**
   * Queue the run's router work held by this runner (see EnqueueOptions.holder), for a caller
   * that carries it to the routers at once (runCollectionsThrough); default pending, for anyone.
   */
  jobHolder?: string;
}

/** One committed chunk of a run. */
export interface RunChunk {
  /** 1 for the first chunk. */
  index: number;
  /** Subscribers in the chunk, and the last of them (the run goes on after it). */
  subscribers: number;
  lastSubscriberId: number;
  suspended: number[];
  restored: number[];
  jobIds: number[];
}

/** More suspensions due than collections-max-suspensions allows in one run. */
export interface CapExceeded {
  /** The most services one run may suspend. */
  limit: number;
  /** The subscribers and services due to be suspended. */
  subscribers: number;
  services: number;
}

/**
 * What a run did. `transitions` and `notificationErrors` are the first of them only (sampleSize,
 * in subscriber order), with their totals beside them; the subscriber id lists and job ids are
 * whole (the command and the daemon send the suspension notices and apply the router work from
 * them).
 */
export interface RunCollectionsResult extends EvaluateResult {
  /** The pause in force during the run (nothing suspended or written off), or null. */
  paused: CollectionsPause | null;
  /**
   * The run is over the per-run cap (null: within it, --force, or paused). A real run then
   * suspends no one and records an alert; a dry run shows the whole plan.
   */
  capExceeded: CapExceeded | null;
  /** Chunks committed. */
  chunks: number;
  /** When the run started: its events were recorded from then on (`collections events --since`). */
  startedAt: Date;
  /** Transitions in the whole run; `transitions` has the first ones. */
  transitionsTotal: number;
  /** Messages not rendered in the whole run; `notificationErrors` has the first ones. */
  notificationErrorsTotal: number;
}

/** Subscriber ids from account numbers or PPPoE usernames. */
export async function resolveSubscriberRefs(db: Db, refs: string[]): Promise<number[]> {
  const ids: number[] = [];
  for (const ref of refs) ids.push((await findSubscriberByRef(db, ref)).subscriberId);
  return [...new Set(ids)];
}

/**
 * One collections run: reminders, warnings, suspensions and restorations due today, late fees
 * and write-offs, chunk by chunk (each chunk whole or not at all), returning the provisioning
 * jobs to run after it.
 */
export async function runCollections(ctx: ServiceContext, opts: RunCollectionsOptions = {}): Promise<RunCollectionsResult> {
  if (opts.today !== undefined) parseLocalDate(opts.today, '--today');
  const subscriberIds = opts.subscribers?.length ? await resolveSubscriberRefs(ctx.db, opts.subscribers) : undefined;
  const progress = reporter(opts.onProgress);
  const startedAt = ctx.clock.now();
  const sample = Math.max(0, Math.floor(opts.sampleSize ?? RUN_SAMPLE));
  // The per-run cap, from the setting and the services active now (--force: none).
  const settings = await loadCollectionSettings(ctx.db);
  const limit = opts.force ? null : suspensionLimit(settings.maxSuspensions, await activeServiceCount(ctx.db));
  const paused = await loadPause(ctx.db);
  const dryRun = opts.dryRun === true;
  // One ISP date for the whole run, however long it takes.
  const today = opts.today ?? collectionsToday(ctx, settings);

  let overCap: number | null = null;
  let capExceeded: CapExceeded | null = null;
  if (limit !== null && !paused) {
    progress({ phase: 'Counting suspensions due' });
    const due = await dueSuspensions(ctx, today, subscriberIds, limit);
    if (due.services > limit) {
      overCap = limit;
      capExceeded = { limit, subscribers: due.subscribers, services: due.services };
      if (!dryRun) {
        await recordCapExceeded(ctx.db, ctx, today, { services: due.services, subscribers: due.subscribers, limit });
      }
    }
  }

  const size = Math.max(1, Math.floor(opts.chunkSize ?? RUN_CHUNK));
  const total = await subscriberCount(ctx.db, subscriberIds);
  const result: RunCollectionsResult = { ...emptyResult(today), dryRun, paused, capExceeded, chunks: 0, startedAt, transitionsTotal: 0, notificationErrorsTotal: 0 };
  let done = 0;
  progress({ phase: 'Collections', done, total });
  // The settings and router modes, once for the run (not once per chunk); the pause is read
  // again by each chunk, with its lock, so that `collections pause` stops a run part way.
  const views = await listSettings(ctx.db);
  const [notify, statusWrite] = await Promise.all([loadNotifyConfig(ctx.db), loadStatusWriteSettings(ctx.db, views)]);
  const links = linkSettingsFrom(views);
  // One chunk: its subscribers in id order, locked, so that a payment for one of them waits for
  // this chunk only and this chunk decides on what is committed by then (a subscriber created
  // during the chunk has nothing due yet); rebalanced, moved through the state machine, late fees
  // and write-offs. A dry run reads the same chunks without a lock and writes nothing. `locked`
  // is told the chunk's last subscriber id as soon as its subscribers are locked (null: none
  // left), so that the next chunk can start from there.
  type ChunkDone = { ids: number[]; collections: EvaluateResult; lateJobIds: number[] } | null;
  const chunkOf = async (db: Db, after: number, locked: (last: number | null) => void): Promise<ChunkDone> => {
    const { ids, paused: pausedNow } = await nextChunk(db, after, size, subscriberIds, !dryRun);
    locked(ids.length ? ids[ids.length - 1]! : null);
    if (!ids.length) return null;
    const given = { settings, notify, links, statusWrite, paused: pausedNow };
    // Everyone: the chunk is every subscriber with an id in (after, last], and each statement
    // reads that range (an index range) rather than testing every row against a list of ids.
    const scope = subscriberIds ? { subscriberIds: ids } : { subscriberIds: [], subscribersIn: { after, upTo: ids[ids.length - 1]! } };
    if (dryRun) {
      const collections = await evaluateCollections(db, ctx, { subscriberIds: scope.subscriberIds, subscriberRange: scope.subscribersIn, today, dryRun: true, overCap, given });
      return { ids, collections, lateJobIds: [] };
    }
    const r = await rebalance(db, ctx, scope, { today, collections: { locked: true, overCap, run: true, given, ...(opts.jobHolder !== undefined ? { jobHolder: opts.jobHolder } : {}) } });
    const late = pausedNow
      ? null
      : await chargeLateFeesAndWriteOffs(db, ctx, { today, subscriberIds: scope.subscriberIds, subscriberRange: scope.subscribersIn, settings: views, statusWrite });
    return { ids, collections: r.collections, lateJobIds: late?.jobIds ?? [] };
  };
  // Each chunk of a run its own transaction (a dry run's chunks in none), up to `depth` of them
  // under way: the next one starts from the last subscriber of the one before as soon as that
  // one has locked its subscribers. Their results are taken in order.
  const depth = Math.max(1, Math.floor(opts.overlap ?? runOverlap(ctx)));
  const launch = (from: number) => {
    let told!: (last: number | null) => void;
    const locked = new Promise<number | null>((resolve) => (told = resolve));
    const done = dryRun ? chunkOf(ctx.db, from, told) : withTransaction(ctx.db, (trx) => chunkOf(trx, from, told));
    // Failed before its subscribers were locked: no chunk follows it.
    done.catch(() => told(null));
    return { locked, done };
  };
  const ahead: Array<ReturnType<typeof launch>> = [launch(0)];
  try {
    for (;;) {
      const cur = ahead[0]!;
      // Start the chunks after it while there is room, each from the last of the one before.
      while (ahead.length < depth) {
        const last = await ahead[ahead.length - 1]!.locked;
        if (last === null) break;
        ahead.push(launch(last));
      }
      const chunk = await cur.done;
      ahead.shift();
      if (!chunk) break;
      merge(result, chunk.collections, chunk.lateJobIds, sample);
      result.chunks++;
      const last = chunk.ids[chunk.ids.length - 1]!;
      done += chunk.ids.length;
      progress({ phase: 'Collections', done, total });
      await opts.onChunk?.({
        index: result.chunks,
        subscribers: chunk.ids.length,
        lastSubscriberId: last,
        suspended: chunk.collections.suspended,
        restored: chunk.collections.restored,
        jobIds: [...chunk.collections.jobIds, ...chunk.lateJobIds],
      });
      if (!ahead.length) ahead.push(launch(last));
    }
  } finally {
    // A chunk that failed ends the run; those started after it end too (each committed whole
    // or not at all) before the error is returned, so nothing of the run outlives it.
    await Promise.allSettled(ahead.map((c) => c.done));
  }
  return result;
}

function emptyResult(today: string): EvaluateResult {
  return { today, dryRun: false, reminded: [], warned: [], suspended: [], restored: [], cleared: [], jobIds: [], events: 0, notifications: 0, notificationErrors: [], transitions: [], suspensionsHeld: null };
}

/** A chunk's result into the run's: ids whole, transitions and messages not rendered up to `sample` (counted whole). */
function merge(into: RunCollectionsResult, r: EvaluateResult, lateJobIds: number[], sample: number): void {
  for (const k of ['reminded', 'warned', 'suspended', 'restored', 'cleared', 'jobIds'] as const) {
    for (const x of r[k]) into[k].push(x);
  }
  for (const id of lateJobIds) into.jobIds.push(id);
  for (const t of r.transitions) if (into.transitions.length < sample) into.transitions.push(t);
  for (const e of r.notificationErrors) if (into.notificationErrors.length < sample) into.notificationErrors.push(e);
  into.transitionsTotal += r.transitions.length;
  into.notificationErrorsTotal += r.notificationErrors.length;
  into.events += r.events;
  into.notifications += r.notifications;
  const held = r.suspensionsHeld;
  if (held) {
    const was: SuspensionsHeld | null = into.suspensionsHeld;
    into.suspensionsHeld = was ? { ...was, subscribers: was.subscribers + held.subscribers, services: was.services + held.services } : { ...held };
  }
}

/**
 * The next chunk of subscriber ids after `after`, in id order, locked (FOR UPDATE) unless a dry
 * run reads them, and the pause in force as the chunk starts (in the same statement: collections
 * pause stops a run between chunks without a read of its own).
 */
async function nextChunk(trx: Db, after: number, size: number, only: number[] | undefined, lock: boolean): Promise<{ ids: number[]; paused: CollectionsPause | null }> {
  const r = await rowsOf<{ id: number; paused_at: Date | null; paused_by: string | null; reason: string | null }>(
    trx,
    `with c as (select id from subscribers where id > ? ${only ? 'and id = any(?::int[])' : ''} order by id limit ? ${lock ? 'for update' : ''}),
          p as (select paused_at, paused_by, reason from collections_pause limit 1)
     select c.id, p.paused_at, p.paused_by, p.reason from c left join p on true order by c.id`,
    only ? [after, idArray(only), size] : [after, size],
  );
  const first = r[0];
  const paused = first && first.paused_at !== null ? { pausedAt: new Date(first.paused_at), pausedBy: first.paused_by!, reason: first.reason } : null;
  return { ids: r.map((x) => Number(x.id)), paused };
}

async function subscriberCount(db: Db, only: number[] | undefined): Promise<number> {
  if (only) return only.length;
  const r = await rowsOf<{ n: number }>(db, 'select count(*)::int as n from subscribers');
  return Number(r[0]?.n ?? 0);
}

/**
 * The suspensions due today over the run's scope, for the per-run cap. Only subscribers with a
 * service not yet suspended and an open invoice due before today can be due (the deadline is
 * the due date or later): counted in the database, and when their services are within the cap
 * that is the answer. Otherwise the state machine works it out for them exactly, a dry run of
 * RUN_CHUNK of them at a time (read by keyset, none of them kept).
 */
async function dueSuspensions(ctx: ServiceContext, today: string, only: number[] | undefined, limit: number): Promise<{ subscribers: number; services: number }> {
  const where = `s.collection_status not in ('suspended', 'uncollectible')
        and (s.ended_on is null or s.ended_on > ?::date)
        ${only ? 'and s.subscriber_id = any(?::int[])' : ''}
        and exists (select 1 from ledger_invoices i where i.subscriber_id = s.subscriber_id and i.open_minor > 0 and i.due_date < ?::date)`;
  const bindings = only ? [today, idArray(only), today] : [today, today];
  const [upTo] = await rowsOf<{ subscribers: number; services: number }>(
    ctx.db,
    `select count(distinct s.subscriber_id)::int as subscribers, count(*)::int as services from services s where ${where}`,
    bindings,
  );
  if (!upTo || Number(upTo.services) <= limit) return { subscribers: Number(upTo?.subscribers ?? 0), services: Number(upTo?.services ?? 0) };
  let subscribers = 0;
  let services = 0;
  let after = 0;
  for (;;) {
    const rows = await rowsOf<{ subscriber_id: number }>(
      ctx.db,
      `select distinct s.subscriber_id from services s where ${where} and s.subscriber_id > ? order by s.subscriber_id limit ?`,
      [...bindings, after, RUN_CHUNK],
    );
    if (!rows.length) break;
    const ids = rows.map((x) => Number(x.subscriber_id));
    after = ids[ids.length - 1]!;
    const dry = await evaluateCollections(ctx.db, ctx, { subscriberIds: ids, today, dryRun: true, maxSuspensions: null });
    for (const t of dry.transitions) {
      if (t.kind !== 'suspension') continue;
      subscribers++;
      services += t.services.length;
    }
  }
  return { subscribers, services };
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

/** The most events one listing returns (`collections events --limit`). */
export const EVENTS_LIST_MAX = 100_000;

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
