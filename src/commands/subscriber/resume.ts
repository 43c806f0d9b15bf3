import { Args } from '@oclif/core';
import { BaseCommand } from '../../cli/base-command.js';
import { resumeSubscriber } from '../../core/subscribers/service.js';

export default class SubscriberResume extends BaseCommand<typeof SubscriberResume> {
  static override summary = 'Lift an administrative suspension. Access then follows billing again.';
  static override examples = ['<%= config.bin %> subscriber resume juan.dc'];
  static override ask = { ref: 'subscriber' as const };
  static override args = { ref: Args.string({ required: true, description: 'Account number (all their services) or PPPoE username (that service).' }) };

  public async run() {
    const ctx = await this.ctx();
    const result = await resumeSubscriber(ctx, this.args.ref);
    this.say(`Resumed ${result.services.map((s) => s.username).join(', ')} (${result.subscriber.accountNo} ${result.subscriber.fullName}).`);
    const routerJobs = await this.applyNow(result.jobIds);
    return routerJobs.status === 'none' ? result : { ...result, routerJobs };
  }
}
