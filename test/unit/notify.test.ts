import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { formatReminderDays, parseReminderDays } from '../../src/core/collections/setting-defs.js';
import { IspctlError } from '../../src/core/errors.js';
import type { SmsGatewayConfig } from '../../src/core/notify/config.js';
import { retryDelaySeconds } from '../../src/core/notify/outbox.js';
import { Lane, type LaneClock } from '../../src/core/notify/lane.js';
import { maskHeaders, maskUrl, NOTIFY_SETTINGS, parseChannels, ratePerSecond } from '../../src/core/notify/setting-defs.js';
import { buildSmsRequest, parseRetryAfter } from '../../src/core/notify/sms.js';
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

describe('gateway lanes: concurrency, rate and pauses (virtual time)', () => {
  /** A clock whose sleeps end in time order once every worker is waiting: no wall clock involved. */
  function virtualClock() {
    let t = 0;
    const timers: Array<{ at: number; resolve: () => void }> = [];
    const clock: LaneClock = {
      now: () => t,
      sleep: (ms) => new Promise<void>((resolve) => timers.push({ at: t + ms, resolve })),
    };
    /** Runs `work` to its end, advancing time to the next timer whenever nothing else can run. */
    async function drive<T>(work: Promise<T>): Promise<T> {
      let done = false;
      const result = work.finally(() => (done = true));
      while (!done) {
        await new Promise((r) => setImmediate(r));
        if (done || !timers.length) continue;
        timers.sort((a, b) => a.at - b.at);
        const next = timers.shift()!;
        t = Math.max(t, next.at);
        next.resolve();
      }
      return result;
    }
    return { clock, drive };
  }

  it('never starts more than the rate allows, whatever the concurrency, and never more at once than the concurrency', async () => {
    const { clock, drive } = virtualClock();
    const lane = new Lane({ concurrency: 8, rate: 10, clock });
    const starts: number[] = [];
    let inFlight = 0;
    let most = 0;
    const left = await drive(
      lane.run(Array.from({ length: 45 }, (_, i) => i), async () => {
        starts.push(clock.now());
        most = Math.max(most, ++inFlight);
        await clock.sleep(250); // a slow gateway: several at once
        inFlight--;
      }),
    );
    expect(left).toEqual([]);
    expect(starts).toHaveLength(45);
    for (let i = 1; i < starts.length; i++) expect(starts[i]! - starts[i - 1]!).toBeGreaterThanOrEqual(100);
    // In any one-second window at most 10 sends start.
    for (const s of starts) expect(starts.filter((x) => x >= s && x < s + 1000).length).toBeLessThanOrEqual(10);
    expect(most).toBeLessThanOrEqual(8);
    expect(most).toBeGreaterThan(1);
  });

  it('a pause (429 Retry-After) stops every worker until it ends; one longer than the run may wait leaves the rest unstarted', async () => {
    const { clock, drive } = virtualClock();
    const lane = new Lane({ concurrency: 4, rate: null, clock, maxPauseWaitMs: 5_000 });
    const starts: number[] = [];
    let n = 0;
    const left = await drive(
      lane.run(Array.from({ length: 20 }, (_, i) => i), async () => {
        starts.push(clock.now());
        const mine = ++n;
        await clock.sleep(10);
        if (mine === 5) lane.pause(3_000); // waited out
      }),
    );
    expect(left).toEqual([]);
    // Four started at once, the fifth paused the lane at 20 ms (after its send): nothing else until 3,020 ms.
    expect(starts.filter((s) => s > 10 && s < 3_020)).toEqual([]);
    expect(starts.filter((s) => s >= 3_020).length).toBeGreaterThanOrEqual(12);
    expect(starts).toHaveLength(20);

    const lane2 = new Lane({ concurrency: 4, rate: null, clock, maxPauseWaitMs: 5_000 });
    let m = 0;
    const left2 = await drive(
      lane2.run(Array.from({ length: 20 }, (_, i) => i), async () => {
        const mine = ++m;
        await clock.sleep(10);
        if (mine === 3) lane2.pause(120_000); // too long: the rest goes back to the queue
      }),
    );
    expect(m).toBeLessThanOrEqual(6); // those already started when the pause came
    expect(left2.length + m).toBe(20);
  });

  it('rates are read as people write them', () => {
    const def = settingDef('notify-sms-rate');
    expect(def.parse('10')).toBe('10/s');
    expect(def.parse('600/min')).toBe('600/min');
    expect(def.parse('36000 / h')).toBe('36000/h');
    expect(def.parse('none')).toBe('none');
    expect(ratePerSecond('600/min')).toBe(10);
    expect(ratePerSecond('36000/h')).toBe(10);
    expect(ratePerSecond('none')).toBeNull();
    expect(thrown(() => def.parse('fast')).message).toBe('notify-sms-rate must be a rate such as 20/s, 600/min or 36000/h (or none), got "fast".');
  });

  it('reads Retry-After in seconds or as a date, and caps it', () => {
    expect(parseRetryAfter('120')).toBe(120_000);
    expect(parseRetryAfter('Wed, 02 Dec 2026 08:00:30 GMT', Date.parse('2026-12-02T08:00:00Z'))).toBe(30_000);
    expect(parseRetryAfter('86400')).toBe(3_600_000);
    expect(parseRetryAfter('soon')).toBeUndefined();
    expect(parseRetryAfter(null)).toBeUndefined();
  });
});
