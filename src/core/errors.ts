// The one error class for what a user can fix. Commands turn it into a message, suggestions and
// an exit code; the core throws it and never prints.

/** What kind of failure, which decides the exit code (see DESIGN.md). */
export type ErrorKind = 'failure' | 'invalid' | 'partial' | 'not_found' | 'conflict';

export const EXIT_CODES: Record<ErrorKind, number> = {
  failure: 1,
  invalid: 2,
  partial: 3,
  not_found: 4,
  conflict: 5,
};

export interface IspctlErrorOptions {
  kind?: ErrorKind;
  suggestions?: string[];
  cause?: unknown;
  /** Extra machine-readable detail for --json output (never secrets). */
  details?: Record<string, unknown>;
}

export class IspctlError extends Error {
  readonly code: string;
  readonly kind: ErrorKind;
  readonly suggestions: string[];
  readonly details?: Record<string, unknown>;

  /**
   * @param code stable, upper snake case identifier, e.g. `INVALID_BILLING_DAY`
   * @param message what was wrong, with which value
   */
  constructor(code: string, message: string, options: IspctlErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'IspctlError';
    this.code = code;
    this.kind = options.kind ?? 'failure';
    this.suggestions = options.suggestions ?? [];
    this.details = options.details;
  }

  get exitCode(): number {
    return EXIT_CODES[this.kind];
  }
}

export function invalid(code: string, message: string, suggestions: string[] = [], details?: Record<string, unknown>): IspctlError {
  return new IspctlError(code, message, { kind: 'invalid', suggestions, details });
}

export function notFound(code: string, message: string, suggestions: string[] = []): IspctlError {
  return new IspctlError(code, message, { kind: 'not_found', suggestions });
}

export function conflict(code: string, message: string, suggestions: string[] = [], details?: Record<string, unknown>): IspctlError {
  return new IspctlError(code, message, { kind: 'conflict', suggestions, details });
}

export function isIspctlError(err: unknown): err is IspctlError {
  return err instanceof IspctlError;
}
