// Every list command in process against one PostgreSQL database with long names: at 80 columns
// (stdout is not a terminal here) no line is wider, long values are cut with …, never wrapped;
// --columns, --sort, --csv and --no-truncate on the one table module.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FixedClock } from '../../src/core/clock.js';
import type { ServiceContext } from '../../src/core/context.js';
import { addAdjustment } from '../../src/core/adjustments/service.js';
import { generateInvoices } from '../../src/core/billing/generate.js';
import { addGateway } from '../../src/core/intake/gateways.js';
import { recordPayment } from '../../src/core/payments/service.js';
import { createPlan } from '../../src/core/plans/service.js';
import { addRouter } from '../../src/core/routers/service.js';
import { initialise } from '../../src/core/settings/init.js';
import { addSubscriber } from '../../src/core/subscribers/service.js';
import { importSubscribers } from '../../src/core/subscribers/import.js';
import type { ProgressEvent } from '../../src/core/progress.js';
import { visibleWidth } from '../../src/cli/table.js';
import { resolveTarget } from '../../src/core/db/config.js';
import { openDatabase } from '../../src/core/db/connection.js';
import { createPgDatabase } from '../helpers/db.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const NOW = '2026-12-20T03:00:00Z';
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const COMMANDS: Record<string, () => Promise<unknown>> = (import.meta as any).glob('../../src/commands/**/*.ts');

/** Runs a command class in this process and returns what it printed. */
async function run(command: string, args: string[], url: string): Promise<{ stdout: string; stderr: string; code: number }> {
  const load = COMMANDS[`../../src/commands/${command.replace(' ', '/')}.ts`];
  if (!load) throw new Error(`no command ${command}`);
  const mod = (await load()) as { default: { run(argv: string[], root: string): Promise<unknown> } };
  const out: string[] = [];
  const err: string[] = [];
  const write = process.stdout.write.bind(process.stdout);
  const writeErr = process.stderr.write.bind(process.stderr);
  process.stdout.write = ((s: string) => (out.push(String(s)), true)) as typeof process.stdout.write;
  process.stderr.write = ((s: string) => (err.push(String(s)), true)) as typeof process.stderr.write;
  const before = process.exitCode;
  process.exitCode = undefined;
  try {
    await mod.default.run([...args, '--database-url', url], ROOT);
    return { stdout: out.join(''), stderr: err.join(''), code: Number(process.exitCode ?? 0) };
  } finally {
    process.stdout.write = write;
    process.stderr.write = writeErr;
    process.exitCode = before;
  }
}

describe('list commands', () => {
  let url = '';
  let drop: () => Promise<void> = async () => undefined;
  const saved = { now: process.env.ISPCTL_NOW, colour: process.env.NO_COLOR };
  const progress: ProgressEvent[] = [];

  beforeAll(async () => {
    const pg = await createPgDatabase('lists', { migrated: true });
    url = pg.url;
    drop = pg.drop;
    process.env.ISPCTL_NOW = NOW;
    process.env.NO_COLOR = '1';
    const db = await openDatabase(resolveTarget({ databaseUrl: url, env: {} }), { lockTimeoutMs: 5000, command: 'test' });
    const knex = db.knex;
    const clock = new FixedClock('2026-12-01T00:30:00Z');
    const ctx: ServiceContext = { db: knex, engine: 'postgres', clock, actor: { user: 'maria', command: 'ispctl test' }, env: { ISPCTL_SECRET_KEY: 'b4'.repeat(32) } };
    try {
      await initialise(ctx, { values: { 'isp-name': 'Juan Net', currency: 'PHP', timezone: 'Asia/Manila', 'billing-day': 1, 'due-days': 15 } });
      await addRouter(ctx, { name: 'tower-north-barangay-san-isidro', host: '127.0.0.63', apiUser: 'u', apiPassword: 'p' });
      await createPlan(ctx, { name: 'Fiber 50 Residential Unlimited Promo', price: '1,170.00', download: '50M', upload: '10M' });
      await addSubscriber(ctx, { fullName: 'Maria Clara de los Santos y Villanueva-Ramirez', username: 'maria.clara.delossantos', plan: 'Fiber 50 Residential Unlimited Promo', router: 'tower-north-barangay-san-isidro', startDate: '2026-12-01' });
      await addSubscriber(ctx, { fullName: 'Ana Reyes', username: 'ana', plan: 'Fiber 50 Residential Unlimited Promo', router: 'tower-north-barangay-san-isidro', startDate: '2026-12-01' });
      clock.set('2026-12-01T08:00:00+08:00');
      await generateInvoices(ctx);
      clock.set('2026-12-05T10:00:00+08:00');
      await recordPayment(ctx, { subscriber: 'ana', amount: '12,345.67', method: 'gcash', reference: 'GCASH-REFERENCE-0000000000000012345' });
      await addAdjustment(ctx, { subscriber: 'ana', type: 'outage_rebate', amount: '100', reason: 'Outage credit for the typhoon week in barangay San Isidro, towers north and east' });
      await addGateway(ctx, { name: 'paymongo-main-account-production', kind: 'paymongo' });
      // The core tells its caller how far an import is, and never prints.
      await importSubscribers(ctx, 'full_name,username,plan,router\nCarlo Santos,carlo,Fiber 50 Residential Unlimited Promo,tower-north-barangay-san-isidro\n', { onProgress: (p) => progress.push(p) });
    } finally {
      await db.close();
    }
  }, 120_000);
  afterAll(async () => {
    if (saved.now === undefined) delete process.env.ISPCTL_NOW;
    else process.env.ISPCTL_NOW = saved.now;
    if (saved.colour === undefined) delete process.env.NO_COLOR;
    else process.env.NO_COLOR = saved.colour;
    await drop();
  });

  const LISTS: Array<[string, string[]]> = [
    ['subscriber list', []],
    ['plan list', []],
    ['router list', []],
    ['invoice list', []],
    ['payment list', []],
    ['jobs list', []],
    ['audit list', []],
    ['adjustment list', []],
    ['report aging', ['--detail']],
    ['report collections', ['--from', '2026-12-01', '--to', '2026-12-20']],
    ['report revenue', ['--from', '2026-12', '--to', '2026-12']],
    ['gateway list', []],
    ['notify list', []],
    ['settings list', []],
    ['collections events', []],
    ['subscriber statement', ['ana']],
  ];

  test('every list fits 80 columns, cutting with … and never wrapping', async () => {
    const cut: string[] = [];
    for (const [cmd, args] of LISTS) {
      const r = await run(cmd, args, url);
      expect(r.code, `${cmd}: ${r.stderr}`).toBe(0);
      const lines = r.stdout.trimEnd().split('\n');
      expect(lines.length, `${cmd} printed nothing`).toBeGreaterThan(0);
      for (const line of lines) expect(visibleWidth(line), `${cmd}: ${line}`).toBeLessThanOrEqual(80);
      if (r.stdout.includes('…')) cut.push(cmd);
    }
    // The long names are cut, not wrapped onto a second line.
    expect(cut).toEqual(expect.arrayContaining(['subscriber list', 'router list', 'audit list', 'adjustment list', 'settings list']));
    const subs = await run('subscriber list', [], url);
    expect(subs.stdout.trimEnd().split('\n')).toHaveLength(4);
    expect(subs.stdout).toMatch(/Maria Cl\S*…/);
    expect(subs.stdout).toContain('active 50M down / 10M up');
  });

  test('subscriber import reports its phases through onProgress', () => {
    expect(progress.map((p) => p.phase)).toEqual(['Reading the file', 'Checking rows', 'Writing subscribers', 'Queueing router work']);
    expect(progress[1]).toEqual({ phase: 'Checking rows', done: 0, total: 1 });
  });

  test('--no-truncate prints values whole; --columns chooses and orders; --sort and -col', async () => {
    const whole = await run('subscriber list', ['--no-truncate'], url);
    expect(whole.stdout).toContain('Maria Clara de los Santos y Villanueva-Ramirez');
    expect(whole.stdout).toContain('tower-north-barangay-san-isidro');
    expect(whole.stdout).not.toContain('…');

    const cols = await run('subscriber list', ['--columns', 'name,account', '--sort', 'name'], url);
    expect(cols.stdout.split('\n')[0]).toMatch(/^NAME +ACCOUNT$/);
    expect(cols.stdout.split('\n')[1]).toMatch(/^Ana Reyes +S-\d+$/);
    const desc = await run('subscriber list', ['--columns', 'name', '--sort=-name'], url);
    expect(desc.stdout.split('\n')[1]).toMatch(/^Maria Clara/);
    const desc2 = await run('subscriber list', ['--columns', 'name', '--sort', 'name', '--desc'], url);
    expect(desc2.stdout).toBe(desc.stdout);
    // Money sorts by amount, not by its text.
    const inv = await run('invoice list', ['--columns', 'account,balance', '--sort', 'balance'], url);
    expect(inv.stdout.split('\n')[1]).toMatch(/₱0\.00$/);
  });

  test('an unknown column is an error listing the valid ones', async () => {
    const r = await run('payment list', ['--columns', 'account,amout'], url);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--columns: "amout" is not a column of this list; the columns are id, received, account, name, method, reference, amount, credit_left, status.');
    const s = await run('payment list', ['--sort', 'nope', '--json'], url);
    expect(s.code).toBe(2);
    expect(JSON.parse(s.stdout).error).toMatchObject({ code: 'UNKNOWN_COLUMN', details: { columns: expect.arrayContaining(['amount']) } });
  });

  test('--csv: header row of column names, RFC 4180 quoting, plain decimals, ISO times on the ISP clock', async () => {
    const r = await run('payment list', ['--csv'], url);
    expect(r.stdout.split('\r\n')[0]).toBe('id,received,account,name,method,reference,amount,credit_left,status');
    expect(r.stdout).toMatch(/\r\nP-\d+,2026-12-05,S-\d+,Ana Reyes,gcash,GCASH-REFERENCE-0000000000000012345,12345\.67,11175\.67,\r\n/);
    const audit = await run('audit list', ['--csv', '--columns', 'when,who,what'], url);
    expect(audit.stdout.split('\r\n')[0]).toBe('when,who,what');
    expect(audit.stdout).toMatch(/\r\n2026-12-05T10:00:00\+08:00,maria,/);
    const adj = await run('adjustment list', ['--csv', '--columns', 'amount,reason'], url);
    expect(adj.stdout).toBe('amount,reason\r\n-100.00,"Outage credit for the typhoon week in barangay San Isidro, towers north and east"\r\n');
    // The lines around the list stay out of CSV.
    const aging = await run('report aging', ['--csv'], url);
    expect(aging.stdout.split('\r\n')[0]).toBe('bucket,invoices,subscribers,amount');
    expect(aging.stdout).not.toContain('Aging as of');
  });

  test('audit list shows who, when on the ISP clock, what, and field: old → new', async () => {
    const r = await run('audit list', ['--no-truncate', '--entity', 'payment'], url);
    expect(r.stdout.split('\n')[0]).toMatch(/^WHEN \(GMT\+8\) +WHO +WHAT +CHANGE +COMMAND$/);
    expect(r.stdout).toMatch(/2026-12-05 10:00 +maria +record payment \d+ +.*reference: GCASH-REFERENCE-0000000000000012345; .*amount: ₱12,345\.67/);
    const json = await run('audit list', ['--json', '--entity', 'payment'], url);
    expect(JSON.parse(json.stdout).data[0].after).toMatchObject({ method: 'gcash' });
  });
});
