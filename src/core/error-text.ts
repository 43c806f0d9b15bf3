// Anything thrown, as one readable line for a log or a message. Not everything thrown is an Error:
// PGlite's file system (Emscripten) throws a bare `ErrnoError { errno: 51 }` object, which
// `String(err)` and a template string print as "[object Object]".

/**
 * Emscripten's errno numbers (they are WASI's, not Linux's) for the failures a disk or a data
 * directory gives, with the name Node would use and the C library's text.
 */
const EMSCRIPTEN_ERRNO: Readonly<Record<number, readonly [string, string]>> = {
  2: ['EACCES', 'permission denied'],
  19: ['EDQUOT', 'disk quota exceeded'],
  22: ['EFBIG', 'file too large'],
  28: ['EINVAL', 'invalid argument'],
  29: ['EIO', 'input/output error'],
  33: ['EMFILE', 'too many open files'],
  44: ['ENOENT', 'no such file or directory'],
  48: ['ENOMEM', 'out of memory'],
  51: ['ENOSPC', 'no space left on device'],
  54: ['ENOTDIR', 'not a directory'],
  63: ['EPERM', 'operation not permitted'],
  69: ['EROFS', 'read-only file system'],
};

interface ErrorShape {
  name?: unknown;
  message?: unknown;
  code?: unknown;
  errno?: unknown;
}

/** The errno name (ENOSPC, EROFS, …) of an Emscripten ErrnoError, or undefined for anything else. */
export function emscriptenErrnoCode(err: unknown): string | undefined {
  if (!err || typeof err !== 'object') return undefined;
  const e = err as ErrorShape;
  if (e.name !== 'ErrnoError' || typeof e.errno !== 'number') return undefined;
  return EMSCRIPTEN_ERRNO[e.errno]?.[0] ?? `errno ${e.errno}`;
}

/**
 * One line that says what went wrong: an Error's message (its name or code when the message is
 * empty), an Emscripten ErrnoError as "no space left on device (ENOSPC)", another object by its
 * message and code or as JSON; never "[object Object]".
 */
export function describeError(err: unknown): string {
  if (err instanceof Error) {
    const code = typeof (err as ErrorShape).code === 'string' ? String((err as ErrorShape).code) : '';
    if (err.message) return err.message;
    return code ? `${err.name} (${code})` : err.name;
  }
  if (err === null || err === undefined) return String(err);
  if (typeof err !== 'object') return String(err);
  const e = err as ErrorShape;
  if (e.name === 'ErrnoError' && typeof e.errno === 'number') {
    const known = EMSCRIPTEN_ERRNO[e.errno];
    return known ? `${known[1]} (${known[0]}, from the embedded database's file system)` : `file system error ${e.errno} (from the embedded database's file system)`;
  }
  const message = typeof e.message === 'string' && e.message !== '' ? e.message : undefined;
  const code = typeof e.code === 'string' || typeof e.code === 'number' ? String(e.code) : undefined;
  if (message) return code && !message.includes(code) ? `${message} (${code})` : message;
  if (code) return `${typeof e.name === 'string' && e.name ? `${e.name} ` : ''}(${code})`;
  try {
    const json = JSON.stringify(err);
    if (json && json !== '{}') return json;
  } catch {
    // circular: fall through
  }
  const ctor = (err as { constructor?: { name?: unknown } }).constructor?.name;
  return typeof e.name === 'string' && e.name ? e.name : typeof ctor === 'string' && ctor !== 'Object' ? ctor : 'an error with no description';
}
