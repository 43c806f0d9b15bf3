// The UDP client and server over real sockets on 127.0.0.0/8.
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { afterEach, describe, expect, it } from 'vitest';
import {
  RadiusAbortedError,
  RadiusClient,
  RadiusInvalidResponseError,
  RadiusServer,
  RadiusTimeoutError,
  attr,
  decodePacket,
  encodeRequest,
  encodeResponse,
  getAttribute,
  getAttributes,
  radiusRequest,
  startRadiusServer,
  type DecodedRadiusPacket,
  type RadiusDropEvent,
} from '../../../src/core/radius/index.js';

const SECRET = 'unit-secret';
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function udp(address = '127.0.0.1'): Promise<Socket> {
  const s = createSocket('udp4');
  await new Promise<void>((resolve) => s.bind(0, address, resolve));
  cleanups.push(() => new Promise<void>((resolve) => s.close(() => resolve())));
  return s;
}

async function server(options: Partial<ConstructorParameters<typeof RadiusServer>[0]> & Pick<ConstructorParameters<typeof RadiusServer>[0], 'handler'>) {
  const s = await startRadiusServer({ secret: SECRET, ...options });
  cleanups.push(() => s.close());
  return s;
}

function nextMessage(socket: Socket): Promise<[Buffer, RemoteInfo]> {
  return new Promise((resolve) => socket.once('message', (m: Buffer, r: RemoteInfo) => resolve([m, r])));
}

function send(socket: Socket, msg: Buffer, port: number, address = '127.0.0.1'): Promise<void> {
  return new Promise((resolve, reject) => socket.send(msg, port, address, (err) => (err ? reject(err) : resolve())));
}

const delay = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('client and server', () => {
  it('authenticates: the handler sees the password in clear, the client a validated Accept', async () => {
    let seen: DecodedRadiusPacket | undefined;
    const s = await server({
      handler: (req) => {
        seen = req;
        const ok = getAttribute(req, 'User-Password') === 'open sesame';
        return ok ? { code: 'Access-Accept', attributes: [attr('Mikrotik-Rate-Limit', '10M/50M'), attr('Framed-IP-Address', '10.0.0.9')] } : { code: 'Access-Reject' };
      },
    });
    const res = await radiusRequest({
      host: '127.0.0.1',
      port: s.port,
      secret: SECRET,
      packet: { code: 'Access-Request', attributes: [attr('User-Name', 'alice'), attr('User-Password', 'open sesame')] },
    });
    expect(seen?.code).toBe('Access-Request');
    expect(res.packet.code).toBe('Access-Accept');
    expect(getAttribute(res.packet, 'Mikrotik-Rate-Limit')).toBe('10M/50M');
    expect(res.packet.identifier).toBe(res.request.identifier);
    expect(res.attempts).toBe(1);
    const rejected = await radiusRequest({
      host: '127.0.0.1',
      port: s.port,
      secret: SECRET,
      packet: { code: 'Access-Request', attributes: [attr('User-Name', 'alice'), attr('User-Password', 'guess')] },
    });
    expect(rejected.packet.code).toBe('Access-Reject');
  });

  it('retransmits the same packet until answered', async () => {
    const fake = await udp();
    const received: Buffer[] = [];
    fake.on('message', (msg: Buffer, rinfo: RemoteInfo) => {
      received.push(msg);
      if (received.length < 3) return; // drop the first two
      const req = decodePacket(msg);
      fake.send(encodeResponse({ code: 'CoA-ACK' }, req, SECRET), rinfo.port, rinfo.address);
    });
    const res = await radiusRequest({
      host: '127.0.0.1',
      port: fake.address().port,
      secret: SECRET,
      timeoutMs: 100,
      retries: 3,
      packet: { code: 'CoA-Request', attributes: [attr('User-Name', 'alice'), attr('Acct-Session-Id', 's1')] },
    });
    expect(res.packet.code).toBe('CoA-ACK');
    expect(res.attempts).toBe(3);
    expect(received).toHaveLength(3);
    expect(received[1]!.equals(received[0]!)).toBe(true);
    expect(received[2]!.equals(received[0]!)).toBe(true);
  });

  it('times out after every attempt', async () => {
    const silent = await udp();
    const started = Date.now();
    const err = await radiusRequest({
      host: '127.0.0.1',
      port: silent.address().port,
      secret: SECRET,
      timeoutMs: 60,
      retries: 2,
      packet: { code: 'Disconnect-Request', attributes: [attr('User-Name', 'alice')] },
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RadiusTimeoutError);
    expect(err).toMatchObject({ code: 'RADIUS_TIMEOUT', attempts: 3, timeoutMs: 60, port: silent.address().port });
    expect(Date.now() - started).toBeGreaterThanOrEqual(170);
  });

  it('ignores answers from another source, and reports answers that fail validation', async () => {
    const fake = await udp();
    const other = await udp();
    fake.on('message', async (msg: Buffer, rinfo: RemoteInfo) => {
      const req = decodePacket(msg);
      // A correctly signed answer from the wrong port, then one signed with the wrong secret.
      await send(other, encodeResponse({ code: 'CoA-NAK' }, req, SECRET), rinfo.port);
      await send(fake, encodeResponse({ code: 'CoA-ACK' }, req, 'not-the-secret'), rinfo.port);
    });
    const err = await radiusRequest({
      host: '127.0.0.1',
      port: fake.address().port,
      secret: SECRET,
      timeoutMs: 150,
      retries: 0,
      packet: { code: 'CoA-Request', attributes: [attr('User-Name', 'alice')] },
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RadiusInvalidResponseError);
    expect(err).toMatchObject({ reason: 'bad-authenticator', code: 'RADIUS_INVALID_RESPONSE' });
  });

  it('can be aborted', async () => {
    const silent = await udp();
    const controller = new AbortController();
    const p = radiusRequest({
      host: '127.0.0.1',
      port: silent.address().port,
      secret: SECRET,
      timeoutMs: 5000,
      signal: controller.signal,
      packet: { code: 'CoA-Request', attributes: [attr('User-Name', 'alice')] },
    });
    setTimeout(() => controller.abort(), 20);
    await expect(p).rejects.toBeInstanceOf(RadiusAbortedError);
  });

  it('keeps more than 256 requests in flight to one server apart', async () => {
    const s = await server({
      handler: async (req) => {
        await delay(5 + Math.random() * 20);
        return { code: 'CoA-ACK', attributes: [attr('Reply-Message', String(getAttribute(req, 'User-Name')))] };
      },
    });
    const client = new RadiusClient();
    cleanups.push(() => client.close());
    const results = await Promise.all(
      Array.from({ length: 300 }, (_, i) =>
        client.request({
          host: '127.0.0.1',
          port: s.port,
          secret: SECRET,
          timeoutMs: 3000,
          packet: { code: 'CoA-Request', attributes: [attr('User-Name', `u${i}`)] },
        }),
      ),
    );
    expect(results.map((r) => getAttribute(r.packet, 'Reply-Message'))).toEqual(Array.from({ length: 300 }, (_, i) => `u${i}`));
  });

  it('looks the secret up by source address and drops unknown clients', async () => {
    const drops: RadiusDropEvent[] = [];
    const secrets: Record<string, string> = { '127.0.0.1': 'secret-one', '127.0.0.2': 'secret-two' };
    const s = await server({
      secret: ({ address }) => secrets[address],
      onDrop: (e) => drops.push(e),
      handler: (_req, rinfo) => ({ code: 'CoA-ACK', attributes: [attr('Reply-Message', rinfo.address)] }),
    });
    const from2 = await radiusRequest({
      host: '127.0.0.1',
      port: s.port,
      secret: 'secret-two',
      sourceAddress: '127.0.0.2',
      packet: { code: 'CoA-Request', attributes: [attr('User-Name', 'a')] },
    });
    expect(getAttribute(from2.packet, 'Reply-Message')).toBe('127.0.0.2');
    const wrong = await radiusRequest({
      host: '127.0.0.1',
      port: s.port,
      secret: 'secret-one',
      sourceAddress: '127.0.0.2',
      timeoutMs: 100,
      retries: 0,
      packet: { code: 'CoA-Request', attributes: [attr('User-Name', 'a')] },
    }).catch((e: unknown) => e);
    expect(wrong).toBeInstanceOf(RadiusTimeoutError);
    expect(drops.at(-1)).toMatchObject({ reason: 'bad-authenticator', client: { address: '127.0.0.2' } });
    const unknown = await radiusRequest({
      host: '127.0.0.1',
      port: s.port,
      secret: 'secret-one',
      sourceAddress: '127.0.0.3',
      timeoutMs: 100,
      retries: 0,
      packet: { code: 'CoA-Request', attributes: [attr('User-Name', 'a')] },
    }).catch((e: unknown) => e);
    expect(unknown).toBeInstanceOf(RadiusTimeoutError);
    expect(drops.at(-1)).toMatchObject({ reason: 'unknown-client', client: { address: '127.0.0.3' } });
  });
});

describe('server duplicate detection', () => {
  it('answers a retransmission from the cache without running the handler again', async () => {
    let calls = 0;
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const s = await server({
      handler: async () => {
        calls++;
        await gate;
        return { code: 'Disconnect-ACK' };
      },
    });
    const sock = await udp();
    const request = encodeRequest({ code: 'Disconnect-Request', identifier: 17, attributes: [attr('User-Name', 'alice')] }, SECRET);
    const replies: Buffer[] = [];
    sock.on('message', (m: Buffer) => replies.push(m));
    await send(sock, request, s.port);
    await delay(30);
    await send(sock, request, s.port); // while the first is still being handled: dropped
    await delay(30);
    release();
    await delay(30);
    await send(sock, request, s.port); // after: the cached answer
    await delay(50);
    expect(calls).toBe(1);
    expect(replies).toHaveLength(2);
    expect(replies[1]!.equals(replies[0]!)).toBe(true);
    // A new request with the same identifier but a different authenticator is a new request.
    await send(sock, encodeRequest({ code: 'Disconnect-Request', identifier: 17, attributes: [attr('User-Name', 'bob')] }, SECRET), s.port);
    await delay(50);
    expect(calls).toBe(2);
  });

  it('lets a retransmission retry after the handler threw', async () => {
    let calls = 0;
    const drops: RadiusDropEvent[] = [];
    const s = await server({
      onDrop: (e) => drops.push(e),
      handler: () => {
        calls++;
        if (calls === 1) throw new Error('router busy');
        return { code: 'CoA-ACK' };
      },
    });
    const res = await radiusRequest({
      host: '127.0.0.1',
      port: s.port,
      secret: SECRET,
      timeoutMs: 100,
      retries: 2,
      packet: { code: 'CoA-Request', attributes: [attr('User-Name', 'a')] },
    });
    expect(res.packet.code).toBe('CoA-ACK');
    expect(res.attempts).toBe(2);
    expect(drops[0]).toMatchObject({ reason: 'handler-error', message: 'router busy' });
  });
});

describe('server replies', () => {
  it('copies Proxy-State into the reply and refuses a reply of the wrong kind', async () => {
    const drops: RadiusDropEvent[] = [];
    const s = await server({
      onDrop: (e) => drops.push(e),
      handler: (req) => (getAttribute(req, 'User-Name') === 'bad' ? { code: 'Access-Accept' } : { code: 'CoA-NAK', attributes: [attr('Error-Cause', 'Missing-Attribute')] }),
    });
    const res = await radiusRequest({
      host: '127.0.0.1',
      port: s.port,
      secret: SECRET,
      packet: { code: 'CoA-Request', attributes: [attr('User-Name', 'a'), attr('Proxy-State', Buffer.from('p1')), attr('Proxy-State', Buffer.from('p2'))] },
    });
    expect(getAttributes(res.packet, 'Proxy-State')).toEqual([Buffer.from('p1'), Buffer.from('p2')]);
    expect(getAttribute(res.packet, 'Error-Cause')).toBe(402);
    const err = await radiusRequest({
      host: '127.0.0.1',
      port: s.port,
      secret: SECRET,
      timeoutMs: 100,
      retries: 0,
      packet: { code: 'CoA-Request', attributes: [attr('User-Name', 'bad')] },
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RadiusTimeoutError);
    expect(drops.at(-1)).toMatchObject({ reason: 'invalid-reply', message: 'Access-Accept does not answer CoA-Request' });
  });

  it('drops responses and garbage sent to it', async () => {
    const drops: RadiusDropEvent[] = [];
    const s = await server({ onDrop: (e) => drops.push(e), handler: () => ({ code: 'CoA-ACK' }) });
    const sock = await udp();
    await send(sock, Buffer.from('hello'), s.port);
    const req = decodePacket(encodeRequest({ code: 'CoA-Request', identifier: 1, attributes: [] }, SECRET));
    await send(sock, encodeResponse({ code: 'CoA-ACK' }, req, SECRET), s.port);
    await delay(50);
    expect(drops.map((d) => d.reason)).toEqual(['malformed', 'unexpected-code']);
  });

  it('reports a port in use', async () => {
    const s = await server({ handler: () => undefined });
    const again = new RadiusServer({ port: s.port, secret: SECRET, handler: () => undefined });
    await expect(again.listen()).rejects.toMatchObject({ code: 'RADIUS_SOCKET' });
  });
});

describe('a stub NAS round trip', () => {
  it('lets a handler answer accounting', async () => {
    const s = await server({ handler: () => ({ code: 'Accounting-Response' }) });
    const sock = await udp();
    const raw = encodeRequest({ code: 'Accounting-Request', identifier: 3, attributes: [attr('Acct-Status-Type', 'Start')] }, SECRET);
    const reply = nextMessage(sock);
    await send(sock, raw, s.port);
    const [msg] = await reply;
    expect(decodePacket(msg).code).toBe('Accounting-Response');
  });
});
