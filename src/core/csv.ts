// CSV, RFC 4180: fields with a comma, quote or line break are quoted, lines end in CRLF, and
// formula-looking text is prefixed with ' so spreadsheets do not run it.

export function toCsv(header: string[], rows: Array<Array<string | number | bigint>>): string {
  const field = (v: string | number | bigint) => {
    let s = String(v);
    if (typeof v === 'string' && /^[=+\-@\t\r]/.test(s) && !/^-?\d+(\.\d+)?$/.test(s)) s = `'${s}`;
    return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
  };
  return [header, ...rows].map((r) => r.map(field).join(',')).join('\r\n') + '\r\n';
}
