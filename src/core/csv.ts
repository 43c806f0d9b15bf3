// CSV, RFC 4180: fields with a comma, quote or line break are quoted, lines end in CRLF, and
// formula-looking text is prefixed with ' so spreadsheets do not run it.

/** The header row (null: left out, for the later pages of a list written a page at a time), then the rows. */
export function toCsv(header: string[] | null, rows: Array<Array<string | number | bigint>>): string {
  const field = (v: string | number | bigint) => {
    let s = String(v);
    if (typeof v === 'string' && /^[=+\-@\t\r]/.test(s) && !/^-?\d+(\.\d+)?$/.test(s)) s = `'${s}`;
    return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
  };
  const lines = header ? [header, ...rows] : rows;
  return lines.length ? lines.map((r) => r.map(field).join(',')).join('\r\n') + '\r\n' : '';
}
