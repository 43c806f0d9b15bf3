import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { formatReminderDays, parseReminderDays } from '../../src/core/collections/setting-defs.js';
import { IspctlError } from '../../src/core/errors.js';
import type { SmsGatewayConfig } from '../../src/core/notify/config.js';
import { retryDelaySeconds } from '../../src/core/notify/outbox.js';
import { maskHeaders, maskUrl, NOTIFY_SETTINGS, parseChannels } from '../../src/core/notify/setting-defs.js';
import { buildSmsRequest } from '../../src/core/notify/sms.js';
import {
  COMMON_FIELDS,
  commonData,
  createTemplateLoader,
  loadTemplateSync,
  messageDate,
  messageDateOf,
  messageMoney,
  parseTemplateText,
  renderMessage,
  renderText,
  TEMPLATE_FIELDS,
  TEMPLATE_NAMES,
} from '../../src/core/notify/templates.js';
import { settingDef } from '../../src/core/settings/registry.js';

function thrown(fn: () => unknown): IspctlError {
  try {
    fn();
  } catch (err) {
    if (err instanceof IspctlError) return err;
    throw err;
  }
  throw new Error('expected an error');
}

const fmt = { ispName: 'Bayan Net', currency: 'PHP', timezone: 'Asia/Manila' };
const juan = { fullName: 'Juan dela Cruz', accountNo: 'S-000123' };

describe('message templates', () => {
  it('fills placeholders, spaces inside the braces allowed', () => {
    expect(renderText('Hi {{name}}, you owe {{ amount }}.', { name: 'Ana', amount: '₱1.00' })).toBe('Hi Ana, you owe ₱1.00.');
  });

  it('refuses a placeholder the message does not have, naming the ones it has', () => {
    const err = thrown(() => renderText('Dear {{nmae}}', { name: 'Ana', amount: 'x' }, 'reminder.email.txt'));
    expect(err.code).toBe('TEMPLATE_PLACEHOLDER');
    expect(err.message).toBe('reminder.email.txt uses {{nmae}}, which this message does not have.');
    expect(err.suggestions[0]).toBe('The placeholders are {{amount}}, {{name}}');
  });

  it('formats money in the ISP currency, exactly', () => {
    expect(messageMoney(150000n, 'PHP')).toBe('₱1,500.00');
    expect(messageMoney(75001n, 'PHP')).toBe('₱750.01');
    expect(messageMoney(1500n, 'JPY')).toBe('¥1,500');
    expect(messageMoney(123456789012345678n, 'USD')).toBe('$1,234,567,890,123,456.78');
  });

  it('formats dates on the ISP calendar: an instant late on Nov 30 UTC is Dec 1 in Manila', () => {
    expect(messageDate('2026-11-16')).toBe('Nov 16, 2026');
    expect(messageDateOf(new Date('2026-11-30T20:00:00Z'), 'Asia/Manila')).toBe('Dec 1, 2026');
    expect(messageDateOf(new Date('2026-11-30T20:00:00Z'), 'America/New_York')).toBe('Nov 30, 2026');
  });

  it('every built-in template renders with exactly the placeholders documented for it', () => {
    for (const name of TEMPLATE_NAMES) {
      const data: Record<string, string> = {};
      for (const f of [...COMMON_FIELDS, ...TEMPLATE_FIELDS[name]]) data[f] = `<${f}>`;
      for (const channel of ['email', 'sms'] as const) {
        const tpl = loadTemplateSync(name, channel);
        const msg = renderMessage(tpl, data);
        expect(msg.body).not.toMatch(/\{\{/);
        if (channel === 'email') expect(msg.subject).toBeTruthy();
        else expect(msg.subject).toBeNull();
        // Leaving out any placeholder a template uses is an error, not a blank.
        for (const f of Object.keys(data)) {
          const used = `${tpl.subject ?? ''}${tpl.body}`.includes(`{{${f}}}`);
          if (!used) continue;
          const { [f]: _gone, ...less } = data;
          expect(() => renderMessage(tpl, less)).toThrow(IspctlError);
        }
      }
    }
  });

  it('the reminder reads naturally with real data', () => {
    const data = { ...commonData(fmt, juan, 150000n), invoice_number: 'INV-2026-000001', amount: messageMoney(150000n, 'PHP'), due_date: messageDate('2026-11-16') };
    const msg = renderMessage(loadTemplateSync('reminder', 'email'), data);
    expect(msg.subject).toBe('Bayan Net: invoice INV-2026-000001 for ₱1,500.00 is due Nov 16, 2026');
    expect(msg.body).toContain('Dear Juan dela Cruz,');
    expect(msg.body).toContain('Due date: Nov 16, 2026');
    const sms = renderMessage(loadTemplateSync('reminder', 'sms'), data);
    expect(sms.body.trim()).toBe('Bayan Net: Hi Juan dela Cruz, invoice INV-2026-000001 for ₱1,500.00 is due on Nov 16, 2026. Acct S-000123. Ignore if paid. Thank you!');
    // With public-url set, the messages carry the subscriber's payment page link.
    const link = 'https://pay.bayan.example/p/000123.kq4.AbCdEfGhIjKlMnOp';
    const linked = { ...data, ...commonData(fmt, juan, 150000n, link) };
    expect(renderMessage(loadTemplateSync('reminder', 'sms'), linked).body).toBe(
      `Bayan Net: Hi Juan dela Cruz, invoice INV-2026-000001 for ₱1,500.00 is due on Nov 16, 2026. Acct S-000123. Ignore if paid. Thank you! Pay online: ${link}`,
    );
    expect(renderMessage(loadTemplateSync('reminder', 'email'), linked).body).toContain(`\nPay online: ${link}\n`);
  });

  it('an email template needs a Subject line; CRLF files work', () => {
    expect(thrown(() => parseTemplateText('reminder', 'email', 'Hello {{subscriber_name}}', 'x')).code).toBe('TEMPLATE_INVALID');
    const t = parseTemplateText('reminder', 'email', 'Subject: Hi {{isp_name}}\r\n\r\nBody\r\n', 'x');
    expect(t).toMatchObject({ subject: 'Hi {{isp_name}}', body: 'Body\n' });
  });

  it('a templates-dir overrides file by file; the rest come from the built-in ones', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ispctl-tpl-'));
    try {
      writeFileSync(join(dir, 'reminder.sms.txt'), 'Pay {{amount}} by {{due_date}} - {{isp_name}}\n');
      const loader = createTemplateLoader(dir);
      expect((await loader.get('reminder', 'sms')).body).toBe('Pay {{amount}} by {{due_date}} - {{isp_name}}');
      expect((await loader.get('reminder', 'email')).source).toBe('templates/messages/reminder.email.txt');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('SMS gateway requests', () => {
  const base: SmsGatewayConfig = { url: 'https://sms.example.net/send', method: 'POST', format: 'json', bodyTemplate: '{"to":"{{to}}","text":"{{text}}"}', headers: {} };
  const nasty = 'He said "pay" \\ now\nline 2 & more=1 ₱1,500.00 {{to}}';

  it('puts values into a JSON template as JSON strings: quotes, backslashes, newlines cannot break it', () => {
    const req = buildSmsRequest(base, { to: '+639171234567', text: nasty });
    expect(req).toMatchObject({ url: 'https://sms.example.net/send', method: 'POST', headers: { 'content-type': 'application/json; charset=utf-8' } });
    expect(JSON.parse(req.body!)).toEqual({ to: '+639171234567', text: nasty });
  });

  it('keeps the JSON shape of the template: nested objects, arrays, numbers, placeholders inside text', () => {
    const req = buildSmsRequest(
      { ...base, bodyTemplate: '{"messages":[{"destinations":[{"to":"{{to}}"}],"text":"[ISP] {{text}}"}],"priority":1,"flash":false}' },
      { to: '0917', text: 'a"b' },
    );
    expect(JSON.parse(req.body!)).toEqual({ messages: [{ destinations: [{ to: '0917' }], text: '[ISP] a"b' }], priority: 1, flash: false });
  });

  it('form-encodes values into a form template', () => {
    const req = buildSmsRequest({ ...base, format: 'form', bodyTemplate: 'number={{to}}&message={{text}}&sender=BAYAN NET' }, { to: '+639171234567', text: 'a&b=c d\n₱' });
    expect(req.headers['content-type']).toBe('application/x-www-form-urlencoded; charset=utf-8');
    expect(req.body).toBe('number=%2B639171234567&message=a%26b%3Dc+d%0A%E2%82%B1&sender=BAYAN+NET');
    const back = new URLSearchParams(req.body!);
    expect(back.get('message')).toBe('a&b=c d\n₱');
    expect(back.get('number')).toBe('+639171234567');
  });

  it('URL-encodes placeholders in the URL (GET gateways) and sends no body', () => {
    const req = buildSmsRequest({ ...base, method: 'GET', url: 'https://gw.example.net/api?key=abc&to={{to}}&msg={{text}}' }, { to: '+63917', text: 'a&b c/d?' });
    expect(req.body).toBeNull();
    const u = new URL(req.url);
    expect(u.searchParams.get('to')).toBe('+63917');
    expect(u.searchParams.get('msg')).toBe('a&b c/d?');
    expect(u.searchParams.get('key')).toBe('abc');
  });

  it('adds configured headers; a configured Content-Type replaces the default', () => {
    const req = buildSmsRequest({ ...base, headers: { Authorization: 'Bearer t0k', 'Content-Type': 'application/vnd.gw+json' } }, { to: '1', text: 'x' });
    expect(req.headers).toEqual({ Authorization: 'Bearer t0k', 'Content-Type': 'application/vnd.gw+json' });
  });

  it('refuses a JSON template that is not JSON and unknown placeholders', () => {
    expect(thrown(() => buildSmsRequest({ ...base, bodyTemplate: '{"to": {{to}}' }, { to: '1', text: 'x' })).code).toBe('SMS_TEMPLATE_INVALID');
    expect(thrown(() => buildSmsRequest({ ...base, bodyTemplate: '{"to":"{{phone}}"}' }, { to: '1', text: 'x' })).code).toBe('SMS_TEMPLATE_PLACEHOLDER');
  });
});

describe('notification and collection settings', () => {
  it('reminder offsets: sorted, unique, none', () => {
    expect(parseReminderDays('3, -3,0,3')).toEqual([-3, 0, 3]);
    expect(parseReminderDays('+5')).toEqual([5]);
    expect(parseReminderDays('none')).toEqual([]);
    expect(formatReminderDays([])).toBe('none');
    expect(thrown(() => parseReminderDays('-3,x')).code).toBe('INVALID_SETTING_VALUE');
    expect(thrown(() => parseReminderDays('90')).code).toBe('INVALID_SETTING_VALUE');
    expect(settingDef('reminder-days').parse('0, -3')).toBe('-3,0');
  });

  it('channels', () => {
    expect(parseChannels('sms,email')).toEqual(['email', 'sms']);
    expect(parseChannels('none')).toEqual([]);
    expect(thrown(() => parseChannels('email,fax')).code).toBe('INVALID_SETTING_VALUE');
  });

  it('secrets are masked for display: URL passwords and query values, header values', () => {
    expect(maskUrl('smtp://billing%40x.net:pa55@mail.x.net:587')).toBe('smtp://billing%40x.net:***@mail.x.net:587');
    expect(maskUrl('https://gw.example.net/send?api_key=abc&to={{to}}')).toBe('https://gw.example.net/send?api_key=***&to=***');
    expect(maskHeaders('{"Authorization":"Bearer abc","X-Key":"k"}')).toBe('{"Authorization":"***","X-Key":"***"}');
    for (const key of ['smtp-url', 'sms-url', 'sms-headers']) expect(NOTIFY_SETTINGS.find((d) => d.key === key)!.secret).toBe(true);
  });

  it('validates what is set', () => {
    expect(thrown(() => settingDef('smtp-url').parse('http://mail.x.net')).code).toBe('INVALID_SETTING_VALUE');
    expect(settingDef('smtp-url').parse('smtps://u:p@mail.x.net:465')).toBe('smtps://u:p@mail.x.net:465');
    expect(thrown(() => settingDef('sms-body-template').parse('{"to":"{{to}}",')).code).toBe('INVALID_SETTING_VALUE');
    expect(thrown(() => settingDef('sms-body-template').parse('{"to":"{{number}}"}')).code).toBe('INVALID_SETTING_VALUE');
    expect(thrown(() => settingDef('sms-headers').parse('["x"]')).code).toBe('INVALID_SETTING_VALUE');
    expect(settingDef('mail-from').parse('Bayan Net <billing@bayan.example>')).toBe('Bayan Net <billing@bayan.example>');
    expect(thrown(() => settingDef('mail-from').parse('not an address')).code).toBe('INVALID_SETTING_VALUE');
    expect(settingDef('invoice-issued-notify').default).toBe(true);
    expect(settingDef('invoice-issued-notify').parse('off')).toBe(false);
    expect(settingDef('invoice-issued-notify').parse('yes')).toBe(true);
    expect(thrown(() => settingDef('invoice-issued-notify').parse('sometimes')).message).toBe('invoice-issued-notify must be true or false, got "sometimes".');
  });

  it('retries back off from a minute to six hours', () => {
    const mid = () => 0.5;
    expect([1, 2, 3, 10, 20].map((n) => retryDelaySeconds(n, mid))).toEqual([60, 120, 240, 21600, 21600]);
  });
});
