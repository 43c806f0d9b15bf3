// Anything thrown, as a line a person can read: PGlite's file system throws bare ErrnoError
// objects, which a template string prints as "[object Object]".
import { describe, expect, test } from 'vitest';
import { environmentError } from '../../src/core/db/env-errors.js';
import { describeError, emscriptenErrnoCode } from '../../src/core/error-text.js';

/** What PGlite (Emscripten's file system) throws on a full disk: no Error, no message, no stack. */
class ErrnoError {
  name = 'ErrnoError';
  constructor(public errno: number) {}
}

describe('describeError', () => {
  test("an Emscripten ErrnoError says what failed, by its name and errno code", () => {
    expect(String(new ErrnoError(51))).toBe('[object Object]');
    expect(describeError(new ErrnoError(51))).toBe("no space left on device (ENOSPC, from the embedded database's file system)");
    expect(describeError(new ErrnoError(69))).toContain('read-only file system (EROFS');
    expect(describeError(new ErrnoError(999))).toContain('file system error 999');
    expect(emscriptenErrnoCode(new ErrnoError(51))).toBe('ENOSPC');
    expect(emscriptenErrnoCode(new Error('x'))).toBeUndefined();
  });

  test('Errors keep their message; other objects show message and code, or their JSON; never [object Object]', () => {
    expect(describeError(new Error('connect ECONNREFUSED 127.0.0.1:5432'))).toBe('connect ECONNREFUSED 127.0.0.1:5432');
    expect(describeError(Object.assign(new Error(''), { code: 'EPIPE' }))).toBe('Error (EPIPE)');
    expect(describeError({ message: 'write failed', code: 'EIO' })).toBe('write failed (EIO)');
    expect(describeError({ code: 'ENOSPC' })).toBe('(ENOSPC)');
    expect(describeError({ status: 7 })).toBe('{"status":7}');
    const circular: Record<string, unknown> = {};
    circular.self = circular;
    expect(describeError(circular)).not.toContain('[object Object]');
    expect(describeError('plain text')).toBe('plain text');
    expect(describeError(undefined)).toBe('undefined');
  });

  test("a full disk under PGlite is DISK_FULL by the ErrnoError's errno (51 is ENOSPC; 28 is EINVAL)", () => {
    expect(environmentError(new ErrnoError(51), { engine: 'pglite', dataDir: '/' })?.code).toBe('DISK_FULL');
    expect(environmentError(new ErrnoError(28), { engine: 'postgres' })).toBeUndefined();
  });
});
