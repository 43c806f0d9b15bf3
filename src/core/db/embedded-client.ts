// Reaching the embedded database through its server (embedded-server.ts): find the server in the
// lock's hello, start one (detached) when the database is free, and connect with the pg driver.
// Falls back to opening PGlite in this process when the server cannot be used (turned off, a data
// directory path too long for a unix socket, running from sources, or a server that could not start:
// then opening it here reports the real cause, a full disk for example).
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { IspctlError } from '../errors.js';
import { lockHello, lockAddress, lockMechanism, printableAddress, staleSocketHint, type LockHolder } from './lock.js';
import { EMBEDDED_SOCKET_PORT, MAX_SOCKET_PATH, SERVER_COMMAND, embeddedSocketPath } from './embedded-server.js';
import { errors } from '../error-catalogue.js';

/** The command named in the lock's info file (for a holder too busy to answer its hello). */
function infoCommand(lockPath: string): string | undefined {
  try {
    return String((JSON.parse(readFileSync(lockPath, 'utf8')) as { command?: unknown }).command);
  } catch {
    return undefined;
  }
}

export type Env = Record<string, string | undefined>;

/** Off with ISPCTL_EMBEDDED_SERVER=0 (or off/false/no): every process opens PGlite itself. */
export function embeddedServerEnabled(env: Env = process.env): boolean {
  const v = (env.ISPCTL_EMBEDDED_SERVER ?? '').trim().toLowerCase();
  return !['0', 'off', 'false', 'no'].includes(v);
}

/** How long the server stays without clients before it exits: ISPCTL_EMBEDDED_IDLE seconds, default 300. */
export function embeddedIdleMs(env: Env = process.env): number {
  const raw = env.ISPCTL_EMBEDDED_IDLE;
  const n = raw === undefined || raw.trim() === '' ? NaN : Number(raw);
  return Number.isFinite(n) && n >= 0 ? Math.round(n * 1000) : 300_000;
}

/**
 * The server's entry point, when running built code: next to this module (dist/src/core/db/), or
 * next to the bundled script this module is part of (dist/bundle/ispctl.cjs).
 */
export function serverEntry(): string | undefined {
  const here = fileURLToPath(import.meta.url);
  if (!/\.c?js$/.test(here)) return undefined;
  return [join(here, '..', 'embedded-server-main.js'), join(here, '..', '..', 'embedded-server-main.js')].find((p) => existsSync(p));
}

/** Whether this process may start a server for this data directory (else it opens PGlite itself when nobody serves). */
export function mayStartServer(dataDir: string, env: Env = process.env): boolean {
  return embeddedServerEnabled(env) && serverEntry() !== undefined && socketPathFits(dataDir);
}

/** A unix socket path has a short length limit; a longer data directory is never served. */
export function socketPathFits(dataDir: string): boolean {
  return Buffer.byteLength(embeddedSocketPath(dataDir)) <= MAX_SOCKET_PATH;
}

export interface ServedConnection {
  /** pg connection settings (host is the socket's directory). */
  host: string;
  port: number;
  /** Who held the turn when we started waiting, if anyone. */
  waitedFor?: LockHolder;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The server may take this long to open PGlite (a first start creates the database). */
export const SERVER_START_MS = 120_000;
const START_MS = SERVER_START_MS;

/**
 * Finds (or starts) the server for `dataDir` and returns where to connect, or 'in-process' when
 * this process should open PGlite itself. Waits for a holder that does not serve (a process
 * using the database in-process) up to `lockTimeoutMs`, as the lock does.
 */
export async function findServer(
  dataDir: string,
  opts: { lockTimeoutMs: number; onWait?: (holder: LockHolder | undefined) => void; env?: Env; spawn: boolean },
): Promise<{ socket: string; busy: LockHolder | null } | 'in-process'> {
  const lockPath = join(dataDir, 'db.lock');
  const started = Date.now();
  let child: ChildProcess | undefined;
  let childExited = false;
  let announced = false;
  let pause = 5;
  const detach = () => {
    if (!child) return;
    child.removeAllListeners('exit');
    child.unref();
  };
  try {
    for (;;) {
      const h = await lockHello(lockPath);
      if (h === 'free') {
        if (childExited || !opts.spawn) return 'in-process';
        if (!child) {
          // Its errors (why it could not start, say) go to a log in the data directory.
          let log: number | 'ignore' = 'ignore';
          try {
            log = openSync(join(dataDir, 'embedded-server.log'), 'a', 0o600);
          } catch {
            // no log then
          }
          child = spawn(process.execPath, [serverEntry()!, dataDir], {
            detached: true,
            stdio: ['ignore', 'ignore', log],
            cwd: '/',
            env: { ...(opts.env ?? process.env) },
          });
          if (typeof log === 'number') closeSync(log);
          child.once('exit', () => (childExited = true));
          child.once('error', () => (childExited = true));
        }
      } else if (h?.serves) {
        if (h.serves.ready) return { socket: h.serves.socket, busy: h.serves.busy };
        // Opening (or closing): not another command's turn, so not bounded by the lock timeout.
      } else if (h === undefined && (infoCommand(lockPath) === SERVER_COMMAND || (child && !childExited))) {
        // A server too busy to answer the hello in time (opening PGlite, or running a long query:
        // PGlite runs on its event loop). Its socket is in the data directory: try it; a server
        // still opening refuses, and the caller looks again.
        if (!(child && !childExited) && existsSync(embeddedSocketPath(dataDir))) {
          return { socket: embeddedSocketPath(dataDir), busy: null };
        }
      } else {
        // A process that uses the database itself (ISPCTL_EMBEDDED_SERVER=0, or an older ispctl).
        const holder = h ? { pid: h.pid, command: h.command, since: h.since } : undefined;
        if (Date.now() - started >= opts.lockTimeoutMs) throw lockedError(lockPath, holder, opts.lockTimeoutMs);
        if (!announced) {
          announced = true;
          opts.onWait?.(holder);
        }
      }
      if (Date.now() - started > START_MS + opts.lockTimeoutMs) throw lockedError(lockPath, undefined, opts.lockTimeoutMs);
      await sleep(pause * (0.5 + Math.random()));
      const serverSide = h === 'free' || h === undefined || Boolean(h?.serves);
      pause = Math.min(serverSide ? 20 : 100, pause * 2);
    }
  } finally {
    detach();
  }
}

export function lockedError(lockPath: string, holder: LockHolder | undefined, timeoutMs: number): IspctlError {
  const mechanism = lockMechanism();
  const address = printableAddress(lockAddress(lockPath, mechanism));
  const who = holder ? `process ${holder.pid} (${holder.command}, since ${holder.since})` : 'another process';
  return errors.databaseLocked(who, timeoutMs, staleSocketHint(address, mechanism), { ...(holder ? { holder } : {}), lock: address, mechanism });
}

export { EMBEDDED_SOCKET_PORT };
