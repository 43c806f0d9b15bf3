// kill -9 of `ispctl billing generate` at random points: invoice numbers stay one unbroken run
// and every service is invoiced once per period. Each round bills a new month: killed at a random
// point of the run, then run again to the end. The run is cut into chunks of CHUNK subscribers
// (ISPCTL_BILLING_CHUNK), each its own transaction: a kill leaves the chunks committed before it
// (the first subscribers, whole chunks) and nothing of the one in flight, and the run after it
// bills the rest.
import { afterAll, beforeAll, expect, test } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { count, random, runCliKilledAfter } from './helpers.js';
import { seededPg, type Seeded } from './pg.js';

const SUBSCRIBERS = count(300, 2_000);
const ROUNDS = count(2, 10);
const CHUNK = SUBSCRIBERS / 6;
let pg: Seeded;
let subscriberIds: number[];

beforeAll(async () => {
  pg = await seededPg('billkill', { subscribers: SUBSCRIBERS, startDate: '2025-12-01' });
  // Nobody pays in this test: keep billing suspended services so every month bills everyone.
  const { setSettings } = await import('../../src/core/settings/service.js');
  await setSettings(pg.ctx, { 'bill-suspended-services': true });
  subscriberIds = ((await pg.db.knex.raw('select id from subscribers order by id')).rows as Array<{ id: number }>).map((r) => Number(r.id));
});
afterAll(async () => pg?.close());

const monthStart = (i: number) => `${2026 + Math.floor(i / 12)}-${String((i % 12) + 1).padStart(2, '0')}-01T08:00:00+08:00`;

test(`billing generate killed at ${ROUNDS} random points leaves gapless numbers and one invoice per service and period`, async () => {
  const rnd = random();
  // Round 0 runs whole: how long a run takes here bounds the random kill points.
  const full = await runCliKilledAfter(['billing', 'generate', '--json'], 600_000, { ...pg.env, ISPCTL_NOW: monthStart(0) });
  // 3: invoices made, and router work (suspensions of unpaid months) left queued for an absent router.
  expect([0, 3], full.stderr).toContain(full.code);
  expect(JSON.parse(full.stdout).data.invoices).toBe(SUBSCRIBERS);
  const runMs = full.elapsedMs;
  let killedBeforeCommit = 0;
  for (let i = 1; i < ROUNDS + 1; i++) {
    const env = { ...pg.env, ISPCTL_NOW: monthStart(i), ISPCTL_BILLING_CHUNK: String(CHUNK) };
    const k = await runCliKilledAfter(['billing', 'generate', '--json'], rnd.between(0.3 * runMs, 1.05 * runMs), env);
    const month = monthStart(i).slice(0, 7);
    const billed = (await pg.db.knex.raw('select subscriber_id from invoices where period_key = ? order by subscriber_id', [month])).rows as Array<{ subscriber_id: number }>;
    const n = billed.length;
    // Whole chunks, in order: the first n subscribers and nothing of the chunk that was killed.
    expect(n % CHUNK, `seed ${rnd.seed}, round ${i}: ${n} invoices`).toBe(0);
    expect(billed.map((b) => Number(b.subscriber_id))).toEqual(subscriberIds.slice(0, n));
    if (k.killed && n < SUBSCRIBERS) killedBeforeCommit++;
    const again = await runCli(['billing', 'generate', '--json'], { env });
    expect([0, 3], again.stderr).toContain(again.code);
    // The resumed run billed exactly the rest and counted what the killed one had done.
    const rest = JSON.parse(again.stdout).data;
    expect([rest.invoices, rest.alreadyInvoiced], `seed ${rnd.seed}, round ${i}`).toEqual([SUBSCRIBERS - n, n]);
  }
  const months = ROUNDS + 1;
  const rows = (await pg.db.knex.raw(`select number, subscriber_id, period_key from invoices order by number`)).rows as Array<{ number: string; subscriber_id: bigint; period_key: string }>;
  expect(rows).toHaveLength(SUBSCRIBERS * months);
  const seqs = rows.map((r) => Number(r.number.slice(-6)));
  expect(seqs).toEqual(Array.from({ length: rows.length }, (_, i) => i + 1));
  expect(new Set(rows.map((r) => `${r.subscriber_id}|${r.period_key}`)).size).toBe(rows.length);
  const [{ lines }] = (await pg.db.knex.raw('select count(*)::int as lines, count(distinct (service_id, period_key))::int as distinct_lines from invoice_lines')).rows;
  expect(lines).toBe(SUBSCRIBERS * months);
  // Most kills should land inside the run; report how many did, for the record.
  console.info(`billing kill: seed ${rnd.seed}, ${ROUNDS} kills, ${killedBeforeCommit} before the last chunk committed, a whole run ${Math.round(runMs)} ms`);
});
