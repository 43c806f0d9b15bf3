import { expect, test } from 'vitest';
import { listAudit } from '../../src/core/audit.js';
import { openDatabase } from '../../src/core/db/connection.js';
import { withTransaction } from '../../src/core/db/tx.js';
import { isUniqueViolation, UniqueViolationError } from '../../src/core/db/errors.js';
import { migrationStatus, migrateLatest } from '../../src/core/db/migrate.js';
import { IspctlError } from '../../src/core/errors.js';
import { initialise } from '../../src/core/settings/init.js';
import { getSetting, listSettings, loadIspSettings, setSettings } from '../../src/core/settings/service.js';
import { describeEachEngine } from '../helpers/db.js';

describeEachEngine('foundation', (db) => {
  test('migrations are applied and a second run applies nothing', async () => {
    const status = await migrationStatus(db().knex);
    expect(status.pending).toEqual([]);
    expect(status.version).toMatch(/^\d{14}_/);
    expect(await migrateLatest(db().knex)).toEqual([]);
  });

  test('bigint columns come back as bigint, dates as strings', async () => {
    const r = await db().knex.raw(`select 9007199254740993::int8 as big, date '2026-02-28' as d, now() as ts`);
    expect(r.rows[0].big).toBe(9007199254740993n);
    expect(r.rows[0].d).toBe('2026-02-28');
    expect(r.rows[0].ts).toBeInstanceOf(Date);
  });

  test('PostgreSQL sessions start with JIT off (a chunk of rows read by index is never compiled first)', async () => {
    if (db().engine !== 'postgres') return;
    const r = await db().knex.raw('show jit');
    expect(r.rows[0].jit).toBe('off');
    // Options the URL carries are kept beside it.
    const url = new URL(db().url!);
    url.searchParams.set('options', '-c statement_timeout=12345');
    const other = await openDatabase({ engine: 'postgres', url: url.toString() }, { poolMax: 1 });
    try {
      expect((await other.knex.raw('show jit')).rows[0].jit).toBe('off');
      expect((await other.knex.raw('show statement_timeout')).rows[0].statement_timeout).toBe('12345ms');
    } finally {
      await other.close();
    }
  });

  test('loadIspSettings refuses before init', async () => {
    await expect(loadIspSettings(db().knex)).rejects.toMatchObject({ code: 'NOT_INITIALISED' });
  });

  test('init requires a name, then stores defaults and audits each key', async () => {
    const ctx = db().ctx();
    await expect(initialise(ctx, { values: {} })).rejects.toMatchObject({ code: 'MISSING_FLAGS' });
    const r = await initialise(ctx, { values: { 'isp-name': 'Juan Net', 'billing-day': '5' } });
    expect(r.alreadyInitialised).toBe(false);
    const s = await loadIspSettings(db().knex);
    expect(s).toMatchObject({ ispName: 'Juan Net', currency: 'PHP', timezone: 'Asia/Manila', billingDay: 5, dueDays: 15, graceDays: 5 });
    const audit = await listAudit(db().knex, { entityType: 'settings' });
    expect(audit.map((a) => a.entityId).sort()).toEqual(['billing-day', 'currency', 'due-days', 'grace-days', 'isp-name', 'timezone']);
    expect(audit[0]!.actor).toBe('tester');
  });

  test('init again changes nothing without force', async () => {
    const ctx = db().ctx();
    const r = await initialise(ctx, { values: { 'isp-name': 'Other', currency: 'USD' } });
    expect(r).toMatchObject({ alreadyInitialised: true, changed: [] });
    expect((await getSetting(db().knex, 'currency')).value).toBe('PHP');
    const forced = await initialise(ctx, { values: { 'grace-days': '7' }, force: true });
    expect(forced.changed).toEqual(['grace-days']);
  });

  test.each([
    ['billing-day', '31', 'INVALID_SETTING_VALUE'],
    ['billing-day', 'five', 'INVALID_SETTING_VALUE'],
    ['timezone', 'Mars/Olympus', 'INVALID_TIME_ZONE'],
    ['currency', 'XYZ', 'INVALID_CURRENCY'],
    ['due-days', '-1', 'INVALID_SETTING_VALUE'],
    ['no-such-key', '1', 'UNKNOWN_SETTING'],
  ])('settings set %s %s is refused with %s and changes nothing', async (key, value, code) => {
    const before = await listSettings(db().knex);
    const auditBefore = (await listAudit(db().knex, { limit: 1000 })).length;
    const err = await setSettings(db().ctx(), { 'grace-days': '9', [key]: value }).catch((e) => e);
    expect(err).toBeInstanceOf(IspctlError);
    expect(err).toMatchObject({ code, kind: 'invalid' });
    expect(await listSettings(db().knex)).toEqual(before);
    expect((await listAudit(db().knex, { limit: 1000 })).length).toBe(auditBefore);
  });

  test('unique violations come out typed from transactions', async () => {
    await db().knex.schema.createTable('t_unique', (t) => {
      t.text('k').unique('t_unique_k');
    });
    await db().knex('t_unique').insert({ k: 'a' });
    const err = await withTransaction(db().knex, async (trx) => {
      await trx('t_unique').insert({ k: 'b' });
      await trx('t_unique').insert({ k: 'a' });
    }).catch((e) => e);
    expect(err).toBeInstanceOf(UniqueViolationError);
    expect(isUniqueViolation(err, 't_unique_k')).toBe(true);
    const rows = await db().knex('t_unique').select('k');
    expect(rows).toEqual([{ k: 'a' }]);
  });
});
