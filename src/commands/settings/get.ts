import { Args } from '@oclif/core';
import { BaseCommand } from '../../cli/base-command.js';
import { getSetting } from '../../core/settings/service.js';

export default class SettingsGet extends BaseCommand<typeof SettingsGet> {
  protected override readsOnly = true;
  static override summary = 'Print one setting.';
  static override examples = ['<%= config.bin %> settings get billing-day'];
  static override args = { key: Args.string({ required: true, description: 'Setting name (see settings list).' }) };

  public async run() {
    const ctx = await this.ctx();
    const s = await getSetting(ctx.db, this.args.key);
    this.essential(s.value === null ? '' : String(s.value));
    return s;
  }
}
