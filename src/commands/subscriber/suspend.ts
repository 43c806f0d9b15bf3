import { Args, Flags } from '@oclif/core';
import { BaseCommand } from '../../cli/base-command.js';
import { yesFlag } from '../../cli/flags.js';
import { showSubscriber, suspendSubscriber } from '../../core/subscribers/service.js';

export default class SubscriberSuspend extends BaseCommand<typeof SubscriberSuspend> {
  static override summary = 'Suspend a subscriber by administrative decision: blocked until resumed, whatever they pay.';
  static override description = 'Separate from suspension for non-payment: billing never lifts an admin suspension, only ispctl subscriber resume does.';
  static override examples = ['<%= config.bin %> subscriber suspend juan.dc --reason "abuse report 2026-11-20"', '<%= config.bin %> subscriber suspend S-000123 --reason "fraud" --yes --json'];
  static override ask = { ref: 'subscriber' as const };
  static override args = { ref: Args.string({ required: true, description: 'Account number (all their services) or PPPoE username (that service).' }) };
  static override flags = { reason: Flags.string({ required: true, summary: 'Why; recorded with the suspension and in the audit log.' }), yes: yesFlag };

  public async run() {
    const ctx = await this.ctx();
    if (!this.flags.yes) {
      const { subscriber: who, services } = await showSubscriber(ctx, this.args.ref);
      const users = services.filter((s) => !s.endedOn && (!/^S-/i.test(this.args.ref) ? s.username.toLowerCase() === this.args.ref.toLowerCase() : true)).map((s) => s.username);
      await this.confirmOrAbort(
        `Suspend ${who.accountNo} ${who.fullName} (${users.join(', ')})? They are disconnected now and stay blocked until ispctl subscriber resume, whatever they pay.`,
        `Suspending ${who.accountNo} ${who.fullName} disconnects them.`,
      );
    }
    const result = await suspendSubscriber(ctx, this.args.ref, { reason: this.flags.reason });
    this.say(`Suspended ${result.services.map((s) => s.username).join(', ')} (${result.subscriber.accountNo} ${result.subscriber.fullName}): ${this.flags.reason}`);
    const routerJobs = await this.applyNow(result.jobIds);
    return routerJobs.status === 'none' ? result : { ...result, routerJobs };
  }
}
