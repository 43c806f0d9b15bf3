// `ispctl demo --dir`: the demo empties its directory, so it only takes a new or empty
// directory or one an earlier demo made; anything else is refused (or asked about on a TTY).
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DEMO_MARKER, prepareDemoDir } from '../../src/cli/demo.js';
import { IspctlError } from '../../src/core/errors.js';

const made: string[] = [];
afterEach(() => {
  for (const d of made.splice(0)) rmSync(d, { recursive: true, force: true });
});
function scratch(): string {
  const d = mkdtempSync(join(tmpdir(), 'ispctl-demo-dir-'));
  made.push(d);
  return d;
}

async function refusal(p: Promise<unknown>): Promise<IspctlError> {
  const err = await p.then(() => undefined, (e: unknown) => e);
  if (!(err instanceof IspctlError)) throw new Error(`expected a refusal, got ${String(err)}`);
  return err;
}

describe('prepareDemoDir', () => {
  it('creates a new directory and marks it as the demo', async () => {
    const dir = join(scratch(), 'new', 'demo');
    await prepareDemoDir(dir);
    expect(readdirSync(dir)).toEqual([DEMO_MARKER]);
  });

  it('uses an empty directory, and empties one an earlier demo made', async () => {
    const dir = scratch();
    await prepareDemoDir(dir);
    writeFileSync(join(dir, 'leftover.json'), '{}');
    mkdirSync(join(dir, 'data'));
    await prepareDemoDir(dir);
    expect(readdirSync(dir)).toEqual([DEMO_MARKER]);
  });

  it('refuses a directory with files it did not make, and deletes nothing', async () => {
    const dir = scratch();
    writeFileSync(join(dir, 'thesis.tex'), 'years of work');
    mkdirSync(join(dir, '.git'));
    const err = await refusal(prepareDemoDir(dir));
    expect(err.code).toBe('DEMO_DIR_NOT_EMPTY');
    expect(err.exitCode).toBe(5);
    expect(err.message).toContain(dir);
    expect(err.message).toMatch(/thesis\.tex/);
    expect(readdirSync(dir).sort()).toEqual(['.git', 'thesis.tex']);
  });

  it('asks before emptying such a directory when it can, and respects the answer', async () => {
    const dir = scratch();
    writeFileSync(join(dir, 'notes.txt'), 'keep me');
    const asked: string[][] = [];
    const err = await refusal(prepareDemoDir(dir, async (_d, entries) => (asked.push(entries), false)));
    expect(err.code).toBe('DEMO_DIR_NOT_EMPTY');
    expect(existsSync(join(dir, 'notes.txt'))).toBe(true);
    await prepareDemoDir(dir, async (_d, entries) => (asked.push(entries), true));
    expect(asked).toEqual([['notes.txt'], ['notes.txt']]);
    expect(readdirSync(dir)).toEqual([DEMO_MARKER]);
  });

  it('refuses a file', async () => {
    const file = join(scratch(), 'a-file');
    writeFileSync(file, 'x');
    expect((await refusal(prepareDemoDir(file))).code).toBe('DEMO_DIR_NOT_A_DIRECTORY');
    expect(existsSync(file)).toBe(true);
  });
});
