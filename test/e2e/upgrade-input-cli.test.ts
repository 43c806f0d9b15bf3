// A command pointed at a database with migrations pending (an older ispctl's schema) checks its
// input before it migrates: bad input is refused with its error and exit code, and the schema is
// left at the older version. A command with good input then migrates it as before.
import knexFactory, { type Knex } from 'knex';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrations } from '../../migrations/index.js';
import { migrateUpTo } from '../../src/core/db/migrate.js';
import { runCli, tempDataDir } from '../helpers/cli.js';
import { createPgDatabase } from '../helpers/db.js';

describe('bad input on a database with migrations pending', () => {
  const data = tempDataDir();
  // A few migrations behind the latest: what an upgraded ispctl finds.
  const older = migrations.at(-4)!.name;
  let pg: Awaited<ReturnType<typeof createPgDatabase>>;
  let k: Knex;
  let env: Record<string, string>;
  const applied = async () => ((await k('knex_migrations').orderBy('id').select('name')) as Array<{ name: string }>).map((r) => r.name);

  beforeAll(async () => {
    pg = await createPgDatabase('upgrade');
    k = knexFactory({ client: 'pg', connection: pg.url, pool: { min: 0, max: 1 } });
    await migrateUpTo(k, older);
    // What `ispctl init` wrote then.
    await k('settings').insert(
      Object.entries({ 'isp-name': 'Juan Net', currency: 'PHP', timezone: 'Asia/Manila' }).map(([key, value]) => ({ key, value: JSON.stringify(value) })),
    );
    env = { ...data.env, ISPCTL_DATABASE_URL: pg.url, ISPCTL_NOW: '2026-12-02T02:30:00Z' };
  });
  afterAll(async () => {
    await k?.destroy();
    await pg?.drop();
    data.remove();
  });

  it('refuses bad input with its error and leaves the schema at the older version', async () => {
    const before = await applied();
    expect(before.at(-1)).toBe(older);
    expect(before.length).toBeLessThan(migrations.length);
    const cases: Array<{ args: string[]; code: string; message: string }> = [
      {
        args: ['payment', 'record', '--subscriber', 'juan', '--amount', '500', '--method', 'cash', '--received-at', '2026-12-01 9am'],
        code: 'INVALID_DATE',
        message: 'Received at "2026-12-01 9am" is not a date, or a date and a time of day.',
      },
      { args: ['payment', 'record', '--subscriber', 'juan', '--amount', '5OO', '--method', 'cash'], code: 'INVALID_AMOUNT', message: 'Amount "5OO"' },
      { args: ['payment', 'record', '--subscriber', 'juan', '--amount', '500', '--method', 'gcash'], code: 'MISSING_REFERENCE', message: 'A gcash payment needs --reference' },
      {
        args: ['payment', 'record', '--subscriber', 'juan', '--amount', '500', '--method', 'cash', '--received-at', '2026-12-03'],
        code: 'RECEIVED_IN_FUTURE',
        message: 'The payment cannot have been received on 2026-12-03',
      },
      { args: ['audit', 'list', '--since', 'yesterday'], code: 'INVALID_DATE', message: '--since "yesterday" is not a date' },
      { args: ['collections', 'run', '--today', '2026-02-30'], code: 'INVALID_DATE', message: '--today "2026-02-30" is not a real calendar date' },
      { args: ['subscriber', 'extend', 'juan', '--until', '12/10/2026'], code: 'INVALID_DATE', message: '--until "12/10/2026" is not a date' },
      { args: ['report', 'collections', '--from', '2026-11-31'], code: 'INVALID_DATE', message: 'From date "2026-11-31" is not a real calendar date' },
      { args: ['settings', 'set', 'grace-days', 'five'], code: 'INVALID_SETTING_VALUE', message: 'grace-days must be' },
      { args: ['settings', 'set', 'grace-dayz', '5'], code: 'UNKNOWN_SETTING', message: 'There is no setting called "grace-dayz"' },
      { args: ['billing', 'generate', '--period', '2026-13'], code: 'INVALID_PERIOD', message: '"2026-13" is not a month in the form YYYY-MM' },
      { args: ['report', 'revenue', '--from', '2026-1'], code: 'INVALID_MONTH', message: '--from must be a month written YYYY-MM' },
      { args: ['subscriber', 'add', '--name', 'Juan', '--username', 'juan', '--plan', 'Fiber', '--router', 'r1', '--email', 'juan@'], code: 'INVALID_EMAIL', message: 'The email "juan@" is not a valid email address' },
      { args: ['subscriber', 'add', '--name', 'Juan', '--username', 'juan', '--plan', 'Fiber', '--router', 'r1', '--discount', '10x%'], code: 'INVALID_PERCENT', message: 'Discount "10x%" is not a number' },
      { args: ['subscriber', 'edit', 'juan', '--price', 'abc'], code: 'INVALID_AMOUNT', message: 'Price "abc" is not a number' },
      { args: ['subscriber', 'edit', 'juan', '--static-ip', '10.0.0.300'], code: 'INVALID_STATIC_IP', message: 'The static IP "10.0.0.300" is not an IPv4 address' },
      { args: ['invoice', 'send', '--period', '2026-13'], code: 'INVALID_PERIOD', message: '--period "2026-13" is not a month in the form YYYY-MM' },
      { args: ['invoice', 'send', 'INV-2026-000001', '--unsent'], code: 'INVALID_SELECTION', message: 'Give an invoice number, or --period / --unsent for many, not both' },
    ];
    for (const c of cases) {
      const r = await runCli([...c.args, '--json'], { env });
      expect(r.code, `${c.args.join(' ')}: ${r.stdout}${r.stderr}`).toBe(2);
      expect(r.json.error.code).toBe(c.code);
      expect(r.json.error.message).toContain(c.message);
      expect(await applied(), c.args.join(' ')).toEqual(before);
    }
    // The same for a person at a terminal: the error on stderr, nothing migrated.
    const human = await runCli(['payment', 'record', '--subscriber', 'juan', '--amount', '500', '--method', 'cash', '--received-at', '2026-12-01 25:00'], { env });
    expect(human.code).toBe(2);
    expect(human.stderr).toContain('Error: Received at "2026-12-01 25:00" has no such time of day');
    expect(await applied()).toEqual(before);
  });

  it('a command with good input migrates the database as before', async () => {
    const list = await runCli(['payment', 'list', '--since', '2026-12-01 09:00', '--json'], { env });
    expect(list.code, list.stderr).toBe(0);
    expect(list.json.data).toEqual([]);
    expect(await applied()).toEqual(migrations.map((m) => m.name));
  });
});
