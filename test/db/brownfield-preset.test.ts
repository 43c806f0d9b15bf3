// The lab's brownfield router (a few thousand hand-made secrets, every rate-limit spelling,
// shared pools, cp1252 comments, names differing in case, a suspension profile, live sessions)
// taken over as a technician would: snapshot, fill in the prices, import, sync plans nothing.
// On PostgreSQL only: the same code paths run on PGlite in brownfield-import.test.ts.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseDocument } from 'yaml';
import { FixedClock } from '../../src/core/clock.js';
import type { ServiceContext } from '../../src/core/context.js';
import { importReview, snapshotRouter } from '../../src/core/onboarding/brownfield-service.js';
import { planSync } from '../../src/core/provisioning/routeros/sync.js';
import { addRouter } from '../../src/core/routers/service.js';
import { initialise } from '../../src/core/settings/init.js';
import { startLabRouter, type LabRouter } from '../../src/lab/index.js';
import { applyBrownfieldPreset } from '../../src/lab/presets.js';
import { openTestDatabase, type TestDb } from '../helpers/db.js';

describe('brownfield preset: snapshot, review, import, sync plans nothing', () => {
  let db: TestDb;
  let ctx: ServiceContext;
  let lab: LabRouter;
  const dir = mkdtempSync(join(tmpdir(), 'ispctl-preset-'));
  const file = join(dir, 'review.yaml');
  const sessions = () => lab.state.activeSessions().map((s) => `${s.name}@${s.address}`).sort();

  beforeAll(async () => {
    db = await openTestDatabase('postgres');
    lab = await startLabRouter({ adminPassword: 'lab-pw', nas: true });
    // Fewer secrets than the preset's 3000 keep the test quick; the code paths are set-based and pipelined.
    await applyBrownfieldPreset(lab.state, { secrets: 1200 }, lab.nas!);
    ctx = { ...db.ctx(new FixedClock('2026-12-01T00:00:00Z')), env: { ISPCTL_SECRET_KEY: 'd4'.repeat(32) } };
    await initialise(ctx, { values: { 'isp-name': 'Test ISP', currency: 'PHP', timezone: 'Asia/Manila' } });
    await addRouter(ctx, { name: 'tower', host: '127.0.0.1', apiPort: lab.port, apiUser: 'admin', apiPassword: 'lab-pw', mode: 'api' });
  });

  afterAll(async () => {
    await lab?.close();
    await db?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('takes the whole router over without dropping one of its sessions', async () => {
    const snap = await snapshotRouter(ctx, 'tower', { out: file });
    expect(snap.counts.sessions).toBeGreaterThan(20);
    const doc = parseDocument(readFileSync(file, 'utf8'));
    const model = doc.toJS();
    // Rate limits in every spelling, parsed; the suspension profile left out; the twin 10m renamed.
    const byProfile = Object.fromEntries(model.plans.map((p: { profile: string }) => [p.profile, p]));
    expect(byProfile['paket-5M']).toMatchObject({ include: true, download: '10M', upload: '5M', burst: { download: '12M', upload: '6M', thresholdDownload: '8M', thresholdUpload: '4M', time: 10 } });
    expect(byProfile['legacy-4M']).toMatchObject({ download: '4096k', upload: '2048k' });
    expect(byProfile['BIZ-20M']).toMatchObject({ download: '20M', burst: { download: '25M', time: 8 } });
    expect(byProfile.isolir).toMatchObject({ include: false });
    expect(byProfile['10m'].name).toBe('10m (2)');
    // cp1252 comments read as text.
    expect(model.subscribers.some((s: { name: string }) => s.name.includes('Peña') || s.name.includes('Muñoz') || s.name.includes('García'))).toBe(true);
    const decide = Object.fromEntries(model.decide.map((d: { username: string; problem: string }) => [d.username, d.problem]));
    expect(decide['juan']).toMatch(/letter case/);
    expect(decide['tech test']).toMatch(/cannot be kept/);
    expect(decide['rosa.unpaid']).toMatch(/suspension profile/);

    // The technician fills in prices (and speeds for the unlimited staff profile).
    model.plans.forEach((p: { include: boolean; profile: string }, i: number) => {
      if (!p.include) return;
      doc.setIn(['plans', i, 'price'], '1,000.00');
      if (p.profile === 'Unlimited') {
        doc.setIn(['plans', i, 'download'], '100M');
        doc.setIn(['plans', i, 'upload'], '100M');
      }
    });
    writeFileSync(file, doc.toString(), { mode: 0o600 });

    const before = sessions();
    const r = await importReview(ctx, 'tower', { review: file });
    expect(r.failures).toEqual([]);
    expect(r.subscribers.created.length).toBe(model.subscribers.length);
    expect(r.subscribers.created.length).toBeGreaterThan(1000);
    expect(sessions()).toEqual(before);
    expect(Number((await ctx.db('services').count({ n: '*' }).first())!.n)).toBe(model.subscribers.length);

    const [plan] = await planSync(ctx, { router: 'tower' });
    expect(plan!.status).toBe('planned');
    expect(plan!.counts).toMatchObject({ create: 0, update: 0, remove: 0, sessions: 0 });
    expect(plan!.changes).toBe(false);

    const again = await importReview(ctx, 'tower', { review: file });
    expect(again.subscribers.created).toEqual([]);
    expect(again.subscribers.alreadyImported.length).toBe(model.subscribers.length);
    expect(sessions()).toEqual(before);
  });
});
