import { Flags } from '@oclif/core';
import { BaseCommand } from '../../cli/base-command.js';
import { listFlags, type Column } from '../../cli/table.js';
import { formatSpeeds } from '../../cli/format.js';
import { LIST_STATES, listSubscribers, subscriberListPages, type SubscriberListRow } from '../../core/subscribers/service.js';

export default class SubscriberList extends BaseCommand<typeof SubscriberList> {
  protected override readsOnly = true;
  static override summary = 'List subscribers (one line per service), filtered by plan, router, access state or text.';
  static override description =
    'States: active, throttled and blocked are the access the policy decides (admin suspension and billing together); suspended means ' +
    'suspended by an administrator; ended means removed. Ended services are left out unless --all or --state ended.';
  static override examples = [
    '<%= config.bin %> subscriber list',
    '<%= config.bin %> subscriber list --router core1 --state blocked',
    '<%= config.bin %> subscriber list --search "dela cruz" --json',
  ];
  static override flags = {
    plan: Flags.string({ summary: 'Only this plan.' }),
    router: Flags.string({ summary: 'Only this router.' }),
    state: Flags.string({ summary: 'Only this state.', options: [...LIST_STATES] }),
    search: Flags.string({ char: 's', summary: 'Text in the name, username, email, phone or account number.' }),
    all: Flags.boolean({ summary: 'Include ended services.' }),
    limit: Flags.integer({ summary: 'At most this many lines.', default: 100, min: 1, max: 1_000_000 }),
    ...listFlags,
  };

  public async run() {
    const ctx = await this.ctx();
    const filter = {
      plan: this.flags.plan,
      router: this.flags.router,
      state: this.flags.state,
      search: this.flags.search,
      includeEnded: this.flags.all,
      limit: this.flags.limit,
    };
    const columns: Column<SubscriberListRow>[] = [
      { header: 'ACCOUNT', get: (r) => r.accountNo },
      { header: 'NAME', get: (r) => r.fullName },
      { header: 'USERNAME', get: (r) => r.username },
      { header: 'PLAN', get: (r) => r.plan },
      { header: 'ROUTER', get: (r) => r.router ?? '' },
      { header: 'STATIC IP', get: (r) => r.staticIp ?? '', shrink: false, optional: true },
      { header: 'ACCESS', get: (r) => this.access(r), shrink: false },
    ];
    // As JSON or CSV, a page at a time as it is read: --limit 1000000 holds one page, not a million rows.
    if (this.listStreams()) {
      const n = await this.streamList(subscriberListPages(ctx.db, filter), columns);
      this.moreNote(n);
      return;
    }
    const rows = await listSubscribers(ctx.db, filter);
    this.table(rows, columns);
    this.moreNote(rows.length);
    return rows;
  }

  private moreNote(n: number): void {
    if (n === this.flags.limit) this.note(this.chalk.dim(`Showing the first ${n}; use --limit for more.`));
  }

  private access(r: SubscriberListRow): string {
    const a = r.access;
    if (a.reason === 'ended') return this.chalk.dim(`ended ${r.endedOn ?? ''}`);
    if (a.state === 'blocked') return this.chalk.red(a.reason === 'admin_suspended' ? `blocked (suspended: ${r.adminReason ?? ''})` : `blocked (${a.reason.replace('_', ' ')})`);
    const speed = formatSpeeds(a.downloadKbps!, a.uploadKbps!);
    return a.state === 'throttled' ? this.chalk.yellow(`throttled ${speed}`) : `active ${speed}`;
  }
}
