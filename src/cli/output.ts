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

/** JSON with bigint as a number when safe, else a string, and Dates as ISO strings. */
export function toJson(value: unknown, pretty = true): string {
  return JSON.stringify(
    value,
    (_k, v) => {
      if (typeof v === 'bigint') {
        const n = Number(v);
        return Number.isSafeInteger(n) ? n : v.toString();
      }
      return v;
    },
    pretty ? 2 : undefined,
  );
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
