// Notification benchmarks: ispctl's real outbox sender (sendNotifications: claim, send, mark)
// against a local SMTP server (smtp-server) and a local HTTP SMS endpoint, both in a worker
// thread (their own event loop, as a mail server and a gateway are their own machines). The
// database is an in-memory PGlite, or a throwaway database on BENCH_DATABASE_URL.
//
//   npm run build && node bench/notify.mjs [--quick]
//
// (a) notify.email-per-hour: N emails through the outbox with the settings' defaults (a pool of
//     notify-email-connections SMTP connections); baseline, same run: the old way, a new SMTP
//     connection per message, 4 at once (target >= 200,000 an hour).
// (b) notify.sms-per-hour: N SMS through the outbox (notify-sms-concurrency requests at once,
//     kept-alive connections); baseline, same run: 4 at once (target >= 200,000 an hour).
//     The old daemon also capped both at 500 messages per 30 s tick: 60,000 an hour at best.
// (c) notify.sms-rate-limit: with notify-sms-rate set, the rate the endpoint saw (messages after
//     the first over the time from the first to the last) must not exceed it; the note gives the
//     most messages seen in any one-second window.
// (d) notify.sms-429: the endpoint answers 429 with Retry-After: 2 once; requests it received
//     during those two seconds (after 100 ms for those already on their way) must be none, and
//     every message is delivered in the end.
import { Worker } from 'node:worker_threads';
import { createRequire } from 'node:module';
import { dist, emit, loadSnapshot, openBenchDatabase, report, ROOT, round, sized } from './lib.mjs';

const N = Number(process.env.BENCH_MESSAGES ?? sized(20_000, 3_000));
const BASELINE_N = Number(process.env.BENCH_BASELINE_MESSAGES ?? sized(2_000, 500));
const RATE = 50; // per second, for (c): low enough that the limit, not the machine, sets the pace
const RATE_N = sized(500, 200);

const { migrateLatest } = await import(dist('src/core/db/migrate.js'));
const { initialise } = await import(dist('src/core/settings/init.js'));
const { setSettings } = await import(dist('src/core/settings/service.js'));
const { FixedClock } = await import(dist('src/core/clock.js'));
const { sendNotifications, defaultTransport } = await import(dist('src/core/notify/outbox.js'));
const { loadNotifyConfig } = await import(dist('src/core/notify/config.js'));

// ---- the SMTP server and the SMS endpoint, in a worker ------------------------------------------
const WORKER = `
import { parentPort, workerData } from 'node:worker_threads';
import { createServer } from 'node:http';
const { SMTPServer } = await import(workerData.smtpModule);
const t0 = performance.timeOrigin;
const now = () => t0 + performance.now();
let mails = 0, sms = 0, smsTimes = [], mode = { kind: 'ok' }, pausedUntil = 0, duringPause = 0, answered429At = 0;
const smtp = new SMTPServer({
  disabledCommands: ['STARTTLS', 'AUTH'], authOptional: true, logger: false, size: 10 * 1024 * 1024,
  onData(stream, session, cb) { stream.on('data', () => {}); stream.on('end', () => { mails++; cb(); }); },
});
await new Promise((r) => smtp.listen(0, '127.0.0.1', r));
const http = createServer((req, res) => {
  req.on('data', () => {});
  req.on('end', () => {
    const t = now();
    if (mode.kind === '429-once' && sms >= mode.after && !answered429At) {
      answered429At = t; pausedUntil = t + mode.seconds * 1000;
      res.writeHead(429, { 'retry-after': String(mode.seconds) }); res.end('slow down'); return;
    }
    if (answered429At && t > answered429At + 100 && t < pausedUntil) duringPause++;
    sms++; smsTimes.push(t);
    res.writeHead(200, { 'content-type': 'application/json' }); res.end('{"status":"queued"}');
  });
});
http.keepAliveTimeout = 30000;
await new Promise((r) => http.listen(0, '127.0.0.1', r));
parentPort.on('message', (m) => {
  if (m.type === 'reset') { mails = 0; sms = 0; smsTimes = []; mode = m.mode ?? { kind: 'ok' }; pausedUntil = 0; duringPause = 0; answered429At = 0; parentPort.postMessage({ type: 'reset' }); }
  else if (m.type === 'stats') parentPort.postMessage({ type: 'stats', mails, sms, smsTimes: m.times ? smsTimes : [], duringPause, answered429: answered429At > 0 });
  else if (m.type === 'close') { smtp.close(() => http.close(() => parentPort.postMessage({ type: 'closed' }))); }
});
parentPort.postMessage({ type: 'ready', smtpPort: smtp.server.address().port, httpPort: http.address().port });
`;

async function startSinks() {
  const require = createRequire(import.meta.url);
  const smtpModule = new URL(`file://${require.resolve('smtp-server', { paths: [ROOT] })}`).href;
  const worker = new Worker(new URL(`data:text/javascript,${encodeURIComponent(WORKER)}`), { workerData: { smtpModule } });
  const next = (type) => new Promise((resolve) => {
    const on = (m) => {
      if (m.type === type) {
        worker.off('message', on);
        resolve(m);
      }
    };
    worker.on('message', on);
  });
  const ready = await next('ready');
  return {
    smtpPort: ready.smtpPort,
    httpPort: ready.httpPort,
    async reset(mode) {
      const p = next('reset');
      worker.postMessage({ type: 'reset', mode });
      await p;
    },
    async stats(times = false) {
      const p = next('stats');
      worker.postMessage({ type: 'stats', times });
      return p;
    },
    async close() {
      const p = next('closed');
      worker.postMessage({ type: 'close' });
      await p;
      await worker.terminate();
    },
  };
}

// ---- the database: in-memory PGlite, or a throwaway database on BENCH_DATABASE_URL (lib.mjs) ----
const opened = await openBenchDatabase({ prefix: 'ispctl_bench_notify' });
const { knex: db, engine, close } = opened;
await migrateLatest(db);
const clock = new FixedClock('2026-11-24T01:00:00Z');
const ctx = { db, engine, clock, actor: { user: 'bench', command: 'bench/notify.mjs' }, env: {} };
const sinks = await startSinks();
let batch = 0;

/** Queues n messages of a channel, set-based (a reminder-sized body). */
async function queue(channel, n) {
  batch++;
  const body = `Dear subscriber,\n\nThis is a reminder that invoice INV-2026-000123 for PHP 1,500.00 is due on Nov 16, 2026.\nPay at https://pay.example.net/p/ABCDEFGH or at any of our payment centres.\n\nThank you,\nBench ISP\n`;
  await db.raw(
    `insert into notifications (event_key, channel, template, recipient, subject, body, status, attempts, next_attempt_at, created_at)
     select 'bench:' || ? || ':' || g, ?, 'reminder', case when ? = 'email' then 's' || g || '@example.net' else '+6391' || lpad(g::text, 8, '0') end,
            case when ? = 'email' then 'Bench ISP: invoice INV-2026-000123 is due' end, ?, 'pending', 0, ?::timestamptz, ?::timestamptz
       from generate_series(1, ?) g`,
    [batch, channel, channel, channel, channel === 'email' ? body : body.slice(0, 150), clock.now(), clock.now(), n],
  );
}

async function measure(channel, n, opts = {}) {
  await queue(channel, n);
  await sinks.reset(opts.mode);
  const t0 = performance.now();
  const r = await sendNotifications(ctx, opts.send ?? {});
  const seconds = (performance.now() - t0) / 1000;
  const s = await sinks.stats(opts.times);
  const got = channel === 'email' ? s.mails : s.sms;
  if (r.sent !== n || got !== n) throw new Error(`${channel}: ${r.sent} marked sent and ${got} received of ${n} (${JSON.stringify({ ...r, errors: r.errors.slice(0, 3) })})`);
  return { perHour: (n / seconds) * 3600, seconds, stats: s, summary: r };
}

try {
  await initialise(ctx, { values: { 'isp-name': 'Bench ISP', currency: 'PHP', timezone: 'Asia/Manila' } });
  await setSettings(ctx, {
    'smtp-url': `smtp://127.0.0.1:${sinks.smtpPort}`,
    'mail-from': 'Bench ISP <billing@bench.example>',
    'sms-url': `http://127.0.0.1:${sinks.httpPort}/send`,
  });
  const config = await loadNotifyConfig(db);
  const load = loadSnapshot();

  // Warm-up (JIT, first connections), then baselines and the real thing side by side.
  await measure('email', 200);
  await measure('sms', 200);
  const baseEmail = await measure('email', BASELINE_N, { send: { concurrency: 4, transport: defaultTransport(config, { emailPool: false }) } });
  const email = await measure('email', N);
  const baseSms = await measure('sms', BASELINE_N, { send: { concurrency: 4 } });
  const sms = await measure('sms', N);
  const perHour = (x) => Math.round(x.perHour);
  report('notify.email-per-hour', [perHour(email)], 'messages/h', '>= 200000', {
    higherIsBetter: true,
    baseline: { name: 'a new SMTP connection per message, 4 at once (old settings)', median: perHour(baseEmail) },
    note: `${N} emails in ${round(email.seconds)} s through sendNotifications (${config.limits.email.concurrency} pooled SMTP connections, claim/send/mark on ${engine}); baseline ${BASELINE_N} in ${round(baseEmail.seconds)} s; the old daemon sent at most 500 per 30 s tick (60,000/h); load ${load.loadavg1} on ${load.cores} cores`,
  });
  report('notify.sms-per-hour', [perHour(sms)], 'messages/h', '>= 200000', {
    higherIsBetter: true,
    baseline: { name: '4 requests at once (old settings)', median: perHour(baseSms) },
    note: `${N} SMS in ${round(sms.seconds)} s (${config.limits.sms.concurrency} requests at once, kept-alive HTTP, on ${engine}); baseline ${BASELINE_N} in ${round(baseSms.seconds)} s; old daemon ceiling 60,000/h; load ${load.loadavg1} on ${load.cores} cores`,
  });

  // (c) a configured rate is never exceeded.
  await setSettings(ctx, { 'notify-sms-rate': `${RATE}/s` });
  const limited = await measure('sms', RATE_N, { times: true });
  const times = limited.stats.smsTimes.sort((a, b) => a - b);
  const measured = (times.length - 1) / ((times[times.length - 1] - times[0]) / 1000);
  let most = 0;
  for (let i = 0, j = 0; i < times.length; i++) {
    while (times[i] - times[j] >= 1000) j++;
    most = Math.max(most, i - j + 1);
  }
  report('notify.sms-rate-limit', [round(measured)], 'messages/s', `<= ${RATE}`, {
    baseline: { name: 'notify-sms-rate (configured)', median: RATE },
    note: `${RATE_N} SMS with notify-sms-rate ${RATE}/s: ${round(measured)}/s from the first to the last arrival at the endpoint; at most ${most} in any one-second window`,
  });
  await setSettings(ctx, { 'notify-sms-rate': 'none' });

  // (d) 429 with Retry-After: nothing arrives during the pause; everything arrives in the end.
  const n429 = sized(1_000, 300);
  await queue('sms', n429);
  await sinks.reset({ kind: '429-once', after: Math.floor(n429 / 3), seconds: 2 });
  const first = await sendNotifications(ctx, {});
  const mid = await sinks.stats();
  // The pause was longer than the run waits? Then the rest is due when it ends: send again then.
  let rest = { sent: 0 };
  if (first.sent < n429) {
    await new Promise((r) => setTimeout(r, 2_100));
    const later = new FixedClock(new Date(clock.now().getTime() + 3_000).toISOString());
    rest = await sendNotifications({ ...ctx, clock: later }, {});
  }
  const after = await sinks.stats();
  emit({
    name: 'notify.sms-429',
    runs: 1,
    median: after.duringPause,
    unit: 'requests during the pause',
    target: '<= 0',
    ok: after.duringPause === 0 && after.answered429 && first.sent + rest.sent === n429 && after.sms === n429,
    note: `${n429} SMS; the endpoint answered 429 Retry-After: 2 once after ${Math.floor(n429 / 3)}: ${mid.duringPause} request(s) arrived during the pause, ${first.sent} sent before it and ${first.deferred} put off (no attempt counted), ${rest.sent} sent after it; ${after.sms} received in all`,
  });
} finally {
  await sinks.close();
  await close();
}
