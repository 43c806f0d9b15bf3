import { Flags } from '@oclif/core';
import { BaseCommand } from '../../cli/base-command.js';
import { listFlags } from '../../cli/table.js';
import { timeColumn } from '../../cli/format.js';
import { formatLocalDateTime } from '../../core/time.js';
import { resolveSubscriberRefs } from '../../core/collections/run.js';
import { countNotifications, listNotifications } from '../../core/notify/outbox.js';
import { TEMPLATE_NAMES } from '../../core/notify/templates.js';

export default class NotifyList extends BaseCommand<typeof NotifyList> {
  protected override readsOnly = true;
  static override summary = 'List messages in the outbox: pending, sent, failed and cancelled, newest first.';
  static override examples = ['<%= config.bin %> notify list', '<%= config.bin %> notify list --status failed', '<%= config.bin %> notify list --subscriber S-000123 --json'];
  static override flags = {
    status: Flags.string({ summary: 'Only this status (open = pending or sending).', options: ['pending', 'sending', 'sent', 'failed', 'cancelled', 'open'] }),
    subscriber: Flags.string({ summary: 'Only this subscriber (account number or username).' }),
    template: Flags.string({ summary: 'Only this message.', options: [...TEMPLATE_NAMES] }),
    limit: Flags.integer({ summary: 'At most this many.', default: 50, min: 1, max: 100_000 }),
    ...listFlags,
  };

  public async run() {
    const ctx = await this.ctx();
    const f = this.flags;
    const subscriberId = f.subscriber ? (await resolveSubscriberRefs(ctx.db, [f.subscriber]))[0] : undefined;
    const rows = await listNotifications(ctx.db, { status: f.status as never, subscriberId, template: f.template as never, limit: f.limit });
    const { timezone } = await this.formats();
    this.table(rows, [
      { header: 'ID', get: (n) => n.id },
      timeColumn('CREATED', (n) => n.createdAt, timezone),
      { header: 'MESSAGE', get: (n) => n.template },
      { header: 'CHANNEL', get: (n) => n.channel },
      { header: 'TO', get: (n) => n.recipient },
      { header: 'STATUS', get: (n) => (n.status === 'failed' ? this.chalk.red(n.status) : n.status === 'sent' ? this.chalk.green(n.status) : n.status) },
      { header: 'TRIES', get: (n) => n.attempts },
      { header: 'LAST ERROR / NEXT TRY', get: (n) => (n.status === 'sent' ? '' : `${n.lastError ?? ''}${n.status === 'pending' && n.attempts ? ` (next ${formatLocalDateTime(n.nextAttemptAt, timezone).slice(11)})` : ''}`) },
    ]);
    const counts = await countNotifications(ctx.db);
    this.note(this.chalk.dim(`Outbox: ${counts.pending} pending, ${counts.sending} sending, ${counts.sent} sent, ${counts.failed} failed${counts.cancelled ? `, ${counts.cancelled} cancelled` : ''}.`));
    return { notifications: rows, counts };
  }
}
