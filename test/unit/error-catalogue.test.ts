// One code, one owner: every error code is raised from one module only (the check that raises
// it, possibly in a few branches with different reasons), so the same mistake gets the same
// message shape, exit code and suggestions wherever it is made. A code a second module needs
// moves into src/core/error-catalogue.ts and both call the entry there.
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { errors } from '../../src/core/error-catalogue.js';
import { IspctlError } from '../../src/core/errors.js';

const root = join(import.meta.dirname, '..', '..');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    if (e.isDirectory()) return sourceFiles(p);
    return /\.tsx?$/.test(e.name) ? [p] : [];
  });
}

/** Every place that raises an error with a literal code: `invalid('CODE'`, `new IspctlError('CODE'` … */
function raiseSites(): Map<string, string[]> {
  const sites = new Map<string, string[]>();
  const raise = /\b(?:invalid|notFound|conflict|new IspctlError)\(\s*'([A-Z][A-Z0-9_]*)'/g;
  for (const file of sourceFiles(join(root, 'src'))) {
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(raise)) {
      const line = text.slice(0, m.index).split('\n').length;
      const at = `${relative(root, file)}:${line}`;
      sites.set(m[1]!, [...(sites.get(m[1]!) ?? []), at]);
    }
  }
  return sites;
}

describe('the error catalogue', () => {
  it('every error code is raised from one module only', () => {
    const sites = raiseSites();
    expect(sites.size).toBeGreaterThan(100);
    const fileOf = (at: string) => at.replace(/:\d+$/, '');
    const shared = [...sites]
      .filter(([, at]) => new Set(at.map(fileOf)).size > 1)
      .map(([code, at]) => `${code}: ${at.join(', ')}`);
    expect(shared, 'codes raised from more than one module: move each into src/core/error-catalogue.ts').toEqual([]);
  });

  it('a catalogue entry is not also raised inline', () => {
    const catalogue = readFileSync(join(root, 'src/core/error-catalogue.ts'), 'utf8');
    const codes = [...catalogue.matchAll(/'([A-Z][A-Z0-9_]*)'/g)].map((m) => m[1]!);
    const outside = [...raiseSites()].filter(([code, at]) => codes.includes(code) && at.some((a) => !a.startsWith('src/core/error-catalogue.ts')));
    expect(outside.map(([code, at]) => `${code}: ${at.join(', ')}`)).toEqual([]);
  });

  it('entries say what was wrong with which value, and what to do', () => {
    const e = errors.settingValue('billing-day', 'a whole number from 1 to 28', '31', '28');
    expect(e).toBeInstanceOf(IspctlError);
    expect(e).toMatchObject({ code: 'INVALID_SETTING_VALUE', kind: 'invalid', message: 'billing-day must be a whole number from 1 to 28, got "31".', suggestions: ['ispctl settings set billing-day 28'] });
    expect(errors.changedConcurrently('Plan fiber-50')).toMatchObject({ code: 'CONFLICT', kind: 'conflict', exitCode: 5 });
    expect(errors.confirmationRequired('Voiding invoice INV-2026-000001').message).toContain('Pass --yes');
    expect(() => errors.checkReason(' ', 'the suspension', 'moved away')).toThrow(expect.objectContaining({ code: 'MISSING_REASON', suggestions: ['--reason "moved away"'] }));
    expect(() => errors.checkReason('x'.repeat(501), 'the suspension', 'moved away')).toThrow(expect.objectContaining({ code: 'INVALID_REASON' }));
    expect(errors.checkReason('  moved away ', 'the suspension', 'x')).toBe('moved away');
  });
});
