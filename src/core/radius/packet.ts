// RADIUS packet encoding and decoding (RFC 2865 section 3 and 5, vendor-specific attributes in
// the RFC 2865 section 5.26 format), with the authenticators and Message-Authenticator each
// packet kind needs.

import {
  decodeAttributeValue,
  encodeAttributeValue,
  type RadiusAttribute,
} from './attributes.js';
import {
  codeName,
  codeNumber,
  hasComputedRequestAuthenticator,
  isRequestCode,
  type RadiusCode,
  type RadiusRequestCode,
  type RadiusResponseCode,
} from './codes.js';
import {
  AUTHENTICATOR_LENGTH,
  computeMessageAuthenticator,
  computeRequestAuthenticator,
  computeResponseAuthenticator,
  hidePassword,
  randomAuthenticator,
  unhidePassword,
  zeroAuthenticator,
} from './crypto.js';
import {
  MESSAGE_AUTHENTICATOR_TYPE,
  VENDOR_SPECIFIC_TYPE,
  findAttributeByCode,
  isKnownVendor,
  unknownAttributeName,
} from './dictionary.js';
import { RadiusDecodeError, RadiusEncodeError } from './errors.js';

export const HEADER_LENGTH = 20;
export const MAX_PACKET_LENGTH = 4096;
const USER_PASSWORD_TYPE = 2;

export interface RadiusPacket {
  readonly code: RadiusCode;
  /** 0..255 */
  readonly identifier: number;
  /** 16 octets. */
  readonly authenticator: Buffer;
  readonly attributes: readonly RadiusAttribute[];
}

export interface DecodedRadiusPacket extends RadiusPacket {
  /** The packet's octets exactly as received (without any padding after Length). */
  readonly raw: Buffer;
}

interface EncodedAttributes {
  bytes: Buffer;
  /** Offset, within the attribute bytes, of the Message-Authenticator value, if present. */
  messageAuthenticatorOffset?: number;
}

function isMessageAuthenticator(a: RadiusAttribute): boolean {
  return a.type === MESSAGE_AUTHENTICATOR_TYPE && a.vendorId === undefined;
}

function isUserPassword(a: RadiusAttribute): boolean {
  return a.type === USER_PASSWORD_TYPE && a.vendorId === undefined;
}

interface HideContext {
  secret: string;
  authenticator: Buffer;
}

function encodeAttributes(
  attributes: readonly RadiusAttribute[],
  hide: HideContext | undefined,
  keepMessageAuthenticator: boolean,
): EncodedAttributes {
  const parts: Buffer[] = [];
  let offset = 0;
  let maOffset: number | undefined;
  for (const a of attributes) {
    if (!Number.isInteger(a.type) || a.type < 1 || a.type > 255) {
      throw new RadiusEncodeError(`${a.name}: attribute number ${a.type} is not in 1..255`);
    }
    const def = findAttributeByCode(a.type, a.vendorId);
    let data: Buffer;
    if (isMessageAuthenticator(a)) {
      if (maOffset !== undefined) throw new RadiusEncodeError('a packet can carry only one Message-Authenticator');
      // Computed once the whole packet is known, unless the caller wants it kept as given.
      data = keepMessageAuthenticator && Buffer.isBuffer(a.value) && a.value.length === 16 ? a.value : Buffer.alloc(16);
      maOffset = offset + 2;
    } else if (isUserPassword(a) && typeof a.value === 'string') {
      if (!hide) throw new RadiusEncodeError('User-Password needs the shared secret to be hidden');
      data = hidePassword(a.value, hide.secret, hide.authenticator);
    } else {
      data = encodeAttributeValue(def, a.value);
    }
    let encoded: Buffer;
    if (a.vendorId !== undefined) {
      if (data.length > 247) throw new RadiusEncodeError(`${a.name}: value is ${data.length} octets long; at most 247 fit`);
      encoded = Buffer.alloc(8 + data.length);
      encoded[0] = VENDOR_SPECIFIC_TYPE;
      encoded[1] = encoded.length;
      encoded.writeUInt32BE(a.vendorId, 2);
      encoded[6] = a.type;
      encoded[7] = data.length + 2;
      data.copy(encoded, 8);
    } else {
      if (data.length > 253) throw new RadiusEncodeError(`${a.name}: value is ${data.length} octets long; at most 253 fit`);
      encoded = Buffer.alloc(2 + data.length);
      encoded[0] = a.type;
      encoded[1] = encoded.length;
      data.copy(encoded, 2);
    }
    parts.push(encoded);
    offset += encoded.length;
  }
  const out: EncodedAttributes = { bytes: Buffer.concat(parts) };
  if (maOffset !== undefined) out.messageAuthenticatorOffset = maOffset;
  return out;
}

function checkHeader(code: RadiusCode, identifier: number, authenticator: Buffer): void {
  if (codeName(codeNumber(code)) === undefined) throw new RadiusEncodeError(`unknown packet code ${String(code)}`);
  if (!Number.isInteger(identifier) || identifier < 0 || identifier > 255) {
    throw new RadiusEncodeError(`packet identifier ${identifier} is not in 0..255`);
  }
  if (authenticator.length !== AUTHENTICATOR_LENGTH) {
    throw new RadiusEncodeError(`authenticator must be ${AUTHENTICATOR_LENGTH} octets, got ${authenticator.length}`);
  }
}

interface Assembled {
  packet: Buffer;
  /** Offset of the Message-Authenticator value within the packet, if present. */
  maOffset?: number;
}

function assemble(packet: RadiusPacket, hide: HideContext | undefined, keepMessageAuthenticator = false): Assembled {
  checkHeader(packet.code, packet.identifier, packet.authenticator);
  const attrs = encodeAttributes(packet.attributes, hide, keepMessageAuthenticator);
  const length = HEADER_LENGTH + attrs.bytes.length;
  if (length > MAX_PACKET_LENGTH) {
    throw new RadiusEncodeError(`packet would be ${length} octets long; RADIUS allows at most ${MAX_PACKET_LENGTH}`);
  }
  const buf = Buffer.alloc(length);
  buf[0] = codeNumber(packet.code);
  buf[1] = packet.identifier;
  buf.writeUInt16BE(length, 2);
  packet.authenticator.copy(buf, 4);
  attrs.bytes.copy(buf, HEADER_LENGTH);
  const out: Assembled = { packet: buf };
  if (attrs.messageAuthenticatorOffset !== undefined) out.maOffset = HEADER_LENGTH + attrs.messageAuthenticatorOffset;
  return out;
}

/**
 * Encode a packet exactly as given: header, authenticator and attributes; no authenticator is
 * computed. A string User-Password is hidden with `secret` and the packet's authenticator; a
 * Message-Authenticator is written as given (16 zero octets unless its value is 16 octets).
 * Prefer encodeRequest / encodeResponse, which sign the packet.
 */
export function encodePacket(packet: RadiusPacket, options: { secret?: string } = {}): Buffer {
  const hide = options.secret === undefined ? undefined : { secret: options.secret, authenticator: packet.authenticator };
  return assemble(packet, hide, true).packet;
}

/** Whether a request of this kind carries a Message-Authenticator unless told otherwise. */
export function defaultRequestMessageAuthenticator(code: RadiusRequestCode): boolean {
  return code !== 'Accounting-Request';
}

/** Whether a response of this kind carries a Message-Authenticator unless told otherwise. */
export function defaultResponseMessageAuthenticator(code: RadiusResponseCode): boolean {
  return code !== 'Accounting-Response';
}

function withMessageAuthenticator(attributes: readonly RadiusAttribute[], wanted: boolean): readonly RadiusAttribute[] {
  const present = attributes.some(isMessageAuthenticator);
  if (present || !wanted) return attributes;
  // First attribute, as the BlastRADIUS (CVE-2024-3596) guidance recommends.
  return [{ name: 'Message-Authenticator', type: MESSAGE_AUTHENTICATOR_TYPE, value: Buffer.alloc(16) }, ...attributes];
}

export interface RequestInput {
  readonly code: RadiusRequestCode;
  readonly identifier: number;
  readonly attributes: readonly RadiusAttribute[];
  /** Access-Request and Status-Server only: the Request Authenticator (random if omitted). */
  readonly authenticator?: Buffer;
}

export interface SignOptions {
  /**
   * Add a Message-Authenticator (as the first attribute) if the attributes do not already hold
   * one. Default: yes, except for Accounting-Request and Accounting-Response. Status-Server
   * always carries one.
   */
  messageAuthenticator?: boolean;
}

/**
 * Encode and sign a request.
 *
 * - Access-Request, Status-Server: random Request Authenticator; User-Password hidden with it;
 *   Message-Authenticator = HMAC-MD5 over the packet with that authenticator.
 * - Accounting-, CoA-, Disconnect-Request: Message-Authenticator = HMAC-MD5 over the packet with
 *   a zero authenticator field and a zero Message-Authenticator; it is written in, and THEN the
 *   Request Authenticator = MD5(packet with zero authenticator + secret) (RFC 5176 section 3.4).
 */
export function encodeRequest(input: RequestInput, secret: string, options: SignOptions = {}): Buffer {
  const computed = hasComputedRequestAuthenticator(input.code);
  if (computed && input.authenticator) {
    throw new RadiusEncodeError(`${input.code}: the Request Authenticator is computed, it cannot be given`);
  }
  if (computed && input.attributes.some((a) => isUserPassword(a))) {
    throw new RadiusEncodeError(`${input.code} cannot carry a User-Password`);
  }
  const wanted = input.code === 'Status-Server' || (options.messageAuthenticator ?? defaultRequestMessageAuthenticator(input.code));
  const authenticator = computed ? zeroAuthenticator() : (input.authenticator ?? randomAuthenticator());
  const attributes = withMessageAuthenticator(input.attributes, wanted);
  const { packet, maOffset } = assemble(
    { code: input.code, identifier: input.identifier, authenticator, attributes },
    { secret, authenticator },
  );
  if (maOffset !== undefined) computeMessageAuthenticator(packet, maOffset, authenticator, secret).copy(packet, maOffset);
  if (computed) computeRequestAuthenticator(packet, secret).copy(packet, 4);
  return packet;
}

export interface ResponseInput {
  readonly code: RadiusResponseCode;
  readonly attributes?: readonly RadiusAttribute[];
}

/** What a response needs to know about its request. */
export interface RequestRef {
  readonly code?: RadiusCode;
  readonly identifier: number;
  readonly authenticator: Buffer;
}

/**
 * Encode and sign a response to `request`: same identifier; Message-Authenticator = HMAC-MD5
 * over the packet with the request's authenticator in the authenticator field (RFC 3579,
 * RFC 5176); then Response Authenticator = MD5(Code + Id + Length + Request Authenticator +
 * Attributes + secret).
 *
 * An Accounting-Response that answers an Accounting-Request computes its Message-Authenticator
 * (only if asked for) over a zero authenticator field, as FreeRADIUS does and verifies.
 */
export function encodeResponse(input: ResponseInput, request: RequestRef, secret: string, options: SignOptions = {}): Buffer {
  const wanted = options.messageAuthenticator ?? defaultResponseMessageAuthenticator(input.code);
  const attributes = withMessageAuthenticator(input.attributes ?? [], wanted);
  if (attributes.some((a) => isUserPassword(a))) throw new RadiusEncodeError(`${input.code} cannot carry a User-Password`);
  const { packet, maOffset } = assemble(
    { code: input.code, identifier: request.identifier, authenticator: request.authenticator, attributes },
    undefined,
  );
  if (maOffset !== undefined) {
    const vector = responseMessageAuthenticatorVectors(input.code, request)[0]!;
    computeMessageAuthenticator(packet, maOffset, vector, secret).copy(packet, maOffset);
  }
  computeResponseAuthenticator(packet, request.authenticator, secret).copy(packet, 4);
  return packet;
}

/**
 * The authenticator-field contents a response's Message-Authenticator may have been computed
 * with, preferred first. RFC 3579 / 5176 say the request's authenticator; FreeRADIUS 3.x signs
 * CoA/Disconnect ACK/NAK with zeros (and verifies them with the request's authenticator), and
 * signs and verifies Accounting-Response with zeros unless it answers a Status-Server.
 */
export function responseMessageAuthenticatorVectors(code: RadiusResponseCode, request: RequestRef): Buffer[] {
  if (code === 'Accounting-Response' && request.code !== 'Status-Server') return [zeroAuthenticator(), request.authenticator];
  if (code === 'Access-Accept' || code === 'Access-Reject' || code === 'Access-Challenge' || code === 'Accounting-Response') {
    return [request.authenticator];
  }
  return [request.authenticator, zeroAuthenticator()];
}

/** Offset of the Message-Authenticator value in an encoded packet, or undefined. */
export function findMessageAuthenticator(packet: Buffer): number | undefined {
  const length = Math.min(packet.length, packet.length >= 4 ? packet.readUInt16BE(2) : 0);
  let offset = HEADER_LENGTH;
  while (offset + 2 <= length) {
    const type = packet[offset]!;
    const len = packet[offset + 1]!;
    if (len < 2) return undefined;
    if (type === MESSAGE_AUTHENTICATOR_TYPE && len === 18) return offset + 2;
    offset += len;
  }
  return undefined;
}

export interface DecodeOptions {
  /** Unhide the User-Password of an Access-Request with this secret. */
  secret?: string;
}

/**
 * Decode a packet. Throws RadiusDecodeError when the octets are not a well-formed RADIUS packet
 * (RFC 2865 section 3: short, Length larger than the datagram, attributes that do not exactly
 * fill the packet, unknown code). Octets after Length are padding and ignored.
 */
export function decodePacket(datagram: Buffer, options: DecodeOptions = {}): DecodedRadiusPacket {
  if (datagram.length < HEADER_LENGTH) throw new RadiusDecodeError(`packet is ${datagram.length} octets long; the minimum is ${HEADER_LENGTH}`);
  const length = datagram.readUInt16BE(2);
  if (length < HEADER_LENGTH || length > MAX_PACKET_LENGTH) throw new RadiusDecodeError(`Length field ${length} is outside ${HEADER_LENGTH}..${MAX_PACKET_LENGTH}`);
  if (length > datagram.length) throw new RadiusDecodeError(`Length field says ${length} octets but only ${datagram.length} arrived`);
  const raw = Buffer.from(datagram.subarray(0, length));
  const code = codeName(raw[0]!);
  if (!code) throw new RadiusDecodeError(`unknown packet code ${raw[0]}`);
  const authenticator = Buffer.from(raw.subarray(4, 20));
  const attributes: RadiusAttribute[] = [];
  let offset = HEADER_LENGTH;
  while (offset < length) {
    if (offset + 2 > length) throw new RadiusDecodeError(`attribute header at offset ${offset} overflows the packet`);
    const type = raw[offset]!;
    const len = raw[offset + 1]!;
    if (type === 0) throw new RadiusDecodeError(`invalid attribute number 0 at offset ${offset}`);
    if (len < 2) throw new RadiusDecodeError(`attribute ${type} at offset ${offset} has length ${len}`);
    if (offset + len > length) throw new RadiusDecodeError(`attribute ${type} at offset ${offset} overflows the packet`);
    const data = raw.subarray(offset + 2, offset + len);
    if (type === VENDOR_SPECIFIC_TYPE) attributes.push(...decodeVendorSpecific(data));
    else if (type === USER_PASSWORD_TYPE && options.secret !== undefined && code === 'Access-Request') {
      const clear = unhidePassword(data, options.secret, authenticator);
      const s = clear.toString('utf8');
      attributes.push({ name: 'User-Password', type, value: Buffer.from(s, 'utf8').equals(clear) ? s : Buffer.from(clear) });
    } else {
      const def = findAttributeByCode(type);
      attributes.push({ name: def?.name ?? unknownAttributeName(type), type, value: decodeAttributeValue(def, data) });
    }
    offset += len;
  }
  return { code, identifier: raw[1]!, authenticator, attributes, raw };
}

function decodeVendorSpecific(data: Buffer): RadiusAttribute[] {
  const raw = (): RadiusAttribute[] => [{ name: unknownAttributeName(VENDOR_SPECIFIC_TYPE), type: VENDOR_SPECIFIC_TYPE, value: Buffer.from(data) }];
  if (data.length < 4) return raw();
  const vendorId = data.readUInt32BE(0);
  if (!isKnownVendor(vendorId) || data.length < 6) return raw();
  const out: RadiusAttribute[] = [];
  let offset = 4;
  while (offset < data.length) {
    if (offset + 2 > data.length) return raw();
    const type = data[offset]!;
    const len = data[offset + 1]!;
    if (len < 2 || offset + len > data.length) return raw();
    const def = findAttributeByCode(type, vendorId);
    out.push({
      name: def?.name ?? unknownAttributeName(type, vendorId),
      type,
      vendorId,
      value: decodeAttributeValue(def, data.subarray(offset + 2, offset + len)),
    });
    offset += len;
  }
  return out;
}

/** Whether a decoded packet is a request (as opposed to a response). */
export function isRequest(packet: RadiusPacket): packet is RadiusPacket & { code: RadiusRequestCode } {
  return isRequestCode(packet.code);
}
