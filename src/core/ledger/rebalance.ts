// The one step every ledger writer ends in. A payment recorded or voided, invoices generated or
// voided, an adjustment made: each changes only its own rows and then calls rebalance for the
// subscribers it touched, inside its transaction. Rebalance, in this order and for the whole set
// at once (a handful of set-based statements, however many subscribers):
//
//   1. totals   invoices whose lines changed get subtotal, discount and total from their lines
//   2. status   each invoice's paid amount and status from its active allocations and today
//               (`overdue` once past its due date in the ISP's time zone and not paid); for a
//               range or everyone (a collections run, the daily pass) only the invoices the
//               date turns overdue, the others' allocations being unchanged since their writer
//               recomputed them
//   3. allocate open payment money (credit) goes to open invoices, oldest due first, and the
//               invoices it paid get their paid amount and status again
//   4. collections   the state machine re-evaluates the subscribers (restore, suspend, remind)
//   5. access   what collections changed is queued for the routers (returned as job ids)
//
// Because it reads everything afresh from the allocations, calling it twice, or for a
// subscriber nothing happened to, changes nothing. The caller applies the returned jobs after
// commit (provisioning/apply.ts).
import type { ServiceContext } from '../context.js';
import type { Db } from '../db/tx.js';
import { evaluateCollections, type EvaluateOptions, type EvaluateResult } from '../collections/evaluate.js';
import { ispToday } from '../settings/service.js';
import { recomputeInvoices, recomputeTotals, settle, type NewAllocation, type RecomputedInvoice } from './allocate.js';
import type { SubscriberRange } from '../db/sql.js';

export interface RebalanceScope {
  /** The subscribers whose ledger changed. */
  subscriberIds?: readonly number[];
  /**
   * Subscribers whose only change is new invoices (billing generate): inserted with the status
   * of their totals and nothing allocated, so their invoices need no recompute, and only those
   * with credit (unallocated payments) are allocated. Collections evaluates them all.
   */
  newInvoicesOf?: readonly number[];
  /**
   * As newInvoicesOf, for the subscribers with ids in (after, upTo] (a chunk of billing generate,
   * without a list of 25,000 ids to build and parse back): credit is allocated and collections
   * evaluates whoever in the range needs it, whether or not this chunk billed them.
   */
  newInvoicesIn?: SubscriberRange;
  /**
   * As subscriberIds, for every subscriber with an id in (after, upTo]: a chunk of a collections
   * run, its subscribers locked by the caller, without a list of 1,000 ids that every statement
   * would test each row against.
   */
  subscribersIn?: SubscriberRange;
  /** Everyone (the daemon's daily pass). */
  all?: boolean;
}

export interface RebalanceOptions {
  /** Pay this invoice before the others (payment record --invoice). */
  firstInvoiceId?: number;
  /** Invoices whose lines changed (lines added, or an adjustment line): their totals are recomputed from the lines. */
  linesChanged?: readonly number[];
  /** ISP date to evaluate on, YYYY-MM-DD (default: today in the ISP's time zone). */
  today?: string;
  /** The most services collections may suspend in this step (collections run); default no cap. */
  maxSuspensions?: number | null;
  /** How collections evaluates (a chunk of a collections run: subscribers locked, cap decided for the whole run). */
  collections?: Pick<EvaluateOptions, 'locked' | 'overCap' | 'run' | 'given' | 'jobHolder'>;
}

export interface RebalanceResult {
  today: string;
  /** Money allocated by this step. */
  allocations: NewAllocation[];
  /** Invoices whose paid amount or status changed. */
  invoices: RecomputedInvoice[];
  /** What collections did. */
  collections: EvaluateResult;
  /** Router work queued (suspensions and restorations): apply it after commit. */
  jobIds: number[];
}

type RebalanceContext = Pick<ServiceContext, 'clock' | 'actor' | 'env'> & Partial<Pick<ServiceContext, 'engine'>>;

/**
 * Brings the ledger of a set of subscribers (or everyone) in line with their invoices, payments
 * and allocations, then lets collections and the access policy follow. Call inside the
 * writer's transaction, after its own change.
 */
export async function rebalance(db: Db, ctx: RebalanceContext, scope: RebalanceScope, opts: RebalanceOptions = {}): Promise<RebalanceResult> {
  const today = opts.today ?? (await ispToday(db, ctx.clock.now()));
  const ids = scope.all ? undefined : [...new Set(scope.subscriberIds ?? [])].sort((a, b) => a - b);
  const full = new Set(ids ?? []);
  const freshIds = ids === undefined ? [] : [...new Set(scope.newInvoicesOf ?? [])].filter((sid) => !full.has(sid));
  const empty = (collections: EvaluateResult): RebalanceResult => ({ today, allocations: [], invoices: [], collections, jobIds: [] });
  const range = ids === undefined ? undefined : scope.newInvoicesIn;
  const within = ids === undefined ? undefined : scope.subscribersIn;
  if (range && within) throw new Error('rebalance: newInvoicesIn and subscribersIn are not combined');
  if (ids !== undefined && ids.length === 0 && freshIds.length === 0 && !range && !within) {
    return empty({ today, dryRun: false, reminded: [], warned: [], suspended: [], restored: [], cleared: [], jobIds: [], events: 0, notifications: 0, notificationErrors: [], transitions: [], suspensionsHeld: null });
  }
  if (opts.linesChanged?.length) await recomputeTotals(db, opts.linesChanged, ctx.clock.now());
  // Paid amounts from the allocations first: the writer may have reversed some (a void), and
  // settle reads what is still open from them. Then the invoices settle paid, again.
  const recomputed = await recomputeInvoices(db, ids === undefined ? { all: true } : { subscriberIds: ids, invoiceIds: opts.linesChanged ?? [], range: within }, today);
  const settled = await settle(db, ctx, ids === undefined ? undefined : [...ids, ...freshIds], { firstInvoiceId: opts.firstInvoiceId, range: range ?? within });
  const paid = await recomputeInvoices(db, { invoiceIds: settled.invoiceIds }, today);
  const changed = new Map([...recomputed, ...paid].map((i) => [i.id, i]));
  const invoices = [...changed.values()];
  // Collections looks at every subscriber in scope: a new invoice may be due within a window
  // already, and an older one may have passed its deadline since the last run.
  const evaluate = ids === undefined ? undefined : freshIds.length ? [...new Set([...ids, ...freshIds])].sort((a, b) => a - b) : ids;
  const collections = await evaluateCollections(db, ctx, { ...(evaluate === undefined ? {} : { subscriberIds: evaluate }), ...(range || within ? { subscriberRange: range ?? within } : {}), today, maxSuspensions: opts.maxSuspensions ?? null, ...opts.collections });
  return { today, allocations: settled.allocations, invoices, collections, jobIds: collections.jobIds };
}

/** What a ledger writer reports of collections: the router work queued and who was restored. */
export interface CollectionsOutcome {
  /** Router work to apply after commit (provisioning/apply.ts). */
  jobIds: number[];
  /** Subscribers restored. */
  restored: number[];
}

export function collectionsOutcome(r: RebalanceResult): CollectionsOutcome {
  return { jobIds: [...r.jobIds], restored: [...r.collections.restored] };
}
