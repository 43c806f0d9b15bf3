// dist/bundle/load.js (copied there by scripts/bundle.mjs): runs ispctl.cjs, the bundled commands,
// once per process, with V8's code cache for it when there is one. A command then starts from
// compiled code instead of parsing and compiling the few megabytes of JavaScript it runs (Node 20
// keeps no such cache for ES modules itself). The build makes the cache; a process that finds
// none for its Node version and flags, or one V8 does not take, compiles the script and leaves
// its own cache for the next.
import { readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import vm from 'node:vm';

const file = fileURLToPath(new URL('./ispctl.cjs', import.meta.url));
// V8 takes a cache only from its own version run with the same flags: one cache per Node version
// and command-line flags, so a process run with other flags (node --max-old-space-size=... for
// the daemon) neither rejects the others' cache nor replaces it with its own.
const cacheFile = `${file}.${fnv1a(JSON.stringify([process.version, process.arch, process.execArgv, process.env.NODE_OPTIONS ?? '']))}.cache`;
let script;
let exported;
/** The cache is missing or was rejected: written when the process exits. */
let stale = false;

/** A 32-bit FNV-1a hash in hex: names a cache file (node:crypto is not loaded for it). */
function fnv1a(text) {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193) >>> 0;
  return h.toString(16).padStart(8, '0');
}

/**
 * The bundle's exports: `main` (oclif over the commands) and `parts` (a loader per command, the
 * help class and the hook). `origin`: the script's name in stack traces, when it is not where it
 * will run from. The build makes the cache in a directory it then renames, and a script taken
 * from a cache keeps the name it was compiled under: every stack trace of every command would
 * name a directory that no longer exists.
 */
export function load({ origin = file } = {}) {
  if (exported) return exported;
  let cachedData;
  try {
    cachedData = readFileSync(cacheFile);
  } catch {
    cachedData = undefined;
  }
  // The CommonJS wrapper on the script's first line, so its line numbers stay the bundle's. The
  // script is ASCII (scripts/bundle.mjs sees to it): read as Latin-1, V8 keeps it one byte a
  // character, without decoding UTF-8.
  const source = `(function (exports, require, module, __filename, __dirname, __ispctlModuleUrl, __ispctlImport) {${readFileSync(file, 'latin1')}\n})`;
  script = new vm.Script(source, { filename: origin, cachedData });
  // No cache, or one V8 would not take (Node upgraded since the build, other V8 flags): this
  // process leaves the cache of what it compiled for the next, where it may write (a read-only
  // installation compiles every time).
  if (script.cachedDataRejected !== false) {
    stale = true;
    process.once('exit', () => {
      if (!stale) return;
      try {
        writeCodeCache();
      } catch {
        // not writable: left as it is
      }
    });
  }
  const module = { exports: {} };
  // The script's import() calls (scripts/bundle.mjs rewrote them), resolved from here: the
  // script's own directory.
  const dynamicImport = (specifier) => import(specifier);
  script.runInThisContext()(module.exports, createRequire(file), module, file, dirname(file), pathToFileURL(file).href, dynamicImport);
  exported = module.exports;
  return exported;
}

/** Whether V8 took the cache (false: none, or rejected). */
export function cacheUsed() {
  return script !== undefined && script.cachedDataRejected === false;
}

/** Writes the code cache of what this process compiled of the bundle so far (the build does, after loading every part). */
export function writeCodeCache() {
  load();
  const tmp = `${cacheFile}.${process.pid}`;
  try {
    writeFileSync(tmp, script.createCachedData());
    renameSync(tmp, cacheFile);
  } finally {
    rmSync(tmp, { force: true });
  }
  stale = false;
}
