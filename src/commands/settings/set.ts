import { Args } from '@oclif/core';
import { BaseCommand } from '../../cli/base-command.js';
import { displayValue, SETTINGS } from '../../core/settings/registry.js';
import { getSetting, parseSettingValues, setSettings } from '../../core/settings/service.js';

export default class SettingsSet extends BaseCommand<typeof SettingsSet> {
  static override summary = 'Change a setting; the value is checked before anything is written.';
  static override description =
    'Every value is checked first: a bad value changes nothing (exit 2). A setting the access policy reads (suspension-action, throttle-download, throttle-upload, api-block-action) changes the access of the services it applies to at once, and the routers are told like for any other change (exit 3 when some of it stays queued). The currency is fixed once any invoice, payment or adjustment is recorded (CURRENCY_FIXED, exit 1).';
  static override examples = ['<%= config.bin %> settings set billing-day 5', '<%= config.bin %> settings set timezone Asia/Manila'];
  static override args = {
    key: Args.string({ required: true, description: 'Setting name (see settings list).' }),
    value: Args.string({ required: true, description: 'New value.' }),
  };

  /** Secret settings (SMTP and SMS gateway credentials) are masked in the audit log's command line. */
  protected override get commandLine(): string {
    const def = SETTINGS.find((d) => d.key === this.args?.key);
    if (!def?.secret || this.args?.value === undefined) return super.commandLine;
    return `ispctl settings set ${def.key} ${String(displayValue(def, this.args.value))}`;
  }

  /** The value checked against its setting before the database is opened or migrated. */
  protected override async checkInput(): Promise<void> {
    parseSettingValues({ [this.args.key]: this.args.value });
  }

  public async run() {
    const ctx = await this.ctx();
    const result = await setSettings(ctx, { [this.args.key]: this.args.value });
    const [change] = result.changes;
    if (change) this.say(`${change.key}: ${change.before ?? '(not set)'} → ${change.after}`);
    else this.say(`${this.args.key} is already ${this.args.value}; nothing changed.`);
    if (result.accessChanged) this.say(`Access changed for ${result.accessChanged} service${result.accessChanged === 1 ? '' : 's'}.`);
    const routerJobs = await this.applyNow(result.jobIds);
    if (routerJobs.status !== 'none') this.say(`Routers: ${routerJobs.applied} change(s) applied${routerJobs.remaining ? `, ${routerJobs.remaining} queued` : ''}.`);
    const now = await getSetting(ctx.db, this.args.key);
    return {
      key: this.args.key,
      changed: Boolean(change),
      before: change ? change.before : now.value,
      value: now.value,
      accessChanged: result.accessChanged,
      ...(routerJobs.status === 'none' ? {} : { routerJobs }),
    };
  }
}
