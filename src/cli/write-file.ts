// Writing a rendered file where the user asked: a path (written whole, then renamed into place)
// or `-` for stdout.
import { renameSync, writeFileSync } from 'node:fs';
import { dirname, join, basename, resolve } from 'node:path';

export function writeOutput(out: string, content: Buffer): string {
  if (out === '-') {
    process.stdout.write(content);
    return '-';
  }
  const path = resolve(out);
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.tmp`);
  writeFileSync(tmp, content, { mode: 0o644 });
  renameSync(tmp, path);
  return path;
}
