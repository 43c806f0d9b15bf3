// The built bundle (scripts/bundle.mjs) as bin/run.js loads it: from V8's code cache the build
// made, with the script's dynamic imports working from that cache, and a cache of its own for a
// process run with other V8 flags (without touching the build's).
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, expect, test } from 'vitest';
import { BIN, ROOT } from '../helpers/cli.js';

const BUNDLE = join(ROOT, 'dist', 'bundle');
const caches = (dir: string) => readdirSync(dir).filter((f) => /^ispctl\.cjs\.[0-9a-f]{8}\.cache$/.test(f));

// A copy of the script and its loader (in the project, so the script's dependencies resolve as
// they do from dist/), for the test that writes caches; and the scripts the tests run.
mkdirSync(join(ROOT, '.tmp'), { recursive: true });
const dir = mkdtempSync(join(ROOT, '.tmp', 'bundle-test-'));
const copy = join(dir, 'bundle');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/**
 * Runs `code` (an ES module) in a new node with `flags`, as a file (`node -e` would put the code
 * among the process's flags, which name its cache); returns what it printed.
 */
function node(code: string, flags: string[] = []): string {
  const file = join(dir, `probe-${createHash('sha256').update(code).digest('hex').slice(0, 8)}.mjs`);
  writeFileSync(file, code);
  return execFileSync(process.execPath, [...flags, file], { encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
}

test('a command runs from the code cache the build made: oclif imports the command inside the cached script', () => {
  // `plan create --help` makes oclif import the command's module and read its flags: an import()
  // inside the script, which V8 breaks for a script taken from its cache unless the bundle routes
  // it (it would fail with "A dynamic import callback was not specified").
  const out = node(`
    const load = await import(${JSON.stringify(pathToFileURL(join(BUNDLE, 'load.js')).href)});
    process.argv = [process.argv[0], ${JSON.stringify(BIN)}, 'plan', 'create', '--help'];
    await load.load().main(${JSON.stringify(pathToFileURL(BIN).href)});
    console.log('cache used:', load.cacheUsed());
  `);
  expect(out).toContain('--download');
  expect(out).toContain('cache used: true');
});

test('a stack trace from the cached script names the script where it is, not the directory the build made it in', () => {
  // DEBUG=1 prints the stack of an error; this one is oclif's, thrown inside the script.
  let stderr = '';
  try {
    execFileSync(process.execPath, [BIN, 'router', 'add', 'x', '--api-port', 'abc'], { encoding: 'utf8', stdio: 'pipe', env: { ...process.env, NO_COLOR: '1', DEBUG: '1' } });
  } catch (err) {
    stderr = String((err as { stderr?: string }).stderr);
  }
  const files = [...stderr.matchAll(/\((\/[^():]+ispctl\.cjs):\d+:\d+\)/g)].map((m) => m[1]!);
  expect(files.length, stderr).toBeGreaterThan(0);
  expect(new Set(files)).toEqual(new Set([join(BUNDLE, 'ispctl.cjs')]));
  const out = node(`
    const load = await import(${JSON.stringify(pathToFileURL(join(BUNDLE, 'load.js')).href)});
    load.load();
    console.log('cache used:', load.cacheUsed());
  `);
  expect(out).toContain('cache used: true');
});

test('without a cache for its Node and flags a process compiles the script and leaves one for the next; other flags, another cache', () => {
  mkdirSync(copy);
  for (const f of ['ispctl.cjs', 'load.js']) copyFileSync(join(BUNDLE, f), join(copy, f));
  const probe = `
    const load = await import(${JSON.stringify(pathToFileURL(join(copy, 'load.js')).href)});
    await load.load().parts['commands/settings/list']();
    console.log('cache used:', load.cacheUsed());
  `;
  expect(node(probe)).toContain('cache used: false');
  const [first] = caches(copy);
  expect(first).toBeDefined();
  const written = readFileSync(join(copy, first!));
  expect(written.length).toBeGreaterThan(100_000);
  expect(node(probe)).toContain('cache used: true');
  // --stack-size is one of the flags V8 checks a cache against: that process neither takes the
  // first cache nor replaces it.
  expect(node(probe, ['--stack-size=900'])).toContain('cache used: false');
  expect(caches(copy)).toHaveLength(2);
  expect(readFileSync(join(copy, first!)).equals(written)).toBe(true);
  expect(node(probe, ['--stack-size=900'])).toContain('cache used: true');
  expect(node(probe)).toContain('cache used: true');
  expect(caches(copy)).toHaveLength(2);
});
