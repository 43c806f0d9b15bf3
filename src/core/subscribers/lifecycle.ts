// A subscriber's life after it was added: removal (services end, or the rows are purged) and
// suspension by an administrator and its lifting. The state changes themselves are the
// repository's conditional updates; this decides which services they apply to and what to tell
// the people and the routers. (Extensions, promises to pay, are collections/controls.ts.)
import { recordAudit } from '../audit.js';
import type { ServiceContext } from '../context.js';
import { withTransaction } from '../db/tx.js';
import { conflict } from '../errors.js';
import { provisionChanges } from '../provisioning/access.js';
import { deleteSubscriber, endServices, resumeServices, suspendServices } from './repository.js';
import { ispToday, resolve } from './resolve.js';
import type { Service, Subscriber } from './types.js';
import { validateReason } from './validate.js';
import { errors } from '../error-catalogue.js';

export interface RemoveSubscriberResult {
  subscriber: Subscriber;
  /** Services ended now (their access becomes blocked; provisioning removes them from routers). */
  endedServiceIds: number[];
  /** The rows were deleted (purge), not just ended. */
  purged: boolean;
  /** Router work queued by the change. */
  jobIds: number[];
}

/**
 * Removes a subscriber. By default every current service ends today (kept for history and
 * invoices; access blocked). With `purge`, the subscriber and its services are deleted outright,
 * which the database refuses once anything (invoices, payments) refers to them.
 */
export async function removeSubscriber(ctx: ServiceContext, ref: string, opts: { purge?: boolean } = {}): Promise<RemoveSubscriberResult> {
  const today = await ispToday(ctx);
  try {
    return await withTransaction(ctx.db, async (trx) => {
      const res = await resolve(trx, ref, { forUpdate: true });
      const current = res.services.filter((s) => s.endedOn === null);
      if (opts.purge) {
        const { jobIds } = await provisionChanges(trx, ctx, {}, {
          removed: res.services.filter((s) => s.routerId !== null).map((s) => ({ serviceId: s.id, routerId: s.routerId!, username: s.username })),
        });
        await deleteSubscriber(trx, res.subscriber.id);
        await recordAudit(trx, ctx, {
          entityType: 'subscriber',
          entityId: res.subscriber.accountNo,
          action: 'delete',
          before: { fullName: res.subscriber.fullName, services: res.services.map((s) => s.username) },
        });
        return { subscriber: res.subscriber, endedServiceIds: current.map((s) => s.id), purged: true, jobIds };
      }
      if (current.length === 0) {
        throw conflict('ALREADY_REMOVED', `Subscriber ${res.subscriber.accountNo} has no current service; it was removed before.`, [
          `ispctl subscriber remove ${res.subscriber.accountNo} --purge deletes it for good (only while no invoice refers to it)`,
        ]);
      }
      const endedIds = await endServices(trx, current.map((s) => s.id), today, ctx.clock.now());
      await recordAudit(trx, ctx, {
        entityType: 'subscriber',
        entityId: res.subscriber.accountNo,
        action: 'remove',
        before: { services: current.map((s) => ({ username: s.username, endedOn: null })) },
        after: { services: current.map((s) => ({ username: s.username, endedOn: today })) },
      });
      const { jobIds } = await provisionChanges(trx, ctx, { serviceIds: endedIds });
      return { subscriber: res.subscriber, endedServiceIds: endedIds, purged: false, jobIds };
    });
  } catch (err) {
    if ((err as { code?: string }).code === '23503') {
      throw conflict('SUBSCRIBER_REFERENCED', `Subscriber ${ref} cannot be purged: invoices or payments refer to it.`, [`ispctl subscriber remove ${ref} (without --purge) ends the service and keeps the history`]);
    }
    throw err;
  }
}

export interface AdminChangeResult {
  subscriber: Subscriber;
  /** The services whose admin status changed. */
  services: Service[];
  /** Their ids, for provisioning. */
  affectedServiceIds: number[];
  /** Router work queued by the change. */
  jobIds: number[];
}

/**
 * Suspends by an administrator: every current active service the reference names (one for a
 * username, all for an account number) becomes blocked, whatever billing says, until
 * `resumeSubscriber`. Conditioned on the current state: a service already suspended is a
 * conflict, never a second suspension.
 */
export async function suspendSubscriber(ctx: ServiceContext, ref: string, opts: { reason: string }): Promise<AdminChangeResult> {
  const reason = validateReason(opts.reason);
  return withTransaction(ctx.db, async (trx) => {
    const res = await resolve(trx, ref, { forUpdate: true });
    const current = res.named.filter((s) => s.endedOn === null);
    if (current.length === 0) throw errors.serviceEnded(res.subscriber.accountNo, ' to suspend');
    const active = current.filter((s) => s.adminStatus === 'active');
    if (active.length === 0) {
      const s = current[0]!;
      throw conflict('ALREADY_SUSPENDED', `${s.username} (${res.subscriber.accountNo}) is already suspended${s.adminReason ? `: ${s.adminReason}` : ''}.`, [`ispctl subscriber resume ${s.username}`]);
    }
    const services = await suspendServices(trx, active.map((s) => s.id), reason, ctx.clock.now());
    await recordAudit(trx, ctx, {
      entityType: 'subscriber',
      entityId: res.subscriber.accountNo,
      action: 'suspend',
      before: { services: active.map((s) => s.username), adminStatus: 'active' },
      after: { services: services.map((s) => s.username), adminStatus: 'suspended', reason },
    });
    const { jobIds } = await provisionChanges(trx, ctx, { serviceIds: services.map((s) => s.id) });
    return { subscriber: res.subscriber, services, affectedServiceIds: services.map((s) => s.id), jobIds };
  });
}

/** Lifts an admin suspension. Billing never does this; only an administrator. */
export async function resumeSubscriber(ctx: ServiceContext, ref: string): Promise<AdminChangeResult> {
  return withTransaction(ctx.db, async (trx) => {
    const res = await resolve(trx, ref, { forUpdate: true });
    const current = res.named.filter((s) => s.endedOn === null);
    if (current.length === 0) throw errors.serviceEnded(res.subscriber.accountNo, ' to resume');
    const suspended = current.filter((s) => s.adminStatus === 'suspended');
    if (suspended.length === 0) {
      throw conflict('NOT_SUSPENDED', `${current.map((s) => s.username).join(', ')} (${res.subscriber.accountNo}) is not suspended by an administrator.`, [
        'Suspensions for non-payment are lifted by payment, not by resume',
      ]);
    }
    const services = await resumeServices(trx, suspended.map((s) => s.id), ctx.clock.now());
    await recordAudit(trx, ctx, {
      entityType: 'subscriber',
      entityId: res.subscriber.accountNo,
      action: 'resume',
      before: { services: suspended.map((s) => s.username), adminStatus: 'suspended', reasons: [...new Set(suspended.map((s) => s.adminReason))] },
      after: { services: services.map((s) => s.username), adminStatus: 'active' },
    });
    const { jobIds } = await provisionChanges(trx, ctx, { serviceIds: services.map((s) => s.id) });
    return { subscriber: res.subscriber, services, affectedServiceIds: services.map((s) => s.id), jobIds };
  });
}

