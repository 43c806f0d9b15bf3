import { Args } from '@oclif/core';
import { BaseCommand } from '../../cli/base-command.js';
import { formatTime } from '../../cli/format.js';
import { showRouter } from '../../core/routers/service.js';

export default class RouterShow extends BaseCommand<typeof RouterShow> {
  protected override readsOnly = true;
  static override summary = 'Show one router; its API password and RADIUS secret are masked.';
  static override examples = ['<%= config.bin %> router show core1', '<%= config.bin %> router secret show core1 --which radius   # to reveal one'];
  static override ask = { name: 'router' as const };
  static override args = { name: Args.string({ required: true, description: 'Router name.' }) };

  public async run() {
    const ctx = await this.ctx();
    const r = await showRouter(ctx, this.args.name);
    const { timezone: tz } = await this.formats();
    const iso = (d: Date | null) => (d ? formatTime(d, tz) : '');
    const o = r.onboarding;
    this.details([
      ['name', r.name],
      ['host', r.host ?? '(pending: no address until it is onboarded)'],
      ['api', `${r.apiUser}@${r.host ?? '…'}:${r.apiPort}${r.apiTls ? ` (API-SSL, certificate ${r.apiTlsVerify ? 'verified' : 'not verified'})` : ' (plain)'}`],
      ['api password', r.apiPassword],
      ['mode', r.mode],
      ['nas address', r.nasAddress ?? ''],
      ['radius secret', r.radiusSecret],
      ['coa port', r.coaPort],
      ['shaping', r.shaping],
      ['block action', r.blockAction ?? `${r.effectiveBlockAction} (setting api-block-action)`],
      ['local address', r.localAddress ?? ''],
      ['address pool', r.poolRanges ? `${r.poolRanges} (${r.poolName}, default for plans without their own)` : ''],
      ['status', r.status],
      ...(o
        ? ([
            ['tunnel address', o.tunnelAddress ?? '(picked at review)'],
            ['wireguard key', o.publicKey],
            ['inspect report', iso(o.reportedAt) || '(none yet: ispctl router inspect-script ' + r.name + ')'],
            ['install printed', iso(o.installPrintedAt)],
            ['registered', iso(o.registeredAt)],
          ] as Array<[string, unknown]>)
        : []),
      ['last contact', iso(r.lastContactAt)],
      ['last error', r.lastError ?? ''],
      ['identity', r.identity ?? ''],
      ['version', r.version ?? ''],
      ['board', r.board ?? ''],
      ['services', r.serviceCount],
      ['created', iso(r.createdAt)],
    ]);
    if (o?.advice) this.say('\n' + this.chalk.yellow(o.advice));
    return r;
  }
}
