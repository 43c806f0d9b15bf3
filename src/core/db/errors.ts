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
