// RouterOS API benchmarks: ispctl's client against the lab router (in a worker thread) over
// loopback TCP. Prints one JSON line per benchmark: { name, runs, median, p99, unit, target }.
//
//   npm run build && node bench/routeros.mjs
//
// (a) simple commands per second on one connection, pipelined (target >= 5,000/s);
//     also the round trip of one command at a time, for reference;
// (b) time to print 10,000 PPP secrets (target < 1 s).
import { dist, report, startLabWorker } from './lib.mjs';

const { RouterOSClient } = await import(dist('src/core/routeros/index.js'));

const COMMANDS_PER_RUN = 50_000;
const IN_FLIGHT = 500;
const RUNS = 10;
const SECRETS = 10_000;

async function pipelined(client, total, window) {
  let sent = 0;
  const lane = async () => {
    while (sent < total) {
      sent++;
      const res = await client.write('/system/identity/print');
      if (res.rows.length !== 1) throw new Error('unexpected reply to /system/identity/print');
    }
  };
  await Promise.all(Array.from({ length: window }, lane));
}

const lab = await startLabWorker();
const client = await RouterOSClient.connect({ host: '127.0.0.1', port: lab.port, user: 'admin', password: lab.password, timeoutMs: 30_000 });
try {
  // (a) Throughput: COMMANDS_PER_RUN commands per run, IN_FLIGHT at a time on one connection.
  await pipelined(client, 5_000, IN_FLIGHT); // warm-up
  const rates = [];
  for (let run = 0; run < RUNS; run++) {
    const t0 = performance.now();
    await pipelined(client, COMMANDS_PER_RUN, IN_FLIGHT);
    rates.push(COMMANDS_PER_RUN / ((performance.now() - t0) / 1000));
  }
  report('routeros.simple-commands-pipelined', rates, 'commands/s', '>= 5000', { higherIsBetter: true });

  // One command at a time: the round trip.
  const trips = [];
  for (let i = 0; i < 2_000; i++) {
    const t0 = performance.now();
    await client.write('/system/identity/print');
    trips.push(performance.now() - t0);
  }
  report('routeros.command-round-trip', trips, 'ms', 'info');

  // (b) Print 10,000 PPP secrets (every field).
  const seeded = await lab.seedSecrets(SECRETS);
  if (seeded !== SECRETS) throw new Error(`seeded ${seeded} secrets, expected ${SECRETS}`);
  await client.write('/ppp/secret/print'); // warm-up
  const prints = [];
  for (let run = 0; run < RUNS; run++) {
    const t0 = performance.now();
    const res = await client.write('/ppp/secret/print');
    prints.push(performance.now() - t0);
    if (res.rows.length !== SECRETS) throw new Error(`printed ${res.rows.length} secrets, expected ${SECRETS}`);
  }
  report('routeros.print-10000-ppp-secrets', prints, 'ms', '< 1000');
} finally {
  await client.close();
  await lab.close();
}
