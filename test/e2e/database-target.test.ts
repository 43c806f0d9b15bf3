// Which database a command uses, and what it refuses to do to one: ISPCTL_DATABASE_URL wins over
// DATABASE_URL, another application's database gets no ispctl tables unless `db migrate` is told
// to, and a read command on a database never initialised says so instead of printing nothing.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import knexFactory from 'knex';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, tempDataDir } from '../helpers/cli.js';
import { createPgDatabase } from '../helpers/db.js';

describe('the database a command is pointed at', () => {
  const data = tempDataDir();
  let foreign: Awaited<ReturnType<typeof createPgDatabase>>;
  let ours: Awaited<ReturnType<typeof createPgDatabase>>;

  beforeAll(async () => {
    [foreign, ours] = await Promise.all([createPgDatabase('shop'), createPgDatabase('isp', { migrated: true })]);
    const k = knexFactory({ client: 'pg', connection: foreign.url, pool: { min: 0, max: 1 } });
    await k.raw('create table orders (id serial primary key, total numeric)');
    await k.destroy();
  });
  afterAll(async () => {
    data.remove();
    await Promise.all([foreign?.drop(), ours?.drop()]);
  });

  async function tablesOf(url: string): Promise<string[]> {
    const k = knexFactory({ client: 'pg', connection: url, pool: { min: 0, max: 1 } });
    try {
      const r = await k.raw(`select table_name from information_schema.tables where table_schema = 'public' order by 1`);
      return (r.rows as Array<{ table_name: string }>).map((x) => x.table_name);
    } finally {
      await k.destroy();
    }
  }

  it('a read command on a data directory never initialised says so, and creates nothing', async () => {
    const r = await runCli(['subscriber', 'list', '--json'], { env: data.env });
    expect(r.code, r.stderr).toBe(1);
    expect(r.json).toMatchObject({ ok: false, error: { code: 'NOT_INITIALISED' } });
    expect(r.json.error.suggestions.join(' ')).toContain('ispctl init');
    expect(existsSync(join(data.dir, 'data', 'pgdata'))).toBe(false);
  });

  it("refuses to create its schema in another application's database, and prefers ISPCTL_DATABASE_URL", async () => {
    // DATABASE_URL is the shop's; ISPCTL_DATABASE_URL names ispctl's own: ispctl uses its own.
    const mine = await runCli(['plan', 'list', '--json'], { env: { ...data.env, DATABASE_URL: foreign.url, ISPCTL_DATABASE_URL: ours.url } });
    expect(mine.code, mine.stderr).toBe(0);
    expect(mine.json).toMatchObject({ ok: true, data: [] });

    // Only DATABASE_URL, the shop's: refused, and the shop's database is left as it was.
    const refused = await runCli(['plan', 'create', 'Fiber 50', '--price', '1500', '--download', '50M', '--upload', '10M', '--json'], {
      env: { ...data.env, ISPCTL_DATABASE_URL: undefined, DATABASE_URL: foreign.url },
    });
    expect(refused.code, refused.stderr).toBe(1);
    expect(refused.json).toMatchObject({ ok: false, error: { code: 'FOREIGN_DATABASE' } });
    expect(refused.json.error.message).toContain('orders');
    expect(refused.json.error.suggestions.join(' ')).toContain('--allow-foreign-tables');
    expect(await tablesOf(foreign.url)).toEqual(['orders']);

    // Told to, db migrate creates the schema beside the shop's table.
    const told = await runCli(['db', 'migrate', '--allow-foreign-tables', '--json'], { env: { ...data.env, ISPCTL_DATABASE_URL: foreign.url } });
    expect(told.code, told.stderr).toBe(0);
    const tables = await tablesOf(foreign.url);
    expect(tables).toContain('orders');
    expect(tables).toContain('knex_migrations');
    expect(tables).toContain('subscribers');
  });
});
