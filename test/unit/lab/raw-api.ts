// A raw RouterOS API connection for the lab router's tests: sends exact words and hands back
// exact reply sentences (tags included), so tests can check the wire, not a client's reading.

import net from 'node:net';
import tls from 'node:tls';
import { SentenceDecoder, encodeSentence } from '../../../src/core/routeros/protocol.js';

export class RawApi {
  private readonly decoder: SentenceDecoder;
  private readonly queue: string[][] = [];
  private waiters: Array<() => void> = [];
  /** Resolves when the socket has closed. */
  readonly closed: Promise<void>;
  isClosed = false;

  private constructor(
    readonly socket: net.Socket,
    decodeWord?: (bytes: Buffer) => string,
  ) {
    this.decoder = new SentenceDecoder(decodeWord ? { decodeWord } : {});
    socket.on('data', (chunk: Buffer) => {
      for (const s of this.decoder.push(chunk)) this.queue.push(s);
      this.wake();
    });
    socket.on('error', () => undefined);
    this.closed = new Promise((resolve) =>
      socket.on('close', () => {
        this.isClosed = true;
        this.wake();
        resolve();
      }),
    );
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  /** `decodeWord: (b) => b.toString('latin1')` keeps reply words as bytes (one char per byte). */
  static async connect(port: number, opts: { tls?: tls.ConnectionOptions; decodeWord?: (bytes: Buffer) => string } = {}): Promise<RawApi> {
    const socket = opts.tls
      ? tls.connect({ host: '127.0.0.1', port, ...opts.tls })
      : net.connect({ host: '127.0.0.1', port });
    await new Promise<void>((resolve, reject) => {
      socket.once(opts.tls ? 'secureConnect' : 'connect', () => resolve());
      socket.once('error', reject);
    });
    return new RawApi(socket, opts.decodeWord);
  }

  send(...words: Array<string | Buffer>): void {
    this.socket.write(encodeSentence(words));
  }

  /** The next reply sentence; rejects when the connection closes first or after `timeoutMs`. */
  async next(timeoutMs = 2000): Promise<string[]> {
    const deadline = Date.now() + timeoutMs;
    while (this.queue.length === 0) {
      if (this.isClosed) throw new Error('connection closed');
      const left = deadline - Date.now();
      if (left <= 0) throw new Error('timed out waiting for a reply');
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
    return this.queue.shift()!;
  }

  /** Sentences up to and including the first that `stop` accepts (default: a `!done`). */
  async until(stop: (s: string[]) => boolean = (s) => s[0] === '!done', timeoutMs = 2000): Promise<string[][]> {
    const out: string[][] = [];
    for (;;) {
      const s = await this.next(timeoutMs);
      out.push(s);
      if (stop(s)) return out;
    }
  }

  /** Send a command and collect its reply up to `!done`. */
  async run(...words: Array<string | Buffer>): Promise<string[][]> {
    this.send(...words);
    return this.until();
  }

  /** Whether nothing arrives within `ms`. */
  async silentFor(ms: number): Promise<boolean> {
    await new Promise((r) => setTimeout(r, ms));
    return this.queue.length === 0;
  }

  async login(name = 'admin', password = ''): Promise<string[][]> {
    return this.run('/login', `=name=${name}`, `=password=${password}`);
  }

  close(): void {
    this.socket.destroy();
  }
}

/** `=name=value` attributes of a sentence (tag and reply word left out). */
export function attrs(sentence: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const w of sentence.slice(1)) {
    if (!w.startsWith('=')) continue;
    const eq = w.indexOf('=', 1);
    out[w.slice(1, eq)] = w.slice(eq + 1);
  }
  return out;
}

export function tagOf(sentence: readonly string[]): string | undefined {
  return sentence.find((w) => w.startsWith('.tag='))?.slice(5);
}
