import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { IspctlError } from '../../src/core/errors.js';
import {
  MAX_MINOR_UNITS,
  allocate,
  applyDiscount,
  assertCurrency,
  currencyExponent,
  formatMoney,
  fromDecimalString,
  isCurrencyCode,
  parseMoney,
  parsePercent,
  prorate,
  toDecimalString,
  type ParseMoneyOptions,
} from '../../src/core/money.js';

const CURRENCIES = ['PHP', 'USD', 'JPY', 'KWD', 'EUR'] as const;

/** Runs `fn` and returns the IspctlError it throws (fails the test if it does not throw one). */
function caught(fn: () => unknown): IspctlError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(IspctlError);
    return err as IspctlError;
  }
  throw new Error('expected an IspctlError');
}

describe('currencies', () => {
  it('knows ISO 4217 codes in upper case only', () => {
    expect(isCurrencyCode('PHP')).toBe(true);
    expect(isCurrencyCode('USD')).toBe(true);
    expect(isCurrencyCode('php')).toBe(false);
    expect(isCurrencyCode('XYZ')).toBe(false);
    expect(isCurrencyCode('PHPX')).toBe(false);
    expect(isCurrencyCode('')).toBe(false);
  });

  it('assertCurrency returns the code or throws INVALID_CURRENCY with suggestions', () => {
    expect(assertCurrency('PHP')).toBe('PHP');
    const lower = caught(() => assertCurrency('php'));
    expect(lower.code).toBe('INVALID_CURRENCY');
    expect(lower.kind).toBe('invalid');
    expect(lower.exitCode).toBe(2);
    expect(lower.message).toContain('"php"');
    expect(lower.suggestions.join(' ')).toContain('PHP');
    const symbol = caught(() => assertCurrency('₱'));
    expect(symbol.suggestions.join(' ')).toContain('PHP');
    const unknown = caught(() => assertCurrency('ABC'));
    expect(unknown.suggestions.at(-1)).toMatch(/ISO 4217/);
  });

  it('takes the exponent from Intl', () => {
    expect(currencyExponent('PHP')).toBe(2);
    expect(currencyExponent('USD')).toBe(2);
    expect(currencyExponent('JPY')).toBe(0);
    expect(currencyExponent('KWD')).toBe(3);
    expect(() => currencyExponent('XYZ')).toThrow(IspctlError);
  });
});

describe('parseMoney accepts what people type', () => {
  const accepted: Array<[string, string, bigint, ParseMoneyOptions?]> = [
    ['1500', 'PHP', 150000n],
    ['1500.5', 'PHP', 150050n],
    ['1500.05', 'PHP', 150005n],
    ['1,500.00', 'PHP', 150000n],
    ['1,234,567.89', 'PHP', 123456789n],
    ['₱1,500.00', 'PHP', 150000n],
    ['₱ 1,500.00', 'PHP', 150000n],
    ['PHP 1500', 'PHP', 150000n],
    ['PHP1500', 'PHP', 150000n],
    ['P1,500', 'PHP', 150000n],
    ['P1500.50', 'PHP', 150050n],
    ['P 1,500.00', 'PHP', 150000n],
    ['-P1,500', 'PHP', -150000n, { allowNegative: true }],
    ['1500 PHP', 'PHP', 150000n],
    ['php 1,500.50', 'PHP', 150050n],
    ['  1500  ', 'PHP', 150000n],
    ['\u00a0₱1,500.00\u00a0', 'PHP', 150000n],
    ['0', 'PHP', 0n],
    ['0.01', 'PHP', 1n],
    ['.50', 'PHP', 50n],
    ['1500.', 'PHP', 150000n],
    ['001500', 'PHP', 150000n],
    ['-1500', 'PHP', -150000n, { allowNegative: true }],
    ['-₱1,500.00', 'PHP', -150000n, { allowNegative: true }],
    ['₱-1,500.00', 'PHP', -150000n, { allowNegative: true }],
    ['-PHP 1500', 'PHP', -150000n, { allowNegative: true }],
    ['\u22121500', 'PHP', -150000n, { allowNegative: true }],
    ['-0', 'PHP', 0n],
    ['$1,500.00', 'USD', 150000n],
    ['USD 1500', 'USD', 150000n],
    ['€1,500.00', 'EUR', 150000n],
    ['1500 EUR', 'EUR', 150000n],
    ['¥1,500', 'JPY', 1500n],
    ['1500', 'JPY', 1500n],
    ['KWD 1,234.500', 'KWD', 1234500n],
    ['1.5', 'KWD', 1500n],
    ['CA$15', 'CAD', 1500n],
    ['$15', 'CAD', 1500n],
    ['9223372036854775807', 'JPY', MAX_MINOR_UNITS],
    ['92,233,720,368,547,758.07', 'PHP', MAX_MINOR_UNITS],
  ];
  it.each(accepted)('%j in %s is %s minor units', (input, currency, expected, opts) => {
    expect(parseMoney(input, currency, opts)).toBe(expected);
  });
});

describe('parseMoney rejects what is wrong or ambiguous', () => {
  const rejected: Array<[string, string, RegExp, ParseMoneyOptions?]> = [
    ['', 'PHP', /is empty/],
    ['   ', 'PHP', /is empty/],
    ['abc', 'PHP', /is not a number/],
    ['₱', 'PHP', /is not a number/],
    ['-', 'PHP', /is not a number/, { allowNegative: true }],
    ['.', 'PHP', /is not a number/],
    ['1500abc', 'PHP', /unexpected text "abc"/],
    ['P1500', 'USD', /unexpected text "P"/],
    ['P1,500 PHP', 'PHP', /names the currency more than once/],
    ['Pesos 1500', 'PHP', /unexpected text "Pesos"/],
    ['P1,500.555', 'PHP', /3 decimal places/],
    ['1500.555', 'PHP', /3 decimal places, but PHP has 2/],
    ['1.500', 'PHP', /3 decimal places/],
    ['1500.5', 'JPY', /JPY has no minor unit/],
    ['1500.00', 'JPY', /JPY has no minor unit/],
    ['1.2345', 'KWD', /4 decimal places, but KWD has 3/],
    ['$1500', 'PHP', /\$, the symbol of another currency \(USD\).*PHP/],
    ['€1500', 'PHP', /EUR/],
    ['USD 1500', 'PHP', /is in USD, but amounts here are in PHP/],
    ['1500 usd', 'PHP', /is in USD/],
    ['₱1500 USD', 'PHP', /two currencies, PHP and USD/],
    ['PHP 1500 USD', 'PHP', /two currencies/],
    ['₱1500 PHP', 'PHP', /more than once/],
    ['1,50,0', 'PHP', /misplaced thousands separators/],
    [',1500', 'PHP', /misplaced thousands separators/],
    ['1500,', 'PHP', /misplaced thousands separators/],
    ['1,5000', 'PHP', /misplaced thousands separators/],
    ['1500,50', 'PHP', /comma as the decimal point/],
    ['1.500,50', 'PHP', /comma after the decimal point/],
    ['1.500.00', 'PHP', /more than one decimal point/],
    ['1..5', 'PHP', /more than one decimal point/],
    ['1 500', 'PHP', /space inside the number/],
    ['1500 200', 'PHP', /space inside the number/],
    ['-1500', 'PHP', /is negative/],
    ['-₱1,500.00', 'PHP', /is negative/],
    ['1500-', 'PHP', /minus sign in the wrong place/, { allowNegative: true }],
    ['--1500', 'PHP', /more than one minus sign/, { allowNegative: true }],
    ['0', 'PHP', /is zero/, { allowZero: false }],
    ['0.00', 'PHP', /is zero/, { allowZero: false }],
    ['9223372036854775808', 'JPY', /too large/],
    ['92,233,720,368,547,758.08', 'PHP', /too large/],
    ['-92233720368547758.08', 'PHP', /too large/, { allowNegative: true }],
    ['1' + '0'.repeat(400), 'PHP', /too large/],
  ];
  it.each(rejected)('%j in %s', (input, currency, why, opts) => {
    const err = caught(() => parseMoney(input, currency, opts));
    expect(err.code).toBe('INVALID_AMOUNT');
    expect(err.kind).toBe('invalid');
    expect(err.message).toMatch(why);
    if (input.trim() !== '') expect(err.message).toContain(JSON.stringify(input));
    expect(err.suggestions.at(-1)).toMatch(new RegExp(`^Type the amount in ${currency}, e\\.g\\. 1500 or 1,500`));
    expect(err.details).toMatchObject({ field: 'amount', currency });
  });

  it('names the field in messages', () => {
    const err = caught(() => parseMoney('abc', 'PHP', { field: 'price' }));
    expect(err.message).toBe('Price "abc" is not a number.');
    expect(err.details?.field).toBe('price');
  });

  it('shows a currency-specific example', () => {
    expect(caught(() => parseMoney('x', 'PHP')).suggestions).toContain('Type the amount in PHP, e.g. 1500 or 1,500.00');
    expect(caught(() => parseMoney('x', 'JPY')).suggestions).toContain('Type the amount in JPY, e.g. 1500 or 1,500');
    expect(caught(() => parseMoney('x', 'KWD')).suggestions).toContain('Type the amount in KWD, e.g. 1500 or 1,500.000');
  });

  it('rejects an unknown currency', () => {
    expect(caught(() => parseMoney('1500', 'XYZ')).code).toBe('INVALID_CURRENCY');
  });
});

describe('formatting', () => {
  it('formats through Intl', () => {
    expect(formatMoney(150000n, 'PHP')).toBe('₱1,500.00');
    expect(formatMoney(-150050n, 'PHP')).toBe('-₱1,500.50');
    expect(formatMoney(1500n, 'JPY')).toBe('¥1,500');
    expect(formatMoney(150000n, 'USD', { locale: 'en-US' })).toBe('$1,500.00');
    expect(formatMoney(1234500n, 'KWD')).toMatch(/^KWD\s1,234\.500$/);
    expect(formatMoney(150000n, 'EUR', { locale: 'de-DE' })).toMatch(/^1\.500,00\s€$/);
  });

  it('stays exact beyond 2^53', () => {
    expect(formatMoney(MAX_MINOR_UNITS, 'PHP')).toBe('₱92,233,720,368,547,758.07');
    expect(formatMoney(9007199254740993n, 'JPY')).toBe('¥9,007,199,254,740,993');
  });

  it('writes and reads plain decimal strings', () => {
    expect(toDecimalString(150000n, 'PHP')).toBe('1500.00');
    expect(toDecimalString(5n, 'PHP')).toBe('0.05');
    expect(toDecimalString(-5n, 'PHP')).toBe('-0.05');
    expect(toDecimalString(0n, 'PHP')).toBe('0.00');
    expect(toDecimalString(1500n, 'JPY')).toBe('1500');
    expect(toDecimalString(1n, 'KWD')).toBe('0.001');
    expect(fromDecimalString('1500.00', 'PHP')).toBe(150000n);
    expect(fromDecimalString('1500.5', 'PHP')).toBe(150050n);
    expect(fromDecimalString('-0.05', 'PHP')).toBe(-5n);
    expect(fromDecimalString('1500', 'JPY')).toBe(1500n);
    for (const bad of ['1,500.00', '₱1500', '1500.555', '', 'abc', '9223372036854775808']) {
      expect(caught(() => fromDecimalString(bad, bad === '9223372036854775808' ? 'JPY' : 'PHP')).code).toBe('INVALID_AMOUNT');
    }
  });
});

describe('round trips (properties)', () => {
  const anyAmount = fc.bigInt({ min: -MAX_MINOR_UNITS, max: MAX_MINOR_UNITS });
  const anyCurrency = fc.constantFrom(...CURRENCIES);

  it('parseMoney(formatMoney(x)) === x', () => {
    fc.assert(
      fc.property(anyAmount, anyCurrency, (x, currency) => {
        expect(parseMoney(formatMoney(x, currency), currency, { allowNegative: true })).toBe(x);
      }),
      { numRuns: 500 },
    );
  });

  it('parseMoney(formatMoney(x)) === x for small amounts', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: -100_000n, max: 100_000n }), anyCurrency, (x, currency) => {
        expect(parseMoney(formatMoney(x, currency), currency, { allowNegative: true })).toBe(x);
      }),
    );
  });

  it('parseMoney(toDecimalString(x)) === x and fromDecimalString(toDecimalString(x)) === x', () => {
    fc.assert(
      fc.property(anyAmount, anyCurrency, (x, currency) => {
        const s = toDecimalString(x, currency);
        expect(parseMoney(s, currency, { allowNegative: true })).toBe(x);
        expect(fromDecimalString(s, currency)).toBe(x);
      }),
      { numRuns: 500 },
    );
  });
});

describe('allocate', () => {
  it('splits without losing a minor unit, ties to earlier parts', () => {
    expect(allocate(100n, [1, 1, 1])).toEqual([34n, 33n, 33n]);
    expect(allocate(-100n, [1, 1, 1])).toEqual([-34n, -33n, -33n]);
    expect(allocate(5n, [1n, 1n])).toEqual([3n, 2n]);
    expect(allocate(0n, [1, 2])).toEqual([0n, 0n]);
    expect(allocate(100n, [70, 30])).toEqual([70n, 30n]);
    expect(allocate(1n, [0, 1, 1])).toEqual([0n, 1n, 0n]);
    expect(allocate(10n, [3, 0, 7])).toEqual([3n, 0n, 7n]);
    // largest remainder: 101 by 1:2:2 → exact 20.2, 40.4, 40.4 → 20, 41, 40
    expect(allocate(101n, [1, 2, 2])).toEqual([20n, 41n, 40n]);
  });

  it('throws on bad ratios', () => {
    expect(() => allocate(100n, [])).toThrow(RangeError);
    expect(() => allocate(100n, [0, 0])).toThrow(RangeError);
    expect(() => allocate(100n, [1, -1, 1])).toThrow(RangeError);
    expect(() => allocate(100n, [0.5, 0.5])).toThrow(RangeError);
    expect(() => allocate(100n, [Number.NaN])).toThrow(RangeError);
  });

  it('parts always sum to the total and stay within one minor unit of the exact share (property)', () => {
    fc.assert(
      fc.property(
        fc.bigInt({ min: -(10n ** 15n), max: 10n ** 15n }),
        fc.array(fc.oneof(fc.nat({ max: 1000 }), fc.bigInt({ min: 0n, max: 10n ** 12n })), { minLength: 1, maxLength: 12 }),
        (total, ratios) => {
          const sum = ratios.reduce<bigint>((a, r) => a + BigInt(r), 0n);
          fc.pre(sum > 0n);
          const parts = allocate(total, ratios);
          expect(parts).toHaveLength(ratios.length);
          expect(parts.reduce((a, b) => a + b, 0n)).toBe(total);
          parts.forEach((part, i) => {
            // |part - total*r/sum| < 1  ⇔  |part*sum - total*r| < sum
            const diff = part * sum - total * BigInt(ratios[i]!);
            expect(diff < 0n ? -diff : diff).toBeLessThan(sum);
            if (BigInt(ratios[i]!) === 0n) expect(part).toBe(0n);
          });
        },
      ),
    );
  });
});

describe('prorate', () => {
  it('computes amount × num ÷ den with half-up by default', () => {
    expect(prorate(150000n, 10, 30)).toBe(50000n);
    expect(prorate(100000n, 1, 3)).toBe(33333n);
    expect(prorate(200000n, 1, 3)).toBe(66667n);
    expect(prorate(5n, 1, 2)).toBe(3n); // 2.5 → 3
    expect(prorate(-5n, 1, 2)).toBe(-3n); // -2.5 → -3 (away from zero)
    expect(prorate(150000n, 0, 30)).toBe(0n);
    expect(prorate(150000n, 30, 30)).toBe(150000n);
    expect(prorate(150000n, 45n, 30n)).toBe(225000n);
    expect(prorate(10n, 1, -4)).toBe(-3n); // -2.5 → -3
  });

  it('rounds half to even when asked', () => {
    expect(prorate(5n, 1, 2, 'half-even')).toBe(2n); // 2.5 → 2
    expect(prorate(7n, 1, 2, 'half-even')).toBe(4n); // 3.5 → 4
    expect(prorate(-5n, 1, 2, 'half-even')).toBe(-2n);
    expect(prorate(11n, 1, 4, 'half-even')).toBe(3n); // 2.75 → 3
  });

  it('is exact for amounts beyond 2^53', () => {
    expect(prorate(MAX_MINOR_UNITS, 1, 1)).toBe(MAX_MINOR_UNITS);
    expect(prorate(MAX_MINOR_UNITS, 29, 31)).toBe((MAX_MINOR_UNITS * 29n + 15n) / 31n);
  });

  it('throws on a zero denominator or non-integers', () => {
    expect(() => prorate(100n, 1, 0)).toThrow(RangeError);
    expect(() => prorate(100n, 1.5, 3)).toThrow(RangeError);
  });

  it('stays within 0..amount and is monotonic in the numerator (property)', () => {
    fc.assert(
      fc.property(
        fc.bigInt({ min: 0n, max: MAX_MINOR_UNITS }),
        fc.integer({ min: 1, max: 366 }),
        fc.integer({ min: 0, max: 366 }),
        fc.integer({ min: 0, max: 366 }),
        fc.constantFrom('half-up' as const, 'half-even' as const),
        (amount, den, n1, n2, rounding) => {
          const a = Math.min(n1, den);
          const b = Math.min(n2, den);
          const ra = prorate(amount, a, den, rounding);
          const rb = prorate(amount, b, den, rounding);
          expect(ra >= 0n && ra <= amount).toBe(true);
          if (a <= b) expect(ra <= rb).toBe(true);
          // within half a unit of the exact value: |2·(r·den − amount·a)| ≤ den
          const err = 2n * (ra * BigInt(den) - amount * BigInt(a));
          expect((err < 0n ? -err : err) <= BigInt(den)).toBe(true);
        },
      ),
    );
  });
});

describe('discounts and percentages', () => {
  it('applies fixed and percent discounts, never below zero', () => {
    expect(applyDiscount(150000n, { kind: 'fixed', minor: 20000n })).toBe(130000n);
    expect(applyDiscount(150000n, { kind: 'fixed', minor: 200000n })).toBe(0n);
    expect(applyDiscount(150000n, { kind: 'percent', basisPoints: 1000 })).toBe(135000n);
    expect(applyDiscount(150000n, { kind: 'percent', basisPoints: 1050 })).toBe(134250n);
    expect(applyDiscount(150000n, { kind: 'percent', basisPoints: 10000 })).toBe(0n);
    expect(applyDiscount(150000n, { kind: 'percent', basisPoints: 0 })).toBe(150000n);
    // 12.5% of 0.05 = 0.00625 → discount rounds half-up to 0.01
    expect(applyDiscount(5n, { kind: 'percent', basisPoints: 1250 })).toBe(4n);
    // 10% of 0.05 = 0.005 → discount 0.01 (half-up)
    expect(applyDiscount(5n, { kind: 'percent', basisPoints: 1000 })).toBe(4n);
  });

  it('rejects malformed discounts', () => {
    expect(() => applyDiscount(100n, { kind: 'percent', basisPoints: 10001 })).toThrow(RangeError);
    expect(() => applyDiscount(100n, { kind: 'percent', basisPoints: 10.5 })).toThrow(RangeError);
    expect(() => applyDiscount(100n, { kind: 'fixed', minor: -1n })).toThrow(RangeError);
    expect(() => applyDiscount(-100n, { kind: 'fixed', minor: 1n })).toThrow(RangeError);
  });

  it('parses percentages into basis points', () => {
    expect(parsePercent('10%')).toBe(1000);
    expect(parsePercent('10.5')).toBe(1050);
    expect(parsePercent(' 7.25 % ')).toBe(725);
    expect(parsePercent('0')).toBe(0);
    expect(parsePercent('100')).toBe(10000);
    expect(parsePercent('100.00%')).toBe(10000);
    expect(parsePercent('.5')).toBe(50);
    expect(parsePercent('012')).toBe(1200);
  });

  it.each([
    ['', /is empty/],
    ['abc', /is not a number/],
    ['%', /is not a number/],
    ['100.01', /more than 100%/],
    ['150%', /more than 100%/],
    ['99999', /more than 100%/],
    ['-5', /is negative/],
    ['-5%', /is negative/],
    ['10.555', /3 decimal places/],
    ['1,5', /is not a number/],
  ])('rejects percentage %j', (input, why) => {
    const err = caught(() => parsePercent(input));
    expect(err.code).toBe('INVALID_PERCENT');
    expect(err.message).toMatch(why);
    expect(err.suggestions.length).toBeGreaterThan(0);
  });
});
