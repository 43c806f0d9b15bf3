// What every subscriber service starts from: the subscriber a reference names with its services,
// today's date, the access a service gets, and how a race on a unique username or address reads.
import { desiredAccess, type DesiredAccess } from '../access/policy.js';
import type { NetworkSettings } from '../access/settings.js';
import type { ServiceContext } from '../context.js';
import { isUniqueViolation } from '../db/errors.js';
import type { Db } from '../db/tx.js';
import { invalid } from '../errors.js';
import type { Plan } from '../plans/service.js';
import { ispToday as settingsToday } from '../settings/service.js';
import { findSubscriberByRef, subscriberNotFound } from './ref.js';
import { loadServicesOf, loadSubscriber } from './repository.js';
import type { Service, Subscriber } from './types.js';
import { errors } from '../error-catalogue.js';
import { staticIpTaken, usernameTaken } from './prepare.js';

/** Today in the ISP time zone, `YYYY-MM-DD` (reads the timezone setting; default Asia/Manila). */
export async function ispToday(ctx: Pick<ServiceContext, 'db' | 'clock'>): Promise<string> {
  return settingsToday(ctx.db, ctx.clock.now());
}

export interface Resolved {
  subscriber: Subscriber;
  services: Service[];
  /** The services the reference names: all of the subscriber's for an account number, one for a username. */
  named: Service[];
  byUsername: boolean;
}

export async function resolve(db: Db, ref: string, opts: { forUpdate?: boolean } = {}): Promise<Resolved> {
  const found = await findSubscriberByRef(db, ref);
  const subscriber = await loadSubscriber(db, found.subscriberId, opts);
  if (!subscriber) throw subscriberNotFound(found.ref);
  const services = await loadServicesOf(db, subscriber.id, opts);
  const named = found.serviceId === undefined ? services : services.filter((s) => s.id === found.serviceId);
  return { subscriber, services, named, byUsername: found.serviceId !== undefined };
}

/** The one current service a reference names, for changes that apply to a single service. */
export function singleCurrent(res: Resolved, ref: string): Service {
  const current = res.named.filter((s) => s.endedOn === null);
  if (current.length === 1) return current[0]!;
  if (current.length === 0) {
    throw errors.serviceEnded(res.subscriber.accountNo, res.byUsername ? ` under ${JSON.stringify(ref)}` : '');
  }
  throw invalid('AMBIGUOUS_SUBSCRIBER', `Subscriber ${res.subscriber.accountNo} has ${current.length} services; name one by its username.`, current.map((s) => `ispctl … ${s.username}`));
}

export function mapServiceUnique(err: unknown): never {
  if (isUniqueViolation(err, 'services_username_lower_key')) throw usernameTaken();
  if (isUniqueViolation(err, 'services_static_ip_key')) throw staticIpTaken();
  throw err;
}

function planAccess(p: Plan) {
  return {
    downloadKbps: p.downloadKbps,
    uploadKbps: p.uploadKbps,
    burst: p.burst,
    throttleDownloadKbps: p.throttleDownloadKbps,
    throttleUploadKbps: p.throttleUploadKbps,
    suspensionAction: p.suspensionAction,
  };
}

export function accessOf(service: Pick<Service, 'adminStatus' | 'collectionStatus' | 'endedOn'>, plan: Plan, settings: NetworkSettings): DesiredAccess {
  return desiredAccess({ adminStatus: service.adminStatus, collectionStatus: service.collectionStatus, ended: service.endedOn !== null, plan: planAccess(plan), settings });
}
