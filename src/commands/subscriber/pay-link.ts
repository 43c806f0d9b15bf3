import { Args } from '@oclif/core';
import { BaseCommand } from '../../cli/base-command.js';
import { formatTime } from '../../cli/format.js';
import { resolveSubscriberRef } from '../../core/billing/subscribers.js';
import { requirePaymentLink } from '../../core/intake/links.js';

export default class SubscriberPayLink extends BaseCommand<typeof SubscriberPayLink> {
  static override summary = "Print the subscriber's personal payment page link: signed, valid for payment-link-days.";
  static override examples = ['<%= config.bin %> subscriber pay-link S-000123'];
  static override args = { subscriber: Args.string({ required: true, description: 'Account number or PPPoE username.' }) };

  public async run() {
    const ctx = await this.ctx();
    const { timezone: tz } = await this.formats();
    const sub = await resolveSubscriberRef(ctx.db, this.args.subscriber);
    const link = await requirePaymentLink(ctx, sub.accountNo);
    this.essential(link.url);
    this.say(this.chalk.dim(`Valid until ${formatTime(link.expiresAt, tz)}.`));
    return { subscriber: sub.accountNo, url: link.url, expiresAt: link.expiresAt };
  }
}
