import { Flags } from '@oclif/core';
import { BaseCommand } from '../../cli/base-command.js';
import { listAudit } from '../../core/audit.js';
import { invalid } from '../../core/errors.js';

function parseInstant(flag: string, value: string | undefined): Date | undefined {
  if (value === undefined) return undefined;
  const d = new Date(/^\d{4}-\d{2}-\d{2}$/.test(value) ? `${value}T00:00:00Z` : value);
  if (Number.isNaN(d.getTime())) throw invalid('INVALID_DATE', `--${flag} "${value}" is not a date or timestamp.`, [`--${flag} 2026-11-01 or --${flag} 2026-11-01T08:00:00+08:00`]);
  return d;
}

export default class AuditList extends BaseCommand<typeof AuditList> {
  protected override readsOnly = true;
  static override summary = 'Show the audit log: who changed what, when, with which command.';
  static override examples = ['<%= config.bin %> audit list', '<%= config.bin %> audit list --entity settings --since 2026-11-01', '<%= config.bin %> audit list --user maria --json'];
  static override flags = {
    entity: Flags.string({ summary: 'Entity type: settings, router, plan, subscriber, invoice, payment, ...' }),
    id: Flags.string({ summary: 'Entity id (with --entity).' }),
    user: Flags.string({ summary: 'OS user who made the change.' }),
    action: Flags.string({ summary: 'create, update, delete, suspend, ...' }),
    since: Flags.string({ summary: 'From this date or timestamp (UTC unless an offset is given).' }),
    until: Flags.string({ summary: 'Before this date or timestamp.' }),
    limit: Flags.integer({ summary: 'At most this many entries, newest first.', default: 50, min: 1, max: 10000 }),
  };

  public async run() {
    const since = parseInstant('since', this.flags.since);
    const until = parseInstant('until', this.flags.until);
    const ctx = await this.ctx();
    const rows = await listAudit(ctx.db, {
      entityType: this.flags.entity,
      entityId: this.flags.id,
      actor: this.flags.user,
      action: this.flags.action,
      since,
      until,
      limit: this.flags.limit,
    });
    this.table(rows, [
      { header: 'AT', get: (r) => r.at.toISOString().replace(/\.\d+Z$/, 'Z') },
      { header: 'USER', get: (r) => r.actor },
      { header: 'ACTION', get: (r) => r.action },
      { header: 'ENTITY', get: (r) => (r.entityId ? `${r.entityType} ${r.entityId}` : r.entityType) },
      { header: 'CHANGE', get: (r) => summariseChange(r.before, r.after) },
      { header: 'COMMAND', get: (r) => this.chalk.dim(r.command) },
    ]);
    return rows;
  }
}

function summariseChange(before: unknown, after: unknown): string {
  const b = (before ?? {}) as Record<string, unknown>;
  const a = (after ?? {}) as Record<string, unknown>;
  const keys = [...new Set([...Object.keys(b), ...Object.keys(a)])].filter((k) => JSON.stringify(b[k]) !== JSON.stringify(a[k]));
  const parts = keys.slice(0, 4).map((k) => `${k}: ${k in b ? JSON.stringify(b[k]) : '∅'} → ${k in a ? JSON.stringify(a[k]) : '∅'}`);
  if (keys.length > 4) parts.push(`+${keys.length - 4} more`);
  return parts.join('; ');
}
