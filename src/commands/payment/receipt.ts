import { Args, Flags } from '@oclif/core';
import { BaseCommand } from '../../cli/base-command.js';
import { writeOutput } from '../../cli/write-file.js';
import { renderReceipt } from '../../core/documents/service.js';
import { errors } from '../../core/error-catalogue.js';

export default class PaymentReceipt extends BaseCommand<typeof PaymentReceipt> {
  static override summary = 'Write the receipt of a payment as a PDF or HTML document: amount, method, reference, the invoices it paid, the balance.';
  static override examples = ['<%= config.bin %> payment receipt P-12 --format pdf --out receipt-P-12.pdf'];
  static override args = { id: Args.string({ required: true, description: 'Payment id, 12 or P-12.' }) };
  static override flags = {
    format: Flags.string({ summary: 'pdf or html.', options: ['pdf', 'html'], default: 'pdf' }),
    out: Flags.string({ char: 'o', summary: 'File to write (default: receipt-P-12.pdf in the current directory); - for stdout.' }),
  };

  public async run() {
    const ctx = await this.ctx();
    const r = await renderReceipt(ctx, { payment: this.args.id, format: this.flags.format });
    const out = this.flags.out ?? r.fileName;
    if (out === '-' && this.jsonEnabled()) throw errors.stdoutTakenByJson();
    const path = writeOutput(out, r.content);
    if (path !== '-') this.say(`Wrote receipt ${r.number} (${r.format.toUpperCase()}, ${r.content.length} bytes) to ${path}`);
    return { number: r.number, format: r.format, file: path, bytes: r.content.length, document: r.document };
  }
}
