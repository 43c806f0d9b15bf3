// Audit rows for set-based changes (imports, moving every service off a router): the same rows
// recordAudit writes, inserted in batches instead of one round trip each.
import type { AuditEntry } from '../audit.js';
import type { Actor } from '../context.js';
import type { Clock } from '../clock.js';
import type { Db } from '../db/tx.js';

const BATCH = 500;

function json(v: unknown): string | null {
  if (v === undefined || v === null) return null;
  return JSON.stringify(v, (_k, val) => (typeof val === 'bigint' ? val.toString() : val));
}

export async function recordAuditMany(db: Db, ctx: { clock: Clock; actor: Actor }, entries: AuditEntry[]): Promise<void> {
  const at = ctx.clock.now();
  const rows = entries.map((e) => ({
    at,
    actor: ctx.actor.user,
    command: ctx.actor.command,
    entity_type: e.entityType,
    entity_id: e.entityId === undefined || e.entityId === null ? null : String(e.entityId),
    action: e.action,
    before: json(e.before),
    after: json(e.after),
  }));
  for (let i = 0; i < rows.length; i += BATCH) await db('audit_log').insert(rows.slice(i, i + BATCH));
}
