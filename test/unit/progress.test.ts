// The one progress line: nothing for quick work, a phase with a bar and seconds once the work
// is slow, cleared when done; nothing at all when it is off (--json, not a terminal).
import { describe, expect, test } from 'vitest';
import { ProgressLine } from '../../src/cli/progress.js';

function stream(isTTY = true) {
  const out: string[] = [];
  return { out, s: { isTTY, columns: 60, write: (x: string) => out.push(x) } };
}

describe('ProgressLine', () => {
  test('quiet for the first second, then phase, bar, count and seconds; cleared at the end', () => {
    let t = 0;
    const { out, s } = stream();
    const p = new ProgressLine(s, true, { now: () => t });
    p.update({ phase: 'Checking rows', done: 0, total: 10 });
    expect(out).toEqual([]);
    t = 2500;
    p.update({ phase: 'Writing subscribers', done: 5, total: 10 });
    expect(out).toHaveLength(1);
    expect(out[0]).toMatch(/^\r. Writing subscribers \[#{10}\.{10}\] 5\/10 2s\x1b\[K$/);
    p.update({ phase: 'Queueing router work' });
    expect(out[1]).toMatch(/^\r. Queueing router work 2s\x1b\[K$/);
    p.stop();
    expect(out.at(-1)).toBe('\r\x1b[K');
    expect(p.text().length).toBeLessThan(60);
  });

  test('off: never writes', () => {
    let t = 0;
    const { out, s } = stream(false);
    const p = new ProgressLine(s, false, { now: () => t });
    t = 5000;
    p.update({ phase: 'Reading routers', done: 1, total: 3 });
    p.stop();
    expect(out).toEqual([]);
  });

  test('a quick run never draws, so stop writes nothing either', () => {
    const { out, s } = stream();
    const p = new ProgressLine(s, true, { now: () => 0 });
    p.update({ phase: 'Reading routers' });
    p.stop();
    expect(out).toEqual([]);
  });
});
