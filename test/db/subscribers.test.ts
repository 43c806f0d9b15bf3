import { beforeAll, describe, expect, it } from 'vitest';
import type { ServiceContext } from '../../src/core/context.js';
import { IspctlError } from '../../src/core/errors.js';
import { archivePlan, createPlan, editPlan } from '../../src/core/plans/service.js';
import { addRouter } from '../../src/core/routers/service.js';
import { setSettings } from '../../src/core/settings/service.js';
import { initialise } from '../../src/core/settings/init.js';
import { parseCsv } from '../../src/core/subscribers/csv.js';
import { importSubscribers, type ImportRowError } from '../../src/core/subscribers/import.js';
import {
  addSubscriber,
  desiredAccessForServices,
  editSubscriber,
  listSubscribers,
  subscriberListPages,
  removeSubscriber,
  resumeSubscriber,
  showSubscriber,
  suspendSubscriber,
} from '../../src/core/subscribers/service.js';
import { describeEachEngine } from '../helpers/db.js';

async function rejection(p: Promise<unknown>): Promise<IspctlError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof IspctlError) return err;
    throw err;
  }
  throw new Error('expected the promise to reject');
}

const json = (v: unknown) => JSON.stringify(v, (_k, x) => (typeof x === 'bigint' ? x.toString() : x));

describe('parseCsv (RFC 4180)', () => {
  it('reads quoted fields with commas, quotes and line breaks, CRLF and a BOM', () => {
    const text = '\uFEFFfull_name,address,notes\r\n"Dela Cruz, Juan","12 ""Mabini"" St",plain\r\n\r\nAna,"line one\nline two",\r\n';
    expect(parseCsv(text)).toEqual([
      { fields: ['full_name', 'address', 'notes'], line: 1 },
      { fields: ['Dela Cruz, Juan', '12 "Mabini" St', 'plain'], line: 2 },
      { fields: ['Ana', 'line one\nline two', ''], line: 4 },
    ]);
  });

  it('reads the last line without a line break and empty quoted fields', () => {
    expect(parseCsv('a,b\n"",x')).toEqual([
      { fields: ['a', 'b'], line: 1 },
      { fields: ['', 'x'], line: 2 },
    ]);
  });

  it.each([
    ['a,b\n"open,x\n', 'never closed', 2],
    ['a,b\nx"y,z\n', 'inside an unquoted field', 2],
    ['a,b\n"x"y,z\n', 'after a closing quote', 2],
  ])('rejects malformed CSV %j with its line', (text, why, line) => {
    try {
      parseCsv(text);
      expect.unreachable();
    } catch (err) {
      expect((err as IspctlError).code).toBe('INVALID_CSV');
      expect((err as Error).message).toContain(why);
      expect((err as Error).message).toContain(`line ${line}`);
    }
  });
});

describeEachEngine('subscribers', (db) => {
  let ctx: ServiceContext;
  const counts = async () => {
    const [s] = await ctx.db('subscribers').count({ n: '*' });
    const [v] = await ctx.db('services').count({ n: '*' });
    return [Number(s!.n), Number(v!.n)];
  };

  beforeAll(async () => {
    ctx = { ...db().ctx(), env: { ISPCTL_SECRET_KEY: 'c3'.repeat(32) } };
    await initialise(ctx, { values: { 'isp-name': 'Test ISP', currency: 'PHP', timezone: 'Asia/Manila' } });
    await addRouter(ctx, { name: 'core1', host: '127.0.0.41', apiUser: 'u', apiPassword: 'p' });
    await addRouter(ctx, { name: 'core2', host: '127.0.0.42', apiUser: 'u', apiPassword: 'p' });
    await createPlan(ctx, { name: 'Fiber 50', price: '1500', download: '50M', upload: '10M' });
    await createPlan(ctx, { name: 'Home 10', price: '999', download: '10M', upload: '5M', suspensionAction: 'throttle', throttleDownload: '2M', throttleUpload: '1M' });
  });

  describe('add', () => {
    it('creates the subscriber and its first service; account numbers from a sequence; a strong password generated', async () => {
      const r = await addSubscriber(ctx, { fullName: '  Juan   Dela Cruz ', email: 'Juan@Example.COM', phone: '+63 917-123-4567', address: '12 Mabini St', username: 'juan.dc', plan: 'fiber 50', router: 'CORE1' });
      expect(r.subscriber).toMatchObject({ accountNo: 'S-000001', fullName: 'Juan Dela Cruz', email: 'Juan@example.com', phone: '+639171234567', address: '12 Mabini St' });
      expect(r.service).toMatchObject({ username: 'juan.dc', staticIp: null, individualPriceMinor: null, discount: null, adminStatus: 'active', collectionStatus: 'current', startedOn: '2026-11-01', endedOn: null, revision: 1 });
      expect(r.plan).toBe('Fiber 50');
      expect(r.router).toBe('core1');
      expect(r.generatedPassword).toMatch(/^[A-Za-z0-9]{12}$/);
      const row = await ctx.db('services').where({ id: r.service.id }).first();
      expect(row.password).toBe(r.generatedPassword);
      const audit = await ctx.db('audit_log').where({ entity_type: 'subscriber', entity_id: 'S-000001' });
      expect(audit).toHaveLength(1);
      expect(json(audit)).not.toContain(r.generatedPassword!);
    });

    it('takes a given password, a static IP, an individual price and a discount', async () => {
      const r = await addSubscriber(ctx, {
        fullName: 'Ana Reyes',
        username: 'Ana@fiber',
        password: 'Given-Pass.1',
        plan: 'Fiber 50',
        router: 'core1',
        staticIp: '10.20.0.15',
        price: '1,200.00',
        discount: '10%',
        discountUntil: '2027-01-31',
        startDate: '2026-10-15',
      });
      expect(r.generatedPassword).toBeUndefined();
      expect(r.subscriber.accountNo).toBe('S-000002');
      expect(r.service).toMatchObject({ staticIp: '10.20.0.15', individualPriceMinor: 120000n, discount: { kind: 'percent', basisPoints: 1000 }, discountUntil: '2027-01-31', startedOn: '2026-10-15' });
      const shown = await showSubscriber(ctx, 'ANA@FIBER');
      expect(shown.services[0]!.price).toMatchObject({ base: '1200.00', amount: '1080.00', discount: '10%', discountActive: true, individual: true });
      expect(shown.services[0]!.password).toBe('••••••');
      expect((await showSubscriber(ctx, 's-000002', { showPassword: true })).services[0]!.password).toBe('Given-Pass.1');
    });

    it.each([
      [{ username: 'juan dc' }, 'INVALID_USERNAME', 'space'],
      [{ username: 'juan"dc' }, 'INVALID_USERNAME', 'quote'],
      [{ username: "o'brien" }, 'INVALID_USERNAME', 'quote'],
      [{ username: 'back\\slash' }, 'INVALID_USERNAME', 'backslash'],
      [{ username: '-dash' }, 'INVALID_USERNAME', 'starts with "-"'],
      [{ username: 'x'.repeat(65) }, 'INVALID_USERNAME', '65 characters'],
      [{ username: 'tab\there' }, 'INVALID_USERNAME', 'control'],
      [{ username: 'josé' }, 'INVALID_USERNAME', 'non-ASCII'],
      [{ username: 'a#b' }, 'INVALID_USERNAME', '"#"'],
      [{ username: '' }, 'INVALID_USERNAME', 'empty'],
      [{ password: 'has space' }, 'INVALID_PASSWORD', 'space'],
      [{ password: 'quo"te' }, 'INVALID_PASSWORD', 'quote'],
      [{ email: 'not-an-email' }, 'INVALID_EMAIL', '"not-an-email"'],
      [{ email: 'a@b' }, 'INVALID_EMAIL', '"a@b"'],
      [{ phone: '12345' }, 'INVALID_PHONE', '5 digits'],
      [{ phone: '0917-ABC-1234' }, 'INVALID_PHONE', 'digits'],
      [{ staticIp: '10.0.0.0' }, 'INVALID_STATIC_IP', 'ends in 0'],
      [{ staticIp: '10.0.0.255' }, 'INVALID_STATIC_IP', 'ends in 255'],
      [{ staticIp: '10.0.0.300' }, 'INVALID_STATIC_IP', 'not an IPv4'],
      [{ staticIp: '10.0.0.5/24' }, 'INVALID_STATIC_IP', 'network'],
      [{ staticIp: '127.0.0.5' }, 'INVALID_STATIC_IP', 'loopback'],
      [{ staticIp: '010.0.0.5' }, 'INVALID_STATIC_IP', '"010.0.0.5"'],
      [{ price: 'free' }, 'INVALID_AMOUNT', '"free"'],
      [{ discount: '150%' }, 'INVALID_PERCENT', 'more than 100%'],
      [{ discount: '2000' }, 'DISCOUNT_TOO_LARGE', '2000.00'],
      [{ discount: '10%', discountUntil: '2026-10-31' }, 'DISCOUNT_UNTIL_PAST', '2026-10-31'],
      [{ discountUntil: '2027-01-01' }, 'DISCOUNT_UNTIL_WITHOUT_DISCOUNT', 'without a discount'],
      [{ discount: '10%', discountUntil: '2027-02-30' }, 'INVALID_DATE', '"2027-02-30"'],
      [{ fullName: '' }, 'INVALID_NAME', 'empty'],
    ])('rejects %j with %s (exit 2), writing nothing', async (over, code, text) => {
      const before = await counts();
      const e = await rejection(addSubscriber(ctx, { fullName: 'Bad Input', username: 'bad.input', plan: 'Fiber 50', router: 'core1', ...over }));
      expect(e.code).toBe(code);
      expect(e.exitCode).toBe(2);
      expect(e.message).toContain(text);
      expect(await counts()).toEqual(before);
    });

    it('lists every problem, not only the first', async () => {
      const e = await rejection(addSubscriber(ctx, { fullName: 'X', username: 'bad user', email: 'nope', plan: 'Fiber 50', router: 'core1' }));
      expect(e.code).toBe('INVALID_EMAIL');
      expect(e.suggestions.join('\n')).toContain('Also --username');
      expect((e.details?.problems as unknown[]).length).toBe(2);
    });

    it('refuses a taken username (ignoring case) or static IP with a conflict (exit 5)', async () => {
      const before = await counts();
      const u = await rejection(addSubscriber(ctx, { fullName: 'Other', username: 'JUAN.DC', plan: 'Fiber 50', router: 'core1' }));
      expect([u.code, u.exitCode]).toEqual(['USERNAME_TAKEN', 5]);
      expect(u.message).toContain('S-000001');
      const ip = await rejection(addSubscriber(ctx, { fullName: 'Other', username: 'other', plan: 'Fiber 50', router: 'core1', staticIp: '10.20.0.15' }));
      expect([ip.code, ip.exitCode]).toEqual(['STATIC_IP_TAKEN', 5]);
      expect(await counts()).toEqual(before);
    });

    it('the database itself makes duplicates and bad rows impossible', async () => {
      const svc = await ctx.db('services').where({ username: 'juan.dc' }).first();
      const base = { subscriber_id: svc.subscriber_id, plan_id: svc.plan_id, router_id: svc.router_id, password: 'x', started_on: '2026-11-01' };
      await expect(ctx.db('services').insert({ ...base, username: 'Juan.DC' })).rejects.toThrow(/services_username_lower_key/);
      await expect(ctx.db('services').insert({ ...base, username: 'ip-dup', static_ip: '10.20.0.15' })).rejects.toThrow(/services_static_ip_key/);
      await expect(ctx.db('services').insert({ ...base, username: 'has space' })).rejects.toThrow(/services_username_format/);
      await expect(ctx.db('services').insert({ ...base, username: 'half-discount', discount_kind: 'fixed' })).rejects.toThrow(/services_discount_shape/);
      await expect(ctx.db('services').insert({ ...base, username: 'until-only', discount_until: '2027-01-01' })).rejects.toThrow(/services_discount_shape/);
      await expect(ctx.db('services').insert({ ...base, username: 'pct', discount_kind: 'percent', discount_value: 10001 })).rejects.toThrow(/services_discount_shape/);
      await expect(ctx.db('services').insert({ ...base, username: 'susp', admin_status: 'suspended' })).rejects.toThrow(/services_admin_status_shape/);
      await expect(ctx.db('services').insert({ ...base, username: 'norouter', router_id: null })).rejects.toThrow(/services_router_unless_ended/);
      await expect(ctx.db('subscribers').insert({ full_name: 'x', phone: '12-34' })).rejects.toThrow(/subscribers_phone_format/);
    });

    it('404s on an unknown plan or router (exit 4) and never invents a price', async () => {
      const before = await counts();
      const p = await rejection(addSubscriber(ctx, { fullName: 'X', username: 'x1', plan: 'Fiber 500', router: 'core1', price: '100' }));
      expect([p.code, p.exitCode]).toEqual(['PLAN_NOT_FOUND', 4]);
      const r = await rejection(addSubscriber(ctx, { fullName: 'X', username: 'x1', plan: 'Fiber 50', router: 'core9' }));
      expect([r.code, r.exitCode]).toEqual(['ROUTER_NOT_FOUND', 4]);
      expect(await counts()).toEqual(before);
    });
  });

  describe('admin suspension', () => {
    it('suspends with a reason, conditioned on the current state, and resumes', async () => {
      const s = await suspendSubscriber(ctx, 'juan.dc', { reason: 'abuse report' });
      expect(s.services).toHaveLength(1);
      expect(s.services[0]).toMatchObject({ adminStatus: 'suspended', adminReason: 'abuse report', revision: 2 });
      expect(s.services[0]!.adminSuspendedAt).toEqual(new Date('2026-11-01T00:00:00Z'));
      const again = await rejection(suspendSubscriber(ctx, 'S-000001', { reason: 'again' }));
      expect([again.code, again.exitCode]).toEqual(['ALREADY_SUSPENDED', 5]);
      expect(again.message).toContain('abuse report');
      expect((await rejection(suspendSubscriber(ctx, 'ana@fiber', { reason: ' ' }))).code).toBe('MISSING_REASON');

      const [access] = await desiredAccessForServices(ctx.db, [s.services[0]!.id]);
      expect(access!.access).toMatchObject({ state: 'blocked', reason: 'admin_suspended' });

      const r = await resumeSubscriber(ctx, 'JUAN.DC');
      expect(r.services[0]).toMatchObject({ adminStatus: 'active', adminReason: null, adminSuspendedAt: null, revision: 3 });
      const not = await rejection(resumeSubscriber(ctx, 'juan.dc'));
      expect([not.code, not.exitCode]).toEqual(['NOT_SUSPENDED', 5]);
      const audit = await ctx.db('audit_log').where({ entity_id: 'S-000001' }).whereIn('action', ['suspend', 'resume']).orderBy('id');
      expect(audit.map((a) => a.action)).toEqual(['suspend', 'resume']);
      expect(audit[0].after.reason).toBe('abuse report');
    });

    it('two suspensions at once: exactly one wins', async () => {
      const results = await Promise.allSettled([suspendSubscriber(ctx, 'ana@fiber', { reason: 'one' }), suspendSubscriber(ctx, 'ana@fiber', { reason: 'two' })]);
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
      const failed = results.find((r) => r.status === 'rejected') as PromiseRejectedResult;
      expect((failed.reason as IspctlError).kind).toBe('conflict');
      expect(await ctx.db('audit_log').where({ entity_id: 'S-000002', action: 'suspend' }).count({ n: '*' })).toEqual([{ n: 1n }]);
      await resumeSubscriber(ctx, 'ana@fiber');
    });

    it('billing never lifts an admin suspension: collection status and admin status are separate', async () => {
      await suspendSubscriber(ctx, 'juan.dc', { reason: 'fraud check' });
      await ctx.db('services').where({ username: 'juan.dc' }).update({ collection_status: 'restored' });
      const [a] = await listSubscribers(ctx.db, { search: 'juan.dc' });
      expect(a!.adminStatus).toBe('suspended');
      expect(a!.access.state).toBe('blocked');
      await resumeSubscriber(ctx, 'juan.dc');
      await ctx.db('services').where({ username: 'juan.dc' }).update({ collection_status: 'current' });
    });
  });

  describe('list', () => {
    beforeAll(async () => {
      await addSubscriber(ctx, { fullName: 'Carlo Santos', phone: '0917 555 0101', username: 'carlo', plan: 'Home 10', router: 'core2' });
      await addSubscriber(ctx, { fullName: 'Dina Santos', email: 'dina@example.org', username: 'dina', plan: 'Home 10', router: 'core2' });
      await addSubscriber(ctx, { fullName: 'Eli 100%_done', username: 'eli', plan: 'Fiber 50', router: 'core2' });
      await ctx.db('services').where({ username: 'carlo' }).update({ collection_status: 'suspended' }); // Home 10 throttles
      await ctx.db('services').where({ username: 'dina' }).update({ collection_status: 'uncollectible' });
      await suspendSubscriber(ctx, 'eli', { reason: 'moved away' });
    });

    const names = (rows: Array<{ username: string }>) => rows.map((r) => r.username);

    it('filters by plan and router, in account order', async () => {
      expect(names(await listSubscribers(ctx.db))).toEqual(['juan.dc', 'Ana@fiber', 'carlo', 'dina', 'eli']);
      expect(names(await listSubscribers(ctx.db, { plan: 'home 10' }))).toEqual(['carlo', 'dina']);
      expect(names(await listSubscribers(ctx.db, { router: 'core2', plan: 'Fiber 50' }))).toEqual(['eli']);
      expect((await rejection(listSubscribers(ctx.db, { plan: 'nope' }))).code).toBe('PLAN_NOT_FOUND');
      expect((await rejection(listSubscribers(ctx.db, { router: 'nope' }))).exitCode).toBe(4);
    });

    it('filters by the access the policy decides', async () => {
      expect(names(await listSubscribers(ctx.db, { state: 'active' }))).toEqual(['juan.dc', 'Ana@fiber']);
      const throttled = await listSubscribers(ctx.db, { state: 'throttled' });
      expect(names(throttled)).toEqual(['carlo']);
      expect(throttled[0]!.access).toMatchObject({ downloadKbps: 2000, uploadKbps: 1000, rateLimit: '1M/2M' });
      expect(names(await listSubscribers(ctx.db, { state: 'blocked' }))).toEqual(['dina', 'eli']);
      expect(names(await listSubscribers(ctx.db, { state: 'suspended' }))).toEqual(['eli']);
      expect((await rejection(listSubscribers(ctx.db, { state: 'sleepy' }))).code).toBe('INVALID_STATE');
    });

    it('a state the policy decides reads the services a page at a time: the same rows, every read bounded', async () => {
      // Before, such a listing read every service of the database to find the first 100.
      const reads: Array<{ sql: string; bindings: readonly unknown[] }> = [];
      const watch = (q: { sql: string; bindings?: readonly unknown[] }) => {
        if (/from "services" as "s"/.test(q.sql)) reads.push({ sql: q.sql, bindings: q.bindings ?? [] });
      };
      ctx.db.client.on('query', watch);
      try {
        for (const pageSize of [1, 2, 3, 1000]) {
          reads.length = 0;
          expect(names(await listSubscribers(ctx.db, { state: 'blocked', pageSize }))).toEqual(['dina', 'eli']);
          expect(names(await listSubscribers(ctx.db, { state: 'active', pageSize }))).toEqual(['juan.dc', 'Ana@fiber']);
          expect(names(await listSubscribers(ctx.db, { state: 'blocked', pageSize, limit: 1 }))).toEqual(['dina']);
          expect(reads.length).toBeGreaterThan(0);
          for (const r of reads) {
            expect(r.sql).toMatch(/ limit (\?|\$\d+)$/);
            expect(r.bindings.at(-1)).toBe(pageSize);
          }
        }
        // Five services, a page of two: three reads for all the blocked ones; one when the first page has the limit's.
        reads.length = 0;
        await listSubscribers(ctx.db, { state: 'blocked', pageSize: 2 });
        expect(reads).toHaveLength(3);
        reads.length = 0;
        await listSubscribers(ctx.db, { state: 'active', pageSize: 2, limit: 2 });
        expect(reads).toHaveLength(1);
      } finally {
        ctx.db.client.removeListener('query', watch);
      }
    });

    it('pages: every one at most the page size, together the list, the limit across pages', async () => {
      const pagesOf = async (filter: Parameters<typeof subscriberListPages>[1]) => {
        const out: string[][] = [];
        for await (const page of subscriberListPages(ctx.db, filter)) out.push(names(page));
        return out;
      };
      expect(await pagesOf({ pageSize: 2 })).toEqual([['juan.dc', 'Ana@fiber'], ['carlo', 'dina'], ['eli']]);
      expect(await pagesOf({ pageSize: 2, limit: 3 })).toEqual([['juan.dc', 'Ana@fiber'], ['carlo']]);
      expect(await pagesOf({ pageSize: 2, state: 'blocked' })).toEqual([['dina'], ['eli']]);
      expect(await pagesOf({ pageSize: 3, plan: 'home 10' })).toEqual([['carlo', 'dina']]);
      expect(await pagesOf({ search: 'nobody at all' })).toEqual([]);
      await expect(pagesOf({ state: 'sleepy' })).rejects.toMatchObject({ code: 'INVALID_STATE' });
    });

    it('follows the settings: with suspension-action throttle nothing changes for a plan that says block', async () => {
      await setSettings(ctx, { 'suspension-action': 'throttle', 'throttle-download': '3M' });
      await ctx.db('services').where({ username: 'juan.dc' }).update({ collection_status: 'suspended' });
      const [juan] = await listSubscribers(ctx.db, { search: 'juan.dc' });
      expect(juan!.access).toMatchObject({ state: 'throttled', downloadKbps: 3000, uploadKbps: 1000 });
      await editPlan(ctx, 'Fiber 50', { suspensionAction: 'block' });
      expect((await listSubscribers(ctx.db, { search: 'juan.dc' }))[0]!.access.state).toBe('blocked');
      await editPlan(ctx, 'Fiber 50', { suspensionAction: 'default' });
      await setSettings(ctx, { 'suspension-action': 'block' });
      await ctx.db('services').where({ username: 'juan.dc' }).update({ collection_status: 'current' });
    });

    it('searches names, usernames, emails, phones (any format) and account numbers, literally', async () => {
      expect(names(await listSubscribers(ctx.db, { search: 'santos' }))).toEqual(['carlo', 'dina']);
      expect(names(await listSubscribers(ctx.db, { search: 'EXAMPLE.ORG' }))).toEqual(['dina']);
      expect(names(await listSubscribers(ctx.db, { search: '0917-555' }))).toEqual(['carlo']);
      expect(names(await listSubscribers(ctx.db, { search: 's-000002' }))).toEqual(['Ana@fiber']);
      expect(names(await listSubscribers(ctx.db, { search: '100%_' }))).toEqual(['eli']);
      expect(names(await listSubscribers(ctx.db, { search: '%' }))).toEqual(['eli']);
    });

    it('limits, also after the state filter', async () => {
      expect(names(await listSubscribers(ctx.db, { limit: 2 }))).toEqual(['juan.dc', 'Ana@fiber']);
      expect(names(await listSubscribers(ctx.db, { state: 'blocked', limit: 1 }))).toEqual(['dina']);
    });

    it('uses a fixed number of queries however many rows there are', async () => {
      const queries: string[] = [];
      const listener = (q: { sql: string }) => queries.push(q.sql);
      ctx.db.on('query', listener);
      try {
        await listSubscribers(ctx.db, { state: 'blocked', plan: 'Home 10', search: 'a' });
      } finally {
        ctx.db.removeListener('query', listener);
      }
      // The settings, the plans (read once, not joined to every row), the plan asked for, one page.
      expect(queries.length).toBeLessThanOrEqual(4);
    });
  });

  describe('edit', () => {
    it('changes contact details and service fields in one conditioned update, and audits without the password', async () => {
      const before = (await showSubscriber(ctx, 'carlo')).services[0]!;
      const res = await editSubscriber(ctx, 'carlo', { phone: '+63 917 000 1111', email: 'carlo@example.com', plan: 'Fiber 50', staticIp: '10.20.0.16', password: 'NewPass-99' });
      expect(res.changed.sort()).toEqual(['email', 'password', 'phone', 'plan', 'staticIp']);
      expect(res.accessChanged).toBe(true);
      expect(res.service!.revision).toBe(before.revision + 1);
      expect(res.previous!.planId).toBe(before.planId);
      expect((await showSubscriber(ctx, 'carlo', { showPassword: true })).services[0]).toMatchObject({ plan: 'Fiber 50', staticIp: '10.20.0.16', password: 'NewPass-99' });
      const audit = await ctx.db('audit_log').where({ action: 'update', entity_type: 'subscriber' }).orderBy('id', 'desc').first();
      expect(json(audit)).not.toContain('NewPass-99');
      expect(audit.after.passwordChanged).toBe(true);
    });

    it('clears optional values with none, and reports no change when nothing changes', async () => {
      const res = await editSubscriber(ctx, 'carlo', { email: 'none', staticIp: '' });
      expect(res.subscriber.email).toBeNull();
      expect(res.service!.staticIp).toBeNull();
      expect((await editSubscriber(ctx, 'carlo', { email: null })).changed).toEqual([]);
    });

    it('replaces a discount (and its end date), checks it against the price, and clears it', async () => {
      const a = await editSubscriber(ctx, 'ana@fiber', { discount: '100' });
      expect(a.service).toMatchObject({ discount: { kind: 'fixed', minor: 10000n }, discountUntil: null });
      expect((await rejection(editSubscriber(ctx, 'ana@fiber', { discount: '1300' }))).code).toBe('DISCOUNT_TOO_LARGE');
      expect((await rejection(editSubscriber(ctx, 'ana@fiber', { discountUntil: '2026-10-01' }))).code).toBe('DISCOUNT_UNTIL_PAST');
      const b = await editSubscriber(ctx, 'ana@fiber', { discount: 'none', price: 'none' });
      expect(b.service).toMatchObject({ discount: null, discountUntil: null, individualPriceMinor: null });
      expect((await rejection(editSubscriber(ctx, 'ana@fiber', { discountUntil: '2027-01-01' }))).code).toBe('DISCOUNT_UNTIL_WITHOUT_DISCOUNT');
    });

    it('refuses taken usernames and IPs, archived plans and unknown routers', async () => {
      expect((await rejection(editSubscriber(ctx, 'carlo', { username: 'DINA' }))).code).toBe('USERNAME_TAKEN');
      await editSubscriber(ctx, 'dina', { staticIp: '10.20.0.40' });
      expect((await rejection(editSubscriber(ctx, 'carlo', { staticIp: '10.20.0.40' }))).code).toBe('STATIC_IP_TAKEN');
      await createPlan(ctx, { name: 'Old', price: '1', download: '1M', upload: '1M' });
      await archivePlan(ctx, 'Old');
      expect((await rejection(editSubscriber(ctx, 'carlo', { plan: 'Old' }))).code).toBe('PLAN_ARCHIVED');
      expect((await rejection(editSubscriber(ctx, 'carlo', { router: 'core9' }))).exitCode).toBe(4);
      const gen = await editSubscriber(ctx, 'carlo', { generatePassword: true, username: 'carlo.s' });
      expect(gen.generatedPassword).toMatch(/^[A-Za-z0-9]{12}$/);
      expect(gen.service!.username).toBe('carlo.s');
    });
  });

  describe('remove', () => {
    it('ends the services (blocked, kept for history), frees the static IP, and can purge', async () => {
      const before = await counts();
      const res = await removeSubscriber(ctx, 'dina');
      expect(res.purged).toBe(false);
      expect(res.endedServiceIds).toHaveLength(1);
      expect(await counts()).toEqual(before);
      expect(names2(await listSubscribers(ctx.db))).not.toContain('dina');
      const ended = await listSubscribers(ctx.db, { state: 'ended' });
      expect(ended.map((r) => [r.username, r.endedOn, r.access.reason])).toEqual([['dina', '2026-11-01', 'ended']]);
      expect((await rejection(removeSubscriber(ctx, 'dina'))).code).toBe('ALREADY_REMOVED');
      expect((await rejection(suspendSubscriber(ctx, 'dina', { reason: 'x' }))).code).toBe('SERVICE_ENDED');
      const reuse = await addSubscriber(ctx, { fullName: 'New', username: 'newbie', plan: 'Fiber 50', router: 'core1', staticIp: '10.20.0.40' });
      expect(reuse.service.staticIp).toBe('10.20.0.40');
      const purged = await removeSubscriber(ctx, 'newbie', { purge: true });
      expect(purged.purged).toBe(true);
      expect(await ctx.db('services').where({ username: 'newbie' }).first()).toBeUndefined();
      expect((await rejection(showSubscriber(ctx, 'newbie'))).exitCode).toBe(4);
    });
  });

  describe('import', () => {
    const header = 'full_name,email,phone,address,username,password,plan,router,static_ip,price,discount,discount_until';

    it('reports every bad row (row, column, why), including duplicates in the file and in the database, and writes nothing', async () => {
      const before = await counts();
      const csv = [
        header,
        'Good One,good1@example.com,0917 111 2222,"1 Main St, Town",good1,,Fiber 50,core1,10.30.0.1,,,',
        'Bad Email,not-an-email,,,bad1,,Fiber 50,core1,,,,',
        'Dup In File,,,,good1,,Fiber 50,core1,,,,',
        'Taken In DB,,,,JUAN.DC,,Fiber 50,core1,10.20.0.15,,,',
        'No Such Plan,,,,newplan,,Fiber 5000,core1,,1500,,',
        'Dup IP,,,,ipdup,,Fiber 50,core1,10.30.0.1,,,',
        'Space User,,,,has space,,Home 10,core2,,,150%,',
        ',,,,noname,,Fiber 50,core9,,,,',
        'Fine Two,,,,good2,,Home 10,core2,,,,',
      ].join('\n');
      const e = await rejection(importSubscribers(ctx, csv));
      expect(e.code).toBe('IMPORT_INVALID');
      expect(e.exitCode).toBe(2);
      expect(e.message).toContain('7 of 9 rows');
      const errors = e.details!.errors as ImportRowError[];
      const got = errors.map((x) => [x.row, x.column, x.code]);
      expect(got).toEqual([
        [3, 'email', 'INVALID_EMAIL'],
        [4, 'username', 'DUPLICATE_USERNAME'],
        [5, 'username', 'USERNAME_TAKEN'],
        [5, 'static_ip', 'STATIC_IP_TAKEN'],
        [6, 'plan', 'PLAN_NOT_FOUND'],
        [7, 'static_ip', 'DUPLICATE_STATIC_IP'],
        [8, 'username', 'INVALID_USERNAME'],
        [8, 'discount', 'INVALID_PERCENT'],
        [9, 'full_name', 'INVALID_NAME'],
        [9, 'router', 'ROUTER_NOT_FOUND'],
      ]);
      expect(errors.find((x) => x.row === 4)!.message).toContain('row 2');
      expect(errors.find((x) => x.row === 7)!.message).toContain('row 2');
      expect(errors.find((x) => x.code === 'USERNAME_TAKEN')!.message).toContain('S-000001');
      expect(await counts()).toEqual(before);
    });

    it('reports header problems and rows with the wrong number of fields', async () => {
      expect((await rejection(importSubscribers(ctx, 'full_name,usrname,plan,router\nx,y,z,w'))).message).toContain('"usrname"');
      expect((await rejection(importSubscribers(ctx, 'full_name,plan,router\nx,y,z'))).message).toContain('username');
      expect((await rejection(importSubscribers(ctx, ''))).code).toBe('INVALID_CSV');
      const e = await rejection(importSubscribers(ctx, 'full_name,username,plan,router\nA,a-1,Fiber 50\n'));
      expect((e.details!.errors as ImportRowError[])[0]).toMatchObject({ row: 2, column: '*', code: 'INVALID_CSV_ROW' });
    });

    it('a dry run checks everything and writes nothing', async () => {
      const before = await counts();
      const report = await importSubscribers(ctx, `${header}\nDry Run,,,,dry1,,Fiber 50,core1,,,,\n`, { dryRun: true });
      expect(report).toMatchObject({ dryRun: true, rows: 1, created: [], planned: [{ row: 2, username: 'dry1', plan: 'Fiber 50', router: 'core1' }] });
      expect(await counts()).toEqual(before);
    });

    it('imports a large file in one transaction with batch inserts, in a bounded number of queries', async () => {
      const before = await counts();
      const n = 2500;
      const lines = [header];
      for (let i = 0; i < n; i++) {
        lines.push(`"Bulk, Person ${i}",bulk${i}@example.com,+6391700${String(i).padStart(5, '0')},,bulk${i},${i % 2 ? `pw-${i}` : ''},${i % 3 ? 'Fiber 50' : 'home 10'},core${(i % 2) + 1},10.${40 + Math.floor(i / 250)}.${i % 250}.${(i % 7) + 1},${i % 5 ? '' : '"1,000.00"'},${i % 4 ? '' : '5%'},${i % 4 ? '' : '2027-12-31'}`);
      }
      const queries: string[] = [];
      const listener = (q: { sql: string }) => queries.push(q.sql);
      ctx.db.on('query', listener);
      let report;
      try {
        report = await importSubscribers(ctx, lines.join('\r\n') + '\r\n');
      } finally {
        ctx.db.removeListener('query', listener);
      }
      expect(report.created).toHaveLength(n);
      expect(queries.length).toBeLessThan(60);
      expect(await counts()).toEqual([before[0]! + n, before[1]! + n]);
      const first = report.created[0]!;
      expect(first.row).toBe(2);
      expect(first.generatedPassword).toMatch(/^[A-Za-z0-9]{12}$/);
      expect(report.created[1]!.generatedPassword).toBeUndefined();
      const accounts = report.created.map((c) => Number(c.accountNo.slice(2)));
      expect(new Set(accounts).size).toBe(n);
      expect(accounts).toEqual([...accounts].sort((a, b) => a - b));
      const row = await ctx.db('services as s').join('subscribers as u', 'u.id', 's.subscriber_id').where('s.username', 'bulk4').first('u.full_name', 's.individual_price_minor', 's.discount_kind', 's.discount_value', 's.password');
      expect(row).toMatchObject({ full_name: 'Bulk, Person 4', individual_price_minor: null, discount_kind: 'percent', discount_value: 500n });
      const b5 = await ctx.db('services').where({ username: 'bulk5' }).first('individual_price_minor', 'password');
      expect(b5).toMatchObject({ individual_price_minor: 100000n, password: 'pw-5' });
      expect(await ctx.db('audit_log').where({ entity_type: 'subscriber', action: 'create' }).whereIn('entity_id', report.created.slice(0, 10).map((c) => c.accountNo)).count({ n: '*' })).toEqual([{ n: 10n }]);
    });
  });
});

function names2(rows: Array<{ username: string }>): string[] {
  return rows.map((r) => r.username);
}
