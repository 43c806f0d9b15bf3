import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('settings', (t) => {
    t.text('key').primary().comment('Setting name, e.g. billing-day');
    t.jsonb('value').notNullable().comment('Validated value as JSON');
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
  });
  await knex.raw(`comment on table settings is 'ISP-wide settings; keys and types are validated by the application'`);

  await knex.schema.createTable('audit_log', (t) => {
    t.bigIncrements('id').primary();
    t.timestamp('at', { useTz: true }).notNullable().comment('When the change happened (UTC)');
    t.text('actor').notNullable().comment('OS user who ran the command (SUDO_USER first)');
    t.text('command').notNullable().comment('Command line, secrets masked');
    t.text('entity_type').notNullable().comment('settings, router, plan, subscriber, invoice, payment, ...');
    t.text('entity_id').nullable();
    t.text('action').notNullable().comment('create, update, delete, suspend, ...');
    t.jsonb('before').nullable();
    t.jsonb('after').nullable();
    t.index(['entity_type', 'entity_id']);
    t.index(['at']);
  });
  await knex.raw(`comment on table audit_log is 'Every change: when, who, which command, what changed'`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('audit_log');
  await knex.schema.dropTable('settings');
}
