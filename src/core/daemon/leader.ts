// Leadership and wake-ups on PostgreSQL, through one dedicated connection per daemon instance
// (outside the knex pool, so it lives as long as the instance):
//
// - the leader lock: a session-level advisory lock taken with pg_try_advisory_lock. Whoever holds
//   it runs the scheduled work; the others try again every few seconds. The lock belongs to the
//   connection, so when the leader dies (crash, kill -9, lost network) PostgreSQL releases it and
//   a follower takes it at its next try. Server-side TCP keepalives make a vanished host's
//   connection (and lock) go within about half a minute.
// - LISTEN: `ispctl_jobs` (new provisioning jobs) and `ispctl_payments` wake the daemon at once.
import pg from 'pg';

/** First key of the daemon's advisory locks (billing uses 7401 for its own). */
export const DAEMON_LOCK_NAMESPACE = 7_402;
/** Second key: the leader lock. */
export const LEADER_LOCK_KEY = 1;

export const WAKE_CHANNELS = ['ispctl_jobs', 'ispctl_payments'] as const;
export type WakeChannel = (typeof WAKE_CHANNELS)[number];

export interface ControlEvents {
  onNotify(channel: WakeChannel, payload: string | undefined): void;
  /** The connection broke; leadership (if held) is gone with it. */
  onLost(error: string, wasLeader: boolean): void;
}

export class PgControl {
  #client: pg.Client | undefined;
  #connecting: Promise<pg.Client> | undefined;
  #leader = false;
  #backendPid: number | null = null;
  #closed = false;

  constructor(
    private readonly url: string,
    private readonly applicationName: string,
    private readonly events: ControlEvents,
  ) {}

  get leader(): boolean {
    return this.#leader;
  }

  get backendPid(): number | null {
    return this.#backendPid;
  }

  get connected(): boolean {
    return this.#client !== undefined;
  }

  async #connect(): Promise<pg.Client> {
    const client = new pg.Client({
      connectionString: this.url,
      application_name: this.applicationName,
      connectionTimeoutMillis: 10_000,
      keepAlive: true,
      keepAliveInitialDelayMillis: 10_000,
      // Server side: notice a vanished client within ~30 s and release its lock.
      options: '-c tcp_keepalives_idle=10 -c tcp_keepalives_interval=5 -c tcp_keepalives_count=3',
    });
    let lost = false;
    const onGone = (err?: Error) => {
      if (lost) return;
      lost = true;
      const current = this.#client === client;
      const wasLeader = current && this.#leader;
      if (current) this.#drop();
      client.end().catch(() => undefined);
      if (current && !this.#closed) this.events.onLost(err?.message ?? 'the connection closed', wasLeader);
    };
    client.on('error', onGone);
    client.on('end', () => onGone());
    client.on('notification', (n) => {
      if ((WAKE_CHANNELS as readonly string[]).includes(n.channel)) this.events.onNotify(n.channel as WakeChannel, n.payload);
    });
    try {
      await client.connect();
      for (const ch of WAKE_CHANNELS) await client.query(`LISTEN ${ch}`);
      const r = await client.query<{ pid: number }>('select pg_backend_pid() as pid');
      if (lost) throw new Error('the connection closed while it was being set up');
      this.#client = client;
      this.#backendPid = Number(r.rows[0]!.pid);
      return client;
    } catch (err) {
      lost = true;
      await client.end().catch(() => undefined);
      throw err;
    }
  }

  #drop(): void {
    const client = this.#client;
    this.#client = undefined;
    this.#leader = false;
    this.#backendPid = null;
    client?.end().catch(() => undefined);
  }

  async #ensure(): Promise<pg.Client> {
    if (this.#client) return this.#client;
    this.#connecting ??= this.#connect().finally(() => {
      this.#connecting = undefined;
    });
    return this.#connecting;
  }

  /**
   * Connects if needed (listening again) and tries to lead. A leader checks that its connection
   * still works; a follower tries the lock (unless `acquire` is false: then it only reconnects). Resolves with whether this instance leads; throws
   * when the database cannot be reached (leadership, if held, is then given up).
   */
  async tryLead(acquire = true): Promise<boolean> {
    if (this.#closed) return false;
    const client = await this.#ensure();
    try {
      if (this.#leader || !acquire) {
        await client.query('select 1');
      } else {
        const r = await client.query<{ ok: boolean }>('select pg_try_advisory_lock($1::int, $2::int) as ok', [DAEMON_LOCK_NAMESPACE, LEADER_LOCK_KEY]);
        this.#leader = this.#client === client && r.rows[0]!.ok === true;
      }
    } catch (err) {
      if (this.#client === client) this.#drop();
      throw err;
    }
    return this.#leader;
  }

  /** Gives up leadership (others can take it at once) and closes the connection. */
  async close(): Promise<void> {
    this.#closed = true;
    const client = this.#client ?? (await this.#connecting?.catch(() => undefined));
    this.#client = undefined;
    if (!client) return;
    if (this.#leader) await client.query('select pg_advisory_unlock($1::int, $2::int)', [DAEMON_LOCK_NAMESPACE, LEADER_LOCK_KEY]).catch(() => undefined);
    this.#leader = false;
    await client.end().catch(() => undefined);
  }
}
