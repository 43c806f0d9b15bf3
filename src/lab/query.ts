// `print` query words, evaluated the way MikroTik's API manual describes: a stack of booleans
// that starts as an endless supply of `true`; each condition word pushes one value, `?#` words
// combine values; an item is printed when no `false` is left on the stack.

import { isIPv4 } from 'node:net';
import { badArgument } from './trap.js';
import { ipv4ToInt, parseId } from './values.js';

export type RowView = Readonly<Record<string, string | undefined>>;
export type RowPredicate = (row: RowView) => boolean;

/** Turns a query value into the stored spelling for a field (yes → true, `*1a` → `*1A`). */
export type ValueNormalizer = (field: string, value: string) => string;

type StackOp =
  | { op: 'copy'; index: number }
  | { op: 'keep'; index: number }
  | { op: 'not' }
  | { op: 'and' }
  | { op: 'or' }
  | { op: 'dup' };

type Step = { push: RowPredicate } | { ops: StackOp[] };

/** Order of two values: numerically for numbers, ids and IPv4 addresses, else by text. */
export function compareValues(a: string, b: string): number {
  const num = /^-?\d+(\.\d+)?$/;
  if (num.test(a) && num.test(b)) return Number(a) - Number(b);
  const ia = parseId(a);
  const ib = parseId(b);
  if (ia !== undefined && ib !== undefined) return ia - ib;
  if (isIPv4(a) && isIPv4(b)) return ipv4ToInt(a) - ipv4ToInt(b);
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Parse the text after `?#`. */
export function parseStackOps(text: string): StackOp[] {
  const ops: StackOp[] = [];
  let i = 0;
  let afterIndex = false;
  while (i < text.length) {
    const ch = text[i]!;
    if (ch >= '0' && ch <= '9') {
      let j = i;
      while (j < text.length && text[j]! >= '0' && text[j]! <= '9') j++;
      const index = Number(text.slice(i, j));
      // An index at the end of the word replaces the whole stack; elsewhere it pushes a copy.
      ops.push(j === text.length ? { op: 'keep', index } : { op: 'copy', index });
      i = j;
      afterIndex = true;
      continue;
    }
    switch (ch) {
      case '!':
        ops.push({ op: 'not' });
        break;
      case '&':
        ops.push({ op: 'and' });
        break;
      case '|':
        ops.push({ op: 'or' });
        break;
      case '.':
        // After an index it only ends the index; elsewhere it duplicates the top value.
        if (!afterIndex) ops.push({ op: 'dup' });
        break;
      default:
        throw badArgument(`unknown query operation ${JSON.stringify(ch)}`);
    }
    afterIndex = false;
    i++;
  }
  return ops;
}

function applyOps(stack: boolean[], ops: readonly StackOp[]): boolean[] {
  // Below the real values lies an endless supply of `true`.
  const pop = (): boolean => (stack.length > 0 ? stack.pop()! : true);
  const at = (index: number): boolean => (index < stack.length ? stack[stack.length - 1 - index]! : true);
  for (const o of ops) {
    switch (o.op) {
      case 'copy':
        stack.push(at(o.index));
        break;
      case 'keep': {
        const v = at(o.index);
        stack = [v];
        break;
      }
      case 'not':
        stack.push(!pop());
        break;
      case 'and': {
        const a = pop();
        const b = pop();
        stack.push(a && b);
        break;
      }
      case 'or': {
        const a = pop();
        const b = pop();
        stack.push(a || b);
        break;
      }
      case 'dup':
        stack.push(at(0));
        break;
    }
  }
  return stack;
}

function splitNameValue(text: string): [string, string | undefined] {
  const eq = text.indexOf('=');
  return eq < 0 ? [text, undefined] : [text.slice(0, eq), text.slice(eq + 1)];
}

function conditionWord(body: string, normalize: ValueNormalizer): RowPredicate {
  const first = body[0];
  if (first === '-') {
    const name = body.slice(1);
    if (name === '' || name.includes('=')) throw badArgument(`invalid query word ?${body}`);
    return (row) => row[name] === undefined;
  }
  if (first === '<' || first === '>') {
    const [name, raw] = splitNameValue(body.slice(1));
    if (name === '' || raw === undefined) throw badArgument(`invalid query word ?${body}`);
    const value = normalize(name, raw);
    return first === '<'
      ? (row) => {
          const v = row[name];
          return v !== undefined && compareValues(v, value) < 0;
        }
      : (row) => {
          const v = row[name];
          return v !== undefined && compareValues(v, value) > 0;
        };
  }
  const [name, raw] = splitNameValue(first === '=' ? body.slice(1) : body);
  if (name === '') throw badArgument(`invalid query word ?${body}`);
  if (raw === undefined) return (row) => row[name] !== undefined;
  const value = normalize(name, raw);
  // An unset property equals the empty string.
  return (row) => (row[name] ?? '') === value;
}

/**
 * Compile the query words of a print (each starting with `?`) into one predicate. Throws a
 * RouterTrap (category 1) for a malformed word.
 */
export function compileQuery(words: readonly string[], normalize: ValueNormalizer = (_f, v) => v): RowPredicate {
  if (words.length === 0) return () => true;
  const steps: Step[] = words.map((w) => {
    if (!w.startsWith('?')) throw badArgument(`invalid query word ${w}`);
    const body = w.slice(1);
    if (body.startsWith('#')) return { ops: parseStackOps(body.slice(1)) };
    return { push: conditionWord(body, normalize) };
  });
  return (row) => {
    let stack: boolean[] = [];
    for (const s of steps) {
      if ('push' in s) stack.push(s.push(row));
      else stack = applyOps(stack, s.ops);
    }
    return !stack.includes(false);
  };
}
