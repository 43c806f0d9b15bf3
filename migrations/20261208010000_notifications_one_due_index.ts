import type { Knex } from 'knex';

// The outbox claims each channel on its own (notifications_due_channel_idx, on channel and
// next_attempt_at, since 20261203040000_notify_hold), and nothing else reads the messages due in
// next_attempt_at order: notifications_due_idx, on next_attempt_at alone, was one more entry
// written for every message queued and every attempt rescheduled (twenty thousand in a mass
// suspension's notices), and the planner still chose it for a channel's claim, reading the
// other channel's due messages only to filter them out.
export async function up(knex: Knex): Promise<void> {
  await knex.raw('drop index if exists notifications_due_idx');
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`create index notifications_due_idx on notifications (next_attempt_at) where status in ('pending', 'sending')`);
}
