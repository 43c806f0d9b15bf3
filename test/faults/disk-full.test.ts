// A full disk under the embedded database: a small tmpfs (root only; skipped otherwise) that
// cannot hold the database. The command fails with DISK_FULL, says what to do and that it is
// safe to repeat; with room again, the same command succeeds.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, test } from 'vitest';
import { runCli } from '../helpers/cli.js';

const root = process.getuid?.() === 0;
const dir = mkdtempSync(join(tmpdir(), 'ispctl-full-'));
let mounted = false;
try {
  if (root) {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=6m', 'tmpfs', dir], { stdio: 'ignore' });
    mounted = true;
  }
} catch {
  mounted = false;
}
afterAll(() => {
  if (mounted) execFileSync('umount', [dir], { stdio: 'ignore' });
  rmSync(dir, { recursive: true, force: true });
});

const INIT = ['init', '--isp-name', 'Full Disk Net', '--currency', 'PHP', '--timezone', 'Asia/Manila', '--billing-day', '1', '--yes', '--json'];

test.skipIf(!mounted)('a disk too small for the embedded database: DISK_FULL, what to do, safe to repeat (needs root to mount a 6 MB tmpfs)', async () => {
  const env = { ISPCTL_DATA_DIR: join(dir, 'data'), ISPCTL_CONFIG_DIR: join(dir, 'config'), DATABASE_URL: '' };
  const r = await runCli(INIT, { env });
  expect(r.code, r.stderr).toBe(1);
  expect(r.json.error.code).toBe('DISK_FULL');
  expect(r.json.error.message).toContain('The disk is full');
  expect(r.json.error.suggestions.join(' ')).toContain('run the same command again');
  expect(r.json.error.details).toMatchObject({ cause: 'disk_full', safeToRepeat: true });
  // With room again (a data directory elsewhere), the same command works.
  const roomy = mkdtempSync(join(tmpdir(), 'ispctl-room-'));
  try {
    const again = await runCli(INIT, { env: { ...env, ISPCTL_DATA_DIR: join(roomy, 'data'), ISPCTL_CONFIG_DIR: join(roomy, 'config') } });
    expect(again.code, again.stderr).toBe(0);
  } finally {
    rmSync(roomy, { recursive: true, force: true });
  }
});
