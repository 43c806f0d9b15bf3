// `collections run --dry-run` over the per-run suspension cap (collections-max-suspensions) shows
// the whole plan, says that a real run would stop at the cap and need --force, and exits 0 (with
// capExceeded in its JSON); the real run still stops, suspends no one, records the alert and
// exits 1. The router is a port nobody listens on: its work stays queued.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { runCli, tempDataDir } from '../helpers/cli.js';

const tmp = tempDataDir({ migrated: true });
let now = '2026-11-01T08:00:00+08:00';
const cli = (args: string[], input?: string) => runCli(args, { env: { ...tmp.env, ISPCTL_NOW: now, ISPCTL_LOCK_TIMEOUT: '180' }, input });

beforeAll(async () => {
  const init = await cli(['init', '--isp-name', 'Juan Net', '--currency', 'PHP', '--timezone', 'Asia/Manila', '--grace-days', '5', '--yes']);
  expect(init.code, init.stderr).toBe(0);
  const [router, plan, cap] = await Promise.all([
    cli(['router', 'add', 'core1', '--host', '127.0.0.1', '--api-port', '1', '--api-user', 'ispctl', '--api-password', 'pw-core1']),
    cli(['plan', 'create', 'Fiber 50', '--price', '1500', '--download', '50M', '--upload', '10M']),
    cli(['settings', 'set', 'collections-max-suspensions', '2']),
  ]);
  for (const r of [router, plan, cap]) expect(r.code, r.stderr).toBe(0);
  const csv = ['full_name,username,plan,router,start_date', 'Juan Dela Cruz,juan,Fiber 50,core1,2026-10-01', 'Ana Reyes,ana,Fiber 50,core1,2026-10-01', 'Carlo Santos,carlo,Fiber 50,core1,2026-10-01'].join('\n');
  const imported = await cli(['subscriber', 'import', '--file', '-', '--router-timeout', '1', '--json'], csv + '\n');
  expect([0, 3], imported.stderr).toContain(imported.code);
  const gen = await cli(['billing', 'generate']);
  expect(gen.code, gen.stderr).toBe(0);
  now = '2026-11-25T08:00:00+08:00'; // due 2026-11-16, grace 5 days: all three are due to be suspended
});
afterAll(() => tmp.remove());

it('a dry run over the cap shows the whole plan and says a real run would stop at it', async () => {
  const [human, json] = await Promise.all([cli(['collections', 'run', '--dry-run']), cli(['collections', 'run', '--dry-run', '--json'])]);
  expect(human.code, human.stderr).toBe(0);
  for (const name of ['Juan Dela Cruz', 'Ana Reyes', 'Carlo Santos']) expect(human.stdout).toMatch(new RegExp(`${name}\\s+suspension`));
  expect(human.stdout).toContain('Would do on 2026-11-25: 0 reminded, 0 warned, 3 suspended, 0 restored, 0 back to current.');
  expect(human.stderr).toContain('A real run would stop at the cap: 3 service(s) of 3 subscriber(s) are due to be suspended, more than the 2 collections-max-suspensions allows in one run.');
  expect(human.stderr).toContain('ispctl collections run --force suspends them all');

  expect(json.code, json.stderr).toBe(0);
  expect(json.json).toMatchObject({ ok: true, status: 0, data: { dryRun: true, capExceeded: { limit: 2, subscribers: 3, services: 3 } } });
  expect(json.json.data.suspended).toHaveLength(3);
  expect(json.json.warnings.join('\n')).toContain('A real run would stop at the cap');

  // Nothing changed: no one suspended, no alert recorded.
  const [list, audit] = await Promise.all([cli(['subscriber', 'list', '--json']), cli(['audit', 'list', '--entity', 'collections', '--json'])]);
  const statuses = list.json.data.map((s: { collectionStatus?: string }) => s.collectionStatus);
  expect(statuses).toHaveLength(3);
  expect(statuses).not.toContain('suspended');
  expect(audit.json.data).toEqual([]);
});

it('the real run still stops at the cap, suspends no one and records the alert; --force goes ahead', async () => {
  const run = await cli(['collections', 'run', '--json']);
  expect(run.code).toBe(1);
  expect(run.json.error.code).toBe('SUSPENSION_CAP_EXCEEDED');
  expect(run.json.error.message).toContain('Stopped: it would suspend 3 service(s) of 3 subscriber(s), more than the 2 allowed in one run');
  const audit = await cli(['audit', 'list', '--entity', 'collections', '--json']);
  expect(audit.json.data.map((a: { action: string }) => a.action)).toEqual(['cap-exceeded']);
  const forced = await cli(['collections', 'run', '--force', '--router-timeout', '1', '--json']);
  expect([0, 3], forced.stderr).toContain(forced.code);
  expect(forced.json.data.suspended).toHaveLength(3);
  expect(forced.json.data.capExceeded).toBeNull();
  const list = await cli(['subscriber', 'list', '--json']);
  expect(list.json.data.map((s: { collectionStatus?: string }) => s.collectionStatus)).toEqual(['suspended', 'suspended', 'suspended']);
});
