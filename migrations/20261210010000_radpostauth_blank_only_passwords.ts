import type { Knex } from 'knex';

// The post-auth log's password column: the stock post-auth query writes
// '%{%{User-Password}:-%{Chap-Password}}' into radpostauth.pass. The configuration ispctl writes
// removes both attributes from the request at the start of post-auth (and of Post-Auth-Type
// REJECT), after authentication is over, so FreeRADIUS sends '' and the password never reaches
// the database, its statement log or its replicas. The trigger that blanks the column stays for
// any other writer (a FreeRADIUS configured by hand), but now fires only when there is something
// to blank: called for every row, the PL/pgSQL function cost FreeRADIUS 3-5 % of its
// authentication rate against ispctl's database (bench/radius-auth.mjs, docs/benchmarks.md),
// while a WHEN condition is evaluated without calling it.
export async function up(knex: Knex): Promise<void> {
  await knex.raw('drop trigger radpostauth_blank_pass on radpostauth');
  await knex.raw(`
    create trigger radpostauth_blank_pass before insert or update on radpostauth
      for each row when (new.pass <> '') execute function ispctl_radpostauth_blank_pass()
  `);
  await knex.raw(`comment on column radpostauth.pass is 'Never a password: empty as the configuration ispctl writes sends it, or null (a trigger drops whatever else a writer sends)'`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('drop trigger radpostauth_blank_pass on radpostauth');
  await knex.raw(`
    create trigger radpostauth_blank_pass before insert or update on radpostauth
      for each row execute function ispctl_radpostauth_blank_pass()
  `);
  await knex.raw(`comment on column radpostauth.pass is 'Always null: the stock post-auth query writes the PAP password here, and a trigger drops it'`);
}
