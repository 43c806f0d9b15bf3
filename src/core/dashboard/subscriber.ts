// One subscriber on the dashboard: profile and services, balance, recent invoices, live
// sessions and recent events. Read functions only; the actions are in actions.ts.
import type { ServiceContext } from '../context.js';
import { subscriberBalance, type BalanceDetails } from '../ledger/read-model.js';
import { listInvoices, type Invoice } from '../billing/invoices.js';
import { listCollectionEvents, type CollectionEvent } from '../collections/run.js';
import { listPayments, type Payment } from '../payments/service.js';
import { showSubscriber, type SubscriberDetails } from '../subscribers/service.js';
import { getSetting } from '../settings/service.js';
import { formatLocalDate, formatLocalDateTime, toLocalDate } from '../time.js';
import type { RadacctRow, RouterRow } from '../db/rows.js';
import { describeError } from '../error-text.js';

export interface LiveSession {
  username: string;
  router: string;
  address: string | null;
  uptime: string | null;
  /** Where ispctl learnt of it: FreeRADIUS accounting, or the router's /ppp/active. */
  source: 'radius' | 'router';
}

export interface SubscriberCard extends SubscriberDetails {
  balance: BalanceDetails;
  invoices: Invoice[];
  payments: Payment[];
  events: CollectionEvent[];
  /** Live sessions; undefined when they could not be read (router unreachable). */
  sessions: LiveSession[] | undefined;
  sessionError: string | null;
  /** The ISP's time zone: the card's dates and times are shown on its clock. */
  timezone: string;
}

export async function subscriberCard(ctx: ServiceContext, ref: string, opts: { routerTimeoutMs?: number } = {}): Promise<SubscriberCard> {
  const details = await showSubscriber(ctx, ref);
  const id = details.subscriber.id;
  const timezone = String((await getSetting(ctx.db, 'timezone')).value ?? 'UTC');
  const today = formatLocalDate(toLocalDate(ctx.clock.now(), timezone));
  const [balance, invoices, payments, events] = await Promise.all([
    subscriberBalance(ctx.db, id, today),
    listInvoices(ctx.db, { today, subscriberId: id, limit: 6 }),
    listPayments(ctx.db, { subscriberId: id, limit: 6 }),
    listCollectionEvents(ctx.db, { subscriberId: id, limit: 8 }),
  ]);
  const live = await liveSessions(ctx, details, opts.routerTimeoutMs ?? 3000, timezone);
  return { ...details, balance, invoices, payments, events, sessions: live.sessions, sessionError: live.error, timezone };
}

/**
 * Live sessions of the subscriber's current services: from FreeRADIUS accounting (open radacct
 * rows) for RADIUS-mode routers, from /ppp/active for API-mode routers (bounded by a timeout).
 */
async function liveSessions(ctx: ServiceContext, d: SubscriberDetails, timeoutMs: number, timezone: string): Promise<{ sessions: LiveSession[] | undefined; error: string | null }> {
  const current = d.services.filter((s) => s.endedOn === null && s.router);
  if (!current.length) return { sessions: [], error: null };
  const routers: Array<Pick<RouterRow, 'id' | 'name' | 'mode'>> = await ctx.db('routers').whereIn('id', current.map((s) => s.routerId!)).select('id', 'name', 'mode');
  const out: LiveSession[] = [];
  const errors: string[] = [];
  const radius = current.filter((s) => routers.find((r) => r.id === s.routerId)?.mode === 'radius');
  if (radius.length) {
    const rows: Array<Pick<RadacctRow, 'username' | 'framedipaddress' | 'acctstarttime'>> = await ctx.db('radacct')
      .whereIn('username', radius.map((s) => s.username))
      .whereNull('acctstoptime')
      .select('username', 'framedipaddress', 'acctstarttime');
    for (const r of rows) {
      const svc = radius.find((s) => s.username === r.username)!;
      out.push({ username: String(r.username), router: svc.router!, address: r.framedipaddress ?? null, uptime: r.acctstarttime ? `since ${formatLocalDateTime(new Date(r.acctstarttime), timezone)}` : null, source: 'radius' });
    }
  }
  const { RouterOSClient, menu, q } = await import('../routeros/index.js');
  const { routerConnectOptions } = await import('../routers/check.js');
  for (const r of routers.filter((x) => x.mode === 'api')) {
    const names = current.filter((s) => s.routerId === r.id).map((s) => s.username);
    let client: Awaited<ReturnType<typeof RouterOSClient.connect>> | undefined;
    try {
      client = await RouterOSClient.connect(await routerConnectOptions(ctx, r.name, { timeoutMs }));
      for (const name of names) {
        const rows = await menu.print(client, '/ppp/active', { where: [q.eq('name', name)], proplist: ['name', 'address', 'uptime'] });
        for (const row of rows) out.push({ username: name, router: r.name, address: row.address ?? null, uptime: row.uptime ?? null, source: 'router' });
      }
    } catch (err) {
      errors.push(`${r.name}: ${describeError(err)}`);
    } finally {
      await client?.close().catch(() => undefined);
    }
  }
  return { sessions: errors.length && !out.length ? undefined : out, error: errors.length ? errors.join('; ') : null };
}
