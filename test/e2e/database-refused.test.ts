// An error the database raises that ispctl has no better words for (here: the invoice number
// counter set back by hand, so the next number is taken), through the built binary on PostgreSQL:
// one line in the database's words with its detail, not the statement's seventy lines; the
// statement with DEBUG=1, never the values sent with it; nothing written.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import knexFactory from 'knex';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { createPgDatabase } from '../helpers/db.js';

describe('a statement the database refuses, from the shell', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'ispctl-refused-'));
  let database: Awaited<ReturnType<typeof createPgDatabase>>;
  let env: Record<string, string>;
  const cli = (args: string[], extra: Record<string, string> = {}) => runCli(args, { env: { ...env, ...extra } });
  const invoices = async () => {
    const k = knexFactory({ client: 'pg', connection: database.url, pool: { min: 0, max: 1 } });
    try {
      return Number((await k.raw('select count(*)::int as n from invoices')).rows[0].n);
    } finally {
      await k.destroy();
    }
  };

  beforeAll(async () => {
    database = await createPgDatabase('ispctl_refused', { migrated: true });
    env = { DATABASE_URL: database.url, ISPCTL_DATA_DIR: join(tmp, 'data'), ISPCTL_CONFIG_DIR: join(tmp, 'config'), ISPCTL_NOW: '2026-11-01T08:00:00+08:00', ISPCTL_ROUTER_TIMEOUT: '1' };
    expect((await cli(['init', '--isp-name', 'Juan Net', '--currency', 'PHP', '--timezone', 'Asia/Manila', '--yes'])).code).toBe(0);
    // A router nobody answers for: the subscriber's router work stays queued, which billing does not need.
    expect((await cli(['router', 'add', 'core1', '--host', '127.0.0.1', '--api-port', '9', '--api-user', 'ispctl', '--api-password', 'pw-core1'])).code).toBe(0);
    expect((await cli(['plan', 'create', 'Fiber 50', '--price', '1500', '--download', '50M', '--upload', '10M'])).code).toBe(0);
    const add = await cli(['subscriber', 'add', '--name', 'Juan dela Cruz', '--username', 'juan', '--password', 'pw-juan', '--plan', 'Fiber 50', '--router', 'core1', '--start-date', '2026-10-01']);
    expect([0, 3], add.stderr).toContain(add.code);
    const gen = await cli(['billing', 'generate']);
    expect(gen.code, gen.stderr).toBe(0);
    expect(gen.stdout).toContain('INV-2026-000001');
    // Someone sets the counter back: the next invoice would be numbered INV-2026-000001 again.
    const k = knexFactory({ client: 'pg', connection: database.url, pool: { min: 0, max: 1 } });
    await k.raw(`update invoice_number_counters set last_value = 0`);
    await k.destroy();
  });
  afterAll(async () => {
    await database?.drop();
    rmSync(tmp, { recursive: true, force: true });
  });

  it('says what the database said, in one line, with the detail; exit 1; nothing written', async () => {
    const r = await cli(['billing', 'generate', '--period', '2026-12', '--dry-run']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('Error: The database refused a statement (SQLSTATE 23505): duplicate key value violates unique constraint "invoices_number_key": Key (number)=(INV-2026-000001) already exists.');
    expect(r.stderr).toContain('Run again with DEBUG=1 to see the statement');
    expect(r.stderr).not.toMatch(/\bselect\b|insert into|\$1/);
    expect(r.stderr.trim().split('\n')).toHaveLength(2);

    const j = await cli(['billing', 'generate', '--period', '2026-12', '--dry-run', '--json']);
    expect(j.code).toBe(1);
    expect(j.json).toEqual({ ok: false, error: { code: 'DATABASE_REFUSED', message: expect.stringContaining('Key (number)=(INV-2026-000001) already exists'), suggestions: [expect.stringContaining('DEBUG=1')] } });
    expect(await invoices()).toBe(1);
  });

  it('DEBUG=1 shows the statement, with placeholders where the values went', async () => {
    const r = await cli(['billing', 'generate', '--period', '2026-12', '--dry-run'], { DEBUG: '1' });
    expect(r.code).toBe(1);
    const statement = r.stderr.slice(r.stderr.indexOf('The statement:\n'));
    expect(statement).toMatch(/insert into invoices/);
    expect(statement).toMatch(/\$1/);
    expect(statement).not.toContain('Juan dela Cruz');
  });
});
