// Values of RouterOS scripts in the lab console: typed like RouterOS's (str, num, bool, id, ip,
// array, code, nil), with the conversions the console needs.

import { isIPv4 } from 'node:net';
import { byteLength, normalizeText } from '../bytes.js';
import type { Stmt } from './syntax.js';
import { ipv4InPrefix, ipv4ToInt, parseId } from '../values.js';

export type ScriptValue =
  | { t: 'nil' }
  | { t: 'nothing' }
  | { t: 'str'; v: string }
  | { t: 'num'; v: number }
  | { t: 'bool'; v: boolean }
  | { t: 'id'; v: string }
  | { t: 'ip'; v: string }
  /** Items with an optional key each (an associative array when keyed). */
  | { t: 'array'; items: Array<[string | undefined, ScriptValue]> }
  | { t: 'code'; body: Stmt[] };

export const NIL: ScriptValue = { t: 'nil' };
export const NOTHING: ScriptValue = { t: 'nothing' };

export function str(v: string): ScriptValue {
  return { t: 'str', v: normalizeText(v) };
}
export function num(v: number): ScriptValue {
  return { t: 'num', v };
}
export function bool(v: boolean): ScriptValue {
  return { t: 'bool', v };
}
export function list(values: ScriptValue[]): ScriptValue {
  return { t: 'array', items: values.map((v) => [undefined, v]) };
}

/** What an unquoted word means in an expression: a number, boolean, id, address or text. */
export function literal(text: string): ScriptValue {
  if (/^-?\d+$/.test(text)) return num(Number(text));
  if (text === 'true') return bool(true);
  if (text === 'false') return bool(false);
  if (parseId(text) !== undefined) return { t: 'id', v: text.toUpperCase() };
  if (isIPv4(text)) return { t: 'ip', v: text };
  return str(text);
}

/** `:typeof`. */
export function typeName(v: ScriptValue): string {
  switch (v.t) {
    case 'nil':
      return 'nil';
    case 'nothing':
      return 'nothing';
    case 'str':
      return 'str';
    case 'num':
      return 'num';
    case 'bool':
      return 'bool';
    case 'id':
      return 'id';
    case 'ip':
      return 'ip';
    case 'array':
      return 'array';
    case 'code':
      return 'code';
  }
}

/** How `:put` and string concatenation show a value. */
export function display(v: ScriptValue): string {
  switch (v.t) {
    case 'nil':
    case 'nothing':
      return '';
    case 'str':
    case 'id':
    case 'ip':
      return v.v;
    case 'num':
      return String(v.v);
    case 'bool':
      return v.v ? 'true' : 'false';
    case 'array':
      return v.items.map(([k, item]) => (k === undefined ? display(item) : `${k}=${display(item)}`)).join(';');
    case 'code':
      return '(code)';
  }
}

/** A value given to a menu property: text as written; arrays comma-separated. */
export function propertyText(v: ScriptValue): string {
  if (v.t === 'array') return v.items.map(([, item]) => propertyText(item)).join(',');
  return display(v);
}

export function truthy(v: ScriptValue): boolean {
  switch (v.t) {
    case 'bool':
      return v.v;
    case 'num':
      return v.v !== 0;
    case 'str':
      return v.v === 'true' || v.v === 'yes';
    case 'array':
      return v.items.length > 0;
    default:
      return false;
  }
}

/** `:len`: bytes of a string, items of an array. */
export function lengthOf(v: ScriptValue): number {
  if (v.t === 'array') return v.items.length;
  if (v.t === 'nil' || v.t === 'nothing') return 0;
  return byteLength(display(v));
}

function asNumber(v: ScriptValue): number | undefined {
  if (v.t === 'num') return v.v;
  if (v.t === 'str' && /^-?\d+$/.test(v.v)) return Number(v.v);
  return undefined;
}

/** Order for `<` `>`: numbers, then IPv4 addresses, then text. */
export function compare(a: ScriptValue, b: ScriptValue): number {
  const na = asNumber(a);
  const nb = asNumber(b);
  if (na !== undefined && nb !== undefined) return na - nb;
  const da = display(a);
  const db = display(b);
  if (isIPv4(da) && isIPv4(db)) return ipv4ToInt(da) - ipv4ToInt(db);
  return da < db ? -1 : da > db ? 1 : 0;
}

export function equal(a: ScriptValue, b: ScriptValue): boolean {
  if (a.t === 'array' || b.t === 'array') {
    if (a.t !== 'array' || b.t !== 'array' || a.items.length !== b.items.length) return false;
    return a.items.every(([k, v], i) => k === b.items[i]![0] && equal(v, b.items[i]![1]));
  }
  if (a.t === 'num' && b.t === 'num') return a.v === b.v;
  return display(a) === display(b);
}

/** `a in b`: an address in a prefix, or an item in an array. */
export function contains(item: ScriptValue, container: ScriptValue): boolean {
  if (container.t === 'array') return container.items.some(([, v]) => equal(v, item));
  return ipv4InPrefix(display(item), display(container));
}
