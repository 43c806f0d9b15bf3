import { Flags } from '@oclif/core';
import { BaseCommand } from '../../cli/base-command.js';
import { sendTestMessage } from '../../core/notify/outbox.js';
import { TEMPLATE_NAMES, type TemplateName } from '../../core/notify/templates.js';

export default class NotifyTest extends BaseCommand<typeof NotifyTest> {
  static override summary = 'Send one message now to check the email or SMS set-up (outside the outbox).';
  static override description = 'An address with @ is email; digits (optionally with a leading +) are SMS. --template renders that message with sample data instead of a short test text.';
  static override examples = [
    '<%= config.bin %> notify test --to you@example.net',
    '<%= config.bin %> notify test --to +639171234567 --template reminder',
  ];
  static override flags = {
    to: Flags.string({ required: true, summary: 'Email address or mobile number.' }),
    channel: Flags.string({ summary: 'Channel (default: from the address).', options: ['email', 'sms'] }),
    template: Flags.string({ summary: 'Render this message with sample data.', options: [...TEMPLATE_NAMES] }),
  };

  public async run() {
    const ctx = await this.ctx();
    const r = await sendTestMessage(ctx, { to: this.flags.to, channel: this.flags.channel as 'email' | 'sms' | undefined, template: this.flags.template as TemplateName | undefined });
    this.say(`Sent a test ${r.channel === 'email' ? 'email' : 'SMS'} to ${r.to} via ${r.via}.`);
    if (this.flags.verbose) this.say(`${r.subject ? `Subject: ${r.subject}\n\n` : ''}${r.body}`);
    return r;
  }
}
