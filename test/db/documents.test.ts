// Invoices and receipts as documents: rendered to PDF and read back with poppler's pdftotext
// (and pdftoppm for a page image), and to HTML, checking the figures to the centavo, the ISP's
// particulars, the peso sign and that customer text is escaped.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { FixedClock } from '../../src/core/clock.js';
import type { ServiceContext } from '../../src/core/context.js';
import { generateInvoices } from '../../src/core/billing/generate.js';
import { listInvoices } from '../../src/core/billing/invoices.js';
import { renderInvoice, renderReceipt } from '../../src/core/documents/service.js';
import { vatIncluded } from '../../src/core/documents/model.js';
import { recordPayment } from '../../src/core/payments/service.js';
import { createPlan } from '../../src/core/plans/service.js';
import { addRouter } from '../../src/core/routers/service.js';
import { initialise } from '../../src/core/settings/init.js';
import { setSettings } from '../../src/core/settings/service.js';
import { addSubscriber } from '../../src/core/subscribers/service.js';
import { describeEachEngine } from '../helpers/db.js';

const dir = mkdtempSync(join(tmpdir(), 'ispctl-docs-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function pdfText(pdf: Buffer, name: string): string {
  const file = join(dir, `${name}.pdf`);
  writeFileSync(file, pdf);
  return execFileSync('pdftotext', ['-layout', file, '-'], { encoding: 'utf8' });
}

describeEachEngine('documents', (db) => {
  const clock = new FixedClock('2026-10-01T02:00:00Z');
  let ctx: ServiceContext;
  let accountNo = '';
  let paymentRef = '';

  beforeAll(async () => {
    ctx = { ...db().ctx(clock), env: { ISPCTL_SECRET_KEY: 'a7'.repeat(32) } };
    await initialise(ctx, { values: { 'isp-name': 'Juan Net', currency: 'PHP', timezone: 'Asia/Manila', 'billing-day': 1, 'due-days': 15 } });
    await setSettings(ctx, {
      'isp-address': '12 Rizal St.\\nBrgy. San Isidro, Antipolo City',
      'isp-tin': '123456789000',
      'vat-status': 'vat-registered',
      'gcash-number': '0917 123 4567',
      'gcash-name': 'Juan Net Inc.',
      'bank-details': 'BPI Savings 1234-5678-90, Juan Net Inc.',
      'payment-qr': '00020101021127360011ph.ppmi.p2m0111GXCHPHM2XXX',
    });
    await addRouter(ctx, { name: 'core1', host: '127.0.0.62', apiUser: 'u', apiPassword: 'p' });
    await createPlan(ctx, { name: 'Fiber 50', price: '1,499.99', download: '50M', upload: '10M' });
    const r = await addSubscriber(ctx, { fullName: 'Pedro <b>Penduko</b> & Sons', username: 'pedro', plan: 'Fiber 50', router: 'core1', startDate: '2026-10-01', discount: '10%', address: 'Purok 3, Taytay' });
    accountNo = r.subscriber.accountNo;
    clock.set('2026-11-01T08:00:00+08:00');
    await generateInvoices(ctx);
    clock.set('2026-11-20T08:00:00+08:00');
    const p = await recordPayment(ctx, { subscriber: accountNo, amount: '200.50', method: 'gcash', reference: 'GC-1' });
    paymentRef = p.payment.ref;
    clock.set('2026-12-01T08:00:00+08:00');
    await generateInvoices(ctx);
  });

  it('the invoice PDF shows the ISP, the lines with price and discount, the balance brought forward and how to pay', async () => {
    const [dec] = await listInvoices(ctx.db, { today: '2026-12-01', periodKey: '2026-12' });
    const r = await renderInvoice(ctx, { number: dec!.number, format: 'pdf' });
    expect(r.content.subarray(0, 5).toString()).toBe('%PDF-');
    const text = pdfText(r.content, `inv-${db().engine}`);
    // 1,499.99 less 10% = 1,349.99 (half up: 149.999 → 150.00 discount); November's 1,349.99 − 200.50 paid is brought forward.
    for (const s of ['Juan Net', '12 Rizal St.', 'Brgy. San Isidro, Antipolo City', 'VAT Reg. TIN 123-456-789-000', 'SERVICE INVOICE', dec!.number, 'Due 2026-12-16',
      'Pedro <b>Penduko</b> & Sons', 'Purok 3, Taytay', 'Fiber 50', '₱1,499.99', '-₱150.00', '(10%)', '₱1,349.99', 'Balance brought forward', '₱1,149.49',
      'Amount due by 2026-12-16', '₱2,499.48', 'VAT (12%)', '₱144.64', 'VATable sales', '₱1,205.35', 'GCash: send to 09171234567 (Juan Net Inc.)', 'BPI Savings 1234-5678-90']) {
      expect(text).toContain(s);
    }
    expect(vatIncluded(134999n)).toBe(14464n);
    expect(r.document).toMatchObject({ totalMinor: 134999n, balanceForwardMinor: 114949n, amountDueMinor: 249948n });
    // A page image, as a customer would see it.
    const png = join(dir, `inv-${db().engine}`);
    execFileSync('pdftoppm', ['-png', '-r', '80', '-f', '1', '-l', '1', '-singlefile', join(dir, `inv-${db().engine}.pdf`), png]);
    expect(statSync(`${png}.png`).size).toBeGreaterThan(5000);
    if (process.env.KEEP_DOCUMENT_PNG) execFileSync('cp', [`${png}.png`, process.env.KEEP_DOCUMENT_PNG]);
  });

  it('the invoice HTML has the same figures and escapes what customers typed', async () => {
    const [dec] = await listInvoices(ctx.db, { today: '2026-12-01', periodKey: '2026-12' });
    const html = (await renderInvoice(ctx, { number: dec!.number, format: 'html' })).content.toString('utf8');
    expect(html).toContain('Pedro &lt;b&gt;Penduko&lt;/b&gt; &amp; Sons');
    expect(html).not.toContain('<b>Penduko</b>');
    for (const s of ['₱1,499.99', '-₱150.00 (10%)', '₱1,149.49', '₱2,499.48', '<svg']) expect(html).toContain(s);
  });

  it('the receipt says what was received and what it paid', async () => {
    const r = await renderReceipt(ctx, { payment: paymentRef, format: 'pdf' });
    const text = pdfText(r.content, `rcpt-${db().engine}`);
    for (const s of ['OFFICIAL RECEIPT', paymentRef, '₱200.50', 'GCash, reference GC-1', 'INV-', '2026-11', 'Received 2026-11-20']) expect(text).toContain(s);
  });

  it('an unknown invoice or a bad format is refused', async () => {
    await expect(renderInvoice(ctx, { number: 'INV-1999-000001' })).rejects.toMatchObject({ code: 'INVOICE_NOT_FOUND' });
    await expect(renderInvoice(ctx, { number: 'INV-1999-000001', format: 'docx' })).rejects.toMatchObject({ code: 'INVALID_FORMAT' });
    expect(readFileSync).toBeDefined();
  });
});
