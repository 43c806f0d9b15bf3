// Invoice numbers: the next values of a counter row (invoice_number_counters, never max(id)+1)
// written in the format the ISP chose, e.g. `INV-{YYYY}-{SEQ:6}` → `INV-2026-000123`. The counter
// never resets, so numbers stay unique across years and format changes keep them increasing, and
// it advances inside the transaction that commits the invoices, so the series has no gaps.
import type { Knex } from 'knex';
import { invalid } from '../errors.js';
import { rowsOf } from '../db/sql.js';

export const DEFAULT_INVOICE_NUMBER_FORMAT = 'INV-{YYYY}-{SEQ:6}';

export type NumberPart = { kind: 'text'; text: string } | { kind: 'year4' } | { kind: 'year2' } | { kind: 'month' } | { kind: 'seq'; width: number };

const TOKEN = /\{([A-Z]+)(?::(\d+))?\}/g;
const LITERAL = /^[A-Za-z0-9._\/#-]*$/;

function bad(format: string, why: string): never {
  throw invalid('INVALID_INVOICE_NUMBER_FORMAT', `Invoice number format ${JSON.stringify(format)} ${why}.`, [
    `Use text (letters, digits, . _ / # -) with {SEQ} or {SEQ:n} (the sequence, zero-padded to n digits) and optionally {YYYY}, {YY}, {MM} (issue date), e.g. ${DEFAULT_INVOICE_NUMBER_FORMAT}`,
  ]);
}

/**
 * Parses an invoice number format. Tokens: `{SEQ}` or `{SEQ:n}` (required, once; padded with
 * zeros to n digits, never truncated), `{YYYY}`, `{YY}`, `{MM}` of the issue date. Literal text:
 * letters, digits and `. _ / # -`.
 * @throws IspctlError INVALID_INVOICE_NUMBER_FORMAT
 */
export function parseInvoiceNumberFormat(format: string): NumberPart[] {
  if (typeof format !== 'string' || format.trim() === '') bad(String(format), 'is empty');
  if (format.length > 64) bad(format, 'is longer than 64 characters');
  const parts: NumberPart[] = [];
  let last = 0;
  let seqs = 0;
  const literal = (text: string) => {
    if (text === '') return;
    if (!LITERAL.test(text)) bad(format, `contains ${JSON.stringify(text)}, which is neither a token nor plain text`);
    parts.push({ kind: 'text', text });
  };
  for (const m of format.matchAll(TOKEN)) {
    literal(format.slice(last, m.index));
    last = m.index! + m[0].length;
    const [, name, width] = m;
    if (name === 'SEQ') {
      const w = width === undefined ? 1 : Number(width);
      if (!Number.isInteger(w) || w < 1 || w > 12) bad(format, `pads {SEQ} to ${width} digits; use 1 to 12`);
      parts.push({ kind: 'seq', width: w });
      seqs++;
    } else if (width !== undefined) {
      bad(format, `gives a width to {${name}}; only {SEQ:n} takes one`);
    } else if (name === 'YYYY') parts.push({ kind: 'year4' });
    else if (name === 'YY') parts.push({ kind: 'year2' });
    else if (name === 'MM') parts.push({ kind: 'month' });
    else bad(format, `uses an unknown token {${name}}`);
  }
  literal(format.slice(last));
  if (seqs !== 1) bad(format, seqs === 0 ? 'has no {SEQ}, so numbers would repeat' : 'has {SEQ} more than once');
  return parts;
}

/** Checks a format and returns it trimmed (used by the invoice-number-format setting). */
export function validateInvoiceNumberFormat(format: string): string {
  const f = String(format).trim();
  parseInvoiceNumberFormat(f);
  return f;
}

/** Formats one number: `formatInvoiceNumber('INV-{YYYY}-{SEQ:6}', 123n, '2026-11-01')` → `INV-2026-000123`. */
export function formatInvoiceNumber(format: string | NumberPart[], seq: bigint | number, issueDate: string): string {
  return invoiceNumberFormatter(format, issueDate)(seq);
}

/** A formatter for many numbers issued on the same date (the date parts are worked out once). */
export function invoiceNumberFormatter(format: string | NumberPart[], issueDate: string): (seq: bigint | number) => string {
  const parts = typeof format === 'string' ? parseInvoiceNumberFormat(format) : format;
  const m = /^(\d{4})-(\d{2})-\d{2}$/.exec(issueDate);
  if (!m) throw new RangeError(`issue date must be YYYY-MM-DD, got ${issueDate}`);
  const fixed = parts.map((p) => (p.kind === 'text' ? p.text : p.kind === 'year4' ? m[1]! : p.kind === 'year2' ? m[1]!.slice(2) : p.kind === 'month' ? m[2]! : null));
  return (seq) => {
    const n = BigInt(seq);
    if (n < 1n) throw new RangeError(`invoice sequence values start at 1, got ${n}`);
    let out = '';
    for (let i = 0; i < parts.length; i++) {
      const f = fixed[i];
      out += f ?? n.toString().padStart((parts[i] as { width: number }).width, '0');
    }
    return out;
  };
}

/**
 * Draws `count` consecutive numbers of a series (`invoice` for invoices) inside the caller's
 * transaction: the counter row stays locked until that transaction ends, so concurrent runs
 * take turns, and a rollback or a crash gives the numbers back. Returns them in order.
 */
export async function drawNumbers(trx: Knex.Transaction, count: number, series = 'invoice'): Promise<bigint[]> {
  if (count <= 0) return [];
  const r = await rowsOf<{ last_value: unknown }>(
    trx,
    `insert into invoice_number_counters as c (series, last_value) values (?, ?::bigint)
     on conflict (series) do update set last_value = c.last_value + excluded.last_value, updated_at = now()
     returning last_value`,
    [series, count],
  );
  const last = BigInt(String(r[0]!.last_value));
  return Array.from({ length: count }, (_, i) => last - BigInt(count - 1 - i));
}

/**
 * The same format as text around the sequence, for SQL that numbers invoices itself:
 * `prefix || lpad(seq::text, greatest(width, length(seq::text)), '0') || suffix` gives what
 * invoiceNumberFormatter gives (padded, never truncated).
 */
export function invoiceNumberPieces(format: string | NumberPart[], issueDate: string): { prefix: string; width: number; suffix: string } {
  const parts = typeof format === 'string' ? parseInvoiceNumberFormat(format) : format;
  const probe = invoiceNumberFormatter(parts, issueDate);
  const at = parts.findIndex((p) => p.kind === 'seq');
  const seq = parts[at] as { kind: 'seq'; width: number };
  const fixed = (ps: NumberPart[]) => ps.map((p) => (p.kind === 'seq' ? '' : invoiceNumberFormatter([p, { kind: 'seq', width: 1 }], issueDate)(1).slice(0, -1))).join('');
  const pieces = { prefix: fixed(parts.slice(0, at)), width: seq.width, suffix: fixed(parts.slice(at + 1)) };
  // The pieces put together must be the formatter's number (checked once per run, cheaply).
  if (probe(7n) !== `${pieces.prefix}${'7'.padStart(pieces.width, '0')}${pieces.suffix}`) throw new Error('invoice number pieces disagree with the formatter');
  return pieces;
}
