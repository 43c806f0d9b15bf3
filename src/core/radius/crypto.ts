// RADIUS cryptography: authenticators (RFC 2865, 2866, 5176), User-Password hiding (RFC 2865
// section 5.2), CHAP (RFC 1994 as used by RFC 2865) and Message-Authenticator (RFC 3579, 5176).

import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { RadiusEncodeError } from './errors.js';

export const AUTHENTICATOR_LENGTH = 16;
export const MAX_PASSWORD_LENGTH = 128;

export function md5(...parts: readonly Buffer[]): Buffer {
  const h = createHash('md5');
  for (const p of parts) h.update(p);
  return h.digest();
}

export function hmacMd5(key: string | Buffer, data: Buffer): Buffer {
  return createHmac('md5', key).update(data).digest();
}

export function randomAuthenticator(): Buffer {
  return randomBytes(AUTHENTICATOR_LENGTH);
}

/** Compare two digests in constant time; false when their lengths differ. */
export function digestEqual(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

function secretBytes(secret: string): Buffer {
  return Buffer.from(secret, 'utf8');
}

/**
 * Hide a User-Password (RFC 2865 section 5.2): pad with zeros to a multiple of 16 octets, then
 * c(1) = p(1) xor MD5(S + RA), c(i) = p(i) xor MD5(S + c(i-1)).
 */
export function hidePassword(password: string | Buffer, secret: string, requestAuthenticator: Buffer): Buffer {
  const p = typeof password === 'string' ? Buffer.from(password, 'utf8') : password;
  if (p.length > MAX_PASSWORD_LENGTH) {
    throw new RadiusEncodeError(`User-Password is ${p.length} octets long; RADIUS allows at most ${MAX_PASSWORD_LENGTH}`);
  }
  const len = Math.max(16, Math.ceil(p.length / 16) * 16);
  const padded = Buffer.alloc(len);
  p.copy(padded);
  const out = Buffer.alloc(len);
  const s = secretBytes(secret);
  let prev = requestAuthenticator;
  for (let i = 0; i < len; i += 16) {
    const b = md5(s, prev);
    for (let j = 0; j < 16; j++) out[i + j] = padded[i + j]! ^ b[j]!;
    prev = out.subarray(i, i + 16);
  }
  return out;
}

/** Reverse `hidePassword`; trailing zero padding is removed. */
export function unhidePassword(hidden: Buffer, secret: string, requestAuthenticator: Buffer): Buffer {
  const out = Buffer.alloc(hidden.length);
  const s = secretBytes(secret);
  let prev = requestAuthenticator;
  for (let i = 0; i < hidden.length; i += 16) {
    const block = hidden.subarray(i, Math.min(i + 16, hidden.length));
    const b = md5(s, prev);
    for (let j = 0; j < block.length; j++) out[i + j] = block[j]! ^ b[j]!;
    prev = block;
  }
  let end = out.length;
  while (end > 0 && out[end - 1] === 0) end--;
  return out.subarray(0, end);
}

/** The 16-octet CHAP response: MD5(ident + password + challenge). */
export function chapResponse(ident: number, password: string | Buffer, challenge: Buffer): Buffer {
  const p = typeof password === 'string' ? Buffer.from(password, 'utf8') : password;
  return md5(Buffer.from([ident & 0xff]), p, challenge);
}

/** The value of CHAP-Password: the CHAP ident followed by the CHAP response. */
export function chapPassword(ident: number, password: string | Buffer, challenge: Buffer): Buffer {
  return Buffer.concat([Buffer.from([ident & 0xff]), chapResponse(ident, password, challenge)]);
}

/** Check a CHAP-Password value against a cleartext password and the challenge used. */
export function verifyChapPassword(value: Buffer, password: string | Buffer, challenge: Buffer): boolean {
  if (value.length !== 17) return false;
  return digestEqual(value.subarray(1), chapResponse(value[0]!, password, challenge));
}

/**
 * The Request Authenticator of Accounting-Request, CoA-Request and Disconnect-Request:
 * MD5(Code + Identifier + Length + 16 zero octets + Attributes + Secret). `packet` is the whole
 * encoded packet; its authenticator field is ignored (treated as zero).
 */
export function computeRequestAuthenticator(packet: Buffer, secret: string): Buffer {
  const copy = Buffer.from(packet);
  copy.fill(0, 4, 20);
  return md5(copy, secretBytes(secret));
}

/**
 * The Response Authenticator: MD5(Code + Identifier + Length + Request Authenticator + Attributes
 * + Secret). `packet` is the whole encoded response; its authenticator field is ignored.
 */
export function computeResponseAuthenticator(packet: Buffer, requestAuthenticator: Buffer, secret: string): Buffer {
  const copy = Buffer.from(packet);
  requestAuthenticator.copy(copy, 4);
  return md5(copy, secretBytes(secret));
}

/**
 * HMAC-MD5 Message-Authenticator over `packet` with the value of the Message-Authenticator
 * attribute (whose 16 octets start at `valueOffset`) taken as zeros and the authenticator field
 * replaced by `vector`: the random Request Authenticator for Access-Request and Status-Server,
 * 16 zero octets for Accounting-, CoA- and Disconnect-Request, the request's authenticator for
 * responses.
 */
export function computeMessageAuthenticator(packet: Buffer, valueOffset: number, vector: Buffer, secret: string): Buffer {
  const copy = Buffer.from(packet);
  vector.copy(copy, 4);
  copy.fill(0, valueOffset, valueOffset + 16);
  return hmacMd5(secretBytes(secret), copy);
}

export function zeroAuthenticator(): Buffer {
  return Buffer.alloc(AUTHENTICATOR_LENGTH);
}
