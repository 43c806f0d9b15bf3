import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createPgDatabase } from '../helpers/db.js';
import { BIN, ROOT, runCli, tempDataDir, type CliResult } from '../helpers/cli.js';

const INIT = ['init', '--isp-name', 'Juan Net', '--currency', 'PHP', '--timezone', 'Asia/Manila', '--billing-day', '1', '--due-days', '15', '--grace-days', '5', '--yes'];

describe('ispctl on the embedded database', () => {
  const data = tempDataDir();
  afterAll(() => data.remove());

  test('--version and --help', async () => {
    const [v, h] = await Promise.all([runCli(['--version']), runCli(['settings', 'set', '--help'])]);
    expect(v.code).toBe(0);
    expect(v.stdout).toMatch(/^ispctl\/\d+\.\d+\.\d+/);
    expect(h.code).toBe(0);
    expect(h.stdout).toContain('settings set KEY VALUE');
  });

  test('a command before init says what to do, and creates no database', async () => {
    // None of them touches a database, so they run at the same time: init without the name,
    // init --yes (defaults for the rest; the name has none), a wrong value, and another command.
    const [r, yes, bad, write] = await Promise.all([
      runCli(['init', '--json'], { env: data.env }),
      runCli(['init', '--yes', '--json'], { env: data.env }),
      runCli(['init', '--isp-name', 'Juan Net', '--currency', 'PESO', '--yes', '--json'], { env: data.env }),
      runCli(['plan', 'create', 'Fiber 50', '--price', '1500', '--download', '50M', '--upload', '10M', '--json'], { env: data.env }),
    ]);
    expect(r.code).toBe(2);
    expect(r.json).toMatchObject({ ok: false, error: { code: 'MISSING_FLAGS', details: { missing: ['--isp-name'] } } });
    expect(r.json.error.message).toContain('--isp-name');
    expect(r.json.error.suggestions[0]).toContain('--isp-name');
    expect(yes.code).toBe(2);
    expect(yes.json).toMatchObject({ ok: false, error: { code: 'MISSING_FLAGS' } });
    expect(bad.code).toBe(2);
    expect(bad.json).toMatchObject({ ok: false, error: { code: 'INVALID_CURRENCY', details: { input: 'PESO' } } });
    expect(write.code).toBe(1);
    expect(write.json).toMatchObject({ ok: false, error: { code: 'NOT_INITIALISED' } });
    expect(write.json.error.message).toContain('nothing was changed');
    expect(write.json.error.suggestions[0]).toContain('ispctl init');
    expect(existsSync(join(data.dir, 'data'))).toBe(false);
  });

  test('init, then settings list', async () => {
    const r = await runCli([...INIT, '--json'], { env: data.env });
    expect(r.code, r.stderr).toBe(0);
    expect(r.json.ok).toBe(true);
    expect(r.json.data.engine).toBe('pglite');
    const [list, human] = await Promise.all([runCli(['settings', 'list', '--json'], { env: data.env }), runCli(['settings', 'list'], { env: data.env })]);
    expect(list.code).toBe(0);
    const byKey = Object.fromEntries(list.json.data.map((s: { key: string; value: unknown }) => [s.key, s.value]));
    expect(byKey).toMatchObject({ 'isp-name': 'Juan Net', currency: 'PHP', timezone: 'Asia/Manila', 'billing-day': 1, 'due-days': 15, 'grace-days': 5 });
    expect(human.stdout).toMatch(/billing-day\s+1/);
  });

  test('init again changes nothing', async () => {
    const r = await runCli(['init', '--isp-name', 'Other', '--yes'], { env: data.env });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('nothing changed');
    const g = await runCli(['settings', 'get', 'isp-name'], { env: data.env });
    expect(g.stdout.trim()).toBe('Juan Net');
  });

  describe('refused commands', () => {
    // One snapshot before all of them and one after: a refused command that wrote anything shows
    // up as a difference (each case still checks its own exit code, envelope and message). The
    // --json ones run at the same time. Without --json every refusal goes through one renderer
    // (the base command's catch), so one refusal of each origin is also typed as a person would,
    // one at a time, so that no "Waiting for the embedded database" line comes before the error:
    // a value the core refuses, a missing argument (ispctl's own check) and a flag oclif's parser
    // does not know.
    const cases: Array<[string[], string]> = [
      [['settings', 'set', 'billing-day', '31'], 'INVALID_SETTING_VALUE'],
      [['settings', 'set', 'billing-day', 'abc'], 'INVALID_SETTING_VALUE'],
      [['settings', 'set', 'timezone', 'Asia/Manilla'], 'INVALID_TIME_ZONE'],
      [['settings', 'set', 'currency', 'PESO'], 'INVALID_CURRENCY'],
      [['settings', 'set', 'colour', 'blue'], 'UNKNOWN_SETTING'],
      [['settings', 'set', 'billing-day'], 'MISSING_FLAGS'],
      [['settings', 'list', '--no-such-flag'], 'INVALID_USAGE'],
    ];
    const typed: Array<[string[]]> = [[cases[0]![0]], [cases[5]![0]], [cases[6]![0]]];
    let before: unknown;
    const refused = new Map<string, CliResult>();
    const humans = new Map<string, CliResult>();
    beforeAll(async () => {
      const r = await runCli(['settings', 'list', '--json'], { env: data.env });
      expect(r.code, r.stderr).toBe(0);
      before = r.json;
      // Commands at the same time take turns on the embedded database: on a busy machine the
      // last may wait longer than the default 30 s.
      const env = { ...data.env, ISPCTL_LOCK_TIMEOUT: '180' };
      const json = await Promise.all(cases.map(([args]) => runCli([...args, '--json'], { env })));
      for (const [i, [args]] of cases.entries()) refused.set(JSON.stringify(args), json[i]!);
      for (const [args] of typed) humans.set(JSON.stringify(args), await runCli(args, { env: data.env }));
    });

    test.each(cases)('%j is refused with exit 2 (%s)', async (args, code) => {
      const r = refused.get(JSON.stringify(args))!;
      expect(r.code).toBe(2);
      expect(r.json).toMatchObject({ ok: false, error: { code } });
      expect(r.json.error.message.length).toBeGreaterThan(10);
    });

    test.each(typed)('%j typed without --json: exit 2, "Error: " first, no stack trace', async (args) => {
      const human = humans.get(JSON.stringify(args))!;
      expect(human.code).toBe(2);
      expect(human.stderr).toMatch(/^Error: /);
      expect(human.stderr).not.toMatch(/\n\s+at /); // no stack trace without DEBUG
    });

    test('the refused commands changed nothing', async () => {
      const after = await runCli(['settings', 'list', '--json'], { env: data.env });
      expect(after.json).toEqual(before);
    });
  });

  test('settings set writes an audit row with the command line', async () => {
    const r = await runCli(['settings', 'set', 'grace-days', '7'], { env: { ...data.env, SUDO_USER: 'maria' } });
    expect(r.code).toBe(0);
    const a = await runCli(['audit', 'list', '--entity', 'settings', '--user', 'maria', '--json'], { env: data.env });
    expect(a.json.data).toHaveLength(1);
    expect(a.json.data[0]).toMatchObject({ actor: 'maria', action: 'update', entityId: 'grace-days', before: { 'grace-days': 5 }, after: { 'grace-days': 7 } });
    expect(a.json.data[0].command).toBe('ispctl settings set grace-days 7');
  });

  test('db status shows engine, location, version and no pending migrations', async () => {
    const r = await runCli(['db', 'status', '--json'], { env: data.env });
    expect(r.code).toBe(0);
    expect(r.json.data).toMatchObject({ engine: 'pglite', pending: [] });
    expect(r.json.data.location).toBe(join(data.env.ISPCTL_DATA_DIR, 'pgdata'));
  });

  test('a second process waits for the embedded database, then proceeds or times out', async () => {
    // A real process holds the embedded database, as a long command would, until the test lets
    // it go (its turn on the embedded database server, or the lock itself when served in-process).
    const target = { engine: 'pglite', dataDir: data.env.ISPCTL_DATA_DIR, path: join(data.env.ISPCTL_DATA_DIR, 'pgdata') };
    const holder = spawn(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        `const { openDatabase } = await import(${JSON.stringify(join(ROOT, 'dist/src/core/db/connection.js'))});
         const db = await openDatabase(${JSON.stringify(target)}, { lockTimeoutMs: 5000, command: 'ispctl billing generate' });
         process.stdout.write('held\\n');
         process.stdin.once('data', async () => { await db.close(); process.exit(0); });`,
      ],
      { stdio: ['pipe', 'pipe', 'inherit'], env: { ...process.env, ...data.env } },
    );
    const exited = new Promise((r) => holder.on('exit', r));
    await new Promise<void>((resolve) => holder.stdout!.once('data', () => resolve()));
    const quick = await runCli(['settings', 'list', '--lock-timeout', '0', '--json'], { env: data.env });
    expect(quick.code).toBe(1);
    expect(quick.json.error.code).toBe('DATABASE_LOCKED');
    expect(quick.json.error.message).toContain(`process ${holder.pid} (ispctl billing generate`);
    expect(quick.json.error.suggestions.join(' ')).toContain('cannot go stale');
    // The waiting command says whom it waits for; the holder lets go once it has said so.
    const w = spawn(process.execPath, [BIN, 'settings', 'list', '--json'], { env: { ...process.env, NO_COLOR: '1', ...data.env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    w.stderr!.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
      if (stderr.includes('Waiting for the embedded database')) holder.stdin!.write('go\n');
    });
    const code = await new Promise<number | null>((r) => w.on('close', r));
    expect(code).toBe(0);
    expect(stderr).toContain(`Waiting for the embedded database, in use by process ${holder.pid}`);
    await exited;
  });

  test('a lock file left by a killed process never blocks, even when its pid is in use again', async () => {
    const { writeFileSync } = await import('node:fs');
    // The pid of a live process (this test runner), as after pid reuse or a container restart.
    writeFileSync(join(data.env.ISPCTL_DATA_DIR, 'db.lock'), JSON.stringify({ pid: process.pid, command: 'ispctl crashed', since: new Date().toISOString() }));
    const r = await runCli(['settings', 'get', 'currency'], { env: { ...data.env, ISPCTL_LOCK_TIMEOUT: '1' } });
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe('PHP');
  });
});

describe('ispctl on PostgreSQL', () => {
  let url = '';
  let drop: () => Promise<void> = async () => undefined;
  beforeAll(async () => {
    ({ url, drop } = await createPgDatabase('cli'));
  });
  afterAll(async () => drop());

  test('init and settings list with DATABASE_URL', async () => {
    const env = { DATABASE_URL: url, ISPCTL_DATA_DIR: '/nonexistent/should-not-be-used' };
    const r = await runCli([...INIT, '--json'], { env });
    expect(r.code, r.stderr).toBe(0);
    expect(r.json.data.engine).toBe('postgres');
    const list = await runCli(['settings', 'list', '--json'], { env });
    expect(list.json.data.find((s: { key: string }) => s.key === 'isp-name').value).toBe('Juan Net');
  });

  test('the --database-url flag works and the password is never printed', async () => {
    const u = new URL(url);
    u.password = 'not-the-password';
    const r = await runCli(['db', 'status', '--database-url', u.toString(), '--json'], {});
    expect(r.code, r.stderr).toBe(0);
    // The database init migrated, found through the flag alone.
    expect(r.json.data).toMatchObject({ engine: 'postgres', pending: [] });
    // trust auth accepts any password; what matters is that it never shows up
    expect(r.stdout).not.toContain('not-the-password');
    expect(r.json.data.location).toContain(':***@');
  });

  test('an unreachable server is a clear error', async () => {
    const r = await runCli(['settings', 'list', '--json'], { env: { DATABASE_URL: 'postgres://isp:pw@127.0.0.1:1/isp' } });
    expect(r.code).toBe(1);
    expect(r.json.error.code).toBe('DATABASE_UNREACHABLE');
    expect(r.json.error.message).not.toContain(':pw@');
  });
});
