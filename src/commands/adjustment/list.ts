import { Flags } from '@oclif/core';
import { BaseCommand } from '../../cli/base-command.js';
import { listFlags } from '../../cli/table.js';
import { moneyColumn } from '../../cli/format.js';
import { listAdjustments, TYPE_LABELS, type AdjustmentStatus } from '../../core/adjustments/service.js';

export default class AdjustmentList extends BaseCommand<typeof AdjustmentList> {
  static override summary = 'List charges and credits, newest first.';
  static override examples = ['<%= config.bin %> adjustment list --subscriber S-000123', '<%= config.bin %> adjustment list --status pending --json'];
  static override flags = {
    subscriber: Flags.string({ summary: 'Only this subscriber (account number or username).' }),
    status: Flags.string({ summary: 'pending (charges waiting for the next invoice), invoiced, applied (credits) or void.', options: ['pending', 'invoiced', 'applied', 'void'] }),
    limit: Flags.integer({ summary: 'At most this many.', default: 100, min: 1, max: 10000 }),
    ...listFlags,
  };

  public async run() {
    const ctx = await this.ctx();
    const list = await listAdjustments(ctx.db, { subscriber: this.flags.subscriber, status: this.flags.status as AdjustmentStatus | undefined, limit: this.flags.limit });
    this.table(list, [
      { header: 'ID', get: (a) => a.ref },
      { header: 'ACCOUNT', get: (a) => a.accountNo },
      { header: 'TYPE', get: (a) => TYPE_LABELS[a.type] },
      moneyColumn('AMOUNT', (a) => (a.direction === 'credit' ? -a.amountMinor : a.amountMinor), (a) => a.currency),
      { header: 'STATUS', get: (a) => a.status + (a.invoiceNumber ? ` ${a.invoiceNumber}` : '') },
      { header: 'REASON', get: (a) => a.reason },
      { header: 'BY', get: (a) => a.createdBy },
    ]);
    return list;
  }
}
