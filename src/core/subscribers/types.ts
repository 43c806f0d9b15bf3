// Subscribers and their services as the rest of ispctl sees them, and the row mapping.
import type { AdminStatus, CollectionStatus } from '../access/policy.js';
import { big } from '../db/sql.js';
import type { ServiceRow, SubscriberRow } from '../db/rows.js';
import { applyDiscount, toDecimalString, type Discount } from '../money.js';

export interface Subscriber {
  id: number;
  /** `S-000123`: what people quote; never changes. */
  accountNo: string;
  fullName: string;
  email: string | null;
  phone: string | null;
  address: string | null;
  notes: string | null;
  createdAt: Date;
  updatedAt: Date;
}

/** One subscription. The PPPoE password is not part of it; ask for it on purpose. */
export interface Service {
  id: number;
  subscriberId: number;
  planId: number;
  routerId: number | null;
  username: string;
  staticIp: string | null;
  /** Replaces the plan price, in minor units of the plan currency. */
  individualPriceMinor: bigint | null;
  discount: Discount | null;
  /** Last day the discount applies, `YYYY-MM-DD`; null = no end. */
  discountUntil: string | null;
  adminStatus: AdminStatus;
  adminReason: string | null;
  adminSuspendedAt: Date | null;
  collectionStatus: CollectionStatus;
  startedOn: string;
  /** Set when the service ended (`subscriber remove`); an ended service is blocked. */
  endedOn: string | null;
  revision: number;
  createdAt: Date;
  updatedAt: Date;
}

/** The columns of `subscribers` a Subscriber is read from. */
export type SubscriberFields = Pick<SubscriberRow, 'id' | 'account_no' | 'full_name' | 'email' | 'phone' | 'address' | 'notes' | 'created_at' | 'updated_at'>;

export function toSubscriber(r: SubscriberFields): Subscriber {
  return {
    id: Number(r.id),
    accountNo: r.account_no,
    fullName: r.full_name,
    email: r.email ?? null,
    phone: r.phone ?? null,
    address: r.address ?? null,
    notes: r.notes ?? null,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}

export function toDiscount(kind: ServiceRow['discount_kind'], value: ServiceRow['discount_value'] | number): Discount | null {
  if (kind === 'fixed') return { kind: 'fixed', minor: big(value) };
  if (kind === 'percent') return { kind: 'percent', basisPoints: Number(value) };
  return null;
}

/** The columns of `services` a Service is read from (everything but the password and the materialised access). */
export type ServiceFields = Omit<ServiceRow, 'password' | 'access_state' | 'access_reason' | 'rate_limit' | 'access_changed_at'>;

export function toService(r: ServiceFields): Service {
  return {
    id: Number(r.id),
    subscriberId: Number(r.subscriber_id),
    planId: Number(r.plan_id),
    routerId: r.router_id === null || r.router_id === undefined ? null : Number(r.router_id),
    username: r.username,
    staticIp: r.static_ip === null || r.static_ip === undefined ? null : String(r.static_ip).replace(/\/32$/, ''),
    individualPriceMinor: r.individual_price_minor === null || r.individual_price_minor === undefined ? null : big(r.individual_price_minor),
    discount: toDiscount(r.discount_kind, r.discount_value),
    discountUntil: r.discount_until ?? null,
    adminStatus: r.admin_status,
    adminReason: r.admin_reason ?? null,
    adminSuspendedAt: r.admin_suspended_at ?? null,
    collectionStatus: r.collection_status,
    startedOn: r.started_on,
    endedOn: r.ended_on ?? null,
    revision: Number(r.revision),
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}

export interface MonthlyPrice {
  currency: string;
  /** Plan price, or the individual price when set. */
  base: string;
  baseMinor: bigint;
  individual: boolean;
  /** Whether a discount applies on `today`. */
  discountActive: boolean;
  /** `10%` or `100.00`, for people. */
  discount: string | null;
  discountUntil: string | null;
  /** What a month costs today, after the discount. */
  amount: string;
  amountMinor: bigint;
}

/** A discount for people: `10%`, `12.5%`, or the amount in the currency. */
export function describeDiscount(d: Discount | null, currency: string): string | null {
  if (!d) return null;
  if (d.kind === 'percent') return `${(d.basisPoints / 100).toFixed(2).replace(/\.?0+$/, '')}%`;
  return toDecimalString(d.minor, currency);
}

/** The monthly price of a service on `today` (`YYYY-MM-DD`): individual price or plan price, then the discount if still valid. */
export function monthlyPrice(service: Pick<Service, 'individualPriceMinor' | 'discount' | 'discountUntil'>, plan: { priceMinor: bigint; currency: string }, today: string): MonthlyPrice {
  const baseMinor = service.individualPriceMinor ?? plan.priceMinor;
  const discountActive = service.discount !== null && (service.discountUntil === null || service.discountUntil >= today);
  const amountMinor = discountActive ? applyDiscount(baseMinor, service.discount!) : baseMinor;
  return {
    currency: plan.currency,
    base: toDecimalString(baseMinor, plan.currency),
    baseMinor,
    individual: service.individualPriceMinor !== null,
    discountActive,
    discount: describeDiscount(service.discount, plan.currency),
    discountUntil: service.discountUntil,
    amount: toDecimalString(amountMinor, plan.currency),
    amountMinor,
  };
}
