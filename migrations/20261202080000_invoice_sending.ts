import type { Knex } from 'knex';

// Invoices that reach the customer, and messages that carry documents.
//
// - invoices.sent_at: when a message carrying the invoice (the email with its PDF, the SMS with
//   its pay link) was delivered. An unpaid invoice is `issued` until then and `sent` after; the
//   invoices the older schema called `sent` had never been sent, so they become `issued`.
// - ledger_invoices gains sent_at, so every reader derives the same status.
// - notifications.invoice_id: the invoice a message delivers (marked sent when it is).
// - notification_attachments: documents an email carries. Queued as a reference (invoice number
//   or payment id); rendered to a PDF on the first attempt to send and stored, so every retry
//   sends the same bytes.

export async function up(knex: Knex): Promise<void> {
  await knex.raw(`alter table invoices add column sent_at timestamptz null`);
  await knex.raw(`comment on column invoices.sent_at is 'When a message carrying this invoice was delivered; until then an unpaid invoice is issued, after it sent'`);
  await knex.raw(`alter table invoices drop constraint invoices_status_values`);
  await knex.raw(`update invoices set status = 'issued' where status = 'sent'`);
  await knex.raw(`alter table invoices add constraint invoices_status_values check (status in ('draft', 'issued', 'sent', 'partially_paid', 'paid', 'overdue', 'void'))`);
  await knex.raw(`alter table invoices alter column status set default 'issued'`);
  await knex.raw(`comment on column invoices.status is 'draft, issued (not yet delivered), sent (delivered), partially_paid, paid, overdue, void'`);
  await knex.raw(`
    create or replace view ledger_invoices as
    select i.id, i.subscriber_id, i.number, i.period_key, i.issue_date, i.due_date, i.currency, i.status,
           i.total_minor, i.paid_minor,
           case when i.status in ('void', 'draft') then 0::bigint else i.total_minor - i.paid_minor end as open_minor,
           i.sent_at
      from invoices i`);

  await knex.raw(`alter table notifications add column invoice_id bigint null references invoices(id) on delete set null`);
  await knex.raw(`comment on column notifications.invoice_id is 'The invoice this message delivers; marked sent when the message is'`);
  await knex.raw(`create index notifications_invoice_idx on notifications (invoice_id) where invoice_id is not null`);
  await knex.raw(`comment on column notifications.template is 'reminder, warning, suspension, restoration, receipt, invoice'`);

  await knex.schema.createTable('notification_attachments', (t) => {
    t.bigIncrements('id').primary();
    t.bigInteger('notification_id').notNullable().references('id').inTable('notifications').onDelete('CASCADE');
    t.text('kind').notNullable().comment('invoice (ref: its number) or receipt (ref: the payment id)');
    t.text('ref').notNullable();
    t.text('file_name').nullable();
    t.text('content_type').nullable();
    t.binary('content').nullable().comment('The rendered document, stored on the first attempt so retries send the same bytes');
    t.timestamp('rendered_at', { useTz: true }).nullable();
    t.unique(['notification_id', 'kind', 'ref'], { indexName: 'notification_attachments_key' });
  });
  await knex.raw(`alter table notification_attachments add constraint notification_attachments_kind_values check (kind in ('invoice', 'receipt'))`);
  await knex.raw(`comment on table notification_attachments is 'Documents an email carries: a reference when queued, the rendered bytes from the first attempt on'`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('notification_attachments');
  await knex.raw(`drop index if exists notifications_invoice_idx`);
  await knex.raw(`alter table notifications drop column invoice_id`);
  await knex.raw(`comment on column notifications.template is 'reminder, warning, suspension, restoration, receipt'`);
  await knex.raw('drop view ledger_invoices');
  await knex.raw(`
    create view ledger_invoices as
    select i.id, i.subscriber_id, i.number, i.period_key, i.issue_date, i.due_date, i.currency, i.status,
           i.total_minor, i.paid_minor,
           case when i.status in ('void', 'draft') then 0::bigint else i.total_minor - i.paid_minor end as open_minor
      from invoices i`);
  await knex.raw(`comment on view ledger_invoices is 'Invoices as the ledger sees them: open_minor is what is still owed on an issued, non-void invoice (total less active allocations)'`);
  await knex.raw(`alter table invoices drop constraint invoices_status_values`);
  await knex.raw(`update invoices set status = 'sent' where status = 'issued'`);
  await knex.raw(`alter table invoices add constraint invoices_status_values check (status in ('draft', 'sent', 'partially_paid', 'paid', 'overdue', 'void'))`);
  await knex.raw(`alter table invoices alter column status set default 'sent'`);
  await knex.raw(`comment on column invoices.status is 'draft, sent, partially_paid, paid, overdue, void'`);
  await knex.raw(`alter table invoices drop column sent_at`);
}
