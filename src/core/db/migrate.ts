import type { Knex } from 'knex';
import { migrations, type Migration } from '../../../migrations/index.js';
import { IspctlError } from '../errors.js';
import type { Database } from './connection.js';

const source: Knex.MigrationSource<Migration> = {
  getMigrations: async () => migrations,
  getMigrationName: (m) => m.name,
  getMigration: async (m) => m,
};

const config: Knex.MigratorConfig = { migrationSource: source, tableName: 'knex_migrations' };

export interface MigrationStatus {
  /** The latest applied migration, or null on an empty database. */
  version: string | null;
  applied: string[];
  pending: string[];
}

export async function migrationStatus(knex: Knex): Promise<MigrationStatus> {
  const [completed, pending] = (await knex.migrate.list(config)) as [Array<{ name: string }>, Migration[]];
  const applied = completed.map((c) => c.name);
  return { version: applied.at(-1) ?? null, applied, pending: pending.map((m) => m.name) };
}

/** Applies pending migrations; returns the names applied. Safe to run concurrently on PostgreSQL (knex takes a lock). */
export async function migrateLatest(knex: Knex): Promise<string[]> {
  const [, applied] = (await knex.migrate.latest(config)) as [number, string[]];
  return applied;
}

/**
 * Applies pending migrations up to and including `name` and no further: a database at an older
 * schema version, as an upgrade finds it. Returns the names applied.
 */
export async function migrateUpTo(knex: Knex, name: string): Promise<string[]> {
  const upTo = migrations.findIndex((m) => m.name === name);
  if (upTo < 0) throw new RangeError(`no migration named ${name}`);
  const older: Knex.MigrationSource<Migration> = { ...source, getMigrations: async () => migrations.slice(0, upTo + 1) };
  const [, applied] = (await knex.migrate.latest({ ...config, migrationSource: older })) as [number, string[]];
  return applied;
}

export function latestMigrationName(): string {
  return migrations.at(-1)!.name;
}

/**
 * Every migration applied (not only the latest name: migrations written at the same time land
 * in any order, and one with an earlier timestamp may arrive after a later one was applied).
 * One query (every command asks before its work); not for use inside a transaction.
 */
export async function isUpToDate(knex: Knex): Promise<boolean> {
  try {
    const applied = new Set(((await knex('knex_migrations').select('name')) as Array<{ name: string }>).map((r) => r.name));
    return migrations.every((m) => applied.has(m.name));
  } catch (err) {
    // No migration table yet (undefined_table): nothing is applied.
    if ((err as { code?: string }).code === '42P01') return false;
    throw err;
  }
}

/**
 * What a database holds before ispctl migrates it: its own schema (`ispctl`, migrated or not
 * quite), nothing at all (`empty`), or tables of something else and none of ours (`foreign`).
 */
export type SchemaState = { kind: 'ispctl' } | { kind: 'empty' } | { kind: 'foreign'; tables: string[] };

export async function inspectSchema(knex: Knex): Promise<SchemaState> {
  if (await knex.schema.hasTable('knex_migrations')) return { kind: 'ispctl' };
  const rows = (await knex.raw(
    `select table_name as name from information_schema.tables
      where table_schema = current_schema() and table_type in ('BASE TABLE', 'VIEW')
      order by table_name`,
  )) as { rows: Array<{ name: string }> };
  const tables = rows.rows.map((r) => r.name);
  return tables.length === 0 ? { kind: 'empty' } : { kind: 'foreign', tables };
}

/** Refusal to create ispctl's schema in a database that holds another application's tables. */
export function foreignDatabase(location: string, tables: string[]): IspctlError {
  const shown = tables.slice(0, 5).join(', ') + (tables.length > 5 ? `, … (${tables.length} tables)` : '');
  return new IspctlError(
    'FOREIGN_DATABASE',
    `The database at ${location} holds tables that are not ispctl's (${shown}); ispctl will not create its schema beside them.`,
    {
      kind: 'failure',
      suggestions: [
        'Point ispctl at a database of its own: set ISPCTL_DATABASE_URL (it wins over DATABASE_URL) or pass --database-url',
        'If sharing this database is intended, run `ispctl db migrate --allow-foreign-tables` once',
      ],
      details: { tables: tables.length },
    },
  );
}

/** What `db status` shows: the engine, where the database is, and its migrations. */
export interface DatabaseStatus extends MigrationStatus {
  engine: Database['engine'];
  location: string;
}

export async function databaseStatus(db: Database): Promise<DatabaseStatus> {
  return { engine: db.engine, location: db.location, ...(await migrationStatus(db.knex)) };
}

export interface MigrateDatabaseResult {
  engine: Database['engine'];
  location: string;
  /** Migrations applied now (empty when the database was up to date). */
  applied: string[];
  version: string | null;
}

/**
 * `db migrate`: applies pending migrations, refusing (FOREIGN_DATABASE) to create the schema
 * beside another application's tables unless `allowForeignTables`.
 */
export async function migrateDatabase(db: Database, opts: { allowForeignTables?: boolean } = {}): Promise<MigrateDatabaseResult> {
  const schema = await inspectSchema(db.knex);
  if (schema.kind === 'foreign' && !opts.allowForeignTables) throw foreignDatabase(db.location, schema.tables);
  const applied = await migrateLatest(db.knex);
  const status = await migrationStatus(db.knex);
  return { engine: db.engine, location: db.location, applied, version: status.version };
}
