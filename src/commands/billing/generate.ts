import { Flags } from '@oclif/core';
import { BaseCommand } from '../../cli/base-command.js';
import { generateInvoices, type GenerateProgress } from '../../core/billing/generate.js';
import { resolveSubscriberRef } from '../../core/billing/subscribers.js';
import { formatMoney, toDecimalString } from '../../core/money.js';
import { checkPeriodKey } from '../../core/time.js';

const PHASES: Record<GenerateProgress['phase'], string> = {
  reading: 'Reading services',
  computing: 'Computing lines',
  invoices: 'Billing services',
  lines: 'Writing lines',
  totals: 'Totals',
  settling: 'Applying credit',
  done: 'Done',
};

export default class BillingGenerate extends BaseCommand<typeof BillingGenerate> {
  static override summary = 'Generate the invoices of a billing period: one per subscriber, one line per service. Safe to run again.';
  static override description =
    'Without --period, bills the period that contains today plus invoice-lead-days. Postpaid services are billed for that period ' +
    '(due after due-days); prepaid services for the next period (due at its start). Partial periods and plan changes are prorated by days. ' +
    'Running it twice, or twice at once, never bills a service twice for a period. It works through the subscribers in chunks, each its own transaction: ' +
    'a run stopped part way keeps the chunks it finished, and running it again bills the rest. See docs/billing.md.';
  static override examples = [
    '<%= config.bin %> billing generate',
    '<%= config.bin %> billing generate --period 2026-12 --dry-run',
    '<%= config.bin %> billing generate --subscriber S-000123 --json',
  ];
  static override flags = {
    period: Flags.string({ summary: 'Billing period YYYY-MM (the month it starts in).' }),
    subscriber: Flags.string({ summary: 'Only this subscriber (account number or username); repeat for more.', multiple: true }),
    'dry-run': Flags.boolean({ summary: 'Show what would be invoiced; write nothing.' }),
  };

  /** --period read before the database is opened or migrated. */
  protected override async checkInput(): Promise<void> {
    if (this.flags.period !== undefined) checkPeriodKey(this.flags.period);
  }

  public async run() {
    const ctx = await this.ctx();
    const f = this.flags;
    let subscriberIds: number[] | undefined;
    if (f.subscriber?.length) {
      subscriberIds = [];
      for (const ref of f.subscriber) subscriberIds.push((await resolveSubscriberRef(ctx.db, ref)).id);
    }
    const result = await this.withProgress((update) =>
      generateInvoices(ctx, { period: f.period, subscriberIds, dryRun: f['dry-run'], onProgress: (p) => update({ phase: PHASES[p.phase], done: p.done, total: p.total }) }),
    );
    const money = (m: bigint) => formatMoney(m, result.currency);
    const r = result;
    const head = r.dryRun ? 'Dry run, nothing written.' : 'Billing done.';
    this.say(`${head} Period ${r.period.key} (${r.period.start} to ${r.period.end}); prepaid services billed for ${r.prepaidPeriod.key}; issue date ${r.issueDate}.`);
    const verb = r.dryRun ? 'would be created' : 'created';
    this.say(
      `  ${r.invoices} invoice${r.invoices === 1 ? '' : 's'} ${verb}${r.firstNumber ? ` (${r.firstNumber}${r.lastNumber !== r.firstNumber ? ` to ${r.lastNumber}` : ''})` : ''}` +
        `${r.invoicesExtended ? `, ${r.invoicesExtended} existing invoice${r.invoicesExtended === 1 ? '' : 's'} extended` : ''}`,
    );
    this.say(`  ${r.lines} line${r.lines === 1 ? '' : 's'}, total ${money(r.totalMinor)}${r.creditAppliedMinor > 0n ? `, of which ${money(r.creditAppliedMinor)} paid from credit` : ''}`);
    if (r.alreadyInvoiced) this.say(`  ${r.alreadyInvoiced} service-period${r.alreadyInvoiced === 1 ? ' was' : 's were'} invoiced already`);
    if (r.skipped.length) {
      const by = new Map<string, string[]>();
      for (const s of r.skipped) by.set(s.reason, [...(by.get(s.reason) ?? []), s.username]);
      const why: Record<string, string> = { blocked: 'blocked for the whole period', currency_mismatch: 'plan in another currency', no_days: 'no day of service in the period' };
      for (const [reason, names] of by) {
        this.say(`  ${names.length} skipped, ${why[reason] ?? reason}: ${names.slice(0, 10).join(', ')}${names.length > 10 ? ', …' : ''}`);
      }
    }
    if (this.flags.quiet) this.essential(`${r.invoices} ${toDecimalString(r.totalMinor, r.currency)}`);
    await this.applyNow(r.jobIds);
    return r;
  }
}
