import { Args, Flags } from '@oclif/core';
import { BaseCommand } from '../../cli/base-command.js';
import { writeOutput } from '../../cli/write-file.js';
import { renderInvoice } from '../../core/documents/service.js';
import { errors } from '../../core/error-catalogue.js';

export default class InvoiceRender extends BaseCommand<typeof InvoiceRender> {
  static override summary = 'Write an invoice as a PDF or HTML document a customer can receive: ISP name, address, TIN, lines, balance brought forward, due date, how to pay.';
  static override description = 'Templates are in templates/documents (or the document-templates-dir setting). --out - writes to stdout.';
  static override examples = ['<%= config.bin %> invoice render INV-2026-000123 --format pdf --out INV-2026-000123.pdf', '<%= config.bin %> invoice render INV-2026-000123 --format html --out - > invoice.html'];
  static override args = { number: Args.string({ required: true, description: 'Invoice number, e.g. INV-2026-000123.' }) };
  static override flags = {
    format: Flags.string({ summary: 'pdf or html.', options: ['pdf', 'html'], default: 'pdf' }),
    out: Flags.string({ char: 'o', summary: 'File to write (default: the invoice number and format in the current directory); - for stdout.' }),
  };

  public async run() {
    const ctx = await this.ctx();
    const r = await renderInvoice(ctx, { number: this.args.number, format: this.flags.format });
    const out = this.flags.out ?? r.fileName;
    if (out === '-' && this.jsonEnabled()) throw errors.stdoutTakenByJson();
    const path = writeOutput(out, r.content);
    if (path !== '-') this.say(`Wrote invoice ${r.number} (${r.format.toUpperCase()}, ${r.content.length} bytes, amount due ${r.document.kind === 'invoice' ? r.document.amountDue : ''}) to ${path}`);
    return { number: r.number, format: r.format, file: path, bytes: r.content.length, document: r.document };
  }
}
