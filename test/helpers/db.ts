// Database tests run on both engines: embedded PGlite and the run's PostgreSQL cluster. Each
// test file gets fresh, migrated databases of its own: on PostgreSQL a clone of the run's
// template database, on PGlite a copy of the migrated snapshot the global setup dumped, so no
// test file runs the migrations itself.
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { describe, afterAll, beforeAll, inject } from 'vitest';
import type { Knex } from 'knex';
import knexFactory from 'knex';
import { FixedClock, type Clock } from '../../src/core/clock.js';
import type { ServiceContext } from '../../src/core/context.js';
import type { Engine } from '../../src/core/db/config.js';
import { openDatabase, type Database } from '../../src/core/db/connection.js';

export const ENGINES: Engine[] = ['pglite', 'postgres'];

export interface TestDb {
  engine: Engine;
  knex: Knex;
  /** Superuser URL of this database (postgres only). */
  url?: string;
  /** A service context with a fixed clock (default 2026-11-01T00:00:00Z) and a test actor. */
  ctx(clock?: Clock): ServiceContext;
  close(): Promise<void>;
}

/**
 * Creates a database on the run's cluster and returns its URL: empty by default, or with
 * `{ migrated: true }` a clone of the migrated template (what `ispctl init` would leave).
 */
export async function createPgDatabase(prefix = 't', opts: { migrated?: boolean } = {}): Promise<{ url: string; drop(): Promise<void> }> {
  const admin = inject('pgAdminUrl');
  const name = `${prefix}_${randomBytes(6).toString('hex')}`;
  const k = knexFactory({ client: 'pg', connection: admin, pool: { min: 0, max: 1 } });
  try {
    await k.raw(opts.migrated ? `create database ${name} template ${inject('pgTemplate')}` : `create database ${name}`);
  } finally {
    await k.destroy();
  }
  const u = new URL(admin);
  u.pathname = `/${name}`;
  return {
    url: u.toString(),
    async drop() {
      const k2 = knexFactory({ client: 'pg', connection: admin, pool: { min: 0, max: 1 } });
      await k2.raw(`drop database if exists ${name} with (force)`);
      await k2.destroy();
    },
  };
}

/**
 * A fresh database on `engine`, migrated unless `{ migrate: false }` (then empty, for tests of
 * the migrations themselves).
 */
export async function openTestDatabase(engine: Engine, opts: { migrate?: boolean } = {}): Promise<TestDb> {
  const migrated = opts.migrate !== false;
  let db: Database;
  let drop: (() => Promise<void>) | undefined;
  let url: string | undefined;
  if (engine === 'postgres') {
    const created = await createPgDatabase('t', { migrated });
    url = created.url;
    drop = created.drop;
    db = await openDatabase({ engine: 'postgres', url });
  } else {
    // In-memory PGlite: same engine as the embedded default, without the file lock.
    const { PGlite } = await import('@electric-sql/pglite');
    const { default: ClientPgLite } = await import('knex-pglite');
    const loadDataDir = migrated ? new Blob([await readFile(inject('pgliteSnapshot'))]) : undefined;
    const pglite = new PGlite({
      parsers: { 20: (v: string) => BigInt(v), 1700: (v: string) => v, 1082: (v: string) => v },
      ...(loadDataDir ? { loadDataDir } : {}),
    });
    await pglite.waitReady;
    const knex = knexFactory({ client: ClientPgLite as never, dialect: 'postgres', connection: () => ({ pglite }) as never } as Knex.Config);
    db = { knex, engine: 'pglite', location: 'memory://', close: async () => { await knex.destroy(); if (!pglite.closed) await pglite.close(); } };
  }
  return {
    engine,
    knex: db.knex,
    url,
    ctx(clock: Clock = new FixedClock('2026-11-01T00:00:00Z')): ServiceContext {
      return { db: db.knex, engine, clock, actor: { user: 'tester', command: 'ispctl test' }, env: {} };
    },
    async close() {
      await db.close();
      await drop?.();
    },
  };
}

/** describe() once per engine, with a fresh migrated database for the block. */
export function describeEachEngine(name: string, fn: (db: () => TestDb) => void): void {
  for (const engine of ENGINES) {
    describe(`${name} [${engine}]`, () => {
      let testDb: TestDb | undefined;
      beforeAll(async () => {
        testDb = await openTestDatabase(engine);
      });
      afterAll(async () => {
        await testDb?.close();
      });
      fn(() => {
        if (!testDb) throw new Error('test database not open yet');
        return testDb;
      });
    });
  }
}
