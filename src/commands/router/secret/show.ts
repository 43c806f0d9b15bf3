import { Args, Flags } from '@oclif/core';
import { BaseCommand } from '../../../cli/base-command.js';
import { revealRouterSecret } from '../../../core/routers/service.js';

export default class RouterSecretShow extends BaseCommand<typeof RouterSecretShow> {
  static override summary = 'Print one of a router\'s secrets in clear, on purpose (the reveal is audited).';
  static override examples = ['<%= config.bin %> router secret show core1 --which radius', '<%= config.bin %> router secret show core1 --which api --json'];
  static override ask = { name: 'router' as const };
  static override args = { name: Args.string({ required: true, description: 'Router name.' }) };
  static override flags = {
    which: Flags.string({ required: true, summary: 'api: the API password; radius: the RADIUS shared secret.', options: ['api', 'radius'] }),
  };

  public async run() {
    const ctx = await this.ctx();
    const { router, which, secret } = await revealRouterSecret(ctx, this.args.name, this.flags.which as 'api' | 'radius');
    this.essential(secret);
    return { router: router.name, which, secret };
  }
}
