// Finding the subscriber a billing command names: by account number (S-000123) or by the PPPoE
// username of one of their services, the same rules as `ispctl subscriber show`.
import type { Db } from '../db/tx.js';
import { findSubscriberByRef } from '../subscribers/ref.js';
import { errors } from '../error-catalogue.js';

export interface SubscriberRef {
  id: number;
  accountNo: string;
  fullName: string;
  email: string | null;
  phone: string | null;
}

interface SubscriberRefRow {
  id: number;
  account_no: string;
  full_name: string;
  email: string | null;
  phone: string | null;
}

function toRef(r: SubscriberRefRow): SubscriberRef {
  return { id: r.id, accountNo: r.account_no, fullName: r.full_name, email: r.email, phone: r.phone };
}

/**
 * The subscriber an account number or PPPoE username names.
 * @throws IspctlError MISSING_SUBSCRIBER (invalid), SUBSCRIBER_NOT_FOUND (not found)
 */
export async function resolveSubscriberRef(db: Db, ref: string, opts: { forUpdate?: boolean } = {}): Promise<SubscriberRef> {
  const { subscriberId } = await findSubscriberByRef(db, ref);
  const q = db('subscribers').where({ id: subscriberId }).first('id', 'account_no', 'full_name', 'email', 'phone');
  if (opts.forUpdate) q.forUpdate();
  return toRef((await q) as SubscriberRefRow);
}

export async function subscriberById(db: Db, id: number): Promise<SubscriberRef> {
  const row = (await db('subscribers').where({ id }).first('id', 'account_no', 'full_name', 'email', 'phone')) as SubscriberRefRow | undefined;
  if (!row) throw errors.subscriberNotFound(id);
  return toRef(row);
}
