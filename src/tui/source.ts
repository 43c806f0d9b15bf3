// Where the dashboard gets its data and carries its actions: core read functions and core
// services, through a session that is opened for each refresh or action. On the embedded
// database the session is closed right after, so other commands and the daemon can use the
// database in between; on PostgreSQL one connection LISTENs for changes.
import type { ServiceContext } from '../core/context.js';
import type { DashboardSnapshot } from '../core/dashboard/snapshot.js';
import type { SubscriberCard } from '../core/dashboard/subscriber.js';
import type { ActionResult } from '../core/dashboard/actions.js';

export interface SubscriberHit {
  accountNo: string;
  fullName: string;
  username: string;
  plan: string;
  access: string;
}

export type DashboardAction =
  | { kind: 'payment'; subscriber: string; amount: string; method: string; reference?: string }
  | { kind: 'suspend'; subscriber: string; reason: string }
  | { kind: 'resume'; subscriber: string }
  | { kind: 'kick'; subscriber: string }
  | { kind: 'retry'; router: string };

export interface DashboardSource {
  /** embedded: polled; postgres: pushed by LISTEN/NOTIFY. */
  live: 'poll' | 'listen';
  snapshot(): Promise<DashboardSnapshot>;
  search(term: string): Promise<SubscriberHit[]>;
  card(ref: string): Promise<SubscriberCard>;
  act(action: DashboardAction): Promise<ActionResult>;
  /** Calls `onChange` when something the dashboard shows may have changed; returns a stop function. */
  watch(onChange: () => void): () => void;
  /** The payment methods recordPayment accepts. */
  paymentMethods: readonly string[];
  close(): Promise<void>;
}

export interface Session {
  ctx: ServiceContext;
  close(): Promise<void>;
}

export interface CoreSourceOptions {
  /** Opens the database (waiting briefly for the embedded lock) and returns a context. */
  open(): Promise<Session>;
  engine: 'pglite' | 'postgres';
  /** PostgreSQL URL, for the LISTEN connection. */
  databaseUrl?: string;
  pollMs?: number;
  routerTimeoutMs?: number;
}

/** The real source: every call opens a session, runs one core function and closes it. */
export async function coreSource(opts: CoreSourceOptions): Promise<DashboardSource> {
  const [{ dashboardSnapshot }, { subscriberCard }, actions, { listSubscribers }, { PAYMENT_METHODS }] = await Promise.all([
    import('../core/dashboard/snapshot.js'),
    import('../core/dashboard/subscriber.js'),
    import('../core/dashboard/actions.js'),
    import('../core/subscribers/service.js'),
    import('../core/payments/service.js'),
  ]);
  const routerTimeoutMs = opts.routerTimeoutMs ?? 5000;
  // One session at a time: refreshes and actions queue behind each other.
  let chain: Promise<unknown> = Promise.resolve();
  const withSession = <T>(fn: (ctx: ServiceContext) => Promise<T>): Promise<T> => {
    const run = chain.then(async () => {
      const s = await opts.open();
      try {
        return await fn(s.ctx);
      } finally {
        await s.close();
      }
    });
    chain = run.catch(() => undefined);
    return run;
  };
  let listener: { stop(): Promise<void> } | undefined;
  return {
    live: opts.engine === 'postgres' ? 'listen' : 'poll',
    paymentMethods: PAYMENT_METHODS,
    snapshot: () => withSession((ctx) => dashboardSnapshot(ctx)),
    search: (term) =>
      withSession(async (ctx) =>
        (await listSubscribers(ctx.db, { search: term.trim() || undefined, limit: 12 })).map((r) => ({
          accountNo: r.accountNo,
          fullName: r.fullName,
          username: r.username,
          plan: r.plan,
          access: r.access.state,
        })),
      ),
    card: (ref) => withSession((ctx) => subscriberCard(ctx, ref, { routerTimeoutMs: Math.min(routerTimeoutMs, 3000) })),
    act: (a) =>
      withSession((ctx) => {
        const o = { routerTimeoutMs };
        switch (a.kind) {
          case 'payment':
            return actions.recordPaymentAction(ctx, a, o);
          case 'suspend':
            return actions.suspendAction(ctx, a.subscriber, a.reason, o);
          case 'resume':
            return actions.resumeAction(ctx, a.subscriber, o);
          case 'kick':
            return actions.kickSessionAction(ctx, a.subscriber, o);
          case 'retry':
            return actions.retryRouterJobsAction(ctx, a.router, o);
        }
      }),
    watch(onChange) {
      const timer = setInterval(onChange, opts.engine === 'postgres' ? Math.max(opts.pollMs ?? 15_000, 5000) : (opts.pollMs ?? 2000));
      let stopped = false;
      if (opts.engine === 'postgres' && opts.databaseUrl) {
        void listen(opts.databaseUrl, onChange).then((l) => {
          if (stopped) void l.stop();
          else listener = l;
        });
      }
      return () => {
        stopped = true;
        clearInterval(timer);
        void listener?.stop();
      };
    },
    async close() {
      await listener?.stop();
      await chain;
    },
  };
}

/** A dedicated PostgreSQL connection that LISTENs to what the dashboard shows; debounced. */
async function listen(url: string, onChange: () => void): Promise<{ stop(): Promise<void> }> {
  const { default: pg } = await import('pg');
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  let timer: NodeJS.Timeout | undefined;
  client.on('notification', () => {
    if (timer) return;
    timer = setTimeout(() => {
      timer = undefined;
      onChange();
    }, 50);
  });
  client.on('error', () => undefined);
  for (const ch of ['ispctl_dashboard', 'ispctl_payments', 'ispctl_jobs']) await client.query(`LISTEN ${ch}`);
  return {
    async stop() {
      if (timer) clearTimeout(timer);
      await client.end().catch(() => undefined);
    },
  };
}
