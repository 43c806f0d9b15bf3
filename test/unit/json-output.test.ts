// toJson, what every --json output goes through: bigints, dates, and the fast path without a replacer.
import { describe, expect, it } from 'vitest';
import { jsonListWriter, toJson } from '../../src/cli/output.js';

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

describe('jsonListWriter (a list written a page at a time)', () => {
  const rows = Array.from({ length: 7 }, (_, i) => ({ accountNo: `S-${i}`, name: i % 2 ? 'Ana "A" Reyes\nline two' : 'Juan', id: BigInt(i) * 10n ** 17n, access: { state: 'active', kbps: [i, i + 1] }, none: null }));
  const split = (list: typeof rows, sizes: number[]) => {
    const out: Array<typeof rows> = [];
    let at = 0;
    for (const n of sizes) out.push(list.slice(at, (at += n)));
    return out;
  };
  const write = (pages: Array<typeof rows>, warnings: string[] = []) => {
    const w = jsonListWriter();
    return w.head + pages.map((p) => w.page(p)).join('') + w.tail(warnings);
  };

  it('prints what toJson prints of the whole envelope, however the rows are split into pages', () => {
    const whole = toJson({ ok: true, status: 0, data: rows }) + '\n';
    for (const sizes of [[7], [1, 1, 1, 1, 1, 1, 1], [2, 0, 5], [3, 4], [6, 1, 0]]) expect(write(split(rows, sizes))).toBe(whole);
    expect(JSON.parse(write(split(rows, [4, 3]))).data[1].id).toBe('100000000000000000');
  });

  it('no rows, and warnings after the data', () => {
    expect(write([])).toBe(toJson({ ok: true, status: 0, data: [] }) + '\n');
    expect(write([[]])).toBe(toJson({ ok: true, status: 0, data: [] }) + '\n');
    const warnings = ['the router core1 did not answer', 'second'];
    expect(write(split(rows, [5, 2]), warnings)).toBe(toJson({ ok: true, status: 0, data: rows, warnings }) + '\n');
    expect(write([], warnings)).toBe(toJson({ ok: true, status: 0, data: [], warnings }) + '\n');
  });
});
