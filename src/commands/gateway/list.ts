import { BaseCommand } from '../../cli/base-command.js';
import { listFlags } from '../../cli/table.js';
import { listGateways } from '../../core/intake/gateways.js';

export default class GatewayList extends BaseCommand<typeof GatewayList> {
  protected override readsOnly = true;
  static override summary = 'List the payment gateways that may notify ispctl (secrets are never shown).';
  static override examples = ['<%= config.bin %> gateway list --json'];

  static override flags = { ...listFlags };

  public async run() {
    const ctx = await this.ctx();
    const list = await listGateways(ctx.db);
    this.table(list, [
      { header: 'NAME', get: (g) => g.name },
      { header: 'KIND', get: (g) => g.kind },
      { header: 'METHOD', get: (g) => g.method },
      { header: 'WEBHOOK', get: (g) => `/webhooks/${g.name}` },
    ]);
    return list;
  }
}
