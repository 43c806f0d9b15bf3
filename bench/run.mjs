#!/usr/bin/env node
// Runs every benchmark in bench/ (or those named on the command line) and passes their JSON
// lines through. Each benchmark prints one JSON object per line:
//   {"name", "runs", "median", "p99", "unit", "target"?, "ok"?}
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const wanted = process.argv.slice(2);
const files = readdirSync(here)
  .filter((f) => f.endsWith('.mjs') && f !== 'run.mjs' && !f.startsWith('lib'))
  .filter((f) => wanted.length === 0 || wanted.some((w) => f.includes(w)))
  .sort();
let failed = 0;
for (const f of files) {
  const r = spawnSync(process.execPath, [join(here, f)], { stdio: ['ignore', 'inherit', 'inherit'] });
  if (r.status !== 0) {
    failed++;
    console.log(JSON.stringify({ name: f, error: `exited with ${r.status}` }));
  }
}
process.exit(failed ? 1 : 0);
