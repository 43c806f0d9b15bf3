// WireGuard (Curve25519) key pairs as RouterOS prints them: base64 of the raw 32 bytes.

import { createPrivateKey, createPublicKey, generateKeyPairSync } from 'node:crypto';

const PKCS8_X25519_PREFIX = Buffer.from('302e020100300506032b656e04220420', 'hex');

/** Whether `text` is base64 of exactly 32 bytes. */
export function isWireguardKey(text: string): boolean {
  if (!/^[A-Za-z0-9+/]{43}=$/.test(text)) return false;
  return Buffer.from(text, 'base64').length === 32;
}

export function generatePrivateKey(): string {
  const { privateKey } = generateKeyPairSync('x25519');
  return privateKey.export({ format: 'der', type: 'pkcs8' }).subarray(-32).toString('base64');
}

export function publicKeyOf(privateKeyBase64: string): string {
  const raw = Buffer.from(privateKeyBase64, 'base64');
  const key = createPrivateKey({ key: Buffer.concat([PKCS8_X25519_PREFIX, raw]), format: 'der', type: 'pkcs8' });
  return createPublicKey(key).export({ format: 'der', type: 'spki' }).subarray(-32).toString('base64');
}
