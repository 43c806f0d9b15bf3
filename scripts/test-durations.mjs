// Writes test/durations.json from a vitest JSON report: how long each test file took, so that a
// fresh clone (where vitest remembers no earlier run) still starts the long files first.
//   node scripts/test-durations.mjs [.tmp/vitest-report.json]
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const report = JSON.parse(readFileSync(process.argv[2] ?? join(root, '.tmp', 'vitest-report.json'), 'utf8'));
const out = {};
for (const t of report.testResults) {
  const file = relative(root, t.name);
  const project = /^test\/([^/]+)\//.exec(file)?.[1];
  if (!project) continue;
  out[`${project}:${file}`] = Math.round((t.endTime - t.startTime) / 100) / 10;
}
const sorted = Object.fromEntries(Object.entries(out).sort(([a], [b]) => a.localeCompare(b)));
writeFileSync(join(root, 'test', 'durations.json'), JSON.stringify(sorted, null, 1) + '\n');
console.log(`test/durations.json: ${Object.keys(sorted).length} files`);
