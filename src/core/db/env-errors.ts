// Errors of the environment rather than of the input: a full disk, a data directory that cannot
// be written, a database server that cannot be reached or went away mid-run. Each gets its own
// code, a message that names the cause, what to do, and the reassurance that matters most: ispctl
// writes in transactions, so a run that failed this way changed nothing half way and is safe to
// run again.
import { accessSync, constants, statfsSync } from 'node:fs';
import { dirname } from 'node:path';
import { emscriptenErrnoCode } from '../error-text.js';
import { IspctlError } from '../errors.js';
import { errors, SAFE_TO_REPEAT } from '../error-catalogue.js';


interface ErrLike {
  code?: unknown;
  errno?: unknown;
  message?: unknown;
  path?: unknown;
  cause?: unknown;
}

/** The error and its causes, outermost first. */
function chain(err: unknown): ErrLike[] {
  const out: ErrLike[] = [];
  let e: unknown = err;
  for (let i = 0; i < 8 && e && typeof e === 'object' && !out.includes(e as ErrLike); i++) {
    out.push(e as ErrLike);
    e = (e as ErrLike).cause;
  }
  return out;
}

function codeOf(e: ErrLike): string {
  return typeof e.code === 'string' ? e.code : (emscriptenErrnoCode(e) ?? '');
}

function text(e: ErrLike): string {
  return typeof e.message === 'string' ? e.message : '';
}

/** Bytes free for unprivileged users on the file system holding `dir`, or undefined. */
export function freeBytes(dir: string): number | undefined {
  try {
    const s = statfsSync(dir);
    return Number(s.bavail) * Number(s.bsize);
  } catch {
    return undefined;
  }
}

/**
 * EROFS or EACCES when this process cannot write in `dir` (or, if it does not exist yet, in the
 * nearest directory above it that does); undefined when it can.
 */
export function writeDenied(dir: string): 'EROFS' | 'EACCES' | undefined {
  let d = dir;
  for (let i = 0; i < 64; i++) {
    try {
      accessSync(d, constants.W_OK | constants.X_OK);
      return undefined;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EROFS') return 'EROFS';
      if (code === 'EACCES' || code === 'EPERM') return 'EACCES';
      if (code !== 'ENOENT' || dirname(d) === d) return undefined;
      d = dirname(d);
    }
  }
  return undefined;
}

/** Below this, a PGlite failure without a clearer cause is put down to the disk. */
const LOW_SPACE_BYTES = 32 * 1024 * 1024;

const LOST = ['57P01', '57P02', '08006', '08003', '08007'];
const UNREACHABLE_ERRNO = ['ECONNREFUSED', 'ENOTFOUND', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN', 'ETIMEDOUT'];

export interface EnvironmentContext {
  /** The embedded database's data directory (to check its free space and name it). */
  dataDir?: string;
  engine?: 'pglite' | 'postgres';
  /** Where the database server is (password hidden), for messages. */
  location?: string;
  /**
   * The command had its database open before the error: a server it then cannot reach (shutting
   * down, starting up, refusing) went away mid-run, as when its connection is cut.
   */
  reached?: boolean;
}

/**
 * The typed error for an environment failure, or undefined when `err` is something else.
 * Codes: DISK_FULL, DATA_DIR_NOT_WRITABLE, DATABASE_UNREACHABLE, DATABASE_CONNECTION_LOST,
 * DATABASE_READ_ONLY.
 */
export function environmentError(err: unknown, ctx: EnvironmentContext = {}): IspctlError | undefined {
  if (err instanceof IspctlError) return undefined;
  const errs = chain(err);
  // A router's connection errors (RouterOS client) are not the database's.
  if (errs.some((e) => e instanceof Error && e.name.startsWith('RouterOS'))) return undefined;
  const where = ctx.dataDir ? ` (data directory ${ctx.dataDir})` : '';
  const codes = errs.map(codeOf);
  const texts = errs.map(text).join(' | ');

  // PGlite (PostgreSQL compiled to WebAssembly) reports a failed write as a failed
  // initialisation or an abort, whatever the cause: a data directory that cannot be written
  // (read-only file system, another owner) or, when the disk is (nearly) full, the disk.
  const opaque = ctx.dataDir !== undefined && (/failed to initialize|Aborted\(\)|RuntimeError: unreachable/i.test(texts) || !(err instanceof Error));
  const unwritable = opaque ? writeDenied(ctx.dataDir!) : undefined;
  if (unwritable) codes.push(unwritable);
  const diskFull =
    // (Emscripten's bare ErrnoError objects count by their errno: codeOf names it.)
    codes.some((c) => c === 'ENOSPC' || c === 'EDQUOT' || c === '53100') ||
    /no space left on device|disk quota exceeded|could not extend file/i.test(texts) ||
    (opaque && !unwritable && (freeBytes(ctx.dataDir!) ?? Infinity) < LOW_SPACE_BYTES);
  if (diskFull) {
    const free = ctx.dataDir ? freeBytes(ctx.dataDir) : undefined;
    return new IspctlError('DISK_FULL', `The disk is full${where}${free !== undefined ? `: ${formatBytes(free)} free` : ''}; the database could not write.`, {
      kind: 'failure',
      cause: err,
      suggestions: ['Free disk space (df -h shows where), or move the data directory to a larger disk with ISPCTL_DATA_DIR', SAFE_TO_REPEAT],
      details: { cause: 'disk_full', ...(free !== undefined ? { freeBytes: free } : {}), safeToRepeat: true },
    });
  }

  const fsCode = codes.find((c) => c === 'EROFS' || c === 'EACCES' || c === 'EPERM');
  if (fsCode) {
    const path = errs.map((e) => (typeof e.path === 'string' ? e.path : undefined)).find(Boolean) ?? ctx.dataDir;
    const why = fsCode === 'EROFS' ? 'is on a read-only file system' : 'cannot be written by this user';
    return new IspctlError('DATA_DIR_NOT_WRITABLE', `${path ? `${path} ` : 'The data directory '}${why} (${fsCode}); ispctl cannot keep its database there.`, {
      kind: 'failure',
      cause: err,
      suggestions: [
        fsCode === 'EROFS' ? 'Remount the file system read-write, or point ISPCTL_DATA_DIR at a writable directory' : 'Run ispctl as the user that owns the data directory, or fix its owner and mode (chown, chmod u+rwx)',
        SAFE_TO_REPEAT,
      ],
      details: { cause: fsCode === 'EROFS' ? 'read_only' : 'permission_denied', errno: fsCode, ...(path ? { path } : {}), safeToRepeat: true },
    });
  }

  // Network failures are the database's only when the database is a server.
  if (ctx.engine !== 'postgres') return undefined;
  const server = ctx.location ? ` at ${ctx.location}` : '';
  // A run that loses its connection between two statements (a fast restart cutting an idle
  // pooled connection) meets the server shutting down on its next connect: lost, not unreachable.
  const goneSince = ctx.reached === true && (codes.some((c) => c === '57P03' || c === 'ECONNREFUSED') || /the database system is (starting up|shutting down)/i.test(texts));
  if (goneSince || codes.some((c) => LOST.includes(c)) || /Connection terminated|terminating connection due to administrator command|server closed the connection unexpectedly|Client has encountered a connection error and is not queryable|ECONNRESET|EPIPE/i.test(texts) || codes.includes('ECONNRESET') || codes.includes('EPIPE')) {
    return new IspctlError('DATABASE_CONNECTION_LOST', `The connection to PostgreSQL${server} was lost mid-run (the server restarted, stopped or dropped it).`, {
      kind: 'failure',
      cause: err,
      suggestions: ['Check that PostgreSQL is running again (pg_isready), then run the command again', SAFE_TO_REPEAT],
      details: { cause: 'connection_lost', safeToRepeat: true },
    });
  }
  if (codes.some((c) => UNREACHABLE_ERRNO.includes(c) || c === '57P03') || /Timeout acquiring a connection|timeout exceeded when trying to connect|the database system is (starting up|shutting down)/i.test(texts)) {
    return errors.databaseUnreachable(server, errs.map(text).find(Boolean) ?? 'no answer', err);
  }
  // 25006 read_only_sql_transaction: a hot standby (streaming replica) refuses every write.
  if (codes.includes('25006') || /cannot execute \w+ in a read-only transaction/i.test(texts)) {
    return new IspctlError('DATABASE_READ_ONLY', `PostgreSQL${server} is read-only (a standby replica, or default_transaction_read_only); ispctl writes to the primary.`, {
      kind: 'failure',
      cause: err,
      suggestions: ['Point DATABASE_URL (or --database-url) at the primary; replicas are for FreeRADIUS authentication and reports (docs/scale-out.md)', SAFE_TO_REPEAT],
      details: { cause: 'read_only', safeToRepeat: true },
    });
  }
  return undefined;
}

function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(0)} KiB`;
  return `${(n / 1024 / 1024).toFixed(1)} MiB`;
}
