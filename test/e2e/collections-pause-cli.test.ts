// What `collections pause`, `status`, `run` and `resume` tell a person about a pause: when it began
// on the ISP's clock (Asia/Manila here), as every other time ispctl shows, not in UTC; the JSON
// keeps the instant.
import { afterAll, expect, test } from 'vitest';
import { runCli, tempDataDir } from '../helpers/cli.js';

const data = tempDataDir({ migrated: true });
afterAll(() => data.remove());

test('a pause is shown on the ISP clock in pause, status, run and resume', async () => {
  const env = { ...data.env, ISPCTL_NOW: '2026-12-02T01:05:00Z' };
  const init = await runCli(['init', '--isp-name', 'Juan Net', '--currency', 'PHP', '--timezone', 'Asia/Manila', '--yes', '--json'], { env });
  expect(init.code, init.stderr).toBe(0);
  const pause = await runCli(['collections', 'pause', '--reason', 'GCash outage'], { env });
  expect(pause.code, pause.stderr).toBe(0);
  expect(pause.stdout).toContain('Collections paused since 2026-12-02 09:05 GMT+8 by ');
  const [status, run, json] = await Promise.all([
    runCli(['collections', 'status'], { env }),
    runCli(['collections', 'run'], { env }),
    runCli(['collections', 'status', '--json'], { env }),
  ]);
  expect(status.stdout).toMatch(/PAUSED since 2026-12-02 09:05 GMT\+8 by \S+: GCash outage/);
  expect(run.code, run.stderr).toBe(0);
  expect(run.stderr).toContain('Collections is paused since 2026-12-02 09:05 GMT+8 by ');
  expect(json.json.data.paused.pausedAt).toBe('2026-12-02T01:05:00.000Z');
  const resume = await runCli(['collections', 'resume'], { env });
  expect(resume.stdout).toContain('Collections resumed (paused since 2026-12-02 09:05 GMT+8 by ');
  for (const r of [pause, status, run, resume]) expect(r.stdout + r.stderr).not.toContain('01:05:00.000Z');
});
