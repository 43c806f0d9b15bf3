// kill -9 in the middle of the runs that change routers: `collections run` (suspensions), `jobs
// retry` (restorations a payment queued), the daemon applying work, and `sync`. Each kill lands
// at a chosen point of the router work, not when a timer happens to fire: the lab router runs in
// this process, and the run is killed the moment the router receives the command carrying its
// first (or its fifth) change of an object (objects changed alike go many to a command), with the
// commands before it answered and that one not yet (the router answers each command 300 ms late). After each kill: the database part is committed and the dead run's jobs
// are left claimed; after the re-run, one suspension and one restoration per subscriber, every
// job ends done, and the router holds each subscriber once, exactly as the database wants it.
import { afterAll, beforeAll, expect, test } from 'vitest';
import { generateInvoices } from '../../src/core/billing/generate.js';
import { runCollections } from '../../src/core/collections/run.js';
import { recordPayment } from '../../src/core/payments/service.js';
import { apiDriver } from '../../src/core/provisioning/routeros/driver.js';
import { planSync } from '../../src/core/provisioning/routeros/sync.js';
import { runJobs } from '../../src/core/provisioning/runner.js';
import { setSettings } from '../../src/core/settings/service.js';
import { startLabRouter, type LabRouter } from '../../src/lab/index.js';
import { runCli } from '../helpers/cli.js';
import { count, runCliKilledOn, startDaemon } from './helpers.js';
import { seededPg, type Seeded } from './pg.js';

const SUBSCRIBERS = count(40, 300);
const ROUNDS = count(1, 4);
let lab: LabRouter;
let pg: Seeded;

/**
 * Objects changed on the router (…/set, …/add, …/remove), counted as the lab router receives the
 * commands: a command for a list of ids (objects changed alike go many to a command) counts each.
 */
let changes = 0;
let tripwire: { at: number; pull: () => void } | undefined;
function onLabLine(line: string): void {
  if (!/> \/[\w/-]+\/(set|add|remove)(?= |$)/.test(line)) return;
  changes += / =\.id=(\S+)/.exec(line)?.[1]!.split(',').length ?? 1;
  if (tripwire && changes >= tripwire.at) {
    const t = tripwire;
    tripwire = undefined;
    t.pull();
  }
}
/** Pulls `pull` the moment the router receives the command with the `nth` change from now on (in the lab's own receive handler). */
function onChange(nth: number, pull: () => void): void {
  tripwire = { at: changes + nth, pull };
}

beforeAll(async () => {
  lab = await startLabRouter({ adminPassword: 'lab-pw', log: onLabLine });
  pg = await seededPg('provkill', { router: { host: '127.0.0.1', port: lab.port, user: 'admin', password: 'lab-pw' }, subscribers: SUBSCRIBERS, startDate: '2026-01-01' });
  // The daemon here only applies router work: no billing or collections of its own.
  await setSettings(pg.ctx, { 'grace-days': 5, 'collections-max-suspensions': 'none', 'billing-hour': 23, 'collections-interval-minutes': 1440, 'health-interval-seconds': 86_400, 'jobs-interval-seconds': 3600, 'notify-interval-seconds': 86_400 });
  await runJobs(pg.ctx, { api: apiDriver, radius: apiDriver }, { timeoutMs: 20_000, ignoreBackoff: true });
});
afterAll(async () => {
  await lab?.close();
  await pg?.close();
});

const knex = () => pg.db.knex;
const secrets = () => lab.state.menu('/ppp/secret').list();
/** What the router holds and what the database says of it. */
async function check(label: string, want: { disabled: number }): Promise<void> {
  const list = secrets();
  expect(list, label).toHaveLength(SUBSCRIBERS);
  expect(new Set(list.map((s) => s.name)).size, label).toBe(SUBSCRIBERS);
  expect(list.filter((s) => s.disabled === 'true').length, label).toBe(want.disabled);
  const [plan] = await planSync(pg.ctx, { router: 'core1' });
  expect(plan!.status, label).toBe('planned');
  expect(plan!.changes, `${label}: ${JSON.stringify(plan!.counts)}`).toBe(false);
  const open = await knex()('provisioning_jobs').whereIn('status', ['pending', 'running']).count({ n: '*' }).first();
  expect(Number(open!.n), label).toBe(0);
}
async function jobStates(): Promise<string> {
  const rows = (await knex().raw(`select status, count(*)::int as n from provisioning_jobs group by status order by status`)).rows as Array<{ status: string; n: number }>;
  return rows.map((r) => `${r.status} ${r.n}`).join(', ');
}
async function events(kind: string): Promise<{ total: number; subscribers: number }> {
  const [r] = (await knex().raw(`select count(*)::int as total, count(distinct subscriber_id)::int as subscribers from collection_events where kind = ?`, [kind])).rows;
  return r;
}
const jobCounts = async () => (await knex().raw(`select count(*) filter (where status = 'running')::int as running, count(*) filter (where status = 'done')::int as done from provisioning_jobs`)).rows[0] as { running: number; done: number };

/**
 * Runs `args` and kills it the moment the router receives its `nth` change. Then, before anything
 * else runs: it was killed (not ended by itself), and the jobs it had claimed are still claimed
 * (running) with the batch unfinished, so the kill landed inside the router work.
 */
async function killAtChange(args: string[], env: Record<string, string>, nth: number): Promise<string> {
  const doneBefore = (await jobCounts()).done;
  const k = await runCliKilledOn(args, env, (kill) => onChange(nth, kill));
  const label = `${args[0]} ${args[1]} killed at change ${nth}`;
  expect(k.killed, `${label}: it ended by itself (exit ${k.code}) first\n${k.stderr}`).toBe(true);
  const left = await jobCounts();
  expect(left.running, `${label}: no job left claimed (${await jobStates()})`).toBeGreaterThan(0);
  expect(left.done - doneBefore, `${label}: the batch finished (${await jobStates()})`).toBeLessThan(SUBSCRIBERS);
  return `${label} after ${Math.round(k.elapsedMs)} ms, jobs ${await jobStates()}`;
}

const month = (i: number) => `2026-${String(i + 2).padStart(2, '0')}`;

test(`collections run and jobs retry killed inside their router work (${ROUNDS} round(s), ${SUBSCRIBERS} subscribers)`, async () => {
  const kills: string[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    lab.faults.delayMs = 300;
    // A month's invoices, unpaid past due (15 days) and grace (5 days): everyone is to be suspended.
    pg.clock.set(`${month(i)}-01T08:00:00+08:00`);
    await generateInvoices(pg.ctx);
    const env = { ...pg.env, ISPCTL_NOW: `${month(i)}-25T09:00:00+08:00`, ISPCTL_ROUTER_TIMEOUT: '20' };
    // Round by round, the kill lands on the first change of the batch or a few changes in.
    kills.push(await killAtChange(['collections', 'run', '--json'], env, i % 2 === 0 ? 1 : 5));
    // The suspensions were committed before the router work began: the kill took none back.
    expect(await events('suspension')).toEqual({ total: SUBSCRIBERS * (i + 1), subscribers: SUBSCRIBERS });
    // The slow router is there for the kill to land inside the router work; the runs that
    // finish the work after it need no delay.
    lab.faults.delayMs = 0;
    const again = await runCli(['collections', 'run', '--json'], { env });
    expect([0, 3], again.stderr).toContain(again.code);
    const retry = await runCli(['jobs', 'retry', '--json'], { env });
    expect(retry.code, `${kills.join("; ")}\n${retry.stderr}\n${JSON.stringify(retry.json?.data?.routers)} ${retry.json?.data?.remaining}`).toBe(0);
    expect(await events('suspension')).toEqual({ total: SUBSCRIBERS * (i + 1), subscribers: SUBSCRIBERS });
    await check(`round ${i}: suspended`, { disabled: SUBSCRIBERS });

    // Everyone pays; the restorations are queued and carried by `jobs retry`, killed part way.
    pg.clock.set(`${month(i)}-25T10:00:00+08:00`);
    const accounts = (await knex()('subscribers').select('id', 'account_no').orderBy('id')) as Array<{ account_no: string }>;
    for (const a of accounts) await recordPayment(pg.ctx, { subscriber: a.account_no, amount: '1500', method: 'cash', reference: `OR-${month(i)}-${a.account_no}` });
    lab.faults.delayMs = 300;
    kills.push(await killAtChange(['jobs', 'retry', '--json'], env, i % 2 === 0 ? 5 : 1));
    lab.faults.delayMs = 0;
    const retried = await runCli(['jobs', 'retry', '--json'], { env });
    expect(retried.code, retried.stderr).toBe(0);
    expect(await events('restoration')).toEqual({ total: SUBSCRIBERS * (i + 1), subscribers: SUBSCRIBERS });
    await check(`round ${i}: restored`, { disabled: 0 });
  }
  console.info(`provisioning kill: ${kills.join('; ')}`);
});

test('the daemon killed while it applies work: the next daemon takes the work over and applies it once', async () => {
  const env = { ...pg.env, ISPCTL_NOW: '2026-12-25T09:00:00+08:00', ISPCTL_ROUTER_TIMEOUT: '20' };
  // Each command answered 600 ms late: the daemon's run lasts a few seconds.
  lab.faults.delayMs = 600;
  const first = startDaemon(env, ['--instance-name', 'doomed']);
  await first.waitFor('Now the leader');
  // December's invoices unpaid: one collections run suspends everyone in one transaction, and
  // the daemon, woken by the new jobs, applies them.
  pg.clock.set('2026-12-01T08:00:00+08:00');
  await generateInvoices(pg.ctx);
  pg.clock.set('2026-12-25T09:00:00+08:00');
  const doneBefore = (await jobCounts()).done;
  // Killed the moment the router receives the daemon's third change of the batch.
  const killed = new Promise<void>((resolve) => onChange(3, () => resolve(void first.child.kill('SIGKILL'))));
  await runCollections(pg.ctx);
  await killed;
  await first.stop();
  const claimedByTheDead = await jobCounts();
  expect(claimedByTheDead.running, await jobStates()).toBeGreaterThan(0);
  expect(claimedByTheDead.done - doneBefore).toBeLessThan(SUBSCRIBERS);
  const left = await jobStates();
  lab.faults.delayMs = 0;
  const second = startDaemon(env, ['--instance-name', 'heir']);
  try {
    await second.waitFor('Now the leader');
    const deadline = Date.now() + 60_000;
    for (;;) {
      const open = await knex()('provisioning_jobs').whereIn('status', ['pending', 'running']).count({ n: '*' }).first();
      if (Number(open!.n) === 0) break;
      if (Date.now() > deadline) throw new Error(`work still open:\n${second.output().slice(-3000)}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  } finally {
    expect(await second.stop()).toBe(0);
  }
  console.info(`daemon kill: jobs when killed: ${left}; the heir: ${second.output().match(/Took back \d+[^\n]*/)?.[0] ?? 'took nothing back'}`);
  // The jobs the dead daemon had claimed were taken back by the heir, not left to time out.
  expect(second.output()).toMatch(/Took back \d+ router job/);
  expect((await jobCounts()).done - doneBefore).toBeGreaterThanOrEqual(SUBSCRIBERS);
  await check('after the daemon kill', { disabled: SUBSCRIBERS });
});

test('sync killed at its first change, then run again: the router ends as the database wants it', async () => {
  const env = { ...pg.env, ISPCTL_NOW: '2026-12-25T09:00:00+08:00' };
  // Damage the router: a third of the secrets gone, a third enabled that should be disabled.
  const menu = lab.state.menu('/ppp/secret');
  const all = menu.list();
  for (const [i, s] of all.entries()) {
    if (i % 3 === 0) menu.remove(s['.id'] as string);
    else if (i % 3 === 1) menu.set(s['.id'] as string, { disabled: 'no' });
  }
  // Killed the moment the router receives its first change: the plan was read, nothing applied.
  const k = await runCliKilledOn(['sync', '--yes', '--json'], env, (kill) => onChange(1, kill));
  expect(k.killed, `sync ended by itself (exit ${k.code}) before its first change\n${k.stderr}`).toBe(true);
  const again = await runCli(['sync', '--yes', '--json'], { env });
  expect(again.code, again.stderr).toBe(0);
  console.info(`sync kill: killed at its first change after ${Math.round(k.elapsedMs)} ms`);
  await check('after the sync kill', { disabled: SUBSCRIBERS });
});
