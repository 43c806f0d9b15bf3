// Process locks for the embedded database (db.lock) and the embedded daemon (daemon.lock).
//
// Exclusion is a listening local socket whose address is derived from the lock's directory
// (device and inode, so every path, symlink or bind mount to it agrees) and name:
//
// - Linux: an abstract-namespace unix socket (`\0ispctl-lock-<hash>`). Binding it is atomic, and
//   the kernel removes it the instant its process ends, however it ends (kill -9 included). There
//   is no file to go stale, and no process id is compared, so a reused pid (ispctl as PID 1 in a
//   container restarted with the same pid) can never make a lock look held.
// - Windows: a named pipe (`\\.\pipe\ispctl-lock-<hash>`), also released by the kernel.
// - Other systems (macOS, BSD): a unix socket file in the temporary directory. The kernel frees
//   the address when the process ends but leaves the file: a file nobody answers on is stale and
//   is removed (see `staleSocketHint`).
//
// The holder answers whoever connects with one JSON line saying who it is (process id, command,
// since when). Waiters use it for "waiting for process N (command)"; it is also written to the
// info file at `path` for people (`cat db.lock`), but neither is used to decide who holds the lock.
// A holder that serves the embedded database to other processes (embedded-server.ts) says so in
// its hello (`serves`: where its PostgreSQL socket is, whether it is ready, whose turn it is);
// a command that finds the lock held by it connects there instead of waiting (docs/operations.md).
import { createHash, randomBytes } from 'node:crypto';
import { linkSync, mkdirSync, readFileSync, renameSync, rmdirSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { errors } from '../error-catalogue.js';

export interface LockHolder {
  pid: number;
  command: string;
  since: string;
}

export interface LockOptions {
  /** How long to wait for another process, in ms. 0 fails at once. */
  timeoutMs: number;
  /** Shown to waiters: what this process is doing. */
  command: string;
  /** Called once when we start waiting, with the current holder. */
  onWait?: (holder: LockHolder | undefined) => void;
  /** Longest pause between tries (ms). Default 100. */
  pollMs?: number;
  now?: () => Date;
  /** What this holder serves, read at each hello (the embedded database server). */
  serves?: () => Serves;
}

/** What a serving holder announces: its PostgreSQL unix socket and whose turn it is. */
export interface Serves {
  /** The socket file (pg connects to the directory and port 5432). */
  socket: string;
  /** False while the database is still opening. */
  ready: boolean;
  /** The client whose turn it is, if any. */
  busy: LockHolder | null;
}

export interface FileLock {
  /** The info file naming the holder. */
  path: string;
  /** Where the lock lives (the socket address), for messages. */
  address: string;
  mechanism: LockMechanism;
  release(): void;
}

export type LockMechanism = 'abstract-socket' | 'named-pipe' | 'socket-file';

/** The hello line the holder sends to whoever connects. */
export interface Hello extends LockHolder {
  ispctl: 'lock/1';
  /** What the holder serves besides the hello: null for a process that uses the database itself. */
  serves: Serves | null;
}

/** How locks are taken on this system. `ISPCTL_LOCK_MECHANISM=socket-file` forces the fallback (tests). */
export function lockMechanism(env: Record<string, string | undefined> = process.env): LockMechanism {
  const forced = env.ISPCTL_LOCK_MECHANISM;
  if (forced === 'socket-file' || forced === 'abstract-socket' || forced === 'named-pipe') return forced;
  if (process.platform === 'linux') return 'abstract-socket';
  if (process.platform === 'win32') return 'named-pipe';
  return 'socket-file';
}

/** The socket address of the lock at `path` (its directory must exist). */
export function lockAddress(path: string, mechanism = lockMechanism()): string {
  const dir = dirname(path);
  const st = statSync(dir);
  const key = createHash('sha256').update(`${st.dev}:${st.ino}:${basename(path)}`).digest('hex').slice(0, 32);
  if (mechanism === 'abstract-socket') return `\0ispctl-lock-${key}`;
  if (mechanism === 'named-pipe') return `\\\\.\\pipe\\ispctl-lock-${key}`;
  return join(tmpdir(), `ispctl-lock-${key}.sock`);
}

/** For messages: an abstract address shown with a leading @, as ss(8) does. */
export function printableAddress(address: string): string {
  return address.startsWith('\0') ? `@${address.slice(1)}` : address;
}

/** What to tell a user who suspects a stale lock, for this mechanism. */
export function staleSocketHint(address: string, mechanism: LockMechanism): string {
  if (mechanism === 'socket-file') {
    return `A lock can be left behind only as the socket file ${address} after a crash, and ispctl removes it by itself when no process answers on it; if ispctl still reports the lock held, another ispctl process runs (check with: ps -p <pid>)`;
  }
  return `This lock cannot go stale: the system releases it when its process ends (it is a ${mechanism === 'abstract-socket' ? 'Linux abstract socket' : 'named pipe'}, ${printableAddress(address)}). If it is held, that process still runs: check with ps -p <pid>, and stop it if it is stuck`;
}

function listen(address: string, hello: () => Hello, mechanism: LockMechanism): Promise<net.Server | 'busy'> {
  return new Promise((resolve, reject) => {
    const server = net.createServer((sock) => {
      sock.on('error', () => undefined);
      sock.end(JSON.stringify(hello()) + '\n');
    });
    // A socket file is first bound and listening under a name of its own, then linked to the lock's
    // name (link() fails if that name exists: atomic). So the lock's file is answered on from the
    // moment it appears, and a file there that refuses is stale for certain: no holder is ever
    // caught between bind() and listen() and taken for dead by a cleaner (two holders at once).
    const own = mechanism === 'socket-file' ? `${address}.${process.pid}.${randomBytes(4).toString('hex')}` : address;
    server.once('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EADDRINUSE' || err.code === 'EACCES') resolve('busy');
      else reject(err);
    });
    server.listen(own, () => {
      // The lock must not keep the process alive.
      server.unref();
      if (own === address) return resolve(server);
      try {
        linkSync(own, address);
      } catch (err) {
        server.close(); // unlinks its own name
        if ((err as NodeJS.ErrnoException).code === 'EEXIST') resolve('busy');
        else reject(err);
        return;
      }
      try {
        unlinkSync(own);
      } catch {
        // closing unlinks it (ENOENT then is harmless)
      }
      resolve(server);
    });
  });
}

/** Asks the holder who it is. `refused`: nobody listens (a stale socket file); `absent`: no socket file. */
async function askHolder(address: string, timeoutMs = 500): Promise<LockHolder | 'refused' | 'absent' | undefined> {
  const h = await askHello(address, timeoutMs);
  return h === 'refused' || h === 'absent' || h === undefined ? h : { pid: h.pid, command: h.command, since: h.since };
}

function askHello(address: string, timeoutMs = 500): Promise<Hello | 'refused' | 'absent' | undefined> {
  return new Promise((resolve) => {
    let buf = '';
    let done = false;
    const finish = (v: Hello | 'refused' | 'absent' | undefined) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      sock.destroy();
      resolve(v);
    };
    const sock = net.connect(address);
    const timer = setTimeout(() => finish(undefined), timeoutMs);
    sock.setEncoding('utf8');
    sock.on('data', (d: string) => {
      buf += d;
      const nl = buf.indexOf('\n');
      if (nl < 0) return;
      try {
        const h = JSON.parse(buf.slice(0, nl)) as Hello;
        finish(typeof h.pid === 'number' ? { ...h, command: String(h.command), since: String(h.since), serves: validServes(h.serves) } : undefined);
      } catch {
        finish(undefined);
      }
    });
    sock.on('error', (err: NodeJS.ErrnoException) => finish(err.code === 'ECONNREFUSED' ? 'refused' : err.code === 'ENOENT' ? 'absent' : undefined));
    sock.on('close', () => finish(undefined));
  });
}

function validServes(s: unknown): Serves | null {
  if (!s || typeof s !== 'object') return null;
  const v = s as Partial<Serves>;
  if (typeof v.socket !== 'string') return null;
  const b = v.busy;
  const busy = b && typeof b === 'object' && typeof b.pid === 'number' ? { pid: b.pid, command: String(b.command), since: String(b.since) } : null;
  return { socket: v.socket, ready: v.ready === true, busy };
}

/**
 * What the lock at `path` says of its holder right now: its hello (with what it serves), or
 * 'free' when nobody holds it. A holder that does not answer in time is reported as `undefined`.
 */
export async function lockHello(path: string, mechanism = lockMechanism()): Promise<Hello | 'free' | undefined> {
  const address = lockAddress(path, mechanism);
  const h = await askHello(address);
  if (h === 'absent') return 'free';
  if (h !== 'refused') return h;
  if (mechanism === 'socket-file') await removeStaleSocket(address);
  return 'free';
}

function readInfo(path: string): LockHolder | undefined {
  try {
    const h = JSON.parse(readFileSync(path, 'utf8')) as LockHolder;
    return typeof h.pid === 'number' ? h : undefined;
  } catch {
    return undefined;
  }
}

/** Who holds the lock at `path`, if anyone answers. */
export async function lockHolder(path: string, mechanism = lockMechanism()): Promise<LockHolder | undefined> {
  const h = await askHolder(lockAddress(path, mechanism));
  if (h === 'refused' || h === 'absent') return undefined;
  return h ?? readInfo(path);
}

/**
 * Socket-file fallback: removes a socket file nobody answers on. A holder's file appears already
 * listening (see `listen`), so one that refuses belongs to a process that ended. Check and removal
 * happen under a guard directory (mkdir is atomic), so two cleaners never both act on one stale
 * file: the second would otherwise remove the file a new holder linked after the first removal. A
 * guard left by a cleaner killed in that moment is removed after 10 s.
 */
async function removeStaleSocket(address: string): Promise<boolean> {
  const guard = `${address}.cleaning`;
  try {
    mkdirSync(guard);
  } catch {
    try {
      if (Date.now() - statSync(guard).mtimeMs > 10_000) rmdirSync(guard);
    } catch {
      // gone meanwhile
    }
    return false;
  }
  try {
    // Only a file that refuses is removed. No file at all ('absent'), the holder may be linking
    // its own there this instant: removing "it" would remove a live holder's file.
    const answer = await askHolder(address);
    if (answer === 'absent') return true;
    if (answer !== 'refused') return false;
    unlinkSync(address);
    return true;
  } catch {
    return false;
  } finally {
    rmdirSync(guard);
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Takes the lock named by `path`, waiting up to `timeoutMs` for another process that holds it.
 * @throws IspctlError DATABASE_LOCKED when it stays held
 */
export async function acquireFileLock(path: string, opts: LockOptions): Promise<FileLock> {
  const now = opts.now ?? (() => new Date());
  const mechanism = lockMechanism();
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const address = lockAddress(path, mechanism);
  const token = randomBytes(8).toString('hex');
  const me: LockHolder = { pid: process.pid, command: opts.command, since: now().toISOString() };
  const hello = (): Hello => ({ ispctl: 'lock/1', ...me, serves: opts.serves ? opts.serves() : null });
  const started = Date.now();
  const maxPoll = opts.pollMs ?? 100;
  let pause = Math.min(5, maxPoll);
  let announced = false;
  let server: net.Server | undefined;
  for (;;) {
    const r = await listen(address, hello, mechanism);
    if (r !== 'busy') {
      server = r;
      break;
    }
    let holder: LockHolder | undefined;
    if (mechanism === 'socket-file' || !announced || Date.now() - started >= opts.timeoutMs) {
      const answer = await askHolder(address);
      if (answer === 'absent') continue; // released meanwhile: try at once
      if (answer === 'refused' && mechanism === 'socket-file') {
        // A socket file nobody listens on: its process ended. Remove it and try again at once.
        if (await removeStaleSocket(address)) continue;
      }
      holder = answer === 'refused' ? undefined : (answer ?? readInfo(path));
    }
    if (Date.now() - started >= opts.timeoutMs) {
      const who = holder ? `process ${holder.pid} (${holder.command}, since ${holder.since})` : 'another process';
      throw errors.databaseLocked(who, opts.timeoutMs, staleSocketHint(printableAddress(address), mechanism), { ...(holder ? { holder } : {}), lock: printableAddress(address), mechanism });
    }
    if (!announced) {
      announced = true;
      opts.onWait?.(holder);
    }
    // Short pauses first (a command finishing), growing to pollMs; jitter keeps waiters apart.
    await sleep(pause * (0.5 + Math.random()));
    pause = Math.min(maxPoll, pause * 2);
  }

  // For people: who holds it. Written whole (rename), so a reader never sees half of it.
  const info = JSON.stringify({ ...me, token, lock: printableAddress(address), mechanism }) + '\n';
  try {
    const tmp = `${path}.${process.pid}.${token}`;
    writeFileSync(tmp, info, { mode: 0o600 });
    renameSync(tmp, path);
  } catch {
    // The info file is a courtesy; the socket is the lock.
  }
  let released = false;
  const release = () => {
    if (released) return;
    released = true;
    process.removeListener('exit', release);
    try {
      if (readFileSync(path, 'utf8').includes(`"token":"${token}"`)) unlinkSync(path);
    } catch {
      // already gone or replaced by the next holder
    }
    // A socket file under the lock's name is ours until we remove it (nobody can link another
    // there meanwhile); removed before the socket closes, so no connect finds it refusing.
    if (mechanism === 'socket-file') {
      try {
        unlinkSync(address);
      } catch {
        // already gone
      }
    }
    server!.close();
  };
  process.on('exit', release);
  return { path, address: printableAddress(address), mechanism, release };
}
