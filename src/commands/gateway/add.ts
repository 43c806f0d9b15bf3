import { Args, Flags } from '@oclif/core';
import { BaseCommand } from '../../cli/base-command.js';
import { addGateway } from '../../core/intake/gateways.js';

export default class GatewayAdd extends BaseCommand<typeof GatewayAdd> {
  static override summary = 'Set up a payment gateway that notifies ispctl of payments at /webhooks/NAME (the daemon serves it when intake-listen is set).';
  static override description =
    'kind paymongo reads PayMongo payment.paid events signed with Paymongo-Signature; kind generic reads ispctl\'s own signed JSON (see docs/payments-intake.md). ' +
    'The signing secret is stored encrypted. Give PayMongo\'s webhook secret_key through the environment variable ISPCTL_GATEWAY_SECRET (never on the command line); without it a secret is generated and printed once.';
  static override examples = [
    'ISPCTL_GATEWAY_SECRET=whsk_... <%= config.bin %> gateway add paymongo --kind paymongo --method gcash',
    '<%= config.bin %> gateway add shop --kind generic',
  ];
  static override args = { name: Args.string({ required: true, description: 'Name, also the webhook path: /webhooks/NAME.' }) };
  static override flags = {
    kind: Flags.string({ required: true, summary: 'Notification format.', options: ['paymongo', 'generic'] }),
    method: Flags.string({ summary: 'Payment method recorded when a notification does not say.', options: ['gcash', 'card', 'bank', 'cash', 'other'] }),
  };

  public async run() {
    const ctx = await this.ctx();
    const r = await addGateway(ctx, { name: this.args.name, kind: this.flags.kind, method: this.flags.method, secret: this.env.ISPCTL_GATEWAY_SECRET });
    this.say(`Gateway ${r.gateway.name} (${r.gateway.kind}) set up: notifications go to POST <public-url>/webhooks/${r.gateway.name}.`);
    if (r.secret) {
      this.say('Signing secret (shown once; give it to the sender, ispctl keeps it encrypted):');
      this.essential(r.secret);
    }
    return { gateway: r.gateway, ...(r.secret ? { secret: r.secret } : {}) };
  }
}
