// Noticing a router that comes back. Work for a router that could not be reached waits out a
// backoff (up to minutes) before its next try; instead, routers with failed queued work get a
// cheap reachability probe (a TCP connect to the API port, no login) on a short interval with a
// capped backoff, and the moment one answers again its work is tried, whatever the backoff said.
import net from 'node:net';
import type { Db } from '../db/tx.js';

export interface ProbeTarget {
  routerId: number;
  host: string;
  port: number;
}

/** Probe interval after a failed probe: 1 s, 2 s, then every 4 s at most. */
export const PROBE_MIN_MS = 1_000;
export const PROBE_MAX_MS = 4_000;

/**
 * True when a TCP connection to host:port opens within `timeoutMs` and stays open for `holdMs`
 * (a router whose API service refuses this address accepts and closes at once). Never throws.
 */
export function tcpReachable(host: string, port: number, timeoutMs = 1_000, holdMs = 250): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = net.connect({ host, port });
    let hold: NodeJS.Timeout | undefined;
    const done = (ok: boolean) => {
      clearTimeout(timer);
      clearTimeout(hold);
      sock.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), timeoutMs + holdMs);
    sock.once('connect', () => (hold = setTimeout(() => done(true), holdMs)));
    sock.once('error', () => done(false));
    sock.once('close', () => done(false));
  });
}

/** Routers with queued work that has failed at least once: the ones worth probing. */
export async function probeTargets(db: Db): Promise<ProbeTarget[]> {
  const rows = (await db('routers as r')
    .whereExists(db('provisioning_jobs as j').whereRaw('j.router_id = r.id').where('j.status', 'pending').where('j.attempts', '>', 0))
    .select('r.id', 'r.host', 'r.api_port')) as Array<{ id: unknown; host: string; api_port: unknown }>;
  return rows.map((r) => ({ routerId: Number(r.id), host: r.host, port: Number(r.api_port) }));
}

interface TargetState extends ProbeTarget {
  reachable: boolean | undefined;
  failures: number;
  nextAtMs: number;
}

/**
 * Probes targets on their own schedule and reports the routers that answer again. `tick()` is
 * called often (every second); it probes the targets that are due, concurrently, and returns the
 * ids of routers that went from unreachable (or unknown) to reachable.
 */
export class ReturnWatcher {
  #targets = new Map<number, TargetState>();
  #busy = false;

  constructor(private readonly probe: (host: string, port: number) => Promise<boolean> = (h, p) => tcpReachable(h, p)) {}

  /** Replaces the set of routers to watch (state is kept for routers still in it). */
  setTargets(targets: readonly ProbeTarget[]): void {
    const next = new Map<number, TargetState>();
    for (const t of targets) {
      const old = this.#targets.get(t.routerId);
      next.set(t.routerId, old && old.host === t.host && old.port === t.port ? old : { ...t, reachable: undefined, failures: 0, nextAtMs: 0 });
    }
    this.#targets = next;
  }

  get size(): number {
    return this.#targets.size;
  }

  async tick(nowMs = Date.now()): Promise<number[]> {
    if (this.#busy) return [];
    this.#busy = true;
    try {
      const due = [...this.#targets.values()].filter((t) => t.nextAtMs <= nowMs);
      const returned: number[] = [];
      await Promise.all(
        due.map(async (t) => {
          const ok = await this.probe(t.host, t.port);
          if (ok) {
            if (t.reachable !== true) returned.push(t.routerId);
            t.reachable = true;
            t.failures = 0;
            t.nextAtMs = Date.now() + PROBE_MAX_MS;
          } else {
            t.reachable = false;
            t.failures++;
            t.nextAtMs = Date.now() + Math.min(PROBE_MAX_MS, PROBE_MIN_MS * 2 ** (t.failures - 1));
          }
        }),
      );
      return returned.sort((a, b) => a - b);
    } finally {
      this.#busy = false;
    }
  }
}

/**
 * For `jobs retry --wait`: while jobs among `ids` stay queued and `waitMs` has not passed, probes
 * their routers and runs a router's jobs the moment it answers again. Returns how many were
 * applied this way.
 */
export async function retryAsRoutersReturn(
  ctx: import('../context.js').ServiceContext,
  drivers: import('./runner.js').Drivers,
  opts: { ids: readonly number[]; waitMs: number; timeoutMs: number; probe?: (host: string, port: number) => Promise<boolean> },
): Promise<number> {
  const { runJobs } = await import('./runner.js');
  const deadline = Date.now() + opts.waitMs;
  const watcher = new ReturnWatcher(opts.probe);
  let applied = 0;
  while (Date.now() < deadline) {
    const open = (await ctx.db('provisioning_jobs as j')
      .join('routers as r', 'r.id', 'j.router_id')
      .whereIn('j.id', [...opts.ids])
      .whereIn('j.status', ['pending', 'running'])
      .distinct('r.id', 'r.host', 'r.api_port')) as Array<{ id: unknown; host: string; api_port: unknown }>;
    if (open.length === 0) break;
    watcher.setTargets(open.map((r) => ({ routerId: Number(r.id), host: r.host, port: Number(r.api_port) })));
    const back = await watcher.tick();
    if (back.length) {
      const s = await runJobs(ctx, drivers, { ids: [...opts.ids], routerIds: back, ignoreBackoff: true, timeoutMs: opts.timeoutMs });
      applied += s.done;
    }
    await new Promise((r) => setTimeout(r, Math.min(500, Math.max(0, deadline - Date.now()))));
  }
  return applied;
}
