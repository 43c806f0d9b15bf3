import { Args, Flags } from '@oclif/core';
import { BaseCommand } from '../../cli/base-command.js';
import { checkSendSelection, INVOICE_VIAS, sendInvoices, type InvoiceVia } from '../../core/notify/invoice.js';

export default class InvoiceSend extends BaseCommand<typeof InvoiceSend> {
  static override summary = 'Send invoices to their subscribers: email with the invoice PDF attached, SMS with a short link to their payment page.';
  static override description =
    'Sends now; what cannot be delivered stays in the outbox and the daemon retries it (exit 3). An invoice reads sent once a message ' +
    'carrying it was delivered. One invoice by number, or many: --period YYYY-MM, --unsent (not sent yet and no message on its way), or both. ' +
    'SMS needs public-url and intake-listen (the daemon serves the payment page). Subscribers without an email address or phone ' +
    'number are listed as skipped when sending many, an error when sending one.';
  static override examples = [
    '<%= config.bin %> invoice send INV-2026-000123',
    '<%= config.bin %> invoice send INV-2026-000123 --via sms',
    '<%= config.bin %> invoice send --period 2026-12 --unsent --via both',
  ];
  static override args = { number: Args.string({ required: false, description: 'Invoice number, e.g. INV-2026-000123.' }) };
  static override flags = {
    via: Flags.string({ summary: 'email, sms or both (default: the channels of notify-channels that are set up).', options: [...INVOICE_VIAS] }),
    period: Flags.string({ summary: 'Send the invoices of this period (YYYY-MM).' }),
    unsent: Flags.boolean({ summary: 'Only invoices not sent yet and with no message on its way.', default: false }),
  };

  /** What to send (one number, or --period / --unsent; --via), checked before the database is opened or migrated. */
  protected override async checkInput(): Promise<void> {
    checkSendSelection({ number: this.args.number, period: this.flags.period, unsent: this.flags.unsent, via: this.flags.via as InvoiceVia | undefined });
  }

  public async run() {
    const ctx = await this.ctx();
    const r = await sendInvoices(ctx, {
      ...(this.args.number !== undefined ? { number: this.args.number } : {}),
      ...(this.flags.period !== undefined ? { period: this.flags.period } : {}),
      unsent: this.flags.unsent,
      ...(this.flags.via !== undefined ? { via: this.flags.via as InvoiceVia } : {}),
    });
    const sent = new Set(r.sent);
    if (!r.invoices.length) this.say(r.skipped.length ? 'No invoice could be sent.' : 'No invoice to send.');
    else if (r.invoices.length === 1) {
      const i = r.invoices[0]!;
      this.say(`Invoice ${i.number} (${i.account}) by ${i.channels.join(' and ')}: ${sent.has(i.number) ? this.chalk.green('sent') : 'queued, not delivered yet'}.`);
    } else {
      this.say(`${r.invoices.length} invoice(s): ${r.delivery.sent} message(s) delivered, ${r.sent.length} invoice(s) now read sent${r.delivery.retrying ? `, ${r.delivery.retrying} message(s) to retry later` : ''}.`);
    }
    for (const s of r.skipped.slice(0, 20)) this.note(this.chalk.dim(`  skipped ${s.number} (${s.account}): ${s.reason}`));
    if (r.skipped.length > 20) this.note(this.chalk.dim(`  … and ${r.skipped.length - 20} more skipped`));
    for (const e of r.delivery.errors.slice(0, 10)) this.note(this.chalk.dim(`  #${e.id} ${e.channel} to ${e.recipient}: ${e.error}`));
    if (r.delivery.errors.length) this.markPartial(`${r.delivery.errors.length} message(s) were not delivered now; the daemon retries them (ispctl notify list).`);
    return r;
  }
}
