// Message-Authenticator for every packet kind, checked against packets radclient (FreeRADIUS
// 3.2.1) sent and against an HMAC-MD5 computed here independently of the codec.
import { createHash, createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  MESSAGE_AUTHENTICATOR_TYPE,
  attr,
  decodePacket,
  encodeRequest,
  encodeResponse,
  findMessageAuthenticator,
  getAttribute,
  validateAccessRequest,
  validateAccountingRequest,
  validateCoaRequest,
  validateDisconnectRequest,
  validateRequest,
  validateResponse,
  validateStatusServer,
  type RadiusRequestCode,
  type RadiusResponseCode,
} from '../../../src/core/radius/index.js';

const SECRET = 'xyzzy5461';

// Captured from `radclient 127.0.0.1:PORT KIND xyzzy5461` with the attributes shown.
const RADCLIENT = {
  // User-Name="nemo",User-Password="arctangent",NAS-IP-Address=192.168.1.16,NAS-Port=3,Message-Authenticator=0x00
  auth: '015c004a4b74e3fda1075e28b341019e1f88f8e001066e656d6f02125df639bad12247dd33308fa450b99c970406c0a801100506000000035012b79114c1822daa013acf0b7a4f54fa1e',
  // User-Name="nemo",Acct-Session-Id="8100001a",Mikrotik-Rate-Limit="10M/50M",Message-Authenticator=0x00
  coa: '2be70045cc4506adf95ce8a73d361dbd38726a4a01066e656d6f2c0a38313030303031611a0f00003a8c080931304d2f35304d5012825bf69ba448d0f2871aa4e7b0018be3',
  // User-Name="nemo",Acct-Session-Id="8100001a",Framed-IP-Address=10.0.0.5,Message-Authenticator=0x00
  disconnect: '281a003c7f832236916d0ab1a9dcc0278dcc848501066e656d6f2c0a383130303030316108060a000005501291808303fc1b785a5321898058daea8e',
  // User-Name="nemo",Acct-Status-Type=Start,Acct-Session-Id="8100001a",Event-Timestamp=1700000000
  acct: '046300309054744a02a87a5d1815e223754b12c401066e656d6f2806000000012c0a383130303030316137066553f100',
};
const hex = (s: string) => Buffer.from(s, 'hex');

/** HMAC-MD5 over `packet` with `vector` in the authenticator field and the MA value zeroed. */
function independentMa(packet: Buffer, vector: Buffer): Buffer {
  const copy = Buffer.from(packet);
  vector.copy(copy, 4);
  const at = findMessageAuthenticator(copy)!;
  copy.fill(0, at, at + 16);
  return createHmac('md5', SECRET).update(copy).digest();
}

function maOf(packet: Buffer): Buffer {
  const at = findMessageAuthenticator(packet)!;
  return packet.subarray(at, at + 16);
}

describe('packets from radclient', () => {
  it('Access-Request: validates, recovers the password, and re-encodes byte for byte', () => {
    const raw = hex(RADCLIENT.auth);
    const res = validateAccessRequest(raw, SECRET, { requireMessageAuthenticator: true });
    expect(res.ok).toBe(true);
    if (!res.ok) return;
    expect(getAttribute(res.packet, 'User-Password')).toBe('arctangent');
    const again = encodeRequest(
      {
        code: 'Access-Request',
        identifier: res.packet.identifier,
        authenticator: res.packet.authenticator,
        attributes: [
          attr('User-Name', 'nemo'),
          attr('User-Password', 'arctangent'),
          attr('NAS-IP-Address', '192.168.1.16'),
          attr('NAS-Port', 3),
          attr('Message-Authenticator', Buffer.alloc(16)),
        ],
      },
      SECRET,
    );
    expect(again.toString('hex')).toBe(RADCLIENT.auth);
    expect(validateAccessRequest(raw, 'other')).toMatchObject({ ok: false, reason: 'bad-message-authenticator' });
  });

  it('CoA-Request: zero-authenticator Message-Authenticator first, then the Request Authenticator', () => {
    const raw = hex(RADCLIENT.coa);
    const res = validateCoaRequest(raw, SECRET);
    expect(res.ok).toBe(true);
    if (!res.ok) return;
    expect(getAttribute(res.packet, 'Mikrotik-Rate-Limit')).toBe('10M/50M');
    const again = encodeRequest(
      {
        code: 'CoA-Request',
        identifier: res.packet.identifier,
        attributes: [
          attr('User-Name', 'nemo'),
          attr('Acct-Session-Id', '8100001a'),
          attr('Mikrotik-Rate-Limit', '10M/50M'),
          attr('Message-Authenticator', Buffer.alloc(16)),
        ],
      },
      SECRET,
    );
    expect(again.toString('hex')).toBe(RADCLIENT.coa);
    // The Message-Authenticator is over the packet with a zero authenticator field.
    expect(maOf(raw).equals(independentMa(raw, Buffer.alloc(16)))).toBe(true);
    // And the Request Authenticator is over the packet that already holds it.
    const zeroed = Buffer.from(raw);
    zeroed.fill(0, 4, 20);
    expect(createHash('md5').update(zeroed).update(SECRET).digest().equals(raw.subarray(4, 20))).toBe(true);
    expect(validateCoaRequest(raw, 'other')).toMatchObject({ ok: false, reason: 'bad-authenticator' });
  });

  it('Disconnect-Request: validates and re-encodes byte for byte', () => {
    const raw = hex(RADCLIENT.disconnect);
    const res = validateDisconnectRequest(raw, SECRET);
    expect(res.ok).toBe(true);
    if (!res.ok) return;
    const again = encodeRequest(
      {
        code: 'Disconnect-Request',
        identifier: res.packet.identifier,
        attributes: [
          attr('User-Name', 'nemo'),
          attr('Acct-Session-Id', '8100001a'),
          attr('Framed-IP-Address', '10.0.0.5'),
          attr('Message-Authenticator', Buffer.alloc(16)),
        ],
      },
      SECRET,
    );
    expect(again.toString('hex')).toBe(RADCLIENT.disconnect);
  });

  it('Accounting-Request: validates and re-encodes byte for byte', () => {
    const raw = hex(RADCLIENT.acct);
    const res = validateAccountingRequest(raw, SECRET);
    expect(res.ok).toBe(true);
    if (!res.ok) return;
    expect(getAttribute(res.packet, 'Acct-Status-Type')).toBe(1);
    expect(getAttribute(res.packet, 'Event-Timestamp')).toEqual(new Date(1_700_000_000_000));
    const again = encodeRequest(
      {
        code: 'Accounting-Request',
        identifier: res.packet.identifier,
        attributes: [
          attr('User-Name', 'nemo'),
          attr('Acct-Status-Type', 'Start'),
          attr('Acct-Session-Id', '8100001a'),
          attr('Event-Timestamp', new Date(1_700_000_000_000)),
        ],
      },
      SECRET,
    );
    expect(again.toString('hex')).toBe(RADCLIENT.acct);
    expect(validateAccountingRequest(raw, 'other')).toMatchObject({ ok: false, reason: 'bad-authenticator' });
  });

  it('validateRequest dispatches on the code', () => {
    for (const k of ['auth', 'coa', 'disconnect', 'acct'] as const) expect(validateRequest(hex(RADCLIENT[k]), SECRET).ok).toBe(true);
  });
});

describe('Message-Authenticator of every packet kind', () => {
  const requestKinds: RadiusRequestCode[] = ['Access-Request', 'Status-Server', 'Accounting-Request', 'CoA-Request', 'Disconnect-Request'];

  for (const code of requestKinds) {
    it(`${code}: signed, verifiable, and tamper-evident`, () => {
      const attributes = code === 'Status-Server' ? [] : [attr('User-Name', 'alice'), attr('Acct-Session-Id', 's1')];
      const raw = encodeRequest({ code, identifier: 9, attributes }, SECRET, { messageAuthenticator: true });
      const packet = decodePacket(raw);
      // Added as the first attribute.
      expect(packet.attributes[0]!.type).toBe(MESSAGE_AUTHENTICATOR_TYPE);
      const random = code === 'Access-Request' || code === 'Status-Server';
      expect(maOf(raw).equals(independentMa(raw, random ? raw.subarray(4, 20) : Buffer.alloc(16)))).toBe(true);
      expect(validateRequest(raw, SECRET, { requireMessageAuthenticator: true }).ok).toBe(true);
      expect(validateRequest(raw, 'other').ok).toBe(false);
      const tampered = Buffer.from(raw);
      tampered[tampered.length - 1]! ^= 1;
      const res = validateRequest(tampered, SECRET);
      expect(res.ok).toBe(false);
      if (!res.ok) expect(res.reason).toBe(random ? 'bad-message-authenticator' : 'bad-authenticator');
      if (!random) {
        // A forged request with a valid authenticator but a wrong Message-Authenticator.
        const forged = Buffer.from(raw);
        const at = findMessageAuthenticator(forged)!;
        forged[at]! ^= 1;
        forged.fill(0, 4, 20);
        createHash('md5').update(forged).update(SECRET).digest().copy(forged, 4);
        expect(validateRequest(forged, SECRET)).toMatchObject({ ok: false, reason: 'bad-message-authenticator' });
      }
    });
  }

  it('is added by default to Access-, Status-, CoA- and Disconnect-Request but not Accounting-Request', () => {
    const has = (code: RadiusRequestCode) =>
      findMessageAuthenticator(encodeRequest({ code, identifier: 1, attributes: [attr('User-Name', 'a')] }, SECRET)) !== undefined;
    expect(has('Access-Request')).toBe(true);
    expect(has('Status-Server')).toBe(true);
    expect(has('CoA-Request')).toBe(true);
    expect(has('Disconnect-Request')).toBe(true);
    expect(has('Accounting-Request')).toBe(false);
  });

  it('is required in CoA and Disconnect requests by default', () => {
    for (const code of ['CoA-Request', 'Disconnect-Request'] as const) {
      const raw = encodeRequest({ code, identifier: 1, attributes: [attr('User-Name', 'a')] }, SECRET, { messageAuthenticator: false });
      expect(validateRequest(raw, SECRET)).toMatchObject({ ok: false, reason: 'missing-message-authenticator' });
      expect(validateRequest(raw, SECRET, { requireMessageAuthenticator: false }).ok).toBe(true);
    }
    const status = encodeRequest({ code: 'Status-Server', identifier: 1, attributes: [] }, SECRET);
    expect(validateStatusServer(status, SECRET).ok).toBe(true);
  });

  const responses: [RadiusRequestCode, RadiusResponseCode][] = [
    ['Access-Request', 'Access-Accept'],
    ['Access-Request', 'Access-Reject'],
    ['Access-Request', 'Access-Challenge'],
    ['CoA-Request', 'CoA-ACK'],
    ['CoA-Request', 'CoA-NAK'],
    ['Disconnect-Request', 'Disconnect-ACK'],
    ['Disconnect-Request', 'Disconnect-NAK'],
    ['Status-Server', 'Access-Accept'],
    ['Accounting-Request', 'Accounting-Response'],
  ];

  for (const [reqCode, code] of responses) {
    it(`${code} to ${reqCode}: computed over the request's authenticator, then the Response Authenticator`, () => {
      const request = decodePacket(encodeRequest({ code: reqCode, identifier: 77, attributes: [attr('User-Name', 'alice')] }, SECRET));
      const raw = encodeResponse({ code, attributes: [attr('Reply-Message', 'hi')] }, request, SECRET, { messageAuthenticator: true });
      expect(raw[1]).toBe(77);
      // FreeRADIUS signs and checks the Accounting-Response one over a zero authenticator.
      const vector = code === 'Accounting-Response' ? Buffer.alloc(16) : request.authenticator;
      expect(maOf(raw).equals(independentMa(raw, vector))).toBe(true);
      const ra = createHash('md5').update(raw.subarray(0, 4)).update(request.authenticator).update(raw.subarray(20)).update(SECRET).digest();
      expect(ra.equals(raw.subarray(4, 20))).toBe(true);
      expect(validateResponse(raw, request as typeof request & { code: RadiusRequestCode }, SECRET, { requireMessageAuthenticator: true }).ok).toBe(true);
      expect(validateResponse(raw, request as typeof request & { code: RadiusRequestCode }, 'other')).toMatchObject({ ok: false, reason: 'bad-authenticator' });
    });
  }

  it('accepts a CoA-ACK signed the FreeRADIUS 3 way (Message-Authenticator over zeros)', () => {
    const request = decodePacket(encodeRequest({ code: 'CoA-Request', identifier: 5, attributes: [attr('User-Name', 'a')] }, SECRET));
    const raw = encodeResponse({ code: 'CoA-ACK' }, request, SECRET);
    const at = findMessageAuthenticator(raw)!;
    independentMa(raw, Buffer.alloc(16)).copy(raw, at);
    const ra = createHash('md5').update(raw.subarray(0, 4)).update(request.authenticator).update(raw.subarray(20)).update(SECRET).digest();
    ra.copy(raw, 4);
    expect(validateResponse(raw, { code: 'CoA-Request', identifier: 5, authenticator: request.authenticator }, SECRET).ok).toBe(true);
  });

  it('requires a Message-Authenticator in Access-Accept/Reject by default, not in CoA-ACK', () => {
    const request = decodePacket(encodeRequest({ code: 'Access-Request', identifier: 3, attributes: [attr('User-Name', 'a')] }, SECRET));
    const ref = { code: 'Access-Request' as const, identifier: 3, authenticator: request.authenticator };
    const bare = encodeResponse({ code: 'Access-Accept' }, request, SECRET, { messageAuthenticator: false });
    expect(validateResponse(bare, ref, SECRET)).toMatchObject({ ok: false, reason: 'missing-message-authenticator' });
    const coaReq = decodePacket(encodeRequest({ code: 'CoA-Request', identifier: 4, attributes: [attr('User-Name', 'a')] }, SECRET));
    const coaAck = encodeResponse({ code: 'CoA-ACK' }, coaReq, SECRET, { messageAuthenticator: false });
    expect(validateResponse(coaAck, { code: 'CoA-Request', identifier: 4, authenticator: coaReq.authenticator }, SECRET).ok).toBe(true);
  });

  it('rejects responses that do not belong to the request', () => {
    const request = decodePacket(encodeRequest({ code: 'CoA-Request', identifier: 4, attributes: [attr('User-Name', 'a')] }, SECRET));
    const ref = { code: 'CoA-Request' as const, identifier: 4, authenticator: request.authenticator };
    const wrongKind = encodeResponse({ code: 'Disconnect-ACK' }, request, SECRET);
    expect(validateResponse(wrongKind, ref, SECRET)).toMatchObject({ ok: false, reason: 'unexpected-code' });
    const wrongId = encodeResponse({ code: 'CoA-ACK' }, { ...request, identifier: 5 }, SECRET);
    expect(validateResponse(wrongId, ref, SECRET)).toMatchObject({ ok: false, reason: 'identifier-mismatch' });
    expect(validateResponse(Buffer.from('02'), ref, SECRET)).toMatchObject({ ok: false, reason: 'malformed' });
  });

  it('treats two Message-Authenticators or a short one as malformed', () => {
    const one = encodeRequest({ code: 'Access-Request', identifier: 1, attributes: [attr('User-Name', 'a')] }, SECRET);
    const two = Buffer.concat([one, Buffer.from([80, 18, ...Buffer.alloc(16)])]);
    two.writeUInt16BE(two.length, 2);
    expect(validateAccessRequest(two, SECRET)).toMatchObject({ ok: false, reason: 'malformed' });
    const short = Buffer.concat([encodeRequest({ code: 'Access-Request', identifier: 1, attributes: [] }, SECRET, { messageAuthenticator: false }), Buffer.from([80, 6, 0, 0, 0, 0])]);
    short.writeUInt16BE(short.length, 2);
    expect(validateAccessRequest(short, SECRET)).toMatchObject({ ok: false, reason: 'malformed' });
  });
});
