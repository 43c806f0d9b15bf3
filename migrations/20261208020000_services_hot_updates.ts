import type { Knex } from 'knex';

// A service's status and access change often (every suspension, throttle and restoration, a
// mass run's thousands at once), and nothing else about it does. PostgreSQL can write such a
// change as a heap-only tuple (HOT: no new entry in any of the table's indexes) when no indexed
// column changes and the row's page has room. Two things stood in the way:
// - services_access_state_idx, an index of a column with three values, made every change of
//   access an update of all seven indexes. No statement finds services by access state through
//   it: the dashboard and the collections cap count every service, and the change of the
//   block action (a setting) reads the blocked services of API routers once.
// - pages filled to the brim by inserts: fillfactor 90 leaves each page of services inserted
//   from now on room for its rows' next versions.
export async function up(knex: Knex): Promise<void> {
  await knex.raw('drop index if exists services_access_state_idx');
  await knex.raw('alter table services set (fillfactor = 90)');
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('alter table services reset (fillfactor)');
  await knex.raw('create index services_access_state_idx on services (access_state)');
}
