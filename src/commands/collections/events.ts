import { Flags } from '@oclif/core';
import { BaseCommand } from '../../cli/base-command.js';
import { listFlags } from '../../cli/table.js';
import { timeColumn } from '../../cli/format.js';
import { EVENTS_LIST_MAX, listCollectionEvents, resolveSubscriberRefs } from '../../core/collections/run.js';
import { parseDateTime } from '../../core/time.js';

export default class CollectionsEvents extends BaseCommand<typeof CollectionsEvents> {
  protected override readsOnly = true;
  static override summary = 'What collections did and why: reminders, warnings, suspensions, restorations and receipts, newest first.';
  static override examples = ['<%= config.bin %> collections events', '<%= config.bin %> collections events --subscriber S-000123 --json'];
  static override flags = {
    subscriber: Flags.string({ summary: 'Only this subscriber (account number or username).' }),
    kind: Flags.string({ summary: 'Only this kind of event.', options: ['reminder', 'warning', 'suspension', 'restoration', 'current', 'receipt'] }),
    since: Flags.string({ summary: 'Only events from this day (YYYY-MM-DD) or time (YYYY-MM-DD HH:MM), on the ISP\'s clock, or a timestamp with an offset.' }),
    limit: Flags.integer({ summary: 'At most this many.', default: 50, min: 1, max: EVENTS_LIST_MAX }),
    ...listFlags,
  };

  /** --since read before the database is opened or migrated. */
  protected override async checkInput(): Promise<void> {
    if (this.flags.since) parseDateTime(this.flags.since, (await this.inputFormats()).timezone, '--since');
  }

  public async run() {
    const ctx = await this.ctx();
    const f = this.flags;
    const subscriberId = f.subscriber ? (await resolveSubscriberRefs(ctx.db, [f.subscriber]))[0] : undefined;
    const { timezone } = await this.formats();
    const since = f.since ? parseDateTime(f.since, timezone, '--since').at : undefined;
    const events = await listCollectionEvents(ctx.db, { subscriberId, kind: f.kind, since, limit: f.limit });
    this.table(events, [
      timeColumn('WHEN', (e) => e.occurredAt, timezone),
      { header: 'ACCOUNT', get: (e) => e.accountNo },
      { header: 'NAME', get: (e) => e.fullName },
      { header: 'EVENT', get: (e) => e.kind },
      { header: 'STATUS', get: (e) => (e.fromStatus && e.toStatus && e.fromStatus !== e.toStatus ? `${e.fromStatus} → ${e.toStatus}` : (e.toStatus ?? '')) },
      { header: 'INVOICE', get: (e) => e.invoiceNumber ?? '', optional: true },
      { header: 'REASON', get: (e) => e.reason ?? '' },
    ]);
    return events;
  }
}
