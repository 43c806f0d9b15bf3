// Log entries of the daemon. The core never prints: it hands entries to a callback, and the
// command decides where they go and in which format (readable lines or one JSON object a line).

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

export interface LogEntry {
  time: Date;
  level: LogLevel;
  /** The schedule or part that speaks: billing, collections, jobs, health, radius-stale, notifications, daemon. */
  task: string;
  message: string;
  /** Machine-readable facts (counts, ids, router names); never secrets. */
  fields?: Record<string, unknown>;
}

export type DaemonLogger = (entry: LogEntry) => void;

/** A logger for one task: `log.info('message', { fields })`. */
export interface TaskLog {
  debug(message: string, fields?: Record<string, unknown>): void;
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

export function taskLog(logger: DaemonLogger, task: string): TaskLog {
  const emit = (level: LogLevel) => (message: string, fields?: Record<string, unknown>) => {
    logger({ time: new Date(), level, task, message, ...(fields && Object.keys(fields).length ? { fields } : {}) });
  };
  return { debug: emit('debug'), info: emit('info'), warn: emit('warn'), error: emit('error') };
}

/** Drops everything (tests, embedding). */
export const silentLogger: DaemonLogger = () => undefined;

function jsonValue(_key: string, value: unknown): unknown {
  if (typeof value === 'bigint') return value.toString();
  if (value instanceof Error) return value.message;
  return value;
}

/** One JSON object, one line: `{"time":"…","level":"info","task":"billing","message":"…",…fields}`. */
export function formatJsonLine(e: LogEntry): string {
  return JSON.stringify({ time: e.time.toISOString(), level: e.level, task: e.task, message: e.message, ...(e.fields ?? {}) }, jsonValue);
}

function fieldText(v: unknown): string {
  if (typeof v === 'string') return /[\s"=]/.test(v) || v === '' ? JSON.stringify(v) : v;
  if (typeof v === 'bigint') return v.toString();
  if (v instanceof Date) return v.toISOString();
  return JSON.stringify(v, jsonValue);
}

/** A line for people: `2026-11-24T08:00:00.123Z INFO  billing       Generated 120 invoices key=value`. */
export function formatTextLine(e: LogEntry, opts: { fields?: boolean } = {}): string {
  const fields = opts.fields === false || !e.fields ? '' : Object.entries(e.fields).filter(([, v]) => v !== undefined).map(([k, v]) => ` ${k}=${fieldText(v)}`).join('');
  return `${e.time.toISOString()} ${e.level.toUpperCase().padEnd(5)} ${e.task.padEnd(13)} ${e.message}${fields}`;
}
