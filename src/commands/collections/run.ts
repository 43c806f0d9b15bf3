import { Flags } from '@oclif/core';
import { BaseCommand } from '../../cli/base-command.js';
import { runCollections } from '../../core/collections/run.js';
import type { CollectionTransition } from '../../core/collections/evaluate.js';
import { formatMoney } from '../../core/money.js';
import { sendNotifications } from '../../core/notify/outbox.js';
import { getSetting } from '../../core/settings/service.js';

export default class CollectionsRun extends BaseCommand<typeof CollectionsRun> {
  static override summary = 'Send reminders and warnings, suspend overdue subscribers and restore those who paid, as of today.';
  static override description =
    'From the invoices and the settings reminder-days, warning-days and grace-days. Suspension blocks or throttles through the access ' +
    'policy (suspension-action, per plan); admin-suspended services keep their block. Router changes are applied before the command ' +
    'returns when the routers answer; otherwise they stay queued (exit 3). Safe to run as often as you like: every event happens once. ' +
    'Messages go to the outbox; add --send to deliver them now (or run ispctl notify send).';
  static override examples = [
    '<%= config.bin %> collections run',
    '<%= config.bin %> collections run --dry-run',
    '<%= config.bin %> collections run --subscriber S-000123 --send',
  ];
  static override flags = {
    'dry-run': Flags.boolean({ summary: 'Show what would happen; change nothing.' }),
    today: Flags.string({ summary: 'Evaluate as of this ISP date (YYYY-MM-DD) instead of today.' }),
    subscriber: Flags.string({ summary: 'Only this subscriber (account number or username); repeatable.', multiple: true }),
    send: Flags.boolean({ summary: 'Deliver the messages queued by this run now.' }),
  };

  public async run() {
    const ctx = await this.ctx();
    const f = this.flags;
    const r = await this.withProgress((onProgress) => runCollections(ctx, { dryRun: f['dry-run'], today: f.today, subscribers: f.subscriber, onProgress }));
    const currency = String((await getSetting(ctx.db, 'currency')).value ?? 'PHP');
    const verb = r.dryRun ? 'Would' : '';
    if (r.transitions.length && (r.dryRun || this.flags.verbose)) {
      this.table(r.transitions, [
        { header: 'ACCOUNT', get: (t: CollectionTransition) => t.accountNo },
        { header: 'NAME', get: (t) => t.fullName },
        { header: 'EVENT', get: (t) => t.kind },
        { header: 'STATUS', get: (t) => [...new Set(t.services.map((s) => `${s.from} → ${s.to}`))].join(', ') },
        { header: 'AMOUNT', get: (t) => (t.amountMinor > 0n ? formatMoney(t.amountMinor, currency) : '') },
        { header: 'REASON', get: (t) => t.reason },
      ]);
    }
    const counts = `${r.reminded.length} reminded, ${r.warned.length} warned, ${r.suspended.length} suspended, ${r.restored.length} restored, ${r.cleared.length} back to current`;
    this.say(`${verb ? `${verb} do on ${r.today}: ` : `Collections for ${r.today}: `}${counts}.`);
    if (!r.dryRun) {
      if (r.notifications) this.say(`${r.notifications} message(s) queued${f.send ? '' : '; ispctl notify send delivers them'}.`);
      for (const e of r.notificationErrors.slice(0, 5)) this.warnLine(`message ${e.eventKey} (${e.channel}) not rendered: ${e.error}`);
    }
    const routers = await this.applyNow(r.jobIds);
    if (routers.status !== 'none') this.say(`Routers: ${routers.applied} change(s) applied${routers.remaining ? `, ${routers.remaining} queued` : ''}.`);
    let sent;
    if (f.send && !r.dryRun && r.notifications) {
      sent = await sendNotifications(ctx, {});
      this.say(`Messages: ${sent.sent} sent${sent.retrying ? `, ${sent.retrying} to retry` : ''}${sent.failed ? `, ${sent.failed} failed` : ''}.`);
    }
    return {
      today: r.today,
      dryRun: r.dryRun,
      reminded: r.reminded,
      warned: r.warned,
      suspended: r.suspended,
      restored: r.restored,
      cleared: r.cleared,
      events: r.events,
      notifications: r.notifications,
      jobIds: r.jobIds,
      routers: routers.status === 'none' ? null : routers,
      sent: sent ?? null,
      transitions: r.transitions,
    };
  }
}
