// The first billing cycle of the issue, end to end through the built `ispctl` with the clock
// fixed by ISPCTL_NOW, against the lab router (in this process, over real sockets on 127.0.0.1)
// and its PPPoE NAS. A plan at 1,500.00 a month, three subscribers, invoices on the billing day
// due in 15 days: Ana pays in full by GCash; Ben pays half (partially paid, not suspended until
// grace has passed on the rest); Carlo never pays: reminded, warned, suspended the day after due
// date plus grace, then pays and is back at full speed by the time payment record returns.
//
// Four variants: API mode and RADIUS mode (FreeRADIUS on its views), each with
// suspension-action block (API: PPP secret disabled, session dropped; RADIUS: Disconnect-Request,
// logins rejected) and throttle (API: the throttled profile; RADIUS: the live session slowed and
// restored by CoA). Build first.
//
// The steps up to the warning (invoices, the two payments, reminders, the warning) run through
// the binary in the first variant; the others reach the same state through the core services the
// commands call (checking the same outcomes), and run through the binary only from the
// suspension on, where the router mode and the suspension action make a difference.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { writeRadiusConfig } from '../../src/core/provisioning/radius/config.js';
import { detectFreeRadiusConfigDir } from '../../src/core/provisioning/radius/freeradius-config.js';
import { RouterOSClient, menu, q } from '../../src/core/routeros/index.js';
import { DialRejectedError, startLabRouter, type LabRouter } from '../../src/lab/index.js';
import { FixedClock } from '../../src/core/clock.js';
import type { ServiceContext } from '../../src/core/context.js';
import { generateInvoices } from '../../src/core/billing/generate.js';
import { listInvoices } from '../../src/core/billing/invoices.js';
import { runCollections } from '../../src/core/collections/run.js';
import { recordPayment } from '../../src/core/payments/service.js';
import { applyNow } from '../../src/core/provisioning/apply.js';
import { revealRouterSecret } from '../../src/core/routers/service.js';
import { runCli } from '../helpers/cli.js';
import { pgContext, seedIsp, TEST_SECRET_KEY } from '../helpers/fixtures.js';
import { createPgDatabase } from '../helpers/db.js';
import { freeUdpPort, startFreeRadius, type FreeRadiusInstance } from '../helpers/freeradius.js';
import { eventually } from '../helpers/wait.js';

const LAB_PW = 'lab-admin-pw';
const FULL = '20M/50M';
const sourceDir = detectFreeRadiusConfigDir();

interface Variant {
  mode: 'api' | 'radius';
  action: 'block' | 'throttle';
}

function scenario(v: Variant) {
  const skip = v.mode === 'radius' && !sourceDir;
  // What does not depend on the router mode or the suspension action (running billing or the
  // reminders twice changes nothing) is checked in the first variant; the others check again
  // only what reaches the router.
  const first = v.mode === 'api' && v.action === 'block';
  describe.skipIf(skip)(`first billing cycle, ${v.mode} mode, suspension ${v.action}`, () => {
    const tmp = mkdtempSync(join(tmpdir(), `ispctl-cycle-${v.mode}-`));
    const role = `freeradius_${randomBytes(4).toString('hex')}`;
    let database: { url: string; drop(): Promise<void> };
    let pool: pg.Pool;
    let lab: LabRouter;
    let api: RouterOSClient;
    let radius: FreeRadiusInstance | undefined;
    let now = '2026-11-01T08:00:00+08:00';
    const env = () => ({ DATABASE_URL: database.url, ISPCTL_DATA_DIR: join(tmp, 'data'), ISPCTL_CONFIG_DIR: join(tmp, 'config'), ISPCTL_SECRET_KEY: TEST_SECRET_KEY, ISPCTL_NOW: now });
    const cli = (...args: string[]) => runCli(args, { env: env() });
    const day = (date: string, time = '09:00:00') => (now = `${date}T${time}+08:00`);
    const sql = async (text: string, values: unknown[] = []) => (await pool.query(text, values)).rows;
    const live = (name: string) => lab.nas!.sessions().filter((s) => s.name === name);
    const dial = (name: string) => lab.nas!.dial({ username: name, password: `${name}-pa55` });
    const secret = async (name: string) => (await menu.print(api, '/ppp/secret', { where: [q.eq('name', name)] }))[0];
    const ids: Record<string, number> = {};
    let radiusSecret = '';

    /** A core service call at the scenario's clock (the steps before suspension, after the first variant). */
    const core = async <T>(fn: (ctx: ServiceContext) => Promise<T>): Promise<T> => {
      const ctx = await pgContext(database.url, new FixedClock(now));
      try {
        return await fn(ctx);
      } finally {
        await ctx.close();
      }
    };
    const collections = async () => {
      const r = await cli('collections', 'run', '--json');
      expect(r.code, r.stderr).toBe(0);
      return r.json.data as { reminded: number[]; warned: number[]; suspended: number[]; restored: number[]; events: number };
    };
    const sorted = (names: string[]) => names.map((n) => ids[n]!).sort((a, b) => a - b);

    /** The rate a subscriber gets now: their live session's, or a new dial's (undefined if refused). */
    const rateNow = async (name: string): Promise<string | undefined> => {
      const s = live(name)[0];
      if (s) return s.rateLimit;
      try {
        return (await dial(name)).rateLimit;
      } catch {
        return undefined;
      }
    };

    beforeAll(async () => {
      database = await createPgDatabase('ispctl_cycle', { migrated: true });
      pool = new pg.Pool({ connectionString: database.url, max: 2 });
      pool.on('error', () => undefined); // clients ended by the database drop at the end
      lab = await startLabRouter({ adminPassword: LAB_PW, identity: `cycle-${v.mode}`, nas: { nasAddress: '127.0.0.1' } });
      api = await RouterOSClient.connect({ host: '127.0.0.1', port: lab.port, user: 'admin', password: LAB_PW, timeoutMs: 10_000 });
    });

    afterAll(async () => {
      await radius?.stop();
      await api?.close();
      await lab?.close();
      await pool?.end();
      await database?.drop();
      if (v.mode === 'radius') {
        const admin = new pg.Client({ connectionString: inject('pgAdminUrl') });
        await admin.connect();
        await admin.query(`DROP ROLE IF EXISTS ${role}`);
        await admin.end();
      }
      rmSync(tmp, { recursive: true, force: true });
    });

    it('sets up: billing terms, the router, a plan at 1,500.00, three subscribers online at full speed', async () => {
      // Set up through the core services the commands call (the commands themselves are tested
      // in network-cli, foundation-cli and radius-mode); the cycle from here on is the binary's.
      const coaPort = await freeUdpPort();
      const ctx = await pgContext(database.url, new FixedClock(now));
      try {
        const seeded = await seedIsp(ctx, {
          settings: { 'isp-name': 'Bayan Net', 'grace-days': 5 },
          extraSettings: { 'suspension-action': v.action },
          routers: [
            {
              name: 'lab', host: '127.0.0.1', apiPort: lab.port, apiUser: 'admin', apiPassword: LAB_PW, mode: v.mode,
              ...(v.mode === 'radius' ? { nasAddress: '127.0.0.1', coaPort } : {}),
            },
          ],
          plans: [{ name: 'Fiber 1500', download: '50M', upload: '20M' }],
          startDate: '2026-10-01',
          subscribers: [['Ana Reyes', 'ana'], ['Ben Santos', 'ben'], ['Carlo Lim', 'carlo']].map(([fullName, username]) => ({ fullName, username: username!, password: `${username}-pa55` })),
          apply: async (c, jobIds) => expect((await applyNow(c, jobIds, { timeoutMs: 60_000 })).remaining).toBe(0),
        });
        for (const [user, s] of Object.entries(seeded.subscribers)) ids[user] = s.subscriberId;
        if (v.mode === 'radius') radiusSecret = (await revealRouterSecret(ctx, 'lab', 'radius')).secret;
      } finally {
        await ctx.close();
      }

      if (v.mode === 'radius') {
        await sql(`CREATE ROLE ${role} LOGIN PASSWORD 'fr-pa55'`);
        await sql(`GRANT SELECT ON radcheck, radreply, radusergroup, radgroupcheck, radgroupreply, nas TO ${role}`);
        await sql(`GRANT SELECT, INSERT, UPDATE ON radacct, radpostauth, nasreload TO ${role}`);
        await sql(`GRANT USAGE, SELECT ON SEQUENCE radacct_radacctid_seq, radpostauth_id_seq TO ${role}`);
        const u = new URL(database.url);
        const authPort = await freeUdpPort([coaPort]);
        const acctPort = await freeUdpPort([coaPort, authPort]);
        const out = join(tmp, 'raddb');
        // Written by the core call `ispctl radius config` makes (the command is run in radius-mode).
        const rctx = await pgContext(database.url, new FixedClock(now), { DATABASE_URL: database.url });
        try {
          await writeRadiusConfig(rctx, {
            outDir: out, listen: '127.0.0.1', authPort, acctPort, clients: 'sql',
            radiusDbUrl: `postgres://${role}:fr-pa55@127.0.0.1:${u.port}${u.pathname}`, runAsCurrentUser: true, force: false,
          });
        } finally {
          await rctx.close();
        }
        radius = await startFreeRadius({ configDir: out, listen: { authPort, acctPort } });
        await api.write('/radius/add', { service: 'ppp', address: '127.0.0.1', secret: radiusSecret, 'authentication-port': authPort, 'accounting-port': acctPort, timeout: '3s' });
        await api.write('/ppp/aaa/set', { 'use-radius': true, accounting: true });
        await api.write('/radius/incoming/set', { accept: true, port: coaPort });
        await lab.nas!.settled();
      } else {
        for (const user of ['ana', 'ben', 'carlo']) expect(await secret(user)).toMatchObject({ disabled: 'false' });
      }
      for (const user of ['ana', 'ben', 'carlo']) expect(await dial(user)).toMatchObject({ rateLimit: FULL, radius: v.mode === 'radius' });
    });

    it('on the billing day: three invoices of ₱1,500.00 due in 15 days; running it again adds nothing', async () => {
      day('2026-11-01', '06:00:00');
      if (!first) {
        expect(await core((c) => generateInvoices(c))).toMatchObject({ invoices: 3, lines: 3, issueDate: '2026-11-01' });
        const rows = await sql(`select total_minor::int as total, issue_date::text as issued, due_date::text as due, status from invoices`);
        expect(rows).toHaveLength(3);
        for (const row of rows) expect(row).toMatchObject({ total: 150000, issued: '2026-11-01', due: '2026-11-16' });
        return;
      }
      const gen = await cli('billing', 'generate', '--json');
      expect(gen.code, gen.stderr).toBe(0);
      // Again (through the core: the command's surface is the run above): nothing new.
      expect(await core((c) => generateInvoices(c))).toMatchObject({ invoices: 0 });
      const list = await cli('invoice', 'list', '--json');
      const invoices = list.json.data as Array<{ accountNo: string; totalMinor: number; dueDate: string; issueDate: string; status: string }>;
      expect(invoices).toHaveLength(3);
      for (const inv of invoices) expect(inv).toMatchObject({ totalMinor: 150000, issueDate: '2026-11-01', dueDate: '2026-11-16', status: 'issued' });
    });

    it('Ana pays in full by GCash; Ben pays half in cash', async () => {
      day('2026-11-05');
      if (!first) {
        const a = await core((c) => recordPayment(c, { subscriber: 'ana', amount: '1,500.00', method: 'gcash', reference: '7012345678901' }));
        expect(a.allocations).toEqual([expect.objectContaining({ amountMinor: 150000n, status: 'paid', balanceMinor: 0n })]);
        day('2026-11-10');
        const b = await core((c) => recordPayment(c, { subscriber: 'ben', amount: '750', method: 'cash', reference: 'OR-0042' }));
        expect(b.allocations).toEqual([expect.objectContaining({ amountMinor: 75000n, status: 'partially_paid', balanceMinor: 75000n })]);
        return;
      }
      const ana = await cli('payment', 'record', '--subscriber', 'ana', '--amount', '1,500.00', '--method', 'gcash', '--reference', '7012345678901', '--json');
      expect(ana.code, ana.stderr).toBe(0);
      expect(ana.json.data.allocations).toEqual([expect.objectContaining({ amountMinor: 150000, status: 'paid', balanceMinor: 0 })]);
      day('2026-11-10');
      const ben = await cli('payment', 'record', '--subscriber', 'ben', '--amount', '750', '--method', 'cash', '--reference', 'OR-0042', '--json');
      expect(ben.code, ben.stderr).toBe(0);
      expect(ben.json.data.allocations).toEqual([expect.objectContaining({ amountMinor: 75000, status: 'partially_paid', balanceMinor: 75000 })]);
    });

    it('reminders 3 days before, on and 3 days after the due date, to Ben and Carlo only, once each', async () => {
      // Through the binary in the first variant only (see the top).
      const run = first ? collections : () => core((c) => runCollections(c));
      day('2026-11-12');
      expect(await run()).toMatchObject({ reminded: [], events: 0 });
      for (const date of ['2026-11-13', '2026-11-16', '2026-11-19']) {
        day(date);
        expect((await run()).reminded).toEqual(sorted(['ben', 'carlo']));
        // Again the same day: nobody is reminded twice (through the core; the command's output
        // is the run above's).
        if (first) expect(await core((c) => runCollections(c))).toMatchObject({ reminded: [], events: 0 });
      }
      if (!first) {
        expect(await sql(`select count(*)::int as n from collection_events where kind = 'reminder'`)).toEqual([{ n: 6 }]);
        return;
      }
      const events = await cli('collections', 'events', '--kind', 'reminder', '--json');
      expect(events.json.data).toHaveLength(6);
    });

    it('the warning on due date plus grace; nobody suspended yet, all still at full speed', async () => {
      day('2026-11-21');
      const r = first ? await collections() : await core((c) => runCollections(c));
      expect(r).toMatchObject({ warned: sorted(['ben', 'carlo']), suspended: [], jobIds: [] });
      for (const user of ['ana', 'ben', 'carlo']) expect(live(user)[0]?.rateLimit).toBe(FULL);
    });

    it(`the day after due date plus grace: Ben (half paid) and Carlo are suspended: ${v.action === 'block' ? 'blocked, session dropped' : 'throttled to 1M/1M'}`, async () => {
      day('2026-11-22');
      const r = await collections();
      expect(r).toMatchObject({ suspended: sorted(['ben', 'carlo']), restored: [] });
      for (const user of ['ben', 'carlo']) {
        if (v.action === 'block') {
          expect(live(user)).toEqual([]);
          if (v.mode === 'api') expect((await secret(user))!.disabled).toBe('true');
          const refused = await dial(user).catch((e: unknown) => e);
          expect(refused).toBeInstanceOf(DialRejectedError);
        } else {
          // RADIUS: the live session is slowed by CoA. API: the secret moves to the throttled
          // profile and the session reconnects to it.
          if (v.mode === 'radius') expect(live(user)).toEqual([expect.objectContaining({ rateLimit: '1M/1M' })]);
          expect(await rateNow(user)).toBe('1M/1M');
        }
      }
      expect(live('ana')[0]?.rateLimit).toBe(FULL);
      // Why, and that a second run changes nothing: the same in every variant, so through the
      // binary in the first only.
      const reason = 'Invoice INV-2026-000002 (due 2026-11-16) unpaid after 5 days of grace; overdue balance ₱750.00';
      if (first) {
        const ev = await cli('collections', 'events', '--subscriber', 'ben', '--kind', 'suspension', '--json');
        expect(ev.json.data[0].reason).toBe(reason);
        expect(await collections()).toMatchObject({ suspended: [], events: 0 });
      } else {
        expect(await sql(`select e.reason from collection_events e join services s on s.subscriber_id = e.subscriber_id where s.username = 'ben' and e.kind = 'suspension'`)).toEqual([{ reason }]);
        expect(await core((c) => runCollections(c))).toMatchObject({ suspended: [], events: 0 });
      }
    });

    it('Carlo pays: restored and back at full speed by payment record itself (no daemon runs)', async () => {
      day('2026-11-23', '10:00:00');
      const started = performance.now();
      const pay = await cli('payment', 'record', '--subscriber', 'carlo', '--amount', '1500', '--method', 'gcash', '--reference', '7098765432109', '--json');
      const returned = performance.now();
      expect(pay.code, pay.stderr).toBe(0);
      expect(pay.json.data.collections.restored).toEqual([ids.carlo]);
      // Restored by the command itself (API: the secret enabled; RADIUS: CoA or a new dial
      // accepted), not by anything that runs later: no daemon runs here. How fast is measured by
      // bench/intake.mjs (payment to router restored), not asserted on a shared machine.
      await eventually(async () => ((await rateNow('carlo')) === FULL ? true : undefined));
      const afterReturn = performance.now() - returned;
      console.info(`[billing-cycle ${v.mode}/${v.action}] payment record took ${(returned - started).toFixed(0)} ms (process start included); full speed ${afterReturn.toFixed(0)} ms after it returned`);
      if (v.mode === 'api') expect((await secret('carlo'))!.disabled).toBe('false');
      // Ben still owes the rest past grace: still suspended.
      expect(await rateNow('ben')).toBe(v.action === 'block' ? undefined : '1M/1M');
      const statuses = await sql(`select username, collection_status, access_state from services order by id`);
      expect(statuses).toEqual([
        { username: 'ana', collection_status: 'current', access_state: 'active' },
        { username: 'ben', collection_status: 'suspended', access_state: v.action === 'block' ? 'blocked' : 'throttled' },
        { username: 'carlo', collection_status: 'restored', access_state: 'active' },
      ]);
      // The list through the binary in the first variant; the others read it as the command does.
      const invoices = first
        ? ((await cli('invoice', 'list', '--json')).json.data as Array<{ accountNo: string; status: string; paidMinor: number }>)
        : await core((c) => listInvoices(c.db, { today: '2026-11-23' }));
      expect(invoices.map((i) => [i.accountNo, i.status, Number(i.paidMinor)]).sort()).toEqual([
        ['S-000001', 'paid', 150000],
        ['S-000002', 'overdue', 75000],
        ['S-000003', 'paid', 150000],
      ]);
      // No router work left behind.
      expect(await sql(`select count(*)::int as n from provisioning_jobs where status in ('pending', 'running')`)).toEqual([{ n: 0 }]);
    });
  });
}

scenario({ mode: 'api', action: 'block' });
scenario({ mode: 'api', action: 'throttle' });
scenario({ mode: 'radius', action: 'block' });
scenario({ mode: 'radius', action: 'throttle' });
