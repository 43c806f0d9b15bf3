// A lab router in its own process, for benchmarks that must tell the client's CPU from the
// router's. Started by startLabProcess() in ../lib.mjs; speaks to its parent over IPC:
//   -> { type: 'ready', port }          once listening
//   <- { type: 'cpu' }                  -> { type: 'cpu', ms }  (this process's CPU so far)
//   <- { type: 'seed-secrets', count }  -> { type: 'seeded', count }
//   <- { type: 'close' }                closes and exits
const { startLabRouter } = await import(process.argv[2]);
const router = await startLabRouter({ adminPassword: process.argv[3] });
const cpuMs = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};
process.on('message', async (msg) => {
  if (msg.type === 'cpu') process.send({ type: 'cpu', ms: cpuMs() });
  else if (msg.type === 'seed-secrets') {
    const s = router.state;
    if (!s.menu('/ppp/profile').get('bench')) s.menu('/ppp/profile').add({ name: 'bench', 'rate-limit': '10M/50M', 'remote-address': '10.0.0.1' });
    for (let i = 0; i < msg.count; i++) s.menu('/ppp/secret').add({ name: `sub${i}`, password: `pw-${i}`, profile: 'bench', service: 'pppoe', comment: `ispctl:svc=${i}` });
    process.send({ type: 'seeded', count: s.menu('/ppp/secret').size });
  } else if (msg.type === 'close') {
    await router.close();
    process.disconnect();
  }
});
process.send({ type: 'ready', port: router.port });
