// A tiny scriptable RouterOS API server for the client's unit tests: real TCP (or TLS) on
// 127.0.0.1, framing through our own protocol module, login in both forms, and a per-test
// handler for everything else. The full simulated router lives in src/lab.

import { createHash, randomBytes } from 'node:crypto';
import net from 'node:net';
import tls from 'node:tls';
import { SentenceDecoder, encodeSentence } from '../../../src/core/routeros/protocol.js';

export interface Received {
  words: string[];
  command: string;
  tag: string | undefined;
  attrs: Record<string, string>;
  queries: string[];
}

export type TagPosition = 'first' | 'after-type' | 'last';

export class FakeConnection {
  readonly received: Received[] = [];
  loggedIn = false;
  challenge: string | undefined;
  constructor(readonly socket: net.Socket, private readonly router: FakeRouter) {}

  /** Send one sentence as is. */
  send(words: Array<string | Buffer>): void {
    if (!this.socket.destroyed) this.socket.write(encodeSentence(words));
  }

  /** Send a reply sentence `type ...words` tagged with `tag` at the router's tag position. */
  reply(tag: string | undefined, type: string, words: Array<string | Buffer> = []): void {
    if (tag === undefined) return this.send([type, ...words]);
    const t = `.tag=${tag}`;
    switch (this.router.tagPosition) {
      case 'first':
        return this.send([t, type, ...words]);
      case 'after-type':
        return this.send([type, t, ...words]);
      default:
        return this.send([type, ...words, t]);
    }
  }

  row(tag: string | undefined, attrs: Record<string, string>): void {
    this.reply(tag, '!re', Object.entries(attrs).map(([k, v]) => `=${k}=${v}`));
  }

  done(tag: string | undefined, attrs: Record<string, string> = {}): void {
    this.reply(tag, '!done', Object.entries(attrs).map(([k, v]) => `=${k}=${v}`));
  }

  trap(tag: string | undefined, message: string, category?: number): void {
    const words = [`=message=${message}`];
    if (category !== undefined) words.unshift(`=category=${category}`);
    this.reply(tag, '!trap', words);
  }

  destroy(): void {
    this.socket.destroy();
  }
}

export type Handler = (cmd: Received, conn: FakeConnection) => void;

export interface FakeRouterOptions {
  user?: string;
  password?: string;
  /** `plain`: 6.43+ login; `challenge`: pre-6.43 MD5 challenge. */
  loginMode?: 'plain' | 'challenge';
  tls?: { key: string | Buffer; cert: string | Buffer };
  tagPosition?: TagPosition;
  /** Everything after login. Default: `!done`. */
  handler?: Handler;
}

export function parseCommand(words: string[]): Received {
  const attrs: Record<string, string> = {};
  const queries: string[] = [];
  let tag: string | undefined;
  for (const w of words.slice(1)) {
    if (w.startsWith('.tag=')) tag = w.slice(5);
    else if (w.startsWith('=')) {
      const i = w.indexOf('=', 1);
      attrs[w.slice(1, i)] = w.slice(i + 1);
    } else if (w.startsWith('?')) queries.push(w);
  }
  return { words, command: words[0]!, tag, attrs, queries };
}

export function challengeResponse(password: string, challengeHex: string): string {
  const md5 = createHash('md5');
  md5.update(Buffer.concat([Buffer.from([0]), Buffer.from(password, 'utf8'), Buffer.from(challengeHex, 'hex')]));
  return '00' + md5.digest('hex');
}

export class FakeRouter {
  readonly connections: FakeConnection[] = [];
  readonly user: string;
  readonly password: string;
  readonly loginMode: 'plain' | 'challenge';
  tagPosition: TagPosition;
  handler: Handler;
  port = 0;
  private server: net.Server;
  private sockets = new Set<net.Socket>();

  constructor(opts: FakeRouterOptions = {}) {
    this.user = opts.user ?? 'admin';
    this.password = opts.password ?? 'secret';
    this.loginMode = opts.loginMode ?? 'plain';
    this.tagPosition = opts.tagPosition ?? 'last';
    this.handler = opts.handler ?? ((cmd, conn) => conn.done(cmd.tag));
    const onSocket = (socket: net.Socket): void => this.accept(socket);
    this.server = opts.tls ? tls.createServer({ key: opts.tls.key, cert: opts.tls.cert }, onSocket) : net.createServer(onSocket);
  }

  /** Every command received on any connection, in order. */
  get received(): Received[] {
    return this.connections.flatMap((c) => c.received);
  }

  listen(): Promise<void> {
    return new Promise((resolve) => {
      this.server.listen(0, '127.0.0.1', () => {
        this.port = (this.server.address() as net.AddressInfo).port;
        resolve();
      });
    });
  }

  close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  private accept(socket: net.Socket): void {
    this.sockets.add(socket);
    socket.setNoDelay(true);
    socket.on('close', () => this.sockets.delete(socket));
    socket.on('error', () => {});
    const conn = new FakeConnection(socket, this);
    this.connections.push(conn);
    const decoder = new SentenceDecoder();
    socket.on('data', (chunk: Buffer) => {
      let sentences: string[][];
      try {
        sentences = decoder.push(chunk);
      } catch {
        socket.destroy();
        return;
      }
      for (const words of sentences) {
        const cmd = parseCommand(words);
        conn.received.push(cmd);
        if (cmd.command === '/login' && !conn.loggedIn) this.login(cmd, conn);
        else if (!conn.loggedIn) {
          conn.send(['!fatal', 'not logged in']);
          socket.end();
        } else if (cmd.command === '/quit') {
          conn.send(['!fatal', 'session terminated on request']);
          socket.end();
        } else this.handler(cmd, conn);
      }
    });
  }

  private login(cmd: Received, conn: FakeConnection): void {
    const bad = (): void => {
      conn.trap(cmd.tag, 'invalid user name or password (6)');
      conn.done(cmd.tag);
    };
    if (this.loginMode === 'plain') {
      if (cmd.attrs.name === this.user && cmd.attrs.password === this.password) {
        conn.loggedIn = true;
        conn.done(cmd.tag);
      } else bad();
      return;
    }
    if (cmd.attrs.response === undefined) {
      conn.challenge = randomBytes(16).toString('hex');
      conn.done(cmd.tag, { ret: conn.challenge });
      return;
    }
    if (conn.challenge && cmd.attrs.name === this.user && cmd.attrs.response === challengeResponse(this.password, conn.challenge)) {
      conn.loggedIn = true;
      conn.done(cmd.tag);
    } else bad();
  }
}

export async function startFakeRouter(opts: FakeRouterOptions = {}): Promise<FakeRouter> {
  const r = new FakeRouter(opts);
  await r.listen();
  return r;
}
