import type { Knex } from 'knex';

// The live dashboard on PostgreSQL: NOTIFY ispctl_dashboard with the table's name after any
// statement that changes what the dashboard shows (payments, collections events, access and
// admin status, routers, router jobs, daemon schedules, subscriber suspend/resume in the audit
// log). Statement-level, so a mass run sends one notification per statement, not per row. On
// the embedded database NOTIFY does nothing and the dashboard polls.

const TABLES: Array<[table: string, events: string]> = [
  ['payments', 'insert or update'],
  ['collection_events', 'insert'],
  ['services', 'insert or update or delete'],
  ['routers', 'insert or update or delete'],
  ['provisioning_jobs', 'insert or update'],
  ['schedule_runs', 'insert or update'],
  ['audit_log', 'insert'],
];

export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    create function ispctl_notify_dashboard() returns trigger language plpgsql as $$
    begin
      perform pg_notify('ispctl_dashboard', tg_table_name);
      return null;
    end $$`);
  for (const [table, events] of TABLES) {
    await knex.raw(`create trigger ${table}_notify_dashboard after ${events} on ${table} for each statement execute function ispctl_notify_dashboard()`);
  }
}

export async function down(knex: Knex): Promise<void> {
  for (const [table] of TABLES) await knex.raw(`drop trigger if exists ${table}_notify_dashboard on ${table}`);
  await knex.raw('drop function if exists ispctl_notify_dashboard()');
}
