import { describe, expect, test } from 'vitest';
import { dataDir, redactUrl, resolveTarget } from '../../src/core/db/config.js';
import { IspctlError } from '../../src/core/errors.js';

describe('resolveTarget', () => {
  test('embedded PGlite in ISPCTL_DATA_DIR when no URL is set', () => {
    expect(resolveTarget({ env: { ISPCTL_DATA_DIR: '/srv/isp' } })).toEqual({ engine: 'pglite', dataDir: '/srv/isp', path: '/srv/isp/pgdata' });
  });
  test('XDG data dir by default', () => {
    expect(dataDir({ XDG_DATA_HOME: '/home/u/.data' })).toBe('/home/u/.data/ispctl');
  });
  test('PostgreSQL when DATABASE_URL or the flag is set; the flag wins', () => {
    expect(resolveTarget({ env: { DATABASE_URL: 'postgres://a@h/db' } })).toEqual({ engine: 'postgres', url: 'postgres://a@h/db' });
    expect(resolveTarget({ databaseUrl: 'postgresql://b@h/db', env: { DATABASE_URL: 'postgres://a@h/db' } })).toMatchObject({ url: 'postgresql://b@h/db' });
  });
  test('an empty DATABASE_URL means embedded', () => {
    expect(resolveTarget({ env: { DATABASE_URL: '', ISPCTL_DATA_DIR: '/x' } }).engine).toBe('pglite');
  });
  test('rejects other schemes with a clear error, password hidden', () => {
    try {
      resolveTarget({ databaseUrl: 'mysql://u:pw@h/db' });
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(IspctlError);
      expect((err as IspctlError).exitCode).toBe(2);
      expect((err as IspctlError).message).not.toContain('pw');
    }
  });
  test('redactUrl hides the password', () => {
    expect(redactUrl('postgres://isp:topsecret@db:5432/isp')).toBe('postgres://isp:***@db:5432/isp');
  });
});

describe('ISPCTL_DATABASE_URL', () => {
  test('wins over DATABASE_URL; set but empty, it means the embedded database', () => {
    const env = { ISPCTL_DATA_DIR: '/srv/ispctl', DATABASE_URL: 'postgres://shop@db/shop' };
    expect(resolveTarget({ env })).toEqual({ engine: 'postgres', url: 'postgres://shop@db/shop' });
    expect(resolveTarget({ env: { ...env, ISPCTL_DATABASE_URL: 'postgres://isp@db/isp' } })).toEqual({ engine: 'postgres', url: 'postgres://isp@db/isp' });
    expect(resolveTarget({ env: { ...env, ISPCTL_DATABASE_URL: '' } })).toMatchObject({ engine: 'pglite', dataDir: '/srv/ispctl' });
    expect(resolveTarget({ databaseUrl: 'postgres://flag@db/x', env: { ...env, ISPCTL_DATABASE_URL: 'postgres://isp@db/isp' } })).toMatchObject({ url: 'postgres://flag@db/x' });
  });
});
