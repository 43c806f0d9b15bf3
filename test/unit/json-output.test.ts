// toJson, what every --json output goes through: bigints, dates, and the fast path without a replacer.
import { describe, expect, it } from 'vitest';
import { toJson } from '../../src/cli/output.js';

describe('toJson (what --json prints)', () => {
  it('writes bigints as numbers when safe and as strings beyond 2^53, wherever they sit', () => {
    const out = JSON.parse(toJson({ a: 150000n, list: [1n, { deep: 2n ** 60n }], at: new Date('2026-11-24T01:00:00Z'), n: 3 }));
    expect(out).toEqual({ a: 150000, list: [1, { deep: '1152921504606846976' }], at: '2026-11-24T01:00:00.000Z', n: 3 });
  });

  it('prints the same text with and without bigints in the value', () => {
    const plain = { ids: [1, 2, 3], name: 'x', nested: { ok: true, none: null } };
    const withBig = { ids: [1n, 2n, 3n], name: 'x', nested: { ok: true, none: null } };
    expect(toJson(withBig)).toBe(toJson(plain));
    expect(toJson(withBig, false)).toBe('{"ids":[1,2,3],"name":"x","nested":{"ok":true,"none":null}}');
    expect(toJson(plain)).toBe(JSON.stringify(plain, null, 2));
  });

  it('still refuses a cycle', () => {
    const a: Record<string, unknown> = { big: 1n };
    a.self = a;
    expect(() => toJson(a)).toThrow(TypeError);
  });
});
