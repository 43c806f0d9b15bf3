// The outbox fills most messages in inside the database (each template sent once per
// statement, each row its placeholders' values): the stored subject and body must be exactly
// what rendering the template gives, SMS trim and subject folding included, and a template
// that does not render is stored as failed as before.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { FixedClock } from '../../src/core/clock.js';
import type { ServiceContext } from '../../src/core/context.js';
import { queueNotifications, type QueueRequest } from '../../src/core/notify/outbox.js';
import { loadTemplateSync, renderMessage, type TemplateName } from '../../src/core/notify/templates.js';
import { createPlan } from '../../src/core/plans/service.js';
import { addRouter } from '../../src/core/routers/service.js';
import { initialise } from '../../src/core/settings/init.js';
import { setSettings } from '../../src/core/settings/service.js';
import { addSubscriber } from '../../src/core/subscribers/service.js';
import { startLabRouter, type LabRouter } from '../../src/lab/index.js';
import { describeEachEngine } from '../helpers/db.js';

describeEachEngine('outbox: messages filled in by the database read as rendered', (db) => {
  let ctx: ServiceContext;
  let lab: LabRouter;
  let dir: string;
  const ids: number[] = [];

  beforeAll(async () => {
    lab = await startLabRouter({ adminPassword: 'lab-pw' });
    dir = mkdtempSync(join(tmpdir(), 'ispctl-templates-'));
    // SQL-filled: text at both ends (the trim is the literal's own).
    writeFileSync(join(dir, 'suspension.sms.txt'), '  Hi {{subscriber_name}}, {{amount}} is due.\n\n');
    // A placeholder at the start, after white space, and one at the end: the trim cuts the
    // values (SQL-filled with the values trimmed, or rendered in JavaScript when a value is all
    // white space).
    writeFileSync(join(dir, 'reminder.sms.txt'), ' \t{{subscriber_name}} : {{amount}} due {{invoice_number}}\n');
    // A placeholder this message does not have: stored as failed.
    writeFileSync(join(dir, 'warning.sms.txt'), 'Dear {{nobody}}, pay {{amount}}.\n');
    writeFileSync(join(dir, 'suspension.email.txt'), 'Subject: {{isp_name}} notice for {{subscriber_name}}\n\nDear {{subscriber_name}},\n\npay {{amount}} ({{account_no}}).\n\n{{isp_name}}\n');
    ctx = { ...db().ctx(new FixedClock('2026-11-01T00:00:00Z')), env: {} };
    await initialise(ctx, { values: { 'isp-name': 'Bayan Net', currency: 'PHP', timezone: 'Asia/Manila', 'billing-day': 1, 'due-days': 15, 'grace-days': 5 } });
    await setSettings(ctx, { 'smtp-url': 'smtp://127.0.0.1:2525', 'mail-from': 'Bayan Net <billing@bayan.example>', 'sms-url': 'http://127.0.0.1:9/sms', 'templates-dir': dir });
    await addRouter(ctx, { name: 'lab1', host: '127.0.0.1', apiPort: lab.port, apiUser: 'admin', apiPassword: 'lab-pw', mode: 'api' });
    await createPlan(ctx, { name: 'Fiber 50', price: '1500', download: '50M', upload: '20M' });
    for (const u of ['ana', 'ben', 'cora']) {
      const s = await addSubscriber(ctx, { fullName: `${u} Tester`, username: u, password: `pw-${u}`, plan: 'Fiber 50', router: 'lab1', email: `${u}@example.net`, phone: '+639170000001', startDate: '2026-10-01' });
      ids.push(s.subscriber.id);
    }
  });

  afterAll(async () => {
    await lab?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('stores each subject and body exactly as renderMessage gives them, whichever side filled them in', async () => {
    // Names a caller passes as they are: spaces at the ends, a line break (folded in a subject).
    const names = ['Ana Tester', '  Ben O\'Neil ?? $1 \\ ', 'Cora\r\nTester'];
    const requests: QueueRequest[] = [];
    for (const [i, sid] of ids.entries()) {
      const recipient = { fullName: names[i]!, accountNo: `S-00000${i + 1}`, email: `s${i}@example.net`, phone: `+63917000000${i}`, balanceMinor: 900n };
      for (const template of ['suspension', 'reminder', 'warning'] as TemplateName[]) {
        requests.push({ subscriberId: sid, eventKey: `test:${template}:${sid}`, template, data: { invoice_number: 'INV-1', amount: '₱9.00', due_date: 'Nov 16, 2026', suspension_date: 'Nov 22, 2026' }, recipient });
      }
    }
    // A name of white space only, and an invoice number with spaces after it.
    requests.push({
      subscriberId: ids[0]!,
      eventKey: 'test:reminder:blank',
      template: 'reminder',
      data: { invoice_number: 'INV-2 \n', amount: '₱9.00', due_date: 'Nov 16, 2026' },
      recipient: { fullName: ' \u00a0 ', accountNo: 'S-000009', email: 's9@example.net', phone: '+639170000009', balanceMinor: 900n },
    });
    const q = await queueNotifications(db().knex, ctx, requests);
    expect(q.queued).toBe(requests.length * 2);
    expect(q.renderErrors.map((e) => `${e.eventKey}/${e.channel}`).sort()).toEqual(ids.map((sid) => `test:warning:${sid}/sms`).sort());
    const rows = (await db().knex('notifications').whereIn('id', q.ids).select('event_key', 'channel', 'template', 'subject', 'body', 'status', 'last_error')) as Array<{
      event_key: string;
      channel: 'email' | 'sms';
      template: TemplateName;
      subject: string | null;
      body: string;
      status: string;
      last_error: string | null;
    }>;
    expect(rows).toHaveLength(requests.length * 2);
    for (const row of rows) {
      const req = requests.find((r) => r.eventKey === row.event_key)!;
      const data = { isp_name: 'Bayan Net', subscriber_name: req.recipient!.fullName, account_no: req.recipient!.accountNo, balance: '₱9.00', pay_link: '', pay_line: '', ...req.data };
      let expected: { subject: string | null; body: string } | null;
      try {
        expected = renderMessage(loadTemplateSync(row.template, row.channel, dir), data);
      } catch {
        expected = null;
      }
      if (!expected) {
        expect(row.status).toBe('failed');
        expect(row.last_error).toContain('{{nobody}}');
        continue;
      }
      expect(row.status).toBe('pending');
      expect({ subject: row.subject, body: row.body }).toEqual({ subject: expected.subject, body: row.channel === 'sms' ? expected.body.trim() : expected.body });
    }
    // The cases that matter, spelled out.
    const sms = (key: string) => rows.find((r) => r.event_key === key && r.channel === 'sms')!.body;
    const email = (key: string) => rows.find((r) => r.event_key === key && r.channel === 'email')!;
    expect(sms(`test:suspension:${ids[1]}`)).toBe("Hi   Ben O'Neil ?? $1 \\ , ₱9.00 is due.");
    expect(sms(`test:reminder:${ids[1]}`)).toBe("Ben O'Neil ?? $1 \\  : ₱9.00 due INV-1");
    expect(sms('test:reminder:blank')).toBe(': ₱9.00 due INV-2');
    expect(email(`test:suspension:${ids[2]}`).subject).toBe('Bayan Net notice for Cora Tester');
    expect(email(`test:suspension:${ids[2]}`).body).toContain('Dear Cora\r\nTester,\n');
  });
});
