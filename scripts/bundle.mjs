// Bundles what `ispctl` runs (bin/run.js) with esbuild: the CLI framework, every command, the
// not-found hook, the help class and the embedded database server, with their dependencies, into
// ES modules that share chunks (dist/bundle/). A command then loads a few files instead of the
// ~600 a plain build resolves one by one (half of a command's start-up went to Node's module
// loader); see docs/benchmarks.md. tsc still compiles dist/src/ for the benchmarks and for
// reading.
//
// Left outside the bundle (loaded from node_modules when used): PGlite (finds its WebAssembly and
// data files next to its module), pdfkit (reads its font metrics from its own directory), Ink and
// React (the dashboard), the TypeScript loaders oclif uses in development, and the database
// drivers knex names but ispctl never uses.
import { build } from 'esbuild';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

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

/** Bundles `root`'s sources into `outdir`; returns esbuild's metafile. */
export async function bundle(root, outdir) {
  const src = join(root, 'src');
  const entryPoints = {
    main: join(src, 'cli', 'main.ts'),
    'hooks/not-found': join(src, 'hooks', 'not-found.ts'),
    'cli/help': join(src, 'cli', 'help.ts'),
    // Started as its own process by the first command that finds the database free
    // (src/core/db/embedded-client.ts looks for it here).
    'embedded-server-main': join(src, 'core', 'db', 'embedded-server-main.ts'),
  };
  for (const file of sourcesUnder(join(src, 'commands'))) {
    entryPoints[`commands/${relative(join(src, 'commands'), file).replace(/\.tsx?$/, '')}`] = file;
  }
  const result = await build({
    absWorkingDir: root,
    entryPoints,
    outdir,
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    chunkNames: 'chunks/[name]-[hash]',
    sourcemap: 'linked',
    metafile: true,
    logLevel: 'warning',
    external: EXTERNAL,
    plugins,
    // CommonJS dependencies call require() for Node's modules; an ES module has none of its own.
    banner: { js: "import { createRequire as __ispctlCreateRequire } from 'node:module'; const require = __ispctlCreateRequire(import.meta.url);" },
  });
  return result.metafile;
}
