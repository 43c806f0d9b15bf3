// The real dashboard in a pseudo-terminal (tmux, 80x24, then resized to 160x48) against real data, read off the screen;
// and its one-shot summary when stdout is not a terminal.
import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { BIN, runCli, tempDataDir } from '../helpers/cli.js';

const hasTmux = (() => {
  try {
    execFileSync('tmux', ['-V']);
    return true;
  } catch {
    return false;
  }
})();

describe.skipIf(!hasTmux)('ispctl dashboard', () => {
  const data = tempDataDir({ migrated: true });
  const session = `ispctl-dash-${process.pid}`;
  // Commands at the same time take turns on the embedded database: on a busy machine a turn may
  // come later than the default 30 s.
  const env = { ...data.env, ISPCTL_NOW: '2027-01-22T01:00:00Z', ISPCTL_ROUTER_API_PASSWORD: 'pw-unused-1', ISPCTL_LOCK_TIMEOUT: '180' };
  const cli = (...args: string[]) => runCli(args, { env });
  const screen = () => execFileSync('tmux', ['capture-pane', '-p', '-t', session], { encoding: 'utf8' });
  async function waitFor(text: string, ms = 90_000): Promise<string> {
    const until = Date.now() + ms;
    let s = '';
    while (Date.now() < until) {
      s = screen();
      if (s.includes(text)) return s;
      await new Promise((r) => setTimeout(r, 250));
    }
    throw new Error(`"${text}" never appeared; the screen was:\n${s}`);
  }

  beforeAll(async () => {
    expect((await cli('init', '--isp-name', 'Juan Net', '--currency', 'PHP', '--timezone', 'Asia/Manila', '--yes')).code).toBe(0);
    const [router, plan] = await Promise.all([
      cli('router', 'add', 'core1', '--host', '127.0.0.1', '--api-port', '1', '--api-user', 'ispctl'),
      cli('plan', 'create', 'Fiber 50', '--price', '1500', '--download', '50M', '--upload', '10M'),
    ]);
    expect(router.code, router.stderr).toBe(0);
    expect(plan.code, plan.stderr).toBe(0);
    expect((await cli('subscriber', 'add', '--name', 'Juan Dela Cruz', '--username', 'juan', '--plan', 'Fiber 50', '--router', 'core1', '--router-timeout', '1')).code).toBe(3);
    expect((await cli('payment', 'record', '--subscriber', 'juan', '--amount', '1,170', '--method', 'gcash', '--reference', 'G-1')).code).toBe(0);
  }, 300_000);
  afterAll(() => {
    try {
      execFileSync('tmux', ['kill-session', '-t', session]);
    } catch {
      // already gone
    }
    data.remove();
  });

  test('not a terminal: one summary; --json: the data', async () => {
    const [r, j] = await Promise.all([cli('dashboard'), cli('dashboard', '--json')]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('ispctl · Juan Net · 2027-01-22 09:00');
    expect(r.stdout).toMatch(/gcash +1 +₱1,170\.00/);
    expect(j.json.data.access.total).toEqual({ active: 1, throttled: 0, blocked: 0 });
    expect(j.json.data.routers[0]).toMatchObject({ name: 'core1', queued: 1 });
  });

  test('80x24 in a pseudo-terminal: every pane, keys; resized to 160x48: every pane in three columns; q quits', async () => {
    // CI set, as on a build server: the dashboard must still draw live (Ink alone would draw nothing until exit).
    const envs = Object.entries({ ...env, NO_COLOR: '1', CI: 'true' }).map(([k, v]) => `${k}='${v}'`).join(' ');
    execFileSync('tmux', ['new-session', '-d', '-s', session, '-x', '80', '-y', '24', `env ${envs} ${process.execPath} ${BIN} dashboard; echo EXIT=$?; sleep 60`]);
    const s = await waitFor('Daemon');
    for (const t of ['Access', 'Collections', 'Money', 'Routers', 'Events', 'Daemon', 'Juan Net', '(Asia/Manila)']) expect(s).toContain(t);
    expect(s).toContain('Today ₱1,170.00 in 1 payment');
    for (const line of s.split('\n')) expect([...line].length).toBeLessThanOrEqual(80);
    execFileSync('tmux', ['send-keys', '-t', session, '?']);
    await waitFor('Keys (any key closes)');
    execFileSync('tmux', ['send-keys', '-t', session, 'x']);
    await waitFor('Access'); // the grid again
    for (let i = 0; i < 200 && screen().includes('Keys (any key closes)'); i++) await new Promise((r) => setTimeout(r, 250));
    // The NOC screen: the same dashboard redrawn at 160x48, every pane in three columns.
    execFileSync('tmux', ['resize-window', '-t', session, '-x', '160', '-y', '48']);
    let wide = '';
    for (let i = 0; i < 200; i++) {
      wide = screen();
      if (wide.split('\n').some((l) => [...l].length > 100) && wide.includes('Daemon')) break;
      await new Promise((r) => setTimeout(r, 250));
    }
    for (const t of ['Access', 'Collections', 'Money', 'Routers', 'Events', 'Daemon', 'Today ₱1,170.00 in 1 payment']) expect(wide).toContain(t);
    expect(wide.split('\n').find((l) => l.includes('Access'))).toMatch(/Access.*Collections.*Money/);
    for (const line of wide.split('\n')) expect([...line].length).toBeLessThanOrEqual(160);
    execFileSync('tmux', ['send-keys', '-t', session, 'q']);
    await waitFor('EXIT=0');
  }, 240_000);
});
