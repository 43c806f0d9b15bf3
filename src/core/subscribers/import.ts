// `subscriber import`: subscribers from a CSV file. Every row is validated first (fields, plans,
// routers, user names and static IPs within the file and against the database) and every problem
// is reported with its row, column and reason. If any row is bad nothing is written; otherwise
// all rows are inserted in one transaction with batch inserts.

import { reporter, type OnProgress } from '../progress.js';
import type { Knex } from 'knex';
import type { ServiceContext } from '../context.js';
import { withTransaction } from '../db/tx.js';
import { IspctlError, type ErrorKind } from '../errors.js';
import { loadIspSettings } from '../settings/service.js';
import { formatLocalDate, toLocalDate } from '../time.js';
import { parseCsv } from './csv.js';
import { insertPrepared, prepareSubscribers, type CreatedSubscriber, type InputField, type SubscriberInput } from './prepare.js';
import { isUniqueViolation } from '../db/errors.js';
import { provisionChanges } from '../provisioning/access.js';
import { assertRouterAddressing } from '../routers/pools.js';
import { errors as catalogue } from '../error-catalogue.js';

/** CSV columns and the fields they fill. Header names are case-insensitive; order is free. */
export const IMPORT_COLUMNS: ReadonlyArray<{ column: string; field: InputField; required: boolean; description: string }> = [
  { column: 'full_name', field: 'fullName', required: true, description: 'Name of the person or company' },
  { column: 'email', field: 'email', required: false, description: 'Email address' },
  { column: 'phone', field: 'phone', required: false, description: '7 to 15 digits, optional +, spaces and dashes allowed' },
  { column: 'address', field: 'address', required: false, description: 'Service address' },
  { column: 'username', field: 'username', required: true, description: 'PPPoE username (unique)' },
  { column: 'password', field: 'password', required: false, description: 'PPPoE password; generated when empty' },
  { column: 'plan', field: 'plan', required: true, description: 'Name of an existing plan (never invented)' },
  { column: 'router', field: 'router', required: true, description: 'Name of an existing router' },
  { column: 'static_ip', field: 'staticIp', required: false, description: 'Fixed IPv4 address (unique)' },
  { column: 'price', field: 'price', required: false, description: 'Individual monthly price replacing the plan price' },
  { column: 'discount', field: 'discount', required: false, description: 'Fixed amount (100) or percent (10%)' },
  { column: 'discount_until', field: 'discountUntil', required: false, description: 'Last day of the discount, YYYY-MM-DD' },
  { column: 'start_date', field: 'startDate', required: false, description: 'First day of service, YYYY-MM-DD (default today)' },
  { column: 'notes', field: 'notes', required: false, description: 'Free text' },
];

const COLUMN_OF = new Map(IMPORT_COLUMNS.map((c) => [c.field, c.column]));

export interface ImportRowError {
  /** Row as a spreadsheet numbers it: the header is row 1, the first subscriber row 2. */
  row: number;
  /** Line of the file where the row starts. */
  line: number;
  column: string;
  code: string;
  kind: ErrorKind;
  message: string;
}

export interface ImportedRow extends CreatedSubscriber {
  row: number;
}

export interface ImportReport {
  dryRun: boolean;
  /** Subscriber rows in the file. */
  rows: number;
  /** Rows written (empty on a dry run). */
  created: ImportedRow[];
  /** What a dry run would create: row, username, plan and router of each. */
  planned: Array<{ row: number; username: string; fullName: string; plan: string; router: string }>;
  /** Router work queued by the import. */
  jobIds: number[];
}

/**
 * Validates and (unless `dryRun`) imports CSV text.
 * @throws IspctlError IMPORT_INVALID (exit 2) with `details.errors` listing every bad row, or
 *   INVALID_CSV for a file that is not CSV or lacks required columns. Nothing is written then.
 */
export async function importSubscribers(ctx: ServiceContext, csvText: string, opts: { dryRun?: boolean; onProgress?: OnProgress } = {}): Promise<ImportReport> {
  const progress = reporter(opts.onProgress);
  progress({ phase: 'Reading the file' });
  const records = parseCsv(csvText);
  if (records.length === 0) throw catalogue.invalidCsv('is empty', [`The first line names the columns: ${IMPORT_COLUMNS.filter((c) => c.required).map((c) => c.column).join(',')},…`]);
  const [header, ...data] = records;
  const names = header!.fields.map((h) => h.trim().toLowerCase().replace(/[\s-]+/g, '_'));
  const known = new Set(IMPORT_COLUMNS.map((c) => c.column));
  const unknown = names.filter((n) => !known.has(n));
  if (unknown.length) {
    throw catalogue.invalidCsv(`header has unknown column${unknown.length === 1 ? '' : 's'} ${unknown.map((u) => JSON.stringify(u)).join(', ')}`, [`Known columns: ${IMPORT_COLUMNS.map((c) => c.column).join(', ')}`]);
  }
  const dup = names.find((n, i) => names.indexOf(n) !== i);
  if (dup) throw catalogue.invalidCsv(`header names the column ${JSON.stringify(dup)} twice`, ['Keep one of them']);
  const missing = IMPORT_COLUMNS.filter((c) => c.required && !names.includes(c.column)).map((c) => c.column);
  if (missing.length) throw catalogue.invalidCsv(`header lacks the required column${missing.length === 1 ? '' : 's'} ${missing.join(', ')}`, [`Required columns: ${IMPORT_COLUMNS.filter((c) => c.required).map((c) => c.column).join(', ')}`]);
  if (data.length === 0) throw catalogue.invalidCsv('has a header but no subscriber rows', ['Add one line per subscriber below the header']);

  const errors: ImportRowError[] = [];
  const rowNo = (i: number) => i + 2;
  const inputs: SubscriberInput[] = data.map((rec, i) => {
    if (rec.fields.length !== names.length) {
      errors.push({ row: rowNo(i), line: rec.line, column: '*', code: 'INVALID_CSV_ROW', kind: 'invalid', message: `The row has ${rec.fields.length} fields but the header has ${names.length}.` });
    }
    const input: Record<string, string> = {};
    names.forEach((n, j) => {
      const field = IMPORT_COLUMNS.find((c) => c.column === n)!.field;
      input[field] = rec.fields[j] ?? '';
    });
    return { fullName: '', username: '', plan: '', router: '', ...input } as SubscriberInput;
  });

  const settings = await loadIspSettings(ctx.db);
  const today = formatLocalDate(toLocalDate(ctx.clock.now(), settings.timezone));
  const run = async (trx: Knex.Transaction): Promise<ImportReport> => {
    progress({ phase: 'Checking rows', done: 0, total: inputs.length });
    const { prepared, problems } = await prepareSubscribers(trx, inputs, { today, currency: settings.currency, label: (i) => `row ${rowNo(i)}` });
    problems.forEach((list, i) => {
      for (const p of list) {
        errors.push({ row: rowNo(i), line: data[i]!.line, column: COLUMN_OF.get(p.field) ?? p.field, code: p.error.code, kind: p.error.kind, message: p.error.message });
      }
    });
    if (errors.length > 0) {
      errors.sort((a, b) => a.row - b.row);
      const badRows = new Set(errors.map((e) => e.row)).size;
      throw new IspctlError('IMPORT_INVALID', `${badRows} of ${data.length} row${data.length === 1 ? '' : 's'} ha${badRows === 1 ? 's' : 've'} problems (${errors.length} in all); nothing was imported.`, {
        kind: 'invalid',
        suggestions: ['Fix the rows listed and run the import again (--dry-run checks without writing)'],
        details: { errors },
      });
    }
    const ok = prepared as NonNullable<(typeof prepared)[number]>[];
    const planned = ok.map((p, i) => ({ row: rowNo(i), username: p.service.username, fullName: p.subscriber.full_name, plan: p.planName, router: p.routerName }));
    if (opts.dryRun) return { dryRun: true, rows: data.length, created: [], planned, jobIds: [] };
    progress({ phase: 'Writing subscribers', done: 0, total: ok.length });
    const created = await insertPrepared(trx, ctx, ok);
    progress({ phase: 'Queueing router work', done: ok.length, total: ok.length });
    await assertRouterAddressing(trx, ok.map((p) => p.service.router_id));
    const serviceIds = created.map((c) => c.serviceId);
    const { jobIds } = await provisionChanges(trx, ctx, { serviceIds }, { created: serviceIds });
    return { dryRun: false, rows: data.length, created: created.map((c, i) => ({ row: rowNo(i), ...c })), planned, jobIds };
  };
  try {
    return await withTransaction(ctx.db, run);
  } catch (err) {
    if (isUniqueViolation(err)) {
      throw catalogue.alreadyExists('a username or static IP in the file was taken by another process during the import', err);
    }
    throw err;
  }
}
