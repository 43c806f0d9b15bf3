import type { Knex } from 'knex';

// Billing, second part: indexes for the queries billing runs on every generation and listing, and
// plan history stamped with the application's clock (services.updated_at, which every change
// sets from the injected clock) instead of the database's, so history, proration and tests that
// travel in time agree on when a plan changed.

const TRACK_WITH_APP_CLOCK = `
  create or replace function ispctl_track_service_changes() returns trigger language plpgsql as $$
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
  end $$`;

const TRACK_ORIGINAL = `
  create or replace function ispctl_track_service_changes() returns trigger language plpgsql as $$
  begin
    if tg_op = 'INSERT' then
      insert into service_plan_changes (service_id, old_plan_id, new_plan_id, changed_at) values (new.id, null, new.plan_id, now());
      insert into service_access_changes (service_id, old_state, new_state, reason, changed_at) values (new.id, null, new.access_state, new.access_reason, now());
    else
      if new.plan_id is distinct from old.plan_id then
        insert into service_plan_changes (service_id, old_plan_id, new_plan_id, changed_at) values (new.id, old.plan_id, new.plan_id, now());
      end if;
      if new.access_state is distinct from old.access_state then
        insert into service_access_changes (service_id, old_state, new_state, reason, changed_at) values (new.id, old.access_state, new.access_state, new.access_reason, coalesce(new.access_changed_at, now()));
      end if;
    end if;
    return new;
  end $$`;

export async function up(knex: Knex): Promise<void> {
  await knex.raw(TRACK_WITH_APP_CLOCK);
  // Generation reads the plan changes since a period start, for every service at once.
  await knex.raw('create index service_plan_changes_changed_at_idx on service_plan_changes (changed_at)');
  // payment list --since, statements.
  await knex.raw('create index payments_received_at_idx on payments (received_at)');
  await knex.raw(`comment on column invoice_lines.segments is 'Plan segments when the plan changed part way: [{planId, planName, from, to, days, unitPriceMinor, amountMinor}] (amounts as decimal strings of minor units); they add up to amount_minor'`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('drop index payments_received_at_idx');
  await knex.raw('drop index service_plan_changes_changed_at_idx');
  await knex.raw(TRACK_ORIGINAL);
}
