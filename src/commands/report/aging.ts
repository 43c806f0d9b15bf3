import { Flags } from '@oclif/core';
import { BaseCommand } from '../../cli/base-command.js';
import { formatMoney, toDecimalString } from '../../core/money.js';
import { AGING_BUCKETS, agingReport, toCsv } from '../../core/reports/service.js';

export default class ReportAging extends BaseCommand<typeof ReportAging> {
  static override summary = 'What is owed on open invoices by days past due: current, 1-30, 31-60, 61-90, 90+.';
  static override examples = ['<%= config.bin %> report aging', '<%= config.bin %> report aging --detail --limit 20', '<%= config.bin %> report aging --as-of 2026-11-30 --csv > aging.csv'];
  static override flags = {
    'as-of': Flags.string({ summary: 'The day to age invoices on, YYYY-MM-DD (default today).' }),
    detail: Flags.boolean({ summary: 'Also list the subscribers who owe most, with their buckets.' }),
    limit: Flags.integer({ summary: 'Subscribers listed with --detail.', default: 50, min: 1, max: 100000 }),
    csv: Flags.boolean({ summary: 'Print CSV (amounts as decimals) instead of a table.', exclusive: ['json'] }),
  };

  public async run() {
    const ctx = await this.ctx();
    const r = await agingReport(ctx.db, { asOf: this.flags['as-of'], now: ctx.clock.now(), detail: this.flags.detail, limit: this.flags.limit });
    const money = (m: bigint) => formatMoney(m, r.currency);
    const dec = (m: bigint) => toDecimalString(m, r.currency);
    if (this.flags.csv) {
      if (r.subscribers) {
        process.stdout.write(toCsv(['account_no', 'name', ...AGING_BUCKETS, 'total', 'oldest_due'], r.subscribers.map((s) => [s.accountNo, s.name, ...AGING_BUCKETS.map((b) => dec(s.buckets[b])), dec(s.totalMinor), s.oldestDueDate])));
      } else {
        process.stdout.write(toCsv(['bucket', 'invoices', 'subscribers', 'amount'], [...r.rows.map((x) => [x.bucket, x.invoices, x.subscribers, dec(x.amountMinor)]), ['total', '', '', dec(r.totalMinor)]]));
      }
      return r;
    }
    this.say(this.chalk.bold(`Aging as of ${r.asOf}`));
    this.table([...r.rows, { bucket: 'total', invoices: r.rows.reduce((t, x) => t + x.invoices, 0), subscribers: NaN, amountMinor: r.totalMinor }], [
      { header: 'DAYS PAST DUE', get: (x) => x.bucket },
      { header: 'INVOICES', get: (x) => x.invoices, align: 'right' },
      { header: 'SUBSCRIBERS', get: (x) => (Number.isNaN(x.subscribers) ? '' : x.subscribers), align: 'right' },
      { header: 'AMOUNT', get: (x) => money(x.amountMinor), align: 'right' },
    ]);
    if (r.unappliedCreditMinor > 0n) this.say(this.chalk.dim(`Credit on account not yet applied: ${money(r.unappliedCreditMinor)}`));
    if (r.subscribers) {
      this.say('');
      this.table(r.subscribers, [
        { header: 'ACCOUNT', get: (s) => s.accountNo },
        { header: 'NAME', get: (s) => s.name },
        ...AGING_BUCKETS.map((b) => ({ header: b.toUpperCase(), get: (s: (typeof r.subscribers)[number]) => (s.buckets[b] ? money(s.buckets[b]) : ''), align: 'right' as const })),
        { header: 'TOTAL', get: (s) => money(s.totalMinor), align: 'right' },
      ]);
    }
    return r;
  }
}
