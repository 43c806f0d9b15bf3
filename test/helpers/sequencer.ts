// The order test files start in. With two workers the run ends when its last file does, so the
// long files go first and the short ones fill the end: by the duration of a file's last run when
// vitest remembers it, else by its duration in test/durations.json (a recent full run, written by
// scripts/test-durations.mjs; a fresh clone remembers nothing), else by a guess from its project
// (fault and end-to-end files take seconds to a minute, mostly waiting on the processes they start;
// database files a few seconds; unit files less) and its size.
import { readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { BaseSequencer, type TestSpecification } from 'vitest/node';

const GUESS_SECONDS: Record<string, number> = { e2e: 8, db: 3, unit: 0.3 };

function recorded(root: string): Record<string, number> {
  try {
    return JSON.parse(readFileSync(join(root, 'test', 'durations.json'), 'utf8')) as Record<string, number>;
  } catch {
    return {};
  }
}

export class SlowFirstSequencer extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const root = this.ctx.config.root;
    const table = recorded(root);
    const key = (f: TestSpecification) => `${f.project.name}:${relative(root, f.moduleId)}`;
    const size = (f: TestSpecification) => {
      try {
        return statSync(f.moduleId).size;
      } catch {
        return 0;
      }
    };
    const seconds = (f: TestSpecification): number => {
      const last = this.ctx.cache.getFileTestResults(key(f))?.duration;
      if (last !== undefined) return last / 1000;
      const known = table[key(f)];
      if (known !== undefined) return known;
      // A new file: its project's guess, a little more for a larger file.
      return (GUESS_SECONDS[f.project.name] ?? 3) * (1 + size(f) / 50_000);
    };
    const estimate = new Map(files.map((f) => [f, seconds(f)]));
    return [...files].sort((a, b) => estimate.get(b)! - estimate.get(a)!);
  }
}
