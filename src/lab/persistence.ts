// Saving the lab router's configuration to a JSON file: atomic (write a temporary file next to
// it, then rename) and debounced (a burst of changes is one write).

import { randomBytes } from 'node:crypto';
import { mkdir, open, readFile, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/** The parsed JSON of a state file, or undefined when the file does not exist. */
export async function readStateFile(file: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (e) {
    throw new Error(`state file ${file} is not valid JSON: ${(e as Error).message}`, { cause: e });
  }
}

/** Write `text` to `file` so that readers see the old or the new content, never a mix. */
export async function writeFileAtomic(file: string, text: string): Promise<void> {
  const dir = dirname(file);
  await mkdir(dir, { recursive: true });
  const tmp = join(dir, `.${basename(file)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  try {
    const handle = await open(tmp, 'w', 0o600);
    try {
      await handle.writeFile(text, 'utf8');
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(tmp, file);
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
}

export interface StateSaver {
  /** Note a change; the file is written `debounceMs` after the first unsaved change. */
  schedule(): void;
  /** Write now if anything is unsaved; resolves when the file is on disk. */
  flush(): Promise<void>;
}

export interface StateSaverOptions {
  debounceMs?: number;
  /** A failed write (the change stays unsaved and is retried on the next change or flush). */
  onError?: (error: unknown) => void;
}

export function createStateSaver(file: string, snapshot: () => unknown, opts: StateSaverOptions = {}): StateSaver {
  const debounceMs = opts.debounceMs ?? 200;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let dirty = false;
  let chain: Promise<void> = Promise.resolve();

  const flush = (): Promise<void> => {
    if (timer) {
      clearTimeout(timer);
      timer = undefined;
    }
    chain = chain.then(async () => {
      if (!dirty) return;
      dirty = false;
      try {
        await writeFileAtomic(file, `${JSON.stringify(snapshot(), null, 2)}\n`);
      } catch (e) {
        dirty = true;
        opts.onError?.(e);
      }
    });
    return chain;
  };

  return {
    schedule() {
      dirty = true;
      timer ??= setTimeout(() => {
        timer = undefined;
        void flush();
      }, debounceMs);
    },
    flush,
  };
}
