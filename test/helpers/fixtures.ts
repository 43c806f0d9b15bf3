// Shared set-ups through the core services, the same calls the commands make: an initialised
// ISP, a router, plans, subscribers with a service each, and the first invoices. Each piece has
// the defaults most tests use (Juan Net, PHP, Asia/Manila, billing day 1, due in 15 days; a
// router nobody answers on; Fiber 50 at 1,500.00) and takes what a test needs instead.
import { FixedClock, type Clock } from '../../src/core/clock.js';
import type { ServiceContext } from '../../src/core/context.js';
import { openDatabase } from '../../src/core/db/connection.js';
import { createPlan, type Plan, type PlanInput } from '../../src/core/plans/service.js';
import { addRouter, type Router, type RouterInput } from '../../src/core/routers/service.js';
import { initialise } from '../../src/core/settings/init.js';
import { setSettings } from '../../src/core/settings/service.js';
import { addSubscriber, type AddSubscriberResult, type SubscriberInput } from '../../src/core/subscribers/service.js';
import type { TestDb } from './db.js';

/** The encryption key of router passwords in tests (ISPCTL_SECRET_KEY). */
export const TEST_SECRET_KEY = 'a7'.repeat(32);

export const ISP_DEFAULTS = { 'isp-name': 'Juan Net', currency: 'PHP', timezone: 'Asia/Manila', 'billing-day': 1, 'due-days': 15 } as const;

/** A service context on `db` with a fixed clock and the test secret key. */
export function testContext(db: TestDb, clock: Clock = new FixedClock('2026-11-01T00:00:00Z'), env: Record<string, string | undefined> = {}): ServiceContext {
  return { ...db.ctx(clock), env: { ISPCTL_SECRET_KEY: TEST_SECRET_KEY, ...env } };
}

/**
 * A service context on a PostgreSQL database by URL (an end-to-end test's database, which the
 * built binary uses too), opened as the product opens it (openDatabase: bigint, numeric and date
 * parsing included), so the core services behave here as in the binary; close() when done.
 */
export async function pgContext(url: string, clock: Clock, env: Record<string, string | undefined> = {}): Promise<ServiceContext & { close(): Promise<void> }> {
  const database = await openDatabase({ engine: 'postgres', url }, { poolMax: 2 });
  return {
    db: database.knex,
    engine: 'postgres',
    clock,
    actor: { user: 'tester', command: 'ispctl test' },
    env: { ISPCTL_SECRET_KEY: TEST_SECRET_KEY, ...env },
    close: () => database.close(),
  };
}

export interface SubscriberSpec extends Partial<SubscriberInput> {
  username: string;
}

export interface SeededSubscriber {
  subscriberId: number;
  serviceId: number;
  accountNo: string;
  username: string;
  /** Router work the add queued (applied already when the seed was asked to). */
  jobIds: readonly number[];
}

export interface SeedOptions {
  /** `ispctl init` values over ISP_DEFAULTS. */
  settings?: Record<string, unknown>;
  /** Settings beyond init's (e.g. bill-suspended-services). */
  extraSettings?: Record<string, unknown>;
  /** Routers to add; by default one, `core1`, on an address nothing answers. `[]` for none. */
  routers?: Array<Partial<RouterInput>>;
  /** Plans to create; by default Fiber 50 at 1,500.00, 50M down, 10M up. */
  plans?: Array<Partial<PlanInput>>;
  /** Subscribers: a username, or a spec; plan and router default to the first of each. */
  subscribers?: Array<string | SubscriberSpec>;
  /** Start date of every service unless its spec says otherwise. */
  startDate?: string;
  /**
   * Applies each subscriber's router work as it is added (API-mode routers that answer, such as
   * the lab router); given the function the command would call.
   */
  apply?: (ctx: ServiceContext, jobIds: readonly number[]) => Promise<unknown>;
}

export interface Seeded {
  routers: Router[];
  plans: Plan[];
  subscribers: Record<string, SeededSubscriber>;
}

export const DEFAULT_ROUTER: RouterInput = { name: 'core1', host: '127.0.0.62', apiUser: 'u', apiPassword: 'p' };
export const DEFAULT_PLAN: PlanInput = { name: 'Fiber 50', price: '1,500.00', download: '50M', upload: '10M' };

/** init, routers, plans and subscribers, in that order: what most tests start from. */
export async function seedIsp(ctx: ServiceContext, opts: SeedOptions = {}): Promise<Seeded> {
  await initialise(ctx, { values: { ...ISP_DEFAULTS, ...opts.settings } });
  if (opts.extraSettings) await setSettings(ctx, opts.extraSettings);
  const routers: Router[] = [];
  for (const r of opts.routers ?? [{}]) routers.push(await addRouter(ctx, { ...DEFAULT_ROUTER, ...r } as RouterInput));
  const plans: Plan[] = [];
  for (const p of opts.plans ?? [{}]) plans.push(await createPlan(ctx, { ...DEFAULT_PLAN, ...p } as PlanInput));
  const subscribers = await addSubscribers(ctx, opts.subscribers ?? [], {
    plan: plans[0]?.name,
    router: routers[0]?.name,
    startDate: opts.startDate,
    apply: opts.apply,
  });
  return { routers, plans, subscribers };
}

/**
 * Subscribers with one service each. A bare username gets the full name "<username> Tester";
 * `defaults` fill what a spec leaves out.
 */
export async function addSubscribers(
  ctx: ServiceContext,
  specs: Array<string | SubscriberSpec>,
  defaults: { plan?: string; router?: string; startDate?: string; apply?: SeedOptions['apply'] } = {},
): Promise<Record<string, SeededSubscriber>> {
  const out: Record<string, SeededSubscriber> = {};
  for (const s of specs) {
    const spec: SubscriberSpec = typeof s === 'string' ? { username: s } : s;
    const input = {
      fullName: `${spec.username} Tester`,
      ...(defaults.plan ? { plan: defaults.plan } : {}),
      ...(defaults.router ? { router: defaults.router } : {}),
      ...(defaults.startDate ? { startDate: defaults.startDate } : {}),
      ...spec,
    } as SubscriberInput;
    const r: AddSubscriberResult = await addSubscriber(ctx, input);
    if (defaults.apply && r.jobIds.length) await defaults.apply(ctx, r.jobIds);
    out[spec.username] = { subscriberId: r.subscriber.id, serviceId: r.service.id, accountNo: r.subscriber.accountNo, username: spec.username, jobIds: r.jobIds };
  }
  return out;
}
