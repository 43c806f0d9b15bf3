// The statement-level triggers on services with transition tables (service history, the RADIUS
// items): after a one-service update in a connection, an update of many services in the same
// connection still writes one history row per changed service and rebuilds the RADIUS items of
// exactly the services that changed. Their joins of new_rows with old_rows run through EXECUTE,
// planned for the rows at hand each time: a PL/pgSQL statement without parameters keeps the
// plan it got at its first call in the connection (for one row, a nested loop), which made an
// import of 10,000 payments after a single payment compare every new row with every old row.
// On PGlite (one connection for its whole life) and PostgreSQL.
import { expect, test } from 'vitest';
import type { Knex } from 'knex';
import { encryptSecret } from '../../src/core/secrets.js';
import { describeEachEngine } from '../helpers/db.js';

const KEY = Buffer.from('a'.repeat(64), 'hex');
const N = 300;

async function seed(k: Knex) {
  const [rad] = await k('routers')
    .insert({ name: 'rad1', host: '127.0.0.2', api_user: 'admin', api_password_enc: encryptSecret('pw', KEY), radius_secret_enc: encryptSecret('nas-secret-0123456789abcdef', KEY), mode: 'radius', nas_address: '127.0.0.2' })
    .returning('id');
  const [api] = await k('routers')
    .insert({ name: 'api1', host: '127.0.0.3', api_user: 'admin', api_password_enc: encryptSecret('pw', KEY), radius_secret_enc: encryptSecret('other-secret-0123456789', KEY), mode: 'api' })
    .returning('id');
  const [plan] = await k('plans').insert({ name: 'Fiber 50', price_minor: 150000n, currency: 'PHP', download_kbps: 50000, upload_kbps: 20000 }).returning('id');
  const subs = await k('subscribers')
    .insert(Array.from({ length: N }, (_, i) => ({ full_name: `Subscriber ${i}` })))
    .returning('id');
  const services = await k('services')
    .insert(subs.map((s: { id: number }, i: number) => ({ subscriber_id: s.id, plan_id: plan.id, router_id: i % 2 ? rad.id : api.id, username: `u${i}`, password: `pw-${i}`, started_on: '2026-11-01', access_state: 'active', access_reason: 'ok', rate_limit: '20M/50M' })))
    .returning('id');
  return services.map((r: { id: number }) => Number(r.id)).sort((a: number, b: number) => a - b);
}

const count = async (k: Knex, sql: string, bindings: Knex.RawBinding[] = []) => Number((await k.raw(sql, bindings)).rows[0].n);

describeEachEngine('transition-table triggers on services', (db) => {
  test('a one-service update, then one of hundreds in the same connection: history and RADIUS items follow each', async () => {
    // One connection throughout, as the embedded database has and a pooled daemon connection may.
    await db().knex.transaction(async (k) => {
      const ids = await seed(k);
      const history = (since: number) => count(k, `select count(*)::int as n from service_access_changes where id > ?`, [since]);
      const mark = async () => count(k, `select coalesce(max(id), 0)::int as n from service_access_changes`);

      let at = await mark();
      await k.raw(`update services set access_state = 'blocked', access_reason = 'one', rate_limit = null where id = ?`, [ids[1]]);
      expect(await history(at)).toBe(1);
      expect(await count(k, `select count(*)::int as n from radcheck where id = ? and attribute = 'Auth-Type'`, [ids[1]])).toBe(1);

      at = await mark();
      await k.raw(`update services set access_state = 'blocked', access_reason = 'all', rate_limit = null, updated_at = now() where id = any(?::int[])`, [`{${ids.join(',')}}`]);
      // Every service but the one already blocked changed its access: one history row each.
      expect(await history(at)).toBe(N - 1);
      expect(await count(k, `select count(distinct service_id)::int as n from service_access_changes where id > ? and old_state = 'active' and new_state = 'blocked' and reason = 'all'`, [at])).toBe(N - 1);
      // The RADIUS items of every radius-mode service say Reject now; the API-mode ones have none.
      expect(await count(k, `select count(*)::int as n from radcheck where attribute = 'Auth-Type' and value = 'Reject'`)).toBe(N / 2);
      expect(await count(k, `select count(*)::int as n from radcheck c join services s on s.id = c.id join routers r on r.id = s.router_id where r.mode = 'api'`)).toBe(0);

      // An update that changes nothing the triggers follow writes no history and keeps the items.
      at = await mark();
      await k.raw(`update services set updated_at = now() where id = any(?::int[])`, [`{${ids.join(',')}}`]);
      expect(await history(at)).toBe(0);
      expect(await count(k, `select count(*)::int as n from radcheck`)).toBe(N / 2);

      // Back to active, all at once: one history row each, passwords back in the RADIUS items.
      at = await mark();
      await k.raw(`update services set access_state = 'active', access_reason = 'paid', rate_limit = '20M/50M' where id = any(?::int[])`, [`{${ids.join(',')}}`]);
      expect(await history(at)).toBe(N);
      expect(await count(k, `select count(*)::int as n from radcheck where attribute = 'Cleartext-Password'`)).toBe(N / 2);

      // The plan history follows a plan change of many services in the same way.
      const [plan2] = await k('plans').insert({ name: 'Fiber 100', price_minor: 250000n, currency: 'PHP', download_kbps: 100000, upload_kbps: 40000 }).returning('id');
      const plansBefore = await count(k, `select count(*)::int as n from service_plan_changes`);
      await k.raw(`update services set plan_id = ? where id = any(?::int[])`, [plan2.id, `{${ids.join(',')}}`]);
      expect(await count(k, `select count(*)::int as n from service_plan_changes`)).toBe(plansBefore + N);
      throw new Error('rollback');
    }).catch((err: Error) => {
      if (err.message !== 'rollback') throw err;
    });
  });

  test('the triggers join their transition tables only in statements planned at each call (EXECUTE)', async () => {
    // Every trigger function on services that is given both transition tables.
    const fns = (
      await db().knex.raw(
        `select distinct p.proname, p.prosrc
           from pg_trigger t join pg_proc p on p.oid = t.tgfoid join pg_class c on c.oid = t.tgrelid
          where c.relname = 'services' and t.tgoldtable is not null and t.tgnewtable is not null`,
      )
    ).rows as Array<{ proname: string; prosrc: string }>;
    expect(fns.map((f) => f.proname).sort()).toEqual(['ispctl_radius_services_changed', 'ispctl_track_services_updated']);
    for (const f of fns) {
      // Outside the EXECUTE strings, no statement joins old_rows with new_rows.
      const planned = f.prosrc.replace(/execute\s+\$q\$[\s\S]*?\$q\$/gi, '');
      expect(f.prosrc, f.proname).toMatch(/execute\s+\$q\$[^$]*join old_rows[^$]*\$q\$/i);
      expect(planned, f.proname).not.toMatch(/join\s+(old|new)_rows/i);
    }
  });
});
