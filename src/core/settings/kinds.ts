// The kinds of setting most settings are: a whole number in a range, a line (or lines) of text,
// one of a few words, true or false. Each area's setting-defs builds its settings from these, so
// a whole number is checked, and refused, the same way in every area.
import { errors } from '../error-catalogue.js';
import type { SettingDef } from './registry.js';

// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/;
// eslint-disable-next-line no-control-regex
const CONTROL_BUT_NEWLINE = /[\u0000-\u0008\u000b-\u001f\u007f]/;

/**
 * A whole number from `min` to `max`. `why`: said when the number is out of range (billing-day:
 * "days 29 to 31 do not exist in every month").
 */
export function integerSetting(key: string, description: string, min: number, max: number, def: number, extra: Partial<SettingDef> & { why?: string } = {}): SettingDef {
  const { why, ...rest } = extra;
  return {
    key,
    description,
    type: 'integer',
    min,
    max,
    default: def,
    ...rest,
    parse(raw) {
      const s = String(raw).trim();
      const n = /^-?\d+$/.test(s) ? Number(s) : NaN;
      if (Number.isNaN(n)) throw errors.settingValue(key, `a whole number from ${min} to ${max}`, raw, String(def));
      if (n < min || n > max) throw errors.settingValue(key, `a whole number from ${min} to ${max}${why ? ` (${why})` : ''}`, raw, String(Math.min(Math.max(n, min), max)));
      return n;
    },
  };
}

/**
 * Text that cannot be empty, up to `maxLength` characters. With `maxLines`, it may span lines
 * (an address, bank details; `\n` typed as two characters is a line break); else one line.
 */
export function textSetting(key: string, description: string, maxLength: number, extra: Partial<SettingDef> & { maxLines?: number } = {}): SettingDef {
  const { maxLines, ...rest } = extra;
  return {
    key,
    description,
    type: 'string',
    ...rest,
    parse(raw) {
      const s = (maxLines ? String(raw).replace(/\\n/g, '\n').replace(/\r\n?/g, '\n') : String(raw)).trim();
      const lines = maxLines ? `at most ${maxLines} lines of` : 'one line of';
      const expected = `${lines} at most ${maxLength} characters`;
      if (s === '') throw errors.settingValue(key, `${expected}, not empty`, undefined, '"…"');
      if (s.length > maxLength) throw errors.settingValue(key, `${expected}; it is ${s.length} long`);
      if ((maxLines ? CONTROL_BUT_NEWLINE : CONTROL).test(s)) throw errors.settingValue(key, `${expected}, without control characters`);
      if (maxLines && s.split('\n').length > maxLines) throw errors.settingValue(key, `${expected}; it has ${s.split('\n').length} lines`);
      return s;
    },
  };
}

/** One of a few words (case-insensitive; stored lower-case). */
export function choiceSetting(key: string, description: string, values: readonly string[], def: string): SettingDef {
  return {
    key,
    description,
    type: 'enum',
    values,
    default: def,
    parse(raw) {
      const s = String(raw).trim().toLowerCase();
      if (!values.includes(s)) throw errors.settingValue(key, `one of ${values.join(', ')}`, raw, [...values]);
      return s;
    },
  };
}

/** true or false (also yes/no, on/off, 1/0). */
export function booleanSetting(key: string, description: string, def: boolean): SettingDef {
  return {
    key,
    description,
    type: 'boolean',
    default: def,
    parse(raw) {
      if (typeof raw === 'boolean') return raw;
      const s = String(raw).trim().toLowerCase();
      if (['true', 'yes', 'on', '1'].includes(s)) return true;
      if (['false', 'no', 'off', '0'].includes(s)) return false;
      throw errors.settingValue(key, 'true or false', raw, String(!def));
    },
  };
}
