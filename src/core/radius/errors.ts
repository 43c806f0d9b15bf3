// Typed errors of the RADIUS codec and transport. They are IspctlErrors, so a command can show
// them with a stable code and exit status.

import { IspctlError, type ErrorKind } from '../errors.js';
import type { RadiusValidationReason } from './validate.js';

export class RadiusError extends IspctlError {
  constructor(code: string, message: string, kind: ErrorKind = 'failure', cause?: unknown, suggestions: string[] = []) {
    super(code, message, { kind, cause, suggestions });
    this.name = 'RadiusError';
  }
}

/** A value cannot be put into a packet (too long, wrong type, unknown name, ...). */
export class RadiusEncodeError extends RadiusError {
  constructor(message: string) {
    super('RADIUS_ENCODE', message, 'invalid');
    this.name = 'RadiusEncodeError';
  }
}

/** Bytes that are not a well-formed RADIUS packet. */
export class RadiusDecodeError extends RadiusError {
  constructor(message: string) {
    super('RADIUS_MALFORMED_PACKET', message);
    this.name = 'RadiusDecodeError';
  }
}

/** No valid response arrived after every retransmission. */
export class RadiusTimeoutError extends RadiusError {
  readonly host: string;
  readonly port: number;
  readonly attempts: number;
  readonly timeoutMs: number;

  constructor(host: string, port: number, attempts: number, timeoutMs: number) {
    super(
      'RADIUS_TIMEOUT',
      `no RADIUS response from ${host}:${port} after ${attempts} attempt${attempts === 1 ? '' : 's'} of ${timeoutMs} ms`,
      'failure',
      undefined,
      [
        'check that the server listens on that address and port',
        'check that the server knows this host as a client (a wrong or unknown client is dropped silently)',
      ],
    );
    this.name = 'RadiusTimeoutError';
    this.host = host;
    this.port = port;
    this.attempts = attempts;
    this.timeoutMs = timeoutMs;
  }
}

/** Responses arrived, but none passed validation (wrong shared secret, most of the time). */
export class RadiusInvalidResponseError extends RadiusError {
  readonly reason: RadiusValidationReason;
  readonly host: string;
  readonly port: number;

  constructor(host: string, port: number, reason: RadiusValidationReason, detail: string) {
    super('RADIUS_INVALID_RESPONSE', `invalid RADIUS response from ${host}:${port}: ${detail}`, 'failure', undefined, [
      'check that both sides use the same shared secret',
    ]);
    this.name = 'RadiusInvalidResponseError';
    this.reason = reason;
    this.host = host;
    this.port = port;
  }
}

/** The socket failed (cannot bind the source address, network unreachable, ...). */
export class RadiusSocketError extends RadiusError {
  constructor(message: string, cause?: unknown) {
    super('RADIUS_SOCKET', message, 'failure', cause);
    this.name = 'RadiusSocketError';
  }
}

/** The caller aborted the request, or closed the client while it was in flight. */
export class RadiusAbortedError extends RadiusError {
  constructor(message = 'RADIUS request aborted') {
    super('RADIUS_ABORTED', message);
    this.name = 'RadiusAbortedError';
  }
}
