import { Flags } from '@oclif/core';
import { BaseCommand } from '../../cli/base-command.js';
import { sendNotifications } from '../../core/notify/outbox.js';

export default class NotifySend extends BaseCommand<typeof NotifySend> {
  static override summary = 'Deliver due messages from the outbox by email (SMTP) and SMS (HTTP gateway).';
  static override description =
    'Failed deliveries go back to the outbox and are retried later with growing delays (1 minute up to 6 hours); after notify-max-attempts ' +
    'attempts a message is marked failed (ispctl notify retry puts it back). Several senders can run at once: each message is taken by one. ' +
    'Each gateway gets at most notify-email-connections / notify-sms-concurrency messages at once and no more than notify-email-rate / ' +
    'notify-sms-rate; an SMS gateway answering 429 is left alone for as long as its Retry-After asks. ' +
    'Exits 3 when some messages could not be delivered this time.';
  static override examples = ['<%= config.bin %> notify send', '<%= config.bin %> notify send --limit 100 --json'];
  static override flags = {
    limit: Flags.integer({ summary: 'At most this many messages in this run (default: every due one).', min: 1 }),
  };

  public async run() {
    const ctx = await this.ctx();
    const r = await sendNotifications(ctx, { limit: this.flags.limit });
    if (r.claimed === 0) this.say('Nothing to send.');
    else this.say(`${r.sent} sent${r.retrying ? `, ${r.retrying} to retry later` : ''}${r.failed ? `, ${r.failed} failed for good` : ''}${r.deferred ? `, ${r.deferred} put off (the gateway asked to wait)` : ''}.`);
    if (r.givenUp) this.say(`${r.givenUp} suspension notice(s) given up: not delivered within notify-suspension-hold-minutes, so their suspensions went ahead.`);
    if (r.cancelled) this.say(`${r.cancelled} suspension notice(s) cancelled: the subscriber was no longer suspended when it was due.`);
    for (const e of r.errors.slice(0, 10)) this.note(this.chalk.dim(`  #${e.id} ${e.channel} to ${e.recipient}: ${e.error}`));
    if (r.errors.length) this.markPartial(`${r.errors.length} message(s) were not delivered (${r.retrying} will be retried).`);
    return r;
  }
}
