import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { IspctlError } from '../../src/core/errors.js';
import {
  decryptSecret,
  encryptSecret,
  generatePassword,
  generateSecret,
  isEncryptedSecret,
  loadSecretKey,
  maskSecret,
  parseSecretKey,
  secretKeyPath,
} from '../../src/core/secrets.js';

const KEY = Buffer.alloc(32, 7);
const OTHER = Buffer.alloc(32, 8);
const dirs: string[] = [];
afterEach(() => {
  while (dirs.length) rmSync(dirs.pop()!, { recursive: true, force: true });
});
function tempConfig(): Record<string, string> {
  const dir = mkdtempSync(join(tmpdir(), 'ispctl-secrets-'));
  dirs.push(dir);
  return { ISPCTL_CONFIG_DIR: join(dir, 'config') };
}
function code(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    if (err instanceof IspctlError) return err.code;
    throw err;
  }
  return 'no error';
}

describe('encryptSecret / decryptSecret', () => {
  it('round-trips, in the v1 format, with a fresh IV each time', () => {
    const a = encryptSecret('s3cret pässword', KEY);
    const b = encryptSecret('s3cret pässword', KEY);
    expect(a).toMatch(/^v1:[A-Za-z0-9+/=]+:[A-Za-z0-9+/=]+:[A-Za-z0-9+/=]+$/);
    expect(isEncryptedSecret(a)).toBe(true);
    expect(a).not.toBe(b);
    expect(a).not.toContain('s3cret');
    expect(decryptSecret(a, KEY)).toBe('s3cret pässword');
    expect(decryptSecret(b, KEY)).toBe('s3cret pässword');
    expect(decryptSecret(encryptSecret('', KEY), KEY)).toBe('');
  });

  it('detects a changed ciphertext, tag or IV, and the wrong key', () => {
    const enc = encryptSecret('router-password', KEY);
    const [v, iv, tag, ct] = enc.split(':') as [string, string, string, string];
    const flip = (b64: string) => {
      const buf = Buffer.from(b64, 'base64');
      buf[0] = buf[0]! ^ 1;
      return buf.toString('base64');
    };
    expect(code(() => decryptSecret([v, iv, tag, flip(ct)].join(':'), KEY))).toBe('SECRET_DECRYPT_FAILED');
    expect(code(() => decryptSecret([v, iv, flip(tag), ct].join(':'), KEY))).toBe('SECRET_DECRYPT_FAILED');
    expect(code(() => decryptSecret([v, flip(iv), tag, ct].join(':'), KEY))).toBe('SECRET_DECRYPT_FAILED');
    expect(code(() => decryptSecret(enc, OTHER))).toBe('SECRET_DECRYPT_FAILED');
    expect(code(() => decryptSecret(`v2:${iv}:${tag}:${ct}`, KEY))).toBe('SECRET_DECRYPT_FAILED');
    expect(code(() => decryptSecret(`v1:${iv}:${tag.slice(4)}:${ct}`, KEY))).toBe('SECRET_DECRYPT_FAILED');
    expect(code(() => decryptSecret('plain text', KEY))).toBe('SECRET_DECRYPT_FAILED');
  });

  it('never puts the secret in its error message', () => {
    try {
      decryptSecret(encryptSecret('hunter2-very-secret', KEY), OTHER, 'API password');
    } catch (err) {
      expect((err as Error).message).toContain('API password');
      expect((err as Error).message).not.toContain('hunter2');
    }
  });
});

describe('keys', () => {
  it('reads 64 hex digits or base64 of 32 bytes, and nothing else', () => {
    const hex = KEY.toString('hex');
    expect(parseSecretKey(hex, 'test').equals(KEY)).toBe(true);
    expect(parseSecretKey(KEY.toString('base64'), 'test').equals(KEY)).toBe(true);
    expect(parseSecretKey(KEY.toString('base64url'), 'test').equals(KEY)).toBe(true);
    expect(parseSecretKey(`  ${hex}\n`, 'test').equals(KEY)).toBe(true);
    expect(code(() => parseSecretKey(hex.slice(2), 'test'))).toBe('SECRET_KEY_INVALID');
    expect(code(() => parseSecretKey(Buffer.alloc(16).toString('base64'), 'test'))).toBe('SECRET_KEY_INVALID');
    expect(code(() => parseSecretKey('password', 'test'))).toBe('SECRET_KEY_INVALID');
  });

  it('prefers ISPCTL_SECRET_KEY and rejects a bad one, naming the variable', () => {
    const env = { ...tempConfig(), ISPCTL_SECRET_KEY: KEY.toString('hex') };
    expect(loadSecretKey(env, { create: true }).equals(KEY)).toBe(true);
    try {
      loadSecretKey({ ...env, ISPCTL_SECRET_KEY: 'nope' });
      expect.unreachable();
    } catch (err) {
      expect((err as IspctlError).code).toBe('SECRET_KEY_INVALID');
      expect((err as Error).message).toContain('ISPCTL_SECRET_KEY');
    }
  });

  it('creates the key file with mode 0600 on first use and reads the same key afterwards', () => {
    const env = tempConfig();
    expect(code(() => loadSecretKey(env))).toBe('SECRET_KEY_MISSING');
    const key = loadSecretKey(env, { create: true });
    const path = secretKeyPath(env);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(readFileSync(path, 'utf8').trim()).toBe(key.toString('hex'));
    expect(loadSecretKey(env).equals(key)).toBe(true);
    expect(loadSecretKey(env, { create: true }).equals(key)).toBe(true);
  });

  it('refuses a key file that group or others can read or write', () => {
    const env = tempConfig();
    loadSecretKey(env, { create: true });
    const path = secretKeyPath(env);
    for (const mode of [0o640, 0o604, 0o620, 0o644]) {
      chmodSync(path, mode);
      try {
        loadSecretKey(env);
        expect.unreachable();
      } catch (err) {
        expect((err as IspctlError).code).toBe('SECRET_KEY_INSECURE');
        expect((err as Error).message).toContain(path);
        expect((err as IspctlError).suggestions[0]).toBe(`chmod 600 ${path}`);
      }
    }
    chmodSync(path, 0o400);
    expect(loadSecretKey(env).length).toBe(32);
  });

  it('refuses a key file with garbage in it', () => {
    const env = tempConfig();
    mkdirSync(env.ISPCTL_CONFIG_DIR!, { recursive: true });
    writeFileSync(secretKeyPath(env), 'not a key\n', { mode: 0o600 });
    expect(code(() => loadSecretKey(env))).toBe('SECRET_KEY_INVALID');
  });
});

describe('generated secrets and masking', () => {
  it('generateSecret is URL-safe, long and different every time', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 200; i++) {
      const s = generateSecret();
      expect(s).toMatch(/^[A-Za-z0-9_-]{32}$/);
      seen.add(s);
    }
    expect(seen.size).toBe(200);
    expect(generateSecret(32)).toHaveLength(43);
    expect(() => generateSecret(8)).toThrow(RangeError);
  });

  it('generatePassword uses unambiguous characters and mixes cases and digits', () => {
    for (let i = 0; i < 200; i++) {
      const p = generatePassword();
      expect(p).toMatch(/^[A-HJ-NP-Za-km-z2-9]{12}$/);
      expect(p).toMatch(/[a-z]/);
      expect(p).toMatch(/[A-Z]/);
      expect(p).toMatch(/[0-9]/);
    }
    expect(generatePassword(20)).toHaveLength(20);
  });

  it('maskSecret shows the ends of long secrets only, never the length', () => {
    expect(maskSecret('abcdefghijklmnopqrstuvwxyz')).toBe('ab••••••yz');
    expect(maskSecret('abcdefghijklmnop')).toBe('ab••••••op');
    expect(maskSecret('short-secret')).toBe('••••••');
    expect(maskSecret('x')).toBe('••••••');
    expect(maskSecret('')).toBe('');
    expect(maskSecret(null)).toBe('');
  });
});
