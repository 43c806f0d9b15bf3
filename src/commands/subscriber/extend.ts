import { Args, Flags } from '@oclif/core';
import { BaseCommand } from '../../cli/base-command.js';
import { extendSubscriber } from '../../core/collections/controls.js';
import { parseLocalDate } from '../../core/time.js';

export default class SubscriberExtend extends BaseCommand<typeof SubscriberExtend> {
  static override summary = 'Promise to pay: collections does not suspend the subscriber until a date, and restores them now if billing-suspended.';
  static override description =
    'The date is a calendar date in the ISP\'s time zone; the extension holds through that day. Reminders and warnings still go out. ' +
    'A subscriber suspended by an administrator stays blocked (only ispctl subscriber resume lifts that). Running it again replaces the date.';
  static override examples = ['<%= config.bin %> subscriber extend S-000123 --until 2026-12-10 --reason "pays on payday"', '<%= config.bin %> subscriber extend juan.dc --until 2026-12-15 --json'];
  static override ask = { ref: 'subscriber' as const };
  static override args = { ref: Args.string({ required: true, description: 'Account number (S-000123) or PPPoE username.' }) };
  static override flags = {
    until: Flags.string({ required: true, summary: 'Last day of the extension, YYYY-MM-DD (ISP time zone).' }),
    reason: Flags.string({ summary: 'Why; recorded with the extension and in the audit log.' }),
  };

  /** --until read before the database is opened or migrated. */
  protected override async checkInput(): Promise<void> {
    parseLocalDate(this.flags.until, '--until');
  }

  public async run() {
    const ctx = await this.ctx();
    const r = await extendSubscriber(ctx, this.args.ref, { until: this.flags.until, reason: this.flags.reason });
    this.say(`${r.accountNo} ${r.fullName}: not suspended by collections until ${r.until}${r.reason ? ` (${r.reason})` : ''}${r.before ? `; was until ${r.before.until}` : ''}.`);
    if (r.restored) this.say('Billing suspension lifted: access restored.');
    const routerJobs = await this.applyNow(r.jobIds);
    return routerJobs.status === 'none' ? r : { ...r, routerJobs };
  }
}
