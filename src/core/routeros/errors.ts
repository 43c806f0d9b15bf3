// Typed errors of the RouterOS API client. Callers tell failures apart with instanceof or the
// stable `code`; none of these ever carries a password.

/** Base class of every error the RouterOS client raises. */
export class RouterOSError extends Error {
  readonly code: string = 'ROUTEROS_ERROR';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** The byte stream broke the framing rules (control byte, oversize word, bad reply shape). */
export class RouterOSProtocolError extends RouterOSError {
  override readonly code: string = 'ROUTEROS_PROTOCOL';
}

/** Could not open the connection (refused, unreachable, connect timeout, TLS handshake). */
export class RouterOSConnectError extends RouterOSError {
  override readonly code: string = 'ROUTEROS_CONNECT';
}

/** The router refused the user name or password. */
export class RouterOSLoginError extends RouterOSError {
  override readonly code: string = 'ROUTEROS_LOGIN';
}

/** Invalid input to the client (bad command path, attribute name, NUL in a value). */
export class RouterOSArgumentError extends RouterOSError {
  override readonly code: string = 'ROUTEROS_ARGUMENT';
}

/** Trap categories as documented by MikroTik. */
export const TRAP_CATEGORIES: Readonly<Record<number, string>> = {
  0: 'missing item or command',
  1: 'argument value failure',
  2: 'execution of command interrupted',
  3: 'scripting related failure',
  4: 'general failure',
  5: 'API related failure',
  6: 'TTY related failure',
  7: 'value generated with :return command',
};

/** The router answered a command with `!trap` (the command failed; the connection is fine). */
export class RouterOSTrapError extends RouterOSError {
  override readonly code: string = 'ROUTEROS_TRAP';
  /** Trap category (0..7) or undefined when the router sent none. */
  readonly category: number | undefined;
  /** The command's first word, e.g. `/ppp/secret/add`. */
  readonly command: string;
  /** Every attribute of the trap sentence (message, category, and anything else). */
  readonly attributes: Readonly<Record<string, string>>;
  constructor(message: string, category: number | undefined, command: string, attributes: Record<string, string> = {}) {
    super(message);
    this.category = category;
    this.command = command;
    this.attributes = attributes;
  }
}

/** The router sent `!fatal`: every pending command fails and the connection closes. */
export class RouterOSFatalError extends RouterOSError {
  override readonly code: string = 'ROUTEROS_FATAL';
  readonly reason: string;
  constructor(reason: string) {
    super(`router closed the API session: ${reason}`);
    this.reason = reason;
  }
}

/** The connection closed (or failed) before the command completed, or was already closed. */
export class RouterOSConnectionClosedError extends RouterOSError {
  override readonly code: string = 'ROUTEROS_CLOSED';
}

/** A command got no complete reply within its timeout (a `/cancel` was sent for it). */
export class RouterOSTimeoutError extends RouterOSError {
  override readonly code: string = 'ROUTEROS_TIMEOUT';
  readonly timeoutMs: number;
  constructor(message: string, timeoutMs: number) {
    super(message);
    this.timeoutMs = timeoutMs;
  }
}

/** The command was cancelled by the caller with `client.cancel(tag)`. */
export class RouterOSCancelledError extends RouterOSError {
  override readonly code: string = 'ROUTEROS_CANCELLED';
}
