// Payment intake end to end: a billing-suspended subscriber pays through a signed webhook over
// real HTTP, and the time is taken until the intake server answers, which it does only after
// the router work is applied; each run then checks that the lab router (in a worker thread,
// over loopback TCP, API mode) holds the subscriber's PPP secret enabled again. The baseline,
// measured in the same run on the same database: the bare core call `recordPayment` in-process
// (no HTTP, no signature, no router). Also: a 10,000-row statement import (`payment import`).
// Prints JSON lines { name, runs, median, p95, p99, unit, target }.
//
//   npm run build && node bench/intake.mjs
//   BENCH_DATABASE_URL=postgres://user@127.0.0.1/postgres node bench/intake.mjs
//
// Environment: BENCH_RUNS (default 30), BENCH_BACKGROUND (other subscribers in the database,
// default 10,000), BENCH_IMPORT_ROWS (default 10,000).
import { loadavg } from 'node:os';
import { dist, openBenchDatabase, quantile, startLabWorker } from './lib.mjs';

const RUNS = Number(process.env.BENCH_RUNS ?? 30);
const WARMUP = 3;
const BACKGROUND = Number(process.env.BENCH_BACKGROUND ?? 10_000);
const IMPORT_ROWS = Number(process.env.BENCH_IMPORT_ROWS ?? 10_000);

const { migrateLatest } = await import(dist('src/core/db/migrate.js'));
const { openDatabase } = await import(dist('src/core/db/connection.js'));
const { initialise } = await import(dist('src/core/settings/init.js'));
const { addRouter } = await import(dist('src/core/routers/service.js'));
const { createPlan } = await import(dist('src/core/plans/service.js'));
const { addSubscriber } = await import(dist('src/core/subscribers/service.js'));
const { generateInvoices } = await import(dist('src/core/billing/generate.js'));
const { runCollections } = await import(dist('src/core/collections/run.js'));
const { recordPayment } = await import(dist('src/core/payments/service.js'));
const { applyNow } = await import(dist('src/core/provisioning/apply.js'));
const { refreshAccess } = await import(dist('src/core/provisioning/access.js'));
const { addGateway } = await import(dist('src/core/intake/gateways.js'));
const { startIntakeServer } = await import(dist('src/core/intake/server.js'));
const { hmacHex } = await import(dist('src/core/intake/signature.js'));
const { importStatement } = await import(dist('src/core/intake/statement.js'));
const { readMenu } = await import(dist('src/core/provisioning/routeros/index.js'));
const { RouterOSClient } = await import(dist('src/core/routeros/index.js'));
const { FixedClock } = await import(dist('src/core/clock.js'));

function round(n) {
  return Math.round(n * 100) / 100;
}

function line(name, samples, unit, target, extra = {}) {
  const out = { name, runs: samples.length, median: round(quantile(samples, 0.5)), p95: round(quantile(samples, 0.95)), p99: round(quantile(samples, 0.99)), unit, target, ...extra };
  process.stdout.write(`${JSON.stringify(out)}\n`);
  return out;
}


const database = await openBenchDatabase();
const db = database.knex;
const engine = database.engine;
await migrateLatest(db);
const clock = new FixedClock('2026-10-01T00:00:00Z');
const env = { ISPCTL_SECRET_KEY: 'b3'.repeat(32) };
const ctx = () => ({ db, engine, clock, actor: { user: 'bench', command: 'bench/intake.mjs' }, env });

const lab = await startLabWorker();
let server;
let client;
try {
  await initialise(ctx(), { values: { 'isp-name': 'Bench ISP', currency: 'PHP', timezone: 'Asia/Manila', 'billing-day': 1, 'due-days': 15, 'grace-days': 5 } });
  await addRouter(ctx(), { name: 'lab1', host: '127.0.0.1', apiPort: lab.port, apiUser: 'admin', apiPassword: lab.password, mode: 'api' });
  await createPlan(ctx(), { name: 'Fiber 50', price: '1,500.00', download: '50M', upload: '20M' });
  const router = await db('routers').where({ name: 'lab1' }).first('id');
  const plan = await db('plans').where({ name: 'Fiber 50' }).first('id');

  // The subscribers who pay during the benchmark, through the service (their secrets reach the router).
  const payers = [];
  for (let i = 0; i < (WARMUP + RUNS) * 2; i++) {
    const r = await addSubscriber(ctx(), { fullName: `Payer ${i}`, username: `payer${i}`, password: `pw-${i}`, plan: 'Fiber 50', router: 'lab1', startDate: '2026-10-01' });
    await applyNow(ctx(), r.jobIds ?? []);
    payers.push(r.subscriber.accountNo);
  }
  // Everyone else, set-based (they are billed and suspended too, but not on this router's secrets list).
  for (let i = 0; i < BACKGROUND; i += 1000) {
    const n = Math.min(1000, BACKGROUND - i);
    const subs = await db('subscribers').insert(Array.from({ length: n }, (_, k) => ({ full_name: `Background ${i + k}` }))).returning('id');
    await db('services').insert(subs.map((s, k) => ({ subscriber_id: s.id, plan_id: plan.id, router_id: router.id, username: `bg${i + k}`, password: `pw-bg-${i + k}`, started_on: '2026-10-01' })));
  }
  await refreshAccess(db, ctx(), { all: true });
  clock.set('2026-11-01T08:00:00+08:00');
  await generateInvoices(ctx());
  clock.set('2026-11-22T08:00:00+08:00');
  const suspended = await runCollections(ctx(), { force: true }); // everyone is past due: over the per-run cap on purpose
  // Only the payers' router work is applied (the background subscribers have no secrets on the lab router).
  const payerJobs = (await db('provisioning_jobs as j').join('services as s', 's.id', 'j.service_id').whereIn('j.id', suspended.jobIds).where('s.username', 'like', 'payer%').select('j.id')).map((r) => Number(r.id));
  await applyNow(ctx(), payerJobs, { timeoutMs: 60_000 });
  await db('provisioning_jobs').whereIn('id', suspended.jobIds).whereNotIn('id', payerJobs).delete();

  client = await RouterOSClient.connect({ host: '127.0.0.1', port: lab.port, user: 'admin', password: lab.password, timeoutMs: 10_000 });
  const secret = async (name) => (await readMenu(client, 'secret')).find((s) => s.name === name);
  if ((await secret('payer0'))?.disabled !== 'true') throw new Error(`payer0 is not suspended on the router: ${JSON.stringify(await secret('payer0'))}`);

  const gw = await addGateway(ctx(), { name: 'shop', kind: 'generic', method: 'gcash' });
  server = await startIntakeServer({ host: '127.0.0.1', port: 0, withContext: (fn) => fn(ctx()), apply: { timeoutMs: 5_000 } });
  const post = async (body) => {
    const t = Math.floor(clock.now().getTime() / 1000);
    const r = await fetch(`http://127.0.0.1:${server.port}/webhooks/shop`, {
      method: 'POST',
      body,
      headers: { 'content-type': 'application/json', 'x-ispctl-timestamp': String(t), 'x-ispctl-signature': `sha256=${hmacHex(gw.secret, t, body)}` },
    });
    return { status: r.status, json: await r.json() };
  };

  // Interleaved: a webhook payment, then a bare core call, so both see the same machine.
  const webhook = [];
  const core = [];
  const replay = [];
  const apply = [];
  let next = 0;
  for (let run = 0; run < WARMUP + RUNS; run++) {
    const account = payers[next++];
    const username = `payer${next - 1}`;
    const body = JSON.stringify({ id: `txn-${run}`, amount: '1500.00', currency: 'PHP', account, method: 'gcash' });
    const t0 = performance.now();
    const r = await post(body);
    const ms = performance.now() - t0;
    if (r.status !== 200 || r.json.outcome !== 'recorded') throw new Error(`run ${run}: ${r.status} ${JSON.stringify(r.json)}`);
    const s = await secret(username);
    if (s?.disabled !== 'false') throw new Error(`run ${run}: ${username} is not restored on the router: ${JSON.stringify(s)}`);
    const t1 = performance.now();
    const again = await post(body);
    const replayMs = performance.now() - t1;
    if (again.json.outcome !== 'duplicate') throw new Error(`run ${run}: replay was ${JSON.stringify(again.json)}`);

    const other = payers[next++];
    const t2 = performance.now();
    const rec = await recordPayment(ctx(), { subscriber: other, amount: '1500.00', method: 'gcash', reference: `core-${run}` });
    const coreMs = performance.now() - t2;
    if (!rec.collections.restored.length) throw new Error(`run ${run}: the core call restored no one`);
    const t3 = performance.now();
    const applied = await applyNow(ctx(), rec.collections.jobIds);
    const applyMs = performance.now() - t3;
    if (applied.status !== 'applied') throw new Error(`run ${run}: router work after the core call: ${applied.message}`);
    if (run >= WARMUP) {
      webhook.push(ms);
      core.push(coreMs);
      replay.push(replayMs);
      apply.push(applyMs);
    }
  }
  const w = line(`intake.webhook-to-router-restored.api.${engine}`, webhook, 'ms', '< 200 median');
  const c = line(`intake.baseline-record-payment-core.${engine}`, core, 'ms', 'baseline');
  line(`intake.apply-one-restore-to-router.${engine}`, apply, 'ms', 'info: the router part of the webhook (applyNow after the core call)');
  line(`intake.webhook-replay-pays-nothing.${engine}`, replay, 'ms', 'info');
  // The machine's load: on a shared machine every figure above stretches with it.
  process.stdout.write(`${JSON.stringify({ name: `intake.webhook-over-baseline.${engine}`, ratio: round(w.median / c.median), ok: w.median < 200, loadavg: loadavg().map(round) })}\n`);

  // A 10,000-row statement: everyone in the database pays (background subscribers by account column).
  const rows = await db('subscribers').orderBy('id').limit(IMPORT_ROWS).select('account_no');
  const text = ['Date,Description,Reference,Amount', ...rows.map((r, i) => `2026-11-21,Bills payment ${r.account_no},STMT-${i},"1,500.00"`)].join('\n');
  const importTimes = [];
  for (let run = 0; run < 3; run++) {
    const t0 = performance.now();
    const result = await importStatement(ctx(), { text: run === 0 ? text : text.replace(/STMT-/g, `STMT${run}-`), fileName: 'bench.csv', dryRun: run > 0 });
    importTimes.push(performance.now() - t0);
    if (run === 0 && result.imported.length + result.skipped.length + result.unmatched.length !== rows.length) throw new Error('rows lost');
    if (run === 0) process.stdout.write(`${JSON.stringify({ name: `intake.import-${rows.length}-rows.${engine}`, ms: round(importTimes[0]), imported: result.imported.length, unmatched: result.unmatched.length, skipped: result.skipped.length, restored: result.restored.length, target: '< 10000 (seconds)', ok: importTimes[0] < 10_000 })}\n`);
  }
  line(`intake.import-${rows.length}-rows-dry-run.${engine}`, importTimes.slice(1), 'ms', 'info');
} finally {
  await client?.close();
  await server?.close();
  await lab.close();
  await database.close();
}
