// RouterOS API benchmarks: ispctl's client against librouteros (Debian's python3-librouteros),
// both talking to the same lab router, which runs in its own process so that each side's CPU is
// its own. Prints one JSON line per figure (see lib.mjs).
//
//   npm run build && node bench/routeros.mjs [--quick]
//
// (a) sequential commands (send one, await its reply, send the next) on one connection:
//     commands/s and CPU per command, ours against librouteros, in pairs run in alternating
//     order (the first side of a pair tends to run slower); the ratio is the median of the
//     pairs' ratios. Target: at least librouteros's rate.
// (b) pipelined commands, 500 in flight on one connection (target >= 5,000/s); librouteros has
//     no pipelining API, so its side writes tagged sentences through its own protocol layer.
// (c) how busy the lab router was during (a) and (b): if it were near 100 % of a core, the
//     router, not the client, would set the rate.
// (d) time to print 10,000 PPP secrets (target < 1 s).
// Without librouteros (apt install python3-librouteros) the baseline rows say so and (a) has
// no verdict.
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { dist, quantile, report, round, sized, startDriver, startLabProcess } from './lib.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const { RouterOSClient } = await import(dist('src/core/routeros/index.js'));

const PAIRS = sized(10, 4);
const SEQUENTIAL = sized(5_000, 2_000);
const PIPELINED = sized(50_000, 10_000);
const IN_FLIGHT = 500;
const SECRETS = sized(10_000, 2_000);
const log = (m) => process.stderr.write(`routeros: ${m}\n`);

function findPython() {
  for (const py of ['/usr/bin/python3', 'python3']) {
    const r = spawnSync(py, ['-c', 'import librouteros; print(librouteros.__file__)'], { encoding: 'utf8' });
    if (r.status === 0) return py;
  }
  return undefined;
}

const lab = await startLabProcess();
const sides = [{ name: 'ispctl', driver: await startDriver(process.execPath, [join(here, 'clients/routeros-ours.mjs'), dist('src/core/routeros/index.js'), String(lab.port), lab.password], { label: 'ispctl client' }) }];
const python = findPython();
if (python) sides.push({ name: 'librouteros', driver: await startDriver(python, [join(here, 'clients/routeros-librouteros.py'), String(lab.port), lab.password], { label: 'librouteros' }) });
else log('librouteros is not installed (apt install python3-librouteros): no baseline');

/** Run `line` on each side in pairs, alternating which goes first; per side: rates, CPU µs per command, router busy %. */
async function pairs(line, commands) {
  const out = Object.fromEntries(sides.map((s) => [s.name, { rate: [], cpuUs: [], routerBusy: [] }]));
  const ratios = [];
  const each = [];
  for (let i = 0; i < PAIRS; i++) {
    const order = i % 2 === 0 ? sides : [...sides].reverse();
    const got = {};
    for (const side of order) {
      const r0 = await lab.cpuMs();
      const r = await side.driver.ask(line);
      const routerMs = (await lab.cpuMs()) - r0;
      got[side.name] = commands / (r.ms / 1000);
      out[side.name].rate.push(got[side.name]);
      out[side.name].cpuUs.push((r.cpuMs * 1000) / commands);
      out[side.name].routerBusy.push((100 * routerMs) / r.ms);
    }
    if (got.librouteros) ratios.push(got.ispctl / got.librouteros);
    each.push({ first: order[0].name, ...Object.fromEntries(Object.entries(got).map(([k, v]) => [k, Math.round(v)])) });
    log(`${line}: pair ${i + 1}/${PAIRS} (${order[0].name} first): ${Object.entries(got).map(([k, v]) => `${k} ${Math.round(v)}/s`).join(', ')}`);
  }
  return { out, ratios, each };
}

try {
  // Warm-up: JIT, connection buffers, the router's caches.
  for (const s of sides) {
    await s.driver.ask(`seq ${SEQUENTIAL}`);
    await s.driver.ask(`pipe ${PIPELINED / 5} ${IN_FLIGHT}`);
  }

  for (const [mode, line, commands, target] of [
    ['sequential', `seq ${SEQUENTIAL}`, SEQUENTIAL, 'ratio >= 1'],
    ['pipelined', `pipe ${PIPELINED} ${IN_FLIGHT}`, PIPELINED, '>= 5000'],
  ]) {
    const { out, ratios, each } = await pairs(line, commands);
    const base = out.librouteros;
    const ratio = ratios.length ? round(quantile(ratios, 0.5)) : undefined;
    // Without librouteros the sequential target (at least its rate) cannot be shown met: a miss, not information.
    report(`routeros.${mode}-commands`, out.ispctl.rate, 'commands/s', target, {
      ...(!base && mode === 'sequential' ? { ok: false } : {}),
      higherIsBetter: true,
      baseline: base && { name: mode === 'sequential' ? 'librouteros' : 'librouteros protocol layer', samples: base.rate },
      ratio,
      note: base ? `ratio: median of ${ratios.length} paired runs, alternating which side ran first` : mode === 'sequential' ? 'librouteros is not installed (apt install python3-librouteros): no baseline, so the target is not shown met' : undefined,
      pairs: each,
    });
    // CPU of the client process per command (user + kernel): no more than librouteros's.
    report(`routeros.${mode}-cpu-per-command`, out.ispctl.cpuUs, 'us', 'ratio <= 1', {
      ...(!base ? { ok: false, note: 'librouteros is not installed: no baseline' } : {}),
      baseline: base && { name: 'librouteros', samples: base.cpuUs },
    });
    for (const s of sides) {
      report(`routeros.lab-router-busy.${mode}.${s.name}`, out[s.name].routerBusy, '% of a core', '< 90', {
        note: 'the lab router process\'s CPU over the wall time of the run: near 100 % the router, not the client, would set the rate',
      });
    }
  }

  // Print every PPP secret, from this process.
  const seeded = await lab.seedSecrets(SECRETS);
  if (seeded !== SECRETS) throw new Error(`seeded ${seeded} secrets, expected ${SECRETS}`);
  const client = await RouterOSClient.connect({ host: '127.0.0.1', port: lab.port, user: 'admin', password: lab.password, timeoutMs: 30_000 });
  try {
    await client.write('/ppp/secret/print'); // warm-up
    const prints = [];
    for (let run = 0; run < sized(10, 3); run++) {
      const t0 = performance.now();
      const res = await client.write('/ppp/secret/print');
      prints.push(performance.now() - t0);
      if (res.rows.length !== SECRETS) throw new Error(`printed ${res.rows.length} secrets, expected ${SECRETS}`);
    }
    report(`routeros.print-${SECRETS}-ppp-secrets`, prints, 'ms', SECRETS === 10_000 ? '< 1000' : 'info');
  } finally {
    await client.close();
  }
} finally {
  for (const s of sides) await s.driver.close();
  await lab.close();
}
