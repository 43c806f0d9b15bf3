// One gateway's lane: how the outbox paces what it hands to one SMTP server or SMS gateway.
// Three rules, each enforced here and nowhere else:
// - concurrency: at most `concurrency` messages are with the gateway at once (the workers);
// - rate: sends start at least 1/rate seconds apart (measured when each starts), so in any span
//   of T seconds at most rate × T + 1 messages start, and the configured rate is never exceeded;
// - pause: when the gateway asks to be called later (HTTP 429 / Retry-After), nothing starts
//   before that time, whichever worker got the answer.
// Time is injected (now, sleep) so the pacing is tested without waiting for a wall clock.

export interface LaneClock {
  /** Milliseconds, monotonic. */
  now(): number;
  sleep(ms: number): Promise<void>;
}

export const realLaneClock: LaneClock = {
  now: () => performance.now(),
  sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
};

export interface LaneOptions {
  concurrency: number;
  /** Most sends per second; null: no limit. */
  rate: number | null;
  clock?: LaneClock;
  /** A pause longer than this is not waited out: turn() says no (default: always wait). */
  maxPauseWaitMs?: number;
}

export class Lane {
  readonly concurrency: number;
  readonly #interval: number;
  readonly #clock: LaneClock;
  readonly #maxPauseWait: number;
  /** When the last send started (ms, lane clock). */
  #lastStart = -Infinity;
  #pausedUntil = -Infinity;

  constructor(opts: LaneOptions) {
    this.concurrency = Math.max(1, Math.floor(opts.concurrency));
    this.#interval = opts.rate && opts.rate > 0 ? 1000 / opts.rate : 0;
    this.#clock = opts.clock ?? realLaneClock;
    this.#maxPauseWait = opts.maxPauseWaitMs ?? Infinity;
  }

  now(): number {
    return this.#clock.now();
  }

  /** Until when the gateway asked us to wait (lane clock ms), or -Infinity. */
  get pausedUntil(): number {
    return this.#pausedUntil;
  }

  /** The gateway asked to be called again in `ms`: nothing starts before then. */
  pause(ms: number): void {
    this.#pausedUntil = Math.max(this.#pausedUntil, this.#clock.now() + ms);
  }

  /**
   * Waits for this send's turn (the rate, and any pause). Returns false without taking a turn
   * when the turn would come after `deadline` (lane clock ms), or the gateway's pause is longer
   * than maxPauseWaitMs: the caller leaves the message for a later run. A turn is taken only
   * when it starts (checked and set with nothing in between), never reserved ahead: workers that
   * wake late together (a busy event loop) take their turns 1/rate apart all the same.
   */
  async turn(deadline = Infinity): Promise<boolean> {
    for (;;) {
      const now = this.#clock.now();
      const at = Math.max(now, this.#lastStart + this.#interval, this.#pausedUntil);
      if (at > deadline || this.#pausedUntil - now > this.#maxPauseWait) return false;
      if (at <= now) {
        this.#lastStart = now;
        return true;
      }
      await this.#clock.sleep(at - now);
    }
  }

  /**
   * Runs `work` over `items` with the lane's concurrency, each item after its turn. Items whose
   * turn would come after `deadline` are returned unstarted (to go back to the queue).
   */
  async run<T>(items: readonly T[], work: (item: T) => Promise<void>, deadline = Infinity): Promise<T[]> {
    const queue = [...items];
    const left: T[] = [];
    let stopped = false;
    await Promise.all(
      Array.from({ length: Math.min(this.concurrency, queue.length) }, async () => {
        for (let item = queue.shift(); item !== undefined; item = queue.shift()) {
          if (stopped || !(await this.turn(deadline))) {
            stopped = true;
            left.push(item);
            continue;
          }
          await work(item);
        }
      }),
    );
    return left;
  }
}
