// A reporter that records how long each test file took as a whole: importing it, its hooks
// (beforeAll starting databases, servers and daemons, afterAll stopping them) and its tests. The
// JSON report's file times run from the first test's start to the last test's end, so a file that
// spends its time in hooks looked short to the sequencer and was started last. `.ci/run` adds it;
// `node scripts/test-durations.mjs` turns the result of a full run into test/durations.json.
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import type { Reporter, TestModule, Vitest } from 'vitest/node';

export const FILE_DURATIONS = join('.tmp', 'file-durations.json');

export default class DurationsReporter implements Reporter {
  private root = process.cwd();

  onInit(ctx: Vitest): void {
    this.root = ctx.config.root;
  }

  onTestRunEnd(modules: ReadonlyArray<TestModule>): void {
    const out: Record<string, number> = {};
    for (const m of modules) {
      const d = m.diagnostic();
      const ms = d.prepareDuration + d.environmentSetupDuration + d.setupDuration + d.collectDuration + d.duration;
      out[`${m.project.name}:${relative(this.root, m.moduleId)}`] = Math.round(ms / 100) / 10;
    }
    const file = join(this.root, FILE_DURATIONS);
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, JSON.stringify(out, null, 1) + '\n');
  }
}
