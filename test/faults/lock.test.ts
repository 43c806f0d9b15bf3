// The embedded database's lock under contention: real processes take and release it, and check
// for themselves that nobody else is inside. Short here; 10,000 acquisitions with
// `npm run test:faults`.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { count, DIST, runNode, unpackPgliteSnapshot, WORKERS } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'ispctl-lock-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function checkLog(log: string): { enters: number; interleaved: number } {
  const lines = readFileSync(log, 'utf8').trim().split('\n');
  let inside: string | undefined;
  let enters = 0;
  let interleaved = 0;
  for (const line of lines) {
    const [what, pid] = line.split(' ');
    if (what === 'enter') {
      if (inside !== undefined) interleaved++;
      inside = pid;
      enters++;
    } else {
      if (inside !== pid) interleaved++;
      inside = undefined;
    }
  }
  return { enters, interleaved };
}

describe.each(['abstract-socket', 'socket-file'] as const)('the embedded database lock (%s)', (mechanism) => {
  test('five processes take it many times and are never inside together', async () => {
    const total = mechanism === 'abstract-socket' ? count(500, 10_000) : count(100, 2_000);
    const per = total / 5;
    const sub = mkdtempSync(join(dir, `${mechanism}-`));
    const lockPath = join(sub, 'db.lock');
    const log = join(sub, 'log');
    writeFileSync(log, '');
    const results = await Promise.all(
      Array.from({ length: 5 }, () =>
        runNode(join(WORKERS, 'lock-worker.mjs'), [join(DIST, 'core/db/lock.js'), lockPath, join(sub, 'inside'), log, String(per)], { env: { ISPCTL_LOCK_MECHANISM: mechanism } }),
      ),
    );
    for (const r of results) expect(r.code, r.stderr).toBe(0);
    const reports = results.map((r) => JSON.parse(r.stdout) as { acquired: number; overlaps: number });
    expect(reports.reduce((s, r) => s + r.acquired, 0)).toBe(total);
    expect(reports.reduce((s, r) => s + r.overlaps, 0)).toBe(0);
    expect(checkLog(log)).toEqual({ enters: total, interleaved: 0 });
  });
});

test('two processes writing one embedded database never lose a row', async () => {
  const rounds = count(1, 5);
  const rows = count(20, 100);
  const dataDir = join(dir, 'writers');
  // An existing database (the run's migrated snapshot): the point is the two writers, not PGlite's
  // initdb (a first start by racing processes is the embedded-server test's).
  unpackPgliteSnapshot(dataDir);
  const results = await Promise.all(
    ['a', 'b'].map((tag) => runNode(join(WORKERS, 'pglite-writer.mjs'), [join(DIST, 'core/db/connection.js'), dataDir, String(rounds), String(rows), tag])),
  );
  for (const r of results) expect(r.code, r.stderr).toBe(0);
  const committed = results.reduce((s, r) => s + (JSON.parse(r.stdout) as { committed: number }).committed, 0);
  expect(committed).toBe(2 * rounds * rows);
  const { openDatabase } = await import('../../src/core/db/connection.js');
  const db = await openDatabase({ engine: 'pglite', dataDir, path: join(dataDir, 'pgdata') }, { lockTimeoutMs: 30_000 });
  try {
    const r = await db.knex.raw('select tag, count(*)::int as n, count(distinct n)::int as d from writes group by tag order by tag');
    expect(r.rows).toEqual([
      { tag: 'a', n: rounds * rows, d: rounds * rows },
      { tag: 'b', n: rounds * rows, d: rounds * rows },
    ]);
  } finally {
    await db.close();
  }
});
