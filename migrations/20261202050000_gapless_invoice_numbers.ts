import type { Knex } from 'knex';

// Gapless invoice numbers. A sequence hands out values outside the transaction, so a run that
// rolled back or was killed after drawing its numbers left a hole in the series, and many tax
// authorities expect none. A counter row per series, advanced by the transaction that inserts
// the invoices, commits with them or not at all.

export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    create table invoice_number_counters (
      series text primary key,
      last_value bigint not null,
      updated_at timestamptz not null default now(),
      constraint invoice_number_counters_last_value_nonnegative check (last_value >= 0)
    )
  `);
  await knex.raw(`comment on table invoice_number_counters is 'The last number used in each invoice number series; advanced in the transaction that commits the invoices, so a crash or rollback leaves no gap'`);
  await knex.raw(`
    insert into invoice_number_counters (series, last_value)
    select 'invoice', case when is_called then last_value else 0 end from invoice_number_seq
  `);
  await knex.raw('drop sequence invoice_number_seq');
  await knex.raw(`comment on column invoices.number is 'Invoice number from the invoice series of invoice_number_counters in the configured format, e.g. INV-2026-000123; gapless, never max(id)+1'`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('create sequence invoice_number_seq');
  const row = (await knex.raw(`select last_value from invoice_number_counters where series = 'invoice'`)).rows[0] as { last_value: unknown } | undefined;
  const last = row ? BigInt(String(row.last_value)) : 0n;
  if (last > 0n) await knex.raw('select setval(?::regclass, ?::bigint, true)', ['invoice_number_seq', last.toString()]);
  await knex.raw('drop table invoice_number_counters');
}
