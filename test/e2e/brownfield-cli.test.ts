// Brownfield through the built binary, as a technician does it: router snapshot, an edited
// review, router import (refused first, naming the plan without a price and its line), then
// sync --dry-run plans nothing. Build first (npm run build).
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseDocument } from 'yaml';
import { startLabRouter, type LabRouter } from '../../src/lab/index.js';
import { runScript } from '../../src/lab/console/interpreter.js';
import { runCli, tempDataDir } from '../helpers/cli.js';

const SETUP = String.raw`
/ip pool add name=pool-a ranges=10.90.0.2-10.90.0.254
/ppp profile add name="Plan \$A" rate-limit=4M/8M local-address=10.90.0.1 remote-address=pool-a
/ppp secret add name=ana password=pw-ana profile="Plan \$A" comment="Ana \"the first\"\nstreet 1"
/ppp secret add name=ben password=pw-ben profile="Plan \$A" comment="Beng Mu\F1oz"
`;

describe('ispctl router snapshot and router import', () => {
  const tmp = tempDataDir({ migrated: true });
  // Reads at the same time take turns on the embedded database: on a busy machine a turn may
  // come later than the default 30 s.
  const env = { ...tmp.env, ISPCTL_NOW: '2026-12-01T08:00:00+08:00', ISPCTL_LOCK_TIMEOUT: '180' };
  const cli = (...args: string[]) => runCli(args, { env });
  const file = join(tmp.dir, 'review.yaml');
  let lab: LabRouter;

  beforeAll(async () => {
    lab = await startLabRouter({ adminPassword: 'lab-pw', nas: true });
    expect(runScript(lab.state, SETUP).errors).toEqual([]);
    await lab.nas!.dial({ username: 'ana', password: 'pw-ana' });
  });
  afterAll(async () => {
    await lab?.close();
    tmp.remove();
  });

  it('snapshot, a refused import, the priced import, and nothing left for sync', async () => {
    expect((await cli('init', '--isp-name', 'Juan Net', '--currency', 'PHP', '--timezone', 'Asia/Manila', '--yes')).code).toBe(0);
    expect((await cli('router', 'add', 'old', '--host', '127.0.0.1', '--api-port', String(lab.port), '--api-user', 'admin', '--api-password', 'lab-pw')).code).toBe(0);

    const snap = await cli('router', 'snapshot', 'old', '--out', file, '--json');
    expect(snap.code, snap.stderr).toBe(0);
    expect(snap.json.data).toMatchObject({ out: file, counts: { plans: 1, subscribers: 2, sessions: 1 } });
    expect(snap.stdout).not.toContain('pw-ana');
    expect(statSync(file).mode & 0o777).toBe(0o600);

    const refused = await cli('router', 'import', 'old', '--review', file, '--json');
    expect(refused.code).toBe(2);
    expect(refused.json.error.code).toBe('REVIEW_INVALID');
    const [problem] = refused.json.error.details.problems;
    expect(problem.message).toContain('plan "Plan $A" (profile "Plan $A") has no price');
    expect(readFileSync(file, 'utf8').split('\n')[problem.line - 1]).toContain('profile: Plan $A');

    const doc = parseDocument(readFileSync(file, 'utf8'));
    doc.setIn(['plans', 0, 'price'], '799');
    writeFileSync(file, doc.toString());
    const done = await cli('router', 'import', 'old', '--review', file, '--json');
    expect(done.code, done.stderr).toBe(0);
    expect(done.json.data).toMatchObject({ plans: { created: ['Plan $A'] }, subscribers: { created: ['ana', 'ben'] }, sessions: { before: 1, after: 1 }, failures: [] });

    // Three reads of what the import left, at the same time.
    const [sync, show, plan] = await Promise.all([
      cli('sync', '--router', 'old', '--dry-run', '--json'),
      cli('subscriber', 'show', 'ben', '--json'),
      cli('plan', 'show', 'Plan $A', '--json'),
    ]);
    expect(sync.code).toBe(0);
    expect(sync.json.data.routers[0].counts).toMatchObject({ create: 0, update: 0, remove: 0, sessions: 0 });

    expect(JSON.stringify(show.json.data)).toContain('Beng Muñoz');
    expect(plan.json.data).toMatchObject({ priceMinor: 79900, localAddress: '10.90.0.1', poolRanges: '10.90.0.2-10.90.0.254' });
  });
});
