// A streaming replica of a test cluster (test/helpers/pg-cluster.ts): pg_basebackup -R into a
// second data directory, started as a hot standby on a free port. Run as the `postgres` user
// when we are root, as the cluster is.
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, chownSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { findPgBin, freePort } from './pg-cluster.js';

export interface PgReplica {
  url: string;
  port: number;
  stop(): void;
}

/** A hot standby streaming from the cluster on 127.0.0.1:`primaryPort` (user postgres, trust). */
export async function startPgReplica(primaryPort: number): Promise<PgReplica> {
  const isRoot = userInfo().uid === 0;
  const dir = mkdtempSync(join(tmpdir(), 'ispctl-pg-replica-'));
  const dataDir = join(dir, 'data');
  if (isRoot) {
    chownSync(dir, Number(execFileSync('id', ['-u', 'postgres']).toString().trim()), Number(execFileSync('id', ['-g', 'postgres']).toString().trim()));
    chmodSync(dir, 0o700);
  }
  const run = (bin: string, args: string[]) => {
    const cmd = isRoot ? 'runuser' : findPgBin(bin);
    const argv = isRoot ? ['-u', 'postgres', '--', findPgBin(bin), ...args] : args;
    const r = spawnSync(cmd, argv, { encoding: 'utf8', cwd: dir });
    if (r.status !== 0) throw new Error(`${bin} failed (${r.status}): ${r.stderr || r.stdout}`);
    return r.stdout;
  };
  // -R writes standby.signal and primary_conninfo; -X stream copies the WAL written meanwhile.
  run('pg_basebackup', ['-h', '127.0.0.1', '-p', String(primaryPort), '-U', 'postgres', '-D', dataDir, '-R', '-X', 'stream', '--no-sync', '-c', 'fast']);
  const port = await freePort();
  const opts = [`-p ${port}`, `-k ${dir}`, '-c listen_addresses=127.0.0.1', '-c hot_standby=on', '-c fsync=off', '-c max_connections=300'].join(' ');
  run('pg_ctl', ['-D', dataDir, '-o', opts, '-l', join(dir, 'server.log'), '-w', '-t', '60', 'start']);
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    port,
    stop() {
      try {
        run('pg_ctl', ['-D', dataDir, '-m', 'immediate', '-w', 'stop']);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}
