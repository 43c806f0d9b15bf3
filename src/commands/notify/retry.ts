import { Flags } from '@oclif/core';
import { BaseCommand } from '../../cli/base-command.js';
import { retryNotifications } from '../../core/notify/outbox.js';

export default class NotifyRetry extends BaseCommand<typeof NotifyRetry> {
  static override summary = 'Put failed messages back in the outbox, due now (all of them, or the ids given).';
  static override examples = ['<%= config.bin %> notify retry', '<%= config.bin %> notify retry --id 42 --id 43'];
  static override flags = {
    id: Flags.integer({ summary: 'Only this message id (see notify list); repeatable.', multiple: true, min: 1 }),
  };

  public async run() {
    const ctx = await this.ctx();
    const n = await retryNotifications(ctx, { ids: this.flags.id });
    this.say(n ? `${n} message(s) queued again; ispctl notify send delivers them.` : 'No failed messages to retry.');
    return { requeued: n };
  }
}
