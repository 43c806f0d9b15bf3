// Subscribers and their services as the rest of ispctl sees them, and the row mapping.
import type { AdminStatus, CollectionStatus } from '../access/policy.js';
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

type Row = Record<string, unknown>;

export function toSubscriber(r: Row, prefix = ''): Subscriber {
  const g = (k: string) => r[prefix + k];
  return {
    id: Number(g('id')),
    accountNo: g('account_no') as string,
    fullName: g('full_name') as string,
    email: (g('email') as string | null) ?? null,
    phone: (g('phone') as string | null) ?? null,
    address: (g('address') as string | null) ?? null,
    notes: (g('notes') as string | null) ?? null,
    createdAt: g('created_at') as Date,
    updatedAt: g('updated_at') as Date,
  };
}

export function toDiscount(kind: unknown, value: unknown): Discount | null {
  if (kind === 'fixed') return { kind: 'fixed', minor: BigInt(value as bigint) };
  if (kind === 'percent') return { kind: 'percent', basisPoints: Number(value) };
  return null;
}

export function toService(r: Row): Service {
  return {
    id: Number(r.id),
    subscriberId: Number(r.subscriber_id),
    planId: Number(r.plan_id),
    routerId: r.router_id === null || r.router_id === undefined ? null : Number(r.router_id),
    username: r.username as string,
    staticIp: r.static_ip === null || r.static_ip === undefined ? null : String(r.static_ip).replace(/\/32$/, ''),
    individualPriceMinor: r.individual_price_minor === null || r.individual_price_minor === undefined ? null : BigInt(r.individual_price_minor as bigint),
    discount: toDiscount(r.discount_kind, r.discount_value),
    discountUntil: (r.discount_until as string | null) ?? null,
    adminStatus: r.admin_status as AdminStatus,
    adminReason: (r.admin_reason as string | null) ?? null,
    adminSuspendedAt: (r.admin_suspended_at as Date | null) ?? null,
    collectionStatus: r.collection_status as CollectionStatus,
    startedOn: r.started_on as string,
    endedOn: (r.ended_on as string | null) ?? null,
    revision: Number(r.revision),
    createdAt: r.created_at as Date,
    updatedAt: r.updated_at as Date,
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
