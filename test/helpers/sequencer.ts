// The order test files start in. With two workers the run ends when its last file does, so the
// long files go first and the short ones fill the end: by the duration of a file's last run when
// vitest remembers it, otherwise the fault and end-to-end files (seconds to a minute each, mostly
// waiting on the processes they start) before the database files, and those before the unit
// files, larger files first within a project.
import { relative } from 'node:path';
import { statSync } from 'node:fs';
import { BaseSequencer, type TestSpecification } from 'vitest/node';

const RANK: Record<string, number> = { faults: 0, e2e: 0, db: 1, unit: 2 };

export class SlowFirstSequencer extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const root = this.ctx.config.root;
    const key = (f: TestSpecification) => `${f.project.name}:${relative(root, f.moduleId)}`;
    const lastDuration = (f: TestSpecification) => this.ctx.cache.getFileTestResults(key(f))?.duration;
    const size = (f: TestSpecification) => {
      try {
        return statSync(f.moduleId).size;
      } catch {
        return 0;
      }
    };
    const known = files.every((f) => lastDuration(f) !== undefined);
    return [...files].sort((a, b) => {
      if (known) return lastDuration(b)! - lastDuration(a)!;
      const rank = (RANK[a.project.name] ?? 1) - (RANK[b.project.name] ?? 1);
      return rank !== 0 ? rank : size(b) - size(a);
    });
  }
}
