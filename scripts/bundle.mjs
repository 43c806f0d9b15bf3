// Bundles what `ispctl` runs (bin/run.js) with esbuild: the CLI framework, every command, the
// not-found hook and the help class, with their dependencies, into one script
// (dist/bundle/ispctl.cjs) whose modules are evaluated when first imported; the dashboard's
// screens and the embedded database server's entry into modules of their own. A command reads two
// files instead of the ~600 a plain build resolves one by one (half of a command's start-up went
// to Node's module loader), and starts from V8's code cache of the script (dist/bundle/load.js runs
// it; scripts/build.mjs makes the cache) instead of parsing and compiling it: see
// docs/benchmarks.md. tsc still compiles dist/src/ for the benchmarks and for reading.
//
// Left outside the bundle (loaded from node_modules when used): PGlite (finds its WebAssembly and
// data files next to its module), pdfkit (reads its font metrics from its own directory), Ink and
// React (the dashboard), the TypeScript loaders oclif uses in development, and the database
// drivers knex names but ispctl never uses.
import { build } from 'esbuild';
import { decode as decodeMappings, encode as encodeMappings } from '@jridgewell/sourcemap-codec';
import { init as lexerReady, parse as lexImports } from 'es-module-lexer';
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';

const EXTERNAL = [
  '@electric-sql/pglite',
  '@electric-sql/pglite/*',
  'pdfkit',
  'ink',
  'ink-*',
  'react',
  'react/*',
  'react-devtools-core',
  'yoga-layout',
  'yoga-layout/*',
  'typescript',
  'ts-node',
  'tsx',
  'tsx/*',
  '@oclif/plugin-*',
  'pg-native',
  'pg-query-stream',
];

function sourcesUnder(dir) {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? sourcesUnder(p) : /\.tsx?$/.test(f) && !f.endsWith('.d.ts') ? [p] : [];
  });
}

/**
 * Replaces `from` with `to` in one file of a dependency as it is bundled; fails the build when
 * the text is not there (a new version of the dependency), rather than bundle it unchanged.
 */
function patch(name, filter, from, to) {
  return {
    name,
    setup(b) {
      b.onLoad({ filter }, (args) => {
        const text = readFileSync(args.path, 'utf8');
        const out = text.replace(from, to);
        if (out === text) return { errors: [{ text: `${name}: the text to replace is not in ${args.path} (a new version?)` }] };
        return { contents: out, loader: 'js' };
      });
    },
  };
}

const plugins = [
  // knex loads dialects by name through a table of require()s: only PostgreSQL's is used (PGlite
  // is reached through the same dialect), so the others (and their drivers) stay out.
  patch(
    'knex-postgres-only',
    /knex[\\/]lib[\\/]dialects[\\/]index\.js$/,
    /const dbNameToDialectLoader = Object\.freeze\(\{[^}]*\}\);/s,
    "const dbNameToDialectLoader = Object.freeze({ postgres: () => require('./postgres') });",
  ),
  // pg asks whether it runs in a Cloudflare Worker by creating a fetch Response, which makes Node
  // load its whole fetch implementation (undici) on every connection's first use.
  patch('pg-not-cloudflare', /pg[\\/]lib[\\/]stream\.js$/, 'function isCloudflareRuntime() {', 'function isCloudflareRuntime() {\n  return false;'),
];

/**
 * Two edits to the bundled script, its source map kept in step:
 * - Every dynamic import() (oclif loading a plugin, ispctl loading PGlite, Ink or pdfkit) becomes
 *   a call to `__ispctlImport`, which load.js passes in: V8 drops a script's import() callback
 *   when the script comes from its code cache (the import then fails with "A dynamic import
 *   callback was not specified"), so the script must not use import() itself. es-module-lexer
 *   finds them (not the word in strings or comments).
 * - ASCII only, so load.js reads it as a one-byte string without decoding UTF-8: esbuild escapes
 *   what is in strings, not the few characters in regular expressions (`/^[█░]+$/`); an escape
 *   means the same there.
 */
async function finishScript(file) {
  await lexerReady;
  const text = readFileSync(file, 'utf8');
  const edits = []; // [offset, length removed, text inserted], in order
  const imports = lexImports(text)[0].filter((i) => i.d > -1);
  if (imports.length === 0 || imports.some((i) => !text.startsWith('import', i.ss))) throw new Error(`bundle: unexpected dynamic imports in ${file}`);
  for (const i of imports) edits.push([i.ss, 'import'.length, '__ispctlImport']);
  for (const m of text.matchAll(/[^\x00-\x7f]/g)) edits.push([m.index, 1, `\\u${m[0].charCodeAt(0).toString(16).padStart(4, '0')}`]);
  edits.sort((a, b) => a[0] - b[0]);
  // The text, and each edit's line and column (UTF-16 units, as source maps count them).
  let out = '';
  let from = 0;
  let line = 0;
  let lineStart = 0;
  const shifts = new Map(); // generated line -> [[column, delta]]
  for (const [at, removed, inserted] of edits) {
    for (let n = text.indexOf('\n', from); n !== -1 && n < at; n = text.indexOf('\n', n + 1)) {
      line++;
      lineStart = n + 1;
    }
    out += text.slice(from, at) + inserted;
    from = at + removed;
    const list = shifts.get(line) ?? [];
    list.push([at - lineStart, inserted.length - removed]);
    shifts.set(line, list);
  }
  out += text.slice(from);
  if (/[^\x00-\x7f]/.test(out)) throw new Error(`bundle: ${file} is not ASCII after escaping`);
  writeFileSync(file, out);
  const mapFile = `${file}.map`;
  const map = JSON.parse(readFileSync(mapFile, 'utf8'));
  const lines = decodeMappings(map.mappings);
  for (const [l, list] of shifts) {
    for (const segment of lines[l] ?? []) {
      const column = segment[0];
      segment[0] += list.filter(([c]) => c < column).reduce((n, [, d]) => n + d, 0);
    }
  }
  map.mappings = encodeMappings(lines);
  writeFileSync(mapFile, JSON.stringify(map));
}

/** The dashboard's screens, as the dashboard command imports them: from dist/bundle/tui.js. */
const tuiOutside = {
  name: 'tui-outside',
  setup(b) {
    b.onResolve({ filter: /^\.\.\/tui\/(app|summary)\.js$/ }, () => ({ path: './tui.js', external: true }));
  },
};

/** The file the commands' code is bundled into (load.js runs it, by this name). */
const SCRIPT = 'ispctl.cjs';

/** CommonJS dependencies bundled into an ES module call require() for Node's modules: it has none of its own. */
const ESM_REQUIRE = { js: "import { createRequire as __ispctlCreateRequire } from 'node:module'; const require = __ispctlCreateRequire(import.meta.url);" };

/**
 * Bundles `root`'s sources into `outdir`: one script holding the CLI framework, every command, the
 * not-found hook and the help class with their dependencies (each module evaluated when first
 * imported), small ES modules oclif loads (main.js, cli/help.js, hooks/not-found.js and one per
 * command under commands/) that take their part of it through load.js, and the dashboard's screens
 * (tui.js) and the embedded database server's entry as modules of their own. Returns esbuild's
 * metafiles.
 */
export async function bundle(root, outdir) {
  const src = join(root, 'src');
  const commands = sourcesUnder(join(src, 'commands')).map((file) => ({ file, name: relative(join(src, 'commands'), file).replace(/\.tsx?$/, '') }));
  const rel = (file) => `./${relative(join(src, 'cli'), file).replace(/\.tsx?$/, '.js')}`;
  const entry = [
    "export { main } from './main.js';",
    `export const parts = {`,
    `  'cli/help': () => import('./help.js'),`,
    `  'hooks/not-found': () => import('../hooks/not-found.js'),`,
    ...commands.map((c) => `  ${JSON.stringify(`commands/${c.name}`)}: () => import(${JSON.stringify(rel(c.file))}),`),
    '};',
  ].join('\n');
  const common = { absWorkingDir: root, bundle: true, platform: 'node', target: 'node20', sourcemap: 'linked', metafile: true, logLevel: 'warning', external: EXTERNAL, plugins };
  const script = await build({
    ...common,
    plugins: [...plugins, tuiOutside],
    stdin: { contents: entry, resolveDir: join(src, 'cli'), sourcefile: 'bundle-entry.ts', loader: 'ts' },
    outfile: join(outdir, SCRIPT),
    format: 'cjs',
    define: { 'import.meta.url': '__ispctlModuleUrl' },
  });
  await finishScript(join(outdir, SCRIPT));
  // The dashboard's screens import Ink and React, which are ES modules with top-level await: a
  // CommonJS script cannot require() them, so the screens are a module of their own (they share
  // no state with the script: formatting and their own components).
  const tui = await build({
    ...common,
    stdin: { contents: "export { App } from './app.js';\nexport { summaryText } from './summary.js';\n", resolveDir: join(src, 'tui'), sourcefile: 'tui-entry.ts', loader: 'ts' },
    outfile: join(outdir, 'tui.js'),
    format: 'esm',
    banner: ESM_REQUIRE,
  });
  const server = await build({
    ...common,
    entryPoints: { 'embedded-server-main': join(src, 'core', 'db', 'embedded-server-main.ts') },
    outdir,
    format: 'esm',
    banner: ESM_REQUIRE,
  });
  const write = (name, text) => {
    mkdirSync(dirname(join(outdir, name)), { recursive: true });
    writeFileSync(join(outdir, name), text);
  };
  write('load.js', readFileSync(join(root, 'scripts', 'bundle-load.mjs'), 'utf8'));
  write('main.js', "import { load } from './load.js';\nexport function main(dir) {\n  return load().main(dir);\n}\n");
  for (const name of ['cli/help', 'hooks/not-found', ...commands.map((c) => `commands/${c.name}`)]) {
    const up = '../'.repeat(name.split('/').length - 1) || './';
    write(`${name}.js`, `import { load } from '${up}load.js';\nconst part = await load().parts[${JSON.stringify(name)}]();\nexport default part.default;\n`);
  }
  return { script: script.metafile, tui: tui.metafile, server: server.metafile };
}
