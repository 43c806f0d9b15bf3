// ispctl's RouterOS client, driven line by line from stdin by ../routeros.mjs:
//   seq N        N commands one at a time (send, await the reply, send the next)
//   pipe N W     N commands, W in flight at once on the one connection
// Each line is answered with { mode, commands, ms, cpuMs, userMs, sysMs } (this process's CPU
// during the run, and its user and kernel parts).
import { createInterface } from 'node:readline';

const [modulePath, port, password] = process.argv.slice(2);
const { RouterOSClient } = await import(modulePath);
const client = await RouterOSClient.connect({ host: '127.0.0.1', port: Number(port), user: 'admin', password, timeoutMs: 30_000 });

async function one() {
  const res = await client.write('/system/identity/print');
  if (res.rows.length !== 1) throw new Error('unexpected reply to /system/identity/print');
}

async function seq(n) {
  for (let i = 0; i < n; i++) await one();
}

async function pipe(n, window) {
  let sent = 0;
  const lane = async () => {
    while (sent < n) {
      sent++;
      await one();
    }
  };
  await Promise.all(Array.from({ length: window }, lane));
}

const lines = createInterface({ input: process.stdin });
process.stdout.write(`${JSON.stringify({ ready: true })}\n`);
for await (const line of lines) {
  const [mode, a, b] = line.trim().split(/\s+/);
  if (mode === 'quit') break;
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  if (mode === 'seq') await seq(Number(a));
  else await pipe(Number(a), Number(b));
  const ms = performance.now() - t0;
  const c = process.cpuUsage(c0);
  process.stdout.write(`${JSON.stringify({ mode, commands: Number(a), ms, cpuMs: (c.user + c.system) / 1000, userMs: c.user / 1000, sysMs: c.system / 1000 })}\n`);
}
await client.close();
