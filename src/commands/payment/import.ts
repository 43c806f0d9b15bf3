import { basename } from 'node:path';
import { Args, Flags } from '@oclif/core';
import { BaseCommand } from '../../cli/base-command.js';
import { importStatement, STATEMENT_PRESETS } from '../../core/intake/statement.js';
import { formatMoney } from '../../core/money.js';
import { PAYMENT_METHODS } from '../../core/payments/service.js';

export default class PaymentImport extends BaseCommand<typeof PaymentImport> {
  static override summary = 'Import payments from a GCash or bank statement export (CSV); rows are matched to subscribers, the same file twice pays once.';
  static override description =
    'The whole file is checked first: a malformed line (broken quoting, an amount or a date that does not read strictly, a missing column) ' +
    'changes nothing and is named. Each row is matched by --account-column (account number or PPPoE username), or by an account number ' +
    '(S-000123) or invoice number found in its reference or description; rows that match no one, or more than one subscriber, are ' +
    'reported with the reason and their line. Rows without an amount, with money going out, without a reference, or whose method and ' +
    'reference were recorded before are skipped, so importing the same file again pays nothing. Presets: ' +
    Object.values(STATEMENT_PRESETS)
      .map((p) => `${p.name} (${p.summary})`)
      .join('; ') +
    '. Every column can be renamed with the mapping flags.';
  static override examples = [
    '<%= config.bin %> payment import gcash-november.csv --preset gcash --dry-run',
    '<%= config.bin %> payment import bpi.csv --preset bank --amount-column Credit --reference-column "Ref No" --date-format MM/DD/YYYY',
    '<%= config.bin %> payment import export.csv --account-column "Account" --json',
  ];
  static override args = { file: Args.string({ required: true, description: 'CSV file to read ("-" for standard input).' }) };
  static override flags = {
    preset: Flags.string({ summary: 'The export\'s layout: gcash or bank (default bank).', options: Object.keys(STATEMENT_PRESETS) }),
    method: Flags.string({ summary: 'Payment method recorded (default: gcash for the gcash preset, bank for bank).', options: [...PAYMENT_METHODS] }),
    'amount-column': Flags.string({ summary: 'Column with the money received, e.g. Credit.' }),
    'reference-column': Flags.string({ summary: 'Column with the transaction reference (unique per method).' }),
    'date-column': Flags.string({ summary: 'Column with the date the money came in (default: now).' }),
    'account-column': Flags.string({ summary: 'Column with the subscriber\'s account number or PPPoE username.' }),
    'description-column': Flags.string({ summary: 'Column searched for account and invoice numbers, besides the reference.' }),
    'date-format': Flags.string({ summary: 'How dates are written: YYYY MM DD HH mm ss, hh with A for AM/PM, e.g. MM/DD/YYYY or "YYYY-MM-DD hh:mm A". Read in the ISP time zone.' }),
    'dry-run': Flags.boolean({ summary: 'Check and match every row and report, without recording anything.' }),
  };

  public async run() {
    const file = this.args.file;
    const text = await this.readInputFile(file);
    const ctx = await this.ctx();
    const f = this.flags;
    const r = await this.withProgress((onProgress) => importStatement(ctx, {
      onProgress,
      text,
      fileName: file === '-' ? 'standard input' : basename(file),
      preset: f.preset,
      method: f.method,
      amountColumn: f['amount-column'],
      referenceColumn: f['reference-column'],
      dateColumn: f['date-column'],
      accountColumn: f['account-column'],
      descriptionColumn: f['description-column'],
      dateFormat: f['date-format'],
      dryRun: f['dry-run'],
    }));
    const money = (m: bigint | null) => (m === null ? '' : formatMoney(m, r.currency));
    const verb = r.dryRun ? 'Would import' : 'Imported';
    this.say(`${verb} ${r.imported.length} of ${r.rows} row${r.rows === 1 ? '' : 's'} as ${r.method} payments: ${money(r.importedMinor)}.${r.dryRun ? ' Nothing was recorded (dry run).' : ''}`);
    if (r.imported.length) this.table(r.imported, [
      { header: 'LINE', get: (x) => x.line, align: 'right' },
      { header: 'PAYMENT', get: (x) => x.payment ?? '' },
      { header: 'REFERENCE', get: (x) => x.reference },
      { header: 'ACCOUNT', get: (x) => x.accountNo },
      { header: 'NAME', get: (x) => x.subscriberName },
      { header: 'AMOUNT', get: (x) => money(x.amountMinor), align: 'right' },
      { header: 'MATCHED BY', get: (x) => `${x.matchedBy} ${x.matched}` },
    ]);
    if (r.unmatched.length) {
      this.say('');
      this.say(`Not imported: ${r.unmatched.length} row${r.unmatched.length === 1 ? '' : 's'} matched no one or more than one subscriber (record them with ispctl payment record):`);
      this.table(r.unmatched, [
        { header: 'LINE', get: (x) => x.line, align: 'right' },
        { header: 'REFERENCE', get: (x) => x.reference },
        { header: 'AMOUNT', get: (x) => money(x.amountMinor), align: 'right' },
        { header: 'WHY', get: (x) => `${x.kind}: ${x.reason}` },
      ]);
    }
    if (r.skipped.length) {
      this.say('');
      this.say(`Skipped: ${r.skipped.length} row${r.skipped.length === 1 ? '' : 's'}:`);
      this.table(r.skipped, [
        { header: 'LINE', get: (x) => x.line, align: 'right' },
        { header: 'REFERENCE', get: (x) => x.reference ?? '' },
        { header: 'AMOUNT', get: (x) => money(x.amountMinor), align: 'right' },
        { header: 'WHY', get: (x) => x.reason },
      ]);
    }
    if (r.restored.length) this.say(`Access restored for ${r.restored.length} subscriber${r.restored.length === 1 ? '' : 's'}.`);
    await this.applyNow(r.jobIds);
    return r;
  }
}
