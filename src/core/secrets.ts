// Secrets ispctl alone reads (router API passwords, RADIUS shared secrets) are stored encrypted
// with AES-256-GCM. The key comes from ISPCTL_SECRET_KEY, or from the file `secret.key` in the
// config directory, created on first use with mode 0600. Nothing here prints or logs a secret.
//
// Stored form: `v1:<iv, base64>:<auth tag, base64>:<ciphertext, base64>`, a fresh 12-byte IV each
// time. Decryption checks the tag, so a changed ciphertext, IV or tag, or the wrong key, fails
// loudly instead of returning garbage.

import { createCipheriv, createDecipheriv, randomBytes, timingSafeEqual } from 'node:crypto';
import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, statSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { configDir, type Env } from './db/config.js';
import { IspctlError, invalid } from './errors.js';

export const SECRET_KEY_ENV = 'ISPCTL_SECRET_KEY';
export const SECRET_KEY_FILE = 'secret.key';
const FORMAT = 'v1';
const KEY_BYTES = 32;
const IV_BYTES = 12;
const TAG_BYTES = 16;

/** Where the key file lives: `secret.key` in the config directory. */
export function secretKeyPath(env: Env = process.env): string {
  return join(configDir(env), SECRET_KEY_FILE);
}

/**
 * Reads a key written as 64 hexadecimal digits or as base64 (or base64url) of 32 bytes.
 * @throws IspctlError SECRET_KEY_INVALID naming where the key came from (never the key)
 */
export function parseSecretKey(text: string, source: string): Buffer {
  const t = text.trim();
  let key: Buffer | undefined;
  if (/^[0-9a-fA-F]{64}$/.test(t)) key = Buffer.from(t, 'hex');
  else if (/^[A-Za-z0-9+/]{43}=?$/.test(t)) key = Buffer.from(t, 'base64');
  else if (/^[A-Za-z0-9_-]{43}$/.test(t)) key = Buffer.from(t, 'base64url');
  if (!key || key.length !== KEY_BYTES) {
    throw invalid('SECRET_KEY_INVALID', `The secret key in ${source} is not 32 bytes written as 64 hex digits or base64.`, [
      'Generate one with: openssl rand -hex 32',
      `Or unset ${SECRET_KEY_ENV} to use the key file ${SECRET_KEY_FILE} in the config directory`,
    ]);
  }
  return key;
}

export interface LoadSecretKeyOptions {
  /** Create the key file when it does not exist (only when about to encrypt). Default false. */
  create?: boolean;
}

/**
 * The encryption key: ISPCTL_SECRET_KEY when set, else the key file. A key file readable or
 * writable by group or others is refused.
 * @throws IspctlError SECRET_KEY_INVALID, SECRET_KEY_INSECURE, SECRET_KEY_MISSING
 */
export function loadSecretKey(env: Env = process.env, opts: LoadSecretKeyOptions = {}): Buffer {
  const fromEnv = env[SECRET_KEY_ENV];
  if (fromEnv !== undefined && fromEnv.trim() !== '') return parseSecretKey(fromEnv, SECRET_KEY_ENV);
  const path = secretKeyPath(env);
  const existing = readKeyFile(path);
  if (existing) return existing;
  if (!opts.create) {
    throw new IspctlError('SECRET_KEY_MISSING', `The secret key file ${path} does not exist, so stored router secrets cannot be decrypted.`, {
      kind: 'failure',
      suggestions: [
        'Restore the key file from your backup (it must be the one the secrets were encrypted with)',
        `Or set ${SECRET_KEY_ENV} to that key`,
        'If the key is lost, set each router\'s secrets again with ispctl router edit',
      ],
    });
  }
  return createKeyFile(path) ?? readKeyFile(path)!;
}

function readKeyFile(path: string): Buffer | undefined {
  let st;
  try {
    st = statSync(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new IspctlError('SECRET_KEY_UNREADABLE', `Cannot read the secret key file ${path}: ${(err as Error).message}.`, { kind: 'failure', cause: err });
  }
  if (!st.isFile()) throw new IspctlError('SECRET_KEY_UNREADABLE', `The secret key path ${path} is not a regular file.`, { kind: 'failure' });
  if ((st.mode & 0o077) !== 0) {
    throw new IspctlError(
      'SECRET_KEY_INSECURE',
      `The secret key file ${path} can be read or written by other users (mode ${(st.mode & 0o777).toString(8).padStart(3, '0')}); ispctl refuses to use it.`,
      { kind: 'failure', suggestions: [`chmod 600 ${path}`, 'Then check who may have copied it; if in doubt, set the router secrets again'] },
    );
  }
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new IspctlError('SECRET_KEY_UNREADABLE', `Cannot read the secret key file ${path}: ${(err as Error).message}.`, { kind: 'failure', cause: err });
  }
  return parseSecretKey(text, path);
}

/** Creates the key file exclusively with mode 0600; undefined when another process won the race. */
function createKeyFile(path: string): Buffer | undefined {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const key = randomBytes(KEY_BYTES);
  let fd: number;
  try {
    fd = openSync(path, 'wx', 0o600);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return undefined;
    throw new IspctlError('SECRET_KEY_UNREADABLE', `Cannot create the secret key file ${path}: ${(err as Error).message}.`, { kind: 'failure', cause: err });
  }
  try {
    writeSync(fd, key.toString('hex') + '\n');
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  return key;
}

/** Encrypts a short secret; a fresh random IV every time, so equal secrets encrypt differently. */
export function encryptSecret(plaintext: string, key: Buffer): string {
  checkKey(key);
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  const ct = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  const tag = cipher.getAuthTag();
  return `${FORMAT}:${iv.toString('base64')}:${tag.toString('base64')}:${ct.toString('base64')}`;
}

/** True for a string in the stored form (does not check that it decrypts). */
export function isEncryptedSecret(value: string): boolean {
  return /^v1:[A-Za-z0-9+/=]+:[A-Za-z0-9+/=]+:[A-Za-z0-9+/=]*$/.test(value);
}

/**
 * Decrypts what {@link encryptSecret} wrote.
 * @throws IspctlError SECRET_DECRYPT_FAILED when the value is malformed, was changed, or was
 *   encrypted with another key
 */
export function decryptSecret(stored: string, key: Buffer, what = 'secret'): string {
  checkKey(key);
  const fail = (why: string, cause?: unknown): never => {
    throw new IspctlError('SECRET_DECRYPT_FAILED', `Cannot decrypt the stored ${what}: ${why}.`, {
      kind: 'failure',
      cause,
      suggestions: [
        `Check that ${SECRET_KEY_ENV} or the key file ${SECRET_KEY_FILE} is the key the secret was stored with`,
        'If the key is lost, set the secret again (ispctl router edit)',
      ],
    });
  };
  const parts = typeof stored === 'string' ? stored.split(':') : [];
  if (parts.length !== 4 || parts[0] !== FORMAT) return fail('it is not in the v1 format');
  const [, ivB64, tagB64, ctB64] = parts as [string, string, string, string];
  const iv = Buffer.from(ivB64, 'base64');
  const tag = Buffer.from(tagB64, 'base64');
  const ct = Buffer.from(ctB64, 'base64');
  if (iv.length !== IV_BYTES || tag.length !== TAG_BYTES || iv.toString('base64') !== ivB64 || tag.toString('base64') !== tagB64) {
    return fail('its IV or tag has the wrong length');
  }
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES });
    decipher.setAuthTag(tag);
    return Buffer.concat([decipher.update(ct), decipher.final()]).toString('utf8');
  } catch (err) {
    return fail('the key is wrong or the stored value was changed', err);
  }
}

function checkKey(key: Buffer): void {
  if (!Buffer.isBuffer(key) || key.length !== KEY_BYTES) throw new RangeError('the secret key must be 32 bytes');
}

/**
 * A strong random secret, URL-safe (letters, digits, `-` and `_`): `bytes` random bytes in
 * base64url, 32 characters for the default 24 bytes (192 bits).
 */
export function generateSecret(bytes = 24): string {
  if (!Number.isInteger(bytes) || bytes < 16 || bytes > 96) throw new RangeError('generateSecret: bytes must be from 16 to 96');
  return randomBytes(bytes).toString('base64url');
}

/** Letters and digits people can read aloud and type on a CPE without confusing 0/O, 1/l/I. */
const PASSWORD_ALPHABET = 'ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789';

/**
 * A strong password for a person to type (PPPoE credentials): `length` characters from 56
 * unambiguous letters and digits (about 5.8 bits each; 70 bits for the default 12), with at least
 * one lower-case letter, one upper-case letter and one digit. Uniform: rejection sampling.
 */
export function generatePassword(length = 12): string {
  if (!Number.isInteger(length) || length < 8 || length > 64) throw new RangeError('generatePassword: length must be from 8 to 64');
  const n = PASSWORD_ALPHABET.length;
  const limit = 256 - (256 % n);
  for (;;) {
    let out = '';
    while (out.length < length) {
      for (const b of randomBytes(length * 2)) {
        if (b >= limit) continue;
        out += PASSWORD_ALPHABET[b % n];
        if (out.length === length) break;
      }
    }
    if (/[a-z]/.test(out) && /[A-Z]/.test(out) && /[0-9]/.test(out)) return out;
  }
}

/**
 * A secret for display: its first and last two characters around six dots when it is at least
 * 16 characters long (`ab••••••yz`, enough to tell two secrets apart), six dots otherwise. The
 * length is never shown.
 */
export function maskSecret(secret: string | null | undefined): string {
  if (secret === null || secret === undefined || secret === '') return '';
  const chars = [...secret];
  if (chars.length < 16) return '••••••';
  return `${chars.slice(0, 2).join('')}••••••${chars.slice(-2).join('')}`;
}

/** Compares two secrets in constant time (for equal lengths). */
export function secretsEqual(a: string, b: string): boolean {
  const x = Buffer.from(a, 'utf8');
  const y = Buffer.from(b, 'utf8');
  return x.length === y.length && timingSafeEqual(x, y);
}
