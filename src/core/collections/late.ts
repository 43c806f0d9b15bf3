// What collections does past the due date besides suspending: the late fee (late-fee setting,
// charged once per invoice late-fee-days after its due date, as a pending charge that goes on
// the next invoice) and writing off (a suspended service whose oldest unpaid invoice is more
// than uncollectible-days past due becomes `uncollectible`: blocked, and no longer chased or
// restored automatically). Both are set-based and idempotent (an event key per invoice, a
// status condition per service).
import { recordAudit } from '../audit.js';
import type { ServiceContext } from '../context.js';
import { big, rowsOf, subscriberScope, type BigValue, type SubscriberRange } from '../db/sql.js';
import type { Db } from '../db/tx.js';
import { changeCollectionStatuses, type StatusWriteSettings } from '../provisioning/access.js';
import { listSettings, type SettingView } from '../settings/service.js';

/** A late fee inserted (adjustments). */
interface LateFeeRow {
  id: BigValue;
  subscriber_id: number;
  amount_minor: BigValue;
  event_key: string;
}

/** A service to write off. */
interface WriteOffRow {
  id: number;
  subscriber_id: number;
}

export interface LateResult {
  lateFees: Array<{ adjustmentId: number; subscriberId: number; invoiceId: number; amountMinor: bigint }>;
  uncollectible: number[];
  jobIds: number[];
}

/** Late fee setting → { fixed minor units } or { basis points of the overdue balance }; null when none. */
export function lateFeeRule(value: string, currencyExponent = 2): { fixedMinor: bigint } | { basisPoints: bigint } | null {
  if (!value || value === 'none') return null;
  const pct = value.endsWith('%');
  const [whole, frac = ''] = (pct ? value.slice(0, -1) : value).split('.');
  const scaled = BigInt(whole!) * 100n + BigInt((frac + '00').slice(0, 2));
  if (scaled <= 0n) return null;
  if (pct) return { basisPoints: scaled };
  return { fixedMinor: currencyExponent === 2 ? scaled : scaled / 100n };
}

export async function chargeLateFeesAndWriteOffs(
  db: Db,
  ctx: Pick<ServiceContext, 'clock' | 'actor'>,
  opts: {
    today: string;
    subscriberIds?: readonly number[];
    /** With subscriberIds (empty): the subscribers with ids in this range (a chunk of a collections run). */
    subscriberRange?: SubscriberRange;
    settings?: readonly SettingView[];
    statusWrite?: StatusWriteSettings;
  },
): Promise<LateResult> {
  const v = new Map((opts.settings ?? (await listSettings(db))).map((s) => [s.key, s.value]));
  const currency = String(v.get('currency') ?? 'PHP');
  const rule = lateFeeRule(String(v.get('late-fee') ?? 'none'));
  const feeDays = Number(v.get('late-fee-days') ?? 1);
  const writeOffDays = Number(v.get('uncollectible-days') ?? 120);
  const within = (col: string) => (opts.subscriberIds ? subscriberScope(col, opts.subscriberIds, opts.subscriberRange) : null);
  const invoicesIn = within('i.subscriber_id');
  const servicesIn = within('s.subscriber_id');
  const scope = invoicesIn ? `and ${invoicesIn.sql}` : '';
  const ids = invoicesIn?.bindings ?? [];
  const now = ctx.clock.now();
  const out: LateResult = { lateFees: [], uncollectible: [], jobIds: [] };

  if (rule) {
    const amount = 'fixedMinor' in rule ? `?::bigint` : `((i.total_minor - i.paid_minor) * ?::bigint * 2 + 10000) / 20000`;
    const rows = await rowsOf<LateFeeRow>(
      db,
      `insert into adjustments (subscriber_id, direction, type, amount_minor, currency, reason, status, event_key, created_by, created_at)
       select i.subscriber_id, 'charge', 'late_fee', ${amount}, ?, 'Late payment of ' || i.number, 'pending', 'late-fee:invoice:' || i.id, ?, ?::timestamptz
         from invoices i
        where i.status not in ('void', 'draft', 'paid') and i.kind = 'period' and i.total_minor > i.paid_minor
          and i.due_date + ?::int <= ?::date and i.due_date < ?::date ${scope}
       on conflict (event_key) where event_key is not null do nothing
       returning id, subscriber_id, amount_minor, event_key`,
      ['fixedMinor' in rule ? rule.fixedMinor.toString() : rule.basisPoints.toString(), currency, `collections (${ctx.actor.user})`, now, feeDays, opts.today, opts.today, ...ids],
    );
    out.lateFees = rows
      .filter((r) => big(r.amount_minor) > 0n)
      .map((r) => ({ adjustmentId: Number(r.id), subscriberId: Number(r.subscriber_id), invoiceId: Number(r.event_key.split(':')[2]), amountMinor: big(r.amount_minor) }));
    for (const f of out.lateFees) {
      await recordAudit(db, ctx, { entityType: 'adjustment', entityId: `ADJ-${f.adjustmentId}`, action: 'create', after: { type: 'late_fee', amountMinor: f.amountMinor, invoiceId: f.invoiceId, by: 'collections' } });
    }
  }

  // Scoped on the services (the outer rows): with the scope inside the subquery instead, each
  // suspended service would test its invoices against the whole id list. The status changes
  // (and the access that follows) go through the one writer of collection status.
  const due = await rowsOf<WriteOffRow>(
    db,
    `select s.id, s.subscriber_id from services s
        where s.collection_status = 'suspended' and s.ended_on is null ${servicesIn ? `and ${servicesIn.sql}` : ''}
          and exists (select 1 from invoices i where i.subscriber_id = s.subscriber_id and i.status not in ('void', 'draft', 'paid')
                         and i.total_minor > i.paid_minor and i.due_date + ?::int < ?::date)
        order by s.id`,
    [...(servicesIn?.bindings ?? []), writeOffDays, opts.today],
  );
  const subscriberOf = new Map(due.map((r) => [Number(r.id), Number(r.subscriber_id)]));
  const res = await changeCollectionStatuses(db, ctx, due.map((r) => ({ serviceId: Number(r.id), from: 'suspended' as const, to: 'uncollectible' as const })), opts.statusWrite, opts.subscriberIds?.length === 0 ? opts.subscriberRange : undefined);
  const written = res.changed.map((id) => ({ id, subscriber_id: subscriberOf.get(id)! }));
  if (written.length) {
    out.uncollectible = [...new Set(written.map((r) => Number(r.subscriber_id)))];
    out.jobIds = res.jobIds;
    await db('collection_events')
      .insert(written.map((r) => ({ subscriber_id: Number(r.subscriber_id), invoice_id: null, kind: 'suspension', event_key: `uncollectible:service:${Number(r.id)}:${opts.today}`, from_status: 'suspended', to_status: 'uncollectible', reason: `Unpaid more than ${writeOffDays} days past due`, occurred_at: now })))
      .onConflict('event_key')
      .ignore();
    for (const sid of out.uncollectible) await recordAudit(db, ctx, { entityType: 'subscriber', entityId: sid, action: 'uncollectible', after: { collectionStatus: 'uncollectible', days: writeOffDays } });
  }
  return out;
}
