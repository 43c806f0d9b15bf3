import { Flags } from '@oclif/core';
import { BaseCommand } from '../../cli/base-command.js';
import { moneyColumn } from '../../cli/format.js';
import { listFlags } from '../../cli/table.js';
import { formatMoney } from '../../core/money.js';
import { collectionsReport } from '../../core/reports/service.js';
import { parseLocalDate } from '../../core/time.js';

export default class ReportCollections extends BaseCommand<typeof ReportCollections> {
  static override summary = "Money received by day, method and who recorded it (the OS user, a gateway or an import): the cashier's end-of-day count.";
  static override description = 'Dates are days in the ISP time zone, both ends included; default today. Voided payments are shown apart; credits (adjustments) are not money and are left out.';
  static override examples = ['<%= config.bin %> report collections', '<%= config.bin %> report collections --from 2026-11-01 --to 2026-11-30 --csv > november.csv'];
  static override flags = {
    from: Flags.string({ summary: 'First day, YYYY-MM-DD (default today).' }),
    to: Flags.string({ summary: 'Last day, YYYY-MM-DD (default: --from, or today).' }),
    ...listFlags,
  };

  /** --from and --to read before the database is opened or migrated. */
  protected override async checkInput(): Promise<void> {
    if (this.flags.from) parseLocalDate(this.flags.from, 'from date');
    if (this.flags.to) parseLocalDate(this.flags.to, 'to date');
  }

  public async run() {
    const ctx = await this.ctx();
    const r = await collectionsReport(ctx.db, { from: this.flags.from, to: this.flags.to, now: ctx.clock.now() });
    const money = (m: bigint) => formatMoney(m, r.currency);
    this.say(this.chalk.bold(`Collections ${r.from === r.to ? `on ${r.from}` : `from ${r.from} to ${r.to}`}`));
    this.table(r.rows, [
      { header: 'DAY', get: (x) => x.day },
      { header: 'METHOD', get: (x) => x.method },
      { header: 'RECORDED BY', get: (x) => x.recordedBy },
      { header: 'PAYMENTS', get: (x) => x.payments, align: 'right' },
      moneyColumn('AMOUNT', (x) => x.amountMinor, r.currency),
    ]);
    if (r.rows.length) {
      this.say('');
      this.details([
        ...r.byMethod.map((m) => [`by ${m.method}`, `${money(m.amountMinor)} (${m.payments})`] as [string, unknown]),
        ...r.byRecorder.map((m) => [`recorded by ${m.recordedBy}`, `${money(m.amountMinor)} (${m.payments})`] as [string, unknown]),
        ['total', this.chalk.bold(`${money(r.totalMinor)} in ${r.payments} payment${r.payments === 1 ? '' : 's'}`)],
      ]);
    }
    if (r.voided.payments) this.say(this.chalk.dim(`Voided since: ${r.voided.payments} payment(s), ${money(r.voided.amountMinor)} (not counted).`));
    return r;
  }
}
