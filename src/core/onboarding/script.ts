// RouterOS script syntax: the one place that writes a value into a script ispctl prints.
//
// Every value a person or a router supplied goes into a script as a double-quoted RouterOS
// string with every escape RouterOS knows. The output is printable ASCII only: bytes outside
// 0x20..0x7E are written as `\XX` (capital hex), so a script survives any terminal or clipboard
// and the router stores exactly the bytes that were meant (UTF-8 of the text, or the raw bytes
// given). `$` and `?` are escaped because a bare `$` starts a variable (and `$[…]` a command)
// and a bare `?` prints help in the console.
//
// Names ispctl generates itself (interfaces, users, groups, comments markers) are kept to
// `[A-Za-z0-9._-]`, so they are safe unquoted too; they are still quoted where they are written.

import { invalid } from '../errors.js';
import { errors } from '../error-catalogue.js';

const NAMED: Record<number, string> = {
  0x22: '\\"',
  0x5c: '\\\\',
  0x24: '\\$',
  0x3f: '\\?',
  0x0a: '\\n',
  0x0d: '\\r',
  0x09: '\\t',
  0x07: '\\a',
  0x08: '\\b',
  0x0c: '\\f',
  0x0b: '\\v',
};

function hex2(b: number): string {
  return b.toString(16).toUpperCase().padStart(2, '0');
}

/** The escaped body of a RouterOS string (without the quotes). */
export function rosEscape(value: string | Uint8Array): string {
  const bytes = typeof value === 'string' ? Buffer.from(value, 'utf8') : value;
  let out = '';
  for (const b of bytes) {
    const named = NAMED[b];
    if (named) out += named;
    else if (b >= 0x20 && b <= 0x7e) out += String.fromCharCode(b);
    else out += `\\${hex2(b)}`;
  }
  return out;
}

/** A RouterOS double-quoted string holding exactly these bytes (a string as UTF-8). */
export function rosQuote(value: string | Uint8Array): string {
  return `"${rosEscape(value)}"`;
}

const SIMPLE_ESCAPES: Record<string, number> = { '"': 0x22, '\\': 0x5c, $: 0x24, '?': 0x3f, n: 0x0a, r: 0x0d, t: 0x09, a: 0x07, b: 0x08, f: 0x0c, v: 0x0b, _: 0x20 };

/**
 * Reads back a RouterOS double-quoted string literal (quotes included) as bytes, the way
 * RouterOS parses one. For tests and for reading what ispctl wrote; throws on malformed input.
 */
export function rosUnquote(literal: string): Buffer {
  if (literal.length < 2 || literal[0] !== '"' || literal[literal.length - 1] !== '"') throw new SyntaxError('not a quoted RouterOS string');
  const body = literal.slice(1, -1);
  const out: number[] = [];
  for (let i = 0; i < body.length; i++) {
    const c = body[i]!;
    if (c === '"') throw new SyntaxError(`unescaped quote at ${i}`);
    if (c !== '\\') {
      for (const b of Buffer.from(c, 'utf8')) out.push(b);
      continue;
    }
    const n = body[i + 1];
    if (n === undefined) throw new SyntaxError('backslash at the end of the string');
    if (n in SIMPLE_ESCAPES) {
      out.push(SIMPLE_ESCAPES[n]!);
      i += 1;
    } else if (/^[0-9A-F]{2}$/.test(body.slice(i + 1, i + 3))) {
      out.push(parseInt(body.slice(i + 1, i + 3), 16));
      i += 2;
    } else {
      throw new SyntaxError(`unknown escape \\${n} at ${i}`);
    }
  }
  return Buffer.from(out);
}

/** Names ispctl generates for router objects: letters, digits, `.`, `_`, `-`; 1 to 63 characters. */
export const GENERATED_NAME = /^[A-Za-z0-9._-]{1,63}$/;

/**
 * Checks a name ispctl writes as a RouterOS object name (interface, user, group).
 * @throws IspctlError INVALID_ROUTEROS_NAME naming the field
 */
export function rosName(value: string, field: string): string {
  const s = String(value ?? '');
  if (!GENERATED_NAME.test(s)) {
    throw invalid('INVALID_ROUTEROS_NAME', `The ${field} ${JSON.stringify(s)} may only hold letters, digits, ".", "_" and "-" (1 to 63 characters).`, [`Choose a ${field} such as wg-ispctl`], { field, input: s });
  }
  return s;
}

/** An IPv4 address, optionally with /prefix: written unquoted, so checked strictly. */
export function rosAddress(value: string, field: string): string {
  const s = String(value ?? '');
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})(?:\/(\d{1,2}))?$/.exec(s);
  const ok = m && m.slice(1, 5).every((o) => Number(o) <= 255 && String(Number(o)) === o) && (m[5] === undefined || (Number(m[5]) <= 32 && String(Number(m[5])) === m[5]));
  if (!ok) throw errors.invalidAddress(field, s, 'is not an IPv4 address (with an optional /prefix)', ['e.g. 192.0.2.10 or 192.0.2.0/24']);
  return s;
}

/** A whole number written unquoted (ports, counts). */
export function rosNumber(value: number, field: string, min = 0, max = 65535): string {
  if (!Number.isInteger(value) || value < min || value > max) throw invalid('INVALID_NUMBER', `The ${field} ${JSON.stringify(value)} is not a whole number from ${min} to ${max}.`, [], { field, input: value });
  return String(value);
}
