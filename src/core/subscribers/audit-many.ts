// Audit rows for set-based changes (imports, moving every service off a router): the same rows
// recordAudit writes, inserted in batches instead of one round trip each. Each batch is one
// statement with one JSON parameter (not eight parameters a row): the embedded database binds
// and parses a few thousand parameters far slower than one document.
import type { AuditEntry } from '../audit.js';
import type { Actor } from '../context.js';
import type { Clock } from '../clock.js';
import type { Db } from '../db/tx.js';
import { chunks, rowsJson } from '../db/sql.js';

const BATCH = 5000;

/** before and after as JSON values (bigints as their decimal text, as recordAudit writes them). */
function value(v: unknown): unknown {
  return v === undefined ? null : v;
}

export async function recordAuditMany(db: Db, ctx: { clock: Clock; actor: Actor }, entries: AuditEntry[]): Promise<void> {
  if (entries.length === 0) return;
  const at = ctx.clock.now();
  for (const batch of chunks(entries, BATCH)) {
    await db.raw(
      `insert into audit_log (at, actor, command, entity_type, entity_id, action, before, after)
       select ?::timestamptz, ?, ?, x.entity_type, x.entity_id, x.action, x.before, x.after
         from json_to_recordset(?::json) as x(entity_type text, entity_id text, action text, before jsonb, after jsonb)`,
      [
        at,
        ctx.actor.user,
        ctx.actor.command,
        rowsJson(
          batch.map((e) => ({
            entity_type: e.entityType,
            entity_id: e.entityId === undefined || e.entityId === null ? null : String(e.entityId),
            action: e.action,
            before: value(e.before),
            after: value(e.after),
          })),
        ),
      ],
    );
  }
}
