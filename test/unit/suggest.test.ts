import { describe, expect, test } from 'vitest';
import { closestCommand, editDistance } from '../../src/cli/suggest.js';

const IDS = ['subscriber:list', 'subscriber:add', 'subscriber:suspend', 'subscriber:resume', 'plan:list', 'payment:record', 'subscriber', 'plan', 'init', 'demo'];

describe('did you mean', () => {
  test('edit distance', () => {
    expect(editDistance('lst', 'list')).toBe(1);
    expect(editDistance('kitten', 'sitting')).toBe(3);
    expect(editDistance('', 'abc')).toBe(3);
  });

  test.each([
    ['subscriber:lst', 'subscriber:list'],
    ['subscrber:list', 'subscriber:list'],
    ['subscribers', 'subscriber'],
    ['subscriber:susp', 'subscriber:suspend'],
    ['payment:recrod', 'payment:record'],
    ['inti', 'init'],
  ])('%s → %s', (typed, expected) => {
    expect(closestCommand(typed, IDS)).toBe(expected);
  });

  test('nothing close enough is no suggestion', () => {
    expect(closestCommand('frobnicate', IDS)).toBeUndefined();
    expect(closestCommand('x', IDS)).toBeUndefined();
  });
});
