import { Args, Flags } from '@oclif/core';
import { BaseCommand } from '../../cli/base-command.js';
import { suspendSubscriber } from '../../core/subscribers/service.js';

export default class SubscriberSuspend extends BaseCommand<typeof SubscriberSuspend> {
  static override summary = 'Suspend a subscriber by administrative decision: blocked until resumed, whatever they pay.';
  static override description = 'Separate from suspension for non-payment: billing never lifts an admin suspension, only ispctl subscriber resume does.';
  static override examples = ['<%= config.bin %> subscriber suspend juan.dc --reason "abuse report 2026-11-20"'];
  static override args = { ref: Args.string({ required: true, description: 'Account number (all their services) or PPPoE username (that service).' }) };
  static override flags = { reason: Flags.string({ required: true, summary: 'Why; recorded with the suspension and in the audit log.' }) };

  public async run() {
    const ctx = await this.ctx();
    const result = await suspendSubscriber(ctx, this.args.ref, { reason: this.flags.reason });
    this.say(`Suspended ${result.services.map((s) => s.username).join(', ')} (${result.subscriber.accountNo} ${result.subscriber.fullName}): ${this.flags.reason}`);
    const routerJobs = await this.applyNow(result.jobIds);
    return routerJobs.status === 'none' ? result : { ...result, routerJobs };
  }
}
