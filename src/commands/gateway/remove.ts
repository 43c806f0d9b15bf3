import { Args } from '@oclif/core';
import { BaseCommand } from '../../cli/base-command.js';
import { removeGateway } from '../../core/intake/gateways.js';

export default class GatewayRemove extends BaseCommand<typeof GatewayRemove> {
  static override summary = 'Remove a payment gateway: its notifications are refused from then on (payments it recorded stay).';
  static override args = { name: Args.string({ required: true, description: 'Gateway name.' }) };

  public async run() {
    const ctx = await this.ctx();
    await removeGateway(ctx, this.args.name);
    this.say(`Gateway ${this.args.name} removed.`);
    return { removed: this.args.name };
  }
}
