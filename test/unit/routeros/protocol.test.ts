import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  RouterOSProtocolError,
  SentenceDecoder,
  decodeText,
  encodeLength,
  encodeSentence,
  encodeTaggedSentence,
  encodeWord,
  parseSentence,
} from '../../../src/core/routeros/protocol.js';

const hex = (b: Buffer) => b.toString('hex');

describe('encodeLength', () => {
  it('matches the documented test vectors', () => {
    expect(hex(encodeLength(0))).toBe('00');
    expect(hex(encodeLength(127))).toBe('7f');
    expect(hex(encodeLength(130))).toBe('8082');
    expect(hex(encodeLength(2097140))).toBe('dffff4');
    expect(hex(encodeLength(268435440))).toBe('effffff0');
  });

  it('switches length class exactly at each boundary', () => {
    expect(hex(encodeLength(127))).toBe('7f');
    expect(hex(encodeLength(128))).toBe('8080');
    expect(hex(encodeLength(16383))).toBe('bfff');
    expect(hex(encodeLength(16384))).toBe('c04000');
    expect(hex(encodeLength(2097151))).toBe('dfffff');
    expect(hex(encodeLength(2097152))).toBe('e0200000');
    expect(hex(encodeLength(268435455))).toBe('efffffff');
    expect(hex(encodeLength(268435456))).toBe('f010000000');
    expect(hex(encodeLength(0xffffffff))).toBe('f0ffffffff');
  });

  it('rejects lengths that cannot be encoded', () => {
    expect(() => encodeLength(-1)).toThrow(RangeError);
    expect(() => encodeLength(1.5)).toThrow(RangeError);
    expect(() => encodeLength(2 ** 32)).toThrow(RangeError);
  });

  it('agrees with a reference encoder for any length, and round-trips through the decoder (property)', () => {
    const dec = new SentenceDecoder();
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0xffffffff }), (n) => {
        expect(hex(encodeLength(n))).toBe(referenceLength(n));
      }),
      { numRuns: 2000 },
    );
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 40000 }), (n) => {
        const word = Buffer.alloc(n, 0x61);
        const out = dec.push(Buffer.concat([encodeLength(n), word, Buffer.from([0])]));
        expect(out).toHaveLength(1);
        expect(out[0]![0]!.length).toBe(n);
      }),
      { numRuns: 300 },
    );
  });
});

/** Independent encoder written from the spec's table, for comparison. */
function referenceLength(n: number): string {
  const big = BigInt(n);
  if (n < 0x80) return big.toString(16).padStart(2, '0');
  if (n < 0x4000) return (big | 0x8000n).toString(16).padStart(4, '0');
  if (n < 0x200000) return (big | 0xc00000n).toString(16).padStart(6, '0');
  if (n < 0x10000000) return (big | 0xe0000000n).toString(16).padStart(8, '0');
  return 'f0' + big.toString(16).padStart(8, '0');
}

describe('encodeWord / encodeSentence', () => {
  it('counts length in UTF-8 bytes, not characters', () => {
    const w = '=name=Ñoño 🚀';
    const bytes = Buffer.from(w, 'utf8');
    expect(bytes.length).toBeGreaterThan(w.length);
    const enc = encodeWord(w);
    expect(enc[0]).toBe(bytes.length);
    expect(enc.subarray(1).equals(bytes)).toBe(true);
  });

  it('accepts raw buffers and terminates sentences with a zero byte', () => {
    const enc = encodeSentence(['/login', Buffer.from([0xff, 0x00])]);
    expect(hex(enc)).toBe('062f6c6f67696e' + '02ff00' + '00');
  });

  it('appends the tag word to a tagged sentence, byte for byte as if it were in the list', () => {
    const words = ['/ppp/secret/add', '=name=Ñoño', Buffer.from([0xe9]), '=comment=' + 'x'.repeat(200)];
    expect(encodeTaggedSentence(words, '42').equals(encodeSentence([...words, '.tag=42']))).toBe(true);
    expect(hex(encodeTaggedSentence(['/cancel'], '7'))).toBe('072f63616e63656c' + '062e7461673d37' + '00');
  });

  it('encodes a sentence with a 5-byte-class boundary word header', () => {
    const w = Buffer.alloc(128, 0x62);
    const enc = encodeSentence([w]);
    expect(hex(enc.subarray(0, 2))).toBe('8080');
    expect(enc.length).toBe(2 + 128 + 1);
  });
});

describe('SentenceDecoder', () => {
  const sample = [
    ['!re', '=.id=*1', '=name=josé', '=comment=a=b=c', '=empty=', '.tag=7'],
    ['!done', '.tag=7'],
    ['!trap', '=message=no such item', '=category=0'],
    ['!re', '=blob=' + 'x'.repeat(200)],
    ['!empty'],
  ];
  const stream = Buffer.concat(sample.map((s) => encodeSentence(s)));

  it('decodes a stream fed in one chunk', () => {
    expect(new SentenceDecoder().push(stream)).toEqual(sample);
  });

  it('decodes when split into two chunks at every byte boundary', () => {
    for (let cut = 0; cut <= stream.length; cut++) {
      const dec = new SentenceDecoder();
      const out = [...dec.push(stream.subarray(0, cut)), ...dec.push(stream.subarray(cut))];
      expect(out).toEqual(sample);
      expect(dec.idle).toBe(true);
    }
  });

  it('decodes when fed one byte at a time', () => {
    const dec = new SentenceDecoder();
    const out: string[][] = [];
    for (let i = 0; i < stream.length; i++) out.push(...dec.push(stream.subarray(i, i + 1)));
    expect(out).toEqual(sample);
  });

  it('decodes any sentences under any chunking (property)', () => {
    const wordArb = fc.oneof(
      fc.string({ minLength: 1, maxLength: 40, unit: 'grapheme' }),
      fc.string({ minLength: 120, maxLength: 300 }),
    );
    fc.assert(
      fc.property(
        fc.array(fc.array(wordArb, { minLength: 1, maxLength: 6 }), { minLength: 1, maxLength: 8 }),
        fc.array(fc.integer({ min: 1, max: 64 }), { minLength: 1, maxLength: 50 }),
        (sentences, sizes) => {
          const buf = Buffer.concat(sentences.map((s) => encodeSentence(s)));
          const dec = new SentenceDecoder();
          const out: string[][] = [];
          let at = 0;
          let k = 0;
          while (at < buf.length) {
            const size = sizes[k++ % sizes.length]!;
            out.push(...dec.push(buf.subarray(at, at + size)));
            at += size;
          }
          expect(out).toEqual(sentences);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('keeps partial words intact when the caller reuses the chunk memory (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.array(fc.string({ minLength: 1, maxLength: 300, unit: 'grapheme' }), { minLength: 1, maxLength: 6 }), { minLength: 1, maxLength: 8 }),
        fc.integer({ min: 1, max: 97 }),
        (sentences, size) => {
          const buf = Buffer.concat(sentences.map((s) => encodeSentence(s)));
          // One read buffer, overwritten by every read, as a socket with `onread` does.
          const shared = Buffer.alloc(size);
          const dec = new SentenceDecoder({ reusedChunks: true });
          const out: string[][] = [];
          for (let at = 0; at < buf.length; at += size) {
            const n = buf.copy(shared, 0, at, at + size);
            out.push(...dec.push(shared.subarray(0, n)));
            shared.fill(0xff);
          }
          expect(out).toEqual(sentences);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('decodes words at every length-class boundary split across chunks', () => {
    for (const len of [127, 128, 16383, 16384, 2097151, 2097152]) {
      const word = Buffer.alloc(len, 0x7a);
      const buf = encodeSentence(['!re', word]);
      const dec = new SentenceDecoder();
      const out: string[][] = [];
      for (let at = 0; at < buf.length; at += 65536) out.push(...dec.push(buf.subarray(at, at + 65536)));
      // and with the prefix itself split
      const dec2 = new SentenceDecoder();
      const out2 = [...dec2.push(buf.subarray(0, 5)), ...dec2.push(buf.subarray(5, 6)), ...dec2.push(buf.subarray(6))];
      for (const o of [out, out2]) {
        expect(o).toHaveLength(1);
        expect(o[0]![1]!.length).toBe(len);
      }
    }
  });

  it('reads 4- and 5-byte length prefixes split across chunks', () => {
    // The length limit reports the decoded length, so big prefixes can be checked without
    // allocating the words they announce.
    for (const len of [268435455, 268435456, 0x7fffffff, 0x80000000, 0xffffffff]) {
      const prefix = encodeLength(len);
      for (let cut = 1; cut < prefix.length; cut++) {
        const dec = new SentenceDecoder({ maxWordBytes: 1 });
        expect(dec.push(prefix.subarray(0, cut))).toEqual([]);
        expect(() => dec.push(prefix.subarray(cut))).toThrow(new RouterOSProtocolError(`word of ${len} bytes exceeds the limit of 1`));
      }
    }
  });

  it('decodes a word with a 5-byte length prefix', () => {
    // Lengths of 2^28 and more always take the 5-byte form when we encode; a decoder must also
    // accept the 5-byte form for a small length (it is unambiguous), which lets this run cheaply.
    const dec = new SentenceDecoder();
    const out = [...dec.push(Buffer.from('f0000000', 'hex')), ...dec.push(Buffer.from('03616263', 'hex')), ...dec.push(Buffer.from([0]))];
    expect(out).toEqual([['abc']]);
  });

  it('rejects a 5-byte length over maxWordBytes (default 64 MiB) before buffering it', () => {
    const dec = new SentenceDecoder();
    expect(() => dec.push(Buffer.from('f0ffffffff', 'hex'))).toThrow(RouterOSProtocolError);
    expect(() => new SentenceDecoder().push(encodeLength(64 * 1024 * 1024 + 1))).toThrow(RouterOSProtocolError);
  });

  it('throws RouterOSProtocolError on a reserved control byte and stays failed', () => {
    for (const b of [0xf8, 0xf9, 0xfe, 0xff]) {
      const dec = new SentenceDecoder();
      expect(() => dec.push(Buffer.concat([encodeSentence(['!done']), Buffer.from([b])]))).toThrow(RouterOSProtocolError);
      expect(() => dec.push(encodeSentence(['!done']))).toThrow(RouterOSProtocolError);
    }
    // 0xF1..0xF7 are not valid prefixes either
    expect(() => new SentenceDecoder().push(Buffer.from([0xf1]))).toThrow(RouterOSProtocolError);
  });

  it('throws on a word over maxWordBytes', () => {
    const dec = new SentenceDecoder({ maxWordBytes: 100 });
    expect(() => dec.push(encodeSentence(['x'.repeat(101)]))).toThrow(/exceeds/);
  });

  it('decodes UTF-8 multi-byte text and falls back on invalid UTF-8', () => {
    const dec = new SentenceDecoder();
    const latin = Buffer.concat([Buffer.from('=comment=caf'), Buffer.from([0xe9, 0x20, 0x80])]);
    const out = dec.push(encodeSentence(['=name=日本語', latin]));
    expect(out).toEqual([['=name=日本語', '=comment=café €']]);
    const cyr = new SentenceDecoder({ fallbackEncoding: 'windows-1251' });
    expect(cyr.push(encodeSentence([Buffer.from([0xcf, 0xf0, 0xe8])]))).toEqual([['При']]);
  });

  it('rejects an unknown fallback encoding up front', () => {
    expect(() => new SentenceDecoder({ fallbackEncoding: 'no-such-code-page' })).toThrow(RangeError);
  });

  // How fast (and how linear) decoding is, is measured in bench/scaling.mjs.
  it('decodes 10,000 rows and a 2 MB word fed in small chunks', () => {
    const rows = Array.from({ length: 10_000 }, (_, i) =>
      encodeSentence(['!re', `=.id=*${i.toString(16)}`, `=name=user${i}`, '=profile=10M', '.tag=1']),
    );
    const buf = Buffer.concat([...rows, encodeSentence(['!re', Buffer.alloc(2 * 1024 * 1024, 0x71)]), encodeSentence(['!done'])]);
    const dec = new SentenceDecoder();
    const sentences: string[][] = [];
    for (let at = 0; at < buf.length; at += 1500) sentences.push(...dec.push(buf.subarray(at, at + 1500)));
    expect(sentences).toHaveLength(10_002);
    expect(sentences[9_999]).toEqual(['!re', '=.id=*270f', '=name=user9999', '=profile=10M', '.tag=1']);
    expect(sentences[10_000]![1]).toBe('q'.repeat(2 * 1024 * 1024));
    expect(sentences[10_001]).toEqual(['!done']);
  });
});

describe('decodeText', () => {
  it('decodes valid UTF-8 as UTF-8', () => {
    expect(decodeText(Buffer.from('Ñandú 🚀', 'utf8'))).toBe('Ñandú 🚀');
  });
  it('falls back to windows-1252 by default, or the given code page', () => {
    expect(decodeText(Buffer.from([0x93, 0x68, 0x69, 0x94]))).toBe('\u201chi\u201d');
    expect(decodeText(Buffer.from([0xe9]), 'iso-8859-2')).toBe('é');
    expect(decodeText(Buffer.from([0xc0, 0xc1]), 'windows-1251')).toBe('АБ');
  });
  it('treats overlong and truncated sequences as invalid UTF-8', () => {
    expect(decodeText(Buffer.from([0xc0, 0xaf]))).toBe('À¯');
    expect(decodeText(Buffer.from([0x61, 0xe2, 0x82]))).toBe('aâ‚');
  });
});

describe('parseSentence', () => {
  it('finds head and tag anywhere and splits attributes, queries and other words', () => {
    expect(parseSentence(['.tag=5', '!re', '=a=b=c', '=e=', '=f', 'reason', '?x=1'])).toEqual({
      head: '!re',
      tag: '5',
      attributes: { a: 'b=c', e: '', f: '' },
      queries: ['?x=1'],
      other: ['reason'],
    });
    expect(parseSentence(['/ppp/secret/print', '?name=a', '=.proplist=name', '.tag=x'])).toMatchObject({
      head: '/ppp/secret/print',
      tag: 'x',
      attributes: { '.proplist': 'name' },
      queries: ['?name=a'],
    });
  });

  it('keeps __proto__ as a plain own attribute', () => {
    const { attributes } = parseSentence(['!re', '=__proto__=polluted']);
    expect(Object.getPrototypeOf(attributes)).toBe(Object.prototype);
    expect(Object.keys(attributes)).toEqual(['__proto__']);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});
