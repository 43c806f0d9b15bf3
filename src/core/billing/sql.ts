// Small helpers for set-based SQL that runs the same on pg and PGlite. Lists of ids travel as
// one array literal parameter (`= any(?::int[])`), rows as one JSON parameter read with
// json_to_recordset, so a statement has a handful of parameters however many rows it carries
// (PostgreSQL allows 65,535 per statement; knex would expand a JS array into one each).

/** `{1,2,3}`: an array literal for `?::int[]` / `?::bigint[]`. */
export function idArray(ids: Iterable<number | bigint>): string {
  const parts: string[] = [];
  for (const id of ids) {
    const s = String(id);
    if (!/^-?\d+$/.test(s)) throw new RangeError(`not an integer id: ${s}`);
    parts.push(s);
  }
  return `{${parts.join(',')}}`;
}

/** JSON for json_to_recordset: bigints as strings (read back exactly by the column type). */
export function rowsJson(rows: readonly object[]): string {
  return JSON.stringify(rows, (_k, v) => (typeof v === 'bigint' ? v.toString() : v));
}

export function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/** A bigint from a driver value (int8 arrives as bigint, sums of int8 as numeric strings). */
export function big(v: unknown): bigint {
  if (typeof v === 'bigint') return v;
  if (v === null || v === undefined) return 0n;
  if (typeof v === 'number') return BigInt(v);
  return BigInt(String(v));
}

/** A date column or expression as `YYYY-MM-DD` (dates arrive as strings; be safe with Dates). */
export function dateString(v: unknown): string {
  if (v instanceof Date) return v.toISOString().slice(0, 10);
  return String(v);
}

/** A PostgreSQL array literal of integers (or nulls) for `?::int[]` / `?::bigint[]`: `{1,2,NULL}`. */
export function numArray(values: ReadonlyArray<number | bigint | null>): string {
  let out = '{';
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (i) out += ',';
    out += v === null || v === undefined ? 'NULL' : String(v);
  }
  return out + '}';
}

const NEEDS_ESCAPE = /["\\]/;

/** A PostgreSQL array literal of text (every element quoted, or NULL) for `?::text[]`, `?::date[]`, `?::jsonb[]`. */
export function textArray(values: ReadonlyArray<string | null>): string {
  const parts = new Array<string>(values.length);
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (v === null || v === undefined) parts[i] = 'NULL';
    else parts[i] = NEEDS_ESCAPE.test(v) ? `"${v.replace(/["\\]/g, '\\$&')}"` : `"${v}"`;
  }
  return `{${parts.join(',')}}`;
}
