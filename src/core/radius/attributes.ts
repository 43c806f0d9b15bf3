// Attribute values: building attributes from typed values, encoding them to bytes and decoding
// bytes back to typed values. Anything the dictionary does not know travels as raw octets.

import { isIPv4 } from 'node:net';
import {
  findAttribute,
  findAttributeByCode,
  namedValue,
  unknownAttributeName,
  type AttributeDefinition,
  type AttributeInputOf,
  type AttributeName,
  type AttributeValueOf,
  type RadiusDataType,
} from './dictionary.js';
import { MAX_PASSWORD_LENGTH } from './crypto.js';
import { RadiusEncodeError } from './errors.js';

export type AttributeValue = string | number | Buffer | Date;

export interface RadiusAttribute {
  /** Dictionary name, or `Attr-N` / `Attr-26.VENDOR.N` for attributes the dictionary lacks. */
  readonly name: string;
  /** Attribute number (the vendor's number for a vendor-specific attribute). */
  readonly type: number;
  readonly vendorId?: number;
  /**
   * Typed value (string, number, Date, dotted IPv4 string, Buffer for octets). A Buffer for
   * any other type means raw bytes: an unknown attribute, a value of the wrong length, a
   * User-Password still hidden, or a string that is not valid UTF-8.
   */
  readonly value: AttributeValue;
}

/** Longest attribute value: 255 minus the type and length octets. */
export const MAX_VALUE_LENGTH = 253;
/** Longest vendor-specific value: also minus the vendor id, vendor type and vendor length. */
export const MAX_VSA_VALUE_LENGTH = 247;

/** Build an attribute from the dictionary by name, checking its value. */
export function attr<N extends AttributeName>(name: N, value: AttributeInputOf<N>): RadiusAttribute;
export function attr(name: string, value: AttributeValue): RadiusAttribute;
export function attr(name: string, value: AttributeValue): RadiusAttribute {
  const def = findAttribute(name);
  if (!def) throw new RadiusEncodeError(`unknown RADIUS attribute ${JSON.stringify(name)}; use rawAttr() for attributes outside the dictionary`);
  const normalized = normalizeValue(def, value);
  // Check now, so a bad value fails where it was written rather than when the packet is sent.
  if (def.encrypt && typeof normalized === 'string') {
    const n = Buffer.byteLength(normalized, 'utf8');
    if (n > MAX_PASSWORD_LENGTH) throw new RadiusEncodeError(`${def.name}: ${n} octets long; RADIUS allows at most ${MAX_PASSWORD_LENGTH}`);
  } else {
    encodeAttributeValue(def, normalized);
  }
  return def.vendorId === undefined
    ? { name: def.name, type: def.type, value: normalized }
    : { name: def.name, type: def.type, vendorId: def.vendorId, value: normalized };
}

/** An attribute given by number with raw octets, for anything outside the dictionary. */
export function rawAttr(type: number, value: Buffer, vendorId?: number): RadiusAttribute {
  if (!Number.isInteger(type) || type < 1 || type > 255) throw new RadiusEncodeError(`attribute number ${type} is not in 1..255`);
  if (vendorId !== undefined && (!Number.isInteger(vendorId) || vendorId < 0 || vendorId > 0xffffffff)) {
    throw new RadiusEncodeError(`vendor number ${vendorId} is not a 32-bit unsigned integer`);
  }
  const def = findAttributeByCode(type, vendorId);
  const name = def?.name ?? unknownAttributeName(type, vendorId);
  return vendorId === undefined ? { name, type, value } : { name, type, vendorId, value };
}

function normalizeValue(def: AttributeDefinition, value: AttributeValue): AttributeValue {
  if (def.dataType === 'integer' && typeof value === 'string') {
    const n = namedValue(def.name, value);
    if (n !== undefined) return n;
    if (/^\d+$/.test(value)) return Number(value);
    const known = def.values ? `; known values: ${Object.keys(def.values).join(', ')}` : '';
    throw new RadiusEncodeError(`${def.name}: ${JSON.stringify(value)} is not a number or a named value${known}`);
  }
  return value;
}

function fail(def: AttributeDefinition | undefined, message: string): never {
  throw new RadiusEncodeError(`${def?.name ?? 'attribute'}: ${message}`);
}

/** Encode a value as the octets of an attribute (User-Password is NOT hidden here). */
export function encodeAttributeValue(def: AttributeDefinition | undefined, value: AttributeValue): Buffer {
  let out: Buffer;
  if (Buffer.isBuffer(value)) {
    out = value;
  } else if (!def) {
    fail(def, 'an attribute outside the dictionary needs a Buffer value');
  } else {
    out = encodeTyped(def, def.dataType, value);
  }
  const max = def?.vendorId !== undefined ? MAX_VSA_VALUE_LENGTH : MAX_VALUE_LENGTH;
  if (out.length > max) fail(def, `value is ${out.length} octets long; at most ${max} fit in one attribute`);
  return out;
}

function encodeTyped(def: AttributeDefinition, dataType: RadiusDataType, value: string | number | Date): Buffer {
  switch (dataType) {
    case 'string':
      if (typeof value !== 'string') fail(def, `expected a string, got ${typeof value}`);
      return Buffer.from(value, 'utf8');
    case 'octets':
      if (typeof value === 'string' && /^0x([0-9a-fA-F]{2})*$/.test(value)) return Buffer.from(value.slice(2), 'hex');
      return fail(def, 'expected a Buffer (or a 0x-prefixed hex string)');
    case 'ipaddr': {
      if (typeof value !== 'string' || !isIPv4(value)) fail(def, `expected a dotted IPv4 address, got ${JSON.stringify(value)}`);
      return Buffer.from(value.split('.').map(Number));
    }
    case 'integer': {
      if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > 0xffffffff) {
        fail(def, `expected an integer in 0..4294967295, got ${JSON.stringify(value)}`);
      }
      const b = Buffer.alloc(4);
      b.writeUInt32BE(value);
      return b;
    }
    case 'date': {
      if (!(value instanceof Date) || Number.isNaN(value.getTime())) fail(def, 'expected a valid Date');
      const seconds = Math.floor(value.getTime() / 1000);
      if (seconds < 0 || seconds > 0xffffffff) fail(def, 'date is outside the 32-bit range of seconds since 1970');
      const b = Buffer.alloc(4);
      b.writeUInt32BE(seconds);
      return b;
    }
  }
}

/** Decode attribute octets to a typed value; octets that do not fit the type stay a Buffer. */
export function decodeAttributeValue(def: AttributeDefinition | undefined, data: Buffer): AttributeValue {
  const copy = Buffer.from(data);
  if (!def) return copy;
  switch (def.dataType) {
    case 'string': {
      if (def.encrypt) return copy;
      const s = copy.toString('utf8');
      return Buffer.from(s, 'utf8').equals(copy) ? s : copy;
    }
    case 'octets':
      return copy;
    case 'ipaddr':
      return copy.length === 4 ? Array.from(copy).join('.') : copy;
    case 'integer':
      return copy.length === 4 ? copy.readUInt32BE(0) : copy;
    case 'date':
      return copy.length === 4 ? new Date(copy.readUInt32BE(0) * 1000) : copy;
  }
}

export interface PacketWithAttributes {
  readonly attributes: readonly RadiusAttribute[];
}

function matches(a: RadiusAttribute, def: AttributeDefinition | undefined, name: string): boolean {
  if (def) return a.type === def.type && a.vendorId === def.vendorId;
  return a.name.toLowerCase() === name.toLowerCase();
}

function hasType(def: AttributeDefinition | undefined, v: AttributeValue): boolean {
  if (!def) return true;
  switch (def.dataType) {
    case 'string':
    case 'ipaddr':
      return typeof v === 'string';
    case 'octets':
      return Buffer.isBuffer(v);
    case 'integer':
      return typeof v === 'number';
    case 'date':
      return v instanceof Date;
  }
}

/**
 * The values of every occurrence of an attribute, in packet order. Occurrences whose value did
 * not decode to the attribute's type (see RadiusAttribute.value) are left out.
 */
export function getAttributes<N extends AttributeName>(packet: PacketWithAttributes, name: N): AttributeValueOf<N>[];
export function getAttributes(packet: PacketWithAttributes, name: string): AttributeValue[];
export function getAttributes(packet: PacketWithAttributes, name: string): AttributeValue[] {
  const def = findAttribute(name);
  return packet.attributes.filter((a) => matches(a, def, name) && hasType(def, a.value)).map((a) => a.value);
}

/** The value of the first occurrence of an attribute, or undefined. */
export function getAttribute<N extends AttributeName>(packet: PacketWithAttributes, name: N): AttributeValueOf<N> | undefined;
export function getAttribute(packet: PacketWithAttributes, name: string): AttributeValue | undefined;
export function getAttribute(packet: PacketWithAttributes, name: string): AttributeValue | undefined {
  return getAttributes(packet, name)[0];
}

/** Whether the packet carries the attribute at all (whatever its value). */
export function hasAttribute(packet: PacketWithAttributes, name: AttributeName | string): boolean {
  const def = findAttribute(name);
  return packet.attributes.some((a) => matches(a, def, name));
}

const REDACTED_TYPES: ReadonlySet<number> = new Set([2, 3]); // User-Password, CHAP-Password

/**
 * A plain object of the attributes, for logs and JSON: repeated attributes become arrays,
 * octets become 0x-hex, dates ISO strings; passwords are replaced by `<hidden>`.
 */
export function attributesToObject(attributes: readonly RadiusAttribute[]): Record<string, string | number | (string | number)[]> {
  const out: Record<string, string | number | (string | number)[]> = {};
  for (const a of attributes) {
    const v = a.value;
    const plain =
      a.vendorId === undefined && REDACTED_TYPES.has(a.type)
        ? '<hidden>'
        : Buffer.isBuffer(v)
          ? `0x${v.toString('hex')}`
          : v instanceof Date
            ? v.toISOString()
            : v;
    const prev = out[a.name];
    if (prev === undefined) out[a.name] = plain;
    else if (Array.isArray(prev)) prev.push(plain);
    else out[a.name] = [prev, plain];
  }
  return out;
}
