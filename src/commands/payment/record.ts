import { Flags } from '@oclif/core';
import { BaseCommand } from '../../cli/base-command.js';
import { formatMoney } from '../../core/money.js';
import { checkPaymentInput, PAYMENT_METHODS, recordPayment, type RecordPaymentInput } from '../../core/payments/service.js';

export default class PaymentRecord extends BaseCommand<typeof PaymentRecord> {
  static override summary = 'Record money received: it pays the oldest open invoices first, the rest is credit; a suspended subscriber is reconnected at once.';
  static override description =
    'The same --method and --reference twice is refused as a duplicate (exit 5) and changes nothing, so a retried script or payment ' +
    'notification cannot pay twice. A method other than cash needs --reference or --idempotency-key (MISSING_REFERENCE, exit 2). ' +
    '--invoice names the subscriber through an invoice and pays that invoice first.';
  static override examples = [
    '<%= config.bin %> payment record --subscriber S-000123 --amount 1500 --method gcash --reference 7012345678901',
    '<%= config.bin %> payment record --invoice INV-2026-000123 --amount "₱750.00" --method cash --received-at 2026-11-20',
    '<%= config.bin %> payment record --subscriber S-000123 --amount 500 --method cash --received-at "2026-11-20 16:30"',
  ];
  static override flags = {
    subscriber: Flags.string({ summary: 'Who paid: account number or PPPoE username.' }),
    invoice: Flags.string({ summary: 'The invoice being paid (names the subscriber; paid first).' }),
    amount: Flags.string({ required: true, summary: 'Amount in the ISP currency, e.g. 1500, 1,500.00, ₱1,500.00.' }),
    method: Flags.string({ required: true, summary: 'How it was paid.', options: [...PAYMENT_METHODS] }),
    reference: Flags.string({ summary: 'Receipt, transaction or GCash reference; unique per method. Required for methods other than cash unless --idempotency-key is given.' }),
    'received-at': Flags.string({ summary: 'When the money came in (default now): 2026-12-01, 2026-12-01 09:00 on the ISP\'s clock (setting timezone), or with an offset, 2026-12-01T09:00:00+08:00.' }),
    notes: Flags.string({ summary: 'Free text.' }),
    'idempotency-key': Flags.string({ summary: 'A key unique to this payment (e.g. your script\'s row id): the same key again is refused as a duplicate (exit 5), so a retried script cannot pay twice.' }),
  };

  /** The payment's values, checked before the database is opened or migrated. */
  protected override async checkInput(): Promise<void> {
    checkPaymentInput(this.input(), await this.inputFormats(), this.now());
  }

  private input(): RecordPaymentInput {
    const f = this.flags;
    return {
      subscriber: f.subscriber,
      invoice: f.invoice,
      amount: f.amount,
      method: f.method,
      reference: f.reference,
      receivedAt: f['received-at'],
      notes: f.notes,
      idempotencyKey: f['idempotency-key'],
    };
  }

  public async run() {
    const ctx = await this.ctx();
    const f = this.flags;
    const r = await recordPayment(ctx, this.input());
    const p = r.payment;
    const money = (m: bigint) => formatMoney(m, p.currency);
    this.say(`Recorded ${p.ref}: ${money(p.amountMinor)} by ${p.method}${p.reference ? ` (reference ${p.reference})` : ''} from ${r.subscriber.accountNo} ${r.subscriber.fullName}.`);
    if (f['received-at'] !== undefined) this.say(`  Received ${r.received.local} (${r.received.timezone}).`);
    for (const a of r.allocations) this.say(`  ${a.number}  ${money(a.amountMinor)}  → ${a.status.replace('_', ' ')}${a.balanceMinor > 0n ? `, ${money(a.balanceMinor)} still due` : ''}`);
    if (r.creditMinor > 0n) this.say(`  ${money(r.creditMinor)} left as credit for the next invoices.`);
    this.say(`Balance: ${money(r.balance.owedMinor)} owed${r.balance.overdueMinor > 0n ? ` (${money(r.balance.overdueMinor)} overdue)` : ''}, ${money(r.balance.creditMinor)} credit.`);
    if (r.collections.restored.length) this.say('Access restored: nothing is past due any more.');
    this.essential(p.ref);
    await this.applyNow(r.collections.jobIds);
    return r;
  }
}
