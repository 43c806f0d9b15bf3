#!/usr/bin/env node
// The installed entry: the bundled CLI (`npm run build` makes dist/bundle/; see scripts/bundle.mjs).
const entry = new URL('../dist/bundle/main.js', import.meta.url);
let cli;
try {
  cli = await import(entry.href);
} catch (err) {
  if (err?.code !== 'ERR_MODULE_NOT_FOUND' || !String(err.message).includes('dist/bundle/main.js')) throw err;
  process.stderr.write('ispctl is not built: run `npm run build` (or `npm ci`) in its directory first.\n');
  process.exit(1);
}
await cli.main(import.meta.url);
