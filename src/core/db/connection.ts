// One way to reach the database: knex over PostgreSQL (pg) or embedded PGlite, with the same
// type parsing on both so the rest of the code never sees a difference.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import knexFactory, { type Knex } from 'knex';
import { describeTarget, type DatabaseTarget, type Engine } from './config.js';
import { environmentError } from './env-errors.js';
import { keepStatementApart } from './errors.js';
import { EMBEDDED_SOCKET_PORT, SERVER_START_MS, findServer, lockedError, mayStartServer, socketPathFits } from './embedded-client.js';
import { acquireFileLock, type FileLock, type LockHolder } from './lock.js';
import { errors } from '../error-catalogue.js';
import { describeError } from '../error-text.js';

export interface Database {
  knex: Knex;
  engine: Engine;
  /** Where it lives, password hidden. */
  location: string;
  /** Embedded: reached through the embedded database server rather than opened in this process. */
  served?: boolean;
  /**
   * Embedded through its server: hands this process's turn to whoever waits for the database (a
   * `payment record` from another shell during a long run), and takes it back at the next
   * statement. Call only between transactions. Elsewhere (PostgreSQL, PGlite in this process)
   * there is no turn to give: absent.
   */
  yieldTurn?(): Promise<void>;
  close(): Promise<void>;
}

export interface OpenOptions {
  /** Embedded mode: how long to wait for another process holding the database, in ms. */
  lockTimeoutMs?: number;
  /** What this process is doing, shown to other processes that wait for it. */
  command?: string;
  onLockWait?: (holder: LockHolder | undefined) => void;
  /** PostgreSQL pool size. */
  poolMax?: number;
}

const INT8 = 20;
const NUMERIC = 1700;
const DATE = 1082;

// int8 as bigint (money, ids, counts), numeric as exact strings, date as 'YYYY-MM-DD' strings
// (never a Date at local midnight).
const parsers: Record<number, (v: string) => unknown> = {
  [INT8]: (v) => BigInt(v),
  [NUMERIC]: (v) => v,
  [DATE]: (v) => v,
};

// knex prints connection errors and warnings itself; ours surface as thrown errors instead.
const quietLog = { warn() {}, error() {}, deprecate() {}, debug() {} };

/**
 * Every knex of ispctl: quiet, and a failed statement's error in the database's own words. knex
 * puts the statement's whole text before the message (a statement of 70 lines on the terminal
 * and in a log line), and by default writes the values bound to `?` into that text, where a value
 * may be a secret; compileSqlOnError off keeps them out, keepStatementApart the text.
 */
function makeKnex(config: Knex.Config): Knex {
  const knex = knexFactory({ ...config, log: quietLog, compileSqlOnError: false });
  knex.on('query-error', (err: unknown, query: { sql?: unknown }) => keepStatementApart(err, query?.sql));
  return knex;
}

export async function openDatabase(target: DatabaseTarget, opts: OpenOptions = {}): Promise<Database> {
  if (target.engine === 'postgres') return openPostgres(target.url, opts);
  return openPglite(target, opts);
}

async function pgTypes() {
  const pg = await import('pg');
  const builtins = pg.default.types;
  return {
    getTypeParser(oid: number, format?: 'text' | 'binary') {
      const p = parsers[oid];
      if (p && format !== 'binary') return p;
      return builtins.getTypeParser(oid, format as 'text');
    },
  };
}

/**
 * What every PostgreSQL session of ispctl runs first, once per connection (a statement rather
 * than the startup packet's `options`, which connection poolers such as PgBouncer refuse).
 *
 * JIT off: PostgreSQL compiles a statement whose estimated cost passes jit_above_cost (100,000)
 * to machine code first, with inlining and optimisation past 500,000. ispctl's statements read
 * and write a chunk of rows by index in milliseconds, and an estimate thrown off by statistics
 * gathered mid-run (autovacuum during a mass suspension) put one chunk's read of collections at
 * 500,000: 118 functions compiled, 600-900 ms instead of 9 ms, a collections run of 10,000
 * suspensions 4.3 s instead of 1.1 s (auto_explain, bench/collections.mjs).
 */
export const SESSION_SETUP = 'set jit = off';

async function openPostgres(url: string, opts: OpenOptions): Promise<Database> {
  const types = await pgTypes();
  const knex = makeKnex({
    client: 'pg',
    connection: { connectionString: url, types, application_name: 'ispctl' } as Knex.PgConnectionConfig,
    pool: {
      min: 0,
      max: opts.poolMax ?? 10,
      afterCreate: (conn: { query(sql: string, cb: (err: Error | null) => void): void }, done: (err: Error | null, conn: unknown) => void) => conn.query(SESSION_SETUP, (err) => done(err, conn)),
    },
    acquireConnectionTimeout: 15_000,
  });
  try {
    await knex.raw('select 1');
  } catch (err) {
    await knex.destroy().catch(() => undefined);
    throw errors.databaseUnreachable(` at ${describeTarget({ engine: 'postgres', url })}`, describeError(err), err);
  }
  return {
    knex,
    engine: 'postgres',
    location: describeTarget({ engine: 'postgres', url }),
    close: () => knex.destroy(),
  };
}

async function openPglite(target: Extract<DatabaseTarget, { engine: 'pglite' }>, opts: OpenOptions): Promise<Database> {
  try {
    // Through the server when one runs (or this process may start one); else PGlite in-process.
    if (socketPathFits(target.dataDir)) {
      const served = await openServed(target, opts);
      if (served) return served;
    }
    return await startPglite(target, opts);
  } catch (err) {
    throw environmentError(err, { engine: 'pglite', dataDir: target.dataDir }) ?? err;
  }
}

/**
 * The embedded database through its server (embedded-server.ts): one connection, held until
 * close, so this process has the database to itself meanwhile, as with the lock. Undefined when
 * this process should open PGlite itself (the server could not start).
 */
async function openServed(target: Extract<DatabaseTarget, { engine: 'pglite' }>, opts: OpenOptions): Promise<Database | undefined> {
  mkdirSync(target.dataDir, { recursive: true, mode: 0o700 });
  const lockTimeoutMs = opts.lockTimeoutMs ?? 30_000;
  const lockPath = join(target.dataDir, 'db.lock');
  const types = await pgTypes();
  const started = Date.now();
  for (;;) {
    const found = await findServer(target.dataDir, { lockTimeoutMs: Math.max(0, lockTimeoutMs - (Date.now() - started)), onWait: opts.onLockWait, spawn: mayStartServer(target.dataDir) });
    if (found === 'in-process') return undefined;
    const remaining = Math.max(0, lockTimeoutMs - (Date.now() - started));
    if (found.busy) {
      if (remaining === 0) throw lockedError(lockPath, found.busy, lockTimeoutMs);
      opts.onLockWait?.(found.busy);
    }
    const knex = makeKnex({
      client: 'pg',
      connection: {
        host: join(found.socket, '..'),
        port: EMBEDDED_SOCKET_PORT,
        user: 'postgres',
        database: 'postgres',
        types,
        application_name: `ispctl[${process.pid}] ${opts.command ?? 'ispctl'}`,
        // Waiting for our turn: the server answers a connection when the previous one is done
        // (at least 2 s, for a turn that was free when we looked but taken by the time we connect).
        connectionTimeoutMillis: Math.max(2_000, remaining),
      } as Knex.PgConnectionConfig,
      // PGlite has one session: one connection, kept until close (our turn).
      pool: { min: 0, max: 1, idleTimeoutMillis: 24 * 3600_000 },
      acquireConnectionTimeout: Math.max(2_000, remaining, lockTimeoutMs) + 60_000,
    });
    try {
      await knex.raw('select 1');
    } catch (err) {
      await knex.destroy().catch(() => undefined);
      const text = describeError(err);
      if (/timeout/i.test(text)) throw lockedError(lockPath, found.busy ?? undefined, lockTimeoutMs);
      // The server went away between its hello and our connection (idle exit, killed), or is
      // still opening: look again.
      if (Date.now() - started > SERVER_START_MS + lockTimeoutMs) throw err;
      await new Promise((r) => setTimeout(r, 50));
      continue;
    }
    let closed = false;
    return {
      knex,
      engine: 'pglite',
      location: target.path,
      served: true,
      async yieldTurn() {
        if (closed) return;
        // The server serves one connection at a time, the others wait in line: closing ours lets
        // the next one in, and the next statement reconnects at the back of the line.
        await knex.destroy();
        // Reconnecting waits for our turn again: as long as the lock timeout allows.
        (knex.client as { connectionSettings: { connectionTimeoutMillis?: number } }).connectionSettings.connectionTimeoutMillis = Math.max(2_000, lockTimeoutMs);
        knex.initialize();
      },
      async close() {
        if (closed) return;
        closed = true;
        await knex.destroy();
      },
    };
  }
}

async function startPglite(target: Extract<DatabaseTarget, { engine: 'pglite' }>, opts: OpenOptions): Promise<Database> {
  mkdirSync(target.dataDir, { recursive: true, mode: 0o700 });
  const lock: FileLock = await acquireFileLock(join(target.dataDir, 'db.lock'), {
    timeoutMs: opts.lockTimeoutMs ?? 30_000,
    command: opts.command ?? 'ispctl',
    onWait: opts.onLockWait,
  });
  try {
    const [{ PGlite }, { default: ClientPgLite }] = await Promise.all([import('@electric-sql/pglite'), import('knex-pglite')]);
    const pglite = new PGlite(target.path, { parsers });
    await pglite.waitReady;
    const knex = makeKnex({
      client: ClientPgLite as unknown as typeof knexFactory.Client,
      dialect: 'postgres',
      connection: () => ({ pglite }) as unknown as Knex.StaticConnectionConfig,
    } as Knex.Config);
    let closed = false;
    return {
      knex,
      engine: 'pglite',
      location: target.path,
      async close() {
        if (closed) return;
        closed = true;
        try {
          await knex.destroy();
          if (!pglite.closed) await pglite.close();
        } finally {
          lock.release();
        }
      },
    };
  } catch (err) {
    lock.release();
    throw err;
  }
}
