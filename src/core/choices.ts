// What a terminal prompt offers when a command is missing a plan, a router or a subscriber: the
// lists come from the core services, so the prompt itself never reaches the database.
import type { ServiceContext } from './context.js';
import { formatMoney } from './money.js';
import { listPlans } from './plans/service.js';
import { listRouters } from './routers/service.js';
import { formatSpeed } from './speed.js';
import { listSubscribers } from './subscribers/service.js';

/** One entry of a pick list: `value` is what the flag or argument receives. */
export interface Choice {
  value: string;
  name: string;
  description?: string;
}

/** The plans, by name, with price and speeds. */
export async function planChoices(ctx: Pick<ServiceContext, 'db'>): Promise<Choice[]> {
  const plans = await listPlans(ctx.db);
  return plans.map((p) => ({
    value: p.name,
    name: `${p.name}  ${formatMoney(p.priceMinor, p.currency)}  download ${formatSpeed(p.downloadKbps)} / upload ${formatSpeed(p.uploadKbps)}`,
  }));
}

/** The routers, by name, with mode and host. */
export async function routerChoices(ctx: Pick<ServiceContext, 'db'>): Promise<Choice[]> {
  const routers = await listRouters(ctx.db);
  return routers.map((r) => ({ value: r.name, name: `${r.name}  ${r.mode} mode  ${r.host}` }));
}

/** Up to `limit` subscribers matching `term` (all of them, first ones, when it is blank), by account number. */
export async function subscriberChoices(ctx: Pick<ServiceContext, 'db'>, term: string | undefined, limit = 10): Promise<Choice[]> {
  const rows = await listSubscribers(ctx.db, { search: term?.trim() || undefined, limit });
  return rows.map((r) => ({ value: r.accountNo, name: `${r.accountNo}  ${r.fullName}  ${r.username}`, description: `${r.plan} via ${r.router ?? '?'}` }));
}
