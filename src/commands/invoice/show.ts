import { Args } from '@oclif/core';
import { BaseCommand } from '../../cli/base-command.js';
import { showInvoice, type InvoiceLine } from '../../core/billing/invoices.js';
import { loadBillingSettings } from '../../core/billing/settings.js';
import { formatMoney } from '../../core/money.js';
import { formatLocalDate, toLocalDate } from '../../core/time.js';

export default class InvoiceShow extends BaseCommand<typeof InvoiceShow> {
  protected override readsOnly = true;
  static override summary = 'Print an invoice: who, which period, each service with its price and discount, total, paid, balance, due date.';
  static override examples = ['<%= config.bin %> invoice show INV-2026-000123', '<%= config.bin %> invoice show INV-2026-000123 --json'];
  static override args = { number: Args.string({ required: true, description: 'Invoice number, e.g. INV-2026-000123.' }) };

  public async run() {
    const ctx = await this.ctx();
    const inv = await showInvoice(ctx, this.args.number);
    const settings = await loadBillingSettings(ctx.db);
    const c = inv.currency;
    const money = (m: bigint) => formatMoney(m, c);
    const date = (d: Date) => formatLocalDate(toLocalDate(d, settings.timezone));
    const b = this.chalk.bold;
    this.say(b(inv.ispName));
    this.say(`${b(`INVOICE ${inv.number}`)}   ${inv.status === 'void' ? this.chalk.red(`VOID (${inv.voidReason ?? ''})`) : inv.status.replace('_', ' ')}`);
    this.say('');
    const s = inv.subscriber;
    this.details([
      ['bill to', `${s.fullName} (${s.accountNo})`],
      ...(s.address ? [['address', s.address] as [string, unknown]] : []),
      ...(s.email || s.phone ? [['contact', [s.email, s.phone].filter(Boolean).join(', ')] as [string, unknown]] : []),
      ['period', `${inv.periodStart} to ${inv.periodEnd} (${inv.periodKey})`],
      ['delivered', inv.sentAt ? date(inv.sentAt) : inv.status === 'void' ? '-' : `not yet (ispctl invoice send ${inv.number})`],
      ['issued', inv.issueDate],
      ['due', inv.dueDate],
    ]);
    this.say('');
    const rows = inv.lines.flatMap((l) => [l, ...(l.segments ?? []).map((seg) => ({ segment: seg, line: l }))]);
    // AMOUNT and DISCOUNT only say something when a line has a discount; without one they would
    // repeat TOTAL and take the width the description needs.
    const discounted = inv.lines.some((l) => l.discountMinor > 0n);
    this.table(rows, [
      { header: 'SERVICE', get: (r) => ('segment' in r ? '' : (r.username ?? 'one-off') + (r.voided ? ' (voided)' : '')) },
      {
        header: 'DESCRIPTION',
        get: (r) => ('segment' in r ? this.chalk.dim(`  ${r.segment.planName}: ${r.segment.from} to ${r.segment.to}, ${r.segment.days} days at ${money(r.segment.unitPriceMinor)}`) : r.description),
      },
      { header: 'PRICE', get: (r) => ('segment' in r ? '' : money(r.unitPriceMinor)), align: 'right' },
      ...(discounted
        ? [
            { header: 'AMOUNT', get: (r: (typeof rows)[number]) => ('segment' in r ? this.chalk.dim(money(r.segment.amountMinor)) : money(r.amountMinor)), align: 'right' as const },
            { header: 'DISCOUNT', get: (r: (typeof rows)[number]) => ('segment' in r ? '' : this.discount(r, money)), align: 'right' as const },
          ]
        : []),
      { header: 'TOTAL', get: (r) => ('segment' in r ? (discounted ? '' : this.chalk.dim(money(r.segment.amountMinor))) : money(r.totalMinor)), align: 'right' },
    ]);
    this.say('');
    const totals: Array<[string, unknown]> = [['subtotal', money(inv.subtotalMinor)]];
    if (inv.discountMinor > 0n) totals.push(['discount', `-${money(inv.discountMinor)}`]);
    totals.push(['total', b(money(inv.totalMinor))], ['paid', money(inv.paidMinor)], ['balance', b(money(inv.balanceMinor))]);
    this.details(totals);
    const active = inv.payments.filter((p) => !p.reversedAt);
    if (inv.payments.length) {
      this.say('');
      this.say('Payments:');
      for (const p of inv.payments) {
        const line = `  ${date(p.receivedAt)}  P-${p.paymentId}  ${p.method}${p.reference ? ` ${p.reference}` : ''}  ${money(p.amountMinor)}`;
        this.say(p.reversedAt ? this.chalk.dim(`${line} (reversed ${date(p.reversedAt)})`) : line);
      }
    }
    if (inv.status !== 'void' && inv.balanceMinor > 0n && active.length === 0) this.say(this.chalk.dim(`\nPay by ${inv.dueDate}, quoting ${inv.number}.`));
    return inv;
  }

  private discount(l: InvoiceLine, money: (m: bigint) => string): string {
    if (!l.discountKind || l.discountValue === null) return '';
    const what = l.discountKind === 'percent' ? `${(Number(l.discountValue) / 100).toFixed(2).replace(/\.?0+$/, '')}%` : 'fixed';
    return `-${money(l.discountMinor)} (${what})`;
  }
}
