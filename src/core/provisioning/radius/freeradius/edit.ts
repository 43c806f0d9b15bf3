// Changes to FreeRADIUS configuration text at the positions parse.ts finds: items set or
// commented out in a section, sections removed or prepended to. Every line ispctl writes
// carries MARK so a person reading the file sees what was changed.
import { assignmentsIn, blockEnd, blocksIn, configError, headerIs, type Block } from './parse.js';

export const MARK = '# Written by ispctl.';

/** Rename a section: its header (e.g. `sql`) becomes `header` (e.g. `sql sql_authorize`). */
export function renameBlock(text: string, block: Block, header: string): string {
  const at = text.indexOf(block.header, block.lineStart);
  if (at === -1 || at > block.open) throw configError(`cannot find the header of section ${block.header}`);
  return text.slice(0, at) + header + text.slice(at + block.header.length);
}

/**
 * Replace the line that calls `module` (as `module` or `-module`) directly in a block by
 * `lines`. Throws when the block does not call it.
 */
export function replaceModuleCall(file: string, text: string, block: Block, module: string, lines: string): string {
  const nested = blocksIn(text, block.open + 1, block.close);
  const re = new RegExp(`^[ \\t]*-?${module}[ \\t]*(?:#.*)?(?:\\r?\\n|$)`, 'gm');
  const body = text.slice(block.open + 1, block.close);
  for (const m of body.matchAll(re)) {
    const start = block.open + 1 + m.index;
    if (nested.some((b) => start >= b.lineStart && start <= b.close)) continue;
    return text.slice(0, start) + lines + text.slice(start + m[0].length);
  }
  throw configError(`${file}: section ${block.header} does not call ${module}; is this a stock FreeRADIUS 3 configuration?`);
}

export function removeBlock(text: string, block: Block): string {
  return text.slice(0, block.lineStart) + text.slice(blockEnd(text, block));
}

export function insertAfterOpen(text: string, block: Block, lines: string): string {
  const nl = text.indexOf('\n', block.open);
  const at = nl === -1 ? block.open + 1 : nl + 1;
  return text.slice(0, at) + lines + text.slice(at);
}

/** Remove every block (at any depth) whose header matches. */
export function removeBlocksDeep(text: string, pattern: RegExp, from = 0, to = text.length): string {
  const blocks = blocksIn(text, from, to);
  for (let k = blocks.length - 1; k >= 0; k--) {
    const b = blocks[k]!;
    if (headerIs(b, pattern)) text = removeBlock(text, b);
    else text = removeBlocksDeep(text, pattern, b.open + 1, b.close);
  }
  return text;
}

/** Replace the assignments of `values`' keys directly in a block by the given ones. */
export function setItems(text: string, block: Block, values: Record<string, string>, indent: string): string {
  const keys = Object.keys(values);
  const ranges = assignmentsIn(text, block, keys);
  for (let k = ranges.length - 1; k >= 0; k--) {
    const [s, e] = ranges[k]!;
    text = text.slice(0, s) + text.slice(e);
  }
  const b = { ...block, close: block.close - ranges.reduce((n, [s, e]) => n + (e - s), 0) };
  const lines = keys.map((k) => `${indent}${k} = ${values[k]}\n`).join('');
  return insertAfterOpen(text, b, `${indent}${MARK}\n${lines}`);
}

/** Comment out top-level-in-block assignments of `keys`. */
export function commentItems(text: string, block: Block, keys: readonly string[]): string {
  const ranges = assignmentsIn(text, block, keys);
  for (let k = ranges.length - 1; k >= 0; k--) {
    const [s] = ranges[k]!;
    text = `${text.slice(0, s)}#  (commented out by ispctl) ${text.slice(s).replace(/^[ \t]*/, '')}`;
  }
  return text;
}

/** Replace a top-level `key = value` line (outside any section). */
export function setTopLevel(file: string, text: string, key: string, value: string): string {
  const blocks = blocksIn(text);
  const re = new RegExp(`^${key}[ \\t]*=.*$`, 'gm');
  for (const m of text.matchAll(re)) {
    if (blocks.some((b) => m.index > b.lineStart && m.index < b.close)) continue;
    return `${text.slice(0, m.index)}${key} = ${value}\t${MARK}${text.slice(m.index + m[0].length)}`;
  }
  throw configError(`${file}: no top-level "${key} =" found; is this a FreeRADIUS 3 configuration?`);
}

export function removeEapCalls(text: string): string {
  text = removeBlocksDeep(text, /^-?eap$/);
  return text.replace(/^[ \t]*-?eap[ \t]*(?:#.*)?\r?\n/gm, '');
}
