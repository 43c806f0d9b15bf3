import { BaseCommand } from '../../cli/base-command.js';
import { listFlags } from '../../cli/table.js';
import { listSettings } from '../../core/settings/service.js';

export default class SettingsList extends BaseCommand<typeof SettingsList> {
  protected override readsOnly = true;
  static override summary = 'List every setting with its value.';
  static override examples = ['<%= config.bin %> settings list', '<%= config.bin %> settings list --json'];

  static override flags = { ...listFlags };

  public async run() {
    const ctx = await this.ctx();
    const settings = await listSettings(ctx.db);
    this.table(settings, [
      { header: 'KEY', get: (s) => s.key },
      { header: 'VALUE', raw: (s) => (s.value === null ? '' : String(s.value)), get: (s) => (s.value === null ? this.chalk.dim('(not set)') : s.isDefault ? `${s.value} ${this.chalk.dim('(default)')}` : s.value) },
      { header: 'DESCRIPTION', get: (s) => this.chalk.dim(s.description) },
    ]);
    return settings;
  }
}
