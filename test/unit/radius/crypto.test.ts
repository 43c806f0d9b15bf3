import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  RadiusEncodeError,
  attr,
  chapPassword,
  computeResponseAuthenticator,
  decodePacket,
  encodePacket,
  encodeRequest,
  encodeResponse,
  getAttribute,
  hidePassword,
  rawAttr,
  unhidePassword,
  validateAccessRequest,
  validateResponse,
  verifyChapPassword,
} from '../../../src/core/radius/index.js';

// RFC 2865 section 7.1: "nemo" logs in with password "arctangent"; shared secret "xyzzy5461".
const RFC_SECRET = 'xyzzy5461';
const RFC_REQUEST = Buffer.from(
  '01000038' +
    '0f403f9473978057bd83d5cb98f4227a' +
    '01066e656d6f' +
    '02120dbe708d93d413ce3196e43f782a0aee' +
    '0406c0a80110' +
    '050600000003',
  'hex',
);
const RFC_ACCEPT = Buffer.from(
  '02000026' + '86fe220e7624ba2a1005f6bf9b55e0b2' + '060600000001' + '0f0600000000' + '0e06c0a80103',
  'hex',
);
const RFC_AUTHENTICATOR = RFC_REQUEST.subarray(4, 20);

describe('RFC 2865 section 7.1 example', () => {
  it('hides "arctangent" exactly as the RFC shows', () => {
    expect(hidePassword('arctangent', RFC_SECRET, RFC_AUTHENTICATOR).toString('hex')).toBe('0dbe708d93d413ce3196e43f782a0aee');
  });

  it('encodes the Access-Request byte for byte', () => {
    const packet = encodePacket(
      {
        code: 'Access-Request',
        identifier: 0,
        authenticator: Buffer.from(RFC_AUTHENTICATOR),
        attributes: [attr('User-Name', 'nemo'), attr('User-Password', 'arctangent'), attr('NAS-IP-Address', '192.168.1.16'), attr('NAS-Port', 3)],
      },
      { secret: RFC_SECRET },
    );
    expect(packet.toString('hex')).toBe(RFC_REQUEST.toString('hex'));
    // The same through encodeRequest with the RFC's authenticator and no Message-Authenticator.
    const signed = encodeRequest(
      {
        code: 'Access-Request',
        identifier: 0,
        authenticator: Buffer.from(RFC_AUTHENTICATOR),
        attributes: [attr('User-Name', 'nemo'), attr('User-Password', 'arctangent'), attr('NAS-IP-Address', '192.168.1.16'), attr('NAS-Port', 3)],
      },
      RFC_SECRET,
      { messageAuthenticator: false },
    );
    expect(signed.equals(RFC_REQUEST)).toBe(true);
  });

  it('decodes the Access-Request and recovers the password', () => {
    const res = validateAccessRequest(RFC_REQUEST, RFC_SECRET);
    expect(res.ok).toBe(true);
    if (!res.ok) return;
    expect(res.packet.identifier).toBe(0);
    expect(getAttribute(res.packet, 'User-Name')).toBe('nemo');
    expect(getAttribute(res.packet, 'User-Password')).toBe('arctangent');
    expect(getAttribute(res.packet, 'NAS-IP-Address')).toBe('192.168.1.16');
    expect(getAttribute(res.packet, 'NAS-Port')).toBe(3);
    // Without the secret the password stays hidden.
    expect(decodePacket(RFC_REQUEST).attributes[1]!.value).toEqual(RFC_REQUEST.subarray(28, 44));
  });

  it('computes and verifies the Access-Accept Response Authenticator', () => {
    expect(computeResponseAuthenticator(RFC_ACCEPT, RFC_AUTHENTICATOR, RFC_SECRET).toString('hex')).toBe('86fe220e7624ba2a1005f6bf9b55e0b2');
    const reply = encodeResponse(
      {
        code: 'Access-Accept',
        // Login-Service (15) and Login-IP-Host (14) are outside the built-in dictionary.
        attributes: [attr('Service-Type', 'Login-User'), rawAttr(15, Buffer.from('00000000', 'hex')), rawAttr(14, Buffer.from('c0a80103', 'hex'))],
      },
      { identifier: 0, authenticator: RFC_AUTHENTICATOR },
      RFC_SECRET,
      { messageAuthenticator: false },
    );
    expect(reply.toString('hex')).toBe(RFC_ACCEPT.toString('hex'));
    // 1998 had no Message-Authenticator, so it has to be optional here.
    const ok = validateResponse(RFC_ACCEPT, { code: 'Access-Request', identifier: 0, authenticator: RFC_AUTHENTICATOR }, RFC_SECRET, {
      requireMessageAuthenticator: false,
    });
    expect(ok.ok).toBe(true);
    if (ok.ok) expect(getAttribute(ok.packet, 'Service-Type')).toBe(1);
    const strict = validateResponse(RFC_ACCEPT, { code: 'Access-Request', identifier: 0, authenticator: RFC_AUTHENTICATOR }, RFC_SECRET);
    expect(strict).toMatchObject({ ok: false, reason: 'missing-message-authenticator' });
  });
});

describe('User-Password hiding (RFC 2865 section 5.2)', () => {
  const secret = 'lab-secret';
  const ra = Buffer.from('00112233445566778899aabbccddeeff', 'hex');

  it('pads to multiples of 16 octets, at least one block', () => {
    expect(hidePassword('', secret, ra)).toHaveLength(16);
    expect(hidePassword('a'.repeat(15), secret, ra)).toHaveLength(16);
    expect(hidePassword('a'.repeat(16), secret, ra)).toHaveLength(16);
    expect(hidePassword('a'.repeat(17), secret, ra)).toHaveLength(32);
    expect(hidePassword('a'.repeat(128), secret, ra)).toHaveLength(128);
  });

  it('chains blocks: c(i) = p(i) xor MD5(S + c(i-1))', () => {
    const p = Buffer.from('0123456789abcdefXYZ');
    const c = hidePassword(p, secret, ra);
    const b1 = createHash('md5').update(secret).update(ra).digest();
    const b2 = createHash('md5').update(secret).update(c.subarray(0, 16)).digest();
    const padded = Buffer.alloc(32);
    p.copy(padded);
    const expected = Buffer.alloc(32);
    for (let i = 0; i < 16; i++) expected[i] = padded[i]! ^ b1[i]!;
    for (let i = 0; i < 16; i++) expected[16 + i] = padded[16 + i]! ^ b2[i]!;
    expect(c.equals(expected)).toBe(true);
  });

  it('refuses passwords longer than 128 octets', () => {
    expect(() => hidePassword('x'.repeat(129), secret, ra)).toThrow(RadiusEncodeError);
  });

  it('round-trips any password without trailing NULs', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 0, maxLength: 128 }).filter((a) => a.length === 0 || a[a.length - 1] !== 0),
        fc.string({ minLength: 1, maxLength: 40 }),
        fc.uint8Array({ minLength: 16, maxLength: 16 }),
        (pw, s, auth) => {
          const hidden = hidePassword(Buffer.from(pw), s, Buffer.from(auth));
          expect(unhidePassword(hidden, s, Buffer.from(auth)).equals(Buffer.from(pw))).toBe(true);
        },
      ),
    );
  });
});

describe('CHAP', () => {
  it('CHAP-Password is the ident followed by MD5(ident + password + challenge)', () => {
    const challenge = Buffer.from('000102030405060708090a0b0c0d0e0f', 'hex');
    const v = chapPassword(0x2a, 'pa55', challenge);
    expect(v).toHaveLength(17);
    expect(v[0]).toBe(0x2a);
    const md5 = createHash('md5').update(Buffer.from([0x2a])).update('pa55').update(challenge).digest();
    expect(v.subarray(1).equals(md5)).toBe(true);
    expect(verifyChapPassword(v, 'pa55', challenge)).toBe(true);
    expect(verifyChapPassword(v, 'pa56', challenge)).toBe(false);
    expect(verifyChapPassword(v.subarray(0, 16), 'pa55', challenge)).toBe(false);
  });
});
