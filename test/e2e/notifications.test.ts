// Notifications end to end, through the built `ispctl`: collections queue reminders in the
// outbox, `notify send` delivers them to a real SMTP server (smtp-server, run here on a free
// loopback port) and to a local HTTP endpoint standing in for the SMS gateway; when both are
// down the messages wait and are retried later, then delivered exactly once.
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FixedClock } from '../../src/core/clock.js';
import { applyNow } from '../../src/core/provisioning/apply.js';
import { startLabRouter, type LabRouter } from '../../src/lab/index.js';
import { runCli, tempDataDir } from '../helpers/cli.js';
import { createPgDatabase } from '../helpers/db.js';
import { pgContext, seedIsp, TEST_SECRET_KEY } from '../helpers/fixtures.js';

interface Mail {
  from: string;
  to: string[];
  raw: string;
  subject: string;
  text: string;
}

interface SmsRequest {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: string;
}

/** Decodes RFC 2047 encoded words (=?UTF-8?Q?…?= and =?UTF-8?B?…?=). */
function decodeWords(s: string): string {
  return s.replace(/\s*=\?utf-8\?([QB])\?([^?]*)\?=\s*/gi, (_m, enc: string, data: string) =>
    enc.toUpperCase() === 'B' ? Buffer.from(data, 'base64').toString('utf8') : Buffer.from(data.replace(/_/g, ' ').replace(/=([0-9A-F]{2})/gi, (_x, h: string) => String.fromCharCode(parseInt(h, 16))), 'latin1').toString('utf8'),
  );
}

/** Reads a single-part text message: the Subject header and the decoded body. */
function parseMail(raw: string): { subject: string; text: string } {
  const [head, ...rest] = raw.split(/\r?\n\r?\n/);
  const headers = head!.replace(/\r?\n[ \t]+/g, ' ');
  const subject = decodeWords(/^Subject: (.*)$/im.exec(headers)?.[1] ?? '');
  const cte = /^Content-Transfer-Encoding: (.*)$/im.exec(headers)?.[1]?.trim().toLowerCase();
  const body = rest.join('\n\n');
  let text = body;
  if (cte === 'quoted-printable') {
    text = Buffer.from(body.replace(/=\r?\n/g, '').replace(/=([0-9A-F]{2})/gi, (_x, h: string) => String.fromCharCode(parseInt(h, 16))), 'latin1').toString('utf8');
  } else if (cte === 'base64') {
    text = Buffer.from(body.replace(/\s+/g, ''), 'base64').toString('utf8');
  }
  return { subject, text: text.replace(/\r\n/g, '\n') };
}

function startSmtp(mails: Mail[], port = 0): Promise<SMTPServer & { port: number }> {
  const server = new SMTPServer({
    disabledCommands: ['STARTTLS', 'AUTH'],
    authOptional: true,
    logger: false,
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        const raw = Buffer.concat(chunks).toString('utf8');
        const from = session.envelope.mailFrom ? session.envelope.mailFrom.address : '';
        mails.push({ from, to: session.envelope.rcptTo.map((r) => r.address), raw, ...parseMail(raw) });
        callback();
      });
    },
  });
  return new Promise((resolve, reject) => {
    server.on('error', reject);
    server.listen(port, '127.0.0.1', () => {
      const address = (server as unknown as { server: Server }).server.address() as AddressInfo;
      resolve(Object.assign(server, { port: address.port }));
    });
  });
}

function closeSmtp(server: SMTPServer): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}

describe('notifications: outbox, SMTP and SMS gateway', () => {
  // The ISP's database on the run's PostgreSQL (the embedded one is covered by foundation-cli and
  // the CLI files); a config directory of its own.
  const tmp = tempDataDir();
  let database: { url: string; drop(): Promise<void> };
  let now = '2026-11-01T08:00:00+08:00';
  const cli = (...args: string[]) => runCli(args, { env: { ...tmp.env, ISPCTL_DATABASE_URL: database.url, ISPCTL_SECRET_KEY: TEST_SECRET_KEY, ISPCTL_NOW: now } });
  const mails: Mail[] = [];
  const sms: SmsRequest[] = [];
  let gatewayStatus = 200;
  let smtp: SMTPServer & { port: number };
  let gateway: Server;
  let lab: LabRouter;
  let dueDate = '';

  beforeAll(async () => {
    smtp = await startSmtp(mails);
    gateway = createServer((req, res) => {
      let body = '';
      req.setEncoding('utf8');
      req.on('data', (d) => (body += d));
      req.on('end', () => {
        if (gatewayStatus === 200) sms.push({ method: req.method!, url: req.url!, headers: req.headers, body });
        res.writeHead(gatewayStatus, { 'content-type': 'application/json' });
        res.end(gatewayStatus === 200 ? '{"status":"queued"}' : '{"error":"maintenance"}');
      });
    });
    await new Promise<void>((r) => gateway.listen(0, '127.0.0.1', r));
    lab = await startLabRouter({ adminPassword: 'lab-pw' });
    database = await createPgDatabase('notify', { migrated: true });
  });

  afterAll(async () => {
    await closeSmtp(smtp).catch(() => undefined);
    await new Promise((r) => gateway.close(r));
    await lab?.close();
    await database?.drop();
    tmp.remove();
  });

  it('sets up email and SMS, a subscriber and an invoice', async () => {
    // Set up through the core services the commands call (settings, routers, plans and
    // subscribers through the binary are tested in foundation-cli, api-mode and billing-cli);
    // billing, reminders and delivery from here on are the binary's.
    const gwPort = (gateway.address() as AddressInfo).port;
    const ctx = await pgContext(database.url, new FixedClock(now));
    try {
      await seedIsp(ctx, {
        settings: { 'isp-name': 'Bayan Net', 'grace-days': 5 },
        extraSettings: {
          'smtp-url': `smtp://127.0.0.1:${smtp.port}`,
          'mail-from': 'Bayan Net Billing <billing@bayan.example>',
          'sms-url': `http://127.0.0.1:${gwPort}/api/sms`,
          'sms-headers': '{"Authorization":"Bearer gw-t0ken"}',
          'sms-body-template': '{"recipient":"{{to}}","message":{"text":"{{text}}"},"sender":"BAYANNET"}',
          // This file is about reminders; the "invoice issued" message has its own test.
          'invoice-issued-notify': 'off',
        },
        routers: [{ name: 'lab', host: '127.0.0.1', apiPort: lab.port, apiUser: 'admin', apiPassword: 'lab-pw' }],
        plans: [{ name: 'Fiber 1500', download: '50M', upload: '20M' }],
        startDate: '2026-10-01',
        subscribers: [{ username: 'ana', fullName: 'Ana "Nanay" Reyes', email: 'ana@example.net', phone: '+639171234567' }],
        apply: async (c, jobIds) => expect((await applyNow(c, jobIds, { timeoutMs: 60_000 })).remaining).toBe(0),
      });
    } finally {
      await ctx.close();
    }
    const listed = await cli('settings', 'list', '--json');
    expect(listed.code, listed.stderr).toBe(0);
    expect(listed.stdout).toContain('sms-headers');
    expect(listed.stdout).not.toContain('gw-t0ken');
    const gen = await cli('billing', 'generate', '--json');
    expect(gen.code, gen.stderr).toBe(0);
    expect(gen.json.data.notifications).toBe(0);
    const inv = await cli('invoice', 'list', '--json');
    expect(inv.json.data).toHaveLength(1);
    dueDate = inv.json.data[0].dueDate;
    expect(dueDate).toMatch(/^\d{4}-\d{2}-\d{2}$/);
  });

  const at = (offsetDays: number, time = '09:00:00') => {
    const d = new Date(`${dueDate}T00:00:00Z`);
    d.setUTCDate(d.getUTCDate() + offsetDays);
    return `${d.toISOString().slice(0, 10)}T${time}+08:00`;
  };

  it('a reminder three days before the due date is queued once and delivered by email and SMS', async () => {
    now = at(-3);
    const run = await cli('collections', 'run', '--json');
    expect(run.code, run.stderr).toBe(0);
    expect(run.json.data).toMatchObject({ reminded: [1], notifications: 2, transitionsTotal: 1, transitionsLeftOut: 0, allTransitions: null });
    expect(run.json.data.transitions).toHaveLength(1);
    expect((await cli('collections', 'run', '--json')).json.data).toMatchObject({ reminded: [], notifications: 0, events: 0 });

    const send = await cli('notify', 'send', '--json');
    expect(send.code, send.stderr).toBe(0);
    expect(send.json.data).toMatchObject({ claimed: 2, sent: 2, retrying: 0, failed: 0 });

    expect(mails).toHaveLength(1);
    const mail = mails[0]!;
    expect(mail.to).toEqual(['ana@example.net']);
    expect(mail.from).toBe('billing@bayan.example');
    expect(mail.subject).toMatch(/^Bayan Net: invoice INV-\S+ for ₱1,500\.00 is due \w{3} \d{1,2}, 2026$/);
    expect(mail.text).toContain('Dear Ana "Nanay" Reyes,');
    expect(mail.text).toContain('Amount due: ₱1,500.00');

    expect(sms).toHaveLength(1);
    expect(sms[0]).toMatchObject({ method: 'POST', url: '/api/sms' });
    expect(sms[0]!.headers.authorization).toBe('Bearer gw-t0ken');
    expect(sms[0]!.headers['content-type']).toBe('application/json; charset=utf-8');
    const payload = JSON.parse(sms[0]!.body);
    expect(payload).toMatchObject({ recipient: '+639171234567', sender: 'BAYANNET' });
    expect(payload.message.text).toContain('Hi Ana "Nanay" Reyes, invoice');
    expect(payload.message.text).toContain('₱1,500.00');

    // Sending again sends nothing: every message goes once.
    const again = await cli('notify', 'send', '--json');
    expect(again.json.data).toMatchObject({ claimed: 0, sent: 0 });
    expect(mails).toHaveLength(1);
    expect(sms).toHaveLength(1);
  });

  it('with the SMTP server down and the gateway failing, messages wait and are retried later, then delivered once', async () => {
    await closeSmtp(smtp);
    gatewayStatus = 503;
    now = at(0);
    const run = await cli('collections', 'run', '--json');
    expect(run.json.data).toMatchObject({ reminded: [1], notifications: 2 });

    const failed = await cli('notify', 'send', '--json');
    expect(failed.code).toBe(3);
    expect(failed.json.data).toMatchObject({ claimed: 2, sent: 0, retrying: 2, failed: 0 });
    const pending = await cli('notify', 'list', '--status', 'pending', '--json');
    const rows = pending.json.data.notifications as Array<{ channel: string; attempts: number; lastError: string }>;
    expect(rows.map((r) => [r.channel, r.attempts]).sort()).toEqual([['email', 1], ['sms', 1]]);
    expect(rows.find((r) => r.channel === 'email')!.lastError).toMatch(/SMTP 127\.0\.0\.1:\d+: .*ECONNREFUSED/);
    expect(rows.find((r) => r.channel === 'sms')!.lastError).toContain('SMS gateway answered 503');

    // Both come back; the messages are not due again until their backoff has passed.
    smtp = await startSmtp(mails, smtp.port);
    gatewayStatus = 200;
    expect((await cli('notify', 'send', '--json')).json.data).toMatchObject({ claimed: 0 });
    now = at(0, '09:10:00');
    const retried = await cli('notify', 'send', '--json');
    expect(retried.code, retried.stderr).toBe(0);
    expect(retried.json.data).toMatchObject({ claimed: 2, sent: 2 });
    expect(mails).toHaveLength(2);
    expect(mails[1]!.subject).toContain('is due');
    expect(sms).toHaveLength(2);
    expect((await cli('notify', 'send', '--json')).json.data).toMatchObject({ claimed: 0 });

    const all = await cli('notify', 'list', '--json');
    expect(all.json.data.counts).toEqual({ pending: 0, sending: 0, sent: 4, failed: 0, cancelled: 0 });
  });

  it('notify test sends one message now to check the set-up, with a template and sample data', async () => {
    const r = await cli('notify', 'test', '--to', 'tech@bayan.example', '--template', 'warning', '--json');
    expect(r.code, r.stderr).toBe(0);
    expect(mails).toHaveLength(3);
    expect(mails[2]!.to).toEqual(['tech@bayan.example']);
    expect(mails[2]!.subject).toBe('Bayan Net: service suspension on Nov 22, 2026 unless paid');
    const s = await cli('notify', 'test', '--to', '+639170000000', '--json');
    expect(s.code, s.stderr).toBe(0);
    expect(JSON.parse(sms[2]!.body).message.text).toContain('test message from Bayan Net');
    // The outbox is not involved.
    expect((await cli('notify', 'list', '--json')).json.data.counts.sent).toBe(4);
  });
});
