// Many lab routers in one process of their own (startLabFleet), for bench/fleet.mjs: the fleet's
// CPU is its own, as real routers are their own machines. Speaks to its parent over IPC:
//   -> { type: 'ready', ports }                       once every router listens
//   <- { type: 'fault', id, indices, kind }           kind: offline | stall | stall-after:N | heal
//   -> { type: 'faulted', id }
//   <- { type: 'count', id }                          -> { type: 'counted', id, secrets: [...], disabled: [...] } per router
//   <- { type: 'cpu', id }                            -> { type: 'cpu', id, ms }
//   <- { type: 'close' }                              closes and exits
const [labModule, password, count] = process.argv.slice(2);
const { startLabFleet, resetFaults } = await import(labModule);
const fleet = await startLabFleet({ count: Number(count), adminPassword: password });

async function fault(r, kind) {
  if (kind === 'offline') await r.offline();
  else if (kind === 'stall') r.faults.stallReplies = true;
  else if (kind.startsWith('stall-after:')) r.faults.stallAfterCommands = Number(kind.slice(12));
  else if (kind === 'heal') {
    resetFaults(r.faults);
    await r.online();
  } else throw new Error(`unknown fault ${kind}`);
}

process.on('message', async (msg) => {
  if (msg.type === 'fault') {
    await Promise.all(msg.indices.map((i) => fault(fleet.routers[i], msg.kind)));
    process.send({ type: 'faulted', id: msg.id });
  } else if (msg.type === 'count') {
    const secrets = [];
    const disabled = [];
    for (const r of fleet.routers) {
      const list = r.state.menu('/ppp/secret').list();
      secrets.push(list.length);
      disabled.push(list.filter((s) => s.disabled === 'true').length);
    }
    process.send({ type: 'counted', id: msg.id, secrets, disabled });
  } else if (msg.type === 'cpu') {
    const u = process.cpuUsage();
    process.send({ type: 'cpu', id: msg.id, ms: (u.user + u.system) / 1000 });
  } else if (msg.type === 'close') {
    await fleet.close();
    process.disconnect();
  }
});
process.send({ type: 'ready', ports: fleet.routers.map((r) => r.port) });
