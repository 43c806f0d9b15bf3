// Where the database is reached from, checked on the source: commands never reach knex or
// write SQL (they call a core service), and rows are read through typed row interfaces with
// one mapping per table, never cast from Record<string, unknown>.
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..', '..');

function sources(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(join(ROOT, dir), { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...sources(p));
    else if (/\.tsx?$/.test(e.name) && !e.name.endsWith('.d.ts')) out.push(p);
  }
  return out;
}

/** Lines of `file` matching `re`, as `file:line: text`. */
function hits(file: string, re: RegExp): string[] {
  return readFileSync(join(ROOT, file), 'utf8')
    .split('\n')
    .flatMap((line, i) => (re.test(line) ? [`${relative(ROOT, join(ROOT, file))}:${i + 1}: ${line.trim()}`] : []));
}

// What a row cast looks like: arrays of records, `.rows` read as records, a row parameter or a
// row type declared as a record, or a record awaited from a query.
const ROW_CAST = new RegExp(
  [
    String.raw`(?:Array|ReadonlyArray)<Record<string, unknown>>`,
    String.raw`Record<string, unknown>\[\]`,
    String.raw`\.rows\b.*Record<string, unknown>`,
    String.raw`\b(?:row|rows|r|x|p|pt|sv)\??\s*:\s*Record<string, unknown>`,
    String.raw`type\s+\w*Row\w*\s*=\s*Record<string, unknown>`,
    String.raw`Record<string, unknown>.*=\s*await\b`,
    String.raw`as unknown as Record<string, unknown>`,
  ].join('|'),
);

// Parsed documents rather than database rows: the lab router's menus and a YAML snapshot.
const NOT_ROWS = new Set(['src/lab/menu-store.ts', 'src/core/onboarding/brownfield-service.ts']);

describe('data access', () => {
  const commands = sources('src/commands');

  it('finds the command files', () => {
    expect(commands.length).toBeGreaterThan(50);
  });

  it('no command imports knex or reaches the query builder', () => {
    const re = /from ['"]knex['"]|import\(['"]knex['"]\)|\.knex\b|\.raw\(|\b(?:db|trx|knex)\(\s*['"`]|\.(?:whereRaw|joinRaw|select|insert|update|del)\(/;
    expect(commands.flatMap((f) => hits(f, re))).toEqual([]);
  });

  it('the terminal prompts take their lists from the core, not from knex', () => {
    const re = /from ['"]knex['"]|import\(['"]knex['"]\)|\bKnex\b|\.knex\b|\.raw\(|\b(?:db|trx|knex|conn)\(\s*['"`]/;
    expect(hits('src/cli/ask.ts', re)).toEqual([]);
  });

  it('no command writes SQL', () => {
    const re = /\bselect\s+[\w*.,\s()]+\s+from\s+\w|\binsert\s+into\s+\w|\bdelete\s+from\s+\w|\bupdate\s+\w+\s+set\s+\w/i;
    expect(commands.flatMap((f) => hits(f, re))).toEqual([]);
  });

  it('no row is cast from Record<string, unknown>', () => {
    const files = sources('src').filter((f) => !NOT_ROWS.has(f));
    expect(files.flatMap((f) => hits(f, ROW_CAST))).toEqual([]);
  });

  it('raw query rows are read through rowsOf, not cast from .rows', () => {
    expect(sources('src').flatMap((f) => hits(f, /\.rows\)?\s+as\s+[\w[{]/))).toEqual([]);
  });

  // Each state machine has one writer: an UPDATE (SQL, or knex's .update({...}) on the table,
  // or the column put into an object named `update` for it) that sets the status column appears
  // only in its module. Inserts (the first status) are free.
  const STATUS_WRITERS: Array<{ what: string; table: string; column: string; module: string }> = [
    { what: 'collection status', table: 'services', column: 'collection_status', module: 'src/core/provisioning/access.ts' },
    { what: 'invoice status', table: 'invoices', column: 'status', module: 'src/core/ledger/allocate.ts' },
    { what: 'router status', table: 'routers', column: 'status', module: 'src/core/routers/status.ts' },
  ];
  const statusWrites = (text: string, table: string, column: string): boolean =>
    new RegExp(String.raw`\bupdate\s+${table}\b[^\x60;]*?\bset\b(?:(?!\b(?:from|where|returning)\b)[^\x60;])*?[\s,.]${column}\s*=`, 'i').test(text) ||
    new RegExp(String.raw`\(\s*['"]${table}(?:\s+as\s+\w+)?['"]\s*\)[^;]*?\.update\(\s*\{[^}]*\b${column}\s*:`).test(text) ||
    (new RegExp(String.raw`\(\s*['"]${table}['"]\s*\)[^;]*?\.update\(\s*update\s*\)`).test(text) && new RegExp(String.raw`\bupdate(?:\.${column}\s*=|\s*(?::[^=]*)?=\s*\{[^}]*\b${column}\s*:)`).test(text));

  for (const w of STATUS_WRITERS) {
    it(`${w.what} is written only in ${w.module}`, () => {
      const writers = sources('src').filter((f) => statusWrites(readFileSync(join(ROOT, f), 'utf8'), w.table, w.column));
      expect(writers).toEqual([w.module]);
    });
  }

  it('the status-writer detector sees SQL and query-builder updates, not reads or inserts', () => {
    expect(statusWrites("`update services s\n set collection_status = 'x', updated_at = now()`", 'services', 'collection_status')).toBe(true);
    expect(statusWrites('`update invoices set sent_at = ?, status = case when status = 1 then 2 end`', 'invoices', 'status')).toBe(true);
    expect(statusWrites("await db('invoices').whereIn('id', ids).update({ status: 'void', voided_at: now })", 'invoices', 'status')).toBe(true);
    expect(statusWrites("await db('invoices').where({ status: 'void' }).select('id')", 'invoices', 'status')).toBe(false);
    expect(statusWrites('`update services set revision = 2 where collection_status = ?`', 'services', 'collection_status')).toBe(false);
    expect(statusWrites("`insert into invoices (status) values ('issued')`", 'invoices', 'status')).toBe(false);
    expect(statusWrites("if (moved) update.status = 'registering';\nawait trx('routers').where({ id }).update(update);", 'routers', 'status')).toBe(true);
    expect(statusWrites("const update: Partial<Row> = {\n status: next.status,\n failures: 1 };\nawait db('routers').where({ id }).update(update);", 'routers', 'status')).toBe(true);
    expect(statusWrites("const update = { host };\nawait trx('routers').where({ id }).update(update);", 'routers', 'status')).toBe(false);
  });

  it('the detector sees the casts it is meant to see', () => {
    for (const line of [
      'const rows: Array<Record<string, unknown>> = await q;',
      '  ).rows as Array<Record<string, unknown>>;',
      'function toAdjustment(r: Record<string, unknown>): Adjustment {',
      'type PlanRow = Record<string, unknown>;',
      'const pt = (periodTotals.rows as Array<Record<string, unknown>>)[0] ?? {};',
    ]) expect(ROW_CAST.test(line), line).toBe(true);
    for (const line of ['details?: Record<string, unknown>;', 'info(message: string, fields?: Record<string, unknown>): void;']) expect(ROW_CAST.test(line), line).toBe(false);
  });
});
