// RADIUS over UDP, client side: identifiers per destination, retransmission of the same packet,
// responses matched by identifier and source, then validated before they are returned.

import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import type { RadiusAttribute } from './attributes.js';
import type { RadiusRequestCode } from './codes.js';
import { RadiusAbortedError, RadiusError, RadiusInvalidResponseError, RadiusSocketError, RadiusTimeoutError } from './errors.js';
import { decodePacket, encodeRequest, type DecodedRadiusPacket } from './packet.js';
import { validateResponse, type RadiusValidationReason } from './validate.js';

export const DEFAULT_TIMEOUT_MS = 3000;
export const DEFAULT_RETRIES = 2;

export interface RadiusRequestPacket {
  readonly code: RadiusRequestCode;
  readonly attributes: readonly RadiusAttribute[];
}

export interface RadiusSendOptions {
  host: string;
  port: number;
  secret: string;
  packet: RadiusRequestPacket;
  /** How long to wait for a response to each transmission. Default 3000 ms. */
  timeoutMs?: number;
  /** Retransmissions after the first attempt. Default 2 (three attempts). */
  retries?: number;
  /** Add a Message-Authenticator to the request (see SignOptions; default yes except accounting). */
  messageAuthenticator?: boolean;
  /** Require a Message-Authenticator in the response (see ResponseValidationOptions). */
  requireResponseMessageAuthenticator?: boolean;
  signal?: AbortSignal;
}

export interface RadiusRequestOptions extends RadiusSendOptions {
  /** Local address to send from (the NAS address a server expects, for instance). */
  sourceAddress?: string;
}

export interface RadiusResponse {
  /** The validated response. */
  readonly packet: DecodedRadiusPacket;
  /** The request as sent (User-Password still hidden). */
  readonly request: DecodedRadiusPacket;
  /** Transmissions made, 1 when the first one was answered. */
  readonly attempts: number;
  readonly elapsedMs: number;
}

export interface RadiusClientOptions {
  /** Local address to bind (default: any). Its family decides the family of every request. */
  sourceAddress?: string;
  /** Local port to bind (default: ephemeral). */
  sourcePort?: number;
}

type Family = 'udp4' | 'udp6';

interface Pending {
  key: string;
  onResponse(msg: Buffer): void;
}

function positiveInt(name: string, v: number, min: number): number {
  if (!Number.isInteger(v) || v < min) throw new RadiusError('RADIUS_BAD_OPTION', `${name} must be an integer >= ${min}, got ${v}`, 'invalid');
  return v;
}

/**
 * A RADIUS client on one UDP socket (per address family). Up to 256 requests per destination
 * may be in flight; more wait for a free identifier. Call close() when done.
 */
export class RadiusClient {
  readonly #options: RadiusClientOptions;
  readonly #sockets = new Map<Family, Promise<Socket>>();
  readonly #pending = new Map<string, Pending>();
  readonly #inUse = new Map<string, Set<number>>();
  readonly #waiters = new Map<string, (() => void)[]>();
  readonly #aborts = new Set<(err: Error) => void>();
  #closed = false;

  constructor(options: RadiusClientOptions = {}) {
    this.#options = options;
  }

  async request(options: RadiusSendOptions): Promise<RadiusResponse> {
    if (this.#closed) throw new RadiusAbortedError('RADIUS client is closed');
    const timeoutMs = positiveInt('timeoutMs', options.timeoutMs ?? DEFAULT_TIMEOUT_MS, 1);
    const retries = positiveInt('retries', options.retries ?? DEFAULT_RETRIES, 0);
    positiveInt('port', options.port, 1);
    if (options.port > 65535) throw new RadiusError('RADIUS_BAD_OPTION', `port must be at most 65535, got ${options.port}`, 'invalid');
    options.signal?.throwIfAborted?.();

    const address = await this.#resolve(options.host);
    const family: Family = isIP(this.#options.sourceAddress ?? address) === 6 ? 'udp6' : 'udp4';
    const socket = await this.#socket(family);
    const dest = `${address}|${options.port}`;
    const identifier = await this.#allocate(dest, options.signal);
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      this.#free(dest, identifier);
    };

    let datagram: Buffer;
    try {
      datagram = encodeRequest({ code: options.packet.code, identifier, attributes: options.packet.attributes }, options.secret, {
        ...(options.messageAuthenticator === undefined ? {} : { messageAuthenticator: options.messageAuthenticator }),
      });
    } catch (err) {
      release();
      throw err;
    }
    const request = decodePacket(datagram);
    const ref = { code: options.packet.code, identifier, authenticator: request.authenticator };
    const started = Date.now();
    const key = `${dest}|${identifier}`;
    const maxAttempts = retries + 1;

    return new Promise<RadiusResponse>((resolve, reject) => {
      let attempts = 0;
      let timer: NodeJS.Timeout | undefined;
      let invalid: { reason: RadiusValidationReason; message: string } | undefined;

      const finish = (err: Error | undefined, response?: RadiusResponse) => {
        if (timer) clearTimeout(timer);
        this.#pending.delete(key);
        this.#aborts.delete(abortAll);
        options.signal?.removeEventListener('abort', onAbort);
        release();
        if (err) reject(err);
        else resolve(response!);
      };
      const abortAll = (err: Error) => finish(err);
      const onAbort = () => finish(new RadiusAbortedError());

      const transmit = () => {
        attempts++;
        socket.send(datagram, options.port, address, (err) => {
          if (err && this.#pending.get(key) === pending) {
            finish(new RadiusSocketError(`cannot send to ${options.host}:${options.port}: ${err.message}`, err));
          }
        });
        timer = setTimeout(onTimeout, timeoutMs);
      };
      const onTimeout = () => {
        if (attempts < maxAttempts) return transmit();
        if (invalid) finish(new RadiusInvalidResponseError(options.host, options.port, invalid.reason, invalid.message));
        else finish(new RadiusTimeoutError(options.host, options.port, attempts, timeoutMs));
      };
      const pending: Pending = {
        key,
        onResponse: (msg) => {
          const result = validateResponse(msg, ref, options.secret, {
            ...(options.requireResponseMessageAuthenticator === undefined
              ? {}
              : { requireMessageAuthenticator: options.requireResponseMessageAuthenticator }),
          });
          if (!result.ok) {
            // RFC 2865: an invalid response is silently discarded; a valid one may still come.
            invalid = { reason: result.reason, message: result.message };
            return;
          }
          finish(undefined, { packet: result.packet, request, attempts, elapsedMs: Date.now() - started });
        },
      };

      this.#pending.set(key, pending);
      this.#aborts.add(abortAll);
      options.signal?.addEventListener('abort', onAbort, { once: true });
      transmit();
    });
  }

  /** Close the sockets; requests still in flight fail with RadiusAbortedError. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const abort of [...this.#aborts]) abort(new RadiusAbortedError('RADIUS client closed'));
    for (const waiters of this.#waiters.values()) for (const w of waiters) w();
    this.#waiters.clear();
    const sockets = [...this.#sockets.values()];
    this.#sockets.clear();
    await Promise.all(
      sockets.map(async (p) => {
        const s = await p.catch(() => undefined);
        if (s) await new Promise<void>((resolve) => s.close(() => resolve()));
      }),
    );
  }

  async #resolve(host: string): Promise<string> {
    if (isIP(host)) return host;
    try {
      const family = this.#options.sourceAddress ? isIP(this.#options.sourceAddress) : 0;
      return (await lookup(host, family === 4 || family === 6 ? { family } : {})).address;
    } catch (err) {
      throw new RadiusSocketError(`cannot resolve RADIUS host ${JSON.stringify(host)}`, err);
    }
  }

  #socket(family: Family): Promise<Socket> {
    let p = this.#sockets.get(family);
    if (!p) {
      p = new Promise<Socket>((resolve, reject) => {
        const socket = createSocket(family);
        const onError = (err: Error) => {
          this.#sockets.delete(family);
          socket.close();
          const where = `${this.#options.sourceAddress ?? 'any address'}:${this.#options.sourcePort ?? 0}`;
          reject(new RadiusSocketError(`cannot bind a RADIUS client socket to ${where}: ${err.message}`, err));
        };
        socket.once('error', onError);
        socket.bind({ port: this.#options.sourcePort ?? 0, ...(this.#options.sourceAddress ? { address: this.#options.sourceAddress } : {}) }, () => {
          socket.off('error', onError);
          socket.on('error', () => {
            // Errors of individual sends are reported through send()'s callback.
          });
          socket.on('message', (msg: Buffer, rinfo: RemoteInfo) => this.#onMessage(msg, rinfo));
          // Pending requests keep the process alive through their timers, not the socket.
          socket.unref();
          resolve(socket);
        });
      });
      this.#sockets.set(family, p);
    }
    return p;
  }

  #onMessage(msg: Buffer, rinfo: RemoteInfo): void {
    if (msg.length < 20) return;
    const pending = this.#pending.get(`${rinfo.address}|${rinfo.port}|${msg[1]}`);
    pending?.onResponse(msg);
  }

  async #allocate(dest: string, signal: AbortSignal | undefined): Promise<number> {
    for (;;) {
      if (this.#closed) throw new RadiusAbortedError('RADIUS client closed');
      signal?.throwIfAborted?.();
      let used = this.#inUse.get(dest);
      if (!used) {
        used = new Set();
        this.#inUse.set(dest, used);
      }
      if (used.size < 256) {
        const start = Math.floor(Math.random() * 256);
        for (let i = 0; i < 256; i++) {
          const id = (start + i) & 0xff;
          if (!used.has(id)) {
            used.add(id);
            return id;
          }
        }
      }
      await new Promise<void>((resolve) => {
        const list = this.#waiters.get(dest) ?? [];
        const wake = () => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        };
        const onAbort = () => {
          const i = list.indexOf(wake);
          if (i >= 0) list.splice(i, 1);
          wake();
        };
        list.push(wake);
        this.#waiters.set(dest, list);
        signal?.addEventListener('abort', onAbort, { once: true });
      });
    }
  }

  #free(dest: string, id: number): void {
    const used = this.#inUse.get(dest);
    used?.delete(id);
    if (used && used.size === 0) this.#inUse.delete(dest);
    const list = this.#waiters.get(dest);
    const next = list?.shift();
    if (list && list.length === 0) this.#waiters.delete(dest);
    next?.();
  }
}

/**
 * Send one request and wait for its validated response, on a socket of its own. Rejects with
 * RadiusTimeoutError, RadiusInvalidResponseError (responses came but none validated),
 * RadiusSocketError, RadiusAbortedError or RadiusEncodeError. An Access-Reject or a NAK is a
 * valid response, not an error.
 */
export async function radiusRequest(options: RadiusRequestOptions): Promise<RadiusResponse> {
  const client = new RadiusClient(options.sourceAddress ? { sourceAddress: options.sourceAddress } : {});
  try {
    return await client.request(options);
  } finally {
    await client.close();
  }
}
