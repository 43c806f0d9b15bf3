// A PostgreSQL database for a fault test, seeded through the core services, and the environment
// the ispctl binary needs to use it.
import { openDatabase, type Database } from '../../src/core/db/connection.js';
import { FixedClock } from '../../src/core/clock.js';
import type { ServiceContext } from '../../src/core/context.js';
import { migrateLatest } from '../../src/core/db/migrate.js';
import { createPlan } from '../../src/core/plans/service.js';
import { addRouter } from '../../src/core/routers/service.js';
import { initialise } from '../../src/core/settings/init.js';
import { importSubscribers } from '../../src/core/subscribers/import.js';
import { randomBytes } from 'node:crypto';
import knexFactory from 'knex';
import { createPgDatabase } from '../helpers/db.js';

/** A new empty database on the server at `adminUrl` (a private cluster of one test file). */
async function databaseOn(adminUrl: string, prefix: string): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `${prefix}_${randomBytes(4).toString('hex')}`;
  const admin = knexFactory({ client: 'pg', connection: adminUrl, pool: { min: 0, max: 1 } });
  try {
    await admin.raw(`create database ${name}`);
  } finally {
    await admin.destroy();
  }
  const u = new URL(adminUrl);
  u.pathname = `/${name}`;
  return { url: u.toString(), drop: async () => undefined };
}

export const SECRET_KEY = 'c3'.repeat(32);

export interface Seeded {
  url: string;
  db: Database;
  ctx: ServiceContext;
  clock: FixedClock;
  env: Record<string, string>;
  close(): Promise<void>;
}

/** A migrated, initialised database (Asia/Manila, billing day 1, due in 15 days, grace 5). */
export async function seededPg(
  prefix: string,
  opts: { router?: { host: string; port: number; user: string; password: string }; mode?: 'api' | 'radius'; subscribers?: number; startDate?: string; adminUrl?: string } = {},
): Promise<Seeded> {
  const { url, drop } = opts.adminUrl ? await databaseOn(opts.adminUrl, prefix) : await createPgDatabase(prefix);
  const db = await openDatabase({ engine: 'postgres', url });
  await migrateLatest(db.knex);
  const clock = new FixedClock(`${opts.startDate ?? '2026-01-01'}T02:00:00Z`);
  const ctx: ServiceContext = { db: db.knex, engine: 'postgres', clock, actor: { user: 'tester', command: 'ispctl test' }, env: { ISPCTL_SECRET_KEY: SECRET_KEY } };
  await initialise(ctx, { values: { 'isp-name': 'Juan Net', currency: 'PHP', timezone: 'Asia/Manila', 'billing-day': 1, 'due-days': 15 } });
  const r = opts.router ?? { host: '127.0.0.61', port: 8728, user: 'u', password: 'p' };
  await addRouter(ctx, { name: 'core1', host: r.host, apiPort: r.port, apiUser: r.user, apiPassword: r.password, mode: opts.mode ?? 'api' });
  await createPlan(ctx, { name: 'Fiber 50', price: '1,500.00', download: '50M', upload: '10M' });
  const n = opts.subscribers ?? 0;
  if (n > 0) {
    const rows = Array.from({ length: n }, (_, i) => `Subscriber ${i},sub${i},Fiber 50,core1,${opts.startDate ?? '2026-01-01'}`);
    await importSubscribers(ctx, `full_name,username,plan,router,start_date\n${rows.join('\n')}\n`);
  }
  return {
    url,
    db,
    ctx,
    clock,
    env: { DATABASE_URL: url, ISPCTL_SECRET_KEY: SECRET_KEY, ISPCTL_ROUTER_TIMEOUT: '1' },
    async close() {
      await db.close();
      await drop();
    },
  };
}
