// RADIUS over UDP, server side: the lab router's `/radius incoming` (CoA and Disconnect), and a
// test double for any RADIUS peer. Each packet is checked with the secret of the client it came
// from; retransmissions of a request already answered get the same answer again.

import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { isIP } from 'node:net';
import type { RadiusAttribute } from './attributes.js';
import { RESPONSE_CODES, codeName, isRequestCode, type RadiusCode, type RadiusResponseCode } from './codes.js';
import { RadiusError, RadiusSocketError } from './errors.js';
import { encodeResponse, type DecodedRadiusPacket } from './packet.js';
import { validateRequest, type RadiusValidationReason } from './validate.js';
import { describeError } from '../error-text.js';

export interface RadiusPeer {
  readonly address: string;
  readonly port: number;
}

export interface RadiusReply {
  readonly code: RadiusResponseCode;
  readonly attributes?: readonly RadiusAttribute[];
  /** Add a Message-Authenticator (default: yes, except for Accounting-Response). */
  readonly messageAuthenticator?: boolean;
}

/** Answer a validated request, or return undefined to send nothing. */
export type RadiusHandler = (
  request: DecodedRadiusPacket,
  rinfo: RemoteInfo,
) => RadiusReply | undefined | Promise<RadiusReply | undefined>;

/** The shared secret of a client, or undefined if the address is not a client. */
export type RadiusSecretLookup = (client: RadiusPeer) => string | undefined | Promise<string | undefined>;

export type RadiusDropReason =
  | RadiusValidationReason
  /** No secret for the source address. */
  | 'unknown-client'
  /** The handler threw. */
  | 'handler-error'
  /** The handler returned a code that does not answer the request. */
  | 'invalid-reply';

export interface RadiusDropEvent {
  readonly reason: RadiusDropReason;
  readonly message: string;
  readonly client: RadiusPeer;
  readonly code?: RadiusCode;
  readonly identifier?: number;
  readonly error?: unknown;
}

export interface RadiusServerOptions {
  /** Address to listen on. Default 127.0.0.1. */
  host?: string;
  /** Port to listen on; 0 (the default) picks a free one, see listen()'s result. */
  port?: number;
  /** One secret for every client, or a lookup by source address. */
  secret: string | RadiusSecretLookup;
  handler: RadiusHandler;
  /**
   * Require a Message-Authenticator in every request but Accounting-Request. By default it is
   * required in CoA-Request, Disconnect-Request and Status-Server only (see validate.ts).
   */
  requireMessageAuthenticator?: boolean;
  /** How long an answered request is remembered for duplicate detection. Default 10 s. */
  duplicateWindowMs?: number;
  /** Called for every packet dropped without an answer, with the reason. */
  onDrop?: (event: RadiusDropEvent) => void;
}

interface CacheEntry {
  expires: number;
  /** undefined while the handler runs; null when it chose not to answer. */
  reply: Buffer | null | undefined;
}

const PROXY_STATE_TYPE = 33;

export class RadiusServer {
  readonly #options: RadiusServerOptions;
  readonly #cache = new Map<string, CacheEntry>();
  #socket: Socket | undefined;
  #address: RadiusPeer | undefined;

  constructor(options: RadiusServerOptions) {
    this.#options = options;
  }

  /** Start listening; resolves with the bound address and port. */
  async listen(): Promise<RadiusPeer> {
    if (this.#socket) throw new RadiusError('RADIUS_SERVER_STATE', 'RADIUS server is already listening');
    const host = this.#options.host ?? '127.0.0.1';
    const socket = createSocket(isIP(host) === 6 ? 'udp6' : 'udp4');
    await new Promise<void>((resolve, reject) => {
      const onError = (err: Error) => {
        socket.close();
        reject(new RadiusSocketError(`cannot listen for RADIUS on ${host}:${this.#options.port ?? 0}: ${err.message}`, err));
      };
      socket.once('error', onError);
      socket.bind({ address: host, port: this.#options.port ?? 0, exclusive: true }, () => {
        socket.off('error', onError);
        resolve();
      });
    });
    socket.on('error', () => {
      // A UDP server socket reports send errors here; each datagram stands alone, keep serving.
    });
    socket.on('message', (msg: Buffer, rinfo: RemoteInfo) => {
      void this.#onMessage(socket, msg, rinfo);
    });
    const a = socket.address();
    this.#socket = socket;
    this.#address = { address: a.address, port: a.port };
    return this.#address;
  }

  /** The bound address; throws before listen(). */
  address(): RadiusPeer {
    if (!this.#address) throw new RadiusError('RADIUS_SERVER_STATE', 'RADIUS server is not listening');
    return this.#address;
  }

  get port(): number {
    return this.address().port;
  }

  async close(): Promise<void> {
    const socket = this.#socket;
    this.#socket = undefined;
    this.#address = undefined;
    this.#cache.clear();
    if (socket) await new Promise<void>((resolve) => socket.close(() => resolve()));
  }

  #drop(event: RadiusDropEvent): void {
    try {
      this.#options.onDrop?.(event);
    } catch {
      // An observer must not break the server.
    }
  }

  #prune(now: number): void {
    for (const [key, entry] of this.#cache) {
      if (entry.expires > now) break;
      this.#cache.delete(key);
    }
  }

  async #onMessage(socket: Socket, msg: Buffer, rinfo: RemoteInfo): Promise<void> {
    const client: RadiusPeer = { address: rinfo.address, port: rinfo.port };
    const now = Date.now();
    this.#prune(now);
    if (msg.length < 20) {
      this.#drop({ reason: 'malformed', message: `datagram of ${msg.length} octets is too short`, client });
      return;
    }
    const key = `${rinfo.address}|${rinfo.port}|${msg[1]}|${msg.subarray(4, 20).toString('hex')}`;
    const seen = this.#cache.get(key);
    if (seen) {
      // A retransmission: answer as before, or stay silent while the first copy is handled.
      if (seen.reply) socket.send(seen.reply, rinfo.port, rinfo.address);
      return;
    }

    const secretOption = this.#options.secret;
    let secret: string | undefined;
    try {
      secret = typeof secretOption === 'string' ? secretOption : await secretOption(client);
    } catch (error) {
      this.#drop({ reason: 'unknown-client', message: 'secret lookup failed', client, error });
      return;
    }
    if (secret === undefined) {
      this.#drop({ reason: 'unknown-client', message: `no RADIUS client is configured for ${rinfo.address}`, client });
      return;
    }

    const result = validateRequest(
      msg,
      secret,
      this.#options.requireMessageAuthenticator === undefined ? {} : { requireMessageAuthenticator: this.#options.requireMessageAuthenticator },
    );
    if (!result.ok) {
      const code = codeName(msg[0]!);
      this.#drop({ reason: result.reason, message: result.message, client, identifier: msg[1]!, ...(code ? { code } : {}) });
      return;
    }
    const request = result.packet;
    if (!isRequestCode(request.code)) return; // validateRequest already refused responses

    const entry: CacheEntry = { expires: now + (this.#options.duplicateWindowMs ?? 10_000), reply: undefined };
    this.#cache.set(key, entry);

    let reply: RadiusReply | undefined;
    try {
      reply = await this.#options.handler(request, rinfo);
    } catch (error) {
      this.#cache.delete(key); // let a retransmission try again
      this.#drop({
        reason: 'handler-error',
        message: describeError(error),
        client,
        code: request.code,
        identifier: request.identifier,
        error,
      });
      return;
    }
    if (!reply) {
      entry.reply = null;
      return;
    }
    const allowed: readonly RadiusCode[] = RESPONSE_CODES[request.code];
    if (!allowed.includes(reply.code)) {
      this.#cache.delete(key);
      this.#drop({
        reason: 'invalid-reply',
        message: `${reply.code} does not answer ${request.code}`,
        client,
        code: request.code,
        identifier: request.identifier,
      });
      return;
    }
    let attributes = reply.attributes ?? [];
    const proxyStates = request.attributes.filter((a) => a.type === PROXY_STATE_TYPE && a.vendorId === undefined);
    if (proxyStates.length > 0 && !attributes.some((a) => a.type === PROXY_STATE_TYPE && a.vendorId === undefined)) {
      attributes = [...attributes, ...proxyStates]; // RFC 2865: copied unmodified, in order
    }
    let datagram: Buffer;
    try {
      datagram = encodeResponse(
        { code: reply.code, attributes },
        request,
        secret,
        reply.messageAuthenticator === undefined ? {} : { messageAuthenticator: reply.messageAuthenticator },
      );
    } catch (error) {
      this.#cache.delete(key);
      this.#drop({
        reason: 'invalid-reply',
        message: describeError(error),
        client,
        code: request.code,
        identifier: request.identifier,
        error,
      });
      return;
    }
    entry.reply = datagram;
    entry.expires = Date.now() + (this.#options.duplicateWindowMs ?? 10_000);
    // Keep the cache ordered by expiry for #prune().
    this.#cache.delete(key);
    this.#cache.set(key, entry);
    if (this.#socket === socket) socket.send(datagram, rinfo.port, rinfo.address);
  }
}

/** Create a RadiusServer and start listening; `server.address()` tells where. */
export async function startRadiusServer(options: RadiusServerOptions): Promise<RadiusServer> {
  const server = new RadiusServer(options);
  await server.listen();
  return server;
}
