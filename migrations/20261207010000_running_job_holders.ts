import type { Knex } from 'knex';

// Every runner (each payment's, each command's, the daemon's) first looks for jobs a dead runner
// left running: the holders of running jobs. Without an index of its own that read walked the
// whole job history (done jobs are kept), tens of milliseconds at 70,000 jobs and growing with
// every job ever run; the running jobs are a handful.
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`create index provisioning_jobs_running_holder_idx on provisioning_jobs (claimed_by) where status = 'running'`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('drop index if exists provisioning_jobs_running_holder_idx');
}
