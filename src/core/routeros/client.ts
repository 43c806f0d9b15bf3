// RouterOS API client: one TCP (or TLS) connection carrying many tagged commands at once.
//
// Guarantees: every command settles exactly once (reply, trap, timeout, cancel, or connection
// loss); no event handler throws; every promise the client hands out already has a handler
// attached, so one nobody awaits can never take the process down with an unhandled rejection.

import { createHash } from 'node:crypto';
import net from 'node:net';
import tls from 'node:tls';
import {
  RouterOSArgumentError,
  RouterOSCancelledError,
  RouterOSConnectError,
  RouterOSConnectionClosedError,
  RouterOSError,
  RouterOSFatalError,
  RouterOSLoginError,
  RouterOSProtocolError,
  RouterOSTimeoutError,
  RouterOSTrapError,
} from './errors.js';
import { SentenceDecoder, encodeSentence, encodeTaggedSentence } from './protocol.js';
import { COMMAND_PATTERN, type Params, type Query, assertCommand, attributeWords, proplistWord, queryWords } from './query.js';

export const DEFAULT_PORT = 8728;
export const DEFAULT_TLS_PORT = 8729;
export const DEFAULT_TIMEOUT_MS = 10_000;
/** How long `close()` waits for the router to hang up after `/quit` before dropping the socket. */
const CLOSE_GRACE_MS = 2_000;
/** Size of the buffer a plain connection reads into. */
const READ_BUFFER_BYTES = 64 * 1024;
/** Largest delay a Node timer honours (a longer one fires at once). */
const MAX_TIMEOUT_MS = 2 ** 31 - 1;

export interface RouterOSTlsOptions {
  /** Certificate authority (PEM) to trust, e.g. the router's self-signed certificate. */
  ca?: string | Buffer | Array<string | Buffer>;
  /** Verify the router's certificate (default true). */
  rejectUnauthorized?: boolean;
  /** OpenSSL cipher list, e.g. an anonymous DH suite for a router without a certificate. */
  ciphers?: string;
  /** Name for SNI and certificate checks, when it differs from `host`. */
  servername?: string;
  minVersion?: tls.SecureVersion;
  maxVersion?: tls.SecureVersion;
}

export interface RouterOSConnectOptions {
  host: string;
  /** Default 8728, or 8729 with TLS. */
  port?: number;
  user: string;
  password: string;
  /** API-SSL: `true` for defaults (certificate verified), or options. */
  tls?: boolean | RouterOSTlsOptions;
  /** Default per-command timeout in ms (also used for login). Default 10000; 0 disables. */
  timeoutMs?: number;
  /** Timeout for the TCP/TLS connection to open. Default: `timeoutMs`. */
  connectTimeoutMs?: number;
  /** Code page for reply words that are not valid UTF-8. Default windows-1252. */
  fallbackEncoding?: string;
  /** Largest reply word accepted. Default 64 MiB. */
  maxWordBytes?: number;
  /**
   * Aborting gives up the connect and the login at once: the socket is destroyed and connect()
   * rejects with RouterOSCancelledError, so nothing is left running after whoever gave up.
   */
  signal?: AbortSignal;
}

export interface CommandOptions {
  /** Per-command timeout in ms; 0 disables (e.g. for `listen`). Default: the connection's. */
  timeoutMs?: number;
  /** Aborting cancels the command (as `cancel(tag)` does). */
  signal?: AbortSignal;
  /**
   * Receive each `!re` row as it arrives instead of collecting them in `rows` (for `listen`
   * and very long prints). If it throws, the command is cancelled and rejects with that error.
   */
  onRow?: (row: Row) => void;
}

export interface WriteOptions extends CommandOptions {
  /** Query words (print only), built with the `q` helpers. */
  query?: readonly Query[];
  /** Properties to return (`=.proplist=`). */
  proplist?: readonly string[];
}

export type Row = Record<string, string>;

export interface CommandResult {
  /** One object per `!re` sentence, from its `=key=value` words. */
  rows: Row[];
  /** `=ret=` of the `!done` sentence (new `*ID` after add, count after count-only print). */
  ret?: string;
  /** True when the reply had no rows (`!empty` on RouterOS 7.18+, or no `!re` at all). */
  empty: boolean;
  /** Every attribute of the `!done` sentence. */
  done: Row;
}

/** A command in flight: its tag (for `cancel`) and its outcome. */
export interface CommandHandle {
  readonly tag: string;
  readonly result: Promise<CommandResult>;
}

/** Called once when the connection ends: with the reason, or undefined after `close()`. */
export type CloseListener = (reason: RouterOSError | undefined) => void;

interface Pending {
  readonly tag: string;
  readonly command: string;
  readonly rows: Row[];
  empty: boolean;
  trap: Row | undefined;
  onRow: ((row: Row) => void) | undefined;
  /** performance.now() by which the reply must be complete; 0 when it has no timeout. */
  deadline: number;
  timeoutMs: number;
  abort: { signal: AbortSignal; listener: () => void } | undefined;
  resolve(result: CommandResult): void;
  reject(err: Error): void;
}

/** Tag used internally for the untagged login exchange. */
const UNTAGGED = '';

type State = 'open' | 'closing' | 'closed';

function noop(): void {}

/** Mark a promise as handled without changing what awaiting it yields. */
function handled<T>(p: Promise<T>): Promise<T> {
  p.catch(noop);
  return p;
}

function trapError(p: Pending): RouterOSTrapError {
  const trap = p.trap ?? {};
  const raw = trap.category;
  const category = raw !== undefined && /^\d+$/.test(raw) ? Number(raw) : undefined;
  return new RouterOSTrapError(trap.message ?? 'command failed', category, p.command, { ...trap });
}

function checkTimeout(ms: number | undefined, what: string): void {
  if (ms !== undefined && (typeof ms !== 'number' || !Number.isFinite(ms) || ms < 0 || ms > MAX_TIMEOUT_MS)) {
    throw new RouterOSArgumentError(`${what} must be from 0 to ${MAX_TIMEOUT_MS} milliseconds, got ${ms}`);
  }
}

function validateConnectOptions(opts: RouterOSConnectOptions): void {
  if (!opts || typeof opts.host !== 'string' || opts.host === '') throw new RouterOSArgumentError('host is required');
  if (opts.port !== undefined && (!Number.isInteger(opts.port) || opts.port < 1 || opts.port > 65535)) {
    throw new RouterOSArgumentError(`port must be 1-65535, got ${opts.port}`);
  }
  if (typeof opts.user !== 'string' || opts.user === '') throw new RouterOSArgumentError('user is required');
  if (typeof opts.password !== 'string') throw new RouterOSArgumentError('password must be a string');
  if (opts.user.includes('\0') || opts.password.includes('\0')) throw new RouterOSArgumentError('user and password must not contain NUL bytes');
  checkTimeout(opts.timeoutMs, 'timeoutMs');
  checkTimeout(opts.connectTimeoutMs, 'connectTimeoutMs');
}

/**
 * Where a plain TCP socket's reads go. A plain socket reads into one buffer of its own
 * (`onread`), which spares a Buffer and a trip through the stream machinery per read; the
 * decoder copies whatever it keeps across reads. The client attaches itself when constructed;
 * anything read before that (a router says nothing before a command) waits here.
 */
class ReadSink {
  target: ((chunk: Buffer) => void) | undefined;
  early: Buffer[] = [];
  readonly buffer = Buffer.allocUnsafe(READ_BUFFER_BYTES);
  readonly onread = {
    buffer: this.buffer,
    callback: (n: number, buf: Uint8Array): boolean => {
      const chunk = Buffer.from(buf.buffer, buf.byteOffset, n);
      if (this.target) this.target(chunk);
      else this.early.push(Buffer.from(chunk));
      return true; // keep reading
    },
  };
  attach(target: (chunk: Buffer) => void): void {
    this.target = target;
    const early = this.early;
    this.early = [];
    for (const c of early) target(c);
  }
}

function openSocket(opts: RouterOSConnectOptions, port: number, sink: ReadSink): Promise<net.Socket> {
  const where = `${opts.host}:${port}`;
  const timeoutMs = opts.connectTimeoutMs ?? opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  return new Promise((resolve, reject) => {
    let settled = false;
    let timer: NodeJS.Timeout | undefined;
    let socket: net.Socket;
    const fail = (err: RouterOSError): void => {
      if (settled) return;
      settled = true;
      if (timer) clearTimeout(timer);
      socket.destroy();
      reject(err);
    };
    const onError = (err: Error): void => fail(new RouterOSConnectError(`cannot connect to ${where}: ${err.message}`, { cause: err }));
    const onClose = (): void => fail(new RouterOSConnectError(`connection to ${where} closed while connecting`));
    const onReady = (): void => {
      if (settled) return;
      settled = true;
      if (timer) clearTimeout(timer);
      socket.off('error', onError);
      socket.off('close', onClose);
      resolve(socket);
    };
    if (opts.tls) {
      const t: RouterOSTlsOptions = opts.tls === true ? {} : opts.tls;
      const tlsOpts: tls.ConnectionOptions = { host: opts.host, port };
      if (t.ca !== undefined) tlsOpts.ca = t.ca;
      if (t.rejectUnauthorized !== undefined) tlsOpts.rejectUnauthorized = t.rejectUnauthorized;
      if (t.ciphers !== undefined) tlsOpts.ciphers = t.ciphers;
      if (t.servername !== undefined) tlsOpts.servername = t.servername;
      if (t.minVersion !== undefined) tlsOpts.minVersion = t.minVersion;
      if (t.maxVersion !== undefined) tlsOpts.maxVersion = t.maxVersion;
      socket = tls.connect(tlsOpts, onReady);
    } else {
      socket = net.connect({ host: opts.host, port, onread: sink.onread }, onReady);
    }
    socket.on('error', onError);
    socket.on('close', onClose);
    if (timeoutMs > 0) {
      timer = setTimeout(() => fail(new RouterOSConnectError(`timed out after ${timeoutMs} ms connecting to ${where}`)), timeoutMs);
    }
    const signal = opts.signal;
    if (signal) {
      const onAbort = (): void => fail(new RouterOSCancelledError(`connecting to ${where} was aborted`));
      if (signal.aborted) onAbort();
      else {
        signal.addEventListener('abort', onAbort, { once: true });
        const off = (): void => signal.removeEventListener('abort', onAbort);
        socket.once('close', off);
        socket.once('connect', off);
        socket.once('secureConnect', off);
      }
    }
  });
}

export class RouterOSClient {
  readonly host: string;
  readonly port: number;
  readonly tls: boolean;
  /** Resolves (never rejects) when the connection has ended: the reason, or undefined after `close()`. */
  readonly closed: Promise<RouterOSError | undefined>;

  private readonly socket: net.Socket;
  private readonly decoder: SentenceDecoder;
  private readonly defaultTimeoutMs: number;
  private readonly pending = new Map<string, Pending>();
  private readonly listeners = new Set<CloseListener>();
  private nextTag = 1;
  private state: State = 'open';
  private closeReason: RouterOSError | undefined;
  private closedByClient = false;
  /** Sentences written in this tick, sent together in one write on the next (see `send`). */
  private outgoing: Buffer[] = [];
  /** One timer for every command's deadline, armed for the earliest (see `sweep`). */
  private deadlineTimer: NodeJS.Timeout | undefined;
  private deadlineAt = Infinity;
  private readonly flush = (): void => {
    const out = this.outgoing;
    this.outgoing = [];
    if (this.socket.destroyed || out.length === 0) return;
    this.socket.write(out.length === 1 ? out[0]! : Buffer.concat(out));
  };
  private listenersFired = false;
  private resolveClosed!: (reason: RouterOSError | undefined) => void;

  /** Open a connection and log in. Rejects with RouterOSConnectError, RouterOSLoginError, ... */
  static async connect(opts: RouterOSConnectOptions): Promise<RouterOSClient> {
    validateConnectOptions(opts);
    const port = opts.port ?? (opts.tls ? DEFAULT_TLS_PORT : DEFAULT_PORT);
    // Fail fast on a bad code page, before any network traffic.
    const decoder = new SentenceDecoder({ fallbackEncoding: opts.fallbackEncoding, maxWordBytes: opts.maxWordBytes, reusedChunks: !opts.tls });
    if (opts.signal?.aborted) throw new RouterOSCancelledError(`connecting to ${opts.host}:${port} was aborted`);
    const sink = new ReadSink();
    const socket = await openSocket(opts, port, sink);
    const client = new RouterOSClient(socket, decoder, opts, port, sink);
    const signal = opts.signal;
    const onAbort = (): void => client.destroy(new RouterOSCancelledError(`logging in to ${opts.host}:${port} was aborted`));
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      if (signal?.aborted) onAbort();
      await client.login(opts.user, opts.password);
    } catch (err) {
      client.destroy(new RouterOSConnectionClosedError('login failed'));
      await client.closed;
      if (signal?.aborted) throw new RouterOSCancelledError(`logging in to ${opts.host}:${port} was aborted`, { cause: err });
      throw err;
    } finally {
      signal?.removeEventListener('abort', onAbort);
    }
    return client;
  }

  private constructor(socket: net.Socket, decoder: SentenceDecoder, opts: RouterOSConnectOptions, port: number, sink: ReadSink) {
    this.host = opts.host;
    this.port = port;
    this.tls = Boolean(opts.tls);
    this.socket = socket;
    this.decoder = decoder;
    this.defaultTimeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.closed = new Promise((resolve) => {
      this.resolveClosed = resolve;
    });
    socket.setNoDelay(true);
    socket.setKeepAlive(true, 30_000);
    // TLS sockets deliver 'data'; plain ones read into the sink's buffer.
    if (this.tls) socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (err: Error) => {
      this.destroy(new RouterOSConnectionClosedError(`connection to ${this.where} failed: ${err.message}`, { cause: err }));
    });
    socket.on('close', () => this.onSocketClose());
    if (socket.destroyed) queueMicrotask(() => this.onSocketClose());
    if (!this.tls) sink.attach((chunk) => this.onData(chunk));
  }

  private get where(): string {
    return `${this.host}:${this.port}`;
  }

  /** True until the connection closes or `close()` is called. */
  get isOpen(): boolean {
    return this.state === 'open';
  }

  /** Number of commands awaiting their `!done`. */
  get pendingCount(): number {
    return this.pending.size;
  }

  /** Register a listener for the end of the connection; returns a function that removes it. */
  onClose(listener: CloseListener): () => void {
    if (this.listenersFired) {
      const reason = this.closedByClient ? undefined : this.closeReason;
      queueMicrotask(() => this.safeCall(listener, reason));
      return noop;
    }
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  /**
   * Send raw words (a command path first, then attribute/query words) and get the tag and the
   * result. The client adds `.tag`; words must not carry one.
   */
  start(words: readonly string[], opts: CommandOptions = {}): CommandHandle {
    let tag = '';
    const result = handled(
      new Promise<CommandResult>((resolve, reject) => {
        if (this.state !== 'open') throw this.closedError(words[0] ?? 'command');
        checkWords(words);
        checkTimeout(opts.timeoutMs, 'timeoutMs');
        tag = String(this.nextTag++);
        if (opts.signal?.aborted) throw new RouterOSCancelledError(`${words[0]} was aborted before it was sent`);
        this.track(tag, words[0]!, resolve, reject, opts);
        this.send(words, tag);
      }),
    );
    return { tag, result };
  }

  /** Raw command; see `start`. */
  command(words: readonly string[], opts: CommandOptions = {}): Promise<CommandResult> {
    return this.start(words, opts).result;
  }

  /**
   * Run `command` with `=name=value` parameters (booleans as yes/no, undefined left out), and
   * optional query and proplist words.
   */
  write(command: string, params?: Params, opts: WriteOptions = {}): Promise<CommandResult> {
    let words: string[];
    try {
      words = [assertCommand(command), ...attributeWords(params)];
      if (opts.proplist) words.push(proplistWord(opts.proplist));
      words.push(...queryWords(opts.query));
    } catch (err) {
      return handled(Promise.reject(err));
    }
    return this.command(words, opts);
  }

  /**
   * Cancel a pending command: it rejects at once with RouterOSCancelledError and the router is
   * sent `/cancel`. Resolves true when there was such a command (after the router acknowledged,
   * or failed to), false otherwise.
   */
  cancel(tag: string): Promise<boolean> {
    const p = tag === UNTAGGED ? undefined : this.pending.get(tag);
    if (!p || this.state !== 'open') return Promise.resolve(false);
    this.settle(p);
    p.reject(new RouterOSCancelledError(`${p.command} was cancelled`));
    return handled(
      this.command(['/cancel', `=tag=${tag}`]).then(
        () => true,
        () => true,
      ),
    );
  }

  /**
   * Close the connection: pending commands reject with RouterOSConnectionClosedError, `/quit`
   * is sent, and the promise resolves once the socket is closed. Safe to call more than once.
   */
  close(): Promise<void> {
    if (this.state === 'open') {
      this.closedByClient = true;
      this.failAll(new RouterOSConnectionClosedError(`connection to ${this.where} was closed by the client`));
      this.state = 'closing';
      try {
        if (!this.socket.destroyed) {
          this.flush(); // what was written in this tick goes before /quit
          this.socket.end(encodeSentence(['/quit']));
        }
      } catch {
        this.socket.destroy();
      }
      const timer = setTimeout(() => this.socket.destroy(), CLOSE_GRACE_MS);
      timer.unref();
      void this.closed.then(() => clearTimeout(timer));
    }
    return this.closed.then(noop);
  }

  /** Drop the connection at once (no `/quit`), failing pending commands with `reason`. */
  destroy(reason?: RouterOSError): void {
    if (this.state === 'closed') return;
    if (this.state === 'open') {
      const why = reason ?? new RouterOSConnectionClosedError(`connection to ${this.where} was destroyed`);
      if (!reason) this.closedByClient = true;
      this.closeReason = why;
      this.failAll(why);
    }
    this.state = 'closed';
    this.socket.destroy();
  }

  // ---- internals ----

  private async login(user: string, password: string): Promise<void> {
    let first: CommandResult;
    try {
      first = await this.untagged(['/login', `=name=${user}`, `=password=${password}`]);
    } catch (err) {
      throw loginError(err, user);
    }
    const challenge = first.ret ?? first.done.ret;
    if (challenge === undefined) return; // RouterOS 6.43+: logged in.
    if (!/^[0-9a-f]{32}$/i.test(challenge)) throw new RouterOSProtocolError('login challenge is not 16 bytes of hex');
    const digest = createHash('md5')
      .update(Buffer.from([0]))
      .update(Buffer.from(password, 'utf8'))
      .update(Buffer.from(challenge, 'hex'))
      .digest('hex');
    try {
      await this.untagged(['/login', `=name=${user}`, `=response=00${digest}`]);
    } catch (err) {
      throw loginError(err, user);
    }
  }

  /** A command without `.tag` (login only, when nothing else is in flight). */
  private untagged(words: string[]): Promise<CommandResult> {
    return handled(
      new Promise<CommandResult>((resolve, reject) => {
        if (this.state !== 'open') throw this.closedError(words[0]!);
        if (this.pending.has(UNTAGGED)) throw new RouterOSArgumentError('an untagged command is already running');
        this.track(UNTAGGED, words[0]!, resolve, reject, {});
        this.send(words, UNTAGGED);
      }),
    );
  }

  private track(
    tag: string,
    command: string,
    resolve: (r: CommandResult) => void,
    reject: (e: Error) => void,
    opts: CommandOptions,
  ): void {
    const p: Pending = {
      tag,
      command,
      rows: [],
      empty: false,
      trap: undefined,
      onRow: opts.onRow,
      deadline: 0,
      timeoutMs: 0,
      abort: undefined,
      resolve,
      reject,
    };
    const timeoutMs = opts.timeoutMs ?? this.defaultTimeoutMs;
    if (timeoutMs > 0) {
      p.timeoutMs = timeoutMs;
      p.deadline = performance.now() + timeoutMs;
      if (p.deadline < this.deadlineAt) this.armDeadline(p.deadline);
    }
    if (opts.signal) {
      const listener = (): void => void this.cancel(tag);
      opts.signal.addEventListener('abort', listener, { once: true });
      p.abort = { signal: opts.signal, listener };
    }
    this.pending.set(tag, p);
  }

  /** Remove a pending command and its abort hook; the caller settles its promise. */
  private settle(p: Pending): void {
    this.pending.delete(p.tag);
    if (p.abort) p.abort.signal.removeEventListener('abort', p.abort.listener);
    p.deadline = 0;
    p.abort = undefined;
  }

  /**
   * Deadlines: rather than a timer per command (set and cleared for every reply), one timer is
   * armed for the earliest deadline. When it fires it expires what is due and re-arms for the
   * next; a command that settled meanwhile is simply no longer pending. The timer does not keep
   * the process alive by itself: the open socket does.
   */
  private armDeadline(at: number): void {
    if (this.deadlineTimer) clearTimeout(this.deadlineTimer);
    this.deadlineAt = at;
    this.deadlineTimer = setTimeout(() => this.sweep(), Math.max(0, Math.ceil(at - performance.now())));
    this.deadlineTimer.unref();
  }

  private disarmDeadline(): void {
    if (this.deadlineTimer) clearTimeout(this.deadlineTimer);
    this.deadlineTimer = undefined;
    this.deadlineAt = Infinity;
  }

  private sweep(): void {
    this.deadlineTimer = undefined;
    this.deadlineAt = Infinity;
    if (this.state !== 'open') return;
    const now = performance.now();
    const due: Pending[] = [];
    let next = Infinity;
    for (const p of this.pending.values()) {
      if (p.deadline === 0) continue;
      if (p.deadline <= now) due.push(p);
      else if (p.deadline < next) next = p.deadline;
    }
    for (const p of due) this.expire(p);
    if (next !== Infinity && this.state === 'open' && next < this.deadlineAt) this.armDeadline(next);
  }

  private expire(p: Pending): void {
    if (this.pending.get(p.tag) !== p) return;
    const timeoutMs = p.timeoutMs;
    this.settle(p);
    p.reject(new RouterOSTimeoutError(`${p.command} got no reply from ${this.where} within ${timeoutMs} ms`, timeoutMs));
    this.sendCancel(p.tag);
  }

  /** Best-effort `/cancel`; its reply carries a tag nobody waits for and is dropped. */
  private sendCancel(tag: string): void {
    if (tag !== UNTAGGED && this.state === 'open') this.send(['/cancel', `=tag=${tag}`], String(this.nextTag++));
  }

  /** Write one sentence, with `.tag=tag` as its last word unless `tag` is UNTAGGED. */
  private send(words: readonly string[], tag: string): void {
    const socket = this.socket;
    if (socket.destroyed) return;
    // Every sentence written in one tick goes out in one write (one system call, one segment
    // for many pipelined commands).
    if (this.outgoing.length === 0) process.nextTick(this.flush);
    this.outgoing.push(tag === UNTAGGED ? encodeSentence(words) : encodeTaggedSentence(words, tag));
  }

  private onData(chunk: Buffer): void {
    if (this.state === 'closed') return;
    let sentences: string[][];
    try {
      sentences = this.decoder.push(chunk);
    } catch (err) {
      this.destroy(
        err instanceof RouterOSProtocolError
          ? err
          : new RouterOSProtocolError(`cannot decode the reply stream from ${this.where}`, { cause: err }),
      );
      return;
    }
    for (const sentence of sentences) {
      if (this.state !== 'open') return;
      try {
        this.dispatch(sentence);
      } catch (err) {
        // Only a bug could get here; never let it escape an event handler.
        this.destroy(new RouterOSProtocolError(`failed to handle a reply from ${this.where}`, { cause: err }));
        return;
      }
    }
  }

  private dispatch(words: string[]): void {
    // What parseSentence would give, without the parts a reply never needs (one pass, and the
    // attributes object only for a reply someone waits for).
    let type: string | undefined;
    let tag: string | undefined;
    let reason: string | undefined;
    let hasAttrs = false;
    for (let i = 0; i < words.length; i++) {
      const w = words[i]!;
      const c = w.charCodeAt(0);
      if (c === 0x3d /* = */) hasAttrs = true;
      else if (tag === undefined && w.startsWith('.tag=')) tag = w.slice(5);
      else if (type === undefined && (c === 0x21 /* ! */ || c === 0x2f) /* / */) type = w;
      else if (reason === undefined && c !== 0x3f /* ? */) reason = w;
    }
    if (type === '!fatal') {
      this.destroy(new RouterOSFatalError(reason ?? (hasAttrs ? attributesOf(words).message : undefined) ?? 'no reason given'));
      return;
    }
    const p = this.pending.get(tag ?? UNTAGGED);
    if (!p) return; // a reply to a cancelled or timed-out command, or to a best-effort /cancel
    const attrs = hasAttrs ? attributesOf(words) : {};
    switch (type) {
      case '!re':
        if (!p.onRow) p.rows.push(attrs);
        else {
          try {
            p.onRow(attrs);
          } catch (err) {
            this.settle(p);
            p.reject(err instanceof Error ? err : new Error(String(err)));
            this.sendCancel(p.tag);
          }
        }
        break;
      case '!empty':
        p.empty = true;
        break;
      case '!trap':
        if (!p.trap) p.trap = attrs;
        break;
      case '!done':
        this.settle(p);
        if (p.trap) p.reject(trapError(p));
        else {
          const result: CommandResult = { rows: p.rows, empty: p.empty || p.rows.length === 0, done: attrs };
          if (attrs.ret !== undefined) result.ret = attrs.ret;
          p.resolve(result);
        }
        break;
      default:
        // Unknown reply types are ignored, to stay compatible with future RouterOS versions.
        break;
    }
  }

  private closedError(command: string): RouterOSConnectionClosedError {
    const why = this.closedByClient || !this.closeReason ? 'is closed' : `is closed (${this.closeReason.message})`;
    return new RouterOSConnectionClosedError(`cannot run ${command}: connection to ${this.where} ${why}`);
  }

  private failAll(reason: RouterOSError): void {
    this.disarmDeadline();
    const all = [...this.pending.values()];
    for (const p of all) {
      this.settle(p);
      if (p.trap) p.reject(trapError(p));
      else if (reason instanceof RouterOSConnectionClosedError) {
        p.reject(new RouterOSConnectionClosedError(`${reason.message}; ${p.command} did not complete`, { cause: reason.cause }));
      } else p.reject(reason);
    }
  }

  private onSocketClose(): void {
    if (this.listenersFired) return;
    this.destroy(new RouterOSConnectionClosedError(`connection to ${this.where} was closed by the router`));
    this.listenersFired = true;
    const reason = this.closedByClient ? undefined : this.closeReason;
    this.resolveClosed(reason);
    for (const l of this.listeners) this.safeCall(l, reason);
    this.listeners.clear();
  }

  private safeCall(listener: CloseListener, reason: RouterOSError | undefined): void {
    try {
      listener(reason);
    } catch {
      // A listener's failure is its own; it must not break the client or the process.
    }
  }
}

/** The `=name=value` words of a sentence as an object (a later duplicate wins), as parseSentence does. */
function attributesOf(words: readonly string[]): Row {
  const out: Row = {};
  for (let i = 0; i < words.length; i++) {
    const w = words[i]!;
    if (w.charCodeAt(0) !== 0x3d) continue;
    const eq = w.indexOf('=', 1);
    const key = eq === -1 ? w.slice(1) : w.slice(1, eq);
    const value = eq === -1 ? '' : w.slice(eq + 1);
    if (key === '__proto__') Object.defineProperty(out, key, { value, enumerable: true, writable: true, configurable: true });
    else out[key] = value;
  }
  return out;
}

function checkWords(words: readonly string[]): void {
  if (!Array.isArray(words) || words.length === 0) throw new RouterOSArgumentError('a command needs at least its path');
  const [first] = words;
  if (typeof first !== 'string' || !COMMAND_PATTERN.test(first)) {
    throw new RouterOSArgumentError(`invalid RouterOS command path ${JSON.stringify(first)}`);
  }
  for (const w of words) {
    if (typeof w !== 'string') throw new RouterOSArgumentError('command words must be strings');
    if (w.includes('\0')) throw new RouterOSArgumentError('command words must not contain NUL bytes');
    if (w.startsWith('.tag=')) throw new RouterOSArgumentError('the .tag word is added by the client');
  }
}

function loginError(err: unknown, user: string): unknown {
  if (err instanceof RouterOSTrapError) {
    return new RouterOSLoginError(`login as ${JSON.stringify(user)} failed: ${err.message}`, { cause: err });
  }
  return err;
}
