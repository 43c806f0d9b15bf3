// Files that hold secrets (scripts with keys and passwords, the hub's WireGuard configuration):
// written with mode 0600 from the start, through a temporary file renamed into place, so no
// other user can read them even for a moment and a reader never sees half a file.
import { chmodSync, closeSync, fsyncSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { IspctlError } from '../errors.js';

export function writeSecretFile(path: string, content: string): string {
  const target = resolve(path);
  const tmp = join(dirname(target), `.${basename(target)}.${process.pid}.tmp`);
  let fd: number | undefined;
  try {
    fd = openSync(tmp, 'wx', 0o600);
    writeSync(fd, content);
    fsyncSync(fd);
    closeSync(fd);
    fd = undefined;
    chmodSync(tmp, 0o600);
    renameSync(tmp, target);
  } catch (err) {
    if (fd !== undefined) closeSync(fd);
    rmSync(tmp, { force: true });
    throw new IspctlError('WRITE_FAILED', `Cannot write ${target}: ${(err as Error).message}.`, { kind: 'failure', cause: err, suggestions: ['Check that the directory exists and that you may write to it'] });
  }
  return target;
}
