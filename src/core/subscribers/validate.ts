// Checks of subscriber data: what both RouterOS and FreeRADIUS accept as PPPoE credentials,
// emails, phone numbers, static addresses. Each returns the normalised value or throws an
// IspctlError that names the value and says what would be accepted.

import { isIPv4 } from 'node:net';
import { invalid } from '../errors.js';
import { errors } from '../error-catalogue.js';

export const USERNAME_MAX = 64;
export const PASSWORD_MAX = 64;

/**
 * PPPoE user names: 1 to 64 printable ASCII letters, digits and `. _ - @ +`, not starting with
 * `-`. No spaces, control characters, quotes or backslashes (RouterOS scripts, FreeRADIUS
 * queries and CSV files all stay unambiguous).
 */
export function validateUsername(input: string, field = 'username'): string {
  const raw = String(input ?? '');
  const s = raw.trim();
  const shown = JSON.stringify(raw);
  const fail = (why: string, suggestions: string[] = []): never => {
    throw invalid('INVALID_USERNAME', `The ${field} ${shown} ${why}.`, [...suggestions, 'Use letters, digits and . _ - @ +, e.g. juan.delacruz or jdc@fiber'], { field, input });
  };
  if (s === '') return fail('is empty');
  if (s.length > USERNAME_MAX) return fail(`is ${s.length} characters long; the limit is ${USERNAME_MAX}`);
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(s)) return fail('contains control characters');
  if (/\s/.test(s)) return fail('contains a space', [`e.g. ${s.replace(/\s+/g, '.')}`]);
  if (/["'`]/.test(s)) return fail('contains a quote');
  if (s.includes('\\')) return fail('contains a backslash');
  if (/[^\x20-\x7e]/.test(s)) return fail('contains non-ASCII characters (accents and symbols are not safe on every router)');
  const bad = [...new Set(s.replace(/[A-Za-z0-9._@+-]/g, ''))];
  if (bad.length) return fail(`contains ${bad.map((c) => JSON.stringify(c)).join(', ')}, which is not allowed`);
  if (s.startsWith('-')) return fail('starts with "-", which RouterOS and command lines read as an option');
  return s;
}

/** PPPoE passwords: 1 to 64 printable ASCII characters without spaces, quotes or backslashes. */
export function validatePppPassword(input: string, field = 'password'): string {
  const s = String(input ?? '');
  const fail = (why: string): never => {
    throw invalid('INVALID_PASSWORD', `The ${field} ${why}.`, ['Use 1 to 64 letters, digits and symbols other than quotes, backslash and space, or leave it out to have a strong one generated'], { field });
  };
  if (s === '') return fail('is empty');
  if (s.length > PASSWORD_MAX) return fail(`is ${s.length} characters long; the limit is ${PASSWORD_MAX}`);
  if (/\s/.test(s)) return fail('contains a space or other white space');
  if (/["'`\\]/.test(s)) return fail('contains a quote or a backslash');
  if (/[^\x21-\x7e]/.test(s)) return fail('contains control or non-ASCII characters');
  return s;
}

/** A plausible email address (one @, a dotted domain, no spaces); the domain is lower-cased. */
export function validateEmail(input: string, field = 'email'): string {
  const s = String(input ?? '').trim();
  const m = /^([^\s@"'<>(),;:\\]+)@([A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+)$/.exec(s);
  if (!m || s.length > 254 || m[1]!.length > 64 || m[1]!.startsWith('.') || m[1]!.endsWith('.') || m[1]!.includes('..') || /^[0-9.]+$/.test(m[2]!.split('.').pop()!)) {
    throw invalid('INVALID_EMAIL', `The ${field} ${JSON.stringify(String(input ?? ''))} is not a valid email address.`, ['e.g. juan@example.com'], { field, input });
  }
  return `${m[1]}@${m[2]!.toLowerCase()}`;
}

/**
 * A phone number: 7 to 15 digits with an optional leading `+`; spaces, dashes, dots and
 * parentheses are allowed and removed (`+63 917-123-4567` → `+639171234567`).
 */
export function normalisePhone(input: string, field = 'phone'): string {
  const raw = String(input ?? '').trim();
  const compact = raw.replace(/[\s\-.()]/g, '');
  const m = /^(\+?)([0-9]+)$/.exec(compact);
  if (!m || m[2]!.length < 7 || m[2]!.length > 15) {
    const why = !m ? 'may only hold digits, an optional leading +, spaces, dashes and parentheses' : `has ${m[2]!.length} digits; a phone number has 7 to 15`;
    throw invalid('INVALID_PHONE', `The ${field} ${JSON.stringify(raw)} ${why}.`, ['e.g. +63 917 123 4567 or 0917-123-4567'], { field, input });
  }
  return `${m[1]}${m[2]}`;
}

/**
 * A static IPv4 address for a subscriber: dotted quad without leading zeros, not a network or
 * broadcast-looking address (last number 0 or 255), not loopback, link-local, multicast,
 * reserved or `0.x.x.x`.
 */
export function validateStaticIp(input: string, field = 'static IP'): string {
  const s = String(input ?? '').trim();
  const shown = JSON.stringify(String(input ?? ''));
  const fail = (why: string, suggestions: string[] = []): never => {
    throw invalid('INVALID_STATIC_IP', `The ${field} ${shown} ${why}.`, [...suggestions, 'Give one IPv4 address such as 10.20.0.15'], { field, input });
  };
  if (s.includes('/')) return fail('is a network, not one address', [`Leave out the prefix: ${s.replace(/\/.*$/, '')}`]);
  if (!isIPv4(s)) return fail(s.includes(':') ? 'is IPv6; static addresses are IPv4 only for now' : 'is not an IPv4 address');
  const octets = s.split('.');
  if (octets.some((o) => o.length > 1 && o.startsWith('0'))) return fail('has a leading zero, which some tools read as octal', [`Write it as ${octets.map((o) => String(Number(o))).join('.')}`]);
  const [a, b] = octets.map(Number) as [number, number, number, number];
  const last = Number(octets[3]);
  if (a === 0) return fail('is in 0.0.0.0/8, which is not a host address');
  if (a === 127) return fail('is a loopback address');
  if (a === 169 && b === 254) return fail('is a link-local address');
  if (a >= 224) return fail('is a multicast or reserved address');
  if (last === 0 || last === 255) return fail(`ends in ${last}, which looks like a network or broadcast address`);
  return s;
}

/** A person's or company's name: 1 to 200 characters, no control characters. */
export function validateFullName(input: string, field = 'full name'): string {
  const s = String(input ?? '').trim().replace(/\s+/g, ' ');
  // eslint-disable-next-line no-control-regex
  if (s === '' || s.length > 200 || /[\u0000-\u001f\u007f]/.test(s)) {
    const why = s === '' ? 'is empty' : s.length > 200 ? 'is longer than 200 characters' : 'contains control characters';
    throw invalid('INVALID_NAME', `The ${field} ${JSON.stringify(String(input ?? ''))} ${why}.`, ['e.g. --name "Juan Dela Cruz"'], { field, input });
  }
  return s;
}

/** Free text (address, notes): trimmed, at most `max` characters, newlines allowed, other control characters not. */
export function validateText(input: string, field: string, max = 500): string {
  const s = String(input ?? '').trim();
  // eslint-disable-next-line no-control-regex
  if (s.length > max || /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/.test(s)) {
    throw invalid('INVALID_TEXT', `The ${field} is ${s.length > max ? `longer than ${max} characters` : 'holding control characters'}.`, [], { field });
  }
  return s;
}

/** Admin suspension reasons: required, one line, at most 500 characters. */
export function validateReason(input: string | undefined): string {
  return errors.checkReason(input, 'the suspension', 'requested by subscriber while abroad');
}
