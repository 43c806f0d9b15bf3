import { Flags } from '@oclif/core';
import { BaseCommand } from '../../cli/base-command.js';
import { moneyColumn } from '../../cli/format.js';
import { listFlags } from '../../cli/table.js';
import { formatMoney, toDecimalString } from '../../core/money.js';
import { monthArg, revenueReport } from '../../core/reports/service.js';

export default class ReportRevenue extends BaseCommand<typeof ReportRevenue> {
  static override summary = 'Revenue by month and plan: billed, credits, collected, subscribers billed, ARPU, churned services; and how many services are suspended now.';
  static override examples = ['<%= config.bin %> report revenue', '<%= config.bin %> report revenue --from 2026-01 --to 2026-12 --json', '<%= config.bin %> report revenue --by-plan --csv'];
  static override flags = {
    from: Flags.string({ summary: 'First month, YYYY-MM (default: 11 months before --to).' }),
    to: Flags.string({ summary: 'Last month, YYYY-MM (default this month).' }),
    'by-plan': Flags.boolean({ summary: 'The list is one row per month and plan (what --csv, --columns and --sort apply to).' }),
    ...listFlags,
  };

  /** --from and --to read before the database is opened or migrated. */
  protected override async checkInput(): Promise<void> {
    monthArg(this.flags.from, '--from');
    monthArg(this.flags.to, '--to');
  }

  public async run() {
    const ctx = await this.ctx();
    const r = await revenueReport(ctx.db, { from: this.flags.from, to: this.flags.to, now: ctx.clock.now() });
    const money = (m: bigint) => formatMoney(m, r.currency);
    const dec = (m: bigint) => toDecimalString(m, r.currency);
    this.say(this.chalk.bold(`Revenue ${r.from} to ${r.to}`));
    const cur = r.currency;
    type Month = (typeof r.months)[number];
    type ByPlan = (typeof r.byPlan)[number];
    const byPlan = Boolean(this.flags['by-plan']);
    this.table<Month>(
      r.months,
      [
        { header: 'MONTH', get: (m) => m.month },
        moneyColumn('BILLED', (m) => m.billedMinor, cur),
        { ...moneyColumn<Month>('CREDITS', (m) => m.creditsMinor, cur, { negative: true, blankZero: true, optional: true }), raw: (m) => toDecimalString(m.creditsMinor, cur) },
        moneyColumn('NET', (m) => m.netMinor, cur),
        moneyColumn('COLLECTED', (m) => m.collectedMinor, cur),
        { header: 'SUBSCRIBERS', get: (m) => m.subscribers, align: 'right' },
        moneyColumn('ARPU', (m) => m.arpuMinor, cur),
        { header: 'CHURNED', get: (m) => m.churned, align: 'right', optional: true },
      ],
      { secondary: byPlan },
    );
    if (r.byPlan.length || byPlan) {
      this.say('');
      this.table<ByPlan>(
        r.byPlan,
        [
          { header: 'MONTH', get: (p) => p.month },
          { header: 'PLAN', get: (p) => p.plan },
          { header: 'SERVICES', get: (p) => p.services, align: 'right' },
          moneyColumn('BILLED', (p) => p.billedMinor, cur),
        ],
        { secondary: !byPlan },
      );
    }
    this.say('');
    this.details([
      ['services active', r.services.active],
      ['suspended (non-payment)', r.services.suspended],
      ['uncollectible', r.services.uncollectible],
      ['admin-suspended', r.services.adminSuspended],
    ]);
    return r;
  }
}
