// The helpers for set-based SQL that runs the same on pg and PGlite. Lists travel as one array
// literal parameter (`= any(?::int[])`, `unnest(?::text[])`) and rows as one JSON parameter read
// with json_to_recordset, so a statement has a handful of parameters however many rows it
// carries (PostgreSQL allows 65,535 per statement, and knex expands a JavaScript array binding
// into one placeholder per element). Values read back are converted here too.

import type { Knex } from 'knex';

/** `{1,2,3}`: an array literal of integer ids for `?::int[]` / `?::bigint[]`. */
export function idArray(ids: Iterable<number | bigint>): string {
  const parts: string[] = [];
  for (const id of ids) {
    const s = String(id);
    if (!/^-?\d+$/.test(s)) throw new RangeError(`not an integer id: ${s}`);
    parts.push(s);
  }
  return `{${parts.join(',')}}`;
}

/** An array literal of integers or nulls for `?::int[]` / `?::bigint[]`: `{1,2,NULL}`. */
export function numArray(values: ReadonlyArray<number | bigint | null>): string {
  let out = '{';
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (i) out += ',';
    if (v === null || v === undefined) out += 'NULL';
    else {
      const s = String(v);
      if (!/^-?\d+$/.test(s)) throw new RangeError(`not an integer: ${s}`);
      out += s;
    }
  }
  return out + '}';
}

const NEEDS_ESCAPE = /["\\]/;

/** An array literal of text (every element quoted, or NULL) for `?::text[]`, `?::date[]`, `?::jsonb[]`. */
export function textArray(values: Iterable<string | null>): string {
  const parts: string[] = [];
  for (const v of values) {
    if (v === null || v === undefined) parts.push('NULL');
    else parts.push(NEEDS_ESCAPE.test(v) ? `"${v.replace(/["\\]/g, '\\$&')}"` : `"${v}"`);
  }
  return `{${parts.join(',')}}`;
}

/** JSON for json_to_recordset: bigints as strings (read back exactly by the column type). */
export function rowsJson(rows: readonly object[]): string {
  // Without a replacer when there is no bigint (V8's fast path: a replacer function is called
  // for every value, which costs more than the rest of a mass run's statement building).
  try {
    return JSON.stringify(rows);
  } catch (err) {
    if (!(err instanceof TypeError)) throw err;
    return JSON.stringify(rows, bigintAsString);
  }
}

function bigintAsString(_k: string, v: unknown): unknown {
  return typeof v === 'bigint' ? v.toString() : v;
}

export function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/** What the drivers hand back for a bigint or numeric column: int8 as bigint, numeric (sums) as a string. */
export type BigValue = bigint | string | number | null;

/** A bigint from a driver value (int8 arrives as bigint, sums of int8 as numeric strings; null as 0). */
export function big(v: BigValue | undefined | unknown): bigint {
  if (typeof v === 'bigint') return v;
  if (v === null || v === undefined) return 0n;
  if (typeof v === 'number' || typeof v === 'string') return BigInt(v);
  throw new TypeError(`not an integer amount: ${typeof v}`);
}

/** An id column (int or bigint) as a number. */
export function id(v: bigint | number | string): number {
  return Number(v);
}

/** A date column as `YYYY-MM-DD` (dates arrive as strings; be safe with Dates). */
export function dateString(v: string | Date | unknown): string {
  if (v instanceof Date) return v.toISOString().slice(0, 10);
  return String(v);
}

/**
 * The rows of one raw statement, read as the caller's row interface (the drivers hand rows
 * back untyped; the interface says what the statement selects, and the caller maps it once).
 */
export async function rowsOf<T>(db: Knex | Knex.Transaction, sql: string, bindings: readonly Knex.RawBinding[] = []): Promise<T[]> {
  const res: { rows: T[] } = await db.raw(sql, bindings as Knex.RawBinding[]);
  return res.rows;
}

/** Subscribers by id range, (after, upTo]: a chunk of a billing run, without a list of its ids. */
export interface SubscriberRange {
  after: number;
  upTo: number;
}

/** `col` in the list or in the range, as SQL and bindings. */
export function subscriberScope(col: string, ids: readonly number[], range: SubscriberRange | undefined): { sql: string; bindings: Array<string | number> } {
  if (!range) return { sql: `${col} = any(?::int[])`, bindings: [idArray(ids)] };
  if (ids.length === 0) return { sql: `(${col} > ? and ${col} <= ?)`, bindings: [range.after, range.upTo] };
  return { sql: `(${col} = any(?::int[]) or (${col} > ? and ${col} <= ?))`, bindings: [idArray(ids), range.after, range.upTo] };
}
