import type { Knex } from 'knex';

// The daemon: router health from consecutive checks, the daemon instances that are running (for
// `ispctl daemon status` and for taking back the work of an instance that died), and what each
// schedule did last.

export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    alter table routers
      add column consecutive_failures integer not null default 0,
      add column health_checked_at timestamptz null,
      add column status_changed_at timestamptz null,
      add constraint routers_consecutive_failures_nonnegative check (consecutive_failures >= 0)
  `);
  await knex.raw(`comment on column routers.consecutive_failures is 'Health checks in a row that failed (0 after a good one); the daemon turns them into degraded and offline with the settings health-degraded-after and health-offline-after'`);
  await knex.raw(`comment on column routers.health_checked_at is 'When the daemon last checked the router'`);
  await knex.raw(`comment on column routers.status_changed_at is 'When the daemon last changed status (online, degraded, offline)'`);

  await knex.schema.createTable('daemon_instances', (t) => {
    t.text('id').primary().comment('Random id of one run of ispctl daemon');
    t.text('name').notNullable().comment('--instance-name, default the host name');
    t.text('host').notNullable();
    t.integer('pid').notNullable();
    t.text('worker_id').notNullable().comment('host:pid, as provisioning_jobs.claimed_by records the jobs it runs');
    t.text('engine').notNullable().comment('postgres or pglite');
    t.text('version').nullable().comment('ispctl version');
    t.timestamp('started_at', { useTz: true }).notNullable();
    t.timestamp('heartbeat_at', { useTz: true }).notNullable().comment('Database time of the last sign of life; older than three heartbeat intervals means gone');
    t.integer('heartbeat_every_ms').notNullable().comment('How often this instance writes heartbeat_at');
    t.boolean('is_leader').notNullable().defaultTo(false).comment('Held the leader lock at the last heartbeat');
    t.timestamp('leader_since', { useTz: true }).nullable();
    t.integer('lock_backend_pid').nullable().comment('PostgreSQL backend pid of its lock connection: pg_locks shows who holds the leader lock');
    t.timestamp('stopped_at', { useTz: true }).nullable().comment('Set when it stopped cleanly (SIGTERM, SIGINT, --once)');
  });
  await knex.raw('create index daemon_instances_heartbeat_idx on daemon_instances (heartbeat_at)');
  await knex.raw(`comment on table daemon_instances is 'Runs of ispctl daemon, with their heartbeat and leadership; shown by ispctl daemon status'`);

  await knex.schema.createTable('schedule_runs', (t) => {
    t.text('schedule').primary().comment('billing, collections, jobs, health, radius-stale, notifications');
    t.timestamp('last_started_at', { useTz: true }).nullable();
    t.timestamp('last_finished_at', { useTz: true }).nullable();
    t.text('last_outcome').nullable().comment('running, ok, failed, skipped');
    t.text('last_error').nullable().comment('Why the last run failed (no secrets)');
    t.text('last_instance').nullable().comment('daemon_instances.id of the instance that ran it');
    t.text('last_slot').nullable().comment('For billing: the period key (YYYY-MM) the run was for');
    t.jsonb('last_summary').nullable().comment('What the last run did, e.g. invoices created');
    t.integer('last_duration_ms').nullable();
    t.timestamp('last_ok_at', { useTz: true }).nullable();
    t.integer('runs').notNullable().defaultTo(0);
    t.integer('consecutive_failures').notNullable().defaultTo(0);
  });
  await knex.raw(`
    alter table schedule_runs
      add constraint schedule_runs_outcome_values check (last_outcome is null or last_outcome in ('running', 'ok', 'failed', 'skipped'))
  `);
  await knex.raw(`comment on table schedule_runs is 'The last run of each daemon schedule (one row per schedule), for ispctl daemon status'`);

  await knex.schema.createTable('schedule_run_history', (t) => {
    t.bigIncrements('id').primary();
    t.text('schedule').notNullable();
    t.text('slot').nullable().comment('For billing: the period key the run was for');
    t.text('instance_id').notNullable();
    t.timestamp('started_at', { useTz: true }).notNullable();
    t.timestamp('finished_at', { useTz: true }).nullable();
    t.text('outcome').notNullable().comment('ok or failed');
    t.text('error').nullable();
    t.jsonb('summary').nullable();
  });
  await knex.raw(`alter table schedule_run_history add constraint schedule_run_history_outcome_values check (outcome in ('ok', 'failed'))`);
  await knex.raw('create index schedule_run_history_slot_idx on schedule_run_history (schedule, slot) where outcome = \'ok\'');
  await knex.raw('create index schedule_run_history_started_idx on schedule_run_history (started_at)');
  await knex.raw(`comment on table schedule_run_history is 'Every billing run of the daemon, and failed runs of the other schedules (kept 90 days): a billing period with an ok run here is not run again'`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('schedule_run_history');
  await knex.schema.dropTable('schedule_runs');
  await knex.schema.dropTable('daemon_instances');
  await knex.raw(`
    alter table routers
      drop constraint routers_consecutive_failures_nonnegative,
      drop column status_changed_at,
      drop column health_checked_at,
      drop column consecutive_failures
  `);
}
