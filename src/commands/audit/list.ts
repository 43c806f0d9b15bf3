import { Flags } from '@oclif/core';
import { BaseCommand } from '../../cli/base-command.js';
import { describeAuditChange, timeColumn, type Formats } from '../../cli/format.js';
import { listFlags } from '../../cli/table.js';
import { auditChanges, listAudit, type AuditRow } from '../../core/audit.js';
import { parseDateTime } from '../../core/time.js';

export default class AuditList extends BaseCommand<typeof AuditList> {
  protected override readsOnly = true;
  static override summary = 'Show the audit log: who, when (ISP time), what, and each change as field: old → new; --json keeps the raw before and after.';
  static override examples = ['<%= config.bin %> audit list', '<%= config.bin %> audit list --entity settings --since 2026-11-01', '<%= config.bin %> audit list --user maria --json'];
  static override flags = {
    entity: Flags.string({ summary: 'Entity type: settings, router, plan, subscriber, invoice, payment, ...' }),
    id: Flags.string({ summary: 'Entity id (with --entity).' }),
    user: Flags.string({ summary: 'OS user who made the change.' }),
    action: Flags.string({ summary: 'create, update, delete, suspend, ...' }),
    since: Flags.string({ summary: 'From this day (YYYY-MM-DD) or time (YYYY-MM-DD HH:MM), on the ISP\'s clock, or a timestamp with an offset.' }),
    until: Flags.string({ summary: 'Before this day or time (the same forms as --since).' }),
    limit: Flags.integer({ summary: 'At most this many entries, newest first.', default: 50, min: 1, max: 10000 }),
    ...listFlags,
  };

  /** --since and --until read before the database is opened or migrated. */
  protected override async checkInput(): Promise<void> {
    const { timezone } = await this.inputFormats();
    if (this.flags.since) parseDateTime(this.flags.since, timezone, '--since');
    if (this.flags.until) parseDateTime(this.flags.until, timezone, '--until');
  }

  public async run() {
    const ctx = await this.ctx();
    const formats = await this.formats();
    const since = this.flags.since ? parseDateTime(this.flags.since, formats.timezone, '--since').at : undefined;
    const until = this.flags.until ? parseDateTime(this.flags.until, formats.timezone, '--until').at : undefined;
    const rows = await listAudit(ctx.db, {
      entityType: this.flags.entity,
      entityId: this.flags.id,
      actor: this.flags.user,
      action: this.flags.action,
      since,
      until,
      limit: this.flags.limit,
    });
    this.table<AuditRow>(rows, [
      timeColumn('WHEN', (r) => r.at, formats.timezone),
      { header: 'WHO', get: (r) => r.actor },
      { header: 'WHAT', get: (r) => `${r.action} ${r.entityType}${r.entityId ? ` ${r.entityId}` : ''}` },
      { header: 'CHANGE', get: (r) => change(r, formats) },
      { header: 'COMMAND', get: (r) => this.chalk.dim(r.command), shrink: true, optional: true },
    ]);
    return rows;
  }
}

function change(r: AuditRow, f: Formats): string {
  return describeAuditChange(auditChanges(r.before, r.after), f);
}
