// The embedded database server: the first process that needs the embedded database starts one
// server that keeps it open and serves the others over a unix socket in the data directory.
// Real processes here: clients killed inside a transaction, the server killed -9, several
// processes racing to start it, its data directory removed under it.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { DIST, runNode, unpackPgliteSnapshot, WORKERS } from './helpers.js';

const root = mkdtempSync(join(tmpdir(), 'ispctl-served-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const CONN = join(DIST, 'core/db/connection.js');
const CLIENT = join(WORKERS, 'embedded-client.mjs');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function hello(dataDir: string) {
  const { lockHello } = (await import(join(DIST, 'core/db/lock.js'))) as typeof import('../../src/core/db/lock.js');
  return lockHello(join(dataDir, 'db.lock'));
}

async function until<T>(what: string, fn: () => Promise<T | undefined> | T | undefined, ms = 30_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/**
 * What a fresh session sees (as the client's `state` mode), from this process through the server
 * that serves `dataDir`: the reads need no process of their own.
 */
async function stateHere(dataDir: string) {
  const { openDatabase } = (await import(CONN)) as typeof import('../../src/core/db/connection.js');
  const db = await openDatabase({ engine: 'pglite', dataDir, path: join(dataDir, 'pgdata') }, { command: 'test state', lockTimeoutMs: 60_000 });
  try {
    const one = async (sql: string) => ((await db.knex.raw(sql)).rows as Array<Record<string, unknown>>)[0]!;
    return {
      served: db.served === true,
      rows: (await one("select count(*)::int as n from marks where tag = 'uncommitted'")).n,
      tz: (await one('show timezone')).TimeZone,
      temp: (await one("select count(*)::int as n from pg_class where relname = 'scratch'")).n,
      total: (await one('select count(*)::int as n from marks')).n,
    };
  } finally {
    await db.close();
  }
}

async function client(dataDir: string, mode: string, args: string[] = [], env: Record<string, string> = {}) {
  const r = await runNode(CLIENT, [CONN, dataDir, mode, ...args], { env, timeoutMs: 120_000 });
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as Record<string, unknown>;
}

describe('the embedded database server', () => {
  const dataDir = join(root, 'a');

  test('racing processes start one server; it serves all of them, one at a time, losing nothing', async () => {
    // An existing database (the run's migrated snapshot): the race is for the server; creating the
    // database on a first start is the e2e `init` tests' (foundation-cli).
    unpackPgliteSnapshot(dataDir);
    const results = await Promise.all(['a', 'b', 'c', 'd'].map((t) => client(dataDir, 'write', ['25', t])));
    expect(results.every((r) => r.committed === 25)).toBe(true);
    const h = await hello(dataDir);
    if (h === 'free' || h === undefined) throw new Error('no server');
    expect(h.serves).toMatchObject({ ready: true, socket: join(dataDir, '.s.PGSQL.5432') });
    expect(statSync(h.serves!.socket).mode & 0o777).toBe(0o600);
    const state = await stateHere(dataDir);
    expect(state).toMatchObject({ served: true, total: 100 });
    // Still the same server: the racers found it rather than starting their own.
    const again = await hello(dataDir);
    expect(again !== 'free' && again?.pid).toBe(h.pid);
  });

  test('a client killed inside a transaction leaves nothing behind for the next one', async () => {
    const holder = spawn(process.execPath, [CLIENT, CONN, dataDir, 'hold'], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    holder.stdout.setEncoding('utf8').on('data', (d) => (out += d));
    await until('the holder inside its transaction', () => out.includes('inside'));
    // Its turn: the server says whose.
    const h = await hello(dataDir);
    expect(h !== 'free' && h?.serves?.busy?.pid).toBe(holder.pid);
    holder.kill('SIGKILL');
    const state = await stateHere(dataDir);
    expect(state).toMatchObject({ served: true, rows: 0, temp: 0, total: 100 });
    expect(state.tz).not.toBe('Pacific/Kiritimati');
  });

  test('the server killed -9: the next process starts another, nothing committed is lost; idle, it exits', async () => {
    const h = await hello(dataDir);
    if (h === 'free' || h === undefined) throw new Error('no server');
    process.kill(h.pid, 'SIGKILL');
    await until('the lock freed', () => !alive(h.pid));
    // This one starts a server that leaves after 1 s without clients (ISPCTL_EMBEDDED_IDLE).
    const w = await client(dataDir, 'write', ['10', 'after'], { ISPCTL_EMBEDDED_IDLE: '1' });
    const serverLog = () => (existsSync(join(dataDir, 'embedded-server.log')) ? readFileSync(join(dataDir, 'embedded-server.log'), 'utf8') : '');
    expect(w.served, serverLog()).toBe(true);
    expect(typeof w.server).toBe('number');
    expect(w.server).not.toBe(h.pid);
    await until('the idle server gone', () => !alive(w.server as number), 20_000);
    expect(existsSync(join(dataDir, '.s.PGSQL.5432'))).toBe(false);
    // ISPCTL_EMBEDDED_SERVER=0: opened in the process itself, no server left behind.
    const state = await client(dataDir, 'state', [], { ISPCTL_EMBEDDED_SERVER: '0' });
    expect(state).toMatchObject({ total: 110, server: null, served: false });
    expect(await hello(dataDir)).toBe('free');
  });

  test('a client that yields its turn between transactions lets the one waiting in, and gets the database back after it', async () => {
    // The same database (no second initdb): nobody serves it now, so this process starts the
    // server, which the next test finds.
    const { openDatabase } = (await import(CONN)) as typeof import('../../src/core/db/connection.js');
    const target = { engine: 'pglite' as const, dataDir, path: join(dataDir, 'pgdata') };
    const run = await openDatabase(target, { command: 'a long run', lockTimeoutMs: 120_000 });
    try {
      expect(run.served).toBe(true);
      await run.knex.raw('create table turns (n int, who text)');
      // A second client (a payment from another shell) waits while the run holds the database.
      let paying = false;
      const payOpen = openDatabase(target, { command: 'a payment', lockTimeoutMs: 120_000 }).then((d) => ((paying = true), d));
      await run.knex.raw(`insert into turns values (1, 'run')`);
      expect(paying).toBe(false);
      // Between two of its transactions the run lets it in ...
      await run.yieldTurn!();
      const pay = await payOpen;
      try {
        await pay.knex.raw(`insert into turns values (2, 'payment')`);
        // ... and its next statement waits for the payment's turn to end.
        let back = false;
        const next = run.knex.raw(`insert into turns values (4, 'run')`).then(() => (back = true));
        await pay.knex.raw(`insert into turns values (3, 'payment')`);
        expect(back).toBe(false);
        await pay.yieldTurn!();
        await next;
        const rows = (await run.knex.raw('select who from turns order by n')).rows as Array<{ who: string }>;
        expect(rows.map((r) => r.who)).toEqual(['run', 'payment', 'payment', 'run']);
      } finally {
        await pay.close();
      }
    } finally {
      await run.close();
    }
  });

  test('after a pause without clients the server vacuums and analyses the database (PGlite has no autovacuum)', async () => {
    const dir = join(root, 'v');
    unpackPgliteSnapshot(dir);
    // The server this client starts vacuums after 0.3 s without a client.
    const w = await client(dir, 'write', ['300', 'vac'], { ISPCTL_EMBEDDED_VACUUM_IDLE: '0.3' });
    expect(w.served).toBe(true);
    const serverLog = () => (existsSync(join(dir, 'embedded-server.log')) ? readFileSync(join(dir, 'embedded-server.log'), 'utf8') : '');
    // Read from the log, not the database: a client connecting would put the vacuum off again.
    await until('the vacuum', () => /vacuumed and analysed in \d+ ms/.test(serverLog()), 30_000);
    const { openDatabase } = (await import(CONN)) as typeof import('../../src/core/db/connection.js');
    const db = await openDatabase({ engine: 'pglite', dataDir: dir, path: join(dir, 'pgdata') }, { command: 'test vacuum', lockTimeoutMs: 60_000 });
    try {
      expect(db.served).toBe(true);
      // The statistics know of the rows written before the pause (ANALYZE ran).
      const known = Number((await db.knex.raw("select reltuples::float8 as n from pg_class where relname = 'marks'")).rows[0].n);
      const total = Number((await db.knex.raw('select count(*)::int as n from marks')).rows[0].n);
      expect(total).toBeGreaterThanOrEqual(300);
      expect(known).toBe(total);
    } finally {
      await db.close();
    }
    // Once per pause after clients: the server stays for its next clients (default idle time).
    expect(serverLog().match(/vacuumed and analysed/g)!.length).toBeGreaterThanOrEqual(1);
    rmSync(dir, { recursive: true, force: true });
  });

  test('a command that comes during a vacuum waits for one table, not the whole database; the rest is vacuumed at the next pause', async () => {
    const dir = join(root, 'w');
    unpackPgliteSnapshot(dir);
    const { openDatabase } = (await import(CONN)) as typeof import('../../src/core/db/connection.js');
    // A table far larger than the others, vacuumed first (the largest go first).
    const w = await client(dir, 'bulk', ['200000', 'big'], { ISPCTL_EMBEDDED_VACUUM_IDLE: '0.3' });
    expect(w.served).toBe(true);
    const serverLog = () => (existsSync(join(dir, 'embedded-server.log')) ? readFileSync(join(dir, 'embedded-server.log'), 'utf8') : '');
    // The server starts its pass 0.3 s after that client left: connect while it is under way.
    await until('the vacuum to start', () => /vacuuming \d+ tables/.test(serverLog()), 30_000);
    const db = await openDatabase({ engine: 'pglite', dataDir: dir, path: join(dir, 'pgdata') }, { command: 'test during vacuum', lockTimeoutMs: 60_000 });
    try {
      expect(db.served).toBe(true);
      expect(Number((await db.knex.raw('select count(*)::int as n from marks')).rows[0].n)).toBe(200_000);
    } finally {
      await db.close();
    }
    await until('the vacuum to end', () => /vacuumed and analysed in \d+ ms \((\d+) tables\)/.test(serverLog()), 60_000);
    const log = serverLog();
    const gave = /vacuum gave way to a client after (\d+) of (\d+) tables/.exec(log);
    expect(gave, log).not.toBeNull();
    const [done, total] = [Number(gave![1]), Number(gave![2])];
    expect(done).toBeGreaterThanOrEqual(1);
    expect(done).toBeLessThan(total);
    expect(log.indexOf(gave![0])).toBeLessThan(log.search(/vacuumed and analysed/));
    expect(log).toMatch(new RegExp(`vacuumed and analysed in \\d+ ms \\(${total} tables\\)`));
    expect(log).not.toMatch(/failed/);
    // Every table was analysed by the pass, the one vacuumed before the client came included.
    const again = await openDatabase({ engine: 'pglite', dataDir: dir, path: join(dir, 'pgdata') }, { command: 'test after vacuum', lockTimeoutMs: 60_000 });
    try {
      const known = Number((await again.knex.raw("select reltuples::float8 as n from pg_class where relname = 'marks'")).rows[0].n);
      expect(known).toBeGreaterThan(190_000);
      const never = (await again.knex.raw("select count(*)::int as n from pg_stat_all_tables where schemaname = 'public' and last_vacuum is null")).rows[0].n;
      expect(never).toBe(0);
    } finally {
      await again.close();
    }
    rmSync(dir, { recursive: true, force: true });
  });

  test('removing the data directory stops the server at once', async () => {
    // The server the previous test started serves the database (it may be vacuuming, a pause
    // without clients after that test: then it answers the hello when done).
    const h = await until('the server to answer', async () => {
      const x = await hello(dataDir);
      return x !== 'free' && x !== undefined && x.serves ? x : undefined;
    });
    rmSync(dataDir, { recursive: true, force: true });
    await until('the server gone', () => !alive(h.pid), 10_000);
  });
});
