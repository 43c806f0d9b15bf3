// Notices before actions. A suspension notice tells the subscriber their service is suspended;
// it must not arrive after the router has already cut them off. So the notice holds the action:
//
// - Queuing a suspension notice sets its hold_until (now + notify-suspension-hold-minutes).
// - A router job for a service whose subscriber is suspended (collection_status = 'suspended')
//   is not claimed while that subscriber has a held notice still open: pending, or being sent.
//   The router is told once every such notice is sent or failed.
// - A held notice still pending at hold_until is given up by the outbox (status failed, the
//   error says why), so an outbox that cannot deliver delays a suspension by the hold at most;
//   the jobs wait HOLD_MARGIN_MS longer than the hold for a pending notice, so the outbox gives
//   it up before the router is told, even with clocks apart by up to that margin. A notice
//   being sent (claimed, not stale) always holds: its send finishes and is marked first.
// - If the subscriber pays first, the service is no longer suspended and its job is not held:
//   restoring access never waits for a message. Their held notice, if still open, is not sent
//   (it would announce a suspension that did not happen): the outbox marks it cancelled, with
//   the reason in last_error, before it claims anything, and never claims a held notice whose
//   subscriber has no suspended service.
//
// Guarantee (tested in test/db/notify-scale.test.ts): a suspension reaches the router only
// after each held notice of that subscriber is delivered or failed; a held notice is never
// sent after the suspension (the outbox gives it up instead), except when the hold plus the
// margin passed with no outbox running at all, which the daemon's status shows.
import type { Knex } from 'knex';
import { SENDING_TIMEOUT_MS } from './timing.js';
import type { TemplateName } from './templates.js';

/** The templates whose notice holds the action it announces. */
export const HOLDING_TEMPLATES: ReadonlySet<TemplateName> = new Set<TemplateName>(['suspension']);

/** How long collections (the command, the daemon) spends delivering its suspension notices before it applies the suspensions. */
export const NOTICE_BEFORE_ACTION_MS = 10_000;

/** Jobs wait this much longer than a pending notice's hold, so the outbox gives it up first. */
export const HOLD_MARGIN_MS = 60_000;

/**
 * SQL for a where clause on provisioning_jobs (aliased `provisioning_jobs`): true when the job
 * is held by a notice. Bindings: the hold cutoff and the stale-sending cutoff (see heldBindings).
 */
export const JOB_HELD_BY_NOTICE_SQL = `exists (
  select 1 from services hs join notifications hn on hn.subscriber_id = hs.subscriber_id
   where hs.id = provisioning_jobs.service_id and hs.collection_status = 'suspended'
     and hn.hold_until is not null and hn.status in ('pending', 'sending')
     and (hn.hold_until > ?::timestamptz or (hn.status = 'sending' and hn.claimed_at > ?::timestamptz)))`;

/** The bindings of JOB_HELD_BY_NOTICE_SQL at `now`. */
export function heldBindings(now: Date): [Date, Date] {
  return [new Date(now.getTime() - HOLD_MARGIN_MS), new Date(now.getTime() - SENDING_TIMEOUT_MS)];
}

export const GIVEN_UP_ERROR = 'given up: not delivered before the suspension it announces (notify-suspension-hold-minutes passed)';

/**
 * Held notices whose hold has passed and that are not being sent are given up (failed), so the
 * suspension they hold goes ahead and they never arrive after it. Returns how many, and whether
 * any was given up (then jobs may run now).
 */
export async function giveUpExpiredHolds(db: Knex, now: Date): Promise<number> {
  const r = await db.raw(
    `update notifications
        set status = 'failed', last_error = ?, claimed_at = null
      where hold_until is not null and hold_until <= ?::timestamptz and status in ('pending', 'sending')
        and (status = 'pending' or (status = 'sending' and claimed_at < ?::timestamptz))`,
    [GIVEN_UP_ERROR, now, new Date(now.getTime() - SENDING_TIMEOUT_MS)],
  );
  return Number(r.rowCount ?? 0);
}

export const CANCELLED_ERROR = 'cancelled: the subscriber is no longer suspended (paid or restored before the notice went out)';

/**
 * SQL (on notifications aliased `n`): true while the subscriber of a held notice still has a
 * suspended service, i.e. the suspension it announces still stands.
 */
export const HELD_NOTICE_STILL_DUE_SQL = `exists (select 1 from services cs where cs.subscriber_id = n.subscriber_id and cs.collection_status = 'suspended' and cs.ended_on is null)`;

/**
 * Held notices still open (pending, or claimed and abandoned) whose subscriber is no longer
 * suspended are cancelled, not sent and not deleted: status cancelled, last_error says why.
 * Returns how many (their holds are released too: the job gate only holds suspended services).
 */
export async function cancelLiftedNotices(db: Knex, now: Date): Promise<number> {
  const r = await db.raw(
    `update notifications n
        set status = 'cancelled', last_error = ?, claimed_at = null
      where n.hold_until is not null
        and (n.status = 'pending' or (n.status = 'sending' and n.claimed_at < ?::timestamptz))
        and not ${HELD_NOTICE_STILL_DUE_SQL}`,
    [CANCELLED_ERROR, new Date(now.getTime() - SENDING_TIMEOUT_MS)],
  );
  return Number(r.rowCount ?? 0);
}
