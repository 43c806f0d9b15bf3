// Router health from consecutive checks. Each check logs in over the API and reads identity and
// resources; a router is online after a good check, degraded after `degradedAfter` failed checks
// in a row, and offline after `offlineAfter` when it cannot be reached at all. A router that
// answers but refuses the login stays degraded: it is there, but ispctl cannot work on it.
//
// Health never changes anybody's access: an offline router suspends and restores no one. Its
// queued work waits in the outbox, and a router coming back is reported so the daemon runs its
// jobs at once.
import type { Knex } from 'knex';
import type { ServiceContext } from '../context.js';
import { routerConnectOptions } from '../routers/check.js';
import { loadHubSettings } from '../onboarding/hub.js';
import { markRegistered, registeringAdviceFor } from '../onboarding/state.js';
import { toRouter, type Router, type RouterStatus } from '../routers/service.js';
import { changeRouterStatus } from '../routers/status.js';
import { RouterOSClient, RouterOSConnectError, RouterOSConnectionClosedError, RouterOSLoginError, RouterOSTimeoutError, menu } from '../routeros/index.js';
import type { RouterRow } from '../db/rows.js';
import { describeError as errorText } from '../error-text.js';

export interface HealthThresholds {
  /** Failed checks in a row after which a router is degraded (≥ 1). */
  degradedAfter: number;
  /** Failed checks in a row after which an unreachable router is offline (≥ degradedAfter). */
  offlineAfter: number;
}

export type ProbeResult =
  | { ok: true; identity?: string; version?: string; board?: string }
  /** `reachable`: the router answered but refused the login or failed a command. */
  | { ok: false; reachable: boolean; error: string };

export interface HealthState {
  status: RouterStatus;
  failures: number;
}

/**
 * The state after one check. A good check: online, count reset. A failed one counts; the status
 * goes to degraded and offline at the thresholds, never improves on a failure (a router someone
 * else already saw offline stays offline), and a router that answers is at worst degraded.
 * `contactSinceLastCheck`: something else (e.g. a provisioning run) talked to the router since
 * the last check, so the count starts again.
 */
export function nextHealth(prev: HealthState, probe: ProbeResult, t: HealthThresholds, contactSinceLastCheck = false): HealthState {
  if (probe.ok) return { status: 'online', failures: 0 };
  const failures = (contactSinceLastCheck ? 0 : prev.failures) + 1;
  // Not set up yet (pending), or waiting for its tunnel (registering): not a failure of a router in service.
  if (prev.status === 'pending' || prev.status === 'registering') return { status: prev.status, failures };
  const rank: Record<RouterStatus, number> = { pending: 0, registering: 0, unknown: 0, online: 1, degraded: 2, offline: 3 };
  const byCount: RouterStatus = failures >= t.offlineAfter ? 'offline' : failures >= t.degradedAfter ? 'degraded' : prev.status;
  let status = rank[prev.status] > rank[byCount] ? prev.status : byCount;
  if (probe.reachable && status === 'offline') status = 'degraded';
  return { status, failures };
}

function describeError(err: unknown): string {
  if (err instanceof RouterOSLoginError) return `refused the API user or password (${err.message})`;
  return errorText(err);
}

/** Logs in and reads identity and resources; never throws for the router's own failures. */
export async function probeRouter(ctx: ServiceContext, router: Router, timeoutMs: number): Promise<ProbeResult> {
  const opts = await routerConnectOptions(ctx, router, { timeoutMs });
  let client: RouterOSClient | undefined;
  try {
    client = await RouterOSClient.connect(opts);
    const [identity] = await menu.print(client, '/system/identity');
    const [resource] = await menu.print(client, '/system/resource');
    return { ok: true, identity: identity?.name, version: resource?.version, board: resource?.['board-name'] };
  } catch (err) {
    const unreachable = err instanceof RouterOSConnectError || err instanceof RouterOSConnectionClosedError || err instanceof RouterOSTimeoutError;
    return { ok: false, reachable: !unreachable, error: describeError(err) };
  } finally {
    if (client) await client.close().catch(() => undefined);
  }
}

export interface HealthChange {
  routerId: number;
  router: string;
  from: RouterStatus;
  to: RouterStatus;
  failures: number;
  error?: string;
}

export interface HealthRunResult {
  checked: number;
  /** Routers still registering past REGISTERING_ADVICE_AFTER_MS, with what to check. */
  registering: Array<{ router: string; advice: string }>;
  online: number;
  degraded: number;
  offline: number;
  changes: HealthChange[];
  /** Routers that are online again after being degraded, offline or unknown: run their jobs now. */
  returned: number[];
  /** Routers that could not be checked for a reason on this side (e.g. no secret key). */
  errors: Array<{ router: string; error: string }>;
}

export interface HealthRunOptions extends HealthThresholds {
  timeoutMs: number;
  /** Routers checked at once. Default 16. */
  concurrency?: number;
  /** Only these routers (ids). */
  routerIds?: number[];
  /** Replaces the API probe (tests). */
  probe?: (router: Router) => Promise<ProbeResult>;
}

/**
 * Checks every router (or `routerIds`) and records status, the failure count, the last contact
 * and what the router said about itself. Returns the status changes and the routers that came back.
 */
export async function checkRoutersHealth(ctx: ServiceContext, opts: HealthRunOptions): Promise<HealthRunResult> {
  const db = ctx.db as Knex;
  // Pending routers have no address yet: nothing to check.
  const q = db('routers').select('*').whereNot('status', 'pending').whereNotNull('host').orderBy('name');
  if (opts.routerIds) q.whereIn('id', opts.routerIds);
  const rows: RouterRow[] = await q;
  const hub = await loadHubSettings(db);
  const result: HealthRunResult = { checked: 0, registering: [], online: 0, degraded: 0, offline: 0, changes: [], returned: [], errors: [] };
  const queue = [...rows];
  const probe = opts.probe ?? ((r: Router) => probeRouter(ctx, r, opts.timeoutMs));
  await Promise.all(
    Array.from({ length: Math.min(opts.concurrency ?? 16, queue.length) }, async () => {
      for (let row = queue.shift(); row; row = queue.shift()) {
        const router = toRouter(row);
        let outcome: ProbeResult;
        try {
          outcome = await probe(router);
        } catch (err) {
          // A problem on this side (no key to decrypt the password): says nothing about the router.
          result.errors.push({ router: router.name, error: errorText(err) });
          continue;
        }
        const checkedAt = row.health_checked_at;
        const lastContact = row.last_contact_at;
        const contactSince = Boolean(checkedAt && lastContact && lastContact.getTime() > checkedAt.getTime());
        const prev: HealthState = { status: router.status, failures: Number(row.consecutive_failures ?? 0) };
        const next = nextHealth(prev, outcome, opts, contactSince);
        const now = ctx.clock.now();
        if (outcome.ok && prev.status === 'registering') await markRegistered(db, router.id, now);
        let lastError = outcome.ok ? null : outcome.error;
        if (!outcome.ok && next.status === 'registering') {
          const advice = await registeringAdviceFor(db, router, now, outcome.error, hub);
          if (advice) {
            lastError = advice;
            result.registering.push({ router: router.name, advice });
          }
        }
        const update: Partial<Record<keyof RouterRow, unknown>> = {
          consecutive_failures: next.failures,
          health_checked_at: db.fn.now(),
          last_error: lastError,
        };
        if (outcome.ok || outcome.reachable) update.last_contact_at = now;
        if (outcome.ok) {
          if (outcome.identity !== undefined) update.identity = outcome.identity;
          if (outcome.version !== undefined) update.version = outcome.version;
          if (outcome.board !== undefined) update.board = outcome.board;
        }
        // Conditioned on the status this check started from: a router someone else moved meanwhile is theirs.
        if (!(await changeRouterStatus(db, router.id, { from: prev.status, to: next.status, set: update }))) continue;
        result.checked++;
        if (next.status === 'online') result.online++;
        else if (next.status === 'degraded') result.degraded++;
        else if (next.status === 'offline') result.offline++;
        if (next.status !== prev.status) {
          result.changes.push({ routerId: router.id, router: router.name, from: prev.status, to: next.status, failures: next.failures, ...(outcome.ok ? {} : { error: outcome.error }) });
          if (next.status === 'online') result.returned.push(router.id);
        }
      }
    }),
  );
  result.changes.sort((a, b) => a.router.localeCompare(b.router));
  return result;
}

