import { Args, Flags } from '@oclif/core';
import { BaseCommand } from '../../cli/base-command.js';
import { listFlags } from '../../cli/table.js';
import { moneyColumn } from '../../cli/format.js';
import { subscriberStatement } from '../../core/ledger/statement.js';
import { loadBillingSettings } from '../../core/billing/settings.js';
import { resolveSubscriberRef } from '../../core/billing/subscribers.js';
import { formatMoney } from '../../core/money.js';
import { formatLocalDate, parseLocalDate } from '../../core/time.js';

const KIND: Record<string, string> = {
  invoice: 'invoice',
  invoice_void: 'invoice void',
  payment: 'payment',
  payment_void: 'payment void',
  allocation: 'applied',
  allocation_reversed: 'reversed',
};

export default class SubscriberStatement extends BaseCommand<typeof SubscriberStatement> {
  protected override readsOnly = true;
  static override summary = 'A subscriber\'s account history: invoices, payments, what paid what, voids, with a running balance.';
  static override description = 'The balance is what the subscriber owes (negative: credit). "applied" rows show which invoice a payment paid; they do not change the balance.';
  static override examples = ['<%= config.bin %> subscriber statement S-000123', '<%= config.bin %> subscriber statement juan.dc --since 2026-10-01 --json'];
  static override ask = { ref: 'subscriber' as const };
  static override args = { ref: Args.string({ required: true, description: 'Account number (S-000123) or PPPoE username.' }) };
  static override flags = { since: Flags.string({ summary: 'Start from this date (YYYY-MM-DD); earlier entries make the opening balance.' }), ...listFlags };

  /** --since read before the database is opened or migrated. */
  protected override async checkInput(): Promise<void> {
    if (this.flags.since) parseLocalDate(this.flags.since, 'since');
  }

  public async run() {
    const ctx = await this.ctx();
    const settings = await loadBillingSettings(ctx.db);
    const sub = await resolveSubscriberRef(ctx.db, this.args.ref);
    const since = this.flags.since ? formatLocalDate(parseLocalDate(this.flags.since, 'since')) : undefined;
    const st = await subscriberStatement(ctx.db, sub.id, { timezone: settings.timezone, since });
    const money = (m: bigint) => formatMoney(m, settings.currency);
    const signed = (m: bigint) => (m < 0n ? `${money(-m)} CR` : money(m));
    this.say(`${sub.accountNo} ${sub.fullName}`);
    if (since) this.say(`Opening balance on ${since}: ${signed(st.openingBalanceMinor)}`);
    type Entry = (typeof st.entries)[number];
    this.table<Entry>(st.entries, [
      { header: 'DATE', get: (e) => e.date },
      { header: 'ENTRY', get: (e) => (e.kind.startsWith('allocation') ? this.chalk.dim(KIND[e.kind]) : KIND[e.kind]) },
      { header: 'REF', get: (e) => e.reference },
      { header: 'DESCRIPTION', get: (e) => (e.amountMinor !== undefined ? this.chalk.dim(`${money(e.amountMinor)} ${e.description.charAt(0).toLowerCase()}${e.description.slice(1)}`) : e.description) },
      moneyColumn('CHARGED', (e) => e.debitMinor, settings.currency, { blankZero: true }),
      moneyColumn('PAID', (e) => e.creditMinor, settings.currency, { blankZero: true }),
      { ...moneyColumn<Entry>('BALANCE', (e) => (e.kind.startsWith('allocation') ? null : e.balanceMinor), settings.currency), get: (e) => (e.kind.startsWith('allocation') ? '' : signed(e.balanceMinor)) },
    ]);
    this.say(`Balance: ${signed(st.closingBalanceMinor)}`);
    return { subscriber: sub, currency: settings.currency, ...st };
  }
}
