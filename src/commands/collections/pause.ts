import { Flags } from '@oclif/core';
import { BaseCommand } from '../../cli/base-command.js';
import { formatTime } from '../../cli/format.js';
import { pauseCollections } from '../../core/collections/controls.js';

export default class CollectionsPause extends BaseCommand<typeof CollectionsPause> {
  static override summary = 'Pause collections: no one is suspended or written off until collections resume.';
  static override description =
    'For an outage, a typhoon, a payment channel that is down. While paused, collections run and the daemon still send reminders and ' +
    'warnings, charge nothing late and restore whoever pays; they suspend no one. ispctl collections resume lifts the pause.';
  static override examples = ['<%= config.bin %> collections pause --reason "GCash outage 2026-12-02"', '<%= config.bin %> collections pause --json'];
  static override flags = { reason: Flags.string({ summary: 'Why; recorded with the pause and in the audit log.' }) };

  public async run() {
    const ctx = await this.ctx();
    const r = await pauseCollections(ctx, { reason: this.flags.reason });
    const p = r.pause;
    const { timezone } = await this.formats();
    const since = `since ${formatTime(p.pausedAt, timezone)} by ${p.pausedBy}${p.reason ? `: ${p.reason}` : ''}`;
    this.say(r.changed ? `Collections paused ${since}. No one is suspended until ispctl collections resume.` : `Collections was already paused ${since}; nothing changed.`);
    return { paused: true, changed: r.changed, pausedAt: p.pausedAt, pausedBy: p.pausedBy, reason: p.reason };
  }
}
