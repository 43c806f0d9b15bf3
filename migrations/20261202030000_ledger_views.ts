import type { Knex } from 'knex';

// The one read model of the ledger, as views every reader goes through (balances, statements,
// collections, messages, documents, reports). An invoice's paid amount is the sum of its active
// allocations, kept in invoices.paid_minor by the rebalance step, the only code that writes it;
// a payment's unallocated money (the subscriber's credit) is computed from its allocations.
// The status a reader shows also depends on today in the ISP's time zone (`overdue` once the
// due date has passed unpaid), which the database cannot know: src/core/ledger/read-model.ts
// adds it on top of these views.

export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    create view ledger_invoices as
    select i.id, i.subscriber_id, i.number, i.period_key, i.issue_date, i.due_date, i.currency, i.status,
           i.total_minor, i.paid_minor,
           case when i.status in ('void', 'draft') then 0::bigint else i.total_minor - i.paid_minor end as open_minor
      from invoices i`);
  await knex.raw(`comment on view ledger_invoices is 'Invoices as the ledger sees them: open_minor is what is still owed on an issued, non-void invoice (total less active allocations)'`);
  await knex.raw(`
    create view ledger_payments as
    select p.id, p.subscriber_id, p.amount_minor, p.currency, p.received_at, p.voided_at,
           coalesce(a.allocated, 0)::bigint as allocated_minor,
           case when p.voided_at is null then p.amount_minor - coalesce(a.allocated, 0)::bigint else 0::bigint end as unallocated_minor
      from payments p
      left join lateral (select sum(x.amount_minor) as allocated from payment_allocations x
                          where x.payment_id = p.id and x.reversed_at is null) a on true`);
  await knex.raw(`comment on view ledger_payments is 'Payments with what their active allocations used; unallocated_minor (0 once voided) is the subscriber''s credit'`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('drop view ledger_payments');
  await knex.raw('drop view ledger_invoices');
}
