import { BaseCommand } from '../../cli/base-command.js';
import { formatTime } from '../../cli/format.js';
import { resumeCollections } from '../../core/collections/controls.js';

export default class CollectionsResume extends BaseCommand<typeof CollectionsResume> {
  static override summary = 'Lift a pause of collections: the next run suspends whoever is past due beyond grace.';
  static override examples = ['<%= config.bin %> collections resume'];

  public async run() {
    const ctx = await this.ctx();
    const r = await resumeCollections(ctx);
    const { timezone } = await this.formats();
    this.say(r.was ? `Collections resumed (paused since ${formatTime(r.was.pausedAt, timezone)} by ${r.was.pausedBy}). The next collections run suspends whoever is past due beyond grace.` : 'Collections was not paused; nothing changed.');
    return { paused: false, changed: r.was !== null, was: r.was };
  }
}
