import { describe, expect, it } from 'vitest';
import { gate } from '../../src/core/provisioning/runner.js';

describe('the runner gate on database steps', () => {
  it('runs at most `slots` steps at once, the others in the order they came', async () => {
    const withDb = gate(2);
    let running = 0;
    let most = 0;
    const order: number[] = [];
    const releases: Array<() => void> = [];
    const step = (n: number) =>
      withDb(async () => {
        running++;
        most = Math.max(most, running);
        order.push(n);
        await new Promise<void>((r) => releases.push(r));
        running--;
        return n;
      });
    const all = Promise.all([1, 2, 3, 4, 5].map(step));
    const settle = () => new Promise((r) => setImmediate(r));
    await settle();
    expect(order).toEqual([1, 2]);
    while (releases.length) {
      releases.shift()!();
      await settle();
    }
    expect(await all).toEqual([1, 2, 3, 4, 5]);
    expect(order).toEqual([1, 2, 3, 4, 5]);
    expect(most).toBe(2);
  });

  it('frees the slot of a step that throws', async () => {
    const withDb = gate(1);
    await expect(withDb(() => Promise.reject(new Error('no')))).rejects.toThrow('no');
    expect(await withDb(async () => 'next')).toBe('next');
  });
});
