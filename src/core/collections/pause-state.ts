// Whether collections is paused (ispctl collections pause): read by the state machine, which
// suspends no one while it is, and changed in controls.ts.
import type { Db } from '../db/tx.js';

export interface CollectionsPause {
  pausedAt: Date;
  pausedBy: string;
  reason: string | null;
}

interface PauseRow {
  paused_at: Date;
  paused_by: string;
  reason: string | null;
}

/** The pause, or null when collections runs normally. */
export async function loadPause(db: Db): Promise<CollectionsPause | null> {
  const row = (await db('collections_pause').first('paused_at', 'paused_by', 'reason')) as PauseRow | undefined;
  return row ? { pausedAt: new Date(row.paused_at), pausedBy: row.paused_by, reason: row.reason } : null;
}

