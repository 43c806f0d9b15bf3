import { Args } from '@oclif/core';
import { BaseCommand } from '../../cli/base-command.js';
import { formatTime } from '../../cli/format.js';
import { loadBillingSettings } from '../../core/billing/settings.js';
import { formatMoney } from '../../core/money.js';
import { showPayment } from '../../core/payments/service.js';
import { formatLocalDate, toLocalDate } from '../../core/time.js';

export default class PaymentShow extends BaseCommand<typeof PaymentShow> {
  protected override readsOnly = true;
  static override summary = 'Show a payment and the invoices it paid.';
  static override examples = ['<%= config.bin %> payment show 12', '<%= config.bin %> payment show P-12 --json'];
  static override args = { id: Args.string({ required: true, description: 'Payment id: 12 or P-12.' }) };

  public async run() {
    const ctx = await this.ctx();
    const p = await showPayment(ctx.db, this.args.id);
    const settings = await loadBillingSettings(ctx.db);
    const money = (m: bigint) => formatMoney(m, p.currency);
    const at = (d: Date) => formatTime(d, settings.timezone);
    this.details([
      ['payment', p.ref],
      ['subscriber', `${p.accountNo} ${p.subscriberName}`],
      ['amount', money(p.amountMinor)],
      ['method', p.method],
      ['reference', p.reference ?? ''],
      ['received', at(p.receivedAt)],
      ['recorded', at(p.recordedAt)],
      ['notes', p.notes ?? ''],
      ['allocated', money(p.allocatedMinor)],
      ['credit left', money(p.unallocatedMinor)],
      ...(p.voidedAt ? [['voided', `${at(p.voidedAt)}: ${p.voidReason ?? ''}`] as [string, unknown]] : []),
    ]);
    if (p.allocations.length) {
      this.say('');
      this.table(p.allocations, [
        { header: 'INVOICE', get: (a) => a.number },
        { header: 'PERIOD', get: (a) => a.periodKey },
        { header: 'AMOUNT', get: (a) => money(a.amountMinor), align: 'right' },
        { header: 'APPLIED', get: (a) => formatLocalDate(toLocalDate(a.createdAt, settings.timezone)) },
        { header: 'REVERSED', get: (a) => (a.reversedAt ? formatLocalDate(toLocalDate(a.reversedAt, settings.timezone)) : '') },
      ]);
    }
    return p;
  }
}
