import { Args, Flags } from '@oclif/core';
import { errors } from '../../core/error-catalogue.js';
import { confirm } from '@inquirer/prompts';
import { BaseCommand } from '../../cli/base-command.js';
import { removeSubscriber } from '../../core/subscribers/service.js';

export default class SubscriberRemove extends BaseCommand<typeof SubscriberRemove> {
  static override summary = 'Remove a subscriber: their services end today and are blocked; the record stays for invoices and history.';
  static override description = '--purge deletes the subscriber and their services outright, for mistakes; the database refuses it once invoices or payments refer to them.';
  static override examples = ['<%= config.bin %> subscriber remove S-000123 --yes', '<%= config.bin %> subscriber remove typo.user --purge --yes'];
  static override ask = { ref: 'subscriber' as const };
  static override args = { ref: Args.string({ required: true, description: 'Account number (S-000123) or PPPoE username.' }) };
  static override flags = {
    purge: Flags.boolean({ summary: 'Delete the records instead of ending the service.' }),
    yes: Flags.boolean({ char: 'y', summary: 'Do not ask for confirmation.' }),
  };

  public async run() {
    const ctx = await this.ctx();
    if (!this.flags.yes) {
      if (!this.canPrompt()) throw errors.confirmationRequired(`Removing subscriber ${this.args.ref}`);
      const what = this.flags.purge ? 'Delete subscriber' : 'End the service of subscriber';
      if (!(await confirm({ message: `${what} ${this.args.ref}? They lose access.`, default: false }))) {
        this.say('Nothing changed.');
        return { removed: false };
      }
    }
    const result = await removeSubscriber(ctx, this.args.ref, { purge: this.flags.purge });
    const s = result.subscriber;
    this.say(result.purged ? `Deleted ${s.accountNo} ${s.fullName} and their services.` : `Ended ${result.endedServiceIds.length} service${result.endedServiceIds.length === 1 ? '' : 's'} of ${s.accountNo} ${s.fullName}; access is blocked.`);
    const routerJobs = await this.applyNow(result.jobIds);
    return { removed: true, ...result, ...(routerJobs.status === 'none' ? {} : { routerJobs }) };
  }
}
