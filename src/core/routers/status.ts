// The router status state machine, changed in one place. A router is added `pending` (no
// address yet) or `unknown`; an address given by hand makes a pending one `unknown`; printing
// its install script makes it `registering` (waiting for its tunnel); from then on checks and
// the daemon's health pass move it between online, degraded and offline. Every writer of
// `routers.status` calls changeRouterStatus, which refuses a change the machine does not allow
// and writes only while the router still has a status the change was decided from.
import type { Db } from '../db/tx.js';
import { ROUTER_STATUSES, type RouterStatus } from './service.js';

/** For each status, the statuses a router may reach it from (a router keeps its status freely). */
export const ROUTER_TRANSITIONS: Readonly<Record<RouterStatus, readonly RouterStatus[]>> = {
  pending: [],
  registering: ['pending', 'unknown', 'online', 'degraded', 'offline'],
  unknown: ['pending'],
  online: ['registering', 'unknown', 'degraded', 'offline'],
  degraded: ['unknown', 'online', 'offline'],
  offline: ['unknown', 'online', 'degraded'],
};

/** Whether a router may go from `from` to `to`; staying where it is always may. */
export function routerTransitionAllowed(from: RouterStatus, to: RouterStatus): boolean {
  return from === to || (ROUTER_TRANSITIONS[to]?.includes(from) ?? false);
}

export interface RouterStatusChange {
  to: RouterStatus;
  /** The status (or statuses) the change was decided from; by default any the machine allows. */
  from?: RouterStatus | readonly RouterStatus[];
  /** When the status changed (status_changed_at, written only when it does); the database's now() by default. */
  at?: Date;
  /** Columns written in the same statement (health counters, last error, identity…; status_changed_at to set it even when the status stays). */
  set?: Record<string, unknown>;
}

/**
 * Sets a router's status (and `set`) in one conditional UPDATE: only while its status is one of
 * `from` that may reach `to`. Returns false when nothing was written: the change is not allowed,
 * or the router has moved on since it was read (or is gone).
 */
export async function changeRouterStatus(db: Db, routerId: number, change: RouterStatusChange): Promise<boolean> {
  const from = change.from === undefined ? ROUTER_STATUSES : typeof change.from === 'string' ? [change.from] : change.from;
  const allowed = from.filter((f) => routerTransitionAllowed(f, change.to));
  if (!allowed.length) return false;
  const changedAt = change.at === undefined ? db.raw('now()') : db.raw('?::timestamptz', [change.at]);
  const n = await db('routers')
    .where({ id: routerId })
    .whereIn('status', allowed)
    .update({
      status_changed_at: db.raw('case when status = ? then status_changed_at else ? end', [change.to, changedAt]),
      ...change.set,
      status: change.to,
    });
  return Number(n) > 0;
}
