// RouterOS stores bytes, not text. The lab router keeps its values as JavaScript strings so that
// tests and the lab NAS can read them naturally, with one rule that makes every byte sequence
// survive a round trip: bytes that are valid UTF-8 are decoded as UTF-8, and a byte sequence
// that is not valid UTF-8 keeps its ASCII bytes as characters and each byte 0x80..0xFF as the
// lone surrogate U+DC80..U+DCFF ("surrogate escape", as Python does). Encoding reverses it, so
// a cp1252 comment written by Winbox (`Ni\xF1o`) is read back as exactly those bytes.

import { isUtf8 } from 'node:buffer';

const ESCAPE_BASE = 0xdc00;

function isEscape(code: number): boolean {
  return code >= 0xdc80 && code <= 0xdcff;
}

/** The lab's text for a byte sequence (UTF-8 when valid, surrogate escapes otherwise). */
export function textFromBytes(bytes: Uint8Array): string {
  const buf = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (isUtf8(buf)) return buf.toString('utf8');
  let out = '';
  for (const b of buf) out += b < 0x80 ? String.fromCharCode(b) : String.fromCharCode(ESCAPE_BASE + b);
  return out;
}

/** Whether a text holds escaped bytes (so it is not plain Unicode text). */
export function hasEscapedBytes(text: string): boolean {
  return ESCAPED.test(text);
}

const ESCAPED = /[\udc80-\udcff]/;

/** The bytes a lab text stands for: UTF-8, with escaped bytes put back as themselves. */
export function bytesFromText(text: string): Buffer {
  const utf8 = Buffer.from(text, 'utf8');
  // An escaped byte is a lone surrogate, which UTF-8 encoding turns into EF BF BD: without an
  // EF byte there is none (a fast check on large prints).
  if (utf8.indexOf(0xef) < 0 || !hasEscapedBytes(text)) return utf8;
  const parts: Buffer[] = [];
  let run = '';
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (isEscape(code)) {
      if (run) parts.push(Buffer.from(run, 'utf8'));
      run = '';
      parts.push(Buffer.from([code - ESCAPE_BASE]));
    } else {
      run += text[i];
    }
  }
  if (run) parts.push(Buffer.from(run, 'utf8'));
  return Buffer.concat(parts);
}

/** The same bytes in the canonical spelling (after joining texts, split UTF-8 becomes text again). */
export function normalizeText(text: string): string {
  return hasEscapedBytes(text) ? textFromBytes(bytesFromText(text)) : text;
}

/** Length in bytes, as RouterOS counts it. */
export function byteLength(text: string): number {
  return hasEscapedBytes(text) ? bytesFromText(text).length : Buffer.byteLength(text, 'utf8');
}
