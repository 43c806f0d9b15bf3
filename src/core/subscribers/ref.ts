// How people name a subscriber: by account number (S-000123) or by the PPPoE username of one of
// their services. One rule for every command.
import { errors } from '../error-catalogue.js';
import type { Db } from '../db/tx.js';
import { invalid, type IspctlError } from '../errors.js';

const ACCOUNT_NO = /^S-\d{1,12}$/i;

export function subscriberNotFound(ref: string): IspctlError {
  return errors.subscriberNotFound(ref);
}

/**
 * The subscriber a reference names, and the service when it was a username.
 * @throws IspctlError MISSING_SUBSCRIBER (invalid), SUBSCRIBER_NOT_FOUND (not found)
 */
export async function findSubscriberByRef(db: Db, ref: string): Promise<{ subscriberId: number; serviceId?: number; ref: string }> {
  const r = String(ref ?? '').trim();
  if (r === '') throw invalid('MISSING_SUBSCRIBER', 'Name a subscriber by account number (S-000123) or PPPoE username.');
  if (ACCOUNT_NO.test(r)) {
    const row = await db('subscribers').where({ account_no: r.toUpperCase() }).first('id');
    if (row) return { subscriberId: Number(row.id), ref: r };
  }
  const svc = await db('services').whereRaw('lower(username) = lower(?)', [r]).first('id', 'subscriber_id');
  if (!svc) throw subscriberNotFound(r);
  return { subscriberId: Number(svc.subscriber_id), serviceId: Number(svc.id), ref: r };
}
