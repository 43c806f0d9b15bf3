// Writes test/durations.json from the file durations the last run recorded (.tmp/file-durations.json,
// written by test/helpers/durations-reporter.ts, which `.ci/run` adds): how long each test file took
// as a whole, hooks and import included, so that a fresh clone (where vitest remembers no earlier
// run) still starts the long files first. Use the figures of a full run.
//   node scripts/test-durations.mjs [.tmp/file-durations.json]
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const recorded = JSON.parse(readFileSync(process.argv[2] ?? join(root, '.tmp', 'file-durations.json'), 'utf8'));
const sorted = Object.fromEntries(Object.entries(recorded).sort(([a], [b]) => a.localeCompare(b)));
writeFileSync(join(root, 'test', 'durations.json'), JSON.stringify(sorted, null, 1) + '\n');
console.log(`test/durations.json: ${Object.keys(sorted).length} files`);
