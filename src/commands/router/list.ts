import { BaseCommand } from '../../cli/base-command.js';
import { listFlags } from '../../cli/table.js';
import { timeColumn } from '../../cli/format.js';
import { listRouters } from '../../core/routers/service.js';

export default class RouterList extends BaseCommand<typeof RouterList> {
  protected override readsOnly = true;
  static override summary = 'List routers with their mode, health and number of subscribers.';
  static override examples = ['<%= config.bin %> router list', '<%= config.bin %> router list --json'];

  static override flags = { ...listFlags };

  public async run() {
    const ctx = await this.ctx();
    const routers = await listRouters(ctx.db);
    const { timezone } = await this.formats();
    this.table(routers, [
      { header: 'NAME', get: (r) => r.name },
      { header: 'HOST', get: (r) => (r.host === null ? this.chalk.dim('(pending)') : `${r.host}:${r.apiPort}${r.apiTls ? ' (TLS)' : ''}`), shrink: false },
      { header: 'MODE', get: (r) => r.mode },
      { header: 'STATUS', get: (r) => (r.status === 'online' ? this.chalk.green(r.status) : ['unknown', 'pending'].includes(r.status) ? this.chalk.dim(r.status) : r.status === 'registering' ? this.chalk.yellow(r.status) : this.chalk.red(r.status)) },
      timeColumn('LAST CONTACT', (r) => r.lastContactAt, timezone),
      { header: 'SERVICES', get: (r) => r.serviceCount, align: 'right' },
      { header: 'VERSION', get: (r) => r.version ?? '', optional: true },
    ]);
    return routers;
  }
}
