// Where the money side hands over to collections: after a payment or a void changes what a
// subscriber owes, collections decides (restore a billing-suspended subscriber whose past-due
// balance is cleared, or put them back into collections) and queues the router work through
// provisionChanges, inside the same transaction.
import type { ServiceContext } from '../context.js';
import type { Db } from '../db/tx.js';
import { evaluateCollections } from '../collections/evaluate.js';

export interface CollectionsOutcome {
  /** Provisioning jobs to run at once (the command applies them before it returns). */
  jobIds: number[];
  /** Subscribers restored. */
  restored: number[];
}

export async function evaluateAfterPayment(trx: Db, ctx: ServiceContext, subscriberIds: number[]): Promise<CollectionsOutcome> {
  const r = await evaluateCollections(trx, ctx, { subscriberIds });
  return { jobIds: [...(r.jobIds ?? [])], restored: [...(r.restored ?? [])] };
}
