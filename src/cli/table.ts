// The one table module every list command renders through: columns that fit the terminal
// (values are cut with … and never wrapped), --columns to choose and order them, --sort, --csv
// and --no-truncate.
//
// CSV (RFC 4180, CRLF, a header row of the column keys): values are the data, not the
// decoration. No colour, no truncation, no padding; money as a plain decimal in the currency's
// major unit (`1170.00`: spreadsheets add it up; the currency is the ISP's one currency); times
// as ISO 8601 on the ISP's clock with the offset (`2026-12-02T09:05:00+08:00`); dates as
// YYYY-MM-DD; speeds, states and other text in the human units the table shows (`50M`).
import { Flags } from '@oclif/core';
import type { ChalkInstance } from 'chalk';
import { stripVTControlCharacters } from 'node:util';
import { toCsv } from '../core/csv.js';
import { invalid } from '../core/errors.js';

export type CellValue = string | number | bigint | Date | null | undefined;

export interface Column<T> {
  header: string;
  /** The name --columns, --sort and the CSV header use; default: the header in snake_case. */
  key?: string;
  /** What the table shows (may be coloured). */
  get: (row: T) => unknown;
  /** The value for CSV (default: what the table shows, without colour). */
  raw?: (row: T) => CellValue;
  /** What --sort compares (default: raw, else what the table shows). */
  sortBy?: (row: T) => CellValue;
  align?: 'left' | 'right';
  /** Cut this column before others when the terminal is narrow (default: left-aligned text wider than 10). */
  shrink?: boolean;
  /**
   * Left out of the table (never of CSV) when the table does not fit the terminal whole;
   * --columns or --no-truncate shows it.
   */
  optional?: boolean;
}

export interface TableOptions {
  /** Terminal width; Infinity with --no-truncate. */
  width: number;
  chalk: ChalkInstance;
}

export interface ListOptions {
  columns?: string;
  sort?: string;
  desc?: boolean;
}

/** The flags every list command takes. */
export const listFlags = {
  columns: Flags.string({ summary: 'Only these columns, in this order (comma-separated column names, e.g. account,name).', helpGroup: 'LIST' }),
  sort: Flags.string({ summary: 'Sort by this column; -column (e.g. --sort=-amount) or --desc for descending.', helpGroup: 'LIST' }),
  desc: Flags.boolean({ summary: 'With --sort: descending.', helpGroup: 'LIST' }),
  csv: Flags.boolean({ summary: 'Print CSV (RFC 4180, header row, unformatted values) instead of a table.', exclusive: ['json'], helpGroup: 'LIST' }),
  truncate: Flags.boolean({ summary: 'Cut values to fit the terminal (default); --no-truncate prints them whole.', allowNo: true, default: true, helpGroup: 'LIST' }),
};

/** The width tables fit: the terminal's columns, 80 when stdout is not a terminal, unlimited with --no-truncate. */
export function tableWidth(truncate: boolean, stream: { isTTY?: boolean; columns?: number } = process.stdout): number {
  if (!truncate) return Infinity;
  return stream.isTTY && stream.columns && stream.columns > 0 ? stream.columns : 80;
}

export function columnKey<T>(c: Column<T>): string {
  return c.key ?? normaliseKey(c.header);
}

function normaliseKey(s: string): string {
  return s
    .trim()
    .toLowerCase()
    .replace(/\(.*?\)/g, '')
    .trim()
    .replace(/[^a-z0-9]+/g, '_')
    .replace(/^_|_$/g, '');
}

/** The columns --columns names, in its order; an unknown name is an error listing the valid ones. */
export function selectColumns<T>(columns: Column<T>[], spec: string | undefined): Column<T>[] {
  if (spec === undefined || spec.trim() === '') return columns;
  const byKey = new Map(columns.map((c) => [normaliseKey(columnKey(c)), c]));
  const names = spec.split(',').map((s) => s.trim()).filter(Boolean);
  const unknown = names.filter((n) => !byKey.has(normaliseKey(n)));
  if (unknown.length) throw unknownColumn('--columns', unknown, columns);
  return names.map((n) => byKey.get(normaliseKey(n))!);
}

function unknownColumn<T>(flag: string, names: string[], columns: Column<T>[]) {
  const valid = columns.map(columnKey);
  return invalid(
    'UNKNOWN_COLUMN',
    `${flag}: ${names.map((n) => JSON.stringify(n)).join(', ')} ${names.length === 1 ? 'is not a column' : 'are not columns'} of this list; the columns are ${valid.join(', ')}.`,
    [`${flag} ${valid.slice(0, 3).join(flag === '--columns' ? ',' : ' or ')}`],
    { columns: valid },
  );
}

/** Sorts by `--sort col`, `--sort -col` or `--sort col --desc` (stable; empty values last). */
export function sortRows<T>(rows: T[], columns: Column<T>[], sort: string | undefined, desc = false): T[] {
  if (sort === undefined || sort.trim() === '') return rows;
  let name = sort.trim();
  let descending = desc;
  if (name.startsWith('-')) {
    descending = true;
    name = name.slice(1);
  } else if (name.startsWith('+')) name = name.slice(1);
  const col = columns.find((c) => normaliseKey(columnKey(c)) === normaliseKey(name));
  if (!col) throw unknownColumn('--sort', [name], columns);
  const key = (r: T): CellValue => (col.sortBy ?? col.raw ?? ((x: T) => plain(col.get(x))))(r);
  const keyed = rows.map((r, i) => ({ r, i, k: key(r) }));
  keyed.sort((a, b) => {
    const ea = isEmpty(a.k);
    const eb = isEmpty(b.k);
    if (ea || eb) return ea === eb ? a.i - b.i : ea ? 1 : -1;
    const c = compare(a.k, b.k);
    return (descending ? -c : c) || a.i - b.i;
  });
  return keyed.map((x) => x.r);
}

function isEmpty(v: CellValue): boolean {
  return v === null || v === undefined || v === '';
}

const collator = new Intl.Collator('en', { numeric: true, sensitivity: 'base' });

function compare(a: CellValue, b: CellValue): number {
  if (typeof a === 'bigint' || typeof b === 'bigint' || (typeof a === 'number' && typeof b === 'number')) {
    try {
      const x = BigInt(typeof a === 'number' ? Math.trunc(a) : (a as bigint));
      const y = BigInt(typeof b === 'number' ? Math.trunc(b) : (b as bigint));
      if (typeof a === 'number' && typeof b === 'number') return a - b;
      return x < y ? -1 : x > y ? 1 : 0;
    } catch {
      /* fall through to text */
    }
  }
  if (a instanceof Date && b instanceof Date) return a.getTime() - b.getTime();
  return collator.compare(String(a), String(b));
}

/** A value as text without colour and without line breaks (a value never wraps). */
function plain(v: unknown): string {
  return oneLine(stripVTControlCharacters(display(v)));
}

function display(v: unknown): string {
  if (v === null || v === undefined) return '';
  if (v instanceof Date) return v.toISOString();
  return String(v);
}

function oneLine(s: string): string {
  return s.replace(/\r\n|[\r\n\t\v\f]/g, ' ');
}

// Width without Intl.Segmenter for the usual text: creating a grapheme segmenter loads ICU's
// break rules (about 50 ms of a command's start-up), so it is made only for text that needs it.
let segmenter: Intl.Segmenter | undefined;
const graphemes = (s: string) => (segmenter ??= new Intl.Segmenter('en', { granularity: 'grapheme' })).segment(s);
/** Escape sequences (colour and other CSI codes): no width, kept whole when a value is cut. */
const ESCAPES = /\u001b\[[0-?]*[ -/]*[@-~]/g;

/**
 * A UTF-16 unit that is one column wide and one grapheme by itself, whatever is around it:
 * printable ASCII, Latin-1 and Latin Extended (not © and ®, which are emoji), dashes, quotes,
 * bullets and …, currency signs (₱) and the plain arrows.
 */
function simpleUnit(c: number): boolean {
  return (
    (c >= 0x20 && c < 0x7f) ||
    (c >= 0xa0 && c < 0x300 && c !== 0xa9 && c !== 0xae) ||
    (c >= 0x2010 && c <= 0x2027) ||
    (c >= 0x2030 && c <= 0x203b) ||
    (c >= 0x20a0 && c <= 0x20bf) ||
    (c >= 0x2190 && c <= 0x2193)
  );
}

function allSimple(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (!simpleUnit(s.charCodeAt(i))) return false;
  return true;
}

/** Columns one grapheme takes: none for controls and combining marks, two for wide (CJK, emoji) ones. */
function graphemeWidth(segment: string): number {
  const cp = segment.codePointAt(0)!;
  if (cp < 0x20 || (cp >= 0x7f && cp < 0xa0) || (cp >= 0x300 && cp < 0x370) || cp === 0x200b) return 0;
  return isWide(cp) || /\p{Extended_Pictographic}/u.test(segment) ? 2 : 1;
}

/** Columns a string takes on a terminal: colour codes take none, wide (CJK, emoji) characters two. */
export function visibleWidth(s: string): number {
  const text = s.includes('\u001b') ? stripVTControlCharacters(s) : s;
  if (allSimple(text)) return text.length;
  let w = 0;
  for (const { segment } of graphemes(text)) w += graphemeWidth(segment);
  return w;
}

function isWide(cp: number): boolean {
  return (
    (cp >= 0x1100 && cp <= 0x115f) ||
    (cp >= 0x2e80 && cp <= 0xa4cf && cp !== 0x303f) ||
    (cp >= 0xac00 && cp <= 0xd7a3) ||
    (cp >= 0xf900 && cp <= 0xfaff) ||
    (cp >= 0xfe30 && cp <= 0xfe4f) ||
    (cp >= 0xff00 && cp <= 0xff60) ||
    (cp >= 0xffe0 && cp <= 0xffe6) ||
    (cp >= 0x20000 && cp <= 0x3fffd)
  );
}

const GAP = 2;

/**
 * Column widths that fit `width`: when the natural widths do not fit, the widest columns that may
 * shrink are cut first (down to a few characters), then the others; a column never gets wider
 * than its widest value.
 */
export function fitWidths(natural: number[], shrinkable: boolean[], width: number): number[] {
  const widths = [...natural];
  const available = width - GAP * Math.max(0, natural.length - 1);
  const total = () => widths.reduce((a, b) => a + b, 0);
  if (!Number.isFinite(width) || total() <= available) return widths;
  let excess = total() - available;
  const schedule: Array<[boolean | undefined, number]> = [
    [true, 6],
    [false, 4],
    [undefined, 1],
  ];
  for (const [pass, floor] of schedule) {
    // Take one column at a time from the widest of the chosen columns until the table fits.
    const idx = widths.map((_, i) => i).filter((i) => pass === undefined || shrinkable[i] === pass);
    while (excess > 0) {
      let widest = -1;
      for (const i of idx) if (widths[i]! > Math.min(floor, natural[i]!) && (widest < 0 || widths[i]! > widths[widest]!)) widest = i;
      if (widest < 0) break;
      widths[widest]!--;
      excess--;
    }
    if (excess <= 0) break;
  }
  return widths;
}

/**
 * `s` cut to `w` columns with … at the end. Escape sequences are all kept (those after the cut
 * too), so a colour opened before the cut is closed after it.
 */
export function truncateTo(s: string, w: number): string {
  if (visibleWidth(s) <= w) return s;
  if (w <= 0) return '';
  let out = '';
  let room = w - 1; // … takes the last column
  let cut = false;
  let last = 0;
  const text = (t: string) => {
    if (cut) return;
    const parts = allSimple(t) ? t : Array.from(graphemes(t), (g) => g.segment);
    for (const g of parts) {
      const gw = g.length === 1 && simpleUnit(g.charCodeAt(0)) ? 1 : graphemeWidth(g);
      if (gw > room) {
        out += '…';
        cut = true;
        return;
      }
      out += g;
      room -= gw;
    }
  };
  for (const m of s.matchAll(ESCAPES)) {
    text(s.slice(last, m.index));
    out += m[0];
    last = m.index + m[0].length;
  }
  text(s.slice(last));
  return cut ? out : out + '…';
}

function pad(s: string, w: number, align: 'left' | 'right'): string {
  const fill = ' '.repeat(Math.max(0, w - visibleWidth(s)));
  return align === 'right' ? fill + s : s + fill;
}

/**
 * A borderless table with a header row that fits `opts.width`. Optional columns are left out
 * (last first) while the table does not fit whole; then free text is cut (down to 6 characters),
 * and only then the other columns.
 */
export function renderTable<T>(rows: T[], allColumns: Column<T>[], opts: TableOptions & { explicit?: boolean }): string {
  const allCells = rows.map((r) => allColumns.map((c) => oneLine(display(c.get(r)))));
  const allNatural = allColumns.map((c, i) => Math.max(visibleWidth(c.header), ...allCells.map((row) => visibleWidth(row[i]!))));
  const shrinkable = allColumns.map((c, i) => c.shrink ?? ((c.align ?? 'left') === 'left' && allNatural[i]! > 10));
  let keep = allColumns.map((_, i) => i);
  const fits = (idx: number[]) => idx.reduce((a, i) => a + allNatural[i]!, 0) + GAP * (idx.length - 1) <= opts.width;
  if (!opts.explicit) {
    const optional = keep.filter((i) => allColumns[i]!.optional).reverse();
    for (const drop of optional) {
      if (fits(keep)) break;
      keep = keep.filter((i) => i !== drop);
    }
  }
  const columns = keep.map((i) => allColumns[i]!);
  const cells = allCells.map((row) => keep.map((i) => row[i]!));
  const widths = fitWidths(keep.map((i) => allNatural[i]!), keep.map((i) => shrinkable[i]!), opts.width);
  const line = (values: string[], style?: (s: string) => string) =>
    values
      .map((v, i) => {
        const t = truncateTo(v, widths[i]!);
        return pad(style ? style(t) : t, widths[i]!, columns[i]!.align ?? 'left');
      })
      .join(' '.repeat(GAP))
      .trimEnd();
  return [line(columns.map((c) => c.header), (s) => opts.chalk.bold(s)), ...cells.map((row) => line(row))].join('\n');
}

/** CSV of the rows: the column keys as the header row (unless `header` is false), then each column's raw value. */
export function renderCsv<T>(rows: T[], columns: Column<T>[], header = true): string {
  return toCsv(
    header ? columns.map(columnKey) : null,
    rows.map((r) =>
      columns.map((c) => {
        const v = c.raw ? c.raw(r) : plain(c.get(r));
        if (v === null || v === undefined) return '';
        if (v instanceof Date) return v.toISOString();
        return v;
      }),
    ),
  );
}
