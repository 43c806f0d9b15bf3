import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { formatCidr, formatIpv4, overlaps, parseCidrLoose, parseNetwork, pickFreeAddress } from '../../../src/core/onboarding/ipv4.js';
import { formatEndpoint, parseEndpoint } from '../../../src/core/onboarding/setting-defs.js';
import { generateWireguardKeyPair, isWireguardKey, wireguardPublicKey } from '../../../src/core/onboarding/wireguard-keys.js';
import { IspctlError } from '../../../src/core/errors.js';

const wg = ['/usr/bin/wg', '/usr/local/bin/wg'].find((p) => existsSync(p));

describe('WireGuard keys', () => {
  it('generates clamped 32-byte keys in base64', () => {
    const { privateKey, publicKey } = generateWireguardKeyPair();
    expect(privateKey).toHaveLength(44);
    expect(isWireguardKey(privateKey) && isWireguardKey(publicKey)).toBe(true);
    const raw = Buffer.from(privateKey, 'base64');
    expect(raw[0]! & 7).toBe(0);
    expect(raw[31]! & 0xc0).toBe(0x40);
    expect(wireguardPublicKey(privateKey)).toBe(publicKey);
  });

  it.skipIf(!wg)('derives the public key `wg pubkey` derives', () => {
    for (let i = 0; i < 5; i++) {
      const { privateKey, publicKey } = generateWireguardKeyPair();
      expect(execFileSync(wg!, ['pubkey'], { input: privateKey + '\n' }).toString().trim()).toBe(publicKey);
    }
    const fromWg = execFileSync(wg!, ['genkey']).toString().trim();
    expect(wireguardPublicKey(fromWg)).toBe(execFileSync(wg!, ['pubkey'], { input: fromWg + '\n' }).toString().trim());
  });

  it('tells keys from other text', () => {
    expect(isWireguardKey('A'.repeat(43) + '=')).toBe(true);
    expect(isWireguardKey('A'.repeat(42) + 'B=')).toBe(false); // 33rd byte bits
    expect(isWireguardKey('A'.repeat(44))).toBe(false);
  });
});

describe('tunnel network arithmetic', () => {
  it('parses networks strictly for settings', () => {
    expect(formatCidr(parseNetwork('10.233.0.0/24', 'n'))).toBe('10.233.0.0/24');
    expect(() => parseNetwork('10.233.0.1/24', 'n')).toThrow(/host bits/);
    expect(() => parseNetwork('10.233.0.0', 'n')).toThrow(IspctlError);
  });

  it('picks the lowest free host address, skipping taken ones and networks to avoid', () => {
    const n = parseNetwork('10.233.0.0/29', 'n');
    const a = (s: string) => parseCidrLoose(s)!.address;
    expect(formatIpv4(pickFreeAddress(n, [a('10.233.0.1')])!)).toBe('10.233.0.2');
    expect(formatIpv4(pickFreeAddress(n, [a('10.233.0.1'), a('10.233.0.2')], [parseCidrLoose('10.233.0.3/32')!])!)).toBe('10.233.0.4');
    expect(pickFreeAddress(n, ['1', '2', '3', '4', '5', '6'].map((x) => a(`10.233.0.${x}`)))).toBeUndefined();
    expect(overlaps(parseCidrLoose('10.0.0.0/8')!, n)).toBe(true);
    expect(overlaps(parseCidrLoose('10.233.0.8/29')!, n)).toBe(false);
  });

  it('reads the hub endpoint', () => {
    expect(parseEndpoint('vpn.example.net:51820')).toEqual({ host: 'vpn.example.net', port: 51820 });
    expect(parseEndpoint('203.0.113.5')).toEqual({ host: '203.0.113.5' });
    expect(formatEndpoint(parseEndpoint('[2001:db8::1]:443'))).toBe('[2001:db8::1]:443');
    for (const bad of ['', 'vpn.example.net:0', 'vpn.example.net:70000', 'http://x', 'a b:1', 'x";:1']) expect(() => parseEndpoint(bad)).toThrow(IspctlError);
  });
});
