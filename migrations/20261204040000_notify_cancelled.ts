import type { Knex } from 'knex';

// A held notice whose action did not happen: a suspension notice still open when its
// subscriber is no longer suspended (they paid first) is not sent. It is marked `cancelled`
// with the reason in last_error, kept for the record; `notify retry` (failed messages) never
// queues it again.

export async function up(knex: Knex): Promise<void> {
  await knex.raw(`alter table notifications drop constraint notifications_status_values`);
  await knex.raw(`alter table notifications add constraint notifications_status_values check (status in ('pending', 'sending', 'sent', 'failed', 'cancelled'))`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`update notifications set status = 'failed' where status = 'cancelled'`);
  await knex.raw(`alter table notifications drop constraint notifications_status_values`);
  await knex.raw(`alter table notifications add constraint notifications_status_values check (status in ('pending', 'sending', 'sent', 'failed'))`);
}
