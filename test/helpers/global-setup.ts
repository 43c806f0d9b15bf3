// Global setup of the database and end-to-end projects (the unit project has none and starts
// nothing). Once per run it starts a PostgreSQL cluster and migrates one template database,
// which each test file clones (`create database x template t`) instead of running every
// migration again; and it migrates one in-memory PGlite and dumps its data directory, which
// each test file loads (loading skips PGlite's initdb as well as the migrations).
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import knexFactory from 'knex';
import { migrateLatest } from '../../src/core/db/migrate.js';
import { startPgCluster, type PgCluster } from './pg-cluster.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Superuser URL of the run's PostgreSQL server. */
    pgAdminUrl: string;
    /** Name of the migrated template database on that server. */
    pgTemplate: string;
    /** Path of a tar of a migrated PGlite data directory (PGlite's `loadDataDir`). */
    pgliteSnapshot: string;
  }
}

interface Infrastructure {
  url: string;
  template: string;
  pgliteSnapshot: string;
  stop(): Promise<void>;
}

// Global setup runs once per project; the projects share one cluster through globalThis.
interface Shared {
  infra?: Promise<Infrastructure>;
  users: number;
}
const g = globalThis as unknown as { __ispctlPg?: Shared };

async function createTemplate(adminUrl: string): Promise<string> {
  const name = `ispctl_template_${randomBytes(4).toString('hex')}`;
  const admin = knexFactory({ client: 'pg', connection: adminUrl, pool: { min: 0, max: 1 } });
  try {
    await admin.raw(`create database ${name}`);
  } finally {
    await admin.destroy();
  }
  const u = new URL(adminUrl);
  u.pathname = `/${name}`;
  const k = knexFactory({ client: 'pg', connection: u.toString(), pool: { min: 0, max: 1 } });
  try {
    await migrateLatest(k);
  } finally {
    // No connection may stay open on a template while it is cloned.
    await k.destroy();
  }
  return name;
}

async function dropDatabase(adminUrl: string, name: string): Promise<void> {
  const admin = knexFactory({ client: 'pg', connection: adminUrl, pool: { min: 0, max: 1 } });
  try {
    await admin.raw(`drop database if exists ${name} with (force)`);
  } finally {
    await admin.destroy();
  }
}

async function createPgliteSnapshot(dir: string): Promise<string> {
  const [{ PGlite }, { default: ClientPgLite }] = await Promise.all([import('@electric-sql/pglite'), import('knex-pglite')]);
  const pglite = new PGlite();
  await pglite.waitReady;
  const knex = knexFactory({ client: ClientPgLite as never, dialect: 'postgres', connection: () => ({ pglite }) as never });
  try {
    await migrateLatest(knex);
    // Uncompressed: gzip makes every load slower for a file that lives only during the run.
    const tar = await pglite.dumpDataDir('none');
    const file = join(dir, 'pglite-migrated.tar');
    await writeFile(file, Buffer.from(await tar.arrayBuffer()));
    return file;
  } finally {
    await knex.destroy();
    if (!pglite.closed) await pglite.close();
  }
}

// One PostgreSQL cluster per test run. Set ISPCTL_TEST_PG_URL to use an existing server instead
// (a superuser URL; each test file creates and drops its own database there).
async function start(): Promise<Infrastructure> {
  const external = process.env.ISPCTL_TEST_PG_URL;
  const dir = await mkdtemp(join(tmpdir(), 'ispctl-test-'));
  let cluster: PgCluster | undefined;
  const snapshot = createPgliteSnapshot(dir);
  snapshot.catch(() => undefined); // awaited below; not unhandled while PostgreSQL starts
  try {
    const url = external ?? (cluster = await startPgCluster()).url;
    const [template, pgliteSnapshot] = await Promise.all([createTemplate(url), snapshot]);
    return {
      url,
      template,
      pgliteSnapshot,
      async stop() {
        try {
          if (cluster) cluster.stop();
          else await dropDatabase(url, template);
        } finally {
          await rm(dir, { recursive: true, force: true });
        }
      },
    };
  } catch (err) {
    cluster?.stop();
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
}

export async function setup(project: TestProject) {
  const shared = (g.__ispctlPg ??= { users: 0 });
  shared.users++;
  shared.infra ??= start();
  const infra = await shared.infra;
  project.provide('pgAdminUrl', infra.url);
  project.provide('pgTemplate', infra.template);
  project.provide('pgliteSnapshot', infra.pgliteSnapshot);
}

export async function teardown() {
  const shared = g.__ispctlPg;
  if (!shared?.infra) return;
  if (--shared.users > 0) return;
  const infra = await shared.infra;
  shared.infra = undefined;
  await infra.stop();
}
