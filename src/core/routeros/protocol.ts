// RouterOS API wire format: length-prefixed words, sentences ended by an empty word.
// Pure encoding and an incremental decoder; no sockets here.

import { isUtf8 } from 'node:buffer';
import { TextDecoder } from 'node:util';
import { RouterOSProtocolError } from './errors.js';

export { RouterOSProtocolError };

/** Largest length the 5-byte prefix can carry. */
export const MAX_WORD_LENGTH = 0xffffffff;
export const DEFAULT_FALLBACK_ENCODING = 'windows-1252';
export const DEFAULT_MAX_WORD_BYTES = 64 * 1024 * 1024;

/** Number of prefix bytes needed for a word of `n` bytes. */
export function lengthPrefixSize(n: number): number {
  if (n < 0x80) return 1;
  if (n < 0x4000) return 2;
  if (n < 0x200000) return 3;
  if (n < 0x10000000) return 4;
  return 5;
}

function checkLength(n: number): void {
  if (!Number.isInteger(n) || n < 0 || n > MAX_WORD_LENGTH) {
    throw new RangeError(`RouterOS word length must be an integer from 0 to ${MAX_WORD_LENGTH}, got ${n}`);
  }
}

function writeLength(n: number, out: Buffer, at: number): number {
  if (n < 0x80) {
    out[at] = n;
    return at + 1;
  }
  if (n < 0x4000) {
    out.writeUInt16BE(n | 0x8000, at);
    return at + 2;
  }
  if (n < 0x200000) {
    const v = n | 0xc00000;
    out[at] = (v >>> 16) & 0xff;
    out.writeUInt16BE(v & 0xffff, at + 1);
    return at + 3;
  }
  if (n < 0x10000000) {
    out.writeUInt32BE((n | 0xe0000000) >>> 0, at);
    return at + 4;
  }
  out[at] = 0xf0;
  out.writeUInt32BE(n >>> 0, at + 1);
  return at + 5;
}

/** Length prefix of a word of `n` bytes, most significant byte first. */
export function encodeLength(n: number): Buffer {
  checkLength(n);
  const out = Buffer.allocUnsafe(lengthPrefixSize(n));
  writeLength(n, out, 0);
  return out;
}

/** One word: prefix (length in bytes, not characters) and the UTF-8 bytes. */
export function encodeWord(word: string | Buffer): Buffer {
  return encodeWords([word], undefined, false);
}

/** A whole sentence: every word, then the zero-length terminator. */
export function encodeSentence(words: ReadonlyArray<string | Buffer>): Buffer {
  return encodeWords(words, undefined, true);
}

/** A whole sentence with `.tag=tag` as its last word (the client's commands). */
export function encodeTaggedSentence(words: ReadonlyArray<string | Buffer>, tag: string): Buffer {
  return encodeWords(words, `.tag=${tag}`, true);
}

/** Byte lengths of the words being encoded (reused: encoding is synchronous). */
let scratch = new Float64Array(16);

/** Encode straight into one buffer: no intermediate Buffer per word. */
function encodeWords(words: ReadonlyArray<string | Buffer>, extra: string | undefined, terminate: boolean): Buffer {
  const count = words.length + (extra === undefined ? 0 : 1);
  if (scratch.length < count) scratch = new Float64Array(Math.max(count, scratch.length * 2));
  const lengths = scratch;
  let size = terminate ? 1 : 0;
  for (let i = 0; i < count; i++) {
    const w = i < words.length ? words[i]! : extra!;
    const n = typeof w === 'string' ? Buffer.byteLength(w, 'utf8') : w.length;
    checkLength(n);
    lengths[i] = n;
    size += lengthPrefixSize(n) + n;
  }
  const out = Buffer.allocUnsafe(size);
  let at = 0;
  for (let i = 0; i < count; i++) {
    const w = i < words.length ? words[i]! : extra!;
    const n = lengths[i]!;
    at = writeLength(n, out, at);
    if (typeof w === 'string') at += out.write(w, at, n, 'utf8');
    else at += w.copy(out, at);
  }
  if (terminate) out[at] = 0;
  return out;
}

/**
 * Text of a word: UTF-8 when the bytes are valid UTF-8, otherwise decoded with the fallback code
 * page (RouterOS stores bytes; Winbox may have written a Windows code page).
 */
export function decodeText(bytes: Buffer, fallbackEncoding: string = DEFAULT_FALLBACK_ENCODING): string {
  if (isUtf8(bytes)) return bytes.toString('utf8');
  return makeFallbackDecoder(fallbackEncoding)(bytes);
}

/** windows-1252 code points of bytes 0x80..0x9F (WHATWG index; unassigned bytes map to themselves). */
const CP1252_HIGH: readonly number[] = [
  0x20ac, 0x81, 0x201a, 0x192, 0x201e, 0x2026, 0x2020, 0x2021, 0x2c6, 0x2030, 0x160, 0x2039, 0x152, 0x8d, 0x17d, 0x8f,
  0x90, 0x2018, 0x2019, 0x201c, 0x201d, 0x2022, 0x2013, 0x2014, 0x2dc, 0x2122, 0x161, 0x203a, 0x153, 0x9d, 0x17e, 0x178,
];

function decodeWindows1252(bytes: Buffer): string {
  const latin = bytes.toString('latin1');
  // Some Node releases decode windows-1252 as ISO-8859-1 (bytes 0x80..0x9F as C1 controls);
  // map that range ourselves so the result does not depend on the runtime.
  return latin.replace(/[\u0080-\u009f]/g, (c) => String.fromCharCode(CP1252_HIGH[c.charCodeAt(0) - 0x80]!));
}

/**
 * A decoder for a WHATWG encoding label. Throws RangeError for an unknown label.
 */
export function makeFallbackDecoder(label: string): (bytes: Buffer) => string {
  let decoder: TextDecoder;
  try {
    decoder = new TextDecoder(label);
  } catch {
    throw new RangeError(`unknown fallback encoding: ${label}`);
  }
  if (decoder.encoding === 'windows-1252') return decodeWindows1252;
  return (bytes) => decoder.decode(bytes);
}

export interface DecoderOptions {
  /** Code page for words that are not valid UTF-8 (a WHATWG encoding label). Default windows-1252. */
  fallbackEncoding?: string;
  /** Largest word accepted; a longer one is a protocol error. Default 64 MiB. */
  maxWordBytes?: number;
  /**
   * How a word's bytes become text, replacing the UTF-8-or-fallback rule (a server that must
   * give back exactly the bytes it was sent uses this).
   */
  decodeWord?: (bytes: Buffer) => string;
  /**
   * The caller reuses each chunk's memory once `push` returns (a socket reading into one
   * buffer): the part of a word that must wait for the next chunk is copied.
   */
  reusedChunks?: boolean;
}

/**
 * Incremental decoder of the reply stream. Feed it socket chunks of any size; it returns the
 * sentences each chunk completes. Work is linear in the bytes fed: a partial word is kept as a
 * list of slices and joined once, when complete.
 */
export class SentenceDecoder {
  private readonly fallback: (bytes: Buffer) => string;
  private readonly decodeWord: ((bytes: Buffer) => string) | undefined;
  private readonly maxWordBytes: number;
  private readonly reusedChunks: boolean;
  /** Words of the sentence being read. */
  private words: string[] = [];
  /** Prefix bytes read so far and how many the prefix has (0 = waiting for a first byte). */
  private prefixNeed = 0;
  private prefixGot = 0;
  private prefixValue = 0;
  /** Length of the word being read, or -1 while reading a prefix. */
  private wordLen = -1;
  private wordParts: Buffer[] = [];
  private wordGot = 0;
  private failed: RouterOSProtocolError | undefined;

  constructor(opts: DecoderOptions = {}) {
    this.fallback = makeFallbackDecoder(opts.fallbackEncoding ?? DEFAULT_FALLBACK_ENCODING);
    this.maxWordBytes = opts.maxWordBytes ?? DEFAULT_MAX_WORD_BYTES;
    this.decodeWord = opts.decodeWord;
    this.reusedChunks = opts.reusedChunks ?? false;
  }

  /** True when the decoder holds no partial word or sentence. */
  get idle(): boolean {
    return this.words.length === 0 && this.wordLen === -1 && this.prefixNeed === 0;
  }

  push(chunk: Buffer): string[][] {
    if (this.failed) throw this.failed;
    const done: string[][] = [];
    let i = 0;
    const n = chunk.length;
    while (i < n) {
      if (this.wordLen === -1) {
        // Reading a length prefix.
        if (this.prefixNeed === 0) {
          const b = chunk[i++]!;
          if (b < 0x80) {
            this.startWord(b, done);
            continue;
          } else if (b < 0xc0) {
            this.prefixNeed = 2;
            this.prefixValue = b & 0x3f;
          } else if (b < 0xe0) {
            this.prefixNeed = 3;
            this.prefixValue = b & 0x1f;
          } else if (b < 0xf0) {
            this.prefixNeed = 4;
            this.prefixValue = b & 0x0f;
          } else if (b === 0xf0) {
            this.prefixNeed = 5;
            this.prefixValue = 0;
          } else {
            return this.fail(`reserved control byte 0x${b.toString(16)} where a word length was expected`);
          }
          this.prefixGot = 1;
        }
        while (this.prefixGot < this.prefixNeed && i < n) {
          // Multiply rather than shift: a 5-byte length may exceed 2^31.
          this.prefixValue = this.prefixValue * 256 + chunk[i++]!;
          this.prefixGot++;
        }
        if (this.prefixGot === this.prefixNeed) {
          const len = this.prefixValue;
          this.prefixNeed = 0;
          this.prefixGot = 0;
          this.prefixValue = 0;
          this.startWord(len, done);
        }
        continue;
      }
      // Reading word bytes.
      const want = this.wordLen - this.wordGot;
      const avail = n - i;
      if (this.wordGot === 0 && avail >= want) {
        this.finishWord(chunk.subarray(i, i + want));
        i += want;
        continue;
      }
      const take = Math.min(want, avail);
      const part = chunk.subarray(i, i + take);
      this.wordParts.push(this.reusedChunks ? Buffer.from(part) : part);
      this.wordGot += take;
      i += take;
      if (this.wordGot === this.wordLen) {
        const bytes = Buffer.concat(this.wordParts, this.wordLen);
        this.wordParts = [];
        this.finishWord(bytes);
      }
    }
    return done;
  }

  private fail(message: string): never {
    this.failed = new RouterOSProtocolError(message);
    throw this.failed;
  }

  private startWord(len: number, done: string[][]): void {
    if (len === 0) {
      // End of sentence. An empty sentence carries nothing; skip it.
      if (this.words.length > 0) done.push(this.words);
      this.words = [];
      return;
    }
    if (len > this.maxWordBytes) {
      this.fail(`word of ${len} bytes exceeds the limit of ${this.maxWordBytes}`);
    }
    this.wordLen = len;
    this.wordGot = 0;
  }

  private finishWord(bytes: Buffer): void {
    if (this.decodeWord) this.words.push(this.decodeWord(bytes));
    else this.words.push(isUtf8(bytes) ? bytes.toString('utf8') : this.fallback(bytes));
    this.wordLen = -1;
    this.wordGot = 0;
  }
}

/** A sentence split into its parts (works for commands and replies alike). */
export interface ParsedSentence {
  /** The command (`/ppp/secret/print`) or reply type (`!re`), wherever it sits; undefined if none. */
  head: string | undefined;
  /** Value of the `.tag=` word, if any. */
  tag: string | undefined;
  /** `=name=value` words, in order (a later duplicate wins). Values may contain `=` or be empty. */
  attributes: Record<string, string>;
  /** `?...` query words, in order. */
  queries: string[];
  /** Anything else, e.g. the reason word after `!fatal`. */
  other: string[];
}

/** Split a decoded sentence into head, tag, attributes, query words and the rest. */
export function parseSentence(words: readonly string[]): ParsedSentence {
  const out: ParsedSentence = { head: undefined, tag: undefined, attributes: {}, queries: [], other: [] };
  for (const w of words) {
    if (out.tag === undefined && w.startsWith('.tag=')) out.tag = w.slice(5);
    else if (out.head === undefined && (w.startsWith('!') || w.startsWith('/'))) out.head = w;
    else if (w.startsWith('=')) {
      const eq = w.indexOf('=', 1);
      if (eq === -1) setOwn(out.attributes, w.slice(1), '');
      else setOwn(out.attributes, w.slice(1, eq), w.slice(eq + 1));
    } else if (w.startsWith('?')) out.queries.push(w);
    else out.other.push(w);
  }
  return out;
}

/** Assign as an own property even for `__proto__`, so no reply can touch a prototype. */
function setOwn(target: Record<string, string>, key: string, value: string): void {
  if (key === '__proto__') Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
  else target[key] = value;
}
