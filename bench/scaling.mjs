// Scaling benchmarks: work that must grow linearly with its size (no per-item quadratic cost),
// each measured against its own baseline in the same run (the same work at a tenth of the size).
// These figures used to be wall-clock limits inside unit tests, where a busy machine failed them;
// the tests now check what the work produces and these benchmarks say how long it takes.
//
//   npm run build && node bench/scaling.mjs
//
// Prints one JSON line per benchmark (see reportScaling in lib.mjs); exits 1 if a ratio is over
// its target.
import { dist, reportScaling, startLabWorker, time } from './lib.mjs';

const { SentenceDecoder, encodeSentence, RouterOSClient } = await import(dist('src/core/routeros/index.js'));
const { RouterState, startLabRouter } = await import(dist('src/lab/index.js'));

const results = [];

// RouterOS wire decoding: N rows and an N*200-byte word, fed in 1,500-byte chunks.
results.push(
  await reportScaling('routeros.decode-chunked', { size: 10_000 }, async (n) => {
    const rows = Array.from({ length: n }, (_, i) => encodeSentence(['!re', `=.id=*${i.toString(16)}`, `=name=user${i}`, '=profile=10M', '.tag=1']));
    const buf = Buffer.concat([...rows, encodeSentence(['!re', Buffer.alloc(n * 200, 0x71)]), encodeSentence(['!done'])]);
    let count = 0;
    const ms = await time(() => {
      const dec = new SentenceDecoder();
      for (let at = 0; at < buf.length; at += 1500) count += dec.push(buf.subarray(at, at + 1500)).length;
    });
    if (count !== n + 2) throw new Error(`decoded ${count} sentences, expected ${n + 2}`);
    return ms;
  }),
);

// Lab router state: add N secrets, look each up by name, list them all.
for (const [what, op] of [
  ['add', (secrets, n) => { for (let i = 0; i < n; i++) secrets.add({ name: `user${i}`, password: `pw${i}`, service: 'pppoe' }); }],
  ['lookup', (secrets, n) => { for (let i = 0; i < n; i++) if (!secrets.get(`user${i}`)) throw new Error('missing'); }],
  ['list', (secrets, n) => { if (secrets.list().length !== n) throw new Error('short list'); }],
]) {
  results.push(
    await reportScaling(`lab.state-secrets-${what}`, { size: 10_000 }, async (n) => {
      const secrets = new RouterState().menu('/ppp/secret');
      if (what !== 'add') for (let i = 0; i < n; i++) secrets.add({ name: `user${i}`, password: `pw${i}`, service: 'pppoe' });
      return time(() => op(secrets, n));
    }),
  );
}

// RouterOS client against the lab router (a worker thread): N commands pipelined on one
// connection, and a print of N secrets.
{
  const lab = await startLabWorker();
  const client = await RouterOSClient.connect({ host: '127.0.0.1', port: lab.port, user: 'admin', password: lab.password, timeoutMs: 60_000 });
  try {
    results.push(
      await reportScaling('routeros.client-pipelined-commands', { size: 5_000 }, (n) =>
        time(async () => {
          const res = await Promise.all(Array.from({ length: n }, () => client.write('/system/identity/print')));
          if (res.length !== n) throw new Error('lost replies');
        }),
      ),
    );
  } finally {
    await client.close();
    await lab.close();
  }
}

// The lab NAS: N PPPoE dials at once (addresses, sessions, queues).
results.push(
  await reportScaling('lab.nas-concurrent-dials', { size: 3_000, runs: 3 }, async (n) => {
    const router = await startLabRouter({ adminPassword: 'pw', identity: 'bench-nas', nas: {} });
    try {
      const s = router.state;
      s.menu('/ip/pool').add({ name: 'big', ranges: '10.64.0.1-10.64.31.255' });
      s.menu('/ppp/profile').add({ name: 'bulk', 'rate-limit': '5M/20M', 'remote-address': 'big' });
      for (let i = 0; i < n; i++) s.menu('/ppp/secret').add({ name: `sub${i}`, password: `pw${i}`, profile: 'bulk' });
      return await time(async () => {
        await Promise.all(Array.from({ length: n }, (_, i) => router.nas.dial({ username: `sub${i}`, password: `pw${i}` })));
      });
    } finally {
      await router.close();
    }
  }),
);

process.exit(results.every((r) => r.ok) ? 0 : 1);
