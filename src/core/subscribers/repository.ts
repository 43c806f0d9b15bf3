// The subscribers and services tables: the reads and writes of their rows, typed (db/rows.ts) and
// mapped once (types.ts). The admin status of a service (active ⇄ suspended) and its end are
// changed here only, each conditioned on the current state, so a change that raced another
// comes back short and the caller refuses it.
import type { Knex } from 'knex';
import type { PrefixedPlanRow, RouterRow, ServiceRow, SubscriberRow } from '../db/rows.js';
import type { Db } from '../db/tx.js';
import { IspctlError } from '../errors.js';
import { toService, toSubscriber, type Service, type Subscriber } from './types.js';
import { errors } from '../error-catalogue.js';

export async function loadSubscriber(db: Db, id: number, opts: { forUpdate?: boolean } = {}): Promise<Subscriber | undefined> {
  const q = db('subscribers').where({ id });
  if (opts.forUpdate) q.forUpdate();
  const row: SubscriberRow | undefined = await q.first();
  return row ? toSubscriber(row) : undefined;
}

/** A subscriber's services, oldest first. */
export async function loadServicesOf(db: Db, subscriberId: number, opts: { forUpdate?: boolean } = {}): Promise<Service[]> {
  const q = db('services').where({ subscriber_id: subscriberId }).orderBy('id');
  if (opts.forUpdate) q.forUpdate();
  const rows: ServiceRow[] = await q;
  return rows.map(toService);
}

export async function loadService(db: Db, id: number): Promise<Service> {
  const row: ServiceRow | undefined = await db('services').where({ id }).first();
  if (!row) throw new Error(`service ${id} not found`);
  return toService(row);
}

/** The PPPoE password and router name of these services (what `subscriber show` adds to a Service). */
export async function serviceSecrets(db: Db, ids: readonly number[]): Promise<Map<number, { password: string; routerName: string | null }>> {
  if (ids.length === 0) return new Map();
  const rows: Array<Pick<ServiceRow, 'id' | 'password'> & { router_name: RouterRow['name'] | null }> = await db('services as s')
    .leftJoin('routers as r', 'r.id', 's.router_id')
    .whereIn('s.id', ids)
    .select('s.id', 's.password', 'r.name as router_name');
  return new Map(rows.map((r) => [Number(r.id), { password: r.password, routerName: r.router_name ?? null }]));
}

/** The extension (promise to pay) of a subscriber that runs on `today` or later. */
export async function collectionsHold(db: Db, subscriberId: number, today: string): Promise<{ until: string; reason: string | null } | null> {
  const row: { until: string; reason: SubscriberRow['collections_hold_reason'] } | undefined = await db('subscribers')
    .where({ id: subscriberId })
    .where('collections_hold_until', '>=', today)
    .first(db.raw('collections_hold_until::text as until'), 'collections_hold_reason as reason');
  return row ? { until: row.until, reason: row.reason } : null;
}

/** Who holds a PPPoE username (any service, ended or not), ignoring case. */
export async function usernameOwner(db: Db, username: string): Promise<string | undefined> {
  const row: Pick<SubscriberRow, 'account_no'> | undefined = await db('services as s').join('subscribers as u', 'u.id', 's.subscriber_id').whereRaw('lower(s.username) = lower(?)', [username]).first('u.account_no');
  return row?.account_no;
}

/** Column values of `subscribers` an edit may change. */
export type SubscriberUpdate = Partial<Pick<SubscriberRow, 'full_name' | 'email' | 'phone' | 'address' | 'notes'>>;

/** Column values of `services` an edit may change. */
export type ServiceUpdate = Partial<Pick<ServiceRow, 'username' | 'password' | 'plan_id' | 'router_id' | 'static_ip' | 'individual_price_minor' | 'discount_kind' | 'discount_value' | 'discount_until'>>;

export async function updateSubscriber(trx: Knex.Transaction, id: number, values: SubscriberUpdate, now: Date): Promise<Subscriber> {
  const [row]: SubscriberRow[] = await trx('subscribers').where({ id }).update({ ...values, updated_at: now }).returning('*');
  return toSubscriber(row!);
}

/** Updates a service if nobody changed it since `revision` was read; CONFLICT otherwise. */
export async function updateServiceAt(trx: Knex.Transaction, service: Service, values: ServiceUpdate, now: Date, accountNo: string): Promise<Service> {
  const [row]: ServiceRow[] = await trx('services')
    .where({ id: service.id, revision: service.revision })
    .update({ ...values, revision: trx.raw('revision + 1'), updated_at: now })
    .returning('*');
  if (!row) throw errors.changedConcurrently(`Subscriber ${accountNo}`);
  return toService(row);
}

function raced(): IspctlError {
  return errors.changedConcurrently('This subscriber');
}

/** active → suspended, for current services still active; all of them or none (CONFLICT). */
export async function suspendServices(trx: Knex.Transaction, ids: readonly number[], reason: string, now: Date): Promise<Service[]> {
  const rows: ServiceRow[] = await trx('services')
    .whereIn('id', ids)
    .where({ admin_status: 'active' })
    .whereNull('ended_on')
    .update({ admin_status: 'suspended', admin_reason: reason, admin_suspended_at: now, revision: trx.raw('revision + 1'), updated_at: now })
    .returning('*');
  if (rows.length !== ids.length) throw raced();
  return rows.map(toService);
}

/** suspended → active; all of them or none (CONFLICT). */
export async function resumeServices(trx: Knex.Transaction, ids: readonly number[], now: Date): Promise<Service[]> {
  const rows: ServiceRow[] = await trx('services')
    .whereIn('id', ids)
    .where({ admin_status: 'suspended' })
    .update({ admin_status: 'active', admin_reason: null, admin_suspended_at: null, revision: trx.raw('revision + 1'), updated_at: now })
    .returning('*');
  if (rows.length !== ids.length) throw raced();
  return rows.map(toService);
}

/** Ends the services not ended yet, today (never in the future: one not started yet never starts). The ids ended. */
export async function endServices(trx: Knex.Transaction, ids: readonly number[], today: string, now: Date): Promise<number[]> {
  const ended: Array<Pick<ServiceRow, 'id'>> = await trx('services')
    .whereIn('id', ids)
    .whereNull('ended_on')
    .update({ ended_on: today, started_on: trx.raw('least(started_on, ?::date)', [today]), revision: trx.raw('revision + 1'), updated_at: now })
    .returning('id');
  return ended.map((r) => Number(r.id));
}

/** Deletes a subscriber and its services (the database refuses while invoices or payments refer to them). */
export async function deleteSubscriber(trx: Knex.Transaction, id: number): Promise<void> {
  await trx('services').where({ subscriber_id: id }).del();
  await trx('subscribers').where({ id }).del();
}

/** A service row with its plan's columns (`plan_…`), as selected by planSelect. */
export type ServiceWithPlanRow = ServiceRow & PrefixedPlanRow;
