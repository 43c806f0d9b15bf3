// Stale RADIUS sessions: a NAS that reboots or loses its link never sends Accounting-Stop, and a
// session left open in radacct blocks re-login where Simultaneous-Use is checked and misleads
// anyone looking for who is online. A session with no accounting (Start or Interim-Update) for
// longer than `radius-stale-minutes` is closed at its last update with cause Stale-Session.
//
// A NAS that sends Accounting-On or Accounting-Off closes its own open sessions: the stock
// FreeRADIUS queries.conf (`accounting-on`, "bulk update" strategy) does that in radacct; ispctl
// does not repeat it.
import type { Db } from '../db/tx.js';
import { rowsOf } from '../db/sql.js';

export const STALE_TERMINATE_CAUSE = 'Stale-Session';

export interface StaleSessionsResult {
  closed: number;
  /** Up to 20 of them, for the log. */
  sessions: Array<{ username: string | null; nas: string; acctSessionId: string; lastSeen: Date }>;
}

/**
 * Closes open sessions whose last sign of life (acctupdatetime, else acctstarttime) is older than
 * `staleMinutes` before `now`: acctstoptime = that last sign, acctsessiontime from the start when
 * the NAS never reported it. One statement, on the partial index of open sessions.
 */
export async function closeStaleSessions(db: Db, opts: { now: Date; staleMinutes: number }): Promise<StaleSessionsResult> {
  if (!(opts.staleMinutes > 0)) return { closed: 0, sessions: [] };
  const cutoff = new Date(opts.now.getTime() - opts.staleMinutes * 60_000);
  const result = await rowsOf<{ closed: number; sample: string }>(
    db,
    `with stale as (
       update radacct
          set acctstoptime = coalesce(acctupdatetime, acctstarttime),
              acctsessiontime = coalesce(acctsessiontime, greatest(0, extract(epoch from (coalesce(acctupdatetime, acctstarttime) - acctstarttime)))::bigint),
              acctterminatecause = ?
        where acctstoptime is null
          and coalesce(acctupdatetime, acctstarttime) < ?::timestamptz
       returning username, host(nasipaddress) as nas, acctsessionid, acctstoptime)
     select count(*)::int as closed,
            coalesce((select json_agg(s) from (select * from stale order by acctstoptime limit 20) s), '[]')::text as sample
       from stale`,
    [STALE_TERMINATE_CAUSE, cutoff],
  );
  const row = result[0]!;
  const sample = JSON.parse(row.sample) as Array<{ username: string | null; nas: string; acctsessionid: string; acctstoptime: string }>;
  return {
    closed: Number(row.closed),
    sessions: sample.map((s) => ({ username: s.username, nas: s.nas, acctSessionId: s.acctsessionid, lastSeen: new Date(s.acctstoptime) })),
  };
}
