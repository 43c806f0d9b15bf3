// Checking written values and filling the values menus derive from them. Pure functions: the
// caller supplies how names of other menus' items resolve to ids.

import type { MenuStore, Stored, StoredRow } from './menu-store.js';
import type { FieldDef } from './schema.js';
import { USER_POLICIES } from './schema.js';
import { RouterTrap, badArgument, failure } from './trap.js';
import {
  formatBool,
  formatTime,
  ipv4Network,
  isIpAddress,
  normalizeRatePair,
  normalizeTimePair,
  parseBool,
  parsePrefix,
  parseRateLimit,
  parseRanges,
  parseTime,
} from './values.js';
import { generatePrivateKey, isWireguardKey, publicKeyOf } from './wireguard-keys.js';

/** Id of the item of `menu` named (or with id) `value`, or undefined. */
export type RefResolver = (menu: string, value: string) => string | undefined;

/** Stored form of a written value; undefined means unset the field. Throws RouterTrap. */
export function normalizeFieldValue(f: FieldDef, raw: string, refId: RefResolver): string | undefined {
  const name = f.name;
  const bad = (): RouterTrap => badArgument(`invalid value for argument ${name}`);
  const t = f.type;
  if (raw === '' && t.kind !== 'string') return undefined;
  switch (t.kind) {
    case 'string':
      if (t.nonEmpty && raw === '') throw bad();
      if (raw === '') return undefined;
      return raw;
    case 'bool': {
      const b = parseBool(raw);
      if (b === undefined) throw badArgument(`value of ${name} must be yes or no`);
      return formatBool(b);
    }
    case 'int': {
      if (!/^\d+$/.test(raw)) throw bad();
      const n = Number(raw);
      if (n < t.min || n > t.max) throw badArgument(`value of ${name} out of range (${t.min}..${t.max})`);
      return String(n);
    }
    case 'enum':
      if (!t.values.includes(raw)) throw badArgument(`input does not match any value of ${name}`);
      return raw;
    case 'enum-list': {
      const parts = raw.split(',').map((p) => p.trim());
      for (const p of parts) if (!t.values.includes(p)) throw badArgument(`input does not match any value of ${name}`);
      return [...new Set(parts)].join(',');
    }
    case 'ip':
      if (!isIpAddress(raw)) throw bad();
      return raw;
    case 'ip-or-pool': {
      if (isIpAddress(raw)) return raw;
      const id = refId('/ip/pool', raw);
      if (!id) throw badArgument(`input does not match any value of ${name}`);
      return id;
    }
    case 'address-prefix': {
      const p = parsePrefix(raw);
      if (!p) throw bad();
      return `${p.address}/${p.length}`;
    }
    case 'prefix-list': {
      const out: string[] = [];
      for (const part of raw.split(',')) {
        const p = parsePrefix(part.trim());
        if (!p) throw bad();
        out.push(`${p.address}/${p.length}`);
      }
      return out.join(',');
    }
    case 'ranges':
      if (!parseRanges(raw)) throw bad();
      return raw
        .split(',')
        .map((p) => p.trim())
        .join(',');
    case 'ref': {
      if (t.none !== undefined && raw === t.none) return undefined;
      const id = refId(t.menu, raw);
      if (!id) throw badArgument(`input does not match any value of ${name}`);
      return id;
    }
    case 'time': {
      const ms = parseTime(raw);
      if (ms === undefined) throw bad();
      return formatTime(ms);
    }
    case 'rate-pair': {
      const v = normalizeRatePair(raw);
      if (v === undefined) throw bad();
      return v;
    }
    case 'time-pair': {
      const v = normalizeTimePair(raw);
      if (v === undefined) throw bad();
      return v;
    }
    case 'rate-limit':
      if (!parseRateLimit(raw)) throw bad();
      return raw.trim().split(/\s+/).join(' ');
    case 'wg-key':
      if (!isWireguardKey(raw)) throw bad();
      return raw;
    case 'policy': {
      const parts = raw.split(',').map((p) => p.trim());
      for (const p of parts) {
        if (!(USER_POLICIES as readonly string[]).includes(p.startsWith('!') ? p.slice(1) : p)) {
          throw badArgument(`input does not match any value of ${name}`);
        }
      }
      return [...new Set(parts)].join(',');
    }
    case 'queue-target': {
      const out: string[] = [];
      for (const part of raw.split(',')) {
        const item = part.trim();
        const p = parsePrefix(item);
        if (p) out.push(`${p.address}/${p.length}`);
        else if (/^[^\s,]+$/.test(item)) out.push(item);
        else throw bad();
      }
      return out.join(',');
    }
  }
}

/** Values a menu computes from others on write (network, keys, generated names). */
export function deriveValues(store: MenuStore, values: Stored, existing: StoredRow | undefined): void {
  switch (store.path) {
    case '/ip/address': {
      const p = values['address'] ? parsePrefix(values['address']) : undefined;
      if (p) values['network'] = p.family === 4 ? ipv4Network(p.address, p.length) : p.address;
      break;
    }
    case '/interface/wireguard': {
      if (values['private-key'] === undefined) values['private-key'] = generatePrivateKey();
      values['public-key'] = publicKeyOf(values['private-key']);
      if (values['listen-port'] === undefined) {
        const used = new Set<string>();
        for (const r of store.storedRows()) if (r !== existing && r.v['listen-port']) used.add(r.v['listen-port']);
        let port = 13231;
        while (used.has(String(port))) port++;
        values['listen-port'] = String(port);
      }
      break;
    }
    case '/queue/simple': {
      if (values['name'] === undefined) {
        let n = 1;
        while (store.getByName(`queue${n}`)) n++;
        values['name'] = `queue${n}`;
      }
      break;
    }
    case '/ppp/profile': {
      if (existing?.v['default'] === 'true' && values['name'] !== existing.v['name']) {
        throw failure(`can not rename default profile`);
      }
      break;
    }
    default:
      break;
  }
}
