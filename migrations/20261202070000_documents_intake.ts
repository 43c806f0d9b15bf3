import type { Knex } from 'knex';

// Adjustments (one-off charges and credits), payments that arrive by themselves (gateway
// webhooks, statement imports) and who recorded each payment.
//
// - adjustments: a charge is billed as a line of an invoice (the next period invoice, or an
//   invoice of its own at once); a credit becomes money on account (a payment of method
//   `credit`, reference ADJ-<id>), so the ledger allocates it like any payment.
// - invoices.kind: `period` invoices are one per subscriber and period; `adjustment` invoices
//   (charges invoiced at once) are not bound by that key.
// - payments: recorded_by (the OS user, for the cashier's end-of-day report), source, an
//   idempotency key for scripts, and the gateway's transaction id, unique per gateway, so a
//   repeated notification pays once.
// - payment_gateways: the per-gateway webhook secret, encrypted at rest.
// - webhook_events: every notification received, accepted or not, and why.

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('adjustments', (t) => {
    t.bigIncrements('id').primary();
    t.integer('subscriber_id').notNullable().references('id').inTable('subscribers').onDelete('RESTRICT');
    t.text('direction').notNullable().comment('charge (the subscriber owes more) or credit (owes less)');
    t.text('type').notNullable().comment('installation, equipment, late_fee, reconnection_fee, other_charge; outage_rebate, goodwill, credit_memo');
    t.bigInteger('amount_minor').notNullable();
    t.text('currency').notNullable();
    t.text('reason').notNullable();
    t.text('status').notNullable().comment('pending (a charge waiting for the next invoice), invoiced (a charge on an invoice), applied (a credit on account), void');
    t.bigInteger('invoice_id').nullable().references('id').inTable('invoices').onDelete('RESTRICT').comment('The invoice a charge is billed on');
    t.bigInteger('payment_id').nullable().references('id').inTable('payments').onDelete('RESTRICT').comment('The credit on account a credit became (method credit)');
    t.text('event_key').nullable().comment('Idempotency key of automatic adjustments, e.g. late-fee:invoice:12');
    t.text('created_by').notNullable();
    t.timestamp('created_at', { useTz: true }).notNullable();
    t.timestamp('voided_at', { useTz: true }).nullable();
    t.text('void_reason').nullable();
    t.index(['subscriber_id', 'status']);
  });
  await knex.raw(`
    alter table adjustments
      add constraint adjustments_direction_values check (direction in ('charge', 'credit')),
      add constraint adjustments_type_values check (
        (direction = 'charge' and type in ('installation', 'equipment', 'late_fee', 'reconnection_fee', 'other_charge'))
        or (direction = 'credit' and type in ('outage_rebate', 'goodwill', 'credit_memo'))),
      add constraint adjustments_amount_positive check (amount_minor > 0),
      add constraint adjustments_status_values check (status in ('pending', 'invoiced', 'applied', 'void')),
      add constraint adjustments_reason_present check (char_length(btrim(reason)) between 1 and 500),
      add constraint adjustments_void_shape check ((status = 'void') = (voided_at is not null))
  `);
  await knex.raw('create unique index adjustments_event_key on adjustments (event_key) where event_key is not null');
  await knex.raw(`comment on table adjustments is 'One-off charges and credits with a reason; charges are billed as invoice lines, credits become money on account'`);

  // Invoices of charges billed at once are not period invoices.
  await knex.raw(`alter table invoices add column kind text not null default 'period'`);
  await knex.raw(`alter table invoices add constraint invoices_kind_values check (kind in ('period', 'adjustment'))`);
  await knex.raw('drop index invoices_subscriber_period_key');
  await knex.raw(`create unique index invoices_subscriber_period_key on invoices (subscriber_id, period_key) where status <> 'void' and kind = 'period'`);
  await knex.raw(`comment on column invoices.kind is 'period: the invoice of a billing period (one per subscriber and period); adjustment: one-off charges invoiced at once'`);

  // Invoice lines of adjustments have no service or plan.
  await knex.raw('alter table invoice_lines alter column service_id drop not null, alter column plan_id drop not null');
  await knex.raw('alter table invoice_lines add column adjustment_id bigint null references adjustments(id) on delete restrict');
  await knex.raw('alter table invoice_lines drop constraint invoice_lines_price_source_values');
  await knex.raw(`
    alter table invoice_lines
      add constraint invoice_lines_price_source_values check (price_source in ('plan', 'individual', 'adjustment')),
      add constraint invoice_lines_subject check ((service_id is not null and plan_id is not null and adjustment_id is null) or (service_id is null and adjustment_id is not null))
  `);
  await knex.raw('create unique index invoice_lines_adjustment_key on invoice_lines (adjustment_id) where adjustment_id is not null and not voided');

  // Payments: who recorded them, where they came from, and keys that make a retry harmless.
  await knex.raw(`
    alter table payments
      add column recorded_by text null,
      add column source text not null default 'manual',
      add column idempotency_key text null,
      add column gateway text null,
      add column external_id text null
  `);
  await knex.raw(`comment on column payments.recorded_by is 'OS user who recorded it (SUDO_USER first), or webhook:<gateway> / import for payments that arrived by themselves'`);
  await knex.raw('alter table payments drop constraint payments_method_values');
  await knex.raw(`
    alter table payments
      add constraint payments_method_values check (method in ('cash', 'gcash', 'bank', 'card', 'other', 'credit')),
      add constraint payments_source_values check (source in ('manual', 'webhook', 'import', 'adjustment')),
      add constraint payments_credit_is_adjustment check ((method = 'credit') = (source = 'adjustment')),
      add constraint payments_idempotency_key_length check (idempotency_key is null or char_length(idempotency_key) between 1 and 200),
      add constraint payments_external_shape check ((gateway is null) = (external_id is null))
  `);
  await knex.raw('create unique index payments_idempotency_key on payments (idempotency_key) where idempotency_key is not null');
  await knex.raw('create unique index payments_gateway_external_key on payments (gateway, external_id) where gateway is not null');
  await knex.raw(`
    update payments p set recorded_by = a.actor
      from audit_log a
     where a.entity_type = 'payment' and a.action = 'record' and a.entity_id = p.id::text and p.recorded_by is null`);
  await knex.raw('create index payments_recorded_at_idx on payments (recorded_at)');

  await knex.schema.createTable('payment_gateways', (t) => {
    t.text('name').primary().comment('e.g. paymongo, generic; the webhook path is /webhooks/<name>');
    t.text('kind').notNullable().comment('generic (signed JSON) or paymongo');
    t.text('secret').notNullable().comment('Webhook signing secret, encrypted (v1:iv:tag:ciphertext)');
    t.text('method').notNullable().defaultTo('other').comment('Payment method recorded when the notification does not say');
    t.boolean('enabled').notNullable().defaultTo(true);
    t.timestamp('created_at', { useTz: true }).notNullable();
    t.timestamp('updated_at', { useTz: true }).notNullable();
  });
  await knex.raw(`
    alter table payment_gateways
      add constraint payment_gateways_kind_values check (kind in ('generic', 'paymongo')),
      add constraint payment_gateways_name_format check (name ~ '^[a-z][a-z0-9-]{0,31}$'),
      add constraint payment_gateways_method_values check (method in ('cash', 'gcash', 'bank', 'card', 'other'))
  `);
  await knex.raw(`comment on table payment_gateways is 'Payment gateways that notify ispctl of payments, each with its own signing secret'`);

  await knex.schema.createTable('webhook_events', (t) => {
    t.bigIncrements('id').primary();
    t.text('gateway').notNullable();
    t.timestamp('received_at', { useTz: true }).notNullable();
    t.text('remote_addr').nullable();
    t.text('event_id').nullable().comment("The gateway's event id, when the body could be read");
    t.text('transaction_id').nullable();
    t.text('outcome').notNullable().comment('recorded, duplicate, rejected, ignored');
    t.integer('http_status').notNullable();
    t.text('reason').nullable();
    t.bigInteger('payment_id').nullable();
    t.text('body_sha256').notNullable();
    t.index(['received_at']);
  });
  await knex.raw(`alter table webhook_events add constraint webhook_events_outcome_values check (outcome in ('recorded', 'duplicate', 'rejected', 'ignored'))`);
  await knex.raw(`comment on table webhook_events is 'Every payment notification received, whether it paid, was a repeat or was refused, and why'`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('update adjustments set invoice_id = null, payment_id = null');
  await knex.schema.dropTable('webhook_events');
  await knex.schema.dropTable('payment_gateways');
  await knex.raw('drop index payments_recorded_at_idx');
  await knex.raw('drop index payments_gateway_external_key');
  await knex.raw('drop index payments_idempotency_key');
  await knex.raw(`delete from payment_allocations where payment_id in (select id from payments where method = 'credit')`);
  await knex.raw(`delete from payments where method = 'credit'`);
  await knex.raw(`
    alter table payments
      drop constraint payments_method_values,
      drop constraint payments_source_values,
      drop constraint payments_credit_is_adjustment,
      drop constraint payments_idempotency_key_length,
      drop constraint payments_external_shape,
      drop column recorded_by, drop column source, drop column idempotency_key, drop column gateway, drop column external_id
  `);
  await knex.raw(`alter table payments add constraint payments_method_values check (method in ('cash', 'gcash', 'bank', 'card', 'other'))`);
  await knex.raw('drop index invoice_lines_adjustment_key');
  await knex.raw('delete from invoice_lines where adjustment_id is not null');
  await knex.raw('alter table invoice_lines drop constraint invoice_lines_subject, drop constraint invoice_lines_price_source_values, drop column adjustment_id');
  await knex.raw(`alter table invoice_lines add constraint invoice_lines_price_source_values check (price_source in ('plan', 'individual'))`);
  await knex.raw('alter table invoice_lines alter column service_id set not null, alter column plan_id set not null');
  await knex.raw('drop index invoices_subscriber_period_key');
  await knex.raw(`delete from payment_allocations where invoice_id in (select id from invoices where kind = 'adjustment')`);
  await knex.raw(`delete from invoices where kind = 'adjustment'`);
  await knex.raw(`create unique index invoices_subscriber_period_key on invoices (subscriber_id, period_key) where status <> 'void'`);
  await knex.raw('alter table invoices drop constraint invoices_kind_values, drop column kind');
  await knex.schema.dropTable('adjustments');
}
