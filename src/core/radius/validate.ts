// Validation of incoming packets: Request/Response Authenticator and Message-Authenticator, per
// packet kind. Each function returns the decoded packet or a typed reason; none throws on bad
// input, since what arrives on a socket is never trusted.

import { RESPONSE_CODES, type RadiusCode, type RadiusRequestCode } from './codes.js';
import { computeMessageAuthenticator, computeRequestAuthenticator, computeResponseAuthenticator, digestEqual } from './crypto.js';
import { MESSAGE_AUTHENTICATOR_TYPE } from './dictionary.js';
import { RadiusDecodeError } from './errors.js';
import {
  HEADER_LENGTH,
  decodePacket,
  responseMessageAuthenticatorVectors,
  type DecodedRadiusPacket,
  type RequestRef,
} from './packet.js';

export type RadiusValidationReason =
  /** Not a well-formed RADIUS packet. */
  | 'malformed'
  /** A well-formed packet of a kind that does not belong here. */
  | 'unexpected-code'
  /** A response whose identifier is not the request's. */
  | 'identifier-mismatch'
  /** Request or Response Authenticator wrong: almost always a wrong shared secret. */
  | 'bad-authenticator'
  /** Message-Authenticator present but wrong (wrong secret, or the packet was altered). */
  | 'bad-message-authenticator'
  /** Message-Authenticator required but absent. */
  | 'missing-message-authenticator';

export type ValidationResult =
  | { readonly ok: true; readonly packet: DecodedRadiusPacket }
  | { readonly ok: false; readonly reason: RadiusValidationReason; readonly message: string };

export interface RequestValidationOptions {
  /**
   * Reject a request without Message-Authenticator. Defaults: CoA-Request, Disconnect-Request
   * and Status-Server yes; Access-Request and Accounting-Request no (a present one is always
   * checked).
   */
  requireMessageAuthenticator?: boolean;
}

export interface ResponseValidationOptions {
  /**
   * Reject a response without Message-Authenticator. Default: yes for the Access-Accept,
   * Access-Reject or Access-Challenge answering an Access-Request (the BlastRADIUS rule); no
   * for the rest (a present one is always checked).
   */
  requireMessageAuthenticator?: boolean;
}

function failure(reason: RadiusValidationReason, message: string): ValidationResult {
  return { ok: false, reason, message };
}

function decode(datagram: Buffer, secret?: string): DecodedRadiusPacket | ValidationResult {
  try {
    return decodePacket(datagram, secret === undefined ? {} : { secret });
  } catch (err) {
    if (err instanceof RadiusDecodeError) return failure('malformed', err.message);
    throw err;
  }
}

function isResult(x: DecodedRadiusPacket | ValidationResult): x is ValidationResult {
  return 'ok' in x;
}

/** Offsets of every Message-Authenticator value, and whether one has a wrong length. */
function messageAuthenticators(raw: Buffer): { offsets: number[]; badLength: boolean } {
  const offsets: number[] = [];
  let badLength = false;
  let offset = HEADER_LENGTH;
  while (offset + 2 <= raw.length) {
    const len = raw[offset + 1]!;
    if (len < 2) break; // cannot happen after decodePacket(); guards the loop anyway
    if (raw[offset] === MESSAGE_AUTHENTICATOR_TYPE) {
      if (len === 18) offsets.push(offset + 2);
      else badLength = true;
    }
    offset += len;
  }
  return { offsets, badLength };
}

function checkMessageAuthenticator(
  packet: DecodedRadiusPacket,
  vectors: readonly Buffer[],
  secret: string,
  required: boolean,
): ValidationResult {
  const { offsets, badLength } = messageAuthenticators(packet.raw);
  if (badLength) return failure('malformed', 'Message-Authenticator must be 16 octets');
  if (offsets.length > 1) return failure('malformed', 'more than one Message-Authenticator');
  const offset = offsets[0];
  if (offset === undefined) {
    return required
      ? failure('missing-message-authenticator', `${packet.code} without the required Message-Authenticator`)
      : { ok: true, packet };
  }
  const given = packet.raw.subarray(offset, offset + 16);
  for (const vector of vectors) {
    if (digestEqual(computeMessageAuthenticator(packet.raw, offset, vector, secret), given)) return { ok: true, packet };
  }
  return failure('bad-message-authenticator', `${packet.code} has an invalid Message-Authenticator (wrong shared secret?)`);
}

function expectCode(packet: DecodedRadiusPacket, code: RadiusCode): ValidationResult | undefined {
  return packet.code === code ? undefined : failure('unexpected-code', `expected ${code}, got ${packet.code}`);
}

function validateComputedRequest(
  datagram: Buffer,
  code: 'Accounting-Request' | 'CoA-Request' | 'Disconnect-Request',
  secret: string,
  required: boolean,
): ValidationResult {
  const packet = decode(datagram);
  if (isResult(packet)) return packet;
  const wrong = expectCode(packet, code);
  if (wrong) return wrong;
  if (!digestEqual(computeRequestAuthenticator(packet.raw, secret), packet.authenticator)) {
    return failure('bad-authenticator', `${code} has an invalid Request Authenticator (wrong shared secret?)`);
  }
  return checkMessageAuthenticator(packet, [Buffer.alloc(16)], secret, required);
}

/**
 * Validate an Access-Request: Message-Authenticator over the packet with its own (random)
 * authenticator. The decoded packet holds the User-Password in clear.
 */
export function validateAccessRequest(datagram: Buffer, secret: string, options: RequestValidationOptions = {}): ValidationResult {
  const packet = decode(datagram, secret);
  if (isResult(packet)) return packet;
  const wrong = expectCode(packet, 'Access-Request');
  if (wrong) return wrong;
  return checkMessageAuthenticator(packet, [packet.authenticator], secret, options.requireMessageAuthenticator ?? false);
}

/** Validate a Status-Server (RFC 5997): Message-Authenticator always required. */
export function validateStatusServer(datagram: Buffer, secret: string): ValidationResult {
  const packet = decode(datagram);
  if (isResult(packet)) return packet;
  const wrong = expectCode(packet, 'Status-Server');
  if (wrong) return wrong;
  return checkMessageAuthenticator(packet, [packet.authenticator], secret, true);
}

/** Validate an Accounting-Request: Request Authenticator, and Message-Authenticator if present. */
export function validateAccountingRequest(datagram: Buffer, secret: string, options: RequestValidationOptions = {}): ValidationResult {
  return validateComputedRequest(datagram, 'Accounting-Request', secret, options.requireMessageAuthenticator ?? false);
}

/** Validate a CoA-Request: Request Authenticator and (by default required) Message-Authenticator. */
export function validateCoaRequest(datagram: Buffer, secret: string, options: RequestValidationOptions = {}): ValidationResult {
  return validateComputedRequest(datagram, 'CoA-Request', secret, options.requireMessageAuthenticator ?? true);
}

/** Validate a Disconnect-Request: Request Authenticator and (by default required) Message-Authenticator. */
export function validateDisconnectRequest(datagram: Buffer, secret: string, options: RequestValidationOptions = {}): ValidationResult {
  return validateComputedRequest(datagram, 'Disconnect-Request', secret, options.requireMessageAuthenticator ?? true);
}

/** Validate any request by its code; responses are rejected as `unexpected-code`. */
export function validateRequest(datagram: Buffer, secret: string, options: RequestValidationOptions = {}): ValidationResult {
  const packet = decode(datagram);
  if (isResult(packet)) return packet;
  switch (packet.code) {
    case 'Access-Request':
      return validateAccessRequest(datagram, secret, options);
    case 'Status-Server':
      return validateStatusServer(datagram, secret);
    case 'Accounting-Request':
      return validateAccountingRequest(datagram, secret, options);
    case 'CoA-Request':
      return validateCoaRequest(datagram, secret, options);
    case 'Disconnect-Request':
      return validateDisconnectRequest(datagram, secret, options);
    default:
      return failure('unexpected-code', `${packet.code} is not a request`);
  }
}

/**
 * Whether a response to this request must carry a Message-Authenticator by default: answers to
 * Access-Request (the BlastRADIUS rule). Not answers to Status-Server: FreeRADIUS 3.2 answers
 * those with a bare Access-Accept.
 */
export function responseRequiresMessageAuthenticator(requestCode: RadiusRequestCode, responseCode: RadiusCode): boolean {
  return (
    requestCode === 'Access-Request' &&
    (responseCode === 'Access-Accept' || responseCode === 'Access-Reject' || responseCode === 'Access-Challenge')
  );
}

/**
 * Validate a response to `request`: a code that answers the request's code, the same
 * identifier, the Response Authenticator, and the Message-Authenticator.
 */
export function validateResponse(
  datagram: Buffer,
  request: RequestRef & { readonly code: RadiusRequestCode },
  secret: string,
  options: ResponseValidationOptions = {},
): ValidationResult {
  const packet = decode(datagram);
  if (isResult(packet)) return packet;
  const allowed = RESPONSE_CODES[request.code];
  if (!(allowed as readonly RadiusCode[]).includes(packet.code)) {
    return failure('unexpected-code', `${packet.code} does not answer ${request.code} (expected ${allowed.join(' or ')})`);
  }
  if (packet.identifier !== request.identifier) {
    return failure('identifier-mismatch', `response identifier ${packet.identifier} does not match request identifier ${request.identifier}`);
  }
  if (!digestEqual(computeResponseAuthenticator(packet.raw, request.authenticator, secret), packet.authenticator)) {
    return failure('bad-authenticator', `${packet.code} has an invalid Response Authenticator (wrong shared secret?)`);
  }
  const required = options.requireMessageAuthenticator ?? responseRequiresMessageAuthenticator(request.code, packet.code);
  const vectors = responseMessageAuthenticatorVectors(packet.code as Exclude<typeof packet.code, RadiusRequestCode>, request);
  return checkMessageAuthenticator(packet, vectors, secret, required);
}
