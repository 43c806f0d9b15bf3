// Noticing a router that comes back. Work for a router that could not be reached waits out a
// backoff (up to minutes) before its next try; instead, routers with failed queued work get a
// cheap probe on a short interval with a capped backoff, and the moment one answers again its
// work is tried, whatever the backoff said. The probe of an API-mode router logs in and asks
// for its identity (a router that accepts connections but has stalled does not pass); other
// routers get a TCP connect to the API port.
import net from 'node:net';
import type { ServiceContext } from '../context.js';
import type { RouterOSConnectOptions } from '../routeros/client.js';

export interface ProbeTarget {
  routerId: number;
  host: string;
  port: number;
  /** Log in with these and ask for one answer (API-mode routers). */
  login?: RouterOSConnectOptions;
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

/** How long the API probe waits for the login and for its one answer (ms). */
export const API_PROBE_TIMEOUT_MS = 1_500;

/**
 * True when the router at `opts` lets us log in and answers `/system/identity/print` within
 * `timeoutMs` each. Never throws; leaves no connection open.
 */
export async function apiAnswers(opts: RouterOSConnectOptions, timeoutMs = API_PROBE_TIMEOUT_MS): Promise<boolean> {
  const { RouterOSClient } = await import('../routeros/client.js');
  let client: import('../routeros/client.js').RouterOSClient | undefined;
  try {
    client = await RouterOSClient.connect({ ...opts, timeoutMs, connectTimeoutMs: timeoutMs });
    await client.write('/system/identity/print', undefined, { timeoutMs });
    return true;
  } catch {
    return false;
  } finally {
    client?.destroy();
  }
}

interface TargetRow {
  id: unknown;
  name: string;
  host: string;
  api_port: unknown;
  mode: string;
}

/** Probe targets for routers rows: API-mode routers with their login, others by TCP. */
async function targetsOf(ctx: ServiceContext, rows: readonly TargetRow[]): Promise<ProbeTarget[]> {
  const { routerConnectOptions } = await import('../routers/check.js');
  return Promise.all(
    rows.map(async (r) => {
      const target: ProbeTarget = { routerId: Number(r.id), host: r.host, port: Number(r.api_port) };
      if (r.mode !== 'api') return target;
      try {
        return { ...target, login: await routerConnectOptions(ctx, r.name) };
      } catch {
        return target; // no usable credentials: the TCP probe still says when it is back
      }
    }),
  );
}

/** Routers with queued work that has failed at least once: the ones worth probing. */
export async function probeTargets(ctx: ServiceContext): Promise<ProbeTarget[]> {
  const db = ctx.db;
  const rows = (await db('routers as r')
    .whereExists(db('provisioning_jobs as j').whereRaw('j.router_id = r.id').where('j.status', 'pending').where('j.attempts', '>', 0))
    .whereNotNull('r.host')
    .select('r.id', 'r.name', 'r.host', 'r.api_port', 'r.mode')) as TargetRow[];
  return targetsOf(ctx, rows);
}

interface TargetState extends ProbeTarget {
  reachable: boolean | undefined;
  failures: number;
  nextAtMs: number;
  /** A probe of this router is under way (one at a time per router). */
  probing: boolean;
}

/**
 * Probes targets on their own schedule and reports the routers that answer again. `tick()` is
 * called often (every second); it probes the targets that are due, concurrently, and returns the
 * ids of routers that went from unreachable (or unknown) to reachable.
 *
 * Ticks may overlap: a probe of a stalled router takes its whole timeout (login, then one answer),
 * and the ticks meanwhile probe the other routers that are due. Measured with 50 of 500 lab
 * routers away (bench/fleet.mjs): while one tick waited for everyone's probe, a router that came
 * back waited for the slowest probe of the round before its own was even sent.
 */
export class ReturnWatcher {
  #targets = new Map<number, TargetState>();

  constructor(private readonly probe: (host: string, port: number, target: ProbeTarget) => Promise<boolean> = (h, p, t) => (t.login ? apiAnswers(t.login) : tcpReachable(h, p))) {}

  /** Replaces the set of routers to watch (state is kept for routers still in it). */
  setTargets(targets: readonly ProbeTarget[]): void {
    const next = new Map<number, TargetState>();
    for (const t of targets) {
      const old = this.#targets.get(t.routerId);
      next.set(t.routerId, old && old.host === t.host && old.port === t.port ? old : { ...t, reachable: undefined, failures: 0, nextAtMs: 0, probing: false });
    }
    this.#targets = next;
  }

  get size(): number {
    return this.#targets.size;
  }

  /**
   * Routers whose work failed again after they were seen to answer: watched as unreachable
   * again (probed after the usual short backoff), so the next good probe reports them again.
   */
  failedAgain(routerIds: readonly number[], nowMs = Date.now()): void {
    for (const id of routerIds) {
      const t = this.#targets.get(id);
      if (!t) continue;
      t.reachable = false;
      t.failures++;
      t.nextAtMs = nowMs + Math.min(PROBE_MAX_MS, PROBE_MIN_MS * 2 ** (t.failures - 1));
    }
  }

  async tick(nowMs = Date.now()): Promise<number[]> {
    const due = [...this.#targets.values()].filter((t) => !t.probing && t.nextAtMs <= nowMs);
    const returned: number[] = [];
    await Promise.all(
      due.map(async (t) => {
        t.probing = true;
        let ok = false;
        try {
          ok = await this.probe(t.host, t.port, t);
        } catch {
          ok = false;
        } finally {
          t.probing = false;
        }
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
  }
}

/**
 * For `jobs retry --wait`: while jobs among `ids` stay queued and `waitMs` has not passed, probes
 * their routers and runs a router's jobs the moment it answers again. Returns how many were
 * applied this way.
 */
export async function retryAsRoutersReturn(
  ctx: ServiceContext,
  drivers: import('./runner.js').Drivers,
  opts: { ids: readonly number[]; waitMs: number; timeoutMs: number; probe?: (host: string, port: number, target: ProbeTarget) => Promise<boolean> },
): Promise<number> {
  const { runJobs } = await import('./runner.js');
  const deadline = Date.now() + opts.waitMs;
  const watcher = new ReturnWatcher(opts.probe);
  let applied = 0;
  let known = '';
  while (Date.now() < deadline) {
    const open = (await ctx.db('provisioning_jobs as j')
      .join('routers as r', 'r.id', 'j.router_id')
      .whereIn('j.id', [...opts.ids])
      .whereIn('j.status', ['pending', 'running'])
      .whereNotNull('r.host')
      .distinct('r.id', 'r.name', 'r.host', 'r.api_port', 'r.mode')) as TargetRow[];
    if (open.length === 0) break;
    // Credentials are read again only when the set of routers changes.
    const key = open.map((r) => Number(r.id)).sort((a, b) => a - b).join(',');
    if (key !== known) {
      watcher.setTargets(await targetsOf(ctx, open));
      known = key;
    }
    const back = await watcher.tick();
    if (back.length) {
      const s = await runJobs(ctx, drivers, { ids: [...opts.ids], routerIds: back, ignoreBackoff: true, timeoutMs: opts.timeoutMs });
      applied += s.done;
      watcher.failedAgain(s.failedRouterIds);
    }
    await new Promise((r) => setTimeout(r, Math.min(500, Math.max(0, deadline - Date.now()))));
  }
  return applied;
}
