import { Args } from '@oclif/core';
import { BaseCommand } from '../../cli/base-command.js';
import { formatDate } from '../../cli/format.js';
import { loadNetworkSettings } from '../../core/access/settings.js';
import { formatMoney } from '../../core/money.js';
import { showPlan } from '../../core/plans/service.js';
import { formatSpeed } from '../../core/speed.js';

export default class PlanShow extends BaseCommand<typeof PlanShow> {
  protected override readsOnly = true;
  static override summary = 'Show one plan, with what throttling and suspension do on it.';
  static override examples = ['<%= config.bin %> plan show "Fiber 50"'];
  static override ask = { name: 'plan' as const };
  static override args = { name: Args.string({ required: true, description: 'Plan name.' }) };

  public async run() {
    const ctx = await this.ctx();
    const { timezone: tz } = await this.formats();
    const p = await showPlan(ctx.db, this.args.name);
    const s = await loadNetworkSettings(ctx.db);
    const dflt = (v: string) => `${v} ${this.chalk.dim('(setting)')}`;
    this.details([
      ['name', p.archivedAt ? `${p.name} (archived ${formatDate(p.archivedAt, tz)})` : p.name],
      ['price', `${formatMoney(p.priceMinor, p.currency)} a month`],
      ['billing type', p.billingType],
      ['download', p.download],
      ['upload', p.upload],
      ['burst', p.burst ? `${formatSpeed(p.burst.downloadKbps)} down / ${formatSpeed(p.burst.uploadKbps)} up above ${formatSpeed(p.burst.thresholdDownloadKbps)} / ${formatSpeed(p.burst.thresholdUploadKbps)} average over ${p.burst.timeSeconds} s` : 'none'],
      ['rate limit', p.rateLimit],
      ['on non-payment', p.suspensionAction ?? dflt(s.suspensionAction)],
      ['throttle download', p.throttleDownloadKbps ? formatSpeed(p.throttleDownloadKbps) : dflt(formatSpeed(s.throttleDownloadKbps))],
      ['throttle upload', p.throttleUploadKbps ? formatSpeed(p.throttleUploadKbps) : dflt(formatSpeed(s.throttleUploadKbps))],
      ['local address', p.localAddress ?? this.chalk.dim("the router's")],
      ['address pool', p.poolRanges ? `${p.poolRanges} (${p.poolName})` : this.chalk.dim("the router's")],
      ['services', p.serviceCount],
    ]);
    return p;
  }
}
