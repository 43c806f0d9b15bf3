import { Flags } from '@oclif/core';
import { BaseCommand } from '../../cli/base-command.js';
import { formatMoney, toDecimalString } from '../../core/money.js';
import { revenueReport, toCsv } from '../../core/reports/service.js';

export default class ReportRevenue extends BaseCommand<typeof ReportRevenue> {
  static override summary = 'Revenue by month and plan: billed, credits, collected, subscribers billed, ARPU, churned services; and how many services are suspended now.';
  static override examples = ['<%= config.bin %> report revenue', '<%= config.bin %> report revenue --from 2026-01 --to 2026-12 --json', '<%= config.bin %> report revenue --by-plan --csv'];
  static override flags = {
    from: Flags.string({ summary: 'First month, YYYY-MM (default: 11 months before --to).' }),
    to: Flags.string({ summary: 'Last month, YYYY-MM (default this month).' }),
    'by-plan': Flags.boolean({ summary: 'With --csv: one row per month and plan instead of per month.' }),
    csv: Flags.boolean({ summary: 'Print CSV (amounts as decimals) instead of a table.', exclusive: ['json'] }),
  };

  public async run() {
    const ctx = await this.ctx();
    const r = await revenueReport(ctx.db, { from: this.flags.from, to: this.flags.to, now: ctx.clock.now() });
    const money = (m: bigint) => formatMoney(m, r.currency);
    const dec = (m: bigint) => toDecimalString(m, r.currency);
    if (this.flags.csv) {
      if (this.flags['by-plan']) process.stdout.write(toCsv(['month', 'plan', 'services', 'billed'], r.byPlan.map((p) => [p.month, p.plan, p.services, dec(p.billedMinor)])));
      else process.stdout.write(toCsv(['month', 'billed', 'credits', 'net', 'collected', 'subscribers', 'arpu', 'churned'], r.months.map((m) => [m.month, dec(m.billedMinor), dec(m.creditsMinor), dec(m.netMinor), dec(m.collectedMinor), m.subscribers, dec(m.arpuMinor), m.churned])));
      return r;
    }
    this.say(this.chalk.bold(`Revenue ${r.from} to ${r.to}`));
    this.table(r.months, [
      { header: 'MONTH', get: (m) => m.month },
      { header: 'BILLED', get: (m) => money(m.billedMinor), align: 'right' },
      { header: 'CREDITS', get: (m) => (m.creditsMinor ? `-${money(m.creditsMinor)}` : ''), align: 'right' },
      { header: 'NET', get: (m) => money(m.netMinor), align: 'right' },
      { header: 'COLLECTED', get: (m) => money(m.collectedMinor), align: 'right' },
      { header: 'SUBSCRIBERS', get: (m) => m.subscribers, align: 'right' },
      { header: 'ARPU', get: (m) => money(m.arpuMinor), align: 'right' },
      { header: 'CHURNED', get: (m) => m.churned, align: 'right' },
    ]);
    if (r.byPlan.length) {
      this.say('');
      this.table(r.byPlan, [
        { header: 'MONTH', get: (p) => p.month },
        { header: 'PLAN', get: (p) => p.plan },
        { header: 'SERVICES', get: (p) => p.services, align: 'right' },
        { header: 'BILLED', get: (p) => money(p.billedMinor), align: 'right' },
      ]);
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
