import { describe, expect, it } from 'vitest';
import {
  formatTime,
  normalizeRatePair,
  parseRanges,
  parseRateLimit,
  parseTime,
  parseVersion,
  versionAtLeast,
} from '../../../src/lab/values.js';
import { generatePrivateKey, isWireguardKey, publicKeyOf } from '../../../src/lab/wireguard-keys.js';

describe('lab router values', () => {
  it('times parse in RouterOS syntax and print back', () => {
    expect(parseTime('300ms')).toBe(300);
    expect(parseTime('1h30m')).toBe(5_400_000);
    expect(parseTime('00:05:00')).toBe(300_000);
    expect(parseTime('10')).toBe(10_000);
    expect(parseTime('soon')).toBeUndefined();
    expect(formatTime(0)).toBe('0s');
    expect(formatTime(300_000)).toBe('5m');
    expect(formatTime(694_861_500)).toBe('1w1d1h1m1s500ms');
  });

  it('rates print in bits per second, upload/download', () => {
    expect(normalizeRatePair('10M/20M')).toBe('10000000/20000000');
    expect(normalizeRatePair('512k')).toBe('512000/512000');
    expect(normalizeRatePair('fast')).toBeUndefined();
  });

  it('a rate-limit string maps onto simple queue fields', () => {
    expect(parseRateLimit('10M/50M 20M/60M 8M/40M 10/10 8 1M/5M')).toEqual({
      'max-limit': '10000000/50000000',
      'burst-limit': '20000000/60000000',
      'burst-threshold': '8000000/40000000',
      'burst-time': '10s/10s',
      priority: '8',
      'limit-at': '1000000/5000000',
    });
    expect(parseRateLimit('bogus')).toBeUndefined();
  });

  it('pool ranges: dash ranges, prefixes, lists', () => {
    expect(parseRanges('10.0.0.2-10.0.0.4,10.1.0.0/30')).toEqual([
      { first: 0x0a000002, last: 0x0a000004 },
      { first: 0x0a010000, last: 0x0a010003 },
    ]);
    expect(parseRanges('10.0.0.9-10.0.0.1')).toBeUndefined();
  });

  it('versions compare by major, minor, patch', () => {
    const v = parseVersion('6.49.x');
    expect(v).toMatchObject({ major: 6, minor: 49, patch: 0 });
    expect(versionAtLeast(parseVersion('7.18.2'), 7, 18)).toBe(true);
    expect(versionAtLeast(parseVersion('7.16'), 7, 18)).toBe(false);
    expect(() => parseVersion('latest')).toThrow(RangeError);
  });

  it('WireGuard keys: generated, derived, validated', () => {
    const priv = generatePrivateKey();
    expect(isWireguardKey(priv)).toBe(true);
    const pub = publicKeyOf(priv);
    expect(isWireguardKey(pub)).toBe(true);
    expect(publicKeyOf(priv)).toBe(pub);
    expect(isWireguardKey('abc')).toBe(false);
  });
});
