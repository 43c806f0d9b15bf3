import { describe, expect, it } from 'vitest';
import { compareValues, compileQuery, parseStackOps } from '../../../src/lab/query.js';
import { RouterTrap } from '../../../src/lab/trap.js';

const rows = [
  { '.id': '*1', name: 'ether1', type: 'ether', mtu: '1500' },
  { '.id': '*2', name: 'ether2', type: 'ether', mtu: '9000', comment: 'uplink' },
  { '.id': '*A', name: 'vlan10', type: 'vlan', mtu: '1500' },
  { '.id': '*B', name: 'br0', type: 'bridge', mtu: '1500', comment: '' },
];

function names(words: string[]): string[] {
  const p = compileQuery(words);
  return rows.filter(p).map((r) => r.name);
}

describe('print queries (stack semantics of the API manual)', () => {
  it('no query words: every row', () => {
    expect(names([])).toEqual(['ether1', 'ether2', 'vlan10', 'br0']);
  });

  it('several conditions are ANDed (no false may remain on the stack)', () => {
    expect(names(['?type=ether', '?mtu=1500'])).toEqual(['ether1']);
  });

  it('?=name=value is the same as ?name=value', () => {
    expect(names(['?=type=vlan'])).toEqual(['vlan10']);
  });

  it('?name (has the property) and ?-name (lacks it)', () => {
    expect(names(['?comment'])).toEqual(['ether2', 'br0']);
    expect(names(['?-comment'])).toEqual(['ether1', 'vlan10']);
  });

  it('?<name=x and ?>name=x compare numbers numerically', () => {
    expect(names(['?>mtu=1500'])).toEqual(['ether2']);
    expect(names(['?<mtu=9000'])).toEqual(['ether1', 'vlan10', 'br0']);
  });

  it('ids compare as numbers, not text (*A > *2)', () => {
    expect(names(['?>.id=*2'])).toEqual(['vlan10', 'br0']);
  });

  it('?>comment= finds non-empty comments (the manual example)', () => {
    expect(names(['?>comment='])).toEqual(['ether2']);
  });

  it('?#| ors the two top values (ethernet or VLAN, the manual example)', () => {
    expect(names(['?type=ether', '?type=vlan', '?#|'])).toEqual(['ether1', 'ether2', 'vlan10']);
  });

  it('?#& ands, ?#! negates', () => {
    expect(names(['?type=ether', '?mtu=1500', '?#&'])).toEqual(['ether1']);
    expect(names(['?type=ether', '?#!'])).toEqual(['vlan10', 'br0']);
  });

  it('ops in one word run left to right: ?#|! is not(a or b)', () => {
    expect(names(['?type=ether', '?type=vlan', '?#|!'])).toEqual(['br0']);
  });

  it('an index followed by more ops pushes a copy of that value (top is 0)', () => {
    // stack [ether?, mtu1500?] ; 1 pushes a copy of ether? ; | ors it with mtu1500? ; & with ether?
    expect(names(['?type=ether', '?mtu=1500', '?#1|&'])).toEqual(['ether1', 'ether2']);
  });

  it('an index at the end of the word replaces the whole stack with that value', () => {
    // Only the lower value (type=vlan) survives; the failed mtu check is discarded.
    expect(names(['?type=vlan', '?mtu=9000', '?#1'])).toEqual(['vlan10']);
  });

  it('. after another character duplicates the top; after an index it does nothing', () => {
    expect(parseStackOps('.')).toEqual([{ op: 'dup' }]);
    expect(parseStackOps('0.')).toEqual([{ op: 'copy', index: 0 }]);
    expect(parseStackOps('!.')).toEqual([{ op: 'not' }, { op: 'dup' }]);
    expect(parseStackOps('12|')).toEqual([{ op: 'copy', index: 12 }, { op: 'or' }]);
  });

  it('the stack starts with endless trues: ?#| on one value keeps it, ?#! on nothing fails', () => {
    expect(names(['?type=vlan', '?#|'])).toEqual(['ether1', 'ether2', 'vlan10', 'br0']);
    expect(names(['?#!'])).toEqual([]);
    expect(names(['?#&'])).toEqual(['ether1', 'ether2', 'vlan10', 'br0']);
  });

  it('a three-way or', () => {
    expect(names(['?name=ether1', '?name=vlan10', '?name=br0', '?#||'])).toEqual(['ether1', 'vlan10', 'br0']);
  });

  it('normalizes query values through the caller (yes → true)', () => {
    const p = compileQuery(['?disabled=yes'], (_f, v) => (v === 'yes' ? 'true' : v));
    expect(p({ disabled: 'true' })).toBe(true);
    expect(p({ disabled: 'false' })).toBe(false);
  });

  it('malformed words are a category 1 trap', () => {
    expect(() => compileQuery(['?#x'])).toThrow(RouterTrap);
    try {
      compileQuery(['?<mtu']);
    } catch (e) {
      expect((e as RouterTrap).category).toBe(1);
    }
  });

  it('compareValues orders numbers, ids, addresses and text', () => {
    expect(compareValues('9', '10')).toBeLessThan(0);
    expect(compareValues('*F', '*10')).toBeLessThan(0);
    expect(compareValues('10.0.0.9', '10.0.0.10')).toBeLessThan(0);
    expect(compareValues('a', 'b')).toBeLessThan(0);
  });
});
