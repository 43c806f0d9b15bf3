// The built `ispctl` binary, as a technician or a script would use it: routers, plans and
// subscribers on the embedded database. Build first (npm run build). Every router address here
// is on 127.0.0.0/8; the only one ever contacted is the lab router started by this test.
// Commands that do not depend on each other's writes (reads, and refusals that write nothing)
// run at the same time; those whose order matters (account numbers, counts) run in turn.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLabRouter, type LabRouter } from '../../src/lab/index.js';
import { runCli, tempDataDir } from '../helpers/cli.js';

describe('ispctl router, plan and subscriber commands', () => {
  // The migrated schema in place, as init leaves it: creating and migrating the embedded database
  // is foundation-cli's (init on an empty data directory).
  const tmp = tempDataDir({ migrated: true });
  // Commands run at the same time take turns on the embedded database; on a busy machine a
  // turn can be slow, so a command waits for its turn longer than the default 30 s.
  const env = { ...tmp.env, ISPCTL_NOW: '2026-11-24T08:00:00+08:00', ISPCTL_LOCK_TIMEOUT: '180' };
  const cli = (...args: string[]) => runCli(args, { env });
  let lab: LabRouter;

  /**
   * The last count seen. The tests run in order; one that only refuses input ends by counting,
   * so the next one starts from that count without listing again.
   */
  let counted: number | undefined;
  /** Subscriber and service counts, through the CLI itself. */
  async function count(): Promise<number> {
    const r = await cli('subscriber', 'list', '--all', '--json');
    expect(r.code).toBe(0);
    counted = r.json.data.length;
    return r.json.data.length;
  }

  beforeAll(async () => {
    lab = await startLabRouter({ adminPassword: 'lab-pw', identity: 'lab-core' });
  });
  afterAll(async () => {
    await lab?.close();
    tmp.remove();
  });

  it('sets up, registers routers and checks the lab router', async () => {
    expect((await cli('init', '--isp-name', 'Juan Net', '--currency', 'PHP', '--timezone', 'Asia/Manila', '--yes')).code).toBe(0);

    const [add, radius, tower, labAdd] = await Promise.all([
      cli('router', 'add', 'core1', '--host', '127.0.0.51', '--api-user', 'ispctl', '--api-password', 'core-pass-1', '--json'),
      // No password and no terminal: a clear error naming the flag, not a hanging prompt.
      runCli(['router', 'add', 'tower', '--host', '127.0.0.52', '--api-user', 'ispctl', '--mode', 'radius', '--coa-port', '1700', '--json'], {
        env: { ...env, ISPCTL_ROUTER_API_PASSWORD: undefined },
      }),
      runCli(['router', 'add', 'tower', '--host', '127.0.0.52', '--api-user', 'ispctl', '--mode', 'radius', '--coa-port', '1700', '--json'], {
        env: { ...env, ISPCTL_ROUTER_API_PASSWORD: 'tower-pass' },
      }),
      cli('router', 'add', 'lab', '--host', '127.0.0.1', '--api-port', String(lab.port), '--api-user', 'admin', '--api-password', 'lab-pw'),
    ]);
    expect(add.code).toBe(0);
    expect(add.json).toMatchObject({ ok: true, data: { name: 'core1', host: '127.0.0.51', apiPort: 8728, mode: 'api', status: 'unknown' } });
    expect(add.stdout).not.toContain('core-pass-1');

    expect(radius.code).toBe(2);
    expect(radius.json.error.code).toBe('MISSING_FLAGS');
    expect(radius.json.error.message).toContain('--api-password');

    expect(tower.code).toBe(0);
    expect(tower.json.data).toMatchObject({ mode: 'radius', nasAddress: '127.0.0.52', coaPort: 1700 });
    expect(labAdd.code).toBe(0);

    const [show, secret, check, dup] = await Promise.all([
      cli('router', 'show', 'tower', '--json'),
      cli('router', 'secret', 'show', 'tower', '--which', 'radius'),
      cli('router', 'check', 'lab', '--json'),
      cli('router', 'add', 'CORE1', '--host', '127.0.0.53', '--api-user', 'u', '--api-password', 'p', '--json'),
    ]);
    expect(show.json.data.apiPassword).toBe('••••••');
    expect(show.json.data.radiusSecret).toMatch(/^.{2}••••••.{2}$/);
    expect(secret.code).toBe(0);
    expect(secret.stdout.trim()).toMatch(/^[A-Za-z0-9_-]{32}$/);
    expect(show.stdout).not.toContain(secret.stdout.trim());

    expect(check.code).toBe(0);
    expect(check.json.data[0]).toMatchObject({ ok: true, status: 'online', identity: 'lab-core', board: 'CHR' });

    expect(dup.code).toBe(5);
    expect(dup.json).toMatchObject({ ok: false, error: { code: 'ROUTER_EXISTS' } });
  });

  it('reports an unreachable router with exit 1 and records it offline', async () => {
    const port = lab.port;
    await lab.close();
    const check = await cli('router', 'check', 'lab', '--timeout', '2');
    expect(check.code).toBe(1);
    expect(check.stderr).toContain(`127.0.0.1:${port}`);
    expect(check.stderr).toContain('offline');
    const list = await cli('router', 'list', '--json');
    expect(list.json.data.find((r: { name: string }) => r.name === 'lab')).toMatchObject({ status: 'offline', identity: 'lab-core' });
  });

  it('creates plans, with speeds as people type them', async () => {
    const [[p, h], bare, human] = await Promise.all([
      (async () => [
        await cli('plan', 'create', 'Fiber 50', '--price', '1,500.00', '--download', '50Mbps', '--upload', '10 Mbit/s', '--json'),
        await cli('plan', 'create', 'Home 25', '--price', '999', '--download', '25M', '--upload', '5M', '--suspension-action', 'throttle', '--burst-download', '40M', '--burst-upload', '8M'),
      ])(),
      cli('plan', 'create', 'Bad', '--price', '100', '--download', '100', '--upload', '10M', '--json'),
      cli('plan', 'create', 'Bad', '--price', '1.234', '--download', '10M', '--upload', '10M'),
    ]);
    expect(p!.code).toBe(0);
    expect(p!.json.data).toMatchObject({ name: 'Fiber 50', priceMinor: 150000, currency: 'PHP', price: '1500.00', downloadKbps: 50000, uploadKbps: 10000, rateLimit: '10M/50M' });
    expect(h!.code).toBe(0);
    expect(h!.stdout).toContain('5M/25M 8M/40M');

    expect(bare.code).toBe(2);
    expect(bare.json.error).toMatchObject({ code: 'INVALID_SPEED' });
    expect(bare.json.error.suggestions.join(' ')).toContain('100M');
    expect(human.code).toBe(2);
    expect(human.stderr).toContain('Error: Price "1.234" has 3 decimal places');
    const list = await cli('plan', 'list', '--json');
    expect(list.json.data.map((x: { name: string }) => x.name)).toEqual(['Fiber 50', 'Home 25']);
  });

  let juanPassword = '';

  it('adds three subscribers', async () => {
    // core1 does not answer: the subscriber is saved, the router work stays queued (exit 3).
    const a = await cli('subscriber', 'add', '--name', 'Juan Dela Cruz', '--username', 'juan.dc', '--plan', 'Fiber 50', '--router', 'core1', '--phone', '0917 123 4567', '--json');
    expect(a.code).toBe(3);
    expect(a.json.ok).toBe(true);
    expect(a.json.warnings[0]).toMatch(/stays? queued \(core1: /);
    const jobs = await cli('jobs', 'list', '--json');
    expect(jobs.json.data).toHaveLength(1);
    expect(jobs.json.data[0]).toMatchObject({ kind: 'service', attempts: 1 });
    expect(a.json.data.subscriber.accountNo).toBe('S-000001');
    expect(a.json.data.service).not.toHaveProperty('password');
    juanPassword = a.json.data.generatedPassword;
    expect(juanPassword).toMatch(/^[A-Za-z0-9]{12}$/);

    const b = await cli('subscriber', 'add', '--name', 'Ana Reyes', '--email', 'ana@example.com', '--username', 'ana', '--password', 'Ana-Pass-1', '--plan', 'home 25', '--router', 'tower', '--static-ip', '10.20.0.15', '--discount', '10%', '--discount-until', '2027-01-31');
    expect(b.code).toBe(0);
    expect(b.stdout).toContain('Added S-000002 Ana Reyes');
    expect(b.stdout).not.toContain('Ana-Pass-1');

    const c = await cli('subscriber', 'add', '--name', 'Carlo Santos', '--username', 'carlo', '--plan', 'Fiber 50', '--router', 'core1', '--price', '1,200', '--quiet');
    expect(c.code).toBe(3);
    expect(c.stdout.trim()).toBe('S-000003');
  });

  it('lists and shows them as JSON', async () => {
    const [list, byRouter, search, show, reveal] = await Promise.all([
      cli('subscriber', 'list', '--json'),
      cli('subscriber', 'list', '--router', 'tower', '--json'),
      cli('subscriber', 'list', '--search', 'santos'),
      cli('subscriber', 'show', 'ana', '--json'),
      cli('subscriber', 'show', 'S-000001', '--show-password', '--json'),
    ]);
    expect(list.code).toBe(0);
    expect(list.json.ok).toBe(true);
    expect(list.json.data.map((r: { accountNo: string; username: string; access: { state: string } }) => [r.accountNo, r.username, r.access.state])).toEqual([
      ['S-000001', 'juan.dc', 'active'],
      ['S-000002', 'ana', 'active'],
      ['S-000003', 'carlo', 'active'],
    ]);
    // No service has ended yet, so the default list holds everyone: the count the next test starts from.
    counted = list.json.data.length;
    expect(byRouter.json.data.map((r: { username: string }) => r.username)).toEqual(['ana']);
    expect(search.stdout).toContain('carlo');
    expect(search.stdout).not.toContain('juan.dc');

    expect(show.json.data.subscriber).toMatchObject({ accountNo: 'S-000002', fullName: 'Ana Reyes', email: 'ana@example.com' });
    expect(show.json.data.services[0]).toMatchObject({ username: 'ana', plan: 'Home 25', router: 'tower', staticIp: '10.20.0.15', password: '••••••' });
    expect(show.json.data.services[0].price).toMatchObject({ base: '999.00', amount: '899.10', discount: '10%' });
    expect(show.json.data.services[0].access).toMatchObject({ state: 'active', rateLimit: '5M/25M 8M/40M 3750k/18750k 8/8' });
    expect(reveal.json.data.services[0].password).toBe(juanPassword);
  });

  it('suspends and resumes, with exit 5 for the wrong state', async () => {
    const [ask, noReason] = await Promise.all([cli('subscriber', 'suspend', 'juan.dc', '--reason', 'abuse report', '--json'), cli('subscriber', 'suspend', 'ana')]);
    expect(noReason.code).toBe(2);
    expect(noReason.stderr).toContain('Missing --reason (not running in a terminal, so ispctl cannot ask)');
    expect(ask.code).toBe(2); // a script must say --yes; nothing is suspended
    expect(ask.json.error).toMatchObject({ code: 'CONFIRMATION_REQUIRED', message: expect.stringContaining('Pass --yes') });
    // Neither refusal suspended anyone: juan.dc is suspended now, not refused as already suspended,
    // and the blocked list below holds juan.dc alone (not ana).
    const s = await cli('subscriber', 'suspend', 'juan.dc', '--reason', 'abuse report', '--yes', '--json');
    expect(s.code).toBe(3); // saved; core1 is unreachable, so the block waits in the queue
    expect(s.json.data.services[0]).toMatchObject({ adminStatus: 'suspended', adminReason: 'abuse report' });
    const [again, blocked] = await Promise.all([cli('subscriber', 'suspend', 'juan.dc', '--reason', 'again', '--yes', '--json'), cli('subscriber', 'list', '--state', 'blocked', '--json')]);
    expect(again.code).toBe(5);
    expect(again.json.error.code).toBe('ALREADY_SUSPENDED');
    expect(blocked.json.data.map((r: { username: string }) => r.username)).toEqual(['juan.dc']);

    const r = await cli('subscriber', 'resume', 'S-000001');
    expect(r.code).toBe(3);
    expect(r.stdout).toContain('Resumed juan.dc');
    // Resuming again is refused and writes nothing, so the audit trail can be read meanwhile.
    const [resumedAgain, audit] = await Promise.all([cli('subscriber', 'resume', 'S-000001'), cli('audit', 'list', '--entity', 'subscriber', '--id', 'S-000001', '--json')]);
    expect(resumedAgain.code).toBe(5);
    expect(audit.json.data.map((x: { action: string }) => x.action)).toEqual(['resume', 'suspend', 'create']);
  });

  it('rejects bad input with exit 2 and leaves the database as it was', async () => {
    const before = counted ?? (await count());
    const cases: Array<[string[], string]> = [
      [['--username', 'bad user'], 'INVALID_USERNAME'],
      [['--username', 'okname', '--email', 'nope'], 'INVALID_EMAIL'],
      [['--username', 'okname', '--phone', '123'], 'INVALID_PHONE'],
      [['--username', 'okname', '--static-ip', '10.0.0.255'], 'INVALID_STATIC_IP'],
      [['--username', 'okname', '--discount', 'lots'], 'INVALID_AMOUNT'],
    ];
    const [missing, ...results] = await Promise.all([
      cli('subscriber', 'add', '--name', 'No Username', '--plan', 'Fiber 50', '--router', 'core1'),
      ...cases.map(([extra]) => cli('subscriber', 'add', '--name', 'Bad', '--plan', 'Fiber 50', '--router', 'core1', ...extra, '--json')),
    ]);
    cases.forEach(([extra, code], i) => {
      const r = results[i]!;
      expect(r.code, extra.join(' ')).toBe(2);
      expect(r.json).toMatchObject({ ok: false, error: { code } });
      expect(r.json.error.message.length).toBeGreaterThan(10);
    });
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('username');
    expect(await count()).toBe(before);
  });

  it('refuses a duplicate username (exit 5) and an unknown plan (exit 4)', async () => {
    const before = counted ?? (await count());
    const [dup, plan, ghost] = await Promise.all([
      cli('subscriber', 'add', '--name', 'Other Juan', '--username', 'JUAN.DC', '--plan', 'Fiber 50', '--router', 'core1', '--json'),
      cli('subscriber', 'add', '--name', 'Nobody', '--username', 'nobody', '--plan', 'Fiber 5000', '--router', 'core1'),
      cli('subscriber', 'show', 'ghost'),
    ]);
    expect(dup.code).toBe(5);
    expect(dup.json.error).toMatchObject({ code: 'USERNAME_TAKEN' });
    expect(dup.json.error.message).toContain('S-000001');
    expect(plan.code).toBe(4);
    expect(plan.stderr).toContain('There is no plan called "Fiber 5000"');
    expect(plan.stderr).toContain('ispctl plan list');
    expect(ghost.code).toBe(4);
    expect(await count()).toBe(before);
  });

  it('imports from CSV: reports every bad row and writes nothing, then imports all', async () => {
    const bad = join(tmp.dir, 'bad.csv');
    writeFileSync(bad, ['full_name,username,plan,router,static_ip', 'Good,imp1,Fiber 50,core1,', 'Bad Plan,imp2,Fiber 5000,core1,', 'Dup,imp1,Fiber 50,core1,', 'Taken IP,imp3,Fiber 50,core1,10.20.0.15'].join('\n'));
    const good = join(tmp.dir, 'good.csv');
    writeFileSync(good, ['full_name,username,plan,router,price', '"Dela Cruz, Maria",maria,Fiber 50,core1,"1,100.00"', 'Pedro,pedro,Home 25,tower,'].join('\r\n'));
    const before = counted ?? (await count());
    // The refused imports and the dry run write nothing: at the same time.
    const [r, j, dry] = await Promise.all([
      cli('subscriber', 'import', '--file', bad),
      cli('subscriber', 'import', '--file', bad, '--json'),
      cli('subscriber', 'import', '--file', good, '--dry-run', '--json'),
    ]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('row 3 (line 3), plan: There is no plan called "Fiber 5000"');
    expect(r.stderr).toContain('row 4 (line 4), username');
    expect(r.stderr).toContain('row 5 (line 5), static_ip');
    expect(r.stderr).toContain('nothing was imported');
    expect(j.json.error.details.errors).toHaveLength(3);

    expect(dry.code).toBe(0);
    expect(dry.json.data).toMatchObject({ dryRun: true, rows: 2, created: [] });
    // Neither the refused import nor the dry run wrote anyone.
    expect(await count()).toBe(before);
    const done = await cli('subscriber', 'import', '--file', good, '--json');
    expect(done.code).toBe(3); // maria is on core1, which does not answer
    expect(done.json.data.created.map((c: { accountNo: string }) => c.accountNo)).toEqual(['S-000004', 'S-000005']);
    expect(await count()).toBe(before + 2);
  });

  it('edits a plan speed and reports the services that follow; destructive commands ask or take --yes', async () => {
    // The refusals write nothing: at the same time.
    const [ask, noYes, inUse, archive] = await Promise.all([
      cli('plan', 'edit', 'Fiber 50', '--download', '60M', '--upload', '12M', '--json'),
      cli('router', 'remove', 'core1'),
      cli('router', 'remove', 'core1', '--yes', '--json'),
      cli('plan', 'archive', 'Home 25', '--yes', '--json'),
    ]);
    expect(ask.code).toBe(2); // the new rate drops live sessions on core1 (API mode): a script says --yes
    expect(ask.json.error).toMatchObject({ code: 'CONFIRMATION_REQUIRED', message: expect.stringContaining('drops the live sessions of up to 3 subscribers on core1') });
    const e = await cli('plan', 'edit', 'Fiber 50', '--download', '60M', '--upload', '12M', '--yes', '--json');
    expect(e.code).toBe(3); // the new profile rate waits for core1
    expect(e.json.data.affectedServiceIds).toHaveLength(3);
    expect(e.json.data.plan.rateLimit).toBe('12M/60M');

    expect(noYes.code).toBe(2);
    expect(noYes.stderr).toContain('--yes');
    expect(inUse.code).toBe(5);
    expect(inUse.json.error.code).toBe('ROUTER_IN_USE');
    const moved = await cli('router', 'remove', 'core1', '--move-to', 'tower', '--yes', '--json');
    expect(moved.code).toBe(0);
    expect(moved.json.data.movedServiceIds).toHaveLength(3);

    expect(archive.code).toBe(5);
    expect(archive.json.error.code).toBe('PLAN_IN_USE');

    const rm = await cli('subscriber', 'remove', 'carlo', '--yes', '--json');
    expect(rm.code).toBe(0);
    expect(rm.json.data).toMatchObject({ removed: true, purged: false });
    const ended = await cli('subscriber', 'list', '--state', 'ended', '--json');
    expect(ended.json.data.map((r: { username: string }) => r.username)).toEqual(['carlo']);
  });
});
