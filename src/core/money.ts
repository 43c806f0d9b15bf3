// Money: an integer number of minor units (bigint) in an ISO 4217 currency. No floating point is
// used anywhere here, not even in between: amounts are parsed from their digits and all
// arithmetic is done on bigints.

import { invalid, type IspctlError } from './errors.js';

/** The largest amount, in minor units, that ispctl accepts (the range of a PostgreSQL bigint). */
export const MAX_MINOR_UNITS = (1n << 63n) - 1n;

/** Locale used for formatting when none is given, so output does not depend on the machine. */
const DEFAULT_LOCALE = 'en';

/** Locales whose currency symbols are accepted when parsing, in addition to the ISO code. */
const SYMBOL_LOCALES = ['en', 'en-US', 'en-PH'] as const;
const SYMBOL_DISPLAYS = ['symbol', 'narrowSymbol'] as const;

// Caches of immutable, derived values (Intl objects and the lists computed from them).
const formatters = new Map<string, Intl.NumberFormat>();
const exponents = new Map<string, number>();
const ownMarkerCache = new Map<string, readonly string[]>();
const currencySets = new Map<'all', ReadonlySet<string>>();
const symbolIndexCache = new Map<'all', ReadonlyMap<string, SymbolEntry>>();

const MINUS_SIGNS = '-\u2212';

// ---------------------------------------------------------------------------------------------
// Currencies

function knownCurrencies(): ReadonlySet<string> {
  let set = currencySets.get('all');
  if (!set) {
    set = new Set(Intl.supportedValuesOf('currency'));
    currencySets.set('all', set);
  }
  return set;
}

/** True for an upper-case ISO 4217 code that this runtime knows, e.g. `PHP`, `USD`, `JPY`. */
export function isCurrencyCode(code: string): boolean {
  return typeof code === 'string' && /^[A-Z]{3}$/.test(code) && knownCurrencies().has(code);
}

/**
 * Checks that `code` is a known upper-case ISO 4217 code and returns it.
 * @throws IspctlError INVALID_CURRENCY, with suggestions
 */
export function assertCurrency(code: string, field = 'currency'): string {
  if (isCurrencyCode(code)) return code;
  const shown = JSON.stringify(String(code));
  const suggestions: string[] = [];
  const upper = String(code).trim().toUpperCase();
  if (isCurrencyCode(upper)) {
    suggestions.push(`Use the upper-case code: ${upper}`);
  } else {
    const bySymbol = currenciesForSymbol(String(code).trim());
    if (bySymbol.length > 0) {
      suggestions.push(`Use the ISO 4217 code, not the symbol: ${bySymbol.slice(0, 3).join(', ')}`);
    }
  }
  suggestions.push('Use a three-letter ISO 4217 currency code such as PHP, USD or EUR');
  return throwError(
    invalid('INVALID_CURRENCY', `${capitalize(field)} ${shown} is not a known ISO 4217 currency code.`, suggestions, {
      field,
      input: code,
    }),
  );
}

function formatter(locale: string, currency: string, display: 'symbol' | 'narrowSymbol' | 'code' = 'symbol'): Intl.NumberFormat {
  const key = `${locale}\u0000${currency}\u0000${display}`;
  let f = formatters.get(key);
  if (!f) {
    f = new Intl.NumberFormat(locale, { style: 'currency', currency, currencyDisplay: display });
    formatters.set(key, f);
  }
  return f;
}

/** Number of decimal places of the currency's minor unit, as Intl knows it: PHP 2, JPY 0, KWD 3. */
export function currencyExponent(currency: string): number {
  // resolvedOptions() builds a fresh object each call: worked out once per currency (a mass run
  // formats tens of thousands of amounts).
  let e = exponents.get(currency);
  if (e === undefined) {
    assertCurrency(currency);
    e = formatter(DEFAULT_LOCALE, currency).resolvedOptions().maximumFractionDigits ?? 2;
    exponents.set(currency, e);
  }
  return e;
}

function currencySymbolIn(locale: string, currency: string, display: 'symbol' | 'narrowSymbol'): string | undefined {
  return formatter(locale, currency, display)
    .formatToParts(1)
    .find((p) => p.type === 'currency')?.value;
}

/**
 * Customary plain-text marks of a currency that Intl does not render but people type: `P1,500`
 * for pesos. Accepted only for the ISP's own currency (a lone letter says nothing elsewhere).
 */
const CUSTOMARY_MARKERS: Readonly<Record<string, readonly string[]>> = { PHP: ['P'] };

/** The code and the symbols of this currency that a person may type, longest first, upper case. */
function ownMarkers(currency: string): readonly string[] {
  let markers = ownMarkerCache.get(currency);
  if (!markers) {
    const set = new Set<string>([currency, ...(CUSTOMARY_MARKERS[currency] ?? [])]);
    for (const locale of [...SYMBOL_LOCALES, `en-${currency.slice(0, 2)}`]) {
      for (const display of SYMBOL_DISPLAYS) {
        const symbol = currencySymbolIn(locale, currency, display);
        if (symbol) set.add(symbol.toUpperCase());
      }
    }
    markers = Object.freeze([...set].sort((a, b) => b.length - a.length));
    ownMarkerCache.set(currency, markers);
  }
  return markers;
}

interface SymbolEntry {
  /** Currencies rendered with this symbol in the default `symbol` display. */
  readonly primary: readonly string[];
  /** All currencies rendered with it, including the `narrowSymbol` display. */
  readonly all: readonly string[];
}

/** Symbol → currencies that Intl renders with it (built on first use, only needed for errors). */
function symbolIndex(): ReadonlyMap<string, SymbolEntry> {
  let index = symbolIndexCache.get('all');
  if (!index) {
    const building = new Map<string, { primary: string[]; all: string[] }>();
    for (const display of SYMBOL_DISPLAYS) {
      for (const locale of SYMBOL_LOCALES) {
        for (const code of knownCurrencies()) {
          const symbol = new Intl.NumberFormat(locale, { style: 'currency', currency: code, currencyDisplay: display })
            .formatToParts(1)
            .find((p) => p.type === 'currency')?.value;
          if (!symbol || symbol === code) continue;
          const entry = building.get(symbol) ?? { primary: [], all: [] };
          if (display === 'symbol' && !entry.primary.includes(code)) entry.primary.push(code);
          if (!entry.all.includes(code)) entry.all.push(code);
          building.set(symbol, entry);
        }
      }
    }
    index = new Map([...building].map(([k, v]) => [k, Object.freeze({ primary: Object.freeze(v.primary), all: Object.freeze(v.all) })] as const));
    symbolIndexCache.set('all', index);
  }
  return index;
}

/** Currencies that Intl renders with this symbol, most usual first (single letters are too ambiguous). */
function currenciesForSymbol(symbol: string): readonly string[] {
  if (symbol === '' || /^[A-Za-z]$/.test(symbol)) return [];
  const entry = symbolIndex().get(symbol);
  if (!entry) return [];
  return entry.primary.length > 0 ? entry.primary : entry.all;
}

/** Which other currency a piece of leftover text names, if any. */
function identifyOtherCurrency(text: string, currency: string): { codes: readonly string[]; symbol?: string } | undefined {
  const t = text.replace(new RegExp(`[${MINUS_SIGNS}\\s]`, 'g'), '');
  if (t === '') return undefined;
  if (/^[A-Za-z]{3}$/.test(t) && isCurrencyCode(t.toUpperCase()) && t.toUpperCase() !== currency) {
    return { codes: [t.toUpperCase()] };
  }
  const codes = currenciesForSymbol(t).filter((c) => c !== currency);
  return codes.length > 0 ? { codes, symbol: t } : undefined;
}

/** `A`, `A or B`, `A, B or C`. */
function orList(items: readonly string[]): string {
  return items.length <= 1 ? (items[0] ?? '') : `${items.slice(0, -1).join(', ')} or ${items[items.length - 1]}`;
}

// ---------------------------------------------------------------------------------------------
// Parsing

export interface ParseMoneyOptions {
  /** Accept negative amounts (a leading `-`). Default false. */
  allowNegative?: boolean;
  /** Accept zero. Default true. */
  allowZero?: boolean;
  /** Name of the value in error messages, e.g. `amount` or `price`. Default `amount`. */
  field?: string;
}

/**
 * Parses an amount as people type it into minor units of `currency`.
 *
 * Accepted: `1500`, `1500.5`, `1,500.00`, `₱1,500.00`, `P1,500`, `PHP 1500`, `1500 PHP`,
 * `php 1,500.50`, surrounding spaces, a symbol of this currency as Intl renders it or as people
 * customarily write it (`P` for pesos, in PHP only), and a leading `-` when
 * `allowNegative` is set. A dot is the decimal point; commas may only separate groups of three
 * digits. Rejected with INVALID_AMOUNT: empty input, text, more decimals than the currency has,
 * another currency's code or symbol, misplaced commas, more than one decimal point, negatives or
 * zero when not allowed, and amounts beyond {@link MAX_MINOR_UNITS}.
 */
export function parseMoney(input: string, currency: string, opts: ParseMoneyOptions = {}): bigint {
  assertCurrency(currency);
  const field = opts.field ?? 'amount';
  const exponent = currencyExponent(currency);
  const fail = (why: string, extra: string[] = []): never =>
    throwError(
      invalid('INVALID_AMOUNT', `${capitalize(field)} ${JSON.stringify(String(input))} ${why}.`, [...extra, exampleSuggestion(currency, exponent)], {
        field,
        input,
        currency,
      }),
    );

  if (typeof input !== 'string' || input.trim() === '') {
    return throwError(
      invalid('INVALID_AMOUNT', `${capitalize(field)} is empty.`, [exampleSuggestion(currency, exponent)], { field, input, currency }),
    );
  }

  const markers = ownMarkers(currency);
  let rest = input.trim();
  let minusSigns = 0;
  let markerCount = 0;

  // Leading spaces, minus signs and this currency's code or symbols, in any order.
  for (;;) {
    const trimmed = rest.trimStart();
    if (trimmed !== rest) {
      rest = trimmed;
      continue;
    }
    if (rest !== '' && MINUS_SIGNS.includes(rest[0]!)) {
      minusSigns++;
      rest = rest.slice(1);
      continue;
    }
    const len = markerAtStart(rest, markers);
    if (len > 0) {
      markerCount++;
      rest = rest.slice(len);
      continue;
    }
    break;
  }
  // Trailing spaces and this currency's code or symbols.
  for (;;) {
    const trimmed = rest.trimEnd();
    if (trimmed !== rest) {
      rest = trimmed;
      continue;
    }
    const len = markerAtEnd(rest, markers);
    if (len > 0) {
      markerCount++;
      rest = rest.slice(0, rest.length - len);
      continue;
    }
    break;
  }

  const core = rest;
  if (!/^[0-9.,]+$/.test(core)) {
    if (!/[0-9]/.test(core)) return fail('is not a number');
    const lead = /^[^0-9.,]+/.exec(core)?.[0] ?? '';
    const trail = /[^0-9.,]+$/.exec(core)?.[0] ?? '';
    for (const chunk of [lead, trail]) {
      const other = identifyOtherCurrency(chunk, currency);
      if (!other) continue;
      const others = orList(other.codes);
      if (markerCount > 0) {
        return fail(`names two currencies, ${currency} and ${others}`, [`Give the amount in ${currency} only`]);
      }
      const what = other.symbol ? `uses ${other.symbol}, the symbol of another currency (${others}),` : `is in ${others},`;
      return fail(`${what} but amounts here are in ${currency}`, [
        `Give the amount in ${currency}; convert it first if it was quoted in another currency`,
      ]);
    }
    if (/^[0-9.,\s]+$/.test(core)) return fail('has a space inside the number', ['Leave out the spaces or use commas between groups of three digits']);
    const junk = core.replace(/[0-9.,\s]+/g, ' ').trim();
    if (new RegExp(`^[${MINUS_SIGNS}\\s]+$`).test(junk)) {
      return fail('has a minus sign in the wrong place', ['Put the minus sign first, e.g. -1500']);
    }
    return fail(`contains unexpected text ${JSON.stringify(junk)}`);
  }

  if (minusSigns > 1) return fail('has more than one minus sign');
  if (markerCount > 1) return fail(`names the currency more than once`, [`Write the symbol or the code ${currency} once`]);

  const dots = core.split('.').length - 1;
  if (dots > 1) return fail('has more than one decimal point', ['Use a dot only for decimals and commas between groups of three digits']);
  const [intRaw = '', frac = ''] = core.split('.');
  if (frac.includes(',')) return fail('has a comma after the decimal point', ['Use a dot for decimals and commas only before it, e.g. 1,500.50']);
  if (intRaw.includes(',') && !/^[0-9]{1,3}(,[0-9]{3})+$/.test(intRaw)) {
    const decimalComma = dots === 0 && /^[0-9]+,[0-9]{1,2}$/.test(intRaw);
    return fail(
      decimalComma ? 'uses a comma as the decimal point' : 'has misplaced thousands separators',
      [decimalComma ? `Use a dot for decimals, e.g. ${intRaw.replace(',', '.')}` : 'Put commas only between groups of three digits, e.g. 1,500,000'],
    );
  }
  const intDigits = intRaw.replace(/,/g, '');
  if (intDigits === '' && frac === '') return fail('is not a number');
  if (frac.length > exponent) {
    return fail(
      exponent === 0
        ? `has decimals, but ${currency} has no minor unit`
        : `has ${frac.length} decimal places, but ${currency} has ${exponent}`,
      [exponent === 0 ? `Give a whole number of ${currency}` : `Round to ${exponent} decimal place${exponent === 1 ? '' : 's'}`],
    );
  }

  const digits = (intDigits + frac.padEnd(exponent, '0')).replace(/^0+(?=[0-9])/, '');
  if (digits.length > 19) return fail(tooLargeReason(currency));
  const magnitude = BigInt(digits); // exact: built from decimal digits, no floating point
  if (magnitude > MAX_MINOR_UNITS) return fail(tooLargeReason(currency));

  if (magnitude === 0n) {
    if (opts.allowZero === false) return fail('is zero, but it must be more than zero');
    return 0n;
  }
  if (minusSigns === 1) {
    if (!opts.allowNegative) return fail('is negative, but it must not be', ['Give the amount without a minus sign']);
    return -magnitude;
  }
  return magnitude;
}

function markerAtStart(s: string, markers: readonly string[]): number {
  for (const m of markers) {
    if (s.slice(0, m.length).toUpperCase() !== m) continue;
    if (/[A-Z]$/.test(m) && /^[A-Za-z]/.test(s.slice(m.length))) continue; // part of a longer word
    return m.length;
  }
  return 0;
}

function markerAtEnd(s: string, markers: readonly string[]): number {
  for (const m of markers) {
    if (m.length > s.length || s.slice(s.length - m.length).toUpperCase() !== m) continue;
    if (/^[A-Z]/.test(m) && /[A-Za-z]$/.test(s.slice(0, s.length - m.length))) continue; // part of a longer word
    return m.length;
  }
  return 0;
}

function tooLargeReason(currency: string): string {
  return `is too large (the largest amount is ${formatMoney(MAX_MINOR_UNITS, currency)})`;
}

function exampleSuggestion(currency: string, exponent: number): string {
  const fraction = exponent > 0 ? `.${'0'.repeat(exponent)}` : '';
  return `Type the amount in ${currency}, e.g. 1500 or 1,500${fraction}`;
}

// ---------------------------------------------------------------------------------------------
// Formatting and decimal strings

/**
 * Formats minor units for people through Intl, e.g. `₱1,500.00`. The amount is handed to Intl
 * as a decimal string, so amounts beyond 2^53 stay exact. Default locale `en`.
 */
export function formatMoney(minor: bigint, currency: string, opts: { locale?: string } = {}): string {
  assertCurrency(currency);
  const decimal = toDecimalString(minor, currency) as Intl.StringNumericLiteral;
  return formatter(opts.locale ?? DEFAULT_LOCALE, currency).format(decimal);
}

/** Plain decimal string for JSON and CSV, with exactly the currency's decimals: `1500.00`, `-0.50`, `1500` (JPY). */
export function toDecimalString(minor: bigint, currency: string): string {
  const exponent = currencyExponent(currency);
  const negative = minor < 0n;
  const digits = (negative ? -minor : minor).toString().padStart(exponent + 1, '0');
  const whole = digits.slice(0, digits.length - exponent);
  const fraction = exponent > 0 ? `.${digits.slice(digits.length - exponent)}` : '';
  return `${negative ? '-' : ''}${whole}${fraction}`;
}

/**
 * Reads a plain decimal string as written by {@link toDecimalString} (`1500.00`, `-0.5`, `1500`)
 * back into minor units. Stricter than {@link parseMoney}: no symbols, no commas.
 * @throws IspctlError INVALID_AMOUNT
 */
export function fromDecimalString(value: string, currency: string, opts: { field?: string } = {}): bigint {
  const exponent = currencyExponent(currency);
  const field = opts.field ?? 'amount';
  const m = typeof value === 'string' ? /^(-?)([0-9]+)(?:\.([0-9]+))?$/.exec(value) : null;
  const fail = (why: string): never =>
    throwError(
      invalid('INVALID_AMOUNT', `${capitalize(field)} ${JSON.stringify(String(value))} ${why}.`, [
        `Write a plain decimal number with at most ${exponent} decimal place${exponent === 1 ? '' : 's'}, e.g. ${toDecimalString(150000n * 10n ** BigInt(exponent) / 100n, currency)}`,
      ], { field, input: value, currency }),
    );
  if (!m) return fail('is not a plain decimal number');
  const [, sign, whole = '', frac = ''] = m;
  if (frac.length > exponent) return fail(`has ${frac.length} decimal places, but ${currency} has ${exponent}`);
  const digits = (whole + frac.padEnd(exponent, '0')).replace(/^0+(?=[0-9])/, '');
  if (digits.length > 19 || BigInt(digits) > MAX_MINOR_UNITS) return fail(tooLargeReason(currency));
  const magnitude = BigInt(digits);
  return sign === '-' ? -magnitude : magnitude;
}

// ---------------------------------------------------------------------------------------------
// Arithmetic

function toBigIntInteger(value: bigint | number, what: string): bigint {
  if (typeof value === 'bigint') return value;
  if (typeof value === 'number' && Number.isSafeInteger(value)) return BigInt(value);
  throw new RangeError(`${what} must be an integer (bigint or safe integer number), got ${String(value)}`);
}

/**
 * Splits `total` into parts proportional to `ratios` without losing a minor unit.
 *
 * Largest remainder method: every part first gets the floor of its exact share, then the minor
 * units left over go one each to the parts with the largest remainders, ties to the earlier part.
 * Negative totals are split like their absolute value and negated. The parts always add up to
 * `total`, and each part differs from its exact share by less than one minor unit.
 *
 * @param ratios non-negative integers (bigint or safe integer numbers) with a positive sum
 * @throws RangeError when the ratios are empty, negative, not integers or sum to zero
 */
export function allocate(total: bigint, ratios: Array<bigint | number>): bigint[] {
  if (ratios.length === 0) throw new RangeError('allocate needs at least one ratio');
  const rs = ratios.map((r, i) => {
    const v = toBigIntInteger(r, `ratio ${i}`);
    if (v < 0n) throw new RangeError(`ratio ${i} must not be negative, got ${v}`);
    return v;
  });
  const sum = rs.reduce((a, b) => a + b, 0n);
  if (sum <= 0n) throw new RangeError('the ratios must have a positive sum');

  const negative = total < 0n;
  const abs = negative ? -total : total;
  const parts = rs.map((r) => (abs * r) / sum);
  const remainders = rs.map((r, i) => ({ i, rem: (abs * r) % sum }));
  let left = abs - parts.reduce((a, b) => a + b, 0n);
  remainders.sort((a, b) => (a.rem === b.rem ? a.i - b.i : a.rem > b.rem ? -1 : 1));
  for (const { i } of remainders) {
    if (left === 0n) break;
    parts[i]! += 1n;
    left -= 1n;
  }
  return negative ? parts.map((p) => -p) : parts;
}

export type Rounding = 'half-up' | 'half-even';

/**
 * `amount × numerator ÷ denominator`, rounded to a whole minor unit, in exact integer arithmetic.
 *
 * Rounding rule: the exact quotient is rounded to the nearest integer. Exact halves go away from
 * zero with `half-up` (the default, commercial rounding: 0.5 → 1, -0.5 → -1) and to the even
 * neighbour with `half-even` (banker's rounding: 0.5 → 0, 1.5 → 2). Rounding is symmetric
 * around zero. For 0 ≤ numerator ≤ denominator and amount ≥ 0 the result is between 0 and
 * `amount`, and it never decreases as the numerator grows.
 *
 * Used to prorate a monthly price by days: `prorate(price, daysUsed, daysInPeriod)`.
 *
 * @throws RangeError when the denominator is zero or an argument is not an integer
 */
export function prorate(
  amount: bigint,
  numerator: number | bigint,
  denominator: number | bigint,
  rounding: Rounding = 'half-up',
): bigint {
  let num = toBigIntInteger(numerator, 'numerator');
  let den = toBigIntInteger(denominator, 'denominator');
  if (den === 0n) throw new RangeError('denominator must not be zero');
  if (rounding !== 'half-up' && rounding !== 'half-even') throw new RangeError(`unknown rounding ${String(rounding)}`);
  if (den < 0n) {
    den = -den;
    num = -num;
  }
  return divRound(amount * num, den, rounding);
}

/** Rounds p / d (d > 0) to an integer with the given rule for exact halves. */
function divRound(p: bigint, d: bigint, rounding: Rounding): bigint {
  const negative = p < 0n;
  const a = negative ? -p : p;
  let q = a / d;
  const twice = (a % d) * 2n;
  if (twice > d || (twice === d && (rounding === 'half-up' || q % 2n === 1n))) q += 1n;
  return negative ? -q : q;
}

export type Discount = { kind: 'fixed'; minor: bigint } | { kind: 'percent'; basisPoints: number };

/**
 * Applies a discount to a non-negative amount; the result never goes below zero.
 * A percent discount is given in basis points (10.5% = 1050); the discount itself is rounded
 * half-up to the minor unit (in the customer's favour), then subtracted.
 * @throws RangeError for a negative amount or a malformed discount
 */
export function applyDiscount(amount: bigint, discount: Discount): bigint {
  if (amount < 0n) throw new RangeError(`cannot discount a negative amount (${amount})`);
  let off: bigint;
  if (discount.kind === 'fixed') {
    if (typeof discount.minor !== 'bigint' || discount.minor < 0n) throw new RangeError('a fixed discount must be a non-negative bigint');
    off = discount.minor;
  } else if (discount.kind === 'percent') {
    const bp = discount.basisPoints;
    if (!Number.isInteger(bp) || bp < 0 || bp > 10_000) throw new RangeError(`basis points must be an integer from 0 to 10000, got ${bp}`);
    off = prorate(amount, bp, 10_000, 'half-up');
  } else {
    throw new RangeError('unknown discount kind');
  }
  return amount > off ? amount - off : 0n;
}

/**
 * Parses a percentage as people type it (`10%`, `10.5`, ` 7.25 % `) into basis points
 * (10.5% → 1050). At most two decimals, from 0 to 100.
 * @throws IspctlError INVALID_PERCENT
 */
export function parsePercent(input: string, opts: { field?: string } = {}): number {
  const field = opts.field ?? 'percentage';
  const fail = (why: string, extra: string[] = []): never =>
    throwError(
      invalid('INVALID_PERCENT', `${capitalize(field)} ${JSON.stringify(String(input))} ${why}.`, [...extra, 'Give a percentage from 0 to 100 with at most two decimals, e.g. 10 or 12.5%'], {
        field,
        input,
      }),
    );
  if (typeof input !== 'string' || input.trim() === '') {
    return throwError(invalid('INVALID_PERCENT', `${capitalize(field)} is empty.`, ['Give a percentage from 0 to 100, e.g. 10 or 12.5%'], { field, input }));
  }
  const s = input.trim().replace(/\s*%$/, '');
  if (new RegExp(`^[${MINUS_SIGNS}]`).test(s)) return fail('is negative');
  const m = /^\+?([0-9]*)(?:\.([0-9]*))?$/.exec(s);
  if (!m || (m[1] === '' && (m[2] ?? '') === '')) return fail('is not a number');
  const whole = m[1]!.replace(/^0+(?=[0-9])/, '');
  const frac = m[2] ?? '';
  if (frac.length > 2) return fail(`has ${frac.length} decimal places, but at most 2 are allowed`);
  if (whole.length > 3) return fail('is more than 100%');
  const bp = Number(whole || '0') * 100 + Number(frac.padEnd(2, '0'));
  if (bp > 10_000) return fail('is more than 100%');
  return bp;
}

// ---------------------------------------------------------------------------------------------

function capitalize(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}

function throwError(err: IspctlError): never {
  throw err;
}
