// What a plan's speed change does to people online: on API-mode routers that shape by PPP
// profile, every session on the plan is dropped so it reconnects at the new rate (RADIUS-mode
// routers get a CoA instead, and queue-shaped routers change the queue in place).
import type { Db } from '../db/tx.js';
import { parseSpeed } from '../speed.js';
import { getPlan } from './service.js';

export interface SpeedChangeImpact {
  /** The download or upload speed, or the burst, would change. */
  speedChanges: boolean;
  /** Current services on the plan whose live sessions a speed change drops. */
  servicesDropped: number;
  /** The routers they are on. */
  routers: string[];
}

export interface SpeedChangeInput {
  download?: string;
  upload?: string;
  /** Any burst flag given, or the burst removed. */
  burstChanges?: boolean;
}

export async function speedChangeImpact(db: Db, planName: string, input: SpeedChangeInput): Promise<SpeedChangeImpact> {
  const plan = await getPlan(db, planName);
  const speedChanges =
    (input.download !== undefined && parseSpeed(input.download, { field: 'download speed' }) !== plan.downloadKbps) ||
    (input.upload !== undefined && parseSpeed(input.upload, { field: 'upload speed' }) !== plan.uploadKbps) ||
    Boolean(input.burstChanges);
  if (!speedChanges) return { speedChanges, servicesDropped: 0, routers: [] };
  const rows: Array<{ router: string; n: string | number | bigint }> = await db('services as s')
    .join('routers as r', 'r.id', 's.router_id')
    .where({ 's.plan_id': plan.id, 'r.mode': 'api', 'r.shaping': 'profile' })
    .whereNull('s.ended_on')
    .groupBy('r.name')
    .orderBy('r.name')
    .select('r.name as router', db.raw('count(*) as n'));
  return { speedChanges, servicesDropped: rows.reduce((a, r) => a + Number(r.n), 0), routers: rows.map((r) => r.router) };
}
