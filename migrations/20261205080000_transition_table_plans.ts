import type { Knex } from 'knex';

// The statement-level triggers on services join their transition tables (new_rows with
// old_rows by id). A PL/pgSQL statement without parameters is planned once per connection and
// that plan is kept, with the row counts the transition tables had that first time: after a
// one-service update (a payment, a webhook), the join was planned as a nested loop for one row,
// and the next update of thousands of services in the same connection (a statement import, a
// collections run) compared every new row with every old row: 10,000 restorations took minutes
// on the embedded database, which has one connection for its whole life. The joins now run
// through EXECUTE, planned each time for the rows at hand (a hash join for thousands, a few
// microseconds of planning for one). Same rows, same values.

const TRACK_UPDATED = (run: (sql: string) => string) => `
  create or replace function ispctl_track_services_updated() returns trigger language plpgsql as $$
  begin
    ${run(`insert into service_plan_changes (service_id, old_plan_id, new_plan_id, changed_at)
      select n.id, o.plan_id, n.plan_id, case when n.updated_at is distinct from o.updated_at then n.updated_at else now() end
        from new_rows n join old_rows o on o.id = n.id
       where n.plan_id is distinct from o.plan_id`)};
    ${run(`insert into service_access_changes (service_id, old_state, new_state, reason, changed_at)
      select n.id, o.access_state, n.access_state, n.access_reason, coalesce(n.access_changed_at, now())
        from new_rows n join old_rows o on o.id = n.id
       where n.access_state is distinct from o.access_state`)};
    return null;
  end $$`;

const COLUMNS = ['username', 'password', 'static_ip', 'access_state', 'rate_limit', 'router_id', 'plan_id'];

const RADIUS_CHANGED = (run: (sql: string) => string) => `
  create or replace function ispctl_radius_services_changed() returns trigger language plpgsql as $$
  begin
    if tg_op = 'INSERT' then
      perform ispctl_radius_sync(array(
        select n.id from new_rows n join routers r on r.id = n.router_id where r.mode = 'radius'));
    elsif tg_op = 'UPDATE' then
      ${run(`select ispctl_radius_sync(array(
        select n.id from new_rows n join old_rows o on o.id = n.id
         where (${COLUMNS.map((c) => `n.${c}`).join(', ')})
               is distinct from (${COLUMNS.map((c) => `o.${c}`).join(', ')})
           and exists (select 1 from routers r where r.id in (n.router_id, o.router_id) and r.mode = 'radius')))`)};
    elsif tg_op = 'DELETE' then
      perform ispctl_radius_sync(array(select id from old_rows));
    end if;
    return null;
  end
  $$`;

/** Planned at each call: the statement as a dollar-quoted string for EXECUTE. */
const dynamic = (sql: string) => `execute $q$${sql}$q$`;
/** Planned once per connection (as before). */
const cached = (sql: string) => (sql.trimStart().startsWith('select ') ? `perform ${sql.trimStart().slice('select '.length)}` : sql);

export async function up(knex: Knex): Promise<void> {
  await knex.raw(TRACK_UPDATED(dynamic));
  await knex.raw(RADIUS_CHANGED(dynamic));
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(TRACK_UPDATED(cached));
  await knex.raw(RADIUS_CHANGED(cached));
}
