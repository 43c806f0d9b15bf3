import { Args } from '@oclif/core';
import { BaseCommand } from '../../cli/base-command.js';
import { subscriberBalance } from '../../core/ledger/read-model.js';
import { loadBillingSettings } from '../../core/billing/settings.js';
import { resolveSubscriberRef } from '../../core/billing/subscribers.js';
import { formatMoney } from '../../core/money.js';
import { formatLocalDate, toLocalDate } from '../../core/time.js';

export default class SubscriberBalance extends BaseCommand<typeof SubscriberBalance> {
  protected override readsOnly = true;
  static override summary = 'What a subscriber owes, how much is overdue, their credit and what is due next.';
  static override examples = ['<%= config.bin %> subscriber balance S-000123', '<%= config.bin %> subscriber balance juan.dc --json'];
  static override ask = { ref: 'subscriber' as const };
  static override args = { ref: Args.string({ required: true, description: 'Account number (S-000123) or PPPoE username.' }) };

  public async run() {
    const ctx = await this.ctx();
    const settings = await loadBillingSettings(ctx.db);
    const sub = await resolveSubscriberRef(ctx.db, this.args.ref);
    const today = formatLocalDate(toLocalDate(ctx.clock.now(), settings.timezone));
    const b = await subscriberBalance(ctx.db, sub.id, today);
    const money = (m: bigint) => formatMoney(m, settings.currency);
    this.details([
      ['subscriber', `${sub.accountNo} ${sub.fullName}`],
      ['owed', money(b.owedMinor)],
      ['overdue', b.overdueMinor > 0n ? this.chalk.red(money(b.overdueMinor)) : money(0n)],
      ['credit', money(b.creditMinor)],
      ['next due', b.nextDue ? `${money(b.nextDue.balanceMinor)} on ${b.nextDue.dueDate} (${b.nextDue.number})` : 'nothing'],
    ]);
    if (b.openInvoices.length) {
      this.say('');
      this.table(b.openInvoices, [
        { header: 'INVOICE', get: (i) => i.number },
        { header: 'PERIOD', get: (i) => i.periodKey },
        { header: 'DUE', get: (i) => (i.overdue ? this.chalk.red(i.dueDate) : i.dueDate) },
        { header: 'TOTAL', get: (i) => money(i.totalMinor), align: 'right' },
        { header: 'PAID', get: (i) => money(i.paidMinor), align: 'right' },
        { header: 'BALANCE', get: (i) => money(i.balanceMinor), align: 'right' },
      ]);
    }
    return { subscriber: sub, currency: settings.currency, today, ...b };
  }
}
