// A lab router run as its own process (inside a network namespace, for the WireGuard test),
// driven by JSON lines on stdin: {op:"script",text} runs a pasted script in its console,
// {op:"wg"} reports the WireGuard interface and peers the scripts configured, {op:"listen",host}
// starts its API (and PPPoE NAS) on that address only, {op:"dial",user,password} dials a
// subscriber, {op:"close"} ends it. Each answer is one JSON line on stdout.
// Usage: node netns-lab.mjs DIST_DIR
import { createInterface } from 'node:readline';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const dist = process.argv[2];
const load = (p) => import(pathToFileURL(join(dist, p)).href);
const { RouterState } = await load('src/lab/state.js');
const { runScript } = await load('src/lab/console/index.js');
const { startLabRouter } = await load('src/lab/api-server.js');

const state = new RouterState({ identity: 'tower-1', adminPassword: 'admin-pw' });
let router;
const reply = (v) => process.stdout.write(JSON.stringify(v) + '\n');

for await (const line of createInterface({ input: process.stdin })) {
  if (!line.trim()) continue;
  const req = JSON.parse(line);
  try {
    if (req.op === 'script') {
      const r = runScript(state, req.text);
      reply({ ok: true, output: r.output, errors: r.errors });
    } else if (req.op === 'wg') {
      reply({
        ok: true,
        interfaces: state.menu('/interface/wireguard').list(),
        peers: state.menu('/interface/wireguard/peers').list(),
        addresses: state.menu('/ip/address').list(),
        services: state.menu('/ip/service').list(),
      });
    } else if (req.op === 'listen') {
      router = await startLabRouter({ host: req.host, port: req.port ?? 8728, state, nas: true });
      reply({ ok: true, port: router.port });
    } else if (req.op === 'dial') {
      const s = await router.nas.dial({ username: req.user, password: req.password });
      reply({ ok: true, session: { name: s.name ?? req.user, address: s.address } });
    } else if (req.op === 'close') {
      await router?.close();
      reply({ ok: true });
      process.exit(0);
    } else {
      reply({ ok: false, error: `unknown op ${req.op}` });
    }
  } catch (err) {
    reply({ ok: false, error: String(err?.message ?? err) });
  }
}
