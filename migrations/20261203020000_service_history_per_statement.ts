import type { Knex } from 'knex';

// The history of plans and access states (service_plan_changes, service_access_changes) is kept
// by statement-level triggers with transition tables instead of one trigger call per row: a
// collections run suspending thousands of services wrote a history row per service through a
// PL/pgSQL call each, which cost as much as the update itself. Same rows, same values: a plan
// change or an access change (old and new differ) gives one history row, stamped with the
// application's clock as before (created_at, updated_at, access_changed_at; the transaction time
// only when those say nothing).

export async function up(knex: Knex): Promise<void> {
  await knex.raw('drop trigger if exists services_track_changes on services');
  await knex.raw(`
    create function ispctl_track_services_inserted() returns trigger language plpgsql as $$
    begin
      insert into service_plan_changes (service_id, old_plan_id, new_plan_id, changed_at)
        select n.id, null, n.plan_id, coalesce(n.created_at, now()) from new_rows n;
      insert into service_access_changes (service_id, old_state, new_state, reason, changed_at)
        select n.id, null, n.access_state, n.access_reason, coalesce(n.access_changed_at, n.created_at, now()) from new_rows n;
      return null;
    end $$`);
  await knex.raw(`
    create function ispctl_track_services_updated() returns trigger language plpgsql as $$
    begin
      insert into service_plan_changes (service_id, old_plan_id, new_plan_id, changed_at)
        select n.id, o.plan_id, n.plan_id, case when n.updated_at is distinct from o.updated_at then n.updated_at else now() end
          from new_rows n join old_rows o on o.id = n.id
         where n.plan_id is distinct from o.plan_id;
      insert into service_access_changes (service_id, old_state, new_state, reason, changed_at)
        select n.id, o.access_state, n.access_state, n.access_reason, coalesce(n.access_changed_at, now())
          from new_rows n join old_rows o on o.id = n.id
         where n.access_state is distinct from o.access_state;
      return null;
    end $$`);
  await knex.raw(`create trigger services_track_inserted after insert on services referencing new table as new_rows for each statement execute function ispctl_track_services_inserted()`);
  await knex.raw(`create trigger services_track_updated after update on services referencing old table as old_rows new table as new_rows for each statement execute function ispctl_track_services_updated()`);
  await knex.raw('drop function if exists ispctl_track_service_changes()');
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('drop trigger if exists services_track_updated on services');
  await knex.raw('drop trigger if exists services_track_inserted on services');
  await knex.raw('drop function if exists ispctl_track_services_updated()');
  await knex.raw('drop function if exists ispctl_track_services_inserted()');
  await knex.raw(`
    create function ispctl_track_service_changes() returns trigger language plpgsql as $$
    begin
      if tg_op = 'INSERT' then
        insert into service_plan_changes (service_id, old_plan_id, new_plan_id, changed_at) values (new.id, null, new.plan_id, coalesce(new.created_at, now()));
        insert into service_access_changes (service_id, old_state, new_state, reason, changed_at) values (new.id, null, new.access_state, new.access_reason, coalesce(new.access_changed_at, new.created_at, now()));
      else
        if new.plan_id is distinct from old.plan_id then
          insert into service_plan_changes (service_id, old_plan_id, new_plan_id, changed_at)
          values (new.id, old.plan_id, new.plan_id, case when new.updated_at is distinct from old.updated_at then new.updated_at else now() end);
        end if;
        if new.access_state is distinct from old.access_state then
          insert into service_access_changes (service_id, old_state, new_state, reason, changed_at) values (new.id, old.access_state, new.access_state, new.access_reason, coalesce(new.access_changed_at, now()));
        end if;
      end if;
      return new;
    end $$`);
  await knex.raw(`create trigger services_track_changes after insert or update of plan_id, access_state on services for each row execute function ispctl_track_service_changes()`);
}
