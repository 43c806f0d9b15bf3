import { BaseCommand } from '../../cli/base-command.js';
import { formatTime } from '../../cli/format.js';
import { collectionsStatus } from '../../core/collections/controls.js';

export default class CollectionsStatus extends BaseCommand<typeof CollectionsStatus> {
  protected override readsOnly = true;
  static override summary = 'Whether collections is paused, the per-run suspension cap, and the subscribers on an extension.';
  static override examples = ['<%= config.bin %> collections status', '<%= config.bin %> collections status --json'];

  public async run() {
    const ctx = await this.ctx();
    const s = await collectionsStatus(ctx);
    const { timezone } = await this.formats();
    this.details([
      ['collections', s.paused ? `PAUSED since ${formatTime(s.paused.pausedAt, timezone)} by ${s.paused.pausedBy}${s.paused.reason ? `: ${s.paused.reason}` : ''}` : 'running'],
      ['suspension cap', s.suspensionLimit === null ? 'none' : `${s.suspensionLimit} per run (collections-max-suspensions ${s.maxSuspensions}, ${s.activeServices} active services)`],
      ['extensions', String(s.extensions.length)],
    ]);
    if (s.extensions.length) {
      this.say('');
      this.table(s.extensions, [
        { header: 'ACCOUNT', get: (e: (typeof s.extensions)[number]) => e.accountNo },
        { header: 'NAME', get: (e) => e.fullName },
        { header: 'UNTIL', get: (e) => e.until },
        { header: 'REASON', get: (e) => e.reason ?? '' },
      ]);
    }
    return s;
  }
}
