import { Flags } from '@oclif/core';
import { BaseCommand } from '../../cli/base-command.js';
import { listFlags } from '../../cli/table.js';
import { moneyColumn } from '../../cli/format.js';
import { INVOICE_STATUSES, listInvoices, type InvoiceStatus } from '../../core/billing/invoices.js';
import { loadBillingSettings } from '../../core/billing/settings.js';
import { resolveSubscriberRef } from '../../core/billing/subscribers.js';
import { checkPeriodKey, formatLocalDate, toLocalDate } from '../../core/time.js';

export default class InvoiceList extends BaseCommand<typeof InvoiceList> {
  protected override readsOnly = true;
  static override summary = 'List invoices, newest first: number, subscriber, period, due date, total, paid, balance, status.';
  static override examples = [
    '<%= config.bin %> invoice list --period 2026-11',
    '<%= config.bin %> invoice list --subscriber S-000123',
    '<%= config.bin %> invoice list --overdue --json',
  ];
  static override flags = {
    subscriber: Flags.string({ summary: 'Only this subscriber (account number or username).' }),
    status: Flags.string({ summary: 'Only invoices in this status; repeat for more.', options: [...INVOICE_STATUSES], multiple: true }),
    period: Flags.string({ summary: 'Only this billing period, YYYY-MM.' }),
    overdue: Flags.boolean({ summary: 'Only invoices past their due date and not fully paid.' }),
    limit: Flags.integer({ summary: 'At most this many.', default: 100, min: 1, max: 100_000 }),
    ...listFlags,
  };

  /** --period read before the database is opened or migrated. */
  protected override async checkInput(): Promise<void> {
    if (this.flags.period) checkPeriodKey(this.flags.period);
  }

  public async run() {
    const ctx = await this.ctx();
    const f = this.flags;
    const settings = await loadBillingSettings(ctx.db);
    const subscriberId = f.subscriber ? (await resolveSubscriberRef(ctx.db, f.subscriber)).id : undefined;
    const today = formatLocalDate(toLocalDate(ctx.clock.now(), settings.timezone));
    const invoices = await listInvoices(ctx.db, {
      today,
      subscriberId,
      statuses: f.status as InvoiceStatus[] | undefined,
      periodKey: f.period?.trim(),
      overdue: f.overdue,
      limit: f.limit,
    });
    this.table(invoices, [
      { header: 'NUMBER', get: (i) => i.number, shrink: false },
      { header: 'ACCOUNT', get: (i) => i.accountNo },
      { header: 'NAME', get: (i) => i.subscriberName },
      { header: 'PERIOD', get: (i) => i.periodKey, optional: true },
      { header: 'ISSUED', get: (i) => i.issueDate, optional: true },
      { header: 'DUE', get: (i) => i.dueDate },
      moneyColumn('TOTAL', (i) => i.totalMinor, (i) => i.currency),
      moneyColumn('PAID', (i) => i.paidMinor, (i) => i.currency, { optional: true }),
      moneyColumn('BALANCE', (i) => i.balanceMinor, (i) => i.currency),
      { header: 'STATUS', get: (i) => this.status(i.status) },
    ]);
    return invoices;
  }

  private status(s: string): string {
    if (s === 'paid') return this.chalk.green(s);
    if (s === 'overdue') return this.chalk.red(s);
    if (s === 'partially_paid') return this.chalk.yellow(s);
    if (s === 'void') return this.chalk.dim(s);
    return s;
  }
}
