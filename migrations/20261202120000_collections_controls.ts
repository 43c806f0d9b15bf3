import type { Knex } from 'knex';

// Controls over collections: a pause (no one is suspended or written off while it holds) and
// a per-subscriber extension (promise to pay: collections does not suspend the subscriber
// until the date, an ISP calendar date).
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    create table collections_pause (
      id boolean primary key default true check (id),
      paused_at timestamptz not null,
      paused_by text not null,
      reason text check (reason is null or char_length(reason) <= 500)
    )`);
  await knex.raw(`comment on table collections_pause is 'At most one row: collections is paused since paused_at (ispctl collections pause / resume)'`);
  await knex.raw(`
    alter table subscribers
      add column collections_hold_until date,
      add column collections_hold_reason text check (collections_hold_reason is null or char_length(collections_hold_reason) <= 500)`);
  await knex.raw(`comment on column subscribers.collections_hold_until is 'Promise to pay: collections does not suspend this subscriber up to and including this ISP date (ispctl subscriber extend)'`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('alter table subscribers drop column collections_hold_reason, drop column collections_hold_until');
  await knex.raw('drop table collections_pause');
}
