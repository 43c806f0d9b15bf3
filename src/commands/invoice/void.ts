import { Args, Flags } from '@oclif/core';
import { errors } from '../../core/error-catalogue.js';
import { confirm } from '@inquirer/prompts';
import { BaseCommand } from '../../cli/base-command.js';
import { findInvoice, voidInvoice } from '../../core/billing/invoices.js';
import { formatMoney } from '../../core/money.js';

export default class InvoiceVoid extends BaseCommand<typeof InvoiceVoid> {
  static override summary = 'Void an invoice: it no longer counts, money paid on it becomes credit, and its period can be billed again.';
  static override description =
    'To correct an invoice (a plan change or a price after it was issued), void it and run billing generate --period … --subscriber … again.';
  static override examples = ['<%= config.bin %> invoice void INV-2026-000123 --reason "billed twice by mistake" --yes'];
  static override args = { number: Args.string({ required: true, description: 'Invoice number.' }) };
  static override flags = {
    reason: Flags.string({ required: true, summary: 'Why; kept with the invoice and in the audit log.' }),
    yes: Flags.boolean({ char: 'y', summary: 'Do not ask for confirmation.' }),
  };

  public async run() {
    const ctx = await this.ctx();
    if (!this.flags.yes) {
      if (!this.canPrompt()) throw errors.confirmationRequired(`Voiding invoice ${this.args.number}`);
      const inv = await findInvoice(ctx.db, this.args.number);
      const paid = inv.paidMinor > 0n ? `; ${formatMoney(inv.paidMinor, inv.currency)} paid on it becomes credit` : '';
      if (!(await confirm({ message: `Void ${inv.number} of ${formatMoney(inv.totalMinor, inv.currency)} for ${inv.accountNo} ${inv.subscriberName}${paid}?`, default: false }))) {
        this.say('Nothing changed.');
        return { voided: false };
      }
    }
    const r = await voidInvoice(ctx, this.args.number, { reason: this.flags.reason });
    const money = (m: bigint) => formatMoney(m, r.invoice.currency);
    this.say(`Voided ${r.invoice.number} (${r.invoice.accountNo} ${r.invoice.subscriberName}, ${money(r.invoice.totalMinor)}): ${this.flags.reason}`);
    if (r.reversedMinor > 0n) this.say(`  ${money(r.reversedMinor)} paid on it is credit again${r.reallocated.length ? `; ${money(r.reallocated.reduce((s, a) => s + a.amountMinor, 0n))} of credit went to other open invoices` : ''}.`);
    if (r.collections.restored.length) this.say('  Access restored: nothing is past due any more.');
    await this.applyNow(r.collections.jobIds);
    return { voided: true, ...r };
  }
}
