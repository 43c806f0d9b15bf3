import { Args, Flags } from '@oclif/core';
import { BaseCommand } from '../../cli/base-command.js';
import { ADJUSTMENT_TYPES, addAdjustment, describeAdjustment } from '../../core/adjustments/service.js';

export default class AdjustmentAdd extends BaseCommand<typeof AdjustmentAdd> {
  static override summary = 'Add a one-off charge (installation, equipment, late fee, reconnection fee) or credit (outage rebate, goodwill, credit memo) with a reason.';
  static override description =
    'A charge goes on the subscriber\'s next invoice, or with --invoice-now on an invoice of its own at once. A credit is money on account at once: ' +
    'it pays the oldest open invoices (a suspended subscriber whose past-due balance it clears is restored), the rest is used by the next invoices.';
  static override examples = [
    '<%= config.bin %> adjustment add S-000123 --type installation --amount 1500 --reason "Fiber installation" --invoice-now',
    '<%= config.bin %> adjustment add S-000123 --type outage_rebate --amount 250 --reason "Outage 2026-11-14, 3 days"',
  ];
  static override args = { subscriber: Args.string({ required: true, description: 'Account number or PPPoE username.' }) };
  static override flags = {
    type: Flags.string({ required: true, summary: 'What it is.', options: [...ADJUSTMENT_TYPES] }),
    amount: Flags.string({ required: true, summary: 'Amount in the ISP currency, positive (the type says charge or credit).' }),
    reason: Flags.string({ required: true, summary: 'Why; printed on the invoice and kept in the audit log.' }),
    'invoice-now': Flags.boolean({ summary: 'Charges: invoice it now on an invoice of its own instead of the next invoice.' }),
  };

  public async run() {
    const ctx = await this.ctx();
    const r = await addAdjustment(ctx, { subscriber: this.args.subscriber, type: this.flags.type, amount: this.flags.amount, reason: this.flags.reason, invoiceNow: this.flags['invoice-now'] });
    const a = r.adjustment;
    this.say(`Added ${describeAdjustment(a)} for ${a.accountNo} ${a.subscriberName}: ${a.direction === 'credit' ? 'credited to the account' : r.invoiceNumber ? `invoiced on ${r.invoiceNumber}` : 'goes on the next invoice'}.`);
    if (r.collections.restored.length) this.say('Access restored: nothing is past due any more.');
    this.essential(a.ref);
    await this.applyNow(r.collections.jobIds);
    return r;
  }
}
