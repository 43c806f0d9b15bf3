// The disk under the embedded database: too small to start on, filling up in the middle of a run,
// read-only, or not this user's. Needs root (to mount small tmpfs file systems and to run a
// command as another user); skipped otherwise. Each failure has its own code, says what to do
// and that the run is safe to repeat; with the cause gone, the same command does the whole run
// once.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statfsSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, test } from 'vitest';
import { FixedClock } from '../../src/core/clock.js';
import type { ServiceContext } from '../../src/core/context.js';
import { openDatabase } from '../../src/core/db/connection.js';
import { createPlan } from '../../src/core/plans/service.js';
import { addRouter } from '../../src/core/routers/service.js';
import { initialise } from '../../src/core/settings/init.js';
import { importSubscribers } from '../../src/core/subscribers/import.js';
import { BIN, runCli } from '../helpers/cli.js';
import { unpackPgliteSnapshot } from './helpers.js';
import { SECRET_KEY } from './pg.js';

const root = process.getuid?.() === 0;
const mounts: string[] = [];
/** A tmpfs of `size` on a new directory, or undefined when it cannot be mounted (not root). */
function tmpfs(size: string): string | undefined {
  const dir = mkdtempSync(join(tmpdir(), 'ispctl-full-'));
  if (!root) return undefined;
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size},mode=0700`, 'tmpfs', dir], { stdio: 'ignore' });
    mounts.push(dir);
    return dir;
  } catch {
    rmSync(dir, { recursive: true, force: true });
    return undefined;
  }
}
const small = tmpfs('6m');
const roomy = tmpfs('96m');
afterAll(async () => {
  for (const dir of mounts) {
    // An embedded database server still running there ends when its socket goes.
    spawnSync('sh', ['-c', `rm -f "$1"/*/.s.PGSQL.5432`, 'sh', dir], { stdio: 'ignore' });
    for (let i = 0; i < 120 && spawnSync('umount', [dir], { stdio: 'ignore' }).status !== 0; i++) await new Promise((r) => setTimeout(r, 250));
    rmSync(dir, { recursive: true, force: true });
  }
});

const INIT = ['init', '--isp-name', 'Full Disk Net', '--currency', 'PHP', '--timezone', 'Asia/Manila', '--billing-day', '1', '--yes', '--json'];

test.skipIf(!small)('a disk too small for the embedded database: DISK_FULL, what to do, safe to repeat (needs root to mount a 6 MB tmpfs)', async () => {
  const env = { ISPCTL_DATA_DIR: join(small!, 'data'), ISPCTL_CONFIG_DIR: join(small!, 'config'), DATABASE_URL: '' };
  const r = await runCli(INIT, { env });
  expect(r.code, r.stderr).toBe(1);
  expect(r.json.error.code).toBe('DISK_FULL');
  expect(r.json.error.message).toContain('The disk is full');
  expect(r.json.error.suggestions.join(' ')).toContain('run the same command again');
  expect(r.json.error.details).toMatchObject({ cause: 'disk_full', safeToRepeat: true });
  // The embedded database server could not start there: its log says why, in words.
  const log = join(small!, 'data', 'embedded-server.log');
  expect(existsSync(log)).toBe(true);
  const text = readFileSync(log, 'utf8');
  expect(text).not.toContain('[object Object]');
  expect(text).toMatch(/^\d{4}-\d\d-\d\dT\S+ could not serve .*: no space left on device \(ENOSPC/m);
});

const SUBSCRIBERS = 300;

test.skipIf(!roomy)('a disk that fills up mid-run, then a read-only and an unwritable data directory: DISK_FULL, DATA_DIR_NOT_WRITABLE; the re-run bills everyone once (needs root)', async () => {
  const dataDir = join(roomy!, 'data');
  const target = { engine: 'pglite' as const, dataDir, path: join(dataDir, 'pgdata') };
  // Seeded in this process: the run's migrated snapshot, then an ISP with subscribers.
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  unpackPgliteSnapshot(dataDir);
  let db = await openDatabase(target, { lockTimeoutMs: 30_000 });
  try {
    const ctx: ServiceContext = { db: db.knex, engine: 'pglite', clock: new FixedClock('2026-01-01T00:00:00Z'), actor: { user: 'tester', command: 'ispctl test' }, env: { ISPCTL_SECRET_KEY: SECRET_KEY } };
    await initialise(ctx, { values: { 'isp-name': 'Full Disk Net', currency: 'PHP', timezone: 'Asia/Manila', 'billing-day': 1 } });
    await addRouter(ctx, { name: 'core1', host: '127.0.0.61', apiPort: 8728, apiUser: 'u', apiPassword: 'p', mode: 'api' });
    await createPlan(ctx, { name: 'Fiber 50', price: '1500', download: '50M', upload: '10M' });
    const rows = Array.from({ length: SUBSCRIBERS }, (_, i) => `Subscriber ${i},sub${i},Fiber 50,core1,2026-01-01`);
    await importSubscribers(ctx, `full_name,username,plan,router,start_date\n${rows.join('\n')}\n`);
  } finally {
    await db.close();
  }
  const env = { ISPCTL_DATA_DIR: dataDir, ISPCTL_CONFIG_DIR: join(roomy!, 'config'), DATABASE_URL: '', ISPCTL_DATABASE_URL: '', ISPCTL_SECRET_KEY: SECRET_KEY, ISPCTL_NOW: '2026-01-01T08:00:00+08:00', ISPCTL_ROUTER_TIMEOUT: '1' };

  // Fill the disk to within 200 KiB: billing 300 subscribers needs more.
  const s = statfsSync(roomy!);
  const filler = join(roomy!, 'filler');
  writeFileSync(filler, Buffer.alloc(Math.max(0, Number(s.bavail) * Number(s.bsize) - 200 * 1024)));
  const full = await runCli(['billing', 'generate', '--json'], { env });
  expect(full.code, full.stderr).toBe(1);
  expect(full.json.error.code).toBe('DISK_FULL');
  expect(full.json.error.message).toContain(`The disk is full (data directory ${dataDir})`);
  expect(full.json.error.suggestions[0]).toContain('Free disk space');
  expect(full.json.error.details).toMatchObject({ cause: 'disk_full', safeToRepeat: true });
  rmSync(filler);
  const again = await runCli(['billing', 'generate', '--json'], { env });
  expect([0, 3], again.stderr).toContain(again.code);
  // Nothing of the failed run was kept: the whole run, numbered from the first number.
  expect(again.json.data).toMatchObject({ invoices: SUBSCRIBERS, firstNumber: 'INV-2026-000001', lastNumber: `INV-2026-000${SUBSCRIBERS}` });

  // Read-only: the file system remounted read-only under the data directory. The embedded
  // database server the runs above started keeps files open there (a remount would be refused
  // as busy): removing its socket ends it at once.
  rmSync(join(dataDir, '.s.PGSQL.5432'), { force: true });
  for (let i = 0; ; i++) {
    if (spawnSync('mount', ['-o', 'remount,ro', roomy!], { stdio: 'ignore' }).status === 0) break;
    if (i === 120) throw new Error(`could not remount ${roomy} read-only: still busy after 30 s`);
    await new Promise((r) => setTimeout(r, 250));
  }
  let ro;
  try {
    ro = await runCli(['billing', 'generate', '--json'], { env: { ...env, ISPCTL_NOW: '2026-02-01T08:00:00+08:00' } });
  } finally {
    execFileSync('mount', ['-o', 'remount,rw', roomy!]);
  }
  expect(ro.code, ro.stderr).toBe(1);
  expect(ro.json.error).toMatchObject({ code: 'DATA_DIR_NOT_WRITABLE', details: { cause: 'read_only', errno: 'EROFS', safeToRepeat: true } });
  expect(ro.json.error.message).toContain('is on a read-only file system');

  // Another user: the data directory is root's (mode 0700).
  const canRun = spawnSync('runuser', ['-u', 'nobody', '--', process.execPath, '-e', `require('fs').readFileSync(${JSON.stringify(BIN)})`]).status === 0;
  if (canRun) {
    const r = spawnSync('runuser', ['-u', 'nobody', '--', 'env', ...Object.entries({ ...env, HOME: tmpdir(), ISPCTL_CONFIG_DIR: join(tmpdir(), 'ispctl-nobody-config'), NO_COLOR: '1' }).map(([k, v]) => `${k}=${v}`), process.execPath, BIN, 'subscriber', 'list', '--json'], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(1);
    expect(JSON.parse(r.stdout).error).toMatchObject({ code: 'DATA_DIR_NOT_WRITABLE', details: { cause: 'permission_denied', errno: 'EACCES' } });
    expect(JSON.parse(r.stdout).error.suggestions[0]).toContain('owns the data directory');
  } else {
    console.info('disk-full: the unwritable-directory case was skipped (user nobody cannot read the ispctl binary here)');
  }

  // One invoice per subscriber, numbers without a gap.
  db = await openDatabase(target, { lockTimeoutMs: 30_000 });
  try {
    const invoices = (await db.knex.raw('select number, subscriber_id from invoices order by number')).rows as Array<{ number: string; subscriber_id: number }>;
    expect(invoices).toHaveLength(SUBSCRIBERS);
    expect(new Set(invoices.map((i) => i.subscriber_id)).size).toBe(SUBSCRIBERS);
    expect(invoices.map((i) => Number(i.number.slice(-6)))).toEqual(Array.from({ length: SUBSCRIBERS }, (_, i) => i + 1));
  } finally {
    await db.close();
  }
});
