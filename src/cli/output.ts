// Output helpers: colour that respects NO_COLOR and non-TTY stdout, key/value details (tables: table.ts),
// and JSON that survives bigint.
import { Chalk, supportsColor, type ChalkInstance } from 'chalk';

export function colourEnabled(stream: NodeJS.WriteStream = process.stdout, env = process.env): boolean {
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return false;
  if (env.FORCE_COLOR !== undefined && env.FORCE_COLOR !== '0') return true;
  return Boolean(stream.isTTY) && Boolean(supportsColor);
}

export function makeChalk(enabled: boolean): ChalkInstance {
  return new Chalk({ level: enabled ? (supportsColor ? supportsColor.level : 1) || 1 : 0 });
}

/** A bigint as a number when safe, else a string. */
function bigintJson(_k: string, v: unknown): unknown {
  if (typeof v === 'bigint') {
    const n = Number(v);
    return Number.isSafeInteger(n) ? n : v.toString();
  }
  return v;
}

/** JSON with bigint as a number when safe, else a string, and Dates as ISO strings. */
export function toJson(value: unknown, pretty = true): string {
  const space = pretty ? 2 : undefined;
  // Without a replacer JSON.stringify takes V8's fast path: the result of a mass run is tens of
  // thousands of values, and a replacer called for each of them took several times as long in
  // a command's cold process. Only a value holding a bigint (which JSON.stringify refuses, as it
  // refuses a cycle) goes through the replacer.
  try {
    return JSON.stringify(value, null, space);
  } catch (err) {
    if (!(err instanceof TypeError)) throw err;
  }
  return JSON.stringify(value, bigintJson, space);
}

/**
 * The `--json` envelope of a list written a page at a time (`{"ok": true, "status": 0, "data":
 * [...]}`, warnings after the data), the same text as toJson of the whole envelope: `head`, then
 * `page(rows)` for each page, then `tail(warnings)`.
 */
export function jsonListWriter(): { head: string; page(rows: readonly unknown[]): string; tail(warnings: readonly unknown[]): string } {
  let n = 0;
  return {
    head: '{\n  "ok": true,\n  "status": 0,\n  "data": [',
    page(rows) {
      if (!rows.length) return '';
      // The page as toJson prints an array ("[\n  {…},\n  {…}\n]") without its brackets, one
      // level deeper: its rows as they stand inside the envelope.
      const inner = toJson(rows).slice(2, -2);
      const text = `${n === 0 ? '\n' : ',\n'}  ${inner.replace(/\n/g, '\n  ')}`;
      n += rows.length;
      return text;
    },
    tail(warnings) {
      return `${n ? '\n  ]' : ']'}${warnings.length ? `,\n  "warnings": ${toJson(warnings).replace(/\n/g, '\n  ')}` : ''}\n}\n`;
    },
  };
}

function cell(v: unknown): string {
  if (v === null || v === undefined) return '';
  if (v instanceof Date) return v.toISOString();
  return String(v);
}

/** Key/value lines for show commands. */
export function renderDetails(pairs: Array<[string, unknown]>, chalk: ChalkInstance): string {
  const width = Math.max(0, ...pairs.map(([k]) => k.length));
  return pairs.map(([k, v]) => `${chalk.dim(k.padEnd(width))}  ${cell(v)}`).join('\n');
}
