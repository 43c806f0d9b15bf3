import { Flags } from '@oclif/core';
import { BaseCommand } from '../../cli/base-command.js';
import { moneyColumn } from '../../cli/format.js';
import { listFlags } from '../../cli/table.js';
import { formatMoney } from '../../core/money.js';
import { AGING_BUCKETS, agingReport } from '../../core/reports/service.js';
import { parseLocalDate } from '../../core/time.js';

export default class ReportAging extends BaseCommand<typeof ReportAging> {
  static override summary = 'What is owed on open invoices by days past due: current, 1-30, 31-60, 61-90, 90+.';
  static override examples = ['<%= config.bin %> report aging', '<%= config.bin %> report aging --detail --limit 20', '<%= config.bin %> report aging --as-of 2026-11-30 --csv > aging.csv'];
  static override flags = {
    'as-of': Flags.string({ summary: 'The day to age invoices on, YYYY-MM-DD (default today).' }),
    detail: Flags.boolean({ summary: 'Also list the subscribers who owe most, with their buckets.' }),
    limit: Flags.integer({ summary: 'Subscribers listed with --detail.', default: 50, min: 1, max: 100000 }),
    ...listFlags,
  };

  /** --as-of read before the database is opened or migrated. */
  protected override async checkInput(): Promise<void> {
    if (this.flags['as-of']) parseLocalDate(this.flags['as-of'], 'as-of date');
  }

  public async run() {
    const ctx = await this.ctx();
    const r = await agingReport(ctx.db, { asOf: this.flags['as-of'], now: ctx.clock.now(), detail: this.flags.detail, limit: this.flags.limit });
    const money = (m: bigint) => formatMoney(m, r.currency);
    const cur = r.currency;
    type Bucket = { bucket: string; invoices: number; subscribers: number | null; amountMinor: bigint };
    const total: Bucket = { bucket: 'total', invoices: r.rows.reduce((t, x) => t + x.invoices, 0), subscribers: null, amountMinor: r.totalMinor };
    this.say(this.chalk.bold(`Aging as of ${r.asOf}`));
    this.table<Bucket>(
      r.rows,
      [
        { header: 'DAYS PAST DUE', key: 'bucket', get: (x) => x.bucket },
        { header: 'INVOICES', get: (x) => x.invoices, align: 'right' },
        { header: 'SUBSCRIBERS', get: (x) => x.subscribers ?? '', align: 'right' },
        moneyColumn('AMOUNT', (x) => x.amountMinor, cur),
      ],
      { footer: [total], secondary: Boolean(r.subscribers) },
    );
    if (r.unappliedCreditMinor > 0n) this.say(this.chalk.dim(`Credit on account not yet applied: ${money(r.unappliedCreditMinor)}`));
    if (r.subscribers) {
      type Owing = (typeof r.subscribers)[number];
      this.say('');
      this.table<Owing>(r.subscribers, [
        { header: 'ACCOUNT', key: 'account_no', get: (s) => s.accountNo },
        { header: 'NAME', get: (s) => s.name },
        ...AGING_BUCKETS.map((b) => moneyColumn<Owing>(b.toUpperCase(), (s) => s.buckets[b], cur, { key: b, blankZero: true })),
        moneyColumn('TOTAL', (s) => s.totalMinor, cur),
        { header: 'OLDEST DUE', get: (s) => s.oldestDueDate },
      ]);
    }
    return r;
  }
}
