import { describe, expect, it } from 'vitest';
import { RouterOSArgumentError, attributeWords, formatValue, proplistWord, q, queryWords } from '../../../src/core/routeros/index.js';

describe('query helpers', () => {
  it('builds leaf words', () => {
    expect(queryWords([q.eq('name', 'juan'), q.has('comment'), q.missing('caller-id'), q.lt('.id', '*5'), q.gt('rx', 10)])).toEqual([
      '?name=juan',
      '?comment',
      '?-caller-id',
      '?<.id=*5',
      '?>rx=10',
    ]);
  });

  it('keeps values in the value part, whatever they contain', () => {
    expect(queryWords([q.eq('comment', '=x ?y\n.tag=1')])).toEqual(['?comment==x ?y\n.tag=1']);
    expect(queryWords([q.eq('disabled', true), q.eq('disabled', false), q.eq('n', 0n)])).toEqual(['?disabled=yes', '?disabled=no', '?n=0']);
  });

  it('exposes the bare stack operations', () => {
    expect(queryWords([q.eq('type', 'ether'), q.eq('type', 'vlan'), q.or()])).toEqual(['?type=ether', '?type=vlan', '?#|']);
    expect(queryWords([q.and(), q.not(), q.stack('0!&')])).toEqual(['?#&', '?#!', '?#0!&']);
  });

  it('composes or/and/not over whole operands, nesting', () => {
    expect(queryWords([q.or(q.eq('profile', 'a'), q.eq('profile', 'b'), q.eq('profile', 'c'))])).toEqual([
      '?profile=a',
      '?profile=b',
      '?profile=c',
      '?#||',
    ]);
    expect(queryWords([q.or(q.eq('profile', 'a'), q.and(q.eq('profile', 'b'), q.not(q.has('disabled'))))])).toEqual([
      '?profile=a',
      '?profile=b',
      '?disabled',
      '?#!',
      '?#&',
      '?#|',
    ]);
    // An array operand means "all of these", like a top-level query.
    expect(queryWords([q.or([q.eq('a', 1), q.eq('b', 2)], q.eq('c', 3))])).toEqual(['?a=1', '?b=2', '?#&', '?c=3', '?#|']);
  });

  it('rejects bad names, bad operands and forged words', () => {
    for (const bad of ['', 'a=b', 'a b', '-x', '?x', 'x\n', '.tag', 'a..b', 'ä']) {
      expect(() => q.eq(bad, 'v'), bad).toThrow(RouterOSArgumentError);
    }
    expect(() => q.eq('a', 'x\0y')).toThrow(RouterOSArgumentError);
    expect(() => q.or(q.eq('a', 1))).toThrow(RouterOSArgumentError);
    expect(() => q.not(q.eq('a', 1), q.eq('b', 2))).toThrow(RouterOSArgumentError);
    expect(() => q.or(q.stack('|'), q.eq('a', 1))).toThrow(RouterOSArgumentError);
    expect(() => q.stack('|; /system/reboot')).toThrow(RouterOSArgumentError);
    expect(() => queryWords([{ word: '?x' } as never])).toThrow(RouterOSArgumentError);
    expect(() => queryWords([Object.freeze({ word: '?x' }) as never])).toThrow(RouterOSArgumentError);
  });
});

describe('attribute words', () => {
  it('formats values and skips undefined', () => {
    expect(attributeWords({ name: 'a', disabled: false, 'max-limit': '10M/20M', n: 3, x: undefined, '.id': '*1', 'uptime.oid': '' })).toEqual([
      '=name=a',
      '=disabled=no',
      '=max-limit=10M/20M',
      '=n=3',
      '=.id=*1',
      '=uptime.oid=',
    ]);
    expect(formatValue(true)).toBe('yes');
    expect(() => formatValue(Infinity)).toThrow(RouterOSArgumentError);
    expect(() => formatValue({} as never)).toThrow(RouterOSArgumentError);
  });

  it('validates proplist names', () => {
    expect(proplistWord(['.id', 'name', 'rate-limit'])).toBe('=.proplist=.id,name,rate-limit');
    expect(() => proplistWord([])).toThrow(RouterOSArgumentError);
    expect(() => proplistWord(['a,b'])).toThrow(RouterOSArgumentError);
  });
});
