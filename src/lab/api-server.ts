// The lab router's RouterOS API over TCP (plain, and API-SSL when given a key and certificate).
// A thin socket layer: framing through the shared codec, everything else in session.ts,
// commands.ts and state.ts.

import type { AddressInfo, Server, Socket } from 'node:net';
import { createServer } from 'node:net';
import { createServer as createTlsServer } from 'node:tls';
import { SentenceDecoder, encodeSentence } from '../core/routeros/protocol.js';
import type { LabCommandHandler, LoginMode } from './commands.js';
import { defaultEmptyReply, defaultLoginMode } from './commands.js';
import type { Faults } from './faults.js';
import { createFaults } from './faults.js';
import { bytesFromText, textFromBytes } from './bytes.js';
import { LabNas, type LabNasOptions } from './nas.js';
import { labNasCommands } from './nas-commands.js';
import { combineLabCommands, labConsoleCommands } from './console-commands.js';
import { createStateSaver, readStateFile, type StateSaver } from './persistence.js';
import type { TagPlacement } from './session.js';
import { ApiSession } from './session.js';
import { RouterState } from './state.js';
import { ipv4InPrefix } from './values.js';
import { describeError } from '../core/error-text.js';

export interface LabRouterTlsOptions {
  key: string | Buffer;
  cert: string | Buffer;
  /** Port for API-SSL; 0 (default) picks a free one. */
  port?: number;
}

export interface LabRouterOptions {
  /** Address to listen on. Default 127.0.0.1. */
  host?: string;
  /** Port for the plain API; 0 (default) picks a free one. */
  port?: number;
  /** Also serve API-SSL with this key and certificate. */
  tls?: LabRouterTlsOptions;
  /** Emulated RouterOS version (default 7.18.2; e.g. 7.16, 6.49.17, 6.42). */
  version?: string;
  /** `/system/identity name` of a new router. */
  identity?: string;
  /** Password of the default `admin` user of a new router. Default empty. */
  adminPassword?: string;
  /** Load the configuration from this JSON file at start (if it exists) and save it on change. */
  stateFile?: string;
  /** Delay between a change and the save. Default 200 ms. */
  saveDebounceMs?: number;
  /** Use this configuration instead of a new one (stateFile then only saves). */
  state?: RouterState;
  /** Override the version's login form. */
  loginMode?: LoginMode;
  /** Override whether an empty print answers `!empty` (default: version 7.18 or later). */
  emptyReply?: boolean;
  /** Initial fault switches. */
  faults?: Partial<Faults>;
  tagPlacement?: TagPlacement;
  /** Serve `/lab/faults/print|set` over the API. Default true. */
  faultCommands?: boolean;
  /**
   * Run a PPPoE NAS on this router (`router.nas`): dials, RADIUS authentication and accounting,
   * `/radius/incoming`, and the `/lab/dial`, `/lab/hangup`, `/lab/sessions/print` commands.
   */
  nas?: boolean | LabNasOptions;
  /** Extra `/lab/...` commands (default: the NAS's, when it runs). */
  labCommands?: LabCommandHandler;
  /** Clock for a new state. */
  now?: () => number;
  /** One line per connection event and command (passwords redacted). */
  log?: (line: string) => void;
}

export interface LabRouter {
  readonly host: string;
  readonly port: number;
  readonly tlsPort?: number;
  readonly state: RouterState;
  /** Flip these at any time. */
  readonly faults: Faults;
  readonly loginMode: LoginMode;
  readonly emptyReply: boolean;
  /** The PPPoE NAS, when started with `nas`. */
  readonly nas?: LabNas;
  /** Open API connections. */
  connectionCount(): number;
  /** Drop every open connection at once (like a router reboot, without losing state). */
  dropConnections(): void;
  /** False while {@link offline}: nothing listens on the port (connections are refused). */
  readonly reachable: boolean;
  /** Stop listening and drop every connection, keeping the state (a router that went away). */
  offline(): Promise<void>;
  /** Listen again on the same port(s) after {@link offline}. */
  online(): Promise<void>;
  /** Write the state file now (no-op without one). */
  save(): Promise<void>;
  /** Stop listening, drop connections, close the NAS (ending its sessions), save. */
  close(): Promise<void>;
}

/** `::ffff:127.0.0.1` → `127.0.0.1`. */
function plainAddress(address: string | undefined): string {
  if (!address) return '';
  return address.startsWith('::ffff:') ? address.slice(7) : address;
}

/** Whether `/ip/service` lets this client in on `service` (`api` or `api-ssl`). */
function serviceAllows(state: RouterState, service: 'api' | 'api-ssl', remote: string): boolean {
  const row = state.menu('/ip/service').get(service);
  if (!row) return true;
  if (row.disabled === 'true') return false;
  if (!row.address) return true;
  return row.address.split(',').some((p) => ipv4InPrefix(remote, p));
}

function listen(server: Server, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (e: Error): void => {
      server.off('listening', onListening);
      reject(e);
    };
    const onListening = (): void => {
      server.off('error', onError);
      resolve((server.address() as AddressInfo).port);
    };
    server.once('error', onError);
    server.once('listening', onListening);
    server.listen(port, host);
  });
}

async function closeServer(server: Server): Promise<void> {
  if (!server.listening) return;
  await new Promise<void>((resolve) => server.close(() => resolve()));
}

async function loadState(opts: LabRouterOptions): Promise<{ state: RouterState; fresh: boolean }> {
  if (opts.state) return { state: opts.state, fresh: true };
  const stateOpts = { version: opts.version, identity: opts.identity, adminPassword: opts.adminPassword, now: opts.now };
  if (opts.stateFile) {
    const saved = await readStateFile(opts.stateFile);
    if (saved !== undefined) return { state: RouterState.fromJSON(saved, stateOpts), fresh: false };
  }
  return { state: new RouterState(stateOpts), fresh: true };
}

/** Start a lab router. Resolves once it listens. */
export async function startLabRouter(opts: LabRouterOptions = {}): Promise<LabRouter> {
  const host = opts.host ?? '127.0.0.1';
  const log = opts.log;
  const { state, fresh } = await loadState(opts);
  const faults = createFaults(opts.faults);
  const loginMode = opts.loginMode ?? defaultLoginMode(state);
  const emptyReply = opts.emptyReply ?? defaultEmptyReply(state);
  const sockets = new Set<Socket>();
  let nextConn = 1;
  const nas = opts.nas ? new LabNas(state, { log, ...(opts.nas === true ? {} : opts.nas) }) : undefined;
  const labCommands = opts.labCommands ?? combineLabCommands(labConsoleCommands(state), nas ? labNasCommands(nas) : undefined);

  let saver: StateSaver | undefined;
  let unsubscribe: (() => void) | undefined;
  if (opts.stateFile) {
    const file = opts.stateFile;
    saver = createStateSaver(file, () => state.toJSON(), {
      debounceMs: opts.saveDebounceMs,
      onError: (e) => log?.(`saving ${file} failed: ${describeError(e)}`),
    });
    unsubscribe = state.on('change', (e) => {
      if (!e.dynamic && e.path !== '/ppp/active') saver!.schedule();
    });
    if (fresh) {
      saver.schedule();
      await saver.flush();
    }
  }

  const onConnection = (socket: Socket, service: 'api' | 'api-ssl'): void => {
    const remote = plainAddress(socket.remoteAddress);
    const label = `conn #${nextConn++}`;
    if (faults.refuseConnections || !serviceAllows(state, service, remote)) {
      log?.(`${label} from ${remote}: refused`);
      socket.destroy();
      return;
    }
    sockets.add(socket);
    socket.setNoDelay(true);
    log?.(`${label} from ${remote}:${socket.remotePort} (${service})`);

    let corked = false;
    const session = new ApiSession({
      state,
      faults,
      loginMode,
      emptyReply,
      remoteAddress: remote,
      tagPlacement: opts.tagPlacement,
      faultCommands: opts.faultCommands,
      labCommands,
      label,
      log,
      io: {
        send(words) {
          if (socket.destroyed) return;
          // Batch the sentences of one tick into few writes (a 10,000-row print).
          if (!corked) {
            corked = true;
            socket.cork();
            process.nextTick(() => {
              corked = false;
              socket.uncork();
            });
          }
          // Words are bytes: what a client wrote goes back exactly (see bytes.ts).
          socket.write(encodeSentence(words.map(bytesFromText)));
        },
        end() {
          socket.end();
        },
        destroy() {
          socket.destroy();
        },
      },
    });
    const decoder = new SentenceDecoder({ decodeWord: textFromBytes });
    socket.on('data', (chunk: Buffer) => {
      let sentences: string[][];
      try {
        sentences = decoder.push(chunk);
      } catch (e) {
        log?.(`${label} protocol error: ${describeError(e)}`);
        session.dispose();
        socket.destroy();
        return;
      }
      for (const words of sentences) session.receive(words);
    });
    socket.on('error', (e) => log?.(`${label} socket error: ${e.message}`));
    socket.on('close', () => {
      sockets.delete(socket);
      session.dispose();
      log?.(`${label} closed`);
    });
  };

  const plain = createServer((s) => onConnection(s, 'api'));
  let tlsServer: Server | undefined;
  let port: number;
  let tlsPort: number | undefined;
  try {
    port = await listen(plain, opts.port ?? 0, host);
    if (opts.tls) {
      const tls = createTlsServer({ key: opts.tls.key, cert: opts.tls.cert }, (s) => onConnection(s, 'api-ssl'));
      tls.on('tlsClientError', (e) => log?.(`TLS client error: ${e.message}`));
      tlsServer = tls;
      tlsPort = await listen(tls, opts.tls.port ?? 0, host);
    }
    await nas?.start();
  } catch (e) {
    await closeServer(plain);
    if (tlsServer) await closeServer(tlsServer);
    await nas?.close();
    unsubscribe?.();
    throw e;
  }
  log?.(`lab router ${state.version.text} listening on ${host}:${port}${tlsPort ? `, API-SSL on ${tlsPort}` : ''}`);

  let closing: Promise<void> | undefined;
  let reachable = true;
  return {
    host,
    port,
    tlsPort,
    state,
    faults,
    loginMode,
    emptyReply,
    nas,
    connectionCount: () => sockets.size,
    dropConnections() {
      for (const s of sockets) s.destroy();
    },
    get reachable() {
      return reachable;
    },
    async offline() {
      if (!reachable || closing) return;
      reachable = false;
      const closed = [closeServer(plain), tlsServer ? closeServer(tlsServer) : Promise.resolve()];
      for (const s of sockets) s.destroy();
      await Promise.all(closed);
      log?.('lab router offline');
    },
    async online() {
      if (reachable || closing) return;
      await listen(plain, port, host);
      if (tlsServer) await listen(tlsServer, tlsPort!, host);
      reachable = true;
      log?.('lab router back online');
    },
    save: () => saver?.flush() ?? Promise.resolve(),
    close() {
      closing ??= (async () => {
        const closed = [closeServer(plain), tlsServer ? closeServer(tlsServer) : Promise.resolve()];
        for (const s of sockets) s.destroy();
        await Promise.all(closed);
        await nas?.close();
        unsubscribe?.();
        await saver?.flush();
        log?.('lab router stopped');
      })();
      return closing;
    },
  };
}
