import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { afterAll, expect, inject, test } from 'vitest';
import { DEMO_MARKER, prepareDemoDir } from '../../src/cli/demo.js';
import { runCli, tempDataDir } from '../helpers/cli.js';

const tmp = tempDataDir();
afterAll(() => tmp.remove());

// The demo runs once, and that run is a run again: its directory is set up first as an earlier
// demo leaves it (the demo's marker, an embedded database whose server is still up, the lab
// router's state), cheaply, with one command instead of a whole first walk. The demo must empty
// it and walk the cycle anew on a fresh database. The earlier database is a copy of the run's
// migrated snapshot that init fills in (creating and migrating one is the demo's own first
// step). What prepareDemoDir empties and refuses is tested in test/unit/demo-dir.test.ts.
test('ispctl demo walks the first billing cycle, and can be run again over its own directory', async () => {
  const dir = `${tmp.dir}/demo`;
  const env = { ...tmp.env, ISPCTL_DATA_DIR: `${dir}/data`, ISPCTL_CONFIG_DIR: `${dir}/config` };
  await prepareDemoDir(dir);
  mkdirSync(`${dir}/data/pgdata`, { recursive: true, mode: 0o700 });
  execFileSync('tar', ['-xf', inject('pgliteSnapshot'), '-C', `${dir}/data/pgdata`], { stdio: 'ignore' });
  const earlier = await runCli(['init', '--isp-name', 'Earlier Demo', '--currency', 'PHP', '--timezone', 'Asia/Manila', '--yes'], { env });
  expect(earlier.code, earlier.stderr).toBe(0);
  mkdirSync(`${dir}/lab`);
  writeFileSync(`${dir}/lab/router.json`, '{"left":"by an earlier demo"}\n');
  expect(existsSync(`${dir}/${DEMO_MARKER}`)).toBe(true);

  const r = await runCli(['demo', '--dir', dir], { env: tmp.env, timeoutMs: 300_000 });
  expect(r.code, r.stderr).toBe(0);
  expect(r.stdout).toContain('Embedded database created');
  expect(r.stdout).toContain('3 invoices created');
  expect(r.stdout).toMatch(/INV-\d{4}-000003 .*₱1,500\.00/);
  expect(r.stdout).toContain("pedro.reyes's secret is disabled and his session is dropped");
  expect(r.stdout).toContain('pedro.reyes was refused (secret-disabled)');
  expect(r.stdout).toMatch(/The router let pedro\.reyes back in \d+ ms/);
  expect(r.stdout).toContain('online again at 50M/50M');

  // The data stays to explore with the other commands: the demo's, nothing of the earlier one.
  const invoices = await runCli(['invoice', 'list', '--json'], { env });
  expect(invoices.code, invoices.stderr).toBe(0);
  expect(invoices.json.data.map((i: { status: string }) => i.status).sort()).toEqual(['paid', 'paid', 'paid']);
  const settings = await runCli(['settings', 'get', 'isp-name', '--json'], { env });
  expect(settings.code, settings.stderr).toBe(0);
  expect(JSON.stringify(settings.json.data)).toContain('Demo ISP');
  expect(JSON.stringify(settings.json.data)).not.toContain('Earlier Demo');
}, 700_000);
