// Runs queued provisioning jobs: a queue per router, worked by a bounded number of lanes.
//
// - Fair: a lane takes one router's due jobs (a turn of at most `turnJobs`), and a router with
//   more work goes to the back of the line after its turn. Routers with new work go before
//   routers whose work failed last time, so one slow or unreachable router never holds up or
//   starves the others; returning routers (`returnedRouters`) go first.
// - Bounded: every command has its own timeout (`timeoutMs`), and a router that answers nothing
//   for that long is given up (its lane moves on). Only the lanes in use hold connections.
// - Progress: a driver reports results as the router acknowledges them (the API driver after
//   each chunk); they are recorded at once, so what went through stays done and only the rest
//   is retried when the router stalls part-way.
// - Database use is short and shared: a lane takes a connection only to claim, read or record
//   (through a gate of `dbSlots`, fewer than the pool holds), never while it talks to a router, so
//   32 lanes (or more) never exhaust a pool of 10 and never wait on one another's routers.
// Nothing is lost: what fails stays queued with its error and a backoff; what a run did not get
// to (its `budgetMs` ran out while the router was answering) goes back due at once.
import type { Knex } from 'knex';
import type { ServiceContext } from '../context.js';
import type { RouterRow } from '../db/rows.js';
import { toRouter, type Router } from '../routers/service.js';
import { releaseDeadClaims, workerId } from './claims.js';
import { claimJobs, completeJobs, countOpenJobs, dueRouters, failJobs, keepQueueStatistics, QUEUE_STATISTICS_FROM, releaseJobs, takeHeldJobs, type ClaimFilter, type Job, type JobCounts } from './jobs.js';

export type JobResult = { id: number; ok: true; detail?: string } | { id: number; ok: false; error: string };

export interface DriverRunOptions {
  /** When this turn must be over (ms since the epoch); drivers without per-command timeouts bound their work by it. */
  deadline: number;
  /** Aborted when the runner gives up on the router: stop, and let nothing outlive the run. */
  signal: AbortSignal;
  /** How long one command (and the connect) may go unanswered (ms). */
  commandTimeoutMs?: number;
  /** Hands over results as they are known; the runner records them before it resolves. */
  report?(results: JobResult[]): Promise<void>;
  /** The router answered something (the runner's watchdog starts again). */
  progress?(): void;
  /** Jobs in the first chunk of a driver that works in chunks. */
  firstChunk?: number;
  /**
   * Runs one database step within the run's share of connections (see {@link RunOptions.dbSlots}).
   * Drivers wrap each read or write in it, never a wait on the router.
   */
  db?<T>(step: () => Promise<T>): Promise<T>;
  /** The router's row as the runner read it for this run (its API password among it): no need to read it again. */
  row?: RouterRow;
}

/**
 * Carries one router's jobs to it. Per-job failures are results, reported through `report` or
 * returned; a throw fails every job not reported yet.
 */
export interface ProvisioningDriver {
  run(ctx: ServiceContext, router: Router, jobs: Job[], opts: DriverRunOptions): Promise<JobResult[]>;
}

export type Drivers = Record<Router['mode'], ProvisioningDriver>;

export interface RunOptions extends ClaimFilter {
  /**
   * How long a router may leave a command (or the connect) unanswered before it is given up
   * (ms). Default 5 s. A router that keeps answering is never cut off by it.
   */
  timeoutMs?: number;
  /** Routers worked on at once (lanes). Default {@link DEFAULT_CONCURRENCY}. */
  concurrency?: number;
  /** End the whole run by then (ms): routers still at work are stopped, what they did stays done. Default: none. */
  budgetMs?: number;
  /** Jobs a router gets per turn before the next router's turn. Default {@link TURN_JOBS}. */
  turnJobs?: number;
  /** Jobs in a driver's first chunk (tests use small ones). */
  firstChunk?: number;
  /**
   * Jobs among `ids` were queued held by this process (enqueueJobs with a holder): they are read
   * rather than claimed, and those not run (a suspension still waiting for its notice, the budget
   * over) go back to the queue when the run ends.
   */
  held?: boolean;
  /** Polled between turns: routers that answer again; their work goes next, whatever its backoff. */
  returnedRouters?: () => number[];
  /**
   * Database steps of the run's lanes at once (claims, reads, records). Default
   * {@link DEFAULT_DB_SLOTS}: below the daemon's pool of 10, so its other tasks, the probe and
   * commands keep connections however many lanes talk to routers.
   */
  dbSlots?: number;
}

export interface RouterRunSummary {
  router: string;
  done: number;
  failed: number;
  error?: string;
}

export interface RunSummary {
  claimed: number;
  done: number;
  /**
   * Jobs among `ids` that another process (a daemon, another command) held and completed while
   * this run waited for them: the router was changed, just not by this process.
   */
  doneElsewhere: number;
  failed: number;
  /** Jobs claimed but not tried before the budget ran out: queued again, due at once. */
  released: number;
  routers: RouterRunSummary[];
  /** Routers whose turn failed (unreachable, stalled, or a job failed): the probe watches them. */
  failedRouterIds: number[];
  /** Jobs still open (of those asked about, when ids were given). */
  remaining: JobCounts;
}

export const DEFAULT_CONCURRENCY = 32;
export const DEFAULT_DB_SLOTS = 6;
export const TURN_JOBS = 2_000;
/**
 * When the whole run has seen one router only (a command's or a collections run's work on one
 * router), its turn is this many times longer: fairness costs nothing then, and each turn pays
 * its claim, desired-state read, connect and read of the router's menus again. Not when other
 * routers merely happen to be idle for a moment: with 500 routers and 50 away that made a mass
 * suspension converge six times slower (bench/fleet.mjs).
 */
export const ALONE_TURN_FACTOR = 10;

/** After giving up on a router, how long its abandoned work may take to wind down (ms). */
const ABANDON_GRACE_MS = 1_000;

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** At most `slots` steps at once; the others wait their turn, first come first served. */
export function gate(slots: number): <T>(step: () => Promise<T>) => Promise<T> {
  let free = Math.max(1, slots);
  const waiting: Array<() => void> = [];
  return async (step) => {
    if (free > 0) free--;
    else await new Promise<void>((r) => waiting.push(r));
    try {
      return await step();
    } finally {
      const next = waiting.shift();
      if (next) next();
      else free++;
    }
  };
}

interface RouterTally {
  name: string;
  done: number;
  failed: number;
  error?: string;
}

export async function runJobs(ctx: ServiceContext, drivers: Drivers, opts: RunOptions = {}): Promise<RunSummary> {
  const db = ctx.db as Knex;
  const timeoutMs = opts.timeoutMs ?? 5_000;
  const started = Date.now();
  const budgetEnd = opts.budgetMs !== undefined ? started + opts.budgetMs : Infinity;
  const turnJobs = opts.turnJobs ?? TURN_JOBS;
  const worker = workerId();
  const withDb = gate(opts.dbSlots ?? DEFAULT_DB_SLOTS);

  const filter: ClaimFilter = { ...(opts.ids ? { ids: opts.ids } : {}), ...(opts.routerIds ? { routerIds: opts.routerIds } : {}), ...(opts.serviceIds ? { serviceIds: opts.serviceIds } : {}), ...(opts.ignoreBackoff ? { ignoreBackoff: true } : {}) };
  const tallies = new Map<number, RouterTally>();
  const claimedIds = new Set<number>();
  let done = 0;
  let failed = 0;
  let released = 0;
  let claimedTotal = 0;
  const claimLimit = opts.limit;

  // The line of routers waiting for a turn; those at work; those done for this run (their turn
  // failed: trying again now would only fail again, and their backoff or the probe decides).
  const line: Array<{ routerId: number; ignoreBackoff: boolean }> = [];
  const atWork = new Set<number>();
  /** Every router this run has had in its line or at work. */
  const seen = new Set<number>();
  const finished = new Set<number>();
  const failedRouters = new Set<number>();
  /**
   * Routers reported back while one of their turns was under way: that turn claimed only the
   * jobs already due, so when it ends they get another, whatever the backoff of the rest says.
   */
  const returnedAtWork = new Set<number>();
  const routerCache = new Map<number, { router: Router; row: RouterRow } | null>();
  let refilling: Promise<boolean> | undefined;

  const tally = (routerId: number, name: string): RouterTally => {
    let t = tallies.get(routerId);
    if (!t) tallies.set(routerId, (t = { name, done: 0, failed: 0 }));
    return t;
  };
  const queued = (routerId: number) => line.some((l) => l.routerId === routerId);

  /** Refills the line from the database; false when no router has due work for us. */
  const refill = (): Promise<boolean> =>
    (refilling ??= (async () => {
      try {
        const due = await withDb(() => dueRouters(db, opts.held ? { ...filter, holder: worker } : filter, ctx.clock.now()));
        // A mass change just queued: the planner must know of it before the claims and records.
        const dueTotal = due.reduce((n, r) => n + r.jobs, 0);
        if (dueTotal >= QUEUE_STATISTICS_FROM) await withDb(() => keepQueueStatistics(db, dueTotal));
        // Their rows in one statement, not one per turn.
        const unknown = due.map((r) => r.routerId).filter((id) => !routerCache.has(id));
        if (unknown.length) {
          const rows = (await withDb(() => db('routers').whereIn('id', unknown))) as RouterRow[];
          for (const row of rows) routerCache.set(Number(row.id), { router: toRouter(row), row });
        }
        let added = 0;
        for (const r of due) {
          seen.add(r.routerId);
          if (atWork.has(r.routerId) || finished.has(r.routerId) || queued(r.routerId)) continue;
          line.push({ routerId: r.routerId, ignoreBackoff: false });
          added++;
        }
        return added > 0;
      } finally {
        refilling = undefined;
      }
    })());

  const routerOf = async (routerId: number): Promise<{ router: Router; row: RouterRow } | null> => {
    if (!routerCache.has(routerId)) {
      const row = (await withDb(() => db('routers').where({ id: routerId }).first())) as RouterRow | undefined;
      routerCache.set(routerId, row ? { router: toRouter(row), row } : null);
    }
    return routerCache.get(routerId)!;
  };

  /** The next router for a free lane: one that answers again, else the head of the line. */
  const next = async (): Promise<{ routerId: number; ignoreBackoff: boolean } | undefined> => {
    let refilled = false;
    for (;;) {
      if (Date.now() >= budgetEnd) return undefined;
      for (const id of opts.returnedRouters?.() ?? []) {
        if (opts.routerIds && !opts.routerIds.includes(id)) continue;
        finished.delete(id);
        const at = line.findIndex((l) => l.routerId === id);
        if (at >= 0) line.splice(at, 1);
        if (atWork.has(id)) returnedAtWork.add(id);
        else line.unshift({ routerId: id, ignoreBackoff: true });
      }
      const head = line.shift();
      if (head) {
        if (atWork.has(head.routerId) || finished.has(head.routerId)) continue;
        return head;
      }
      // Refilled just now, and the other lanes took all of it: every router with due work is at
      // work (looking again at once would be one more statement to find the same).
      if (refilled) return undefined;
      // Asked for given jobs and every one of them claimed: nothing more to look for.
      if (opts.ids && opts.ids.every((id) => claimedIds.has(id))) return undefined;
      if (!(await refill())) return undefined;
      refilled = true;
    }
  };

  // Completions of every lane go to the database together: one write at a time, and what the
  // lanes hand over while it is on its way goes in the next one. A lane alone never waits for a
  // timer (one router's 10,000 jobs are 14 chunks: a 25 ms timer cost a third of a second
  // there), and many lanes share one statement however long a write takes.
  let toComplete: number[] = [];
  let completing: Promise<void> | undefined;
  let inFlight: Promise<void> = Promise.resolve();
  const complete = (ids: number[]): Promise<void> => {
    toComplete.push(...ids);
    return (completing ??= (async () => {
      await inFlight;
      completing = undefined;
      const batch = toComplete;
      toComplete = [];
      const write = withDb(() => completeJobs(db, batch, ctx.clock.now(), worker));
      inFlight = write.then(
        () => undefined,
        () => undefined,
      );
      await write;
    })());
  };

  /** One router's turn: claim its due jobs, hand them to its driver, record what comes back. Returns whether it may have more. */
  const turn = async (routerId: number, ignoreBackoff: boolean): Promise<'more' | 'done' | 'failed'> => {
    seen.add(routerId);
    const alone = seen.size === 1;
    const jobsNow = alone ? turnJobs * ALONE_TURN_FACTOR : turnJobs;
    const limit = claimLimit !== undefined ? Math.min(jobsNow, claimLimit - claimedTotal) : jobsNow;
    if (limit <= 0) return 'done';
    const claim = (n: number) => withDb(() => claimJobs(db, { ...filter, routerIds: [routerId], limit: n, ...(ignoreBackoff ? { ignoreBackoff: true } : {}) }, ctx.clock.now(), worker));
    let jobs: Job[];
    if (opts.held) {
      // Ours already: read, not claimed (then any others of the ids that are due, claimed).
      const held = await withDb(() => takeHeldJobs(db, { ...filter, routerIds: [routerId], limit }, ctx.clock.now(), worker, [...claimedIds]));
      jobs = held.length < limit ? [...held, ...(await claim(limit - held.length))].sort((a, b) => a.id - b.id) : held;
    } else jobs = await claim(limit);
    if (jobs.length === 0) return 'done';
    claimedTotal += jobs.length;
    for (const j of jobs) claimedIds.add(j.id);
    const known = await routerOf(routerId);
    const router = known?.router;
    const t = tally(routerId, router?.name ?? `#${routerId}`);
    if (!known || !router) {
      const error = 'router no longer exists';
      await withDb(() => failJobs(db, jobs.map((j) => ({ id: j.id, error })), ctx.clock.now(), worker));
      failed += jobs.length;
      t.failed += jobs.length;
      t.error = error;
      return 'failed';
    }

    const open = new Set(jobs.map((j) => j.id));
    // A router alone in the run: its driver goes on with its next chunk while the completions of
    // the one before are written (the turn waits for them before it ends). Not with many routers,
    // where the writes of every lane share the database: there the fleet converged slower.
    const writing: Array<Promise<void>> = [];
    let gaveUp = false;
    let answered = false;
    let anyFailed = false;
    const record = async (results: JobResult[]) => {
      if (gaveUp) return; // too late: what it says is recorded as failed or released below
      progress();
      const ok: number[] = [];
      const bad: Array<{ id: number; error: string }> = [];
      for (const r of results) {
        if (!open.delete(r.id)) continue;
        if (r.ok) ok.push(r.id);
        else bad.push({ id: r.id, error: r.error });
      }
      if (ok.length || bad.length) answered = true;
      const now = ctx.clock.now();
      if (ok.length) {
        const written = complete(ok).then(() => {
          done += ok.length;
          t.done += ok.length;
        });
        if (alone) {
          written.catch(() => undefined); // met below, when the turn waits for its writes
          writing.push(written);
        } else await written;
      }
      if (bad.length) await withDb(() => failJobs(db, bad, now, worker));
      failed += bad.length;
      t.failed += bad.length;
      if (bad.length) {
        anyFailed = true;
        t.error ??= bad[0]!.error;
      }
    };

    const controller = new AbortController();
    let watchdog: NodeJS.Timeout | undefined;
    let budgetTimer: NodeJS.Timeout | undefined;
    let reason: { kind: 'silent' | 'budget'; text: string } | undefined;
    let stop!: () => void;
    const stopped = new Promise<void>((r) => (stop = r));
    const giveUp = (kind: 'silent' | 'budget', text: string) => {
      if (reason) return;
      reason = { kind, text };
      stop();
    };
    const silence = () => giveUp('silent', `no answer from ${router.name} within ${Math.round(timeoutMs / 100) / 10} s`);
    // Until a driver first says the router answered, the runner watches for silence; a driver
    // that says so bounds every wait of its own with commandTimeoutMs (the API driver does), so
    // a router that keeps answering is never cut off, however long its turn.
    let selfBounded = false;
    const progress = () => {
      answered = true;
      if (!selfBounded) {
        selfBounded = true;
        clearTimeout(watchdog);
      }
    };
    watchdog = setTimeout(silence, timeoutMs + 1_000);
    if (budgetEnd !== Infinity) {
      const seconds = Math.round((budgetEnd - started) / 100) / 10;
      budgetTimer = setTimeout(() => giveUp('budget', answered ? `not finished within ${seconds} s` : `no answer from ${router.name} within ${seconds} s`), Math.max(0, budgetEnd - Date.now()));
    }
    const work = drivers[router.mode].run(ctx, router, jobs, {
      deadline: Math.min(budgetEnd, Date.now() + timeoutMs),
      signal: controller.signal,
      commandTimeoutMs: timeoutMs,
      report: record,
      progress,
      db: withDb,
      row: known.row,
      ...(opts.firstChunk ? { firstChunk: opts.firstChunk } : {}),
    });
    let error: string | undefined;
    try {
      const outcome = await Promise.race([work.then((rest) => ({ rest }), (err: unknown) => ({ err })), stopped.then(() => undefined)]);
      if (outcome && 'rest' in outcome) {
        await record(outcome.rest);
        if (open.size) await record([...open].map((id) => ({ id, ok: false as const, error: 'the driver did not report on this job' })));
      } else if (outcome) {
        error = outcome.err instanceof Error ? outcome.err.message : String(outcome.err);
      }
    } finally {
      clearTimeout(watchdog);
      clearTimeout(budgetTimer);
    }
    // The completions still on their way: a turn ends with its writes done (one that failed
    // fails the turn, as it would have failed the driver's chunk).
    for (const r of await Promise.allSettled(writing)) {
      if (r.status === 'rejected') error ??= r.reason instanceof Error ? r.reason.message : String(r.reason);
    }
    if (reason || error !== undefined) {
      gaveUp = true;
      controller.abort();
      // The abort destroys the driver's connection; wait for it to wind down so nothing it
      // started (a connect, a write to the database) outlives this run.
      let grace: NodeJS.Timeout | undefined;
      await Promise.race([work.catch(() => undefined), new Promise<void>((r) => (grace = setTimeout(r, ABANDON_GRACE_MS)))]);
      clearTimeout(grace);
      await Promise.allSettled(writing); // handed over before it was given up
      const left = [...open];
      open.clear();
      const now = ctx.clock.now();
      if (reason?.kind === 'budget' && answered && error === undefined) {
        // It was answering when time ran out: not a failure, due again at once.
        released += await withDb(() => releaseJobs(db, left, now, worker));
        return 'done';
      }
      const text = error ?? reason!.text;
      if (left.length) {
        await withDb(() => failJobs(db, left.map((id) => ({ id, error: text })), now, worker));
        failed += left.length;
        t.failed += left.length;
      }
      t.error = text;
      return 'failed';
    }
    if (anyFailed) return 'failed';
    return jobs.length >= limit ? 'more' : 'done';
  };

  const lanes = Math.max(1, opts.concurrency ?? DEFAULT_CONCURRENCY);
  // Held jobs this run did not get to (waiting for their notice, or the budget over) go back to
  // the queue, due at once, whatever happened; then they are not ours to wait for below.
  const putBack = async () => {
    if (!opts.held || !opts.ids) return;
    const left = opts.ids.filter((id) => !claimedIds.has(id));
    if (left.length) released += await withDb(() => releaseJobs(db, left, ctx.clock.now(), worker));
  };
  try {
    // Work a killed runner left `running` goes back to the queue first, so it is not stuck until
    // the claim timeout (src/core/provisioning/claims.ts). (Inside: a run that fails here still
    // puts back what it held, or a daemon, which goes on, would hold it until that timeout.)
    await releaseDeadClaims(db, ctx.clock.now());
    await Promise.all(
      Array.from({ length: lanes }, async () => {
        for (let n = await next(); n; n = await next()) {
          atWork.add(n.routerId);
          let result: 'more' | 'done' | 'failed';
          try {
            result = await turn(n.routerId, n.ignoreBackoff);
          } finally {
            atWork.delete(n.routerId);
          }
          const returned = returnedAtWork.delete(n.routerId);
          if (result === 'failed') {
            finished.add(n.routerId);
            failedRouters.add(n.routerId);
          }
          else if (returned) line.unshift({ routerId: n.routerId, ignoreBackoff: true });
          else if (result === 'more') line.push({ routerId: n.routerId, ignoreBackoff: n.ignoreBackoff });
          else if (opts.ids || opts.routerIds) finished.add(n.routerId);
          if (claimLimit !== undefined && claimedTotal >= claimLimit) break;
        }
      }),
    );
  } catch (err) {
    await putBack().catch(() => undefined);
    throw err;
  }
  await putBack();

  const doneElsewhere = opts.ids ? await awaitOthers(db, opts.ids, claimedIds, Math.min(budgetEnd, started + timeoutMs)) : 0;
  const remaining = await countOpenJobs(db, { ids: opts.ids, routerIds: opts.routerIds });
  const routers = [...tallies.values()].map((t) => ({ router: t.name, done: t.done, failed: t.failed, ...(t.error ? { error: t.error } : {}) }));
  return { claimed: claimedTotal, done, doneElsewhere, failed, released, routers: routers.sort((a, b) => a.router.localeCompare(b.router)), failedRouterIds: [...failedRouters], remaining };
}

/**
 * Jobs asked for by id that another process held (claimed before us: the daemon woken by the
 * same change, another command) are not ours to run, but their outcome is the caller's outcome:
 * wait for them until `deadlineMs`, and count those that were done.
 */
async function awaitOthers(db: Knex, ids: readonly number[], ours: ReadonlySet<number>, deadlineMs: number): Promise<number> {
  const theirs = ids.filter((id) => !ours.has(id));
  if (theirs.length === 0) return 0;
  let pause = 50;
  for (;;) {
    const rows = (await db('provisioning_jobs').whereIn('id', theirs).select('id', 'status')) as Array<{ id: unknown; status: string }>;
    const running = rows.filter((r) => r.status === 'running').length;
    if (running === 0 || Date.now() + pause > deadlineMs) {
      // Done by someone else while we looked: they were pending or running when we claimed.
      return rows.filter((r) => r.status === 'done').length;
    }
    await sleep(pause);
    pause = Math.min(250, pause * 2);
  }
}
