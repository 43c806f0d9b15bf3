import { Args, Flags } from '@oclif/core';
import { BaseCommand } from '../../cli/base-command.js';
import { describeAdjustment, voidAdjustment } from '../../core/adjustments/service.js';

export default class AdjustmentVoid extends BaseCommand<typeof AdjustmentVoid> {
  static override summary = 'Void a charge or credit: a pending charge is dropped, an invoiced one taken off its invoice, a credit taken back from the account.';
  static override examples = ['<%= config.bin %> adjustment void ADJ-12 --reason "entered twice"'];
  static override args = { id: Args.string({ required: true, description: 'Adjustment id, 12 or ADJ-12.' }) };
  static override flags = { reason: Flags.string({ required: true, summary: 'Why; kept in the audit log.' }) };

  public async run() {
    const ctx = await this.ctx();
    const r = await voidAdjustment(ctx, this.args.id, { reason: this.flags.reason });
    this.say(`Voided ${describeAdjustment(r.adjustment)}.`);
    await this.applyNow(r.collections.jobIds);
    return r;
  }
}
