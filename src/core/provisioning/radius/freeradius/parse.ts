// Reading existing FreeRADIUS 3 configuration text: a small, comment- and quote-aware view of
// its sections (blocks) and `key = value` items, and how FreeRADIUS reads a single-quoted
// string. Nothing here writes; edit.ts changes text through these positions.
import { IspctlError } from '../../../errors.js';

/**
 * What FreeRADIUS 3 reads from the body of a single-quoted string: a backslash and the next
 * character stay as they are, except that `\'` is a quote; an unescaped `'` ends the string.
 * Undefined when the string would end early or never end.
 */
export function readFreeRadiusSingleQuoted(body: string): string | undefined {
  let out = '';
  for (let i = 0; i < body.length; i++) {
    const c = body[i]!;
    if (c === "'") return undefined;
    if (c === '\\') {
      const next = body[i + 1];
      if (next === undefined) return undefined; // would escape the closing quote
      out += next === "'" ? "'" : c + next;
      i++;
    } else {
      out += c;
    }
  }
  return out;
}

export interface Block {
  /** Text before `{`, trimmed (e.g. `server default`, `listen`, `Post-Auth-Type REJECT`). */
  header: string;
  /** Index of the first character of the header's line. */
  lineStart: number;
  /** Index of `{`. */
  open: number;
  /** Index of the matching `}`. */
  close: number;
}

function skipQuoted(text: string, i: number): number {
  const q = text[i];
  let j = i + 1;
  while (j < text.length && text[j] !== q) {
    if (text[j] === '\\') j++;
    if (text[j] === '\n') break; // unterminated: stop at the end of the line
    j++;
  }
  return j + 1;
}

function skipExpansion(text: string, i: number): number {
  // i is at `$` or `%`, followed by `{`; expansions nest.
  let depth = 0;
  let j = i + 1;
  while (j < text.length) {
    const c = text[j];
    if (c === '{') depth++;
    else if (c === '}') {
      depth--;
      if (depth === 0) return j + 1;
    } else if (c === '"' || c === "'" || c === '`') {
      j = skipQuoted(text, j);
      continue;
    } else if (c === '\n') return j;
    j++;
  }
  return j;
}

/** The blocks directly inside [from, to): nested blocks are not listed. */
export function blocksIn(text: string, from = 0, to = text.length): Block[] {
  const blocks: Block[] = [];
  let depth = 0;
  let lineStart = from;
  let headerLine = from;
  let open = -1;
  let i = from;
  while (i < to) {
    const c = text[i]!;
    if (c === '#') {
      while (i < to && text[i] !== '\n') i++;
      continue;
    }
    if (c === '"' || c === "'" || c === '`') {
      i = skipQuoted(text, i);
      continue;
    }
    if ((c === '$' || c === '%') && text[i + 1] === '{') {
      i = skipExpansion(text, i);
      continue;
    }
    if (c === '\n') {
      lineStart = i + 1;
    } else if (c === '{') {
      if (depth === 0) {
        open = i;
        headerLine = lineStart;
      }
      depth++;
    } else if (c === '}') {
      depth--;
      if (depth < 0) throw new Error(`unbalanced } at offset ${i}`);
      if (depth === 0) blocks.push({ header: text.slice(headerLine, open).trim(), lineStart: headerLine, open, close: i });
    }
    i++;
  }
  if (depth !== 0) throw new Error('unbalanced { in configuration');
  return blocks;
}

export function headerIs(block: Block, pattern: RegExp): boolean {
  return pattern.test(block.header.replace(/\s+/g, ' '));
}

export function findBlock(text: string, pattern: RegExp, inside?: Block): Block | undefined {
  const from = inside ? inside.open + 1 : 0;
  const to = inside ? inside.close : text.length;
  return blocksIn(text, from, to).find((b) => headerIs(b, pattern));
}

export function requireBlock(file: string, text: string, pattern: RegExp, inside?: Block): Block {
  const b = findBlock(text, pattern, inside);
  if (!b) throw configError(`${file}: no section matching ${pattern} found; is this a FreeRADIUS 3 configuration?`);
  return b;
}

/** End index (exclusive) of a block including the rest of its closing line. */
export function blockEnd(text: string, block: Block): number {
  const nl = text.indexOf('\n', block.close);
  return nl === -1 ? text.length : nl + 1;
}

/** Lines directly in a block (depth 1) that assign one of `keys`, as [start, end) ranges. */
export function assignmentsIn(text: string, block: Block, keys: readonly string[]): [number, number][] {
  const nested = blocksIn(text, block.open + 1, block.close);
  const inNested = (i: number) => nested.some((b) => i >= b.lineStart && i <= b.close);
  const out: [number, number][] = [];
  const re = new RegExp(`^[ \\t]*(?:${keys.map((k) => k.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|')})[ \\t]*=.*$`, 'gm');
  const body = text.slice(block.open + 1, block.close);
  for (const m of body.matchAll(re)) {
    const start = block.open + 1 + m.index;
    if (inNested(start)) continue;
    const end = start + m[0].length;
    out.push([start, text[end] === '\n' ? end + 1 : end]);
  }
  return out;
}

/** The source tree is not a FreeRADIUS 3 configuration this code recognises. */
export function configError(message: string): IspctlError {
  return new IspctlError('FREERADIUS_CONFIG', message, {
    suggestions: ['point sourceDir at a stock FreeRADIUS 3 configuration directory (the one holding radiusd.conf)'],
  });
}
