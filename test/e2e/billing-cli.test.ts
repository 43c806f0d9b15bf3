// The money half of ispctl through the built binary on the embedded database, travelling in
// time with ISPCTL_NOW: generate the first invoices, look at them, pay (a GCash reference twice
// pays once), balances and statements, voids. Build first (npm run build). The router is a
// loopback address nobody listens on: router work stays queued, which billing does not need.
import { createServer } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, tempDataDir } from '../helpers/cli.js';

async function unusedPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

describe('ispctl billing, invoice, payment, balance and statement', () => {
  const tmp = tempDataDir({ migrated: true });
  let now = '2026-11-01T08:00:00+08:00';
  // Commands that do not depend on each other run at the same time, taking turns on the embedded
  // database: on a busy machine a turn may come later than the default 30 s.
  const cli = (...args: string[]) => runCli(args, { env: { ...tmp.env, ISPCTL_NOW: now, ISPCTL_LOCK_TIMEOUT: '180' } });

  beforeAll(async () => {
    expect((await cli('init', '--isp-name', 'Juan Net', '--currency', 'PHP', '--timezone', 'Asia/Manila', '--yes')).code).toBe(0);
    const port = await unusedPort();
    const [router, plan] = await Promise.all([
      cli('router', 'add', 'core1', '--host', '127.0.0.1', '--api-port', String(port), '--api-user', 'ispctl', '--api-password', 'pw-core1'),
      cli('plan', 'create', 'Fiber 50', '--price', '1,500.00', '--download', '50M', '--upload', '10M'),
    ]);
    expect(router.code).toBe(0);
    expect(plan.code).toBe(0);
    // The subscribers in one import (S-000001 to S-000003 in file order), not three adds: adding
    // is not what this file is about.
    const csv = ['full_name,username,plan,router,start_date', ...[['Juan Dela Cruz', 'juan'], ['Ana Reyes', 'ana'], ['Carlo Santos', 'carlo']].map(([name, user]) => `${name},${user},Fiber 50,core1,2026-10-01`)].join('\n');
    const imported = await runCli(['subscriber', 'import', '--file', '-', '--router-timeout', '1', '--json'], { env: { ...tmp.env, ISPCTL_NOW: now, ISPCTL_LOCK_TIMEOUT: '180' }, input: csv + '\n' });
    expect([0, 3], imported.stderr).toContain(imported.code); // 3: saved, router work still queued
  });
  afterAll(() => tmp.remove());

  it('generates the first invoices on the billing day, once', async () => {
    const dry = await cli('billing', 'generate', '--dry-run', '--json');
    expect(dry.code).toBe(0);
    expect(dry.json.data).toMatchObject({ dryRun: true, invoices: 3, lines: 3, totalMinor: 450000, currency: 'PHP', period: { key: '2026-11' } });

    const gen = await cli('billing', 'generate');
    expect(gen.code, gen.stderr).toBe(0);
    expect(gen.stdout).toContain('Period 2026-11 (2026-11-01 to 2026-11-30)');
    expect(gen.stdout).toContain('3 invoices created (INV-2026-000001 to INV-2026-000003)');
    expect(gen.stdout).toContain('3 lines, total ₱4,500.00');

    const again = await cli('billing', 'generate', '--json');
    expect(again.json.data).toMatchObject({ invoices: 0, lines: 0, totalMinor: 0, alreadyInvoiced: 3 });
  });

  it('lists and shows invoices, readable and as JSON', async () => {
    const [list, human, show, json, missing] = await Promise.all([
      cli('invoice', 'list', '--json'),
      cli('invoice', 'list', '--period', '2026-11', '--no-truncate'),
      cli('invoice', 'show', 'INV-2026-000001'),
      cli('invoice', 'show', 'inv-2026-000001', '--json'),
      cli('invoice', 'show', 'INV-1999-000009', '--json'),
    ]);
    expect(list.code).toBe(0);
    expect(list.json.data).toHaveLength(3);
    for (const inv of list.json.data) expect(inv).toMatchObject({ totalMinor: 150000, paidMinor: 0, dueDate: '2026-11-16', status: 'issued', periodKey: '2026-11' });
    expect(human.stdout).toMatch(/INV-2026-000001\s+S-000001\s+Juan Dela Cruz\s+2026-11\s+2026-11-01\s+2026-11-16\s+₱1,500\.00\s+₱0\.00\s+₱1,500\.00\s+issued/);

    expect(show.code).toBe(0);
    expect(show.stdout).toContain('Juan Net');
    expect(show.stdout).toContain('INVOICE INV-2026-000001');
    expect(show.stdout).toContain('Juan Dela Cruz (S-000001)');
    expect(show.stdout).toMatch(/due\s+2026-11-16/);
    expect(show.stdout).toMatch(/juan\s+Fiber 50, 2026-11-01 to 2026-11-30\s+₱1,500\.00/);
    expect(show.stdout).toMatch(/balance\s+₱1,500\.00/);
    expect(json.json.data).toMatchObject({ number: 'INV-2026-000001', ispName: 'Juan Net', totalMinor: 150000, lines: [{ username: 'juan', priceSource: 'plan', unitPriceMinor: 150000, days: 30, totalMinor: 150000 }] });
    expect(missing.code).toBe(4);
    expect(missing.json.error.code).toBe('INVOICE_NOT_FOUND');
  });

  it('records a GCash payment (paid); the same reference again is refused with exit 5', async () => {
    now = '2026-11-05T14:00:00+08:00';
    const pay = await cli('payment', 'record', '--subscriber', 'S-000001', '--amount', '1,500.00', '--method', 'gcash', '--reference', '7012345678');
    expect(pay.code, pay.stderr).toBe(0);
    expect(pay.stdout).toContain('Recorded P-1: ₱1,500.00 by gcash (reference 7012345678) from S-000001 Juan Dela Cruz.');
    expect(pay.stdout).toMatch(/INV-2026-000001\s+₱1,500\.00\s+→ paid/);

    const [dup, dupHuman] = await Promise.all([
      cli('payment', 'record', '--subscriber', 'juan', '--amount', '1500', '--method', 'gcash', '--reference', '7012345678', '--json'),
      cli('payment', 'record', '--subscriber', 'juan', '--amount', '1500', '--method', 'gcash', '--reference', '7012345678'),
    ]);
    expect(dup.code).toBe(5);
    expect(dup.json).toMatchObject({ ok: false, error: { code: 'DUPLICATE_PAYMENT', details: { existingPaymentId: 1 } } });
    expect(dupHuman.code).toBe(5);
    expect(dupHuman.stderr).toContain('payment P-1 of ₱1,500.00 for S-000001 Juan Dela Cruz');

    const [list, inv] = await Promise.all([cli('payment', 'list', '--json'), cli('invoice', 'show', 'INV-2026-000001', '--json')]);
    expect(list.json.data).toHaveLength(1);
    expect(inv.json.data).toMatchObject({ status: 'paid', paidMinor: 150000, balanceMinor: 0 });
  });

  it('a half payment leaves the invoice partially paid; balance and statement explain it', async () => {
    const half = await cli('payment', 'record', '--invoice', 'INV-2026-000002', '--amount', '750', '--method', 'cash', '--json');
    expect(half.code).toBe(0);
    expect(half.json.data.allocations).toEqual([expect.objectContaining({ number: 'INV-2026-000002', amountMinor: 75000, status: 'partially_paid', balanceMinor: 75000 })]);

    const [bal, human, st] = await Promise.all([
      cli('subscriber', 'balance', 'ana', '--json'),
      cli('subscriber', 'balance', 'S-000002'),
      cli('subscriber', 'statement', 'ana', '--no-truncate'),
    ]);
    expect(bal.json.data).toMatchObject({ owedMinor: 75000, overdueMinor: 0, creditMinor: 0, nextDue: { number: 'INV-2026-000002', dueDate: '2026-11-16', balanceMinor: 75000 } });
    expect(human.stdout).toMatch(/owed\s+₱750\.00/);
    expect(human.stdout).toMatch(/next due\s+₱750\.00 on 2026-11-16 \(INV-2026-000002\)/);

    expect(st.code).toBe(0);
    expect(st.stdout).toMatch(/2026-11-01\s+invoice\s+INV-2026-000002\s+Invoice for 2026-11, due 2026-11-16\s+₱1,500\.00\s+₱1,500\.00/);
    expect(st.stdout).toMatch(/2026-11-05\s+payment\s+P-2\s+Payment, cash\s+₱750\.00\s+₱750\.00/);
    expect(st.stdout).toMatch(/applied\s+P-2\s+₱750\.00 applied to INV-2026-000002/);
    expect(st.stdout).toContain('Balance: ₱750.00');
  });

  it('after the due date: overdue listing; a voided payment reopens the invoice; a voided invoice turns its payment into credit', async () => {
    now = '2026-11-20T09:00:00+08:00';
    const [overdue, carlo, noYes] = await Promise.all([
      cli('invoice', 'list', '--overdue', '--json'),
      cli('subscriber', 'balance', 'carlo', '--json'),
      cli('payment', 'void', 'P-2', '--reason', 'counterfeit notes', '--json'),
    ]);
    expect(overdue.json.data.map((i: { number: string }) => i.number).sort()).toEqual(['INV-2026-000002', 'INV-2026-000003']);
    expect(carlo.json.data).toMatchObject({ owedMinor: 150000, overdueMinor: 150000 });

    expect(noYes.code).toBe(2);
    expect(noYes.json.error.code).toBe('CONFIRMATION_REQUIRED');
    const v = await cli('payment', 'void', 'P-2', '--reason', 'counterfeit notes', '--yes', '--json');
    expect(v.code, v.stderr).toBe(0);
    expect(v.json.data).toMatchObject({ voided: true, reversedMinor: 75000, balance: { owedMinor: 150000, overdueMinor: 150000 } });
    // Voiding INV-2026-000001 does not touch INV-2026-000002.
    const [inv2, iv] = await Promise.all([cli('invoice', 'show', 'INV-2026-000002', '--json'), cli('invoice', 'void', 'INV-2026-000001', '--reason', 'issued in error', '--yes')]);
    expect(inv2.json.data).toMatchObject({ status: 'overdue', paidMinor: 0 });
    expect(iv.code, iv.stderr).toBe(0);
    expect(iv.stdout).toContain('₱1,500.00 paid on it is credit again');
    const [bal, st, audit] = await Promise.all([cli('subscriber', 'balance', 'juan', '--json'), cli('subscriber', 'statement', 'juan', '--json'), cli('audit', 'list', '--json')]);
    expect(bal.json.data).toMatchObject({ owedMinor: 0, creditMinor: 150000 });
    expect(st.json.data.closingBalanceMinor).toBe(-150000);

    const actions = audit.json.data.map((a: { entityType: string; action: string }) => `${a.entityType}:${a.action}`);
    for (const a of ['billing:generate', 'payment:record', 'payment:void', 'invoice:void']) expect(actions).toContain(a);
  });
});
