import type { Knex } from 'knex';

// Desired access, materialised on each service by the access policy (src/core/access/policy.ts),
// and the durable outbox of work routers must be told.

export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    alter table services
      add column access_state text not null default 'blocked',
      add column access_reason text not null default 'pending',
      add column rate_limit text null,
      add column access_changed_at timestamptz null,
      add constraint services_access_state_values check (access_state in ('active', 'throttled', 'blocked')),
      add constraint services_rate_limit_shape check ((access_state = 'blocked') = (rate_limit is null))
  `);
  await knex.raw(`comment on column services.access_state is 'Desired access computed by the access policy: active, throttled or blocked. Written only by refreshAccess'`);
  await knex.raw(`comment on column services.access_reason is 'Why: ok, ended, admin_suspended, uncollectible, billing_suspended (pending before the first computation)'`);
  await knex.raw(`comment on column services.rate_limit is 'Mikrotik-Rate-Limit for active and throttled services (upload/download from the subscriber side)'`);
  await knex.raw('create index services_access_state_idx on services (access_state)');

  await knex.schema.createTable('provisioning_jobs', (t) => {
    t.bigIncrements('id').primary();
    t.integer('router_id').notNullable().references('id').inTable('routers').onDelete('CASCADE');
    t.integer('service_id').nullable().comment('Service the job converges, when it is about one (no foreign key: a removed service still needs its router cleaned)');
    t.text('kind').notNullable().comment('service, profile, remove (API mode); radius_coa, radius_disconnect (RADIUS mode)');
    t.text('target').notNullable().comment('What the job converges, e.g. service:42 or plan:3; one pending job per router, kind and target');
    t.jsonb('payload').notNullable().defaultTo('{}').comment('Facts the job cannot read from the database at run time (e.g. the user name of a removed service)');
    t.text('status').notNullable().defaultTo('pending').comment('pending, running, done, cancelled');
    t.integer('attempts').notNullable().defaultTo(0);
    t.text('last_error').nullable().comment('Why the last attempt failed (no secrets)');
    t.timestamp('next_attempt_at', { useTz: true }).notNullable().comment('Not tried before this time (backoff after failures)');
    t.timestamp('claimed_at', { useTz: true }).nullable().comment('When a runner took the job; a running job older than the claim timeout is taken again');
    t.text('claimed_by').nullable().comment('host:pid of the runner');
    t.timestamp('created_at', { useTz: true }).notNullable();
    t.timestamp('updated_at', { useTz: true }).notNullable();
    t.timestamp('done_at', { useTz: true }).nullable();
  });
  await knex.raw(`
    alter table provisioning_jobs
      add constraint provisioning_jobs_kind_values check (kind in ('service', 'profile', 'remove', 'radius_coa', 'radius_disconnect')),
      add constraint provisioning_jobs_status_values check (status in ('pending', 'running', 'done', 'cancelled'))
  `);
  await knex.raw(`create unique index provisioning_jobs_pending_key on provisioning_jobs (router_id, kind, target) where status = 'pending'`);
  await knex.raw(`create index provisioning_jobs_due_idx on provisioning_jobs (next_attempt_at) where status in ('pending', 'running')`);
  await knex.raw(`create index provisioning_jobs_service_idx on provisioning_jobs (service_id) where service_id is not null`);
  await knex.raw(`comment on table provisioning_jobs is 'Durable outbox: what each router must be told. A job converges its target to the desired state read at run time, so running it twice is harmless'`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('provisioning_jobs');
  await knex.raw(`
    alter table services
      drop constraint services_rate_limit_shape,
      drop constraint services_access_state_values,
      drop column access_changed_at,
      drop column rate_limit,
      drop column access_reason,
      drop column access_state
  `);
}
