import { Flags } from '@oclif/core';
import { BaseCommand } from '../../cli/base-command.js';
import { listFlags } from '../../cli/table.js';
import { moneyColumn, timeColumn } from '../../cli/format.js';
import { loadBillingSettings } from '../../core/billing/settings.js';
import { resolveSubscriberRef } from '../../core/billing/subscribers.js';
import { listPayments, parseMethod, PAYMENT_METHODS } from '../../core/payments/service.js';
import { parseDateTime } from '../../core/time.js';

export default class PaymentList extends BaseCommand<typeof PaymentList> {
  protected override readsOnly = true;
  static override summary = 'List payments, newest first: when, who, method, reference, amount and what is left as credit.';
  static override examples = ['<%= config.bin %> payment list --since 2026-11-01', '<%= config.bin %> payment list --subscriber S-000123 --json'];
  static override flags = {
    subscriber: Flags.string({ summary: 'Only this subscriber (account number or username).' }),
    since: Flags.string({ summary: 'Received on or after this day (YYYY-MM-DD) or time (YYYY-MM-DD HH:MM), on the ISP\'s clock, or a timestamp with an offset.' }),
    method: Flags.string({ summary: 'Only this method.', options: [...PAYMENT_METHODS] }),
    limit: Flags.integer({ summary: 'At most this many.', default: 100, min: 1, max: 100_000 }),
    ...listFlags,
  };

  /** --since read before the database is opened or migrated. */
  protected override async checkInput(): Promise<void> {
    if (this.flags.since) parseDateTime(this.flags.since, (await this.inputFormats()).timezone, '--since');
  }

  public async run() {
    const ctx = await this.ctx();
    const f = this.flags;
    const settings = await loadBillingSettings(ctx.db);
    const subscriberId = f.subscriber ? (await resolveSubscriberRef(ctx.db, f.subscriber)).id : undefined;
    const since = f.since ? parseDateTime(f.since, settings.timezone, '--since').at : undefined;
    const payments = await listPayments(ctx.db, { subscriberId, since, method: f.method ? parseMethod(f.method) : undefined, limit: f.limit });
    this.table(payments, [
      { header: 'ID', get: (p) => p.ref },
      timeColumn('RECEIVED', (p) => p.receivedAt, settings.timezone, { dateOnly: true }),
      { header: 'ACCOUNT', get: (p) => p.accountNo },
      { header: 'NAME', get: (p) => p.subscriberName },
      { header: 'METHOD', get: (p) => p.method },
      { header: 'REFERENCE', get: (p) => p.reference ?? '', shrink: true },
      moneyColumn('AMOUNT', (p) => p.amountMinor, (p) => p.currency),
      moneyColumn('CREDIT LEFT', (p) => (p.unallocatedMinor > 0n ? p.unallocatedMinor : null), (p) => p.currency, { optional: true }),
      { header: 'STATUS', get: (p) => (p.voidedAt ? this.chalk.dim('void') : '') },
    ]);
    return payments;
  }
}
