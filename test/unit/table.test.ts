// The table module: widths that fit, cutting with … (colour kept), optional columns, sorting by
// value, CSV; and the audit change as field: old → new.
import { Chalk } from 'chalk';
import { describe, expect, test } from 'vitest';
import { describeAuditChange, moneyColumn, timeColumn } from '../../src/cli/format.js';
import { fitWidths, renderCsv, renderTable, selectColumns, sortRows, truncateTo, visibleWidth, type Column } from '../../src/cli/table.js';
import { auditChanges } from '../../src/core/audit.js';

type Row = { name: string; amount: bigint; at: Date | null; note: string };
const rows: Row[] = [
  { name: 'Maria Clara de los Santos y Villanueva', amount: 117000n, at: new Date('2026-12-05T02:00:00Z'), note: 'line one\nline two' },
  { name: 'Ana', amount: 99999n, at: null, note: '=SUM(A1)' },
  { name: 'Ben', amount: 1000000n, at: new Date('2026-12-01T16:30:00Z'), note: 'a "quoted", note' },
];
const cols: Column<Row>[] = [
  { header: 'NAME', get: (r) => r.name },
  moneyColumn('AMOUNT', (r) => r.amount, 'PHP'),
  timeColumn('WHEN', (r) => r.at, 'Asia/Manila'),
  { header: 'NOTE', get: (r) => r.note, optional: true },
];
const plain = new Chalk({ level: 0 });

describe('renderTable', () => {
  test('fits the width: free text is cut with …, money and times stay whole, no value wraps', () => {
    const out = renderTable(rows, cols, { width: 50, chalk: plain });
    const lines = out.split('\n');
    expect(lines).toHaveLength(4);
    for (const l of lines) expect(visibleWidth(l)).toBeLessThanOrEqual(50);
    expect(lines[0]).toMatch(/^NAME +AMOUNT +WHEN \(GMT\+8\)$/); // NOTE (optional) left out
    expect(lines[1]).toMatch(/^Maria Cl.*… +₱1,170\.00 +2026-12-05 10:00$/);
    expect(lines[3]).toMatch(/₱10,000\.00 +2026-12-02 00:30$/); // 16:30 UTC is the next day in Manila
  });

  test('whole with an unlimited width; line breaks inside a value become spaces', () => {
    const out = renderTable(rows, cols, { width: Infinity, chalk: plain });
    expect(out).toContain('Maria Clara de los Santos y Villanueva');
    expect(out).toContain('line one line two');
  });

  test('colour survives cutting and does not count as width', () => {
    const chalk = new Chalk({ level: 1 });
    const out = renderTable([{ s: chalk.red('blocked (suspended: unpaid since October)') }], [{ header: 'ACCESS', get: (r: { s: string }) => r.s }], { width: 20, chalk });
    const line = out.split('\n')[1]!;
    expect(visibleWidth(line)).toBe(20);
    expect(line).toContain('\u001b[31m');
    expect(line).toContain('…');
  });

  test('widths and cuts of text beyond ASCII: wide characters count two, combining marks none, © and emoji two', () => {
    expect(visibleWidth('₱1,500.00 — “paid” • café')).toBe(25);
    expect(visibleWidth('日本語')).toBe(6);
    expect(visibleWidth('José'.normalize('NFD'))).toBe(4);
    expect(visibleWidth('ok 👍🏽 ©')).toBe(8);
    expect(visibleWidth('\u001b[1mbold\u001b[22m')).toBe(4);
    expect(truncateTo('日本語のテキスト', 7)).toBe('日本語…');
    expect(truncateTo('José María Dela Cruz'.normalize('NFD'), 6)).toBe('José '.normalize('NFD') + '…');
    expect(truncateTo('plain text here', 6)).toBe('plain…');
    expect(truncateTo('short', 6)).toBe('short');
    const red = truncateTo('\u001b[31mred text\u001b[39m and more', 5);
    expect(red).toBe('\u001b[31mred …\u001b[39m');
    expect(visibleWidth(red)).toBe(5);
  });

  test('fitWidths cuts the widest free text first, then the rest; never below what fits', () => {
    expect(fitWidths([10, 30, 8], [true, true, false], 40)).toEqual([10, 18, 8]);
    expect(fitWidths([10, 30, 8], [true, true, false], 100)).toEqual([10, 30, 8]);
    const tight = fitWidths([20, 20, 20], [false, false, false], 30);
    expect(tight.reduce((a, b) => a + b, 0) + 4).toBeLessThanOrEqual(30);
  });
});

describe('columns, sort, CSV', () => {
  test('--columns picks and orders; an unknown name lists the valid ones', () => {
    expect(selectColumns(cols, 'when, Name').map((c) => c.header)).toEqual(['WHEN (GMT+8)', 'NAME']);
    expect(() => selectColumns(cols, 'name,amout')).toThrow('--columns: "amout" is not a column of this list; the columns are name, amount, when, note.');
  });

  test('sorts by value (money as amounts, times as instants), empty last, -col descending', () => {
    expect(sortRows(rows, cols, 'amount').map((r) => r.name)).toEqual(['Ana', 'Maria Clara de los Santos y Villanueva', 'Ben']);
    expect(sortRows(rows, cols, '-amount').map((r) => r.name)).toEqual(['Ben', 'Maria Clara de los Santos y Villanueva', 'Ana']);
    expect(sortRows(rows, cols, 'when').map((r) => r.name)).toEqual(['Ben', 'Maria Clara de los Santos y Villanueva', 'Ana']);
    expect(sortRows(rows, cols, 'when', true).map((r) => r.name)).toEqual(['Maria Clara de los Santos y Villanueva', 'Ben', 'Ana']);
    expect(() => sortRows(rows, cols, 'nope')).toThrow(/--sort: "nope" is not a column/);
  });

  test('CSV: RFC 4180 quoting, plain decimals, ISO times with the offset, formulas defused', () => {
    expect(renderCsv(rows, cols)).toBe(
      'name,amount,when,note\r\n' +
        'Maria Clara de los Santos y Villanueva,1170.00,2026-12-05T10:00:00+08:00,line one line two\r\n' +
        "Ana,999.99,,'=SUM(A1)\r\n" +
        'Ben,10000.00,2026-12-02T00:30:00+08:00,"a ""quoted"", note"\r\n',
    );
  });

  test('CSV a page at a time: the header with the first page only, the same text as the whole', () => {
    const whole = renderCsv(rows, cols);
    expect(renderCsv(rows.slice(0, 1), cols) + renderCsv(rows.slice(1), cols, false)).toBe(whole);
    expect(renderCsv(rows.slice(0, 2), cols) + renderCsv([], cols, false) + renderCsv(rows.slice(2), cols, false)).toBe(whole);
    expect(renderCsv([], cols)).toBe('name,amount,when,note\r\n');
  });
});

describe('audit changes', () => {
  test('field: old → new, money and speeds in their forms, nested fields followed', () => {
    const f = { currency: 'PHP', timezone: 'Asia/Manila' };
    const changes = auditChanges({ name: 'Fiber 50', priceMinor: 117000, downloadKbps: 50000, burst: { on: false } }, { name: 'Fiber 50', priceMinor: 150000, downloadKbps: 100000, burst: { on: true } });
    expect(describeAuditChange(changes, f)).toBe('price: ₱1,170.00 → ₱1,500.00; download: 50M → 100M; burst.on: false → true');
    expect(describeAuditChange(auditChanges(null, { status: 'active', reason: null }), f)).toBe('status: active; reason: ∅');
    expect(describeAuditChange(auditChanges({ receivedAt: '2026-12-05T02:00:00.000Z' }, null), f)).toBe('receivedAt: 2026-12-05 10:00 GMT+8 → ∅');
  });
});
