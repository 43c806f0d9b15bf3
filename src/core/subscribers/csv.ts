// A small RFC 4180 CSV reader: comma-separated fields, optional double quotes around a field,
// `""` for a quote inside one, quoted fields may hold commas and line breaks. CRLF, LF and a
// leading byte order mark are accepted; blank lines are skipped.

import { errors } from '../error-catalogue.js';

export interface CsvRecord {
  /** Fields as written (quotes removed). */
  fields: string[];
  /** Line of the file where the record starts (1-based). */
  line: number;
}

/**
 * Parses CSV text into records.
 * @throws IspctlError INVALID_CSV with the line number for a quote in an unquoted field, text
 *   after a closing quote, or a quote that is never closed
 */
export function parseCsv(text: string): CsvRecord[] {
  const s = text.startsWith('\uFEFF') ? text.slice(1) : text;
  const records: CsvRecord[] = [];
  let fields: string[] = [];
  let field = '';
  let line = 1;
  let recordLine = 1;
  let i = 0;
  let quoted = false; // inside a quoted field
  let wasQuoted = false; // the current field was quoted (and is now closed)
  let empty = true; // nothing seen yet on this record
  const fail = (why: string, at: number): never => {
    throw errors.invalidCsv(`is malformed on line ${at}: ${why}`, ['Put fields holding commas, quotes or line breaks in double quotes, and write a quote inside them as ""'], { line: at });
  };
  const endRecord = () => {
    fields.push(field);
    if (!(empty && fields.length === 1 && field === '')) records.push({ fields, line: recordLine });
    fields = [];
    field = '';
    wasQuoted = false;
    empty = true;
  };
  while (i < s.length) {
    const c = s[i]!;
    if (quoted) {
      if (c === '"') {
        if (s[i + 1] === '"') {
          field += '"';
          i += 2;
          continue;
        }
        quoted = false;
        wasQuoted = true;
        i++;
        continue;
      }
      if (c === '\n') line++;
      field += c;
      i++;
      continue;
    }
    if (c === ',') {
      fields.push(field);
      field = '';
      wasQuoted = false;
      empty = false;
      i++;
      continue;
    }
    if (c === '\r' || c === '\n') {
      endRecord();
      i += c === '\r' && s[i + 1] === '\n' ? 2 : 1;
      line++;
      recordLine = line;
      continue;
    }
    if (wasQuoted) fail('there is text after a closing quote', line);
    if (c === '"') {
      if (field !== '') fail('a quote appears inside an unquoted field', line);
      quoted = true;
      empty = false;
      i++;
      continue;
    }
    field += c;
    empty = false;
    i++;
  }
  if (quoted) fail('a quoted field is never closed', recordLine);
  if (!empty || field !== '' || fields.length > 0) endRecord();
  return records;
}
