// Typed database errors. The rest of the code turns them into user-facing conflicts.

export class UniqueViolationError extends Error {
  constructor(
    readonly constraint: string | undefined,
    readonly detail: string | undefined,
    options?: { cause?: unknown },
  ) {
    super(`unique violation${constraint ? ` on ${constraint}` : ''}${detail ? `: ${detail}` : ''}`, options);
    this.name = 'UniqueViolationError';
  }
}

export class SerializationError extends Error {
  constructor(options?: { cause?: unknown }) {
    super('could not serialize access due to concurrent update', options);
    this.name = 'SerializationError';
  }
}

interface PgErrorLike {
  code?: string;
  constraint?: string;
  detail?: string;
}

/** Maps driver errors (pg and PGlite use the same SQLSTATE codes) to typed errors. */
export function mapDbError(err: unknown): unknown {
  const e = err as PgErrorLike;
  if (e && typeof e === 'object') {
    if (e.code === '23505') return new UniqueViolationError(e.constraint, e.detail, { cause: err });
    if (e.code === '40001' || e.code === '40P01') return new SerializationError({ cause: err });
  }
  return err;
}

export function isUniqueViolation(err: unknown, constraint?: string): err is UniqueViolationError {
  const mapped = mapDbError(err);
  return mapped instanceof UniqueViolationError && (constraint === undefined || mapped.constraint === constraint);
}

/**
 * knex writes a failed statement's whole text before the database's message (`<statement> -
 * duplicate key value violates …`). Called for each failed statement (connection.ts): the message
 * goes back to the database's words, and the statement is kept on the error, out of sight (not
 * enumerable, so not in JSON either), for `DEBUG=1` (failedStatement); so are the values PGlite
 * puts on its errors.
 */
export function keepStatementApart(err: unknown, sql: unknown): void {
  if (!err || typeof err !== 'object' || typeof sql !== 'string') return;
  const e = err as { message?: unknown };
  const prefix = `${sql} - `;
  if (typeof e.message === 'string' && e.message.startsWith(prefix)) e.message = e.message.slice(prefix.length);
  Object.defineProperty(err, 'statement', { value: sql, enumerable: false, configurable: true, writable: true });
  // PGlite's errors carry the statement and the values sent with it (`query`, `params`): kept, but
  // out of anything that serialises the error (a value may be a secret).
  for (const key of ['query', 'params']) {
    const d = Object.getOwnPropertyDescriptor(err, key);
    if (d?.enumerable && d.configurable) Object.defineProperty(err, key, { ...d, enumerable: false });
  }
}

/** The statement a database error came from (keepStatementApart), looking through causes. */
export function failedStatement(err: unknown): string | undefined {
  for (let e = err, depth = 0; e && typeof e === 'object' && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    const s = (e as { statement?: unknown }).statement;
    if (typeof s === 'string') return s;
  }
  return undefined;
}

interface DatabaseErrorLike {
  code?: unknown;
  severity?: unknown;
  message?: unknown;
  detail?: unknown;
  hint?: unknown;
}

/**
 * An error the database raised for a statement (a SQLSTATE code and a severity, as pg and PGlite
 * give them) as one sentence, its detail and hint included; undefined for anything else.
 */
export function databaseRefusal(err: unknown): { sqlstate: string; text: string } | undefined {
  const e = err as DatabaseErrorLike;
  if (!e || typeof e !== 'object' || typeof e.code !== 'string' || !/^[0-9A-Z]{5}$/.test(e.code) || typeof e.severity !== 'string') return undefined;
  const message = typeof e.message === 'string' && e.message ? e.message : `error ${e.code}`;
  const clean = (x: unknown) => (typeof x === 'string' && x.trim() !== '' ? x.trim().replace(/\.$/, '') : undefined);
  const detail = clean(e.detail);
  const hint = clean(e.hint);
  return { sqlstate: e.code, text: `${clean(message) ?? message}${detail ? `: ${detail}` : ''}${hint ? ` (${hint})` : ''}` };
}
