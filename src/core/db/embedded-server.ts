// The embedded database server: one process opens PGlite for a data directory (paying its
// start-up once) and serves PostgreSQL's wire protocol on a unix socket inside the data directory
// (`.s.PGSQL.5432`, mode 0600), so that commands connect with the ordinary `pg` driver in a few
// milliseconds instead of starting PGlite themselves.
//
// - It holds the data directory's lock (db.lock) for as long as it runs; the lock's hello says
//   what it serves (`serves: {socket, ready, busy}`), so commands find it there.
// - PGlite has one session. Clients take turns by connection: one connection is served at a
//   time, the others wait (unanswered, so their own connect timeout bounds the wait). Between two
//   clients the session is reset (Sync, ROLLBACK, DISCARD ALL), so a client killed inside a
//   transaction leaves nothing open, and no SET, temporary table, LISTEN, prepared statement or
//   advisory lock passes to the next one.
// - It exits after `idleMs` without clients, at once when its data directory or socket is
//   removed, and on SIGTERM/SIGINT (closing PGlite cleanly). Killed -9, the kernel frees the lock
//   and the next command starts a new server; PGlite recovers as after any crash.
// - It vacuums: PGlite has no autovacuum, so without it dead rows would pile up for ever and the
//   planner's statistics never change (a collections run's notices claim took 5.6 s instead of
//   0.1 s on tables never vacuumed, bench/collections.mjs). After `maintenanceIdleMs` without a
//   client, when clients were served since the last time and the last vacuum is VACUUM_EVERY_MS
//   old, it runs VACUUM (ANALYZE) table by table; a client that connects meanwhile waits for the
//   table being vacuumed, and the rest waits for the next pause.
import { lstatSync, mkdirSync, statSync, unlinkSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { describeError } from '../error-text.js';
import { acquireFileLock, type FileLock, type LockHolder } from './lock.js';

/** The socket's file name: pg connects to `<dir>/.s.PGSQL.<port>`, so the port is 5432. */
export const EMBEDDED_SOCKET_PORT = 5432;
export const embeddedSocketPath = (dataDir: string) => join(dataDir, `.s.PGSQL.${EMBEDDED_SOCKET_PORT}`);
/** Longest unix socket path (sun_path is 108 bytes on Linux, 104 on macOS, with the NUL). */
export const MAX_SOCKET_PATH = 103;

export const SERVER_COMMAND = 'ispctl embedded database server';

/** How long the server waits without a client before it vacuums (ms): a pause in the work, not between two commands of a script. */
export const MAINTENANCE_IDLE_MS = 5_000;
/** At most one vacuum in this long (ms): a daemon's ticks leave a pause every 10 s, and a vacuum after each would be most of the work. */
export const VACUUM_EVERY_MS = 10 * 60_000;

/** Whether a protocol reply holds an ErrorResponse ('E') message. */
function hasError(reply: Buffer): boolean {
  for (let at = 0; at + 5 <= reply.length; ) {
    if (reply[at] === 0x45) return true;
    const length = reply.readInt32BE(at + 1);
    if (length < 4) return true; // not a reply we can read: taken as failed
    at += 1 + length;
  }
  return false;
}

/** The first column of every DataRow ('D') of a protocol reply, as text (NULL as ''). */
function firstColumn(reply: Buffer): string[] {
  const out: string[] = [];
  for (let at = 0; at + 5 <= reply.length; ) {
    const length = reply.readInt32BE(at + 1);
    if (length < 4) break;
    if (reply[at] === 0x44 && reply.readInt16BE(at + 5) > 0) {
      const n = reply.readInt32BE(at + 7);
      out.push(n < 0 ? '' : reply.toString('utf8', at + 11, at + 11 + n));
    }
    at += 1 + length;
  }
  return out;
}

/**
 * The tables a vacuum goes through one at a time (every table and materialized view of the
 * database, the system catalogs included, as a database-wide VACUUM does; a table's TOAST table
 * goes with it), the largest first, each named as format('%I.%I') quotes it.
 */
const VACUUM_TABLES_SQL = `select format('%I.%I', n.nspname, c.relname) from pg_class c join pg_namespace n on n.oid = c.relnamespace
  where c.relkind in ('r', 'm') and n.nspname not like 'pg\\_toast%' and n.nspname not like 'pg\\_temp%'
  order by pg_total_relation_size(c.oid) desc, 1`;

export interface ServeOptions {
  dataDir: string;
  /** Exit after this long without a client (ms). */
  idleMs: number;
  /** How often to check that the data directory and socket are still there (ms; two stat calls, so often is cheap). */
  watchMs?: number;
  /** Vacuum after this long without a client (ms), when clients were served since; 0: never. Default {@link MAINTENANCE_IDLE_MS}. */
  maintenanceIdleMs?: number;
  log?: (line: string) => void;
}

interface Client {
  sock: net.Socket;
  buf: Buffer;
  started: boolean;
  holder: LockHolder;
  closed: boolean;
  working: boolean;
}

const SSL_REQUEST = 80877103;
const GSS_REQUEST = 80877104;
const CANCEL_REQUEST = 80877102;

function queryMessage(sql: string): Buffer {
  const s = Buffer.from(`${sql}\0`);
  const b = Buffer.alloc(5 + s.length);
  b[0] = 0x51; // 'Q'
  b.writeInt32BE(4 + s.length, 1);
  s.copy(b, 5);
  return b;
}
/** How long a started server waits for its first client, however short its idle time. */
const FIRST_CLIENT_GRACE_MS = 15_000;
const SYNC = Buffer.from([0x53, 0, 0, 0, 4]);

function startupMessage(): Buffer {
  const params = Buffer.from('user\0postgres\0database\0postgres\0\0');
  const b = Buffer.alloc(8 + params.length);
  b.writeInt32BE(b.length, 0);
  b.writeInt32BE(196608, 4); // protocol 3.0
  params.copy(b, 8);
  return b;
}

/** The key/value pairs of a startup message's body (after length and protocol). */
function startupParams(body: Buffer): Record<string, string> {
  const parts = body.toString('utf8').split('\0');
  const out: Record<string, string> = {};
  for (let i = 0; i + 1 < parts.length; i += 2) if (parts[i]) out[parts[i]!] = parts[i + 1]!;
  return out;
}

/** Runs the server until it exits; resolves with why. Throws when PGlite cannot open. */
export async function serveEmbedded(opts: ServeOptions): Promise<'idle' | 'gone' | 'signal' | 'locked' | 'failed'> {
  const log = opts.log ?? (() => undefined);
  const { dataDir } = opts;
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const socketPath = embeddedSocketPath(dataDir);
  let ready = false;
  let active: Client | undefined;
  const queue: Client[] = [];
  let lock: FileLock;
  try {
    lock = await acquireFileLock(join(dataDir, 'db.lock'), {
      timeoutMs: 0,
      command: SERVER_COMMAND,
      serves: () => ({ socket: socketPath, ready, busy: active ? active.holder : null }),
    });
  } catch {
    return 'locked'; // another process holds it: it serves, or uses the database itself
  }
  const dirIno = statSync(dataDir).ino;

  const { PGlite } = await import('@electric-sql/pglite');
  let pglite: InstanceType<typeof PGlite>;
  try {
    pglite = new PGlite(join(dataDir, 'pgdata'));
    await pglite.waitReady;
  } catch (err) {
    lock.release();
    throw err;
  }
  // One startup for the one session; every client gets its answer (the parameters never change:
  // DISCARD ALL resets them between clients).
  const startupReply = Buffer.from(await pglite.execProtocolRaw(startupMessage()));

  let finish!: (why: 'idle' | 'gone' | 'signal' | 'failed') => void;
  const done = new Promise<'idle' | 'gone' | 'signal' | 'failed'>((r) => (finish = r));
  let idleTimer: NodeJS.Timeout | undefined;
  // A server is started for a client that connects once it is ready: until a first client has
  // come, a short idle time (ISPCTL_EMBEDDED_IDLE=1) must not end it before that client, slowed by
  // a busy machine, reaches the socket (it would then open the database itself).
  let served = false;
  // Clients served since the last vacuum; the vacuum in progress (a client waits for the table
  // being vacuumed, then the vacuum waits for the next pause); the tables its pass has yet to do.
  let turnsSinceVacuum = 0;
  let vacuuming = false;
  let vacuumDone: Promise<void> = Promise.resolve();
  let lastVacuumAt = -Infinity;
  let maintenanceTimer: NodeJS.Timeout | undefined;
  let pass: { tables: string[]; total: number; ms: number } | null = null;
  const maintenanceIdleMs = opts.maintenanceIdleMs ?? MAINTENANCE_IDLE_MS;
  const armIdle = () => {
    clearTimeout(idleTimer);
    clearTimeout(maintenanceTimer);
    const wait = served ? opts.idleMs : Math.max(opts.idleMs, FIRST_CLIENT_GRACE_MS);
    if (active || vacuuming || queue.length > 0) return;
    idleTimer = setTimeout(() => finish('idle'), wait);
    // Not when the server would exit first: the next server starts with a vacuum to do as well.
    // A pass that gave way to a client goes on at the next pause.
    const after = pass ? maintenanceIdleMs : Math.max(maintenanceIdleMs, lastVacuumAt + VACUUM_EVERY_MS - Date.now());
    if ((pass || turnsSinceVacuum > 0) && maintenanceIdleMs > 0 && after < wait) maintenanceTimer = setTimeout(vacuum, after);
  };
  const vacuum = () => {
    if (active || vacuuming || queue.length > 0) return;
    vacuuming = true;
    vacuumDone = runVacuum();
  };
  // VACUUM (ANALYZE) one table at a time, and between two tables a client that came meanwhile
  // goes first: it waits for one table (0.25-0.5 s for the largest, 20,000 messages, at 10,000
  // subscribers), not for the whole database (0.8-1.5 s there).
  const runVacuum = async () => {
    clearTimeout(idleTimer);
    try {
      if (!pass) {
        const reply = await exec(queryMessage(VACUUM_TABLES_SQL));
        if (hasError(reply)) throw new Error('the list of tables to vacuum could not be read');
        const tables = firstColumn(reply);
        pass = { tables, total: tables.length, ms: 0 };
        turnsSinceVacuum = 0;
        log(`vacuuming ${tables.length} tables`);
      }
      while (pass.tables.length) {
        // PGlite answers within the same turn of the event loop: let it accept the clients that
        // connected meanwhile before looking for them.
        await new Promise((resolve) => setImmediate(resolve));
        if (queue.length > 0) {
          log(`vacuum gave way to a client after ${pass.total - pass.tables.length} of ${pass.total} tables; it goes on at the next pause`);
          return;
        }
        const started = Date.now();
        const reply = await exec(queryMessage(`VACUUM (ANALYZE) ${pass.tables[0]}`));
        pass.ms += Date.now() - started;
        // One table that fails (dropped since the list was read) does not stop the others.
        if (hasError(reply)) log(`vacuum of ${pass.tables[0]} failed (the database answered with an error)`);
        pass.tables.shift();
      }
      lastVacuumAt = Date.now();
      log(`vacuumed and analysed in ${pass.ms} ms (${pass.total} tables)`);
      pass = null;
    } catch (err) {
      log(`vacuum failed: ${describeError(err)}; tried again after the next clients`);
      pass = null;
    } finally {
      vacuuming = false;
      next();
    }
  };

  let resetting: Promise<void> = Promise.resolve();
  // One call into PGlite at a time, in order (a reset never overtakes a query in flight).
  // The reply is taken as it comes (execProtocolRawStream): execProtocolRaw also parses every
  // message of it into objects it keeps until its next parsed query, which a server that only
  // forwards bytes never runs, so they piled up for as long as the server lived, and parsing the
  // rows was a tenth of the server's time (a profile of bench/collections.mjs's embedded server).
  let tail: Promise<unknown> = Promise.resolve();
  const exec = (msg: Buffer): Promise<Buffer> => {
    const p = tail.then(async () => {
      const parts: Buffer[] = [];
      // A view of PGlite's memory, reused by the next write: copied.
      await pglite.execProtocolRawStream(msg, { onRawData: (bytes) => void parts.push(Buffer.from(bytes)) });
      return parts.length === 1 ? parts[0]! : Buffer.concat(parts);
    });
    tail = p.catch(() => undefined);
    return p;
  };

  const next = () => {
    while (!active && !vacuuming && queue.length) {
      const c = queue.shift()!;
      if (c.closed) continue;
      active = c;
      pump(c);
    }
    armIdle();
  };

  const endTurn = (c: Client) => {
    if (active !== c) {
      const i = queue.indexOf(c);
      if (i >= 0) queue.splice(i, 1);
      armIdle();
      return;
    }
    // Whatever the client left (an open transaction, an unfinished extended query, session
    // settings), the next one starts clean.
    resetting = (async () => {
      try {
        await exec(SYNC);
        await exec(queryMessage('ROLLBACK'));
        await exec(queryMessage('DISCARD ALL'));
      } catch (err) {
        log(`reset failed: ${describeError(err)}`);
        finish('failed');
      }
    })();
    void resetting.then(() => {
      active = undefined;
      turnsSinceVacuum++;
      next();
    });
  };

  /** Feeds the active client's complete messages to PGlite, one batch at a time. */
  const pump = (c: Client) => {
    if (active !== c || c.working || c.closed) return;
    if (!c.started) {
      if (!parseStartup(c)) return;
    }
    const msgs = takeMessages(c);
    if (!msgs) return;
    c.working = true;
    void (async () => {
      try {
        const out = await exec(msgs.data);
        if (!c.closed && out.length) c.sock.write(out);
      } catch (err) {
        log(`query failed: ${describeError(err)}`);
        c.sock.destroy();
        finish('failed');
        return;
      } finally {
        c.working = false;
      }
      if (msgs.terminate) {
        c.sock.end();
        return;
      }
      pump(c);
    })();
  };

  /** Handles SSL/GSS requests and the startup message; true once started. */
  const parseStartup = (c: Client): boolean => {
    for (;;) {
      if (c.buf.length < 8) return false;
      const len = c.buf.readInt32BE(0);
      if (len < 8 || len > 10_000) {
        c.sock.destroy();
        return false;
      }
      if (c.buf.length < len) return false;
      const code = c.buf.readInt32BE(4);
      const body = c.buf.subarray(8, len);
      c.buf = c.buf.subarray(len);
      if (code === SSL_REQUEST || code === GSS_REQUEST) {
        c.sock.write('N');
        continue;
      }
      if (code === CANCEL_REQUEST) {
        c.sock.destroy();
        return false;
      }
      const params = startupParams(body);
      const app = params.application_name ?? '';
      const m = /^ispctl\[(\d+)\] ?(.*)$/.exec(app);
      if (m) c.holder = { ...c.holder, pid: Number(m[1]), command: m[2] || 'ispctl' };
      else if (app) c.holder = { ...c.holder, command: app };
      c.started = true;
      c.sock.write(startupReply);
      return true;
    }
  };

  /** The complete messages buffered (Terminate is answered here, never passed to PGlite). */
  const takeMessages = (c: Client): { data: Buffer; terminate: boolean } | undefined => {
    let off = 0;
    let terminate = false;
    const parts: Buffer[] = [];
    let start = 0;
    while (c.buf.length - off >= 5) {
      const len = c.buf.readInt32BE(off + 1);
      if (c.buf.length - off < 1 + len) break;
      if (c.buf[off] === 0x58) {
        // 'X' Terminate: the client leaves; the reset at close cleans up.
        parts.push(c.buf.subarray(start, off));
        terminate = true;
        off += 1 + len;
        start = off;
        break;
      }
      off += 1 + len;
    }
    if (!terminate) parts.push(c.buf.subarray(start, off));
    c.buf = c.buf.subarray(off);
    const data = Buffer.concat(parts);
    if (!data.length) {
      if (terminate) c.sock.end();
      return undefined;
    }
    return { data, terminate };
  };

  const server = net.createServer((sock) => {
    const c: Client = {
      sock,
      buf: Buffer.alloc(0),
      started: false,
      holder: { pid: 0, command: 'a client', since: new Date().toISOString() },
      closed: false,
      working: false,
    };
    clearTimeout(idleTimer);
    clearTimeout(maintenanceTimer);
    sock.on('data', (d: Buffer) => {
      c.buf = c.buf.length ? Buffer.concat([c.buf, d]) : d;
      pump(c);
    });
    sock.on('error', () => undefined);
    sock.on('close', () => {
      c.closed = true;
      endTurn(c);
    });
    served = true;
    queue.push(c);
    next();
  });

  // The socket is for this user alone (the data directory is 0700 too).
  const oldMask = process.umask(0o177);
  try {
    try {
      unlinkSync(socketPath); // a socket file left by a server killed -9 (we hold the lock)
    } catch {
      // none
    }
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(socketPath, () => resolve());
    });
  } catch (err) {
    await pglite.close().catch(() => undefined);
    lock.release();
    throw err;
  } finally {
    process.umask(oldMask);
  }
  ready = true;
  armIdle();

  // Gone: the data directory removed or replaced, or our socket removed.
  const watch = setInterval(() => {
    try {
      if (statSync(dataDir).ino !== dirIno) return finish('gone');
      lstatSync(socketPath);
    } catch {
      finish('gone');
    }
  }, opts.watchMs ?? 250);
  const onSignal = () => finish('signal');
  process.once('SIGTERM', onSignal);
  process.once('SIGINT', onSignal);
  process.once('SIGHUP', onSignal);

  const why = await done;
  clearInterval(watch);
  clearTimeout(idleTimer);
  clearTimeout(maintenanceTimer);
  ready = false;
  server.close();
  for (const c of [...queue, ...(active ? [active] : [])]) c.sock.destroy();
  if (why === 'gone') {
    // Nothing left to write to; leave at once.
    lock.release();
    return why;
  }
  try {
    unlinkSync(socketPath);
  } catch {
    // gone
  }
  await resetting.catch(() => undefined);
  // A vacuum in progress ends before PGlite closes.
  await vacuumDone.catch(() => undefined);
  await pglite.close().catch((err: unknown) => log(`close failed: ${describeError(err)}`));
  lock.release();
  return why;
}
