// Helpers for set-based statements that run the same on pg and PGlite: id lists travel as one
// array literal (`= any(?::int[])`) and rows as one JSON parameter (json_to_recordset), because
// knex expands a JavaScript array binding into one placeholder per element.

/** `{1,2,3}` for `?::int[]`. */
export function intArray(ids: Iterable<number>): string {
  const parts: string[] = [];
  for (const id of ids) {
    if (!Number.isSafeInteger(id)) throw new RangeError(`not an integer id: ${String(id)}`);
    parts.push(String(id));
  }
  return `{${parts.join(',')}}`;
}

/** `{"a","b"}` for `?::text[]`. */
export function textArray(values: Iterable<string>): string {
  return `{${[...values].map((v) => `"${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`).join(',')}}`;
}

/** JSON for json_to_recordset, bigints as strings. */
export function rowsJson(rows: readonly object[]): string {
  return JSON.stringify(rows, (_k, v) => (typeof v === 'bigint' ? v.toString() : v));
}

export function chunked<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/** A bigint from a driver value (int8 arrives as bigint; sums as numeric strings). */
export function toBig(v: unknown): bigint {
  if (typeof v === 'bigint') return v;
  if (v === null || v === undefined) return 0n;
  if (typeof v === 'number') return BigInt(v);
  return BigInt(String(v));
}
