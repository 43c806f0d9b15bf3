// Safe building of RouterOS API words. Names are checked against strict patterns; values only
// ever go after the second `=` of a word, and since words are length-prefixed a value cannot
// break out of its word. NUL bytes are refused anyway: RouterOS stores C strings in places.

import { RouterOSArgumentError } from './errors.js';

/** A value a caller may write. `undefined` means "leave the attribute out". */
export type WordValue = string | number | boolean | bigint;
export type Params = Record<string, WordValue | undefined>;

/** `/ppp/secret/print`, `/system/resource/print`, `/cancel`. */
export const COMMAND_PATTERN = /^(\/[a-z0-9-]+)+$/;
/** `name`, `local-address`, `.id`, `.proplist`, `uptime.oid`. */
export const NAME_PATTERN = /^\.?[a-z0-9][a-z0-9-]*(\.[a-z0-9-]+)?$/i;
/** Stack operations after `?#`: indices, `!`, `&`, `|`, `.`. */
export const STACK_OPS_PATTERN = /^[0-9!&|.]+$/;

export function assertCommand(path: string): string {
  if (typeof path !== 'string' || !COMMAND_PATTERN.test(path)) {
    throw new RouterOSArgumentError(`invalid RouterOS command path ${JSON.stringify(path)}: expected /menu/sub/command in lower case`);
  }
  return path;
}

export function assertName(name: string, what = 'attribute name'): string {
  if (typeof name !== 'string' || !NAME_PATTERN.test(name)) {
    throw new RouterOSArgumentError(`invalid RouterOS ${what} ${JSON.stringify(name)}`);
  }
  if (name.toLowerCase() === '.tag') {
    throw new RouterOSArgumentError('the .tag attribute is reserved for the client');
  }
  return name;
}

/** Text form of a value: booleans as yes/no, numbers in decimal. Refuses NUL and non-finite numbers. */
export function formatValue(value: WordValue, name = 'value'): string {
  let text: string;
  if (typeof value === 'boolean') text = value ? 'yes' : 'no';
  else if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new RouterOSArgumentError(`${name}: ${value} is not a finite number`);
    text = String(value);
  } else if (typeof value === 'bigint') text = value.toString();
  else if (typeof value === 'string') text = value;
  else throw new RouterOSArgumentError(`${name}: unsupported value type ${typeof value}`);
  if (text.includes('\0')) throw new RouterOSArgumentError(`${name}: value contains a NUL byte`);
  return text;
}

/** `=name=value` */
export function attributeWord(name: string, value: WordValue): string {
  assertName(name);
  return `=${name}=${formatValue(value, name)}`;
}

/** Attribute words for every defined parameter, in insertion order. */
export function attributeWords(params: Params | undefined): string[] {
  const words: string[] = [];
  if (!params) return words;
  for (const [name, value] of Object.entries(params)) {
    if (value === undefined) continue;
    words.push(attributeWord(name, value));
  }
  return words;
}

/** `=.proplist=a,b,c` */
export function proplistWord(names: readonly string[]): string {
  if (names.length === 0) throw new RouterOSArgumentError('.proplist needs at least one property name');
  for (const n of names) assertName(n, 'property name');
  return `=.proplist=${names.join(',')}`;
}

const QUERY_BRAND: unique symbol = Symbol('RouterOSQueryWord');

/** One query word, built only through the `q` helpers (never from raw caller text). */
export interface QueryWord {
  readonly [QUERY_BRAND]: true;
  readonly word: string;
}

/** A query: one word, or words that together push exactly one value on the query stack. */
export type Query = QueryWord | readonly QueryWord[];

function qw(word: string): QueryWord {
  return Object.freeze({ [QUERY_BRAND]: true as const, word });
}

export function isQueryWord(x: unknown): x is QueryWord {
  return typeof x === 'object' && x !== null && (x as Record<symbol, unknown>)[QUERY_BRAND] === true;
}

function flat(parts: readonly Query[]): QueryWord[] {
  const out: QueryWord[] = [];
  for (const p of parts) {
    if (isQueryWord(p)) out.push(p);
    else if (Array.isArray(p)) {
      for (const w of p) {
        if (!isQueryWord(w)) throw new RouterOSArgumentError('query parts must be built with the q helpers');
        out.push(w);
      }
    } else throw new RouterOSArgumentError('query parts must be built with the q helpers');
  }
  return out;
}

/** The words of a query list, in order (RouterOS ANDs whatever is left on the stack). */
export function queryWords(parts: readonly Query[] | undefined): string[] {
  return parts ? flat(parts).map((w) => w.word) : [];
}

/** Net number of values a run of query words pushes on the stack. */
function stackEffect(words: readonly QueryWord[]): number {
  let n = 0;
  for (const { word } of words) {
    if (!word.startsWith('?#')) {
      n += 1;
      continue;
    }
    for (const op of word.slice(2)) {
      if (op === '|' || op === '&') n -= 1;
      else if (op !== '!') throw new RouterOSArgumentError(`q.stack('${word.slice(2)}') cannot be used as an operand of or/and/not`);
    }
  }
  return n;
}

/**
 * Words of each operand, each reduced to exactly one stack value: an array operand of several
 * conditions means all of them (like a top-level query), so it is closed with `&`.
 */
function operands(name: string, parts: readonly Query[], min: number): QueryWord[] {
  if (parts.length < min) throw new RouterOSArgumentError(`q.${name} needs at least ${min} operand(s)`);
  const out: QueryWord[] = [];
  for (const part of parts) {
    const words = flat([part]);
    const effect = stackEffect(words);
    if (effect < 1) throw new RouterOSArgumentError(`q.${name}: an operand has no condition`);
    out.push(...words);
    if (effect > 1) out.push(qw(`?#${'&'.repeat(effect - 1)}`));
  }
  return out;
}

/**
 * Query helpers for print. Each leaf pushes one boolean; `or`/`and`/`not` combine whole queries
 * (their operands) with stack operations, so they nest:
 * `q.or(q.eq('profile', 'a'), q.and(q.eq('profile', 'b'), q.not(q.has('disabled'))))`.
 */
export const q = Object.freeze({
  /** `?name=value`: property equals value. */
  eq: (name: string, value: WordValue): QueryWord => qw(`?${assertName(name, 'query field')}=${formatValue(value, name)}`),
  /** `?name`: item has the property. */
  has: (name: string): QueryWord => qw(`?${assertName(name, 'query field')}`),
  /** `?-name`: item lacks the property. */
  missing: (name: string): QueryWord => qw(`?-${assertName(name, 'query field')}`),
  /** `?<name=value`: property less than value. */
  lt: (name: string, value: WordValue): QueryWord => qw(`?<${assertName(name, 'query field')}=${formatValue(value, name)}`),
  /** `?>name=value`: property greater than value. */
  gt: (name: string, value: WordValue): QueryWord => qw(`?>${assertName(name, 'query field')}=${formatValue(value, name)}`),
  /** Any of the operands; with none, the bare `?#|` stack operation. */
  or: (...parts: Query[]): QueryWord[] =>
    parts.length === 0 ? [qw('?#|')] : [...operands('or', parts, 2), qw(`?#${'|'.repeat(parts.length - 1)}`)],
  /** All of the operands; with none, the bare `?#&` stack operation. */
  and: (...parts: Query[]): QueryWord[] =>
    parts.length === 0 ? [qw('?#&')] : [...operands('and', parts, 2), qw(`?#${'&'.repeat(parts.length - 1)}`)],
  /** Negation of the operand; with none, the bare `?#!` stack operation. */
  not: (...parts: Query[]): QueryWord[] => {
    if (parts.length === 0) return [qw('?#!')];
    if (parts.length !== 1) throw new RouterOSArgumentError('q.not takes one operand');
    return [...operands('not', parts, 1), qw('?#!')];
  },
  /** Raw stack operations, `?#ops` (digits, `!`, `&`, `|`, `.`). */
  stack: (ops: string): QueryWord => {
    if (typeof ops !== 'string' || !STACK_OPS_PATTERN.test(ops)) throw new RouterOSArgumentError(`invalid query stack operations ${JSON.stringify(ops)}`);
    return qw(`?#${ops}`);
  },
});
