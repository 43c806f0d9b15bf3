// WireGuard key pairs (Curve25519) from node:crypto, in WireGuard's text form: base64 of the raw
// 32 bytes (44 characters). The private key is clamped as `wg genkey` clamps it; the public key
// is what `wg pubkey` derives from it.
import { createPrivateKey, createPublicKey, randomBytes } from 'node:crypto';
import { invalid } from '../errors.js';

const PKCS8_X25519_PREFIX = Buffer.from('302e020100300506032b656e04220420', 'hex');

export interface WireguardKeyPair {
  privateKey: string;
  publicKey: string;
}

/** Whether `text` is base64 of exactly 32 bytes, as WireGuard writes keys. */
export function isWireguardKey(text: string): boolean {
  return /^[A-Za-z0-9+/]{42}[AEIMQUYcgkosw048]=$/.test(String(text ?? ''));
}

/** @throws IspctlError INVALID_WIREGUARD_KEY */
export function checkWireguardKey(text: string, field: string): string {
  const s = String(text ?? '').trim();
  if (!isWireguardKey(s)) throw invalid('INVALID_WIREGUARD_KEY', `The ${field} is not a WireGuard key (base64 of 32 bytes, 44 characters ending in "=").`, [], { field });
  return s;
}

/** The public key of a private key (both base64). */
export function wireguardPublicKey(privateKey: string): string {
  const raw = Buffer.from(checkWireguardKey(privateKey, 'private key'), 'base64');
  const key = createPrivateKey({ key: Buffer.concat([PKCS8_X25519_PREFIX, clamp(raw)]), format: 'der', type: 'pkcs8' });
  return createPublicKey(key).export({ format: 'der', type: 'spki' }).subarray(-32).toString('base64');
}

function clamp(raw: Buffer): Buffer {
  const k = Buffer.from(raw);
  k[0]! &= 248;
  k[31]! &= 127;
  k[31]! |= 64;
  return k;
}

/** A fresh key pair: 32 random bytes, clamped, and the public key derived from them. */
export function generateWireguardKeyPair(): WireguardKeyPair {
  const privateKey = clamp(randomBytes(32)).toString('base64');
  return { privateKey, publicKey: wireguardPublicKey(privateKey) };
}
