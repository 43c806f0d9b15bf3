import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { IspctlError } from '../../src/core/errors.js';
import {
  MAX_KBPS,
  formatSpeed,
  mikrotikRateLimit,
  parseMikrotikRateLimit,
  parseRouterOSRate,
  parseSpeed,
  simpleQueueMaxLimit,
  toRouterOSRate,
} from '../../src/core/speed.js';

function speedError(input: string): IspctlError {
  try {
    parseSpeed(input);
  } catch (err) {
    if (err instanceof IspctlError) return err;
    throw err;
  }
  throw new Error(`expected ${JSON.stringify(input)} to be rejected`);
}

describe('parseSpeed', () => {
  it.each([
    ['50Mbps', 50_000],
    ['50M', 50_000],
    ['50m', 50_000],
    ['50 Mbit/s', 50_000],
    ['50 mbps', 50_000],
    ['50MBPS', 50_000],
    ['50Mb', 50_000],
    ['50Mb/s', 50_000],
    ['512k', 512],
    ['512K', 512],
    ['512kbps', 512],
    ['512 kbit/s', 512],
    ['1.5G', 1_500_000],
    ['1.5M', 1500],
    ['0.5M', 500],
    ['.5M', 500],
    ['2.25M', 2250],
    ['1.234M', 1234],
    ['1G', 1_000_000],
    ['10Gbps', 10_000_000],
    ['512000bps', 512],
    [' 20M ', 20_000],
    ['1.000M', 1000],
    ['100G', MAX_KBPS],
  ])('%j → %i kbit/s', (input, kbps) => {
    expect(parseSpeed(input)).toBe(kbps);
  });

  it('rejects a bare number and suggests both units', () => {
    const e = speedError('100');
    expect(e.code).toBe('INVALID_SPEED');
    expect(e.kind).toBe('invalid');
    expect(e.message).toContain('"100"');
    expect(e.message).toContain('no unit');
    expect(e.suggestions.join(' ')).toContain('100M');
    expect(e.suggestions.join(' ')).toContain('100k');
  });

  it.each(['50MB', '50MBps', '50MB/s', '5 bytes/s'])('rejects bytes (%j) and says so', (input) => {
    const e = speedError(input);
    expect(e.message).toContain('bytes per second');
  });

  it('turns megabytes into the megabits it means in the suggestion', () => {
    expect(speedError('50MB/s').suggestions.join(' ')).toContain('400M');
  });

  it.each([
    ['', 'empty'],
    ['fast', 'not a speed'],
    ['0M', 'zero'],
    ['-5M', 'negative'],
    ['1.5k', 'fraction of a kbit/s'],
    ['1.2345M', 'more decimals'],
    ['1,5M', 'comma'],
    ['101G', 'largest speed'],
    ['50 furlongs', 'unknown unit'],
    ['50Mfoo', 'unknown unit'],
    ['1500bps', 'whole number of kbit/s'],
  ])('rejects %j (%s)', (input, why) => {
    const e = speedError(input);
    expect(e.code).toBe('INVALID_SPEED');
    expect(e.message.toLowerCase()).toContain(why);
  });

  it('names the field in the message', () => {
    try {
      parseSpeed('x', { field: 'download speed' });
    } catch (err) {
      expect((err as IspctlError).message).toMatch(/^Download speed "x"/);
    }
  });
});

describe('formatSpeed and toRouterOSRate', () => {
  it.each([
    [50_000, '50M', '50M'],
    [512, '512k', '512k'],
    [1500, '1.5M', '1500k'],
    [1234, '1234k', '1234k'],
    [1230, '1.23M', '1230k'],
    [1_000_000, '1G', '1000M'],
    [2_500_000, '2.5G', '2500M'],
    [1_234_000, '1234M', '1234M'],
    [999, '999k', '999k'],
  ])('%i kbit/s → %s for people, %s for RouterOS', (kbps, human, ros) => {
    expect(formatSpeed(kbps)).toBe(human);
    expect(toRouterOSRate(kbps)).toBe(ros);
  });

  it('RouterOS rates are whole numbers with k or M', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: MAX_KBPS }), (kbps) => {
        expect(toRouterOSRate(kbps)).toMatch(/^[1-9][0-9]*[kM]$/);
        expect(parseRouterOSRate(toRouterOSRate(kbps))).toBe(kbps);
      }),
    );
  });

  it('formatSpeed round-trips through parseSpeed', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: MAX_KBPS }), (kbps) => {
        expect(parseSpeed(formatSpeed(kbps))).toBe(kbps);
      }),
    );
  });

  it('refuses what is not a positive whole number of kbit/s', () => {
    expect(() => toRouterOSRate(0)).toThrow(RangeError);
    expect(() => toRouterOSRate(1.5)).toThrow(RangeError);
    expect(() => formatSpeed(-1)).toThrow(RangeError);
  });
});

describe('mikrotikRateLimit', () => {
  it('puts the upload (rx) first and the download (tx) second', () => {
    expect(mikrotikRateLimit({ downloadKbps: 50_000, uploadKbps: 10_000 })).toBe('10M/50M');
    expect(mikrotikRateLimit({ downloadKbps: 1500, uploadKbps: 512 })).toBe('512k/1500k');
  });

  it('writes burst in the positional order: rates, burst rates, thresholds, times, each upload first', () => {
    expect(
      mikrotikRateLimit({
        downloadKbps: 50_000,
        uploadKbps: 10_000,
        burst: { downloadKbps: 100_000, uploadKbps: 20_000, thresholdDownloadKbps: 40_000, thresholdUploadKbps: 8_000, timeSeconds: 8 },
      }),
    ).toBe('10M/50M 20M/100M 8M/40M 8/8');
  });

  it('treats a null burst as none', () => {
    expect(mikrotikRateLimit({ downloadKbps: 25_000, uploadKbps: 5_000, burst: null })).toBe('5M/25M');
  });

  it('parses back what it writes', () => {
    const r = { downloadKbps: 50_000, uploadKbps: 10_000, burst: { downloadKbps: 100_000, uploadKbps: 20_000, thresholdDownloadKbps: 37_500, thresholdUploadKbps: 7_500, timeSeconds: 8 } };
    expect(parseMikrotikRateLimit(mikrotikRateLimit(r))).toEqual(r);
    expect(parseMikrotikRateLimit('10M/50M')).toEqual({ uploadKbps: 10_000, downloadKbps: 50_000 });
    expect(parseMikrotikRateLimit('10M/50M 0/0 0/0 0/0')).toEqual({ uploadKbps: 10_000, downloadKbps: 50_000 });
    expect(parseMikrotikRateLimit('nonsense')).toBeUndefined();
    expect(parseMikrotikRateLimit('10M/50M 20M/100M')).toBeUndefined();
  });

  it('a simple queue max-limit is upload/download too', () => {
    expect(simpleQueueMaxLimit({ downloadKbps: 20_000, uploadKbps: 10_000 })).toBe('10M/20M');
  });

  it('refuses nonsense speeds', () => {
    expect(() => mikrotikRateLimit({ downloadKbps: 0, uploadKbps: 1 })).toThrow(RangeError);
    expect(() => mikrotikRateLimit({ downloadKbps: 1, uploadKbps: 1, burst: { downloadKbps: 2, uploadKbps: 2, thresholdDownloadKbps: 1, thresholdUploadKbps: 1, timeSeconds: 0 } })).toThrow(RangeError);
  });
});

describe('parseRouterOSRate', () => {
  it.each([
    ['50M', 50_000],
    ['1500k', 1500],
    ['1G', 1_000_000],
    ['10000000', 10_000],
    ['0', 0],
  ])('%j → %i', (s, kbps) => {
    expect(parseRouterOSRate(s)).toBe(kbps);
  });
  it('is undefined for what is not a rate', () => {
    expect(parseRouterOSRate('fast')).toBeUndefined();
    expect(parseRouterOSRate('1.5M')).toBeUndefined();
  });
});
