#!/usr/bin/env node
// Compiles TypeScript to dist/, bundles what bin/run.js runs into dist/bundle/ (scripts/bundle.mjs)
// and writes oclif.manifest.json so start-up does not import every command. The new build is made
// beside the old one and swapped in, so a CLI started during a build never sees a half-written
// dist/.
//
// One tsc pass type-checks src/, migrations/ and test/ (tsconfig.test.json) and emits; only
// dist/src/ and dist/migrations/ are kept, so type errors in the tests fail a strict build (and so
// `npm test`) without a second type check.
//
// A build whose inputs have not changed since the last good build is skipped: a SHA-256 of every
// input file (sources, tests, migrations, build scripts, tsconfig files, package.json and
// package-lock.json) is stored in dist/.build-stamp once a build ends without type errors, and a
// build that finds the same hash and its outputs in place prints "build: up to date". `--force`
// builds anyway.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
const tsc = require.resolve('typescript/bin/tsc');
const tag = `${process.pid}-${Date.now()}`;
const next = join(root, `.dist-${tag}`);
const dist = join(root, 'dist');
const manifest = join(root, 'oclif.manifest.json');
const stampFile = join(dist, '.build-stamp');

// Everything the build reads from the project (dependencies through package-lock.json).
const INPUT_DIRS = ['src', 'migrations', 'test', 'scripts'];
const INPUT_FILES = ['tsconfig.json', 'tsconfig.test.json', 'vitest.config.ts', 'package.json', 'package-lock.json'];
function filesUnder(rel) {
  const abs = join(root, rel);
  if (!existsSync(abs)) return [];
  return readdirSync(abs)
    .sort()
    .flatMap((f) => {
      const r = `${rel}/${f}`;
      return statSync(join(root, r)).isDirectory() ? filesUnder(r) : [r];
    });
}
function inputHash() {
  const h = createHash('sha256');
  h.update(`node ${process.version}\n`);
  for (const rel of [...INPUT_DIRS.flatMap(filesUnder), ...INPUT_FILES]) {
    h.update(`${rel}\0`);
    h.update(existsSync(join(root, rel)) ? readFileSync(join(root, rel)) : '(missing)');
    h.update('\0');
  }
  return h.digest('hex');
}
const hash = inputHash();
if (!process.argv.includes('--force') && existsSync(manifest) && existsSync(join(dist, 'bundle')) && existsSync(stampFile)) {
  if (readFileSync(stampFile, 'utf8').trim() === hash) {
    console.error('build: up to date');
    process.exit(0);
  }
}

// tsc emits even when it finds type errors. In CI (CI set) or with --strict a type error fails
// the build; otherwise it is reported and the build goes on, so work in progress can still run.
const strict = Boolean(process.env.CI) || process.argv.includes('--strict');
let typeErrors = false;
try {
  execFileSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.test.json'), '--noEmit', 'false', '--sourceMap', '--outDir', next], {
    stdio: 'inherit',
    cwd: root,
  });
} catch {
  typeErrors = true;
  if (strict || !existsSync(next)) {
    rmSync(next, { recursive: true, force: true });
    process.exit(1);
  }
  console.error('build: type errors above (ignored outside CI; run with --strict to fail)');
}

// The tests were emitted only because one pass checks them with the sources; they are not shipped.
for (const f of readdirSync(next)) if (f !== 'src' && f !== 'migrations') rmSync(join(next, f), { recursive: true, force: true });

// The bundle bin/run.js runs (from the TypeScript sources; esbuild does not type-check).
const { bundle } = await import('./bundle.mjs');
try {
  await bundle(root, join(next, 'bundle'));
} catch (err) {
  rmSync(next, { recursive: true, force: true });
  console.error(`build: bundling failed: ${err.message}`);
  process.exit(1);
}

// V8's code cache of the bundled script, what every command starts from (scripts/bundle-load.mjs):
// made here by loading every command's modules, before the swap, so no command finds the new
// build without it.
try {
  const { load, writeCodeCache } = await import(pathToFileURL(join(next, 'bundle', 'load.js')).href);
  // Compiled under the name it will have once swapped in: a cache keeps the name it was made under.
  for (const part of Object.values(load({ origin: join(dist, 'bundle', 'ispctl.cjs') }).parts)) await part();
  writeCodeCache();
} catch (err) {
  rmSync(next, { recursive: true, force: true });
  console.error(`build: the bundle does not load: ${err.stack ?? err}`);
  process.exit(1);
}

// Swap the new build in.
const old = join(root, `.dist-old-${tag}`);
if (existsSync(dist)) renameSync(dist, old);
renameSync(next, dist);
rmSync(old, { recursive: true, force: true });

const { Plugin } = await import('@oclif/core');
const plugin = new Plugin({ root, type: 'core', ignoreManifest: true, errorOnManifestCreate: true, isRoot: true });
await plugin.load();
writeFileSync(`${manifest}.${tag}`, JSON.stringify(plugin.manifest, null, 2) + '\n');
renameSync(`${manifest}.${tag}`, manifest);
// Only a build without type errors is recorded: a strict build after one with errors runs tsc
// again and fails.
if (!typeErrors) writeFileSync(stampFile, hash + '\n');
console.error(`built ${Object.keys(plugin.manifest.commands).length} commands${typeErrors ? ' (with type errors)' : ''}`);
