// Every change writes an audit row: when, who, which command, what changed.
import { userInfo } from 'node:os';
import type { Db } from './db/tx.js';
import type { Actor } from './context.js';
import type { Clock } from './clock.js';
import type { AuditLogRow } from './db/rows.js';

export interface AuditEntry {
  entityType: string;
  entityId?: string | number | bigint | null;
  action: string;
  before?: unknown;
  after?: unknown;
}

export interface AuditRow {
  id: number;
  at: Date;
  actor: string;
  command: string;
  entityType: string;
  entityId: string | null;
  action: string;
  before: unknown;
  after: unknown;
}

/** The OS user behind the command: SUDO_USER first, then USER/LOGNAME, then the process owner. */
export function osUser(env: Record<string, string | undefined> = process.env): string {
  const fromEnv = env.SUDO_USER || env.USER || env.LOGNAME;
  if (fromEnv) return fromEnv;
  try {
    return userInfo().username;
  } catch {
    return `uid:${process.getuid?.() ?? 'unknown'}`;
  }
}

const SECRET_FLAG = /(pass(word)?|secret|token|key)$/i;

/**
 * The command line for the audit log with secret values masked: values of flags whose name ends
 * in password, secret, token or key, and passwords inside URLs.
 */
export function maskCommandLine(argv: string[], extraSecretFlags: string[] = []): string {
  const out: string[] = [];
  const isSecret = (name: string) => SECRET_FLAG.test(name) || extraSecretFlags.includes(name);
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const eq = /^--([^=]+)=(.*)$/.exec(arg);
    if (eq) {
      out.push(isSecret(eq[1]!) ? `--${eq[1]}=***` : maskUrl(arg));
      continue;
    }
    const flag = /^--(.+)$/.exec(arg);
    if (flag && isSecret(flag[1]!) && i + 1 < argv.length && !argv[i + 1]!.startsWith('--')) {
      out.push(arg, '***');
      i++;
      continue;
    }
    out.push(maskUrl(arg));
  }
  return out.map(quoteArg).join(' ');
}

function maskUrl(s: string): string {
  return s.replace(/(\w+:\/\/[^:/@\s]+):[^@\s]*@/g, '$1:***@');
}

function quoteArg(s: string): string {
  return /^[\w@%+=:,./*-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

function toJson(v: unknown): string | null {
  if (v === undefined || v === null) return null;
  return JSON.stringify(v, (_k, val) => (typeof val === 'bigint' ? val.toString() : val));
}

export async function recordAudit(db: Db, ctx: { clock: Clock; actor: Actor }, entry: AuditEntry): Promise<void> {
  await db('audit_log').insert({
    at: ctx.clock.now(),
    actor: ctx.actor.user,
    command: ctx.actor.command,
    entity_type: entry.entityType,
    entity_id: entry.entityId === undefined || entry.entityId === null ? null : String(entry.entityId),
    action: entry.action,
    before: toJson(entry.before),
    after: toJson(entry.after),
  });
}

export interface AuditFilter {
  entityType?: string;
  entityId?: string;
  actor?: string;
  action?: string;
  since?: Date;
  until?: Date;
  limit?: number;
}

export async function listAudit(db: Db, filter: AuditFilter = {}): Promise<AuditRow[]> {
  const q = db('audit_log').select('*').orderBy('id', 'desc').limit(filter.limit ?? 50);
  if (filter.entityType) q.where('entity_type', filter.entityType);
  if (filter.entityId) q.where('entity_id', filter.entityId);
  if (filter.actor) q.where('actor', filter.actor);
  if (filter.action) q.where('action', filter.action);
  if (filter.since) q.where('at', '>=', filter.since);
  if (filter.until) q.where('at', '<', filter.until);
  const rows: AuditLogRow[] = await q;
  return rows.map(toAuditRow);
}

function toAuditRow(r: AuditLogRow): AuditRow {
  return {
    id: Number(r.id),
    at: r.at,
    actor: r.actor,
    command: r.command,
    entityType: r.entity_type,
    entityId: r.entity_id ?? null,
    action: r.action,
    before: r.before ?? null,
    after: r.after ?? null,
  };
}

/** One field an audit entry changed: its path (`plan`, `address.city`) and the values before and after. */
export interface AuditChange {
  field: string;
  before: unknown;
  after: unknown;
}

/**
 * What an audit entry changed, field by field: nested objects are followed (`burst.download`),
 * fields equal before and after are left out. A creation has only `after` values, a removal only
 * `before` values (the other side is undefined).
 */
export function auditChanges(before: unknown, after: unknown): AuditChange[] {
  const out: AuditChange[] = [];
  const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Date);
  const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);
  const walk = (path: string, b: unknown, a: unknown) => {
    if (isObject(b) || isObject(a)) {
      const bo = isObject(b) ? b : undefined;
      const ao = isObject(a) ? a : undefined;
      if ((b !== undefined && b !== null && !bo) || (a !== undefined && a !== null && !ao)) {
        if (!same(b, a)) out.push({ field: path || 'value', before: b, after: a });
        return;
      }
      for (const k of [...new Set([...Object.keys(bo ?? {}), ...Object.keys(ao ?? {})])]) walk(path ? `${path}.${k}` : k, bo?.[k], ao?.[k]);
      return;
    }
    if (!same(b, a)) out.push({ field: path || 'value', before: b, after: a });
  };
  walk('', before ?? undefined, after ?? undefined);
  return out;
}
