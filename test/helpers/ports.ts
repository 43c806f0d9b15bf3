// Loopback ports for the servers tests start (PostgreSQL, FreeRADIUS).
//
// Ports are taken from below the kernel's ephemeral range (/proc/sys/net/ipv4/ip_local_port_range),
// never from it: a port the kernel handed out with bind(0) and that was released again can be
// taken a moment later as the local port of any process's outgoing connection or UDP socket, so a
// server started on it (or a PostgreSQL restarted on its own port) could find it in use when
// another test file shares the machine. Below that range only an explicit bind takes a port.
//
// Each vitest worker (VITEST_POOL_ID) draws from its own block of that range, starting at a
// random offset, and each port is checked free for TCP and UDP on 127.0.0.1 before it is handed
// out; a port is never handed out twice by one process.
import { createSocket } from 'node:dgram';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';

const LOWEST = 10_000;
const BLOCKS = 8;

function ephemeralStart(): number {
  try {
    const low = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
    return Number.isInteger(low) && low > 0 ? low : 32_768;
  } catch {
    return 32_768;
  }
}

const top = Math.min(ephemeralStart(), 65_536) - 1;
const blockSize = Math.floor((top - LOWEST + 1) / BLOCKS);
// The global setup runs in vitest's main process (no pool id): block 0; workers 1, 2, … after it.
const block = (Number(process.env.VITEST_POOL_ID ?? 0) || 0) % BLOCKS;
const given = new Set<number>();
let cursor = Math.floor(Math.random() * Math.max(blockSize, 1));

function tcpFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.unref();
    srv.once('error', () => resolve(false));
    srv.listen({ port, host: '127.0.0.1', exclusive: true }, () => srv.close(() => resolve(true)));
  });
}

function udpFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createSocket('udp4');
    s.unref();
    s.once('error', () => {
      s.close();
      resolve(false);
    });
    s.bind(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}

/** A kernel-chosen port, for a machine whose ephemeral range leaves no room below it. */
function kernelPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/**
 * A port on 127.0.0.1, free for both TCP and UDP when checked, outside the ephemeral range, and
 * not handed out before by this process nor (with another pool id) by another worker of the run.
 */
export async function allocatePort(exclude: readonly number[] = []): Promise<number> {
  if (blockSize < 16) return kernelPort();
  const base = LOWEST + block * blockSize;
  for (let tried = 0; tried < blockSize; tried++) {
    const port = base + (cursor++ % blockSize);
    if (given.has(port) || exclude.includes(port)) continue;
    if ((await tcpFree(port)) && (await udpFree(port))) {
      given.add(port);
      return port;
    }
  }
  throw new Error(`no free loopback port in ${base}-${base + blockSize - 1}`);
}
