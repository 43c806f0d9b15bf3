import { afterAll, expect, test } from 'vitest';
import { runCli, tempDataDir } from '../helpers/cli.js';

const tmp = tempDataDir();
afterAll(() => tmp.remove());

test('ispctl demo walks the first billing cycle and can be run again', async () => {
  const dir = `${tmp.dir}/demo`;
  const r = await runCli(['demo', '--dir', dir], { env: tmp.env, timeoutMs: 300_000 });
  expect(r.code, r.stderr).toBe(0);
  expect(r.stdout).toContain('3 invoices created');
  expect(r.stdout).toMatch(/INV-\d{4}-000003 .*₱1,500\.00/);
  expect(r.stdout).toContain("pedro.reyes's secret is disabled and his session is dropped");
  expect(r.stdout).toContain('pedro.reyes was refused (secret-disabled)');
  expect(r.stdout).toMatch(/The router let pedro\.reyes back in \d+ ms/);
  expect(r.stdout).toContain('online again at 50M/50M');

  // The data stays to explore with the other commands.
  const env = { ...tmp.env, ISPCTL_DATA_DIR: `${dir}/data`, ISPCTL_CONFIG_DIR: `${dir}/config` };
  const invoices = await runCli(['invoice', 'list', '--json'], { env });
  expect(invoices.json.data.map((i: { status: string }) => i.status).sort()).toEqual(['paid', 'paid', 'paid']);

  const again = await runCli(['demo', '--dir', dir, '--json'], { env: tmp.env, timeoutMs: 300_000 });
  expect(again.code, again.stderr).toBe(0);
  expect(again.json.data).toMatchObject({ suspended: 'pedro.reyes', restoredRate: '50M/50M' });
}, 700_000);
