import { describe, expect, test } from 'vitest';
import { maskCommandLine, osUser } from '../../src/core/audit.js';

describe('maskCommandLine', () => {
  test('masks values of secret flags in both forms', () => {
    expect(maskCommandLine(['--name', 'r1', '--api-password', 'hunter2', '--secret=abc'])).toBe('--name r1 --api-password *** --secret=***');
  });
  test('masks passwords inside URLs', () => {
    expect(maskCommandLine(['--database-url', 'postgres://isp:s3cret@db:5432/isp'])).toBe('--database-url postgres://isp:***@db:5432/isp');
  });
  test('quotes arguments with spaces', () => {
    expect(maskCommandLine(['--isp-name', 'Juan Net'])).toBe("--isp-name 'Juan Net'");
  });
  test('a secret flag followed by another flag masks nothing extra', () => {
    expect(maskCommandLine(['--password', '--json'])).toBe('--password --json');
  });
});

describe('osUser', () => {
  test('prefers SUDO_USER', () => {
    expect(osUser({ SUDO_USER: 'maria', USER: 'root' })).toBe('maria');
    expect(osUser({ USER: 'juan' })).toBe('juan');
  });
});
