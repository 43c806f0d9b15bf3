// What customers receive, end to end: the first billing cycle run by the built daemon queues an
// "invoice issued" message per subscriber and delivers it: an email with the invoice PDF attached
// (decoded from the SMTP transcript and read back with poppler's pdftotext) and an SMS with a
// short link that the intake server answers with the subscriber's payment page. An invoice reads
// issued until a message carrying it was delivered, sent after, overdue after its due date.
// Setup goes through the core services on a PostgreSQL database; the binary runs only where it
// is the subject (the daemon, invoice list, invoice send).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SMTPServer } from 'smtp-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listInvoices } from '../../src/core/billing/invoices.js';
import { FixedClock } from '../../src/core/clock.js';
import type { ServiceContext } from '../../src/core/context.js';
import { generateInvoices } from '../../src/core/billing/generate.js';
import { startIntakeServer, type IntakeServer } from '../../src/core/intake/server.js';
import type { EmailMessage } from '../../src/core/notify/email.js';
import { sendInvoices } from '../../src/core/notify/invoice.js';
import { listNotifications, sendNotifications, type NotificationTransport } from '../../src/core/notify/outbox.js';
import { recordPayment } from '../../src/core/payments/service.js';
import { createPlan } from '../../src/core/plans/service.js';
import { addRouter } from '../../src/core/routers/service.js';
import { initialise } from '../../src/core/settings/init.js';
import { setSettings } from '../../src/core/settings/service.js';
import { addSubscriber } from '../../src/core/subscribers/service.js';
import { startLabRouter, type LabRouter } from '../../src/lab/index.js';
import { runCli } from '../helpers/cli.js';
import { openTestDatabase, type TestDb } from '../helpers/db.js';

const SECRET_KEY = 'c3'.repeat(32);
const dir = mkdtempSync(join(tmpdir(), 'ispctl-delivery-'));

interface Part {
  headers: string;
  body: string;
}

/** The parts of a multipart message (one level), each with its unfolded headers and raw body. */
function mimeParts(raw: string): Part[] {
  const text = raw.replace(/\r\n/g, '\n');
  const [head] = text.split('\n\n');
  const boundary = /boundary="?([^";\n]+)"?/i.exec(head!.replace(/\n[ \t]+/g, ' '))?.[1];
  if (!boundary) return [];
  return text
    .split(`--${boundary}`)
    .slice(1, -1)
    .map((p) => {
      const cut = p.indexOf('\n\n');
      return { headers: p.slice(0, cut).replace(/\n[ \t]+/g, ' ').trim(), body: p.slice(cut + 2) };
    });
}

function pdfText(pdf: Buffer, name: string): string {
  const file = join(dir, `${name}.pdf`);
  writeFileSync(file, pdf);
  return execFileSync('pdftotext', ['-layout', file, '-'], { encoding: 'utf8' });
}

describe('invoices reach the customer: email with the PDF, SMS with the payment link', () => {
  const clock = new FixedClock('2026-10-01T02:00:00Z');
  const mails: Array<{ to: string[]; raw: string }> = [];
  const sms: Array<{ to: string; text: string }> = [];
  let smtp: SMTPServer;
  let smtpPort = 0;
  let gateway: Server;
  let lab: LabRouter;
  let db: TestDb;
  let ctx: ServiceContext;
  let intake: IntakeServer;
  let env: Record<string, string>;
  const cli = (...args: string[]) => runCli(args, { env: { ...env, ISPCTL_NOW: clock.now().toISOString() } });

  beforeAll(async () => {
    smtp = new SMTPServer({
      disabledCommands: ['STARTTLS', 'AUTH'],
      authOptional: true,
      logger: false,
      onData(stream, session, callback) {
        const chunks: Buffer[] = [];
        stream.on('data', (c: Buffer) => chunks.push(c));
        stream.on('end', () => {
          mails.push({ to: session.envelope.rcptTo.map((r) => r.address), raw: Buffer.concat(chunks).toString('utf8') });
          callback();
        });
      },
    });
    await new Promise<void>((r) => smtp.listen(0, '127.0.0.1', r));
    smtpPort = ((smtp as unknown as { server: Server }).server.address() as AddressInfo).port;
    gateway = createServer((req, res) => {
      let body = '';
      req.setEncoding('utf8').on('data', (d) => (body += d));
      req.on('end', () => {
        sms.push(JSON.parse(body) as { to: string; text: string });
        res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
      });
    });
    await new Promise<void>((r) => gateway.listen(0, '127.0.0.1', r));
    lab = await startLabRouter({ adminPassword: 'lab-pw' });
    db = await openTestDatabase('postgres');
    ctx = { ...db.ctx(clock), env: { ISPCTL_SECRET_KEY: SECRET_KEY } };
    // The daemon's intake server, here in-process on the same database and key.
    intake = await startIntakeServer({ host: '127.0.0.1', port: 0, withContext: (fn) => fn(ctx) });
    await initialise(ctx, { values: { 'isp-name': 'Bayan Net', currency: 'PHP', timezone: 'Asia/Manila', 'billing-day': 1, 'due-days': 15, 'grace-days': 5 } });
    await setSettings(ctx, {
      'smtp-url': `smtp://127.0.0.1:${smtpPort}`,
      'mail-from': 'Bayan Net Billing <billing@bayan.example>',
      'sms-url': `http://127.0.0.1:${(gateway.address() as AddressInfo).port}/sms`,
      'public-url': `http://127.0.0.1:${intake.port}`,
      'intake-listen': `127.0.0.1:${intake.port}`,
    });
    await addRouter(ctx, { name: 'lab', host: '127.0.0.1', apiPort: lab.port, apiUser: 'admin', apiPassword: 'lab-pw', mode: 'api' });
    await createPlan(ctx, { name: 'Fiber 1500', price: '1,500.00', download: '50M', upload: '20M' });
    await addSubscriber(ctx, { fullName: 'Ana Reyes', username: 'ana', password: 'ana-pa55', plan: 'Fiber 1500', router: 'lab', startDate: '2026-10-01', email: 'ana@example.net', phone: '+639171234567' });
    await addSubscriber(ctx, { fullName: 'Ben Santos', username: 'ben', password: 'ben-pa55', plan: 'Fiber 1500', router: 'lab', startDate: '2026-10-01', email: 'ben@example.net' });
    env = { DATABASE_URL: db.url!, ISPCTL_DATABASE_URL: db.url!, ISPCTL_SECRET_KEY: SECRET_KEY, ISPCTL_DATA_DIR: join(dir, 'data'), ISPCTL_CONFIG_DIR: join(dir, 'config') };
  });

  afterAll(async () => {
    await intake?.close();
    await new Promise<void>((r) => (smtp ? smtp.close(() => r()) : r()));
    await new Promise((r) => gateway?.close(r));
    await lab?.close();
    await db?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('the first billing cycle, run by the daemon, emails each subscriber the invoice PDF and texts the payment link; the invoices read sent', async () => {
    clock.set('2026-12-01T07:00:00+08:00');
    const run = await cli('daemon', '--once', '--json');
    expect(run.code, run.stderr).toBe(0);
    const tasks = Object.fromEntries((run.json.data.tasks as Array<{ schedule: string; summary?: Record<string, unknown> }>).map((t) => [t.schedule, t]));
    expect(tasks.billing, JSON.stringify(run.json.data.tasks)).toMatchObject({ outcome: 'ok', summary: { invoices: 2, totalMinor: '300000' } });
    // Ana by email and SMS, Ben (no phone) by email.
    expect(tasks.notifications).toMatchObject({ outcome: 'ok', summary: { claimed: 3, sent: 3, retrying: 0 } });

    const invoices = await listInvoices(db.knex, { today: '2026-12-01' });
    const numberOf = (name: string) => invoices.find((i) => i.subscriberName === name)!.number;
    expect(mails.map((m) => m.to[0]).sort()).toEqual(['ana@example.net', 'ben@example.net']);
    for (const [name, address] of [['Ana Reyes', 'ana@example.net'], ['Ben Santos', 'ben@example.net']] as const) {
      const mail = mails.find((m) => m.to[0] === address)!;
      expect(mail.raw).toMatch(/^Content-Type: multipart\/mixed;/im);
      const parts = mimeParts(mail.raw);
      expect(parts.map((p) => /^Content-Type: ([^;\n]+)/im.exec(p.headers)?.[1])).toEqual(['text/plain', 'application/pdf']);
      const pdfPart = parts[1]!;
      expect(pdfPart.headers).toMatch(/Content-Transfer-Encoding: base64/i);
      expect(pdfPart.headers).toMatch(new RegExp(`Content-Disposition: attachment; filename=${numberOf(name)}\\.pdf`, 'i'));
      const pdf = Buffer.from(pdfPart.body.replace(/\s+/g, ''), 'base64');
      expect(pdf.subarray(0, 5).toString()).toBe('%PDF-');
      const text = pdfText(pdf, numberOf(name));
      expect(text).toContain(numberOf(name));
      expect(text).toContain(name);
      expect(text).toContain('Amount due by 2026-12-16');
      expect(text).toContain('₱1,500.00');
      expect(Buffer.from(parts[0]!.body.replace(/=\n/g, ''), 'latin1').toString()).toContain(`invoice ${numberOf(name)}`);
    }

    // The SMS carries a short link; the intake server answers it with Ana's payment page.
    expect(sms).toHaveLength(1);
    expect(sms[0]!.to).toBe('+639171234567');
    const link = /Pay online: (http:\/\/127\.0\.0\.1:\d+\/p\/\S+)/.exec(sms[0]!.text)?.[1];
    expect(link, sms[0]!.text).toBeDefined();
    expect(new URL(link!).pathname.length).toBeLessThan(40);
    expect(sms[0]!.text).toContain(`invoice ${numberOf('Ana Reyes')} for ₱1,500.00 is due Dec 16, 2026`);
    const page = await fetch(link!);
    expect(page.status).toBe(200);
    expect(page.url).toMatch(/\/pay\/S-\d+\.\d+\./);
    const html = await page.text();
    expect(html).toContain('Ana Reyes');
    expect(html).toContain(numberOf('Ana Reyes'));
    expect(html).toContain('₱1,500.00');
    // A forged short link is refused.
    const forged = link!.replace(/.$/, (c) => (c === 'A' ? 'B' : 'A'));
    expect((await fetch(forged)).status).toBe(404);

    const list = await cli('invoice', 'list', '--json');
    expect(list.code, list.stderr).toBe(0);
    expect(list.json.data.map((i: { status: string }) => i.status)).toEqual(['sent', 'sent']);
    expect(list.json.data.every((i: { sentAt: string | null }) => i.sentAt !== null)).toBe(true);
  });

  it('invoice send says what is missing; a failed email leaves the invoice issued and its retry sends the same PDF bytes', async () => {
    const ben = (await listInvoices(db.knex, { today: '2026-12-01' })).find((i) => i.subscriberName === 'Ben Santos')!;
    const noPhone = await cli('invoice', 'send', ben.number, '--via', 'sms', '--json');
    expect(noPhone.code).toBe(2);
    expect(noPhone.json.error).toMatchObject({ code: 'NO_PHONE' });
    expect(noPhone.json.error.message).toContain(`has no phone number on file, so invoice ${ben.number} cannot go by sms`);

    // The next cycle, in-process with a transport whose first email fails.
    clock.set('2027-01-01T07:00:00+08:00');
    const gen = await generateInvoices(ctx);
    expect(gen).toMatchObject({ invoices: 2, notifications: 3 });
    const jan = await listInvoices(db.knex, { today: '2027-01-01', periodKey: '2027-01' });
    expect(jan.map((i) => i.status)).toEqual(['issued', 'issued']);
    const emails: EmailMessage[] = [];
    let failNext = 1;
    const transport: NotificationTransport = {
      async sendEmail(m) {
        emails.push(m);
        if (m.to === 'ben@example.net' && failNext-- > 0) throw new Error('SMTP 451 try again later');
      },
      async sendSms() {},
    };
    // Only the invoice messages (December's unpaid invoices also brought suspension notices).
    const ids = (await listNotifications(db.knex, { template: 'invoice', status: 'pending' })).map((n) => n.id);
    expect(ids).toHaveLength(3);
    // Those notices carry the subscriber's payment link, as reminders and warnings do.
    const notices = await listNotifications(db.knex, { template: 'suspension' });
    expect(notices.map((n) => n.channel).sort()).toEqual(['email', 'email', 'sms']);
    for (const n of notices) expect(n.body).toContain(`Pay online: http://127.0.0.1:${intake.port}/p/`);
    const first = await sendNotifications(ctx, { transport, ids });
    expect(first).toMatchObject({ claimed: 3, sent: 2, retrying: 1 });
    const statusOf = async (name: string, today = '2027-01-01') => (await listInvoices(db.knex, { today, periodKey: '2027-01' })).find((i) => i.subscriberName === name)!.status;
    expect(await statusOf('Ben Santos')).toBe('issued');
    expect(await statusOf('Ana Reyes')).toBe('sent');
    clock.set('2027-01-01T09:00:00+08:00');
    expect(await sendNotifications(ctx, { transport, ids })).toMatchObject({ claimed: 1, sent: 1 });
    const benMails = emails.filter((m) => m.to === 'ben@example.net');
    expect(benMails).toHaveLength(2);
    expect(benMails[1]!.attachments![0]!.content.equals(benMails[0]!.attachments![0]!.content)).toBe(true);
    expect(await statusOf('Ben Santos')).toBe('sent');
    // Overdue still wins on read once the due date has passed.
    expect(await statusOf('Ben Santos', '2027-01-17')).toBe('overdue');

    // A payment's receipt email carries the receipt PDF.
    const paid = await recordPayment(ctx, { subscriber: 'ben', amount: '1,500.00', method: 'gcash', reference: 'GC-778899' });
    const receiptIds = (await listNotifications(db.knex, { template: 'receipt', status: 'pending' })).map((n) => n.id);
    expect(receiptIds).toHaveLength(1);
    emails.length = 0;
    expect(await sendNotifications(ctx, { transport, ids: receiptIds })).toMatchObject({ sent: 1 });
    const receipt = emails[0]!.attachments![0]!;
    expect(receipt).toMatchObject({ fileName: `receipt-${paid.payment.ref}.pdf`, contentType: 'application/pdf' });
    const receiptText = pdfText(receipt.content, 'receipt');
    expect(receiptText).toContain('OFFICIAL RECEIPT');
    expect(receiptText).toContain('Ben Santos');
    expect(receiptText).toContain('₱1,500.00');
    expect(receiptText).toContain('GC-778899');

    // --unsent finds nothing now; a period resend goes out again and leaves them sent.
    expect(await sendInvoices(ctx, { period: '2027-01', unsent: true, via: 'email', transport })).toMatchObject({ invoices: [], queued: 0 });
    const again = await sendInvoices(ctx, { period: '2027-01', via: 'email', transport });
    expect(again).toMatchObject({ queued: 2, delivery: { sent: 2 } });
    expect(again.sent.sort()).toEqual(jan.map((i) => i.number).sort());
  });
});
