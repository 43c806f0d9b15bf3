// Statement imports through the core service, on both engines: a GCash export and a bank CSV
// matched by account number, invoice number and an account column; unmatched, ambiguous and
// skipped rows reported with their line and why; the same file twice pays nothing; a malformed
// file changes nothing and names the line; the work is set-based (the number of queries does
// not grow with the rows); a suspended subscriber is restored by an imported payment.
import { beforeAll, expect, it } from 'vitest';
import { FixedClock } from '../../src/core/clock.js';
import type { ServiceContext } from '../../src/core/context.js';
import { generateInvoices } from '../../src/core/billing/generate.js';
import { runCollections } from '../../src/core/collections/run.js';
import { isIspctlError, type IspctlError } from '../../src/core/errors.js';
import { importStatement } from '../../src/core/intake/statement.js';
import { createPlan } from '../../src/core/plans/service.js';
import { addRouter } from '../../src/core/routers/service.js';
import { initialise } from '../../src/core/settings/init.js';
import { addSubscriber } from '../../src/core/subscribers/service.js';
import { describeEachEngine } from '../helpers/db.js';

describeEachEngine('payment import', (getDb) => {
  const clock = new FixedClock('2026-10-01T00:00:00Z');
  let ctx: ServiceContext;
  const acct: Record<string, string> = {};
  let pedroInvoice = '';
  let mariaInvoice = '';

  const count = async (table: string) => Number((await getDb().knex(table).count('* as n'))[0]!.n);
  const refused = async (p: Promise<unknown>): Promise<IspctlError> => {
    try {
      await p;
    } catch (err) {
      if (isIspctlError(err)) return err;
      throw err;
    }
    throw new Error('expected the import to be refused');
  };

  beforeAll(async () => {
    ctx = getDb().ctx(clock);
    await initialise(ctx, { values: { 'isp-name': 'Juan Net', currency: 'PHP', timezone: 'Asia/Manila', 'billing-day': 1, 'due-days': 15, 'grace-days': 5 } });
    await addRouter(ctx, { name: 'r1', host: '127.0.0.1', apiPort: 1, apiUser: 'admin', apiPassword: 'pw', mode: 'api' });
    await createPlan(ctx, { name: 'Fiber 50', price: '1,500.00', download: '50M', upload: '20M' });
    for (const [key, name, user] of [
      ['pedro', 'Pedro Penduko', 'pedro'],
      ['maria', 'Maria Clara', 'maria'],
      ['jose', 'Jose Rizal', 'jose.rizal'],
    ] as const) {
      acct[key] = (await addSubscriber(ctx, { fullName: name, username: user, password: `pw-${user}`, plan: 'Fiber 50', router: 'r1', startDate: '2026-10-01' })).subscriber.accountNo;
    }
    clock.set('2026-11-01T08:00:00+08:00');
    await generateInvoices(ctx);
    const inv = async (a: string) => String((await getDb().knex('invoices as i').join('subscribers as s', 's.id', 'i.subscriber_id').where('s.account_no', a).first('i.number')).number);
    pedroInvoice = await inv(acct.pedro!);
    mariaInvoice = await inv(acct.maria!);
    // Past the due date (Nov 16) and the grace days: everyone is suspended for non-payment.
    clock.set('2026-11-22T08:00:00+08:00');
    await runCollections(ctx);
    expect(await getDb().knex('services').where({ username: 'pedro' }).first('collection_status')).toMatchObject({ collection_status: 'suspended' });
  });

  const gcash = () =>
    [
      'Date and Time,Description,Reference No.,Debit,Credit,Balance',
      `2026-11-20 09:15 AM,Received GCash from PEDRO P. 0917***1234 acct ${acct.pedro},7012345678901,,"1,500.00","3,000.00"`,
      `2026-11-20 01:30 PM,Received GCash from MARIA C. for ${mariaInvoice},7012345678902,,750.50,"3,750.50"`,
      '2026-11-20 02:00 PM,Transfer to BPI,7012345678903,"2,000.00",,"1,750.50"',
      '',
      '2026-11-21 10:00 AM,Received GCash from UNKNOWN,7012345678904,,500.00,"2,250.50"',
      `2026-11-21 11:00 AM,"Received GCash for ${acct.pedro} and ${acct.jose}",7012345678905,,300.00,"2,550.50"`,
      `2026-11-21 11:05 AM,Received GCash ${acct.jose},7012345678901,,"1,500.00","4,050.50"`,
      `2026-11-21 11:10 AM,"Received GCash, a ""quoted"" note
over two lines",,,100.00,"4,150.50"`,
    ].join('\r\n') + '\r\n';

  it('a malformed file changes nothing and names the line', async () => {
    const badAmount = gcash().replace('750.50', '750.505');
    const e1 = await refused(importStatement(ctx, { text: badAmount, preset: 'gcash', fileName: 'nov.csv' }));
    expect(e1.code).toBe('INVALID_STATEMENT');
    expect(e1.message).toContain('line 3 (Credit)');
    expect(e1.message).toContain('nothing was imported');
    const badQuote = gcash().replace('Transfer to BPI', 'Transfer "to" BPI');
    expect((await refused(importStatement(ctx, { text: badQuote, preset: 'gcash' }))).message).toMatch(/line 4\b.*malformed/);
    const badDate = gcash().replace('2026-11-21 10:00 AM', '2026-11-31 10:00 AM');
    expect((await refused(importStatement(ctx, { text: badDate, preset: 'gcash' }))).message).toContain('line 6 (Date and Time)');
    const future = gcash().replace('2026-11-21 10:00 AM', '2026-12-21 10:00 AM');
    expect((await refused(importStatement(ctx, { text: future, preset: 'gcash' }))).message).toContain('still to come');
    const missing = await refused(importStatement(ctx, { text: gcash(), preset: 'gcash', referenceColumn: 'Ref' }));
    expect(missing.message).toContain('no column "Ref"');
    expect(await count('payments')).toBe(0);
  });

  it('a dry run matches and reports, and records nothing', async () => {
    const r = await importStatement(ctx, { text: gcash(), preset: 'gcash', dryRun: true });
    expect(r.dryRun).toBe(true);
    expect(r.imported.map((x) => [x.line, x.accountNo])).toEqual([
      [2, acct.pedro],
      [3, acct.maria],
    ]);
    expect(await count('payments')).toBe(0);
    expect(r.jobIds).toEqual([]);
  });

  it('imports what matches, reports the rest with line and reason, and restores who paid', async () => {
    const r = await importStatement(ctx, { text: gcash(), preset: 'gcash', fileName: 'nov.csv' });
    expect(r.rows).toBe(7);
    expect(r.imported).toMatchObject([
      { line: 2, reference: '7012345678901', amountMinor: 150000n, accountNo: acct.pedro, matchedBy: 'account-number', payment: expect.stringMatching(/^P-\d+$/) },
      { line: 3, reference: '7012345678902', amountMinor: 75050n, accountNo: acct.maria, matchedBy: 'invoice-number', matched: mariaInvoice },
    ]);
    expect(r.importedMinor).toBe(225050n);
    expect(r.unmatched).toEqual([
      { line: 6, reference: '7012345678904', amountMinor: 50000n, kind: 'unmatched', reason: expect.stringContaining('no account number or invoice number') },
      { line: 7, reference: '7012345678905', amountMinor: 30000n, kind: 'ambiguous', reason: expect.stringContaining('more than one subscriber') },
    ]);
    expect(r.skipped).toEqual([
      { line: 4, reference: '7012345678903', amountMinor: null, reason: expect.stringContaining('not money received') },
      { line: 8, reference: '7012345678901', amountMinor: 150000n, reason: 'the same reference as line 2' },
      { line: 9, reference: null, amountMinor: 10000n, reason: expect.stringContaining('no reference') },
    ]);
    const rows = await getDb().knex('payments').orderBy('id').select('amount_minor', 'method', 'reference', 'received_at', 'source', 'recorded_by');
    expect(rows).toEqual([
      { amount_minor: 150000n, method: 'gcash', reference: '7012345678901', received_at: new Date('2026-11-20T01:15:00Z'), source: 'import', recorded_by: 'tester' },
      { amount_minor: 75050n, method: 'gcash', reference: '7012345678902', received_at: new Date('2026-11-20T05:30:00Z'), source: 'import', recorded_by: 'tester' },
    ]);
    // Pedro paid in full: restored, router work queued. Maria paid half: still suspended.
    const status = async (u: string) => (await getDb().knex('services').where({ username: u }).first('collection_status')).collection_status;
    expect(await status('pedro')).not.toBe('suspended');
    expect(await status('maria')).toBe('suspended');
    expect(r.restored).toHaveLength(1);
    expect(r.jobIds.length).toBeGreaterThan(0);
    const inv = async (n: string) => getDb().knex('invoices').where({ number: n }).first('status', 'paid_minor');
    expect(await inv(pedroInvoice)).toMatchObject({ status: 'paid', paid_minor: 150000n });
    expect(await inv(mariaInvoice)).toMatchObject({ paid_minor: 75050n });
    expect(Number((await getDb().knex('audit_log').where({ entity_type: 'payment', action: 'record' }).count('* as n'))[0]!.n)).toBe(2);
  });

  it('the same file again pays nothing: every imported row is already recorded', async () => {
    const before = await count('payments');
    const r = await importStatement(ctx, { text: gcash(), preset: 'gcash' });
    expect(r.imported).toEqual([]);
    expect(r.skipped.filter((s) => s.reason.startsWith('already recorded as P-')).map((s) => s.line)).toEqual([2, 3]);
    expect(await count('payments')).toBe(before);
  });

  it('a bank CSV with an account column (account number or username) and a day-first date format', async () => {
    const text = [
      'Posted,Details,Ref No,Customer,Credit',
      `22/11/2026,Bills payment,BPI-0001,${acct.jose},"₱1,500.00"`,
      '22/11/2026,Bills payment,BPI-0002,maria,749.50',
      '22/11/2026,Bills payment,BPI-0003,nobody,100.00',
    ].join('\n');
    const flags = { preset: 'bank', amountColumn: 'Credit', referenceColumn: 'Ref No', dateColumn: 'Posted', accountColumn: 'Customer', descriptionColumn: 'Details', dateFormat: 'DD/MM/YYYY' };
    const r = await importStatement(ctx, { text, ...flags });
    expect(r.method).toBe('bank');
    expect(r.imported.map((x) => [x.line, x.accountNo, x.amountMinor, x.matchedBy])).toEqual([
      [2, acct.jose, 150000n, 'account-column'],
      [3, acct.maria, 74950n, 'account-column'],
    ]);
    expect(r.unmatched).toEqual([{ line: 4, reference: 'BPI-0003', amountMinor: 10000n, kind: 'unmatched', reason: expect.stringContaining('"nobody"') }]);
    expect((await getDb().knex('payments').where({ reference: 'BPI-0001' }).first('received_at')).received_at).toEqual(new Date('2026-11-21T16:00:00Z'));
    // Maria has now paid 750.50 + 749.50 = 1,500.00: restored.
    expect((await getDb().knex('services').where({ username: 'maria' }).first('collection_status')).collection_status).not.toBe('suspended');
    expect((await refused(importStatement(ctx, { text, ...flags, dateFormat: 'DD/MM/YY' }))).code).toBe('INVALID_DATE_FORMAT');
  });

  it('is set-based: as many queries for 300 rows as for 3 (no query per row)', async () => {
    const file = (n: number, tag: string) =>
      ['Date,Description,Reference,Amount', ...Array.from({ length: n }, (_, i) => `2026-11-22,Payment ${[acct.pedro, acct.maria, acct.jose][i % 3]},${tag}-${i},1.00`)].join('\n');
    const queries = async (text: string) => {
      let n = 0;
      const onQuery = () => n++;
      getDb().knex.on('query', onQuery);
      try {
        const r = await importStatement(ctx, { text });
        expect(r.unmatched).toEqual([]);
      } finally {
        getDb().knex.off('query', onQuery);
      }
      return n;
    };
    await queries(file(3, 'W')); // collections settles the subscribers' states first
    const small = await queries(file(3, 'S'));
    const large = await queries(file(300, 'L'));
    expect(small).toBeGreaterThan(5);
    expect(large).toBe(small);
    expect(Number((await getDb().knex('payments').where('reference', 'like', 'L-%').count('* as n'))[0]!.n)).toBe(300);
  });
});
