// The personal payment page as a customer's browser shows it: headless Chromium (Debian's
// package) opens a signed link served by the intake server over real HTTP and we read the DOM
// it built. Balance, open invoices, a PDF link that serves a PDF, a hostile name shown as text
// (no script element), and expired or tampered links refused with a clear page and a 4xx.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FixedClock } from '../../src/core/clock.js';
import type { ServiceContext } from '../../src/core/context.js';
import { generateInvoices } from '../../src/core/billing/generate.js';
import { makeLinkToken, paymentLink } from '../../src/core/intake/links.js';
import { startIntakeServer, type IntakeServer } from '../../src/core/intake/server.js';
import { createPlan } from '../../src/core/plans/service.js';
import { addRouter } from '../../src/core/routers/service.js';
import { initialise } from '../../src/core/settings/init.js';
import { setSettings } from '../../src/core/settings/service.js';
import { addSubscriber } from '../../src/core/subscribers/service.js';
import { openTestDatabase, type TestDb } from '../helpers/db.js';

const CHROMIUM = ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => existsSync(p));
const why = CHROMIUM ? '' : ' (skipped: no chromium binary; install Debian\'s chromium package)';

/** The DOM Chromium built for a URL, serialised (`--dump-dom`). */
function dumpDom(url: string): Promise<string> {
  const profile = mkdtempSync(join(tmpdir(), 'ispctl-chromium-'));
  return new Promise((resolve, reject) => {
    // --no-sandbox: the sandbox needs user namespaces, which CI containers running as root lack.
    const child = spawn(CHROMIUM!, ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', `--user-data-dir=${profile}`, '--dump-dom', url], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (d) => (out += d));
    child.stderr.setEncoding('utf8').on('data', (d) => (err += d));
    child.on('error', reject);
    child.on('close', (code) => {
      rmSync(profile, { recursive: true, force: true });
      if (code === 0 && out.includes('<html')) resolve(out);
      else reject(new Error(`chromium exited ${code}: ${err.slice(-2000)}`));
    });
  });
}

describe(`the payment page in headless Chromium${why}`, () => {
  let db: TestDb;
  let server: IntakeServer;
  let ctx: ServiceContext;
  const clock = new FixedClock('2026-10-01T00:00:00Z');
  let account = '';
  let invoice = '';
  let base = '';

  beforeAll(async () => {
    if (!CHROMIUM) return;
    db = await openTestDatabase('pglite');
    ctx = { ...db.ctx(clock), env: { ISPCTL_SECRET_KEY: 'c4'.repeat(32) } };
    await initialise(ctx, { values: { 'isp-name': 'Juan <Net> & Co', currency: 'PHP', timezone: 'Asia/Manila', 'billing-day': 1, 'due-days': 15, 'grace-days': 5 } });
    await addRouter(ctx, { name: 'r1', host: '127.0.0.1', apiPort: 1, apiUser: 'admin', apiPassword: 'pw', mode: 'api' });
    await createPlan(ctx, { name: 'Fiber 50', price: '1,500.00', download: '50M', upload: '20M' });
    const r = await addSubscriber(ctx, { fullName: '<script>document.title="pwned"</script><img src=x onerror=alert(1)>', username: 'hostile', password: 'pw-hostile', plan: 'Fiber 50', router: 'r1', startDate: '2026-10-01' });
    account = r.subscriber.accountNo;
    clock.set('2026-11-01T08:00:00+08:00');
    await generateInvoices(ctx);
    invoice = String((await db.knex('invoices').first('number')).number);
    clock.set('2026-11-20T08:00:00+08:00'); // past the due date: the invoice is overdue
    server = await startIntakeServer({ host: '127.0.0.1', port: 0, withContext: (fn) => fn(ctx) });
    base = `http://127.0.0.1:${server.port}`;
    await setSettings(ctx, { 'public-url': base });
  });

  afterAll(async () => {
    await server?.close();
    await db?.close();
  });

  it.skipIf(!CHROMIUM)('shows the balance and the open invoice, the hostile name as text, and a PDF link that serves a PDF; refuses expired and tampered links', async () => {
    const link = (await paymentLink(ctx, account))!;
    expect(link.url.startsWith(`${base}/pay/`)).toBe(true);
    const expired = `${base}/pay/${makeLinkToken(ctx.env, account, new Date(clock.now().getTime() - 60_000))}`;
    const tampered = link.url.replace(/.$/, (c) => (c === 'A' ? 'B' : 'A'));
    const [page, expiredPage, tamperedPage] = await Promise.all([dumpDom(link.url), dumpDom(expired), dumpDom(tampered)]);

    // What the customer reads.
    expect(page).toContain(`<span id="account">${account}</span>`);
    expect(page).toMatch(/<p class="due" id="amount-due">₱1,500\.00<\/p>/);
    expect(page).toContain(invoice);
    expect(page).toContain('(overdue)');
    expect(page).toContain('Juan &lt;Net&gt; &amp; Co');
    // The name is text: no element came of it, and no script ran (the title is untouched).
    expect(page).toContain('&lt;script&gt;document.title="pwned"&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt;');
    expect(page).not.toMatch(/<script|<img/i);
    expect(page).toMatch(/<title>Pay your bill · Juan &lt;Net&gt; &amp; Co<\/title>/);

    // The PDF link the browser shows works.
    const href = /<a href="([^"]+\.pdf)">PDF<\/a>/.exec(page)?.[1];
    expect(href).toBe(`${new URL(link.url).pathname}/invoices/${invoice}.pdf`);
    const pdf = await fetch(new URL(href!, base));
    expect(pdf.status).toBe(200);
    expect(pdf.headers.get('content-type')).toBe('application/pdf');
    expect(Buffer.from(await pdf.arrayBuffer()).subarray(0, 5).toString()).toBe('%PDF-');

    // Refused links: a clear page, a 4xx, nothing of the account.
    expect(expiredPage).toContain('This payment link has expired');
    expect(tamperedPage).toContain('This payment link is not valid');
    for (const p of [expiredPage, tamperedPage]) expect(p).not.toContain('amount-due');
    expect((await fetch(expired)).status).toBe(410);
    expect((await fetch(tampered)).status).toBe(404);
  });
});
