import { Args, Flags } from '@oclif/core';
import { errors } from '../../core/error-catalogue.js';
import { confirm } from '@inquirer/prompts';
import { BaseCommand } from '../../cli/base-command.js';
import { formatMoney } from '../../core/money.js';
import { showPayment, voidPayment } from '../../core/payments/service.js';

export default class PaymentVoid extends BaseCommand<typeof PaymentVoid> {
  static override summary = 'Void a payment (a bounced cheque, a mistake): the invoices it paid are open again and collections may resume.';
  static override examples = ['<%= config.bin %> payment void 12 --reason "GCash reversal" --yes'];
  static override args = { id: Args.string({ required: true, description: 'Payment id: 12 or P-12.' }) };
  static override flags = {
    reason: Flags.string({ required: true, summary: 'Why; kept with the payment and in the audit log.' }),
    yes: Flags.boolean({ char: 'y', summary: 'Do not ask for confirmation.' }),
  };

  public async run() {
    const ctx = await this.ctx();
    if (!this.flags.yes) {
      if (!this.canPrompt()) throw errors.confirmationRequired(`Voiding payment ${this.args.id}`);
      const p = await showPayment(ctx.db, this.args.id);
      if (!(await confirm({ message: `Void ${p.ref} of ${formatMoney(p.amountMinor, p.currency)} from ${p.accountNo} ${p.subscriberName}?`, default: false }))) {
        this.say('Nothing changed.');
        return { voided: false };
      }
    }
    const r = await voidPayment(ctx, this.args.id, { reason: this.flags.reason });
    const money = (m: bigint) => formatMoney(m, r.payment.currency);
    this.say(`Voided ${r.payment.ref} (${money(r.payment.amountMinor)} from ${r.payment.accountNo} ${r.payment.subscriberName}): ${this.flags.reason}`);
    if (r.reversedMinor > 0n) this.say(`  ${money(r.reversedMinor)} taken back from the invoices it paid.`);
    this.say(`Balance: ${money(r.balance.owedMinor)} owed${r.balance.overdueMinor > 0n ? ` (${money(r.balance.overdueMinor)} overdue)` : ''}, ${money(r.balance.creditMinor)} credit.`);
    await this.applyNow(r.collections.jobIds);
    return { voided: true, ...r };
  }
}
