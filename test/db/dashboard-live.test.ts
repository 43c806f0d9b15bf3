// The dashboard on PostgreSQL with the real core source, drawn by ink-testing-library: a payment
// recorded from another connection (another shell) appears through LISTEN/NOTIFY (the poll is
// set to a minute, so only the notification can bring it), and suspending and resuming a
// subscriber with the dashboard's keys reaches the lab router (API mode): its PPP secret is
// disabled, then enabled again.
import { createElement } from 'react';
import { render } from 'ink-testing-library';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { FixedClock } from '../../src/core/clock.js';
import type { ServiceContext } from '../../src/core/context.js';
import { resolveTarget } from '../../src/core/db/config.js';
import { openDatabase, type Database } from '../../src/core/db/connection.js';
import { recordPayment } from '../../src/core/payments/service.js';
import { applyNow } from '../../src/core/provisioning/apply.js';
import { createPlan } from '../../src/core/plans/service.js';
import { addRouter } from '../../src/core/routers/service.js';
import { initialise } from '../../src/core/settings/init.js';
import { addSubscriber } from '../../src/core/subscribers/service.js';
import { startLabRouter, type LabRouter } from '../../src/lab/index.js';
import { App } from '../../src/tui/app.js';
import { coreSource, type DashboardSource } from '../../src/tui/source.js';
import { createPgDatabase } from '../helpers/db.js';

const tick = (ms = 50) => new Promise((r) => setTimeout(r, ms));
let frame = () => '';
async function until(check: () => boolean, what: string, ms = 30_000): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (check()) return;
    await tick();
  }
  throw new Error(`timed out waiting for ${what}; the screen was:\n${frame()}`);
}

describe('dashboard, live on PostgreSQL, actions reaching the lab router', () => {
  const clock = new FixedClock('2026-12-01T02:00:00Z');
  const env = { ISPCTL_SECRET_KEY: 'd6'.repeat(32) };
  let url = '';
  let drop: () => Promise<void> = async () => undefined;
  let other: Database;
  let lab: LabRouter;
  let source: DashboardSource;
  const ctxOf = (db: Database, command: string): ServiceContext => ({ db: db.knex, engine: 'postgres', clock, actor: { user: 'maria', command }, env });
  const secret = (name: string) => lab.state.menu('/ppp/secret').list().find((s) => s.name === name);

  beforeAll(async () => {
    const pg = await createPgDatabase('dash', { migrated: true });
    url = pg.url;
    drop = pg.drop;
    lab = await startLabRouter({ adminPassword: 'lab-pw' });
    other = await openDatabase(resolveTarget({ databaseUrl: url, env: {} }), { lockTimeoutMs: 5000, command: 'another shell' });
    const ctx = ctxOf(other, 'ispctl setup');
    await initialise(ctx, { values: { 'isp-name': 'Juan Net', currency: 'PHP', timezone: 'Asia/Manila' } });
    await addRouter(ctx, { name: 'lab1', host: '127.0.0.1', apiPort: lab.port, apiUser: 'admin', apiPassword: 'lab-pw', mode: 'api' });
    await createPlan(ctx, { name: 'Fiber 50', price: '1500', download: '50M', upload: '10M' });
    const added = await addSubscriber(ctx, { fullName: 'Juan Dela Cruz', username: 'juan', password: 'pw-juan', plan: 'Fiber 50', router: 'lab1' });
    await applyNow(ctx, added.jobIds, { timeoutMs: 5000 });
    source = await coreSource({
      open: async () => {
        const db = await openDatabase(resolveTarget({ databaseUrl: url, env: {} }), { lockTimeoutMs: 5000, command: 'ispctl dashboard' });
        return { ctx: ctxOf(db, 'ispctl dashboard'), close: () => db.close() };
      },
      engine: 'postgres',
      databaseUrl: url,
      pollMs: 60_000,
      routerTimeoutMs: 5000,
    });
  }, 60_000);
  afterAll(async () => {
    await source?.close();
    await other?.close();
    await lab?.close();
    await drop();
  });

  test('a payment from another shell appears (LISTEN/NOTIFY); suspend and resume reach the router', async () => {
    const app = render(createElement(App, { source, colour: false, size: { columns: 120, rows: 40 } }));
    frame = () => app.lastFrame() ?? '';
    try {
      await until(() => app.lastFrame()!.includes('Juan Net'), 'the first snapshot');
      await tick(300); // the LISTEN connection is up
      expect(app.lastFrame()).not.toContain('₱1,170.00');
      await recordPayment(ctxOf(other, 'ispctl payment record'), { subscriber: 'juan', amount: '1,170', method: 'gcash', reference: 'G-LIVE-1' });
      await until(() => app.lastFrame()!.includes('₱1,170.00'), 'the payment on the screen', 45_000);

      // Suspend from the dashboard: / finds Juan, Enter opens him, s asks the reason, y confirms.
      await until(() => secret('juan')?.disabled === 'false', 'the secret on the router');
      app.stdin.write('/');
      await tick();
      app.stdin.write('juan');
      await until(() => app.lastFrame()!.includes('Juan Dela Cruz'), 'the search hit');
      await tick(300);
      app.stdin.write('\r');
      await until(() => app.lastFrame()!.includes('Balance'), 'the subscriber');
      app.stdin.write('s');
      await until(() => app.lastFrame()!.includes('Suspend: reason>'), 'the reason prompt');
      app.stdin.write('abuse');
      await tick();
      app.stdin.write('\r');
      await until(() => app.lastFrame()!.includes('[y/N]'), 'the confirmation');
      app.stdin.write('y');
      await until(() => app.lastFrame()!.includes('Suspended S-'), 'the suspension');
      expect(secret('juan')!.disabled).toBe('true');

      app.stdin.write('r');
      await until(() => app.lastFrame()!.includes('[y/N]'), 'the resume confirmation');
      app.stdin.write('y');
      await until(() => app.lastFrame()!.includes('Resumed S-'), 'the resumption');
      expect(secret('juan')!.disabled).toBe('false');
    } finally {
      app.unmount();
    }
  }, 180_000);
});
