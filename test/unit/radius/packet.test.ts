import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  ERROR_CAUSE,
  MIKROTIK_VENDOR_ID,
  RADIUS_DICTIONARY,
  RadiusDecodeError,
  RadiusEncodeError,
  attr,
  attributesToObject,
  decodePacket,
  encodePacket,
  encodeRequest,
  encodeResponse,
  findAttribute,
  findAttributeByCode,
  getAttribute,
  getAttributes,
  hasAttribute,
  namedValue,
  rawAttr,
  valueName,
  type RadiusAttribute,
  type RadiusPacket,
} from '../../../src/core/radius/index.js';

const AUTH = Buffer.alloc(16, 7);

function roundTrip(attributes: RadiusAttribute[], code: RadiusPacket['code'] = 'Access-Accept') {
  const raw = encodePacket({ code, identifier: 200, authenticator: AUTH, attributes });
  return { raw, packet: decodePacket(raw) };
}

describe('attributes', () => {
  it('round-trips every data type', () => {
    const when = new Date('2024-05-01T10:00:00Z');
    const { packet } = roundTrip([
      attr('User-Name', 'álïce@isp'),
      attr('Framed-IP-Address', '10.0.0.5'),
      attr('Session-Timeout', 4294967295),
      attr('Event-Timestamp', when),
      attr('Class', Buffer.from([0, 1, 2, 255])),
      attr('Acct-Status-Type', 'Interim-Update'),
      attr('Mikrotik-Rate-Limit', '10M/50M'),
      attr('Mikrotik-Host-IP', '192.0.2.1'),
      attr('Mikrotik-Recv-Limit', 1000),
    ]);
    expect(getAttribute(packet, 'User-Name')).toBe('álïce@isp');
    expect(getAttribute(packet, 'Framed-IP-Address')).toBe('10.0.0.5');
    expect(getAttribute(packet, 'Session-Timeout')).toBe(4294967295);
    expect(getAttribute(packet, 'Event-Timestamp')).toEqual(when);
    expect(getAttribute(packet, 'Class')).toEqual(Buffer.from([0, 1, 2, 255]));
    expect(getAttribute(packet, 'Acct-Status-Type')).toBe(3);
    expect(getAttribute(packet, 'Mikrotik-Rate-Limit')).toBe('10M/50M');
    expect(getAttribute(packet, 'Mikrotik-Host-IP')).toBe('192.0.2.1');
    expect(getAttribute(packet, 'Mikrotik-Recv-Limit')).toBe(1000);
    expect(packet.attributes.map((a) => a.name)).toEqual([
      'User-Name',
      'Framed-IP-Address',
      'Session-Timeout',
      'Event-Timestamp',
      'Class',
      'Acct-Status-Type',
      'Mikrotik-Rate-Limit',
      'Mikrotik-Host-IP',
      'Mikrotik-Recv-Limit',
    ]);
  });

  it('encodes a MikroTik VSA in the RFC 2865 format', () => {
    const { raw } = roundTrip([attr('Mikrotik-Rate-Limit', '10M/50M')]);
    // 26, length 15, vendor 14988, vendor type 8, vendor length 9, "10M/50M"
    expect(raw.subarray(20).toString('hex')).toBe('1a0f00003a8c0809' + Buffer.from('10M/50M').toString('hex'));
  });

  it('decodes several sub-attributes in one Vendor-Specific attribute', () => {
    const vsa = Buffer.from('1a1600003a8c0809' + Buffer.from('10M/50M').toString('hex') + '0306' + Buffer.from('gold').toString('hex'), 'hex');
    vsa[1] = vsa.length;
    const raw = Buffer.concat([Buffer.from([2, 1, 0, 0]), AUTH, vsa]);
    raw.writeUInt16BE(raw.length, 2);
    const packet = decodePacket(raw);
    expect(getAttribute(packet, 'Mikrotik-Rate-Limit')).toBe('10M/50M');
    expect(getAttribute(packet, 'Mikrotik-Group')).toBe('gold');
  });

  it('keeps unknown attributes, vendors and vendor types as raw octets that round-trip', () => {
    const attrs = [
      rawAttr(99, Buffer.from('abc')),
      rawAttr(26, Buffer.from('000000090101ff', 'hex')), // Cisco (9), not in the dictionary: whole VSA
      rawAttr(200, Buffer.from('xyz'), MIKROTIK_VENDOR_ID),
    ];
    const { raw, packet } = roundTrip(attrs);
    expect(packet.attributes.map((a) => a.name)).toEqual(['Attr-99', 'Attr-26', 'Attr-26.14988.200']);
    expect(packet.attributes.map((a) => a.value)).toEqual(attrs.map((a) => a.value));
    expect(encodePacket({ ...packet, attributes: packet.attributes }).equals(raw)).toBe(true);
  });

  it('keeps values of the wrong length or invalid UTF-8 as octets', () => {
    const raw = Buffer.concat([Buffer.from([2, 1, 0, 0]), AUTH, Buffer.from('0805010203' + '0104ff fe'.replace(/ /g, '') + '1b03 07'.replace(/ /g, ''), 'hex')]);
    raw.writeUInt16BE(raw.length, 2);
    const packet = decodePacket(raw);
    expect(packet.attributes[0]!.value).toEqual(Buffer.from('010203', 'hex'));
    expect(packet.attributes[1]!.value).toEqual(Buffer.from('fffe', 'hex'));
    expect(packet.attributes[2]!.value).toEqual(Buffer.from('07', 'hex'));
    // Typed getters skip them rather than return a value of the wrong type.
    expect(getAttribute(packet, 'Framed-IP-Address')).toBeUndefined();
    expect(getAttribute(packet, 'User-Name')).toBeUndefined();
    expect(hasAttribute(packet, 'User-Name')).toBe(true);
    expect(encodePacket(packet).equals(raw)).toBe(true);
  });

  it('accepts named values case-insensitively and numbers as strings', () => {
    expect(attr('NAS-Port-Type', 'ethernet').value).toBe(15);
    expect(attr('Error-Cause', 'Session-Context-Not-Found').value).toBe(503);
    expect(attr('Acct-Status-Type', '7').value).toBe(7);
    expect(ERROR_CAUSE['Invalid-Request']).toBe(404);
    expect(valueName('Error-Cause', 506)).toBe('Resources-Unavailable');
    expect(namedValue('Acct-Terminate-Cause', 'Admin-Reset')).toBe(6);
    expect(findAttribute('mikrotik-rate-limit')?.type).toBe(8);
    expect(findAttributeByCode(19, MIKROTIK_VENDOR_ID)?.name).toBe('Mikrotik-Address-List');
  });

  it('refuses values that do not fit', () => {
    expect(() => attr('Acct-Status-Type', 'Begin' as never)).toThrow(RadiusEncodeError);
    expect(() => attr('Framed-IP-Address', '10.0.0.256')).toThrow(/IPv4/);
    expect(() => attr('Framed-IP-Address', '::1')).toThrow(RadiusEncodeError);
    expect(() => attr('Session-Timeout', -1)).toThrow(RadiusEncodeError);
    expect(() => attr('Session-Timeout', 2 ** 32)).toThrow(RadiusEncodeError);
    expect(() => attr('Session-Timeout', 1.5)).toThrow(RadiusEncodeError);
    expect(() => attr('User-Name', 'x'.repeat(254))).toThrow(/253/);
    expect(() => attr('Mikrotik-Rate-Limit', 'x'.repeat(248))).toThrow(/247/);
    expect(() => attr('Event-Timestamp', new Date('invalid'))).toThrow(RadiusEncodeError);
    expect(() => attr('No-Such-Attribute' as never, 'x')).toThrow(/unknown RADIUS attribute/);
    expect(() => rawAttr(0, Buffer.alloc(1))).toThrow(RadiusEncodeError);
    expect(attr('User-Name', 'x'.repeat(253)).value).toHaveLength(253);
  });

  it('reads repeated attributes in order, and renders them for JSON without passwords', () => {
    const { packet } = roundTrip(
      [
        attr('User-Name', 'a'),
        attr('User-Password', Buffer.alloc(16)),
        attr('Reply-Message', 'one'),
        attr('Reply-Message', 'two'),
        attr('Class', Buffer.from('ab', 'hex')),
      ],
      'Access-Request',
    );
    expect(getAttributes(packet, 'Reply-Message')).toEqual(['one', 'two']);
    expect(attributesToObject(packet.attributes)).toEqual({
      'User-Name': 'a',
      'User-Password': '<hidden>',
      'Reply-Message': ['one', 'two'],
      Class: '0xab',
    });
  });
});

describe('packets', () => {
  it('round-trips random attribute lists byte for byte', () => {
    const value = fc.oneof(
      fc.string({ maxLength: 60 }).map((s) => attr('User-Name', s)),
      fc.uint8Array({ maxLength: 60 }).map((b) => attr('State', Buffer.from(b))),
      fc.ipV4().map((ip) => attr('Framed-IP-Address', ip)),
      fc.integer({ min: 0, max: 0xffffffff }).map((n) => attr('Acct-Input-Octets', n)),
      fc.integer({ min: 0, max: 0xffffffff }).map((n) => attr('Event-Timestamp', new Date(n * 1000))),
      fc.string({ maxLength: 60 }).map((s) => attr('Mikrotik-Address-List', s)),
      fc.tuple(fc.integer({ min: 1, max: 255 }).filter((t) => !findAttributeByCode(t) && t !== 26), fc.uint8Array({ maxLength: 30 })).map(([t, b]) => rawAttr(t, Buffer.from(b))),
    );
    fc.assert(
      fc.property(fc.array(value, { maxLength: 30 }), fc.integer({ min: 0, max: 255 }), (attributes, identifier) => {
        const raw = encodePacket({ code: 'CoA-Request', identifier, authenticator: AUTH, attributes });
        const decoded = decodePacket(raw);
        expect(decoded.identifier).toBe(identifier);
        expect(decoded.code).toBe('CoA-Request');
        expect(decoded.attributes.map((a) => a.value)).toEqual(attributes.map((a) => a.value));
        expect(encodePacket(decoded).equals(raw)).toBe(true);
      }),
    );
  });

  it('knows every packet code', () => {
    const codes = {
      'Access-Request': 1,
      'Access-Accept': 2,
      'Access-Reject': 3,
      'Accounting-Request': 4,
      'Accounting-Response': 5,
      'Access-Challenge': 11,
      'Status-Server': 12,
      'Disconnect-Request': 40,
      'Disconnect-ACK': 41,
      'Disconnect-NAK': 42,
      'CoA-Request': 43,
      'CoA-ACK': 44,
      'CoA-NAK': 45,
    } as const;
    for (const [code, n] of Object.entries(codes)) {
      const raw = encodePacket({ code: code as keyof typeof codes, identifier: 1, authenticator: AUTH, attributes: [] });
      expect(raw[0]).toBe(n);
      expect(decodePacket(raw).code).toBe(code);
    }
  });

  it('ignores padding after Length and rejects malformed packets', () => {
    const good = encodePacket({ code: 'Access-Accept', identifier: 1, authenticator: AUTH, attributes: [attr('User-Name', 'a')] });
    expect(decodePacket(Buffer.concat([good, Buffer.alloc(5)])).raw.equals(good)).toBe(true);
    const bad = (mutate: (b: Buffer) => Buffer) => () => decodePacket(mutate(Buffer.from(good)));
    expect(bad((b) => b.subarray(0, 19))).toThrow(RadiusDecodeError);
    expect(bad((b) => (b.writeUInt16BE(b.length + 1, 2), b))).toThrow(/only/);
    expect(bad((b) => (b.writeUInt16BE(19, 2), b))).toThrow(RadiusDecodeError);
    expect(bad((b) => ((b[0] = 99), b))).toThrow(/unknown packet code 99/);
    expect(bad((b) => ((b[21] = 1), b))).toThrow(/length 1/);
    expect(bad((b) => ((b[21] = 9), b))).toThrow(/overflows/);
    expect(bad((b) => ((b[20] = 0), b))).toThrow(/attribute number 0/);
    expect(bad((b) => Buffer.concat([b.subarray(0, 2), Buffer.from([0, 24]), b.subarray(4), Buffer.from([1])]))).toThrow(/overflows/);
  });

  it('refuses packets that cannot be encoded', () => {
    const many = Array.from({ length: 17 }, () => attr('Reply-Message', 'x'.repeat(253)));
    expect(() => encodePacket({ code: 'Access-Accept', identifier: 1, authenticator: AUTH, attributes: many })).toThrow(/4096/);
    expect(() => encodePacket({ code: 'Access-Accept', identifier: 256, authenticator: AUTH, attributes: [] })).toThrow(/identifier/);
    expect(() => encodePacket({ code: 'Access-Accept', identifier: 1, authenticator: Buffer.alloc(15), attributes: [] })).toThrow(/16 octets/);
    expect(() => encodeRequest({ code: 'CoA-Request', identifier: 1, attributes: [attr('User-Password', 'x')] }, 's')).toThrow(/User-Password/);
    expect(() => encodeRequest({ code: 'CoA-Request', identifier: 1, authenticator: AUTH, attributes: [] }, 's')).toThrow(/computed/);
    expect(() =>
      encodeRequest({ code: 'Access-Request', identifier: 1, attributes: [attr('Message-Authenticator', Buffer.alloc(16)), attr('Message-Authenticator', Buffer.alloc(16))] }, 's'),
    ).toThrow(/only one/);
    expect(() => encodePacket({ code: 'Access-Request', identifier: 1, authenticator: AUTH, attributes: [attr('User-Password', 'x')] })).toThrow(/secret/);
  });

  it('answers with the request identifier', () => {
    const req = decodePacket(encodeRequest({ code: 'Access-Request', identifier: 42, attributes: [attr('User-Name', 'a')] }, 's'));
    const res = decodePacket(encodeResponse({ code: 'Access-Reject', attributes: [attr('Reply-Message', 'no')] }, req, 's'));
    expect(res.identifier).toBe(42);
    expect(res.code).toBe('Access-Reject');
    expect(getAttribute(res, 'Reply-Message')).toBe('no');
  });
});

// The built-in dictionary must agree with the one FreeRADIUS reads radreply/radacct values with.
const FR_DICT = '/usr/share/freeradius';
describe.skipIf(!existsSync(FR_DICT))('dictionary agrees with FreeRADIUS', () => {
  const files = ['dictionary.rfc2865', 'dictionary.rfc2866', 'dictionary.rfc2869', 'dictionary.rfc3576', 'dictionary.rfc5176', 'dictionary.mikrotik'];
  const attrs = new Map<string, { type: number; dataType: string; vendor: boolean }>();
  const values = new Map<string, Map<string, number>>();
  for (const f of files) {
    let vendor = false;
    for (const line of readFileSync(join(FR_DICT, f), 'utf8').split('\n')) {
      const w = line.replace(/#.*/, '').trim().split(/\s+/);
      if (w[0] === 'BEGIN-VENDOR') vendor = true;
      if (w[0] === 'END-VENDOR') vendor = false;
      if (w[0] === 'ATTRIBUTE') attrs.set(w[1]!, { type: Number(w[2]), dataType: w[3]!, vendor });
      if (w[0] === 'VALUE') {
        const m = values.get(w[1]!) ?? new Map<string, number>();
        m.set(w[2]!, Number(w[3]));
        values.set(w[1]!, m);
      }
    }
  }

  for (const [name, spec] of Object.entries(RADIUS_DICTIONARY)) {
    it(name, () => {
      const fr = attrs.get(name);
      expect(fr, `${name} missing from FreeRADIUS dictionaries`).toBeDefined();
      expect(fr!.type).toBe(spec.type);
      expect(fr!.dataType).toBe(spec.dataType);
      expect(fr!.vendor).toBe('vendorId' in spec);
      if ('values' in spec) for (const [k, v] of Object.entries(spec.values)) expect(values.get(name)?.get(k), `${name} ${k}`).toBe(v);
    });
  }
});
