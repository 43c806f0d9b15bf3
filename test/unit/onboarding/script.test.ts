import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { IspctlError } from '../../../src/core/errors.js';
import { rosAddress, rosEscape, rosName, rosQuote, rosUnquote } from '../../../src/core/onboarding/script.js';

describe('RouterOS string quoting', () => {
  it('writes every escape RouterOS knows', () => {
    expect(rosQuote('a"b\\c$d?e')).toBe('"a\\"b\\\\c\\$d\\?e"');
    expect(rosQuote('\n\r\t\x07\x08\x0c\x0b')).toBe('"\\n\\r\\t\\a\\b\\f\\v"');
    expect(rosQuote('\x00\x1f\x7f')).toBe('"\\00\\1F\\7F"');
    expect(rosQuote('café')).toBe('"caf\\C3\\A9"');
    expect(rosQuote(Buffer.from([0xe9, 0x20, 0x41]))).toBe('"\\E9 A"');
    expect(rosQuote('')).toBe('""');
  });

  it('gives back exactly the bytes it was given, in printable ASCII only', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        const q = rosQuote(bytes);
        expect(q).toMatch(/^"[\x20-\x7e]*"$/);
        expect([...rosUnquote(q)]).toEqual([...bytes]);
      }),
      { numRuns: 200 },
    );
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 100 }), (s) => {
        expect(rosUnquote(rosQuote(s)).toString('utf8')).toBe(Buffer.from(s, 'utf8').toString('utf8'));
      }),
    );
  });

  it('leaves no quote, variable or help character bare, so a value cannot end the string or run a command', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 80 }), (s) => {
        const body = rosEscape(s);
        // Walk the body as RouterOS would: every `"`, `$` and `?` must be escaped.
        for (let i = 0; i < body.length; i++) {
          if (body[i] === '\\') {
            i += /[0-9A-F]{2}/.test(body.slice(i + 1, i + 3)) ? 2 : 1;
            continue;
          }
          expect(['"', '$', '?']).not.toContain(body[i]);
        }
      }),
      { numRuns: 200 },
    );
    const hostile = ['x"; /system reset-configuration; :put "', 'x$[/system reboot]', '\\"; /user remove admin; #', 'a?b', 'name\n/ip service disable api'];
    for (const h of hostile) {
      const q = rosQuote(h);
      expect(rosUnquote(q).toString('utf8')).toBe(h);
      expect(q.slice(1, -1)).not.toMatch(/(^|[^\\])(\\\\)*"/);
      expect(q).not.toContain('\n');
    }
  });

  it('rejects malformed literals when reading back', () => {
    expect(() => rosUnquote('"a"b"')).toThrow(SyntaxError);
    expect(() => rosUnquote('"a\\"')).toThrow(SyntaxError);
    expect(() => rosUnquote('"\\e9"')).toThrow(SyntaxError); // hex escapes are capital letters
    expect([...rosUnquote('"\\_"')]).toEqual([0x20]);
  });

  it('keeps generated names to letters, digits, . _ -', () => {
    expect(rosName('wg-ispctl', 'interface name')).toBe('wg-ispctl');
    for (const bad of ['', 'a b', 'x"y', 'a;b', 'ä', 'x'.repeat(64), 'a$b']) {
      expect(() => rosName(bad, 'interface name')).toThrow(IspctlError);
    }
    expect(rosAddress('10.0.0.1/24', 'address')).toBe('10.0.0.1/24');
    for (const bad of ['10.0.0.256', '10.0.0.1/33', '010.0.0.1', '10.0.0.1 ', '1.2.3.4;']) expect(() => rosAddress(bad, 'address')).toThrow(IspctlError);
  });
});
