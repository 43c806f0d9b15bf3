// Statement imports: the CSV a GCash account or a bank exports, read whole and checked before
// anything is written, each row matched to a subscriber by an account number column or by an
// account or invoice number inside its reference or description, and recorded as payments in
// one transaction with one rebalance for everyone it touched. Idempotent by method and
// reference (the payments' unique key): importing the same file twice pays nothing the second
// time. A file that is not well formed (broken quoting, an amount or a date that does not read
// strictly, a missing column) changes nothing and the error names the line.
//
// The CSV itself is read by csv-parse (quoting, embedded line breaks, byte order marks and line
// numbers of real exports are its job); what the columns mean is decided here.
import { reporter, type OnProgress } from '../progress.js';
import { createHash } from 'node:crypto';
import { parse } from 'csv-parse/sync';
import { recordAuditMany } from '../subscribers/audit-many.js';
import { loadBillingSettings } from '../billing/settings.js';
import type { ServiceContext } from '../context.js';
import { withTransaction, type Db } from '../db/tx.js';
import type { SubscriberRow } from '../db/rows.js';
import { rowsJson, rowsOf, textArray } from '../db/sql.js';
import { invalid, isIspctlError } from '../errors.js';
import { collectionsOutcome, rebalance } from '../ledger/rebalance.js';
import { paymentRef } from '../ledger/statement.js';
import { parseMoney } from '../money.js';
import { parseMethod, type PaymentMethod } from '../payments/service.js';
import { formatLocalDate, formatLocalDateTime, toLocalDate, zonedDateTimeToInstant } from '../time.js';

export interface StatementColumns {
  amount: string;
  reference: string;
  date?: string;
  account?: string;
  description?: string;
}

export interface StatementPreset {
  name: string;
  summary: string;
  method: PaymentMethod;
  columns: StatementColumns;
  /** Date formats tried in order (see parseDateFormat). */
  dateFormats: string[];
}

/**
 * GCash's transaction history export (Date and Time, Description, Reference No., Debit, Credit,
 * Balance): money in is the Credit column. The generic bank CSV: Date, Description, Reference,
 * Amount (money in positive). Any column can be renamed with the mapping flags.
 */
export const STATEMENT_PRESETS: Record<string, StatementPreset> = {
  gcash: {
    name: 'gcash',
    summary: 'GCash transaction history: Date and Time, Description, Reference No., Debit, Credit, Balance',
    method: 'gcash',
    columns: { date: 'Date and Time', description: 'Description', reference: 'Reference No.', amount: 'Credit' },
    dateFormats: ['YYYY-MM-DD hh:mm A', 'YYYY-MM-DD HH:mm', 'YYYY-MM-DD HH:mm:ss'],
  },
  bank: {
    name: 'bank',
    summary: 'Generic bank CSV: Date, Description, Reference, Amount',
    method: 'bank',
    columns: { date: 'Date', description: 'Description', reference: 'Reference', amount: 'Amount' },
    dateFormats: ['YYYY-MM-DD', 'YYYY-MM-DD HH:mm', 'YYYY-MM-DD HH:mm:ss'],
  },
};

export interface ImportStatementInput {
  /** The file's text. */
  text: string;
  /** Which step the import is in (the core never prints). */
  onProgress?: OnProgress;
  /** For messages and the audit log. */
  fileName?: string;
  /** gcash or bank (default bank). */
  preset?: string;
  method?: string;
  amountColumn?: string;
  referenceColumn?: string;
  dateColumn?: string;
  accountColumn?: string;
  descriptionColumn?: string;
  /** e.g. `MM/DD/YYYY`, `DD/MM/YYYY HH:mm`, `YYYY-MM-DD hh:mm A` (replaces the preset's). */
  dateFormat?: string;
  dryRun?: boolean;
}

export type MatchedBy = 'account-column' | 'account-number' | 'invoice-number';

export interface ImportedRow {
  line: number;
  reference: string;
  amountMinor: bigint;
  receivedAt: string;
  subscriberId: number;
  accountNo: string;
  subscriberName: string;
  matchedBy: MatchedBy;
  /** What named the subscriber: the account number, username or invoice number found. */
  matched: string;
  /** The payment recorded (absent in a dry run). */
  payment?: string;
}

export interface SkippedRow {
  line: number;
  reference: string | null;
  amountMinor: bigint | null;
  reason: string;
  /** The payment recorded earlier with this reference. */
  existingPayment?: string;
}

export interface UnmatchedRow {
  line: number;
  reference: string;
  amountMinor: bigint;
  /** `unmatched` or `ambiguous`. */
  kind: 'unmatched' | 'ambiguous';
  reason: string;
}

export interface ImportStatementResult {
  dryRun: boolean;
  file: string | null;
  sha256: string;
  preset: string;
  method: PaymentMethod;
  currency: string;
  /** Data rows read (the header is not counted). */
  rows: number;
  imported: ImportedRow[];
  skipped: SkippedRow[];
  unmatched: UnmatchedRow[];
  importedMinor: bigint;
  /** Subscribers whose service was restored. */
  restored: number[];
  /** Router work queued (apply after the transaction). */
  jobIds: number[];
}

export interface StatementLineError {
  line: number;
  column?: string;
  message: string;
}

// ---- dates ---------------------------------------------------------------------------------------

interface DateFormat {
  source: string;
  regex: RegExp;
  fields: string[];
}

const DATE_TOKENS: Record<string, string> = {
  YYYY: '(\\d{4})',
  MM: '(\\d{2})',
  M: '(\\d{1,2})',
  DD: '(\\d{2})',
  D: '(\\d{1,2})',
  HH: '(\\d{2})',
  H: '(\\d{1,2})',
  hh: '(\\d{2})',
  h: '(\\d{1,2})',
  mm: '(\\d{2})',
  ss: '(\\d{2})',
  A: '([AaPp][Mm])',
};

/** A date format from tokens YYYY MM M DD D HH H hh h mm ss A; anything else is literal. */
export function parseDateFormat(source: string): DateFormat {
  const s = String(source ?? '').trim();
  const fields: string[] = [];
  let pattern = '';
  let i = 0;
  while (i < s.length) {
    const token = ['YYYY', 'MM', 'DD', 'HH', 'hh', 'mm', 'ss', 'M', 'D', 'H', 'h', 'A'].find((t) => s.startsWith(t, i));
    if (token) {
      fields.push(token);
      pattern += DATE_TOKENS[token];
      i += token.length;
    } else {
      const c = s[i]!;
      if (/[A-Za-z0-9]/.test(c)) break;
      pattern += c === ' ' ? '\\s+' : c.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
      i++;
    }
  }
  const has = (t: string[]) => t.some((x) => fields.includes(x));
  const group: Record<string, string> = { YYYY: 'y', MM: 'mo', M: 'mo', DD: 'd', D: 'd', HH: 'h', H: 'h', hh: 'h', h: 'h', mm: 'mi', ss: 's', A: 'a' };
  const once = fields.length === new Set(fields.map((f) => group[f])).size;
  const twelve = has(['hh', 'h']);
  if (i < s.length || !has(['YYYY']) || !has(['MM', 'M']) || !has(['DD', 'D']) || !once || twelve !== has(['A']) || (has(['mm']) && !has(['HH', 'H', 'hh', 'h']))) {
    throw invalid('INVALID_DATE_FORMAT', `Date format ${JSON.stringify(source)} is not one ispctl reads: use YYYY, MM (or M), DD (or D), HH or hh with A, mm, ss and separators, each once.`, [
      '--date-format MM/DD/YYYY',
      '--date-format "DD/MM/YYYY HH:mm"',
      '--date-format "YYYY-MM-DD hh:mm A"',
    ]);
  }
  return { source: s, regex: new RegExp(`^${pattern}$`), fields };
}

/** The instant a statement's date means in the ISP's time zone, or null when it does not fit the format. */
function readDate(value: string, format: DateFormat, timezone: string): Date | null {
  const m = format.regex.exec(value.trim());
  if (!m) return null;
  const v: Record<string, string> = {};
  format.fields.forEach((f, k) => (v[f] = m[k + 1]!));
  const year = Number(v.YYYY);
  const month = Number(v.MM ?? v.M);
  const day = Number(v.DD ?? v.D);
  let hour = Number(v.HH ?? v.H ?? v.hh ?? v.h ?? 0);
  const minute = Number(v.mm ?? 0);
  const second = Number(v.ss ?? 0);
  if (v.A) {
    if (hour < 1 || hour > 12) return null;
    const pm = v.A.toUpperCase() === 'PM';
    hour = (hour % 12) + (pm ? 12 : 0);
  }
  if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 59) return null;
  const probe = new Date(Date.UTC(year, month - 1, day));
  if (probe.getUTCDate() !== day || probe.getUTCMonth() !== month - 1) return null;
  return zonedDateTimeToInstant({ year, month, day }, { hour, minute, second }, timezone);
}

// ---- reading the file ------------------------------------------------------------------------------

interface ParsedRow {
  line: number;
  reference: string | null;
  amountMinor: bigint | null;
  receivedAt: Date | null;
  account: string | null;
  /** Account and invoice number candidates from the reference and description. */
  tokens: string[];
}

function fail(errors: StatementLineError[], what: string): never {
  const shown = errors.slice(0, 20).map((e) => `line ${e.line}${e.column ? ` (${e.column})` : ''}: ${e.message}`);
  throw invalid(
    'INVALID_STATEMENT',
    `${what} ${errors.length === 1 ? 'has a problem' : `has ${errors.length} problems`}; nothing was imported.\n  ${shown.join('\n  ')}${errors.length > shown.length ? `\n  … and ${errors.length - shown.length} more` : ''}`,
    ['Fix the file, or map the columns with --amount-column, --reference-column, --date-column, --account-column and --date-format'],
    { errors },
  );
}

// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/;

/** Words in a reference or description that could be an account or invoice number. */
function candidateTokens(...texts: Array<string | null>): string[] {
  const out = new Set<string>();
  for (const t of texts) {
    if (!t) continue;
    for (const w of t.split(/[\s,;:()[\]{}<>|"'#]+/)) {
      const word = w.replace(/^[^A-Za-z0-9]+|[^A-Za-z0-9]+$/g, '');
      if (word.length >= 3 && word.length <= 64 && /\d/.test(word) && /^[A-Za-z0-9][A-Za-z0-9/_.-]*$/.test(word)) out.add(word.toUpperCase());
    }
  }
  return [...out];
}

function resolveColumns(input: ImportStatementInput, preset: StatementPreset, header: string[], fileName: string): { index: Record<keyof StatementColumns, number | undefined>; names: StatementColumns } {
  const norm = (s: string) => s.trim().toLowerCase();
  const positions = new Map<string, number>();
  header.forEach((h, i) => {
    if (!positions.has(norm(h))) positions.set(norm(h), i);
  });
  const given: Partial<StatementColumns> = { amount: input.amountColumn, reference: input.referenceColumn, date: input.dateColumn, account: input.accountColumn, description: input.descriptionColumn };
  const names: StatementColumns = { ...preset.columns };
  const errors: StatementLineError[] = [];
  const index = {} as Record<keyof StatementColumns, number | undefined>;
  for (const key of ['amount', 'reference', 'date', 'account', 'description'] as const) {
    const flag = given[key]?.trim();
    const name = flag || names[key];
    if (flag) names[key] = flag;
    if (!name) continue;
    const at = positions.get(norm(name));
    // The preset's optional columns may be absent; a column named by a flag, the amount and the reference may not.
    if (at === undefined && (flag || key === 'amount' || key === 'reference')) {
      errors.push({ line: 1, column: name, message: `there is no column ${JSON.stringify(name)} (the ${key} column); the header has ${header.map((h) => JSON.stringify(h)).join(', ')}` });
    }
    index[key] = at;
    if (at === undefined) delete names[key];
  }
  if (errors.length) fail(errors, fileName);
  return { index, names };
}

function readRows(input: ImportStatementInput, preset: StatementPreset, currency: string, timezone: string, now: Date, fileName: string): { rows: ParsedRow[]; names: StatementColumns } {
  let records: Array<{ record: string[]; info: { lines: number; empty_lines: number } }>;
  try {
    records = parse(input.text, { bom: true, info: true, skip_empty_lines: true, relax_column_count: false }) as never;
  } catch (err) {
    const e = err as { lines?: number; message?: string; code?: string };
    fail([{ line: Number(e.lines ?? 0), message: `the CSV is malformed: ${String(e.message ?? err).replace(/\s+at line \d+.*$/, '').slice(0, 300)}` }], fileName);
  }
  if (records.length === 0) fail([{ line: 1, message: 'the file is empty; the first line must name the columns' }], fileName);
  const header = records[0]!.record;
  const { index, names } = resolveColumns(input, preset, header, fileName);
  const formats = (input.dateFormat ? [input.dateFormat] : preset.dateFormats).map(parseDateFormat);
  const errors: StatementLineError[] = [];
  const rows: ParsedRow[] = [];
  // A statement repeats the same few amounts and dates on thousands of lines: each distinct
  // text is read once (a date through Intl's time zone rules, an amount through the currency's).
  const amounts = new Map<string, bigint | { message: string }>();
  const dates = new Map<string, Date | null>();
  let prevLines = records[0]!.info.lines;
  let prevEmpty = records[0]!.info.empty_lines;
  for (const { record, info } of records.slice(1)) {
    // csv-parse counts lines up to the end of a record; it starts after the previous one and any blank lines.
    const line = prevLines + (info.empty_lines - prevEmpty) + 1;
    prevLines = info.lines;
    prevEmpty = info.empty_lines;
    // Line breaks and tabs inside a quoted description are spaces; other control characters are refused.
    const cell = (i: number | undefined) => (i === undefined ? null : (record[i] ?? '').replace(/[\r\n\t]+/g, ' ').trim() || null);
    const rowErrors = errors.length;
    for (const [key, i] of Object.entries(index)) {
      const v = cell(i);
      if (v !== null && (v.length > 500 || CONTROL.test(v))) errors.push({ line, column: names[key as keyof StatementColumns], message: 'is longer than 500 characters or has control characters' });
    }
    if (errors.length > rowErrors) continue;
    const reference = cell(index.reference);
    if (reference !== null && reference.length > 200) errors.push({ line, column: names.reference, message: `the reference is ${reference.length} characters long; the limit is 200` });
    const rawAmount = cell(index.amount);
    let amountMinor: bigint | null = null;
    if (rawAmount !== null) {
      let read = amounts.get(rawAmount);
      if (read === undefined) {
        try {
          read = parseMoney(rawAmount, currency, { allowNegative: true, allowZero: true, field: 'amount' });
        } catch (err) {
          if (!isIspctlError(err)) throw err;
          read = { message: err.message };
        }
        amounts.set(rawAmount, read);
      }
      if (typeof read === 'bigint') amountMinor = read;
      else errors.push({ line, column: names.amount, message: read.message });
    }
    let receivedAt: Date | null = null;
    const rawDate = cell(index.date);
    if (rawDate !== null) {
      let read = dates.get(rawDate);
      if (read === undefined) {
        read = null;
        for (const f of formats) {
          read = readDate(rawDate, f, timezone);
          if (read) break;
        }
        dates.set(rawDate, read);
      }
      receivedAt = read;
      if (!receivedAt) errors.push({ line, column: names.date, message: `date ${JSON.stringify(rawDate)} does not read as ${formats.map((f) => f.source).join(' or ')}` });
      else if (receivedAt.getTime() > now.getTime() + 5 * 60_000) errors.push({ line, column: names.date, message: `date ${JSON.stringify(rawDate)} (${formatLocalDateTime(receivedAt, timezone)} in ${timezone}) is still to come` });
    }
    rows.push({ line, reference, amountMinor, receivedAt, account: cell(index.account), tokens: candidateTokens(reference, cell(index.description)) });
  }
  if (errors.length) fail(errors, fileName);
  return { rows, names };
}

// ---- matching --------------------------------------------------------------------------------------

interface Who {
  id: number;
  accountNo: string;
  fullName: string;
}

interface Lookups {
  accounts: Map<string, Who>;
  usernames: Map<string, Who>;
  invoices: Map<string, Who & { number: string }>;
  existing: Map<string, number>;
}

/** A subscriber as matching reads it. */
type WhoRow = Pick<SubscriberRow, 'id' | 'account_no' | 'full_name'>;

/** Everything matching needs, in four queries however many rows. */
async function lookUp(db: Db, rows: ParsedRow[], method: PaymentMethod): Promise<Lookups> {
  const tokens = new Set<string>();
  const accountCells = new Set<string>();
  const refs = new Set<string>();
  for (const r of rows) {
    for (const t of r.tokens) tokens.add(t);
    if (r.account) accountCells.add(r.account.toUpperCase());
    if (r.reference) refs.add(r.reference.toLowerCase());
  }
  const words = [...new Set([...tokens, ...accountCells])];
  const who = (r: WhoRow): Who => ({ id: Number(r.id), accountNo: r.account_no, fullName: r.full_name });
  const accounts = new Map<string, Who>();
  const usernames = new Map<string, Who>();
  const invoices = new Map<string, Who & { number: string }>();
  const existing = new Map<string, number>();
  if (words.length) {
    for (const r of await rowsOf<WhoRow>(db, 'select id, account_no, full_name from subscribers where account_no = any(?::text[])', [textArray(words)])) accounts.set(r.account_no.toUpperCase(), who(r));
    for (const r of await rowsOf<WhoRow & { number: string }>(db, 'select i.number, s.id, s.account_no, s.full_name from invoices i join subscribers s on s.id = i.subscriber_id where upper(i.number) = any(?::text[])', [textArray(words)])) {
      invoices.set(r.number.toUpperCase(), { ...who(r), number: r.number });
    }
  }
  if (accountCells.size) {
    const lower = [...accountCells].map((a) => a.toLowerCase());
    for (const r of await rowsOf<WhoRow & { username: string }>(db, 'select distinct lower(v.username) as username, s.id, s.account_no, s.full_name from services v join subscribers s on s.id = v.subscriber_id where lower(v.username) = any(?::text[])', [textArray(lower)])) {
      usernames.set(r.username.toUpperCase(), who(r));
    }
  }
  if (refs.size) {
    for (const r of await rowsOf<{ id: bigint; ref: string }>(db, 'select id, lower(reference) as ref from payments where method = ? and lower(reference) = any(?::text[])', [method, textArray([...refs])])) existing.set(r.ref, Number(r.id));
  }
  return { accounts, usernames, invoices, existing };
}

type Match = { ok: true; who: Who; by: MatchedBy; matched: string } | { ok: false; kind: 'unmatched' | 'ambiguous'; reason: string };

function match(row: ParsedRow, l: Lookups): Match {
  const found = new Map<number, { who: Who; by: MatchedBy; matched: string }>();
  const names: string[] = [];
  if (row.account) {
    const key = row.account.toUpperCase();
    const w = l.accounts.get(key) ?? l.usernames.get(key);
    if (!w) return { ok: false, kind: 'unmatched', reason: `no subscriber has the account number or username ${JSON.stringify(row.account)}` };
    found.set(w.id, { who: w, by: 'account-column', matched: row.account });
    names.push(`${row.account} (${w.accountNo})`);
  }
  for (const t of row.tokens) {
    const acc = l.accounts.get(t);
    const inv = l.invoices.get(t);
    for (const [w, by] of [[acc, 'account-number'], [inv, 'invoice-number']] as const) {
      if (!w) continue;
      names.push(by === 'invoice-number' ? `invoice ${t} (${w.accountNo})` : t);
      if (!found.has(w.id)) found.set(w.id, { who: w, by, matched: by === 'invoice-number' ? (w as { number: string }).number : w.accountNo });
    }
  }
  if (found.size === 1) return { ok: true, ...[...found.values()][0]! };
  if (found.size > 1) return { ok: false, kind: 'ambiguous', reason: `names more than one subscriber: ${names.join(', ')}` };
  return { ok: false, kind: 'unmatched', reason: 'no account number or invoice number of a subscriber in the reference or description' };
}

// ---- the import ------------------------------------------------------------------------------------

/**
 * Imports a statement export. Reads and checks the whole file first (INVALID_STATEMENT with
 * every bad line, nothing written), matches every row, then in one transaction inserts the
 * payments (one statement per 5,000 rows), rebalances the subscribers they belong to once,
 * and writes the audit rows. A dry run stops after matching.
 */
export async function importStatement(ctx: ServiceContext, input: ImportStatementInput): Promise<ImportStatementResult> {
  const presetName = (input.preset ?? 'bank').trim().toLowerCase();
  const preset = STATEMENT_PRESETS[presetName];
  if (!preset) throw invalid('INVALID_PRESET', `Statement preset ${JSON.stringify(input.preset)} is not one of ${Object.keys(STATEMENT_PRESETS).join(', ')}.`, Object.keys(STATEMENT_PRESETS).map((p) => `--preset ${p}`));
  const method = parseMethod(input.method ?? preset.method);
  const settings = await loadBillingSettings(ctx.db);
  const now = ctx.clock.now();
  const fileName = input.fileName ?? 'The statement';
  const sha256 = createHash('sha256').update(input.text).digest('hex');
  const progress = reporter(input.onProgress);
  progress({ phase: 'Reading the statement' });
  const { rows } = readRows(input, preset, settings.currency, settings.timezone, now, fileName);
  const today = formatLocalDate(toLocalDate(now, settings.timezone));

  const run = async (db: Db): Promise<ImportStatementResult> => {
    progress({ phase: 'Matching rows to subscribers', done: 0, total: rows.length });
    const l = await lookUp(db, rows, method);
    const imported: ImportedRow[] = [];
    const skipped: SkippedRow[] = [];
    const unmatched: UnmatchedRow[] = [];
    const seen = new Map<string, number>();
    for (const r of rows) {
      if (r.amountMinor === null || r.amountMinor <= 0n) {
        skipped.push({ line: r.line, reference: r.reference, amountMinor: r.amountMinor, reason: r.amountMinor === null ? 'no amount: not money received' : r.amountMinor === 0n ? 'the amount is zero' : 'a negative amount: money out, not a payment' });
        continue;
      }
      if (!r.reference) {
        skipped.push({ line: r.line, reference: null, amountMinor: r.amountMinor, reason: 'no reference: without one it could be imported twice; record it with ispctl payment record' });
        continue;
      }
      const key = r.reference.toLowerCase();
      const earlier = seen.get(key);
      if (earlier !== undefined) {
        skipped.push({ line: r.line, reference: r.reference, amountMinor: r.amountMinor, reason: `the same reference as line ${earlier}` });
        continue;
      }
      seen.set(key, r.line);
      const existing = l.existing.get(key);
      if (existing !== undefined) {
        skipped.push({ line: r.line, reference: r.reference, amountMinor: r.amountMinor, reason: `already recorded as ${paymentRef(existing)}`, existingPayment: paymentRef(existing) });
        continue;
      }
      const m = match(r, l);
      if (!m.ok) {
        unmatched.push({ line: r.line, reference: r.reference, amountMinor: r.amountMinor, kind: m.kind, reason: m.reason });
        continue;
      }
      imported.push({
        line: r.line,
        reference: r.reference,
        amountMinor: r.amountMinor,
        receivedAt: (r.receivedAt ?? now).toISOString(),
        subscriberId: m.who.id,
        accountNo: m.who.accountNo,
        subscriberName: m.who.fullName,
        matchedBy: m.by,
        matched: m.matched,
      });
    }
    const result: ImportStatementResult = {
      dryRun: Boolean(input.dryRun),
      file: input.fileName ?? null,
      sha256,
      preset: preset.name,
      method,
      currency: settings.currency,
      rows: rows.length,
      imported,
      skipped,
      unmatched,
      importedMinor: imported.reduce((t, r) => t + r.amountMinor, 0n),
      restored: [],
      jobIds: [],
    };
    if (input.dryRun || imported.length === 0) return result;

    // Payments, in statements of 5,000 rows; a reference recorded meanwhile by someone else is skipped.
    const source = `import ${input.fileName ?? 'statement'} (sha256 ${sha256.slice(0, 12)})`.slice(0, 2000);
    const ids = new Map<string, number>();
    for (let i = 0; i < imported.length; i += 5000) {
      progress({ phase: 'Recording payments', done: i, total: imported.length });
      const chunk = imported.slice(i, i + 5000);
      const inserted = await rowsOf<{ id: bigint; reference: string }>(
        db,
        `insert into payments (subscriber_id, amount_minor, currency, method, reference, received_at, recorded_at, notes, recorded_by, source)
         select x.subscriber_id, x.amount_minor, ?, ?, x.reference, x.received_at, ?::timestamptz, ?, ?, 'import'
           from json_to_recordset(?::json) as x(subscriber_id int, amount_minor bigint, reference text, received_at timestamptz)
         on conflict do nothing
         returning id, reference`,
        [settings.currency, method, now, source, ctx.actor.user, rowsJson(chunk.map((r) => ({ subscriber_id: r.subscriberId, amount_minor: r.amountMinor, reference: r.reference, received_at: r.receivedAt })))],
      );
      for (const p of inserted) ids.set(p.reference.toLowerCase(), Number(p.id));
    }
    const lost = imported.filter((r) => !ids.has(r.reference.toLowerCase()));
    if (lost.length) {
      const again = await lookUp(db, lost.map((r) => ({ line: r.line, reference: r.reference, amountMinor: r.amountMinor, receivedAt: null, account: null, tokens: [] })), method);
      for (const r of lost) {
        const e = again.existing.get(r.reference.toLowerCase());
        skipped.push({ line: r.line, reference: r.reference, amountMinor: r.amountMinor, reason: `recorded meanwhile${e ? ` as ${paymentRef(e)}` : ''}`, ...(e ? { existingPayment: paymentRef(e) } : {}) });
      }
      skipped.sort((a, b) => a.line - b.line);
    }
    result.imported = imported.filter((r) => ids.has(r.reference.toLowerCase()));
    for (const r of result.imported) r.payment = paymentRef(ids.get(r.reference.toLowerCase())!);
    result.importedMinor = result.imported.reduce((t, r) => t + r.amountMinor, 0n);
    if (result.imported.length === 0) return result;

    const subscriberIds = [...new Set(result.imported.map((r) => r.subscriberId))];
    progress({ phase: 'Settling balances' });
    const settled = await rebalance(db, ctx, { subscriberIds }, { today });
    const outcome = collectionsOutcome(settled);
    result.restored = outcome.restored;
    result.jobIds = outcome.jobIds;
    await db.raw(`select pg_notify('ispctl_payments', ?)`, [`import:${result.imported.length}`]);
    await recordAuditMany(db, ctx, [
      ...result.imported.map((r) => ({
        entityType: 'payment',
        entityId: ids.get(r.reference.toLowerCase())!,
        action: 'record',
        after: { subscriber: r.accountNo, amountMinor: r.amountMinor, currency: settings.currency, method, reference: r.reference, receivedAt: r.receivedAt, source: 'import', line: r.line, matched: r.matched },
      })),
      {
        entityType: 'payment-import',
        entityId: sha256.slice(0, 16),
        action: 'import',
        after: { file: input.fileName ?? null, sha256, preset: preset.name, method, rows: rows.length, imported: result.imported.length, importedMinor: result.importedMinor, skipped: skipped.length, unmatched: unmatched.length, restored: result.restored.length },
      },
    ]);
    return result;
  };
  return input.dryRun ? run(ctx.db) : withTransaction(ctx.db, run);
}
