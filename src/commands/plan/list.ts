import { Flags } from '@oclif/core';
import { BaseCommand } from '../../cli/base-command.js';
import { listFlags } from '../../cli/table.js';
import { moneyColumn } from '../../cli/format.js';
import { listPlans } from '../../core/plans/service.js';

export default class PlanList extends BaseCommand<typeof PlanList> {
  protected override readsOnly = true;
  static override summary = 'List plans with price, speeds and number of subscribers.';
  static override examples = ['<%= config.bin %> plan list', '<%= config.bin %> plan list --all --json'];
  static override flags = { all: Flags.boolean({ summary: 'Include archived plans.' }), ...listFlags };

  public async run() {
    const ctx = await this.ctx();
    const plans = await listPlans(ctx.db, { includeArchived: this.flags.all });
    this.table(plans, [
      { header: 'NAME', get: (p) => (p.archivedAt ? this.chalk.dim(`${p.name} (archived)`) : p.name) },
      moneyColumn('PRICE', (p) => p.priceMinor, (p) => p.currency),
      { header: 'DOWNLOAD', get: (p) => p.download, sortBy: (p) => p.downloadKbps, align: 'right' },
      { header: 'UPLOAD', get: (p) => p.upload, sortBy: (p) => p.uploadKbps, align: 'right' },
      { header: 'BILLING', get: (p) => p.billingType },
      { header: 'BURST', get: (p) => (p.burst ? 'yes' : ''), optional: true },
      { header: 'SERVICES', get: (p) => p.serviceCount, align: 'right' },
      { header: 'RATE LIMIT', get: (p) => this.chalk.dim(p.rateLimit), optional: true },
    ]);
    return plans;
  }
}
