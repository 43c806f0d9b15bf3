import { describe, expect, test } from 'vitest';
import { environmentError } from '../../src/core/db/env-errors.js';
import { IspctlError } from '../../src/core/errors.js';

function errno(code: string, message: string, extra: Record<string, unknown> = {}): Error {
  return Object.assign(new Error(message), { code, ...extra });
}

describe('environment errors', () => {
  test('a full disk, from the file system or from PostgreSQL', () => {
    const fs = environmentError(errno('ENOSPC', 'ENOSPC: no space left on device, write'), { engine: 'pglite', dataDir: '/' });
    expect(fs?.code).toBe('DISK_FULL');
    expect(fs?.message).toContain('disk is full');
    expect(fs?.suggestions.join(' ')).toContain('run the same command again');
    expect(fs?.details).toMatchObject({ safeToRepeat: true });
    expect(environmentError(errno('53100', 'could not extend file "base/5/16384": No space left on device'), { engine: 'postgres' })?.code).toBe('DISK_FULL');
  });

  test('a PGlite start-up failure is put down to the disk only when the disk is nearly full', () => {
    // The root file system of a test machine has room: the failure stays what it was.
    expect(environmentError(new Error('PGlite failed to initialize properly'), { engine: 'pglite', dataDir: '/' })).toBeUndefined();
  });

  test('a read-only or unwritable data directory', () => {
    const ro = environmentError(errno('EROFS', "EROFS: read-only file system, mkdir '/srv/ispctl'", { path: '/srv/ispctl' }), { engine: 'pglite' });
    expect(ro?.code).toBe('DATA_DIR_NOT_WRITABLE');
    expect(ro?.message).toBe('/srv/ispctl is on a read-only file system (EROFS); ispctl cannot keep its database there.');
    const acc = environmentError(errno('EACCES', 'EACCES: permission denied', { path: '/srv/ispctl/db.lock' }), { engine: 'pglite' });
    expect(acc?.code).toBe('DATA_DIR_NOT_WRITABLE');
    expect(acc?.suggestions[0]).toContain('owns the data directory');
  });

  test('PostgreSQL unreachable or lost mid-run, found through the cause chain', () => {
    const refused = new Error('outer', { cause: errno('ECONNREFUSED', 'connect ECONNREFUSED 127.0.0.1:5432') });
    expect(environmentError(refused, { engine: 'postgres', location: 'postgres://u:***@h/db' })?.code).toBe('DATABASE_UNREACHABLE');
    expect(environmentError(errno('57P01', 'terminating connection due to administrator command'), { engine: 'postgres' })?.code).toBe('DATABASE_CONNECTION_LOST');
    expect(environmentError(new Error('Connection terminated unexpectedly'), { engine: 'postgres' })?.code).toBe('DATABASE_CONNECTION_LOST');
    // The server shutting down or refusing: unreachable for a command that never had it, lost
    // mid-run for one that did (a fast restart cut its idle connection between two statements).
    const shutting = errno('57P03', 'the database system is shutting down');
    expect(environmentError(shutting, { engine: 'postgres' })?.code).toBe('DATABASE_UNREACHABLE');
    expect(environmentError(shutting, { engine: 'postgres', reached: false })?.code).toBe('DATABASE_UNREACHABLE');
    const lost = environmentError(shutting, { engine: 'postgres', location: 'postgres://u:***@h/db', reached: true });
    expect(lost?.code).toBe('DATABASE_CONNECTION_LOST');
    expect(lost?.message).toBe('The connection to PostgreSQL at postgres://u:***@h/db was lost mid-run (the server restarted, stopped or dropped it).');
    expect(lost?.details).toMatchObject({ cause: 'connection_lost', safeToRepeat: true });
    expect(environmentError(refused, { engine: 'postgres', reached: true })?.code).toBe('DATABASE_CONNECTION_LOST');
    // A pool that times out is not a server gone.
    expect(environmentError(new Error('Timeout acquiring a connection. The pool is probably full.'), { engine: 'postgres', reached: true })?.code).toBe('DATABASE_UNREACHABLE');
    // The same text from a router, or on the embedded database, is not the database's.
    expect(environmentError(errno('ECONNREFUSED', 'connect ECONNREFUSED'), { engine: 'pglite' })).toBeUndefined();
    const router = Object.assign(new Error('read ECONNRESET'), { name: 'RouterOSConnectionClosedError', code: 'ECONNRESET' });
    expect(environmentError(router, { engine: 'postgres' })).toBeUndefined();
  });

  test('errors that are already ispctl errors, or something else, are left alone', () => {
    expect(environmentError(new IspctlError('X', 'x'), {})).toBeUndefined();
    expect(environmentError(new Error('syntax error at or near "selec"'), { engine: 'postgres' })).toBeUndefined();
  });
});
