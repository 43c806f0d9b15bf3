import { Flags } from '@oclif/core';
import { BaseCommand } from '../../cli/base-command.js';
import { formatTime } from '../../cli/format.js';
import { IspctlError } from '../../core/errors.js';
import { EVENTS_LIST_MAX } from '../../core/collections/run.js';
import { mergeSends, runCollectionsThrough } from '../../core/collections/through.js';
import type { CollectionTransition } from '../../core/collections/evaluate.js';
import { formatMoney } from '../../core/money.js';
import { sendNotifications } from '../../core/notify/outbox.js';
import { getSetting } from '../../core/settings/service.js';
import { parseLocalDate } from '../../core/time.js';

export default class CollectionsRun extends BaseCommand<typeof CollectionsRun> {
  static override summary = 'Send reminders and warnings, suspend overdue subscribers and restore those who paid, as of today.';
  static override description =
    'From the invoices and the settings reminder-days, warning-days and grace-days. Suspension blocks or throttles through the access ' +
    'policy (suspension-action, per plan); admin-suspended services keep their block. Router changes are applied before the command ' +
    'returns when the routers answer; otherwise they stay queued (exit 3). Safe to run as often as you like: every event happens once. ' +
    'Messages go to the outbox; add --send to deliver them now (or run ispctl notify send). Suspension notices are the exception: ' +
    'the run delivers them before the routers are told, and a suspension whose notice could not be delivered waits for it (up to ' +
    'notify-suspension-hold-minutes; exit 3 meanwhile). A run that would suspend more services than ' +
    'collections-max-suspensions allows suspends no one, records an alert and exits 1; --force goes ahead. A dry run shows the whole ' +
    'plan and warns that a real run would stop at the cap (exit 0; capExceeded in --json). While collections is paused ' +
    '(ispctl collections pause) no one is suspended. Subscribers on an extension (ispctl subscriber extend) are not suspended until its date.';
  static override examples = [
    '<%= config.bin %> collections run',
    '<%= config.bin %> collections run --force',
    '<%= config.bin %> collections run --dry-run',
    '<%= config.bin %> collections run --subscriber S-000123 --send',
  ];
  static override flags = {
    'dry-run': Flags.boolean({ summary: 'Show what would happen; change nothing.' }),
    today: Flags.string({ summary: 'Evaluate as of this ISP date (YYYY-MM-DD) instead of today.' }),
    subscriber: Flags.string({ summary: 'Only this subscriber (account number or username); repeatable.', multiple: true }),
    send: Flags.boolean({ summary: 'Deliver the messages queued by this run now.' }),
    force: Flags.boolean({ summary: 'Suspend however many are due, over the collections-max-suspensions cap (never while paused).' }),
  };

  /** --today read before the database is opened or migrated. */
  protected override async checkInput(): Promise<void> {
    if (this.flags.today !== undefined) parseLocalDate(this.flags.today, '--today');
  }

  public async run() {
    const ctx = await this.ctx();
    const f = this.flags;
    // Each chunk commits on its own: between two, a payment waiting for the embedded database
    // (served to one process at a time) gets its turn, so it waits for one chunk, not the run.
    // Then the suspension notices, then the router work (src/core/collections/through.ts).
    const through = await this.withProgress((onProgress) =>
      runCollectionsThrough(
        ctx,
        { dryRun: f['dry-run'], today: f.today, subscribers: f.subscriber, force: f.force, onProgress, onChunk: () => this.yieldDatabase() },
        { apply: { timeoutMs: (this.flags['router-timeout'] ?? 5) * 1000 } },
      ),
    );
    const r = through.run;
    if (r.paused) {
      this.warnLine(`Collections is paused since ${formatTime(r.paused.pausedAt, (await this.formats()).timezone)} by ${r.paused.pausedBy}${r.paused.reason ? ` (${r.paused.reason})` : ''}: no one is suspended, nothing is charged late or written off; ispctl collections resume lifts the pause.`);
    }
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
    // The result keeps the first transitions only (a run's memory does not grow with its size).
    const leftOut = r.transitionsTotal - r.transitions.length;
    const listAll = leftOut > 0 && !r.dryRun ? `ispctl collections events --since ${r.startedAt.toISOString()} --limit ${Math.min(r.transitionsTotal, EVENTS_LIST_MAX)}` : null;
    if (leftOut > 0 && (r.dryRun || this.flags.verbose)) {
      this.say(
        r.dryRun
          ? `The first ${r.transitions.length} of ${r.transitionsTotal} changes are shown, ${leftOut} left out; --subscriber narrows the dry run.`
          : `The first ${r.transitions.length} of ${r.transitionsTotal} changes are shown, ${leftOut} left out; ${listAll} lists this run's events${r.transitionsTotal > EVENTS_LIST_MAX ? ` (at most ${EVENTS_LIST_MAX} a listing: --kind narrows it)` : ''}.`,
      );
    }
    const held = r.suspensionsHeld;
    if (held?.reason === 'paused') this.say(`${held.services} service(s) of ${held.subscribers} subscriber(s) past due beyond grace are not suspended while paused.`);
    const counts = `${r.reminded.length} reminded, ${r.warned.length} warned, ${r.suspended.length} suspended, ${r.restored.length} restored, ${r.cleared.length} back to current`;
    this.say(`${verb ? `${verb} do on ${r.today}: ` : `Collections for ${r.today}: `}${counts}.`);
    if (!r.dryRun) {
      if (r.notifications) this.say(`${r.notifications} message(s) queued${f.send ? '' : '; ispctl notify send delivers them'}.`);
      for (const e of r.notificationErrors.slice(0, 5)) this.warnLine(`message ${e.eventKey} (${e.channel}) not rendered: ${e.error}`);
      if (r.notificationErrorsTotal > 5) this.warnLine(`${r.notificationErrorsTotal - 5} more message(s) not rendered; ispctl notify list --status failed shows them.`);
    }
    // Suspension notices went out before the suspensions reached the routers (which wait for them).
    const notices = through.notices;
    if (notices?.claimed) this.say(`Suspension notices: ${notices.sent} sent${notices.retrying + notices.failed ? `, ${notices.retrying + notices.failed} not delivered (their suspensions wait for them up to notify-suspension-hold-minutes)` : ''}.`);
    const routers = this.recordApply(through.routers);
    if (routers.status !== 'none') this.say(`Routers: ${routers.applied} change(s) applied${routers.remaining ? `, ${routers.remaining} queued` : ''}.`);
    let sent;
    if (f.send && !r.dryRun && r.notifications) {
      sent = mergeSends(notices, await sendNotifications(ctx, {}));
      this.say(`Messages: ${sent.sent} sent${sent.retrying ? `, ${sent.retrying} to retry` : ''}${sent.failed ? `, ${sent.failed} failed` : ''}.`);
    }
    const cap = r.capExceeded;
    if (r.dryRun && cap) {
      // The plan above is whole (what --force would do); a real run stops at the cap.
      this.warnLine(
        `A real run would stop at the cap: ${cap.services} service(s) of ${cap.subscribers} subscriber(s) are due to be suspended, more than the ${cap.limit} collections-max-suspensions allows in one run. ` +
          'It would suspend no one (reminders, warnings and restorations would go ahead), record an alert and exit 1; ispctl collections run --force suspends them all, ' +
          'ispctl settings set collections-max-suspensions changes the cap.',
      );
    }
    if (!r.dryRun && held?.reason === 'cap') {
      throw new IspctlError(
        'SUSPENSION_CAP_EXCEEDED',
        `Stopped: it would suspend ${held.services} service(s) of ${held.subscribers} subscriber(s), more than the ${held.limit} allowed in one run (collections-max-suspensions). No one was suspended; reminders, warnings and restorations went ahead, and an alert is in the audit log.`,
        {
          kind: 'failure',
          suggestions: [
            'Check that payments are recorded (ispctl payment list, ispctl payment import) and that the date is right',
            'ispctl collections run --dry-run lists who would be suspended',
            'ispctl collections run --force suspends them all once you are sure',
            'ispctl settings set collections-max-suspensions 5% (or a number, or none) changes the cap',
          ],
          details: { suspensionsHeld: held, today: r.today, reminded: r.reminded.length, warned: r.warned.length, restored: r.restored.length },
        },
      );
    }
    return {
      today: r.today,
      paused: r.paused,
      suspensionsHeld: held,
      /** Over collections-max-suspensions: a real run suspends no one and exits 1 without --force (null: within the cap). */
      capExceeded: r.capExceeded,
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
      // The first transitions (at most the run's sample), how many there were, and how many are left out.
      transitions: r.transitions,
      transitionsTotal: r.transitionsTotal,
      transitionsLeftOut: leftOut,
      // The listing of every event the run recorded, when some transitions are left out (null otherwise).
      allTransitions: listAll,
    };
  }
}
