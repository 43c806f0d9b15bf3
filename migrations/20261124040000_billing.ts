import type { Knex } from 'knex';

// Billing and collections: invoices with one line per service and period, payments with
// allocations (totals are recomputed from allocations, never incremented), collection events
// and the notification outbox. Idempotency lives in unique keys, not in hope.

export async function up(knex: Knex): Promise<void> {
  // ---- history that billing needs ------------------------------------------------------------
  // Plan changes and access changes, captured by triggers so no code path can forget them.
  await knex.schema.createTable('service_plan_changes', (t) => {
    t.bigIncrements('id').primary();
    t.integer('service_id').notNullable().references('id').inTable('services').onDelete('CASCADE');
    t.integer('old_plan_id').nullable().comment('null for the first plan of a new service');
    t.integer('new_plan_id').notNullable();
    t.timestamp('changed_at', { useTz: true }).notNullable().comment('When the change was made (transaction time); billing converts it to the ISP date');
    t.index(['service_id', 'changed_at']);
  });
  await knex.raw(`comment on table service_plan_changes is 'Every plan a service has had and since when, for prorating plan changes part way through a period'`);
  await knex.schema.createTable('service_access_changes', (t) => {
    t.bigIncrements('id').primary();
    t.integer('service_id').notNullable().references('id').inTable('services').onDelete('CASCADE');
    t.text('old_state').nullable();
    t.text('new_state').notNullable().comment('active, throttled or blocked');
    t.text('reason').notNullable().comment('access_reason at the change');
    t.timestamp('changed_at', { useTz: true }).notNullable();
    t.index(['service_id', 'changed_at']);
  });
  await knex.raw(`comment on table service_access_changes is 'When each service became active, throttled or blocked, for skipping periods spent blocked'`);
  await knex.raw(`
    create function ispctl_track_service_changes() returns trigger language plpgsql as $$
    begin
      if tg_op = 'INSERT' then
        insert into service_plan_changes (service_id, old_plan_id, new_plan_id, changed_at) values (new.id, null, new.plan_id, now());
        insert into service_access_changes (service_id, old_state, new_state, reason, changed_at) values (new.id, null, new.access_state, new.access_reason, now());
      else
        if new.plan_id is distinct from old.plan_id then
          insert into service_plan_changes (service_id, old_plan_id, new_plan_id, changed_at) values (new.id, old.plan_id, new.plan_id, now());
        end if;
        if new.access_state is distinct from old.access_state then
          insert into service_access_changes (service_id, old_state, new_state, reason, changed_at) values (new.id, old.access_state, new.access_state, new.access_reason, coalesce(new.access_changed_at, now()));
        end if;
      end if;
      return new;
    end $$`);
  await knex.raw(`create trigger services_track_changes after insert or update of plan_id, access_state on services for each row execute function ispctl_track_service_changes()`);
  // Services that exist already get their history from now.
  await knex.raw(`insert into service_plan_changes (service_id, old_plan_id, new_plan_id, changed_at) select id, null, plan_id, created_at from services`);
  await knex.raw(`insert into service_access_changes (service_id, old_state, new_state, reason, changed_at) select id, null, access_state, access_reason, coalesce(access_changed_at, created_at) from services`);

  // ---- invoices -----------------------------------------------------------------------------
  await knex.raw('create sequence invoice_number_seq');
  await knex.schema.createTable('invoices', (t) => {
    t.bigIncrements('id').primary();
    t.text('number').notNullable().unique('invoices_number_key').comment('Invoice number from invoice_number_seq in the configured format, e.g. INV-2026-000123; never max(id)+1');
    t.integer('subscriber_id').notNullable().references('id').inTable('subscribers').onDelete('RESTRICT');
    t.text('period_key').notNullable().comment('Billing period YYYY-MM (the month its start date falls in)');
    t.date('period_start').notNullable();
    t.date('period_end').notNullable().comment('Inclusive');
    t.date('issue_date').notNullable().comment('ISP date the invoice was generated');
    t.date('due_date').notNullable();
    t.text('currency').notNullable();
    t.bigInteger('subtotal_minor').notNullable().defaultTo(0).comment('Sum of line amounts before discounts');
    t.bigInteger('discount_minor').notNullable().defaultTo(0).comment('Sum of line discounts');
    t.bigInteger('total_minor').notNullable().defaultTo(0).comment('subtotal - discount');
    t.bigInteger('paid_minor').notNullable().defaultTo(0).comment('Recomputed from active allocations, never incremented');
    t.text('status').notNullable().defaultTo('sent').comment('draft, sent, partially_paid, paid, overdue, void');
    t.timestamp('voided_at', { useTz: true }).nullable();
    t.text('void_reason').nullable();
    t.timestamp('created_at', { useTz: true }).notNullable();
    t.timestamp('updated_at', { useTz: true }).notNullable();
    t.index(['subscriber_id', 'status']);
    t.index(['status', 'due_date']);
  });
  await knex.raw(`
    alter table invoices
      add constraint invoices_status_values check (status in ('draft', 'sent', 'partially_paid', 'paid', 'overdue', 'void')),
      add constraint invoices_amounts check (subtotal_minor >= 0 and discount_minor >= 0 and total_minor = subtotal_minor - discount_minor and paid_minor >= 0),
      add constraint invoices_period_key_format check (period_key ~ '^[0-9]{4}-[0-9]{2}$'),
      add constraint invoices_void_shape check ((status = 'void') = (voided_at is not null))
  `);
  await knex.raw(`create unique index invoices_subscriber_period_key on invoices (subscriber_id, period_key) where status <> 'void'`);
  await knex.raw(`comment on table invoices is 'One invoice per subscriber and billing period (unique while not void)'`);

  await knex.schema.createTable('invoice_lines', (t) => {
    t.bigIncrements('id').primary();
    t.bigInteger('invoice_id').notNullable().references('id').inTable('invoices').onDelete('CASCADE');
    t.integer('service_id').notNullable().references('id').inTable('services').onDelete('RESTRICT');
    t.text('period_key').notNullable().comment('Same as the invoice; part of the idempotency key');
    t.integer('plan_id').notNullable().comment('Plan in force (the last one in the period when it changed)');
    t.text('description').notNullable().comment('e.g. Fiber 50 Mbps, 2026-11-01 to 2026-11-30 (prorated 15/30 days)');
    t.text('price_source').notNullable().comment('plan or individual: where unit_price came from, snapshotted at generation');
    t.bigInteger('unit_price_minor').notNullable().comment('Monthly price in force at generation (plan price, or the individual price replacing it)');
    t.integer('days').notNullable().comment('Days billed in the period');
    t.integer('period_days').notNullable().comment('Days in the period');
    t.bigInteger('amount_minor').notNullable().comment('Price for the days billed, before discount (prorated by days, half-up)');
    t.text('discount_kind').nullable().comment('fixed or percent, snapshotted');
    t.bigInteger('discount_value').nullable().comment('fixed: minor units; percent: basis points');
    t.bigInteger('discount_minor').notNullable().defaultTo(0).comment('Discount applied to this line');
    t.bigInteger('total_minor').notNullable().comment('amount - discount');
    t.jsonb('segments').nullable().comment('Plan segments when the plan changed part way: [{planId, planName, days, unitPrice, amount}]');
    t.boolean('voided').notNullable().defaultTo(false).comment('Copied from the invoice when it is voided, so the unique key frees the period');
    t.timestamp('created_at', { useTz: true }).notNullable();
    t.index(['invoice_id']);
  });
  await knex.raw(`
    alter table invoice_lines
      add constraint invoice_lines_price_source_values check (price_source in ('plan', 'individual')),
      add constraint invoice_lines_amounts check (amount_minor >= 0 and discount_minor >= 0 and discount_minor <= amount_minor and total_minor = amount_minor - discount_minor),
      add constraint invoice_lines_days check (days between 1 and period_days)
  `);
  await knex.raw(`create unique index invoice_lines_service_period_key on invoice_lines (service_id, period_key) where not voided`);
  await knex.raw(`comment on table invoice_lines is 'One line per service and period (unique while not voided): the terms in force at generation'`);

  // ---- payments -----------------------------------------------------------------------------
  await knex.schema.createTable('payments', (t) => {
    t.bigIncrements('id').primary();
    t.integer('subscriber_id').notNullable().references('id').inTable('subscribers').onDelete('RESTRICT');
    t.bigInteger('amount_minor').notNullable();
    t.text('currency').notNullable();
    t.text('method').notNullable().comment('cash, gcash, bank, card, other');
    t.text('reference').nullable().comment('Receipt, transaction or GCash reference; unique per method, so a retried notification cannot pay twice');
    t.timestamp('received_at', { useTz: true }).notNullable().comment('When the money was received');
    t.timestamp('recorded_at', { useTz: true }).notNullable();
    t.text('notes').nullable();
    t.timestamp('voided_at', { useTz: true }).nullable();
    t.text('void_reason').nullable();
    t.index(['subscriber_id']);
  });
  await knex.raw(`
    alter table payments
      add constraint payments_amount_positive check (amount_minor > 0),
      add constraint payments_method_values check (method in ('cash', 'gcash', 'bank', 'card', 'other')),
      add constraint payments_reference_present check (reference is null or char_length(btrim(reference)) between 1 and 200)
  `);
  await knex.raw(`create unique index payments_method_reference_key on payments (method, lower(reference)) where reference is not null`);
  await knex.raw(`comment on table payments is 'Money received; allocated to invoices oldest first, the rest is credit'`);

  await knex.schema.createTable('payment_allocations', (t) => {
    t.bigIncrements('id').primary();
    t.bigInteger('payment_id').notNullable().references('id').inTable('payments').onDelete('RESTRICT');
    t.bigInteger('invoice_id').notNullable().references('id').inTable('invoices').onDelete('RESTRICT');
    t.bigInteger('amount_minor').notNullable();
    t.timestamp('created_at', { useTz: true }).notNullable();
    t.timestamp('reversed_at', { useTz: true }).nullable().comment('Set when the payment or the invoice is voided');
    t.index(['invoice_id']);
    t.index(['payment_id']);
  });
  await knex.raw(`alter table payment_allocations add constraint payment_allocations_amount_positive check (amount_minor > 0)`);
  await knex.raw(`comment on table payment_allocations is 'How much of a payment went to which invoice; invoice paid amounts and subscriber credit are computed from these'`);

  // ---- collections and notifications ---------------------------------------------------------
  await knex.schema.createTable('collection_events', (t) => {
    t.bigIncrements('id').primary();
    t.integer('subscriber_id').notNullable().references('id').inTable('subscribers').onDelete('CASCADE');
    t.bigInteger('invoice_id').nullable().references('id').inTable('invoices').onDelete('CASCADE');
    t.text('kind').notNullable().comment('reminder, warning, suspension, restoration, receipt');
    t.text('event_key').notNullable().comment('Idempotency key, e.g. reminder:invoice:12:-3d; an event happens once');
    t.text('from_status').nullable();
    t.text('to_status').nullable();
    t.text('reason').nullable();
    t.timestamp('occurred_at', { useTz: true }).notNullable();
    t.unique(['event_key'], { indexName: 'collection_events_event_key' });
    t.index(['subscriber_id', 'occurred_at']);
  });
  await knex.raw(`comment on table collection_events is 'What collections did and why, once per event key'`);

  await knex.schema.createTable('notifications', (t) => {
    t.bigIncrements('id').primary();
    t.integer('subscriber_id').nullable().references('id').inTable('subscribers').onDelete('SET NULL');
    t.text('event_key').notNullable().comment('The event this tells about; with the channel, unique: never sent twice');
    t.text('channel').notNullable().comment('email or sms');
    t.text('template').notNullable().comment('reminder, warning, suspension, restoration, receipt');
    t.text('recipient').notNullable();
    t.text('subject').nullable();
    t.text('body').notNullable();
    t.text('status').notNullable().defaultTo('pending').comment('pending, sending, sent, failed (gave up)');
    t.integer('attempts').notNullable().defaultTo(0);
    t.text('last_error').nullable();
    t.timestamp('next_attempt_at', { useTz: true }).notNullable();
    t.timestamp('claimed_at', { useTz: true }).nullable();
    t.timestamp('sent_at', { useTz: true }).nullable();
    t.timestamp('created_at', { useTz: true }).notNullable();
    t.unique(['event_key', 'channel'], { indexName: 'notifications_event_channel_key' });
  });
  await knex.raw(`
    alter table notifications
      add constraint notifications_channel_values check (channel in ('email', 'sms')),
      add constraint notifications_status_values check (status in ('pending', 'sending', 'sent', 'failed'))
  `);
  await knex.raw(`create index notifications_due_idx on notifications (next_attempt_at) where status in ('pending', 'sending')`);
  await knex.raw(`comment on table notifications is 'Outbox of messages to subscribers, retried, never sent twice for the same event and channel'`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('notifications');
  await knex.schema.dropTable('collection_events');
  await knex.schema.dropTable('payment_allocations');
  await knex.schema.dropTable('payments');
  await knex.schema.dropTable('invoice_lines');
  await knex.schema.dropTable('invoices');
  await knex.raw('drop sequence invoice_number_seq');
  await knex.raw('drop trigger services_track_changes on services');
  await knex.raw('drop function ispctl_track_service_changes()');
  await knex.schema.dropTable('service_access_changes');
  await knex.schema.dropTable('service_plan_changes');
}
