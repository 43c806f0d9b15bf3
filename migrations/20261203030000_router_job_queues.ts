import type { Knex } from 'knex';

// Per-router queues: the runner claims one router's due jobs at a time (a router's turn), so
// finding them must not scan every open job of every router (200,000 after a mass suspension).
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`create index provisioning_jobs_router_open_idx on provisioning_jobs (router_id, id) where status in ('pending', 'running')`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('drop index if exists provisioning_jobs_router_open_idx');
}
