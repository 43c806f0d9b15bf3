// A throwaway PostgreSQL cluster for one test run: initdb + pg_ctl on a free loopback port in a
// temporary directory, run as the `postgres` user when we are root (initdb refuses root).
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { allocatePort } from './ports.js';

export interface PgCluster {
  url: string;
  port: number;
  /** Restarts the server: `fast` ends every connection (as a restart by an operator does). */
  restart(mode?: 'fast' | 'immediate'): void;
  stop(): void;
}

export function findPgBin(name: string): string {
  const roots = ['/usr/lib/postgresql'];
  for (const root of roots) {
    if (!existsSync(root)) continue;
    const versions = readdirSync(root).sort((a, b) => Number(b) - Number(a));
    for (const v of versions) {
      const p = join(root, v, 'bin', name);
      if (existsSync(p)) return p;
    }
  }
  return name; // rely on PATH
}

/** A free loopback port outside the ephemeral range (see ports.ts), kept for this cluster's restarts. */
export async function freePort(): Promise<number> {
  return allocatePort();
}

export async function startPgCluster(): Promise<PgCluster> {
  const isRoot = userInfo().uid === 0;
  const dir = mkdtempSync(join(tmpdir(), 'ispctl-pg-'));
  const dataDir = join(dir, 'data');
  let uid = -1;
  let gid = -1;
  if (isRoot) {
    uid = Number(execFileSync('id', ['-u', 'postgres']).toString().trim());
    gid = Number(execFileSync('id', ['-g', 'postgres']).toString().trim());
    chownSync(dir, uid, gid);
    chmodSync(dir, 0o700);
  }
  const run = (bin: string, args: string[]) => {
    const cmd = isRoot ? 'runuser' : findPgBin(bin);
    const argv = isRoot ? ['-u', 'postgres', '--', findPgBin(bin), ...args] : args;
    const r = spawnSync(cmd, argv, { encoding: 'utf8', cwd: dir });
    if (r.status !== 0) throw new Error(`${bin} failed (${r.status}): ${r.stderr || r.stdout}`);
    return r.stdout;
  };
  run('initdb', ['-D', dataDir, '-U', 'postgres', '-A', 'trust', '-E', 'UTF8', '--no-sync', '--locale=C.UTF-8']);
  const port = await freePort();
  const opts = [
    `-p ${port}`,
    `-k ${dir}`,
    `-c listen_addresses=127.0.0.1`,
    `-c fsync=off`,
    `-c synchronous_commit=off`,
    `-c full_page_writes=off`,
    `-c max_connections=300`,
    `-c shared_buffers=256MB`,
  ].join(' ');
  run('pg_ctl', ['-D', dataDir, '-o', opts, '-l', join(dir, 'server.log'), '-w', '-t', '60', 'start']);
  const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
  return {
    url,
    port,
    restart(mode = 'fast') {
      run('pg_ctl', ['-D', dataDir, '-o', opts, '-l', join(dir, 'server.log'), '-m', mode, '-w', '-t', '60', 'restart']);
    },
    stop() {
      try {
        run('pg_ctl', ['-D', dataDir, '-m', 'immediate', '-w', 'stop']);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}
