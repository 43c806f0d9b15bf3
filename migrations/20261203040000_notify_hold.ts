import type { Knex } from 'knex';

// Notices before actions, and an outbox claimed a gateway at a time.
//
// - notifications.hold_until: a notice that announces an action (a suspension) holds it: the
//   router is not told while the notice is open, until this time (src/core/notify/hold.ts).
// - notifications_held_idx: the open held notices by subscriber, for the router job gate.
// - notifications_due_channel_idx: the outbox claims each channel (each gateway) on its own.

export async function up(knex: Knex): Promise<void> {
  await knex.raw(`alter table notifications add column hold_until timestamptz null`);
  await knex.raw(
    `comment on column notifications.hold_until is 'A notice that holds the action it announces (a suspension): router work for the subscriber waits while it is open, until this time (then it is given up)'`,
  );
  await knex.raw(`create index notifications_held_idx on notifications (subscriber_id) where hold_until is not null and status in ('pending', 'sending')`);
  await knex.raw(`create index notifications_due_channel_idx on notifications (channel, next_attempt_at) where status in ('pending', 'sending')`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`drop index if exists notifications_due_channel_idx`);
  await knex.raw(`drop index if exists notifications_held_idx`);
  await knex.raw(`alter table notifications drop column hold_until`);
}
