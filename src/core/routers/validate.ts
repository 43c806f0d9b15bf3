// Checks of what people type about routers: names, addresses, ports.
import { isIP, isIPv4 } from 'node:net';
import { invalid } from '../errors.js';
import { errors } from '../error-catalogue.js';

/** Router names: 1 to 63 letters, digits, `.`, `_`, `-`, starting with a letter or digit. */
export function validateRouterName(input: string, field = 'router name'): string {
  const name = String(input ?? '').trim();
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/.test(name)) {
    const why = name === '' ? 'is empty' : name.length > 63 ? 'is longer than 63 characters' : 'may only hold letters, digits, ".", "_" and "-", starting with a letter or digit';
    throw invalid('INVALID_ROUTER_NAME', `The ${field} ${JSON.stringify(String(input ?? ''))} ${why}.`, ['Use a short name such as core1, tower-north or olt.2'], { field, input });
  }
  return name;
}

/** An IPv4 or IPv6 address, normalised (`::FFFF:1.2.3.4` stays as Node writes it). */
export function validateIpAddress(input: string, field: string): string {
  const s = String(input ?? '').trim();
  if (isIP(s) === 0) {
    throw errors.invalidAddress(field, input, 'is not an IPv4 or IPv6 address', ['Give an address such as 10.0.0.1 or 2001:db8::1']);
  }
  if (isIPv4(s) && s.split('.').some((o) => o.length > 1 && o.startsWith('0'))) {
    throw errors.invalidAddress(field, s, 'has an octet with a leading zero, which some tools read as octal', [`Write it as ${s.split('.').map((o) => String(Number(o))).join('.')}`]);
  }
  return s.toLowerCase();
}

/** Where ispctl reaches a router: an IP address or a DNS host name (no URL, no port). */
export function validateHost(input: string, field = 'host'): string {
  const s = String(input ?? '').trim();
  const shown = JSON.stringify(String(input ?? ''));
  if (s === '') throw invalid('INVALID_HOST', `The ${field} is empty.`, ['Give the router\'s public or WireGuard IP address, or its host name'], { field, input });
  if (/^[a-z]+:\/\//i.test(s)) {
    throw invalid('INVALID_HOST', `The ${field} ${shown} is a URL; ispctl needs only the address.`, [`Use --host ${s.replace(/^[a-z]+:\/\//i, '').replace(/[:/].*$/, '')} and give the port with --api-port`], { field, input });
  }
  if (isIP(s) !== 0) return validateIpAddress(s, field);
  if (/^\d+(\.\d+){3}$/.test(s)) throw invalid('INVALID_HOST', `The ${field} ${shown} is not a valid IPv4 address.`, ['Each of the four numbers must be from 0 to 255'], { field, input });
  if (/^[^:]+:\d+$/.test(s)) {
    throw invalid('INVALID_HOST', `The ${field} ${shown} includes a port.`, [`Use --host ${s.replace(/:\d+$/, '')} --api-port ${s.replace(/^.*:/, '')}`], { field, input });
  }
  const labels = s.replace(/\.$/, '').split('.');
  const ok = s.length <= 253 && labels.every((l) => /^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/.test(l));
  if (!ok) throw invalid('INVALID_HOST', `The ${field} ${shown} is neither an IP address nor a valid host name.`, ['Give an address such as 203.0.113.10 or 10.8.0.2, or a name such as core1.example.net'], { field, input });
  return s.toLowerCase().replace(/\.$/, '');
}

/** A TCP or UDP port, 1 to 65535. */
export function validatePort(value: number, field: string): number {
  if (!Number.isInteger(value) || value < 1 || value > 65535) {
    throw invalid('INVALID_PORT', `The ${field} ${JSON.stringify(value)} is not a port number from 1 to 65535.`, [], { field, input: value });
  }
  return value;
}

/** One of a fixed list of values (case-insensitive), or an error that lists them. */
export function validateChoice<T extends string>(input: string, values: readonly T[], field: string, code = 'INVALID_VALUE'): T {
  const s = String(input ?? '').trim().toLowerCase();
  if (!(values as readonly string[]).includes(s)) {
    throw invalid(code, `The ${field} ${JSON.stringify(String(input ?? ''))} is not one of ${values.join(', ')}.`, [`Use one of: ${values.join(', ')}`], { field, input });
  }
  return s as T;
}

/** A RADIUS shared secret as ispctl accepts it: it is written into FreeRADIUS's clients and RouterOS. */
export function validateRadiusSecret(input: string): string {
  const s = String(input ?? '');
  if (!/^[\x21-\x7e]{16,128}$/.test(s) || /["'\\]/.test(s)) {
    throw errors.radiusSecretInvalid();
  }
  return s;
}
