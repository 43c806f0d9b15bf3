#!/usr/bin/env node
// Compiles TypeScript to dist/, bundles what bin/run.js runs into dist/bundle/ (scripts/bundle.mjs)
// and writes oclif.manifest.json so start-up does not import every command. The new build is made
// beside the old one and swapped in, so a CLI started during a build never sees a half-written
// dist/.
import { execFileSync } from 'node:child_process';
import { existsSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
const tsc = require.resolve('typescript/bin/tsc');
const tag = `${process.pid}-${Date.now()}`;
const next = join(root, `.dist-${tag}`);

// tsc emits even when it finds type errors. In CI (CI set) or with --strict a type error fails
// the build; otherwise it is reported and the build goes on, so work in progress can still run.
const strict = Boolean(process.env.CI) || process.argv.includes('--strict');
let typeErrors = false;
try {
  execFileSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.json'), '--outDir', next], { stdio: 'inherit', cwd: root });
} catch {
  typeErrors = true;
  if (strict || !existsSync(next)) {
    rmSync(next, { recursive: true, force: true });
    process.exit(1);
  }
  console.error('build: type errors above (ignored outside CI; run with --strict to fail)');
}

// The bundle bin/run.js runs (from the TypeScript sources; esbuild does not type-check).
const { bundle } = await import('./bundle.mjs');
try {
  await bundle(root, join(next, 'bundle'));
} catch (err) {
  rmSync(next, { recursive: true, force: true });
  console.error(`build: bundling failed: ${err.message}`);
  process.exit(1);
}

// Swap the new build in.
const dist = join(root, 'dist');
const old = join(root, `.dist-old-${tag}`);
if (existsSync(dist)) renameSync(dist, old);
renameSync(next, dist);
rmSync(old, { recursive: true, force: true });

const { Plugin } = await import('@oclif/core');
const plugin = new Plugin({ root, type: 'core', ignoreManifest: true, errorOnManifestCreate: true, isRoot: true });
await plugin.load();
const manifest = join(root, 'oclif.manifest.json');
writeFileSync(`${manifest}.${tag}`, JSON.stringify(plugin.manifest, null, 2) + '\n');
renameSync(`${manifest}.${tag}`, manifest);
console.error(`built ${Object.keys(plugin.manifest.commands).length} commands${typeErrors ? ' (with type errors)' : ''}`);
