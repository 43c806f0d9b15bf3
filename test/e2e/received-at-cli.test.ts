// A technician types when the money came in on the ISP's clock: `--received-at '2026-12-01 09:00'`
// is 09:00 in the ISP's time zone (the `timezone` setting, Asia/Manila here), shown back as typed;
// a date, or a time with an offset, still works; a value that is not a date-time says what is
// wrong, with the value and the accepted forms, and records nothing; a time still to come is
// refused. The list commands read --since the same way.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, tempDataDir } from '../helpers/cli.js';

describe('payment record --received-at on the ISP clock', () => {
  const tmp = tempDataDir({ migrated: true });
  // 10:30 on 2026-12-02 in Manila.
  const env = { ...tmp.env, ISPCTL_NOW: '2026-12-02T02:30:00Z', ISPCTL_LOCK_TIMEOUT: '180' };
  const cli = (...args: string[]) => runCli(args, { env });

  beforeAll(async () => {
    const init = await cli('init', '--isp-name', 'Juan Net', '--currency', 'PHP', '--timezone', 'Asia/Manila', '--yes');
    expect(init.code, init.stderr).toBe(0);
    const [router, plan] = await Promise.all([
      cli('router', 'add', 'core1', '--host', '127.0.0.1', '--api-port', '1', '--api-user', 'ispctl', '--api-password', 'pw-core1'),
      cli('plan', 'create', 'Fiber 50', '--price', '1500', '--download', '50M', '--upload', '10M'),
    ]);
    expect(router.code, router.stderr).toBe(0);
    expect(plan.code, plan.stderr).toBe(0);
    const csv = 'full_name,username,plan,router,start_date\nJuan Dela Cruz,juan,Fiber 50,core1,2026-11-01\n';
    const imported = await runCli(['subscriber', 'import', '--file', '-', '--router-timeout', '1', '--json'], { env, input: csv });
    expect([0, 3], imported.stderr).toContain(imported.code);
  });
  afterAll(() => tmp.remove());

  it('reads a date and time without a zone as the ISP wall clock and shows it as typed', async () => {
    const pay = await cli('payment', 'record', '--subscriber', 'juan', '--amount', '500', '--method', 'cash', '--received-at', '2026-12-01 09:00');
    expect(pay.code, pay.stderr).toBe(0);
    expect(pay.stdout).toContain('Received 2026-12-01 09:00 (Asia/Manila).');
    const json = await cli('payment', 'record', '--subscriber', 'juan', '--amount', '200', '--method', 'cash', '--received-at', '2026-12-01T17:45', '--json');
    expect(json.code, json.stderr).toBe(0);
    expect(json.json.data.payment.receivedAt).toBe('2026-12-01T09:45:00.000Z');
    expect(json.json.data.received).toEqual({ local: '2026-12-01 17:45', timezone: 'Asia/Manila' });
    // An offset and a date keep their meaning.
    const [offset, day] = await Promise.all([
      cli('payment', 'record', '--subscriber', 'juan', '--amount', '100', '--method', 'cash', '--received-at', '2026-12-01T09:00:00Z', '--json'),
      cli('payment', 'record', '--subscriber', 'juan', '--amount', '50', '--method', 'cash', '--received-at', '2026-11-30', '--json'),
    ]);
    expect(offset.json.data.payment.receivedAt).toBe('2026-12-01T09:00:00.000Z');
    expect(offset.json.data.received.local).toBe('2026-12-01 17:00');
    expect(day.json.data.payment.receivedAt).toBe('2026-11-29T16:00:00.000Z');

    const list = await cli('payment', 'list', '--since', '2026-12-01 09:00', '--json');
    expect(list.code, list.stderr).toBe(0);
    expect(list.json.data.map((p: { amountMinor: string }) => String(p.amountMinor)).sort()).toEqual(['10000', '20000', '50000']);
  });

  it('refuses a value that is not a date-time, saying what and how, and records nothing', async () => {
    const [bad, human, future, since] = await Promise.all([
      cli('payment', 'record', '--subscriber', 'juan', '--amount', '500', '--method', 'cash', '--received-at', '2026-12-01 9am', '--json'),
      cli('payment', 'record', '--subscriber', 'juan', '--amount', '500', '--method', 'cash', '--received-at', '2026-12-01 25:00'),
      cli('payment', 'record', '--subscriber', 'juan', '--amount', '500', '--method', 'cash', '--received-at', '2026-12-02 11:00', '--json'),
      cli('audit', 'list', '--since', '2026-12-01 9:00', '--json'),
    ]);
    expect(bad.code).toBe(2);
    expect(bad.json.error).toMatchObject({ code: 'INVALID_DATE', message: 'Received at "2026-12-01 9am" is not a date, or a date and a time of day.' });
    expect(bad.json.error.suggestions[0]).toContain('a time on the Asia/Manila clock (2026-12-01 09:00)');
    expect(human.code).toBe(2);
    expect(human.stderr).toContain('Error: Received at "2026-12-01 25:00" has no such time of day (25:00;');
    expect(human.stderr).toContain('2026-12-01T09:00:00+08:00');
    expect(future.code).toBe(2);
    expect(future.json.error).toMatchObject({
      code: 'RECEIVED_IN_FUTURE',
      message: 'The payment cannot have been received at 2026-12-02 11:00 in Asia/Manila: that is still to come (it is 2026-12-02 10:30 there now).',
    });
    expect(since.code).toBe(2);
    expect(since.json.error).toMatchObject({ code: 'INVALID_DATE', message: '--since "2026-12-01 9:00" is not a date, or a date and a time of day.' });
    const all = await cli('payment', 'list', '--json');
    expect(all.json.data).toHaveLength(4);
  });
});
