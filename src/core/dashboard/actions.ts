// What a person can do from the dashboard. Each action is the same core service the command
// calls, followed by the same apply step; the TUI only asks for confirmation and shows the
// outcome. Nothing here decides access or money: the services do.
import type { ServiceContext } from '../context.js';
import { enqueueJobs, listJobs } from '../provisioning/jobs.js';
import { applyNow, type ApplyOutcome } from '../provisioning/apply.js';
import { recordPayment } from '../payments/service.js';
import { getRouter } from '../routers/service.js';
import { resumeSubscriber, showSubscriber, suspendSubscriber } from '../subscribers/service.js';
import { formatMoney } from '../money.js';
import { notFound } from '../errors.js';

export interface ActionResult {
  /** One line for the status bar. */
  message: string;
  outcome: ApplyOutcome;
}

export interface ActionOptions {
  /** How long to wait for routers before the work stays queued (ms). */
  routerTimeoutMs?: number;
}

function tail(outcome: ApplyOutcome): string {
  if (outcome.status === 'partial') return ` ${outcome.remaining} router change(s) stay queued.`;
  if (outcome.status === 'applied') return ' Routers updated.';
  return '';
}

/** `ispctl payment record` */
export async function recordPaymentAction(ctx: ServiceContext, input: { subscriber: string; amount: string; method: string; reference?: string }, opts: ActionOptions = {}): Promise<ActionResult> {
  const r = await recordPayment(ctx, { subscriber: input.subscriber, amount: input.amount, method: input.method, reference: input.reference || undefined });
  const outcome = await applyNow(ctx, r.collections.jobIds, { timeoutMs: opts.routerTimeoutMs });
  const restored = r.collections.restored.length ? ' Access restored.' : '';
  return { message: `Recorded ${r.payment.ref}: ${formatMoney(r.payment.amountMinor, r.payment.currency)} by ${r.payment.method} from ${r.subscriber.accountNo}.${restored}${tail(outcome)}`, outcome };
}

/** `ispctl subscriber suspend` */
export async function suspendAction(ctx: ServiceContext, ref: string, reason: string, opts: ActionOptions = {}): Promise<ActionResult> {
  const r = await suspendSubscriber(ctx, ref, { reason });
  const outcome = await applyNow(ctx, r.jobIds, { timeoutMs: opts.routerTimeoutMs });
  return { message: `Suspended ${r.subscriber.accountNo} ${r.subscriber.fullName}.${tail(outcome)}`, outcome };
}

/** `ispctl subscriber resume` */
export async function resumeAction(ctx: ServiceContext, ref: string, opts: ActionOptions = {}): Promise<ActionResult> {
  const r = await resumeSubscriber(ctx, ref);
  const outcome = await applyNow(ctx, r.jobIds, { timeoutMs: opts.routerTimeoutMs });
  return { message: `Resumed ${r.subscriber.accountNo} ${r.subscriber.fullName}.${tail(outcome)}`, outcome };
}

/**
 * Drops the live sessions of a subscriber's current services so they dial in again (and pick up
 * what the database says): a disconnect job per service, which the RADIUS driver sends as a
 * Disconnect-Request and the API driver carries out with /ppp/active remove.
 */
export async function kickSessionAction(ctx: ServiceContext, ref: string, opts: ActionOptions = {}): Promise<ActionResult> {
  const d = await showSubscriber(ctx, ref);
  const services = d.services.filter((s) => s.endedOn === null && s.routerId !== null);
  if (!services.length) throw notFound('NO_SESSION', `${d.subscriber.accountNo} has no current service on a router.`);
  const ids = await enqueueJobs(
    ctx.db,
    services.map((s) => ({ routerId: s.routerId!, kind: 'radius_disconnect' as const, target: `service:${s.id}`, serviceId: s.id, payload: { username: s.username } })),
    ctx.clock.now(),
  );
  const outcome = await applyNow(ctx, ids, { timeoutMs: opts.routerTimeoutMs });
  return { message: `Disconnected ${services.map((s) => s.username).join(', ')} (${d.subscriber.accountNo}).${tail(outcome)}`, outcome };
}

/** `ispctl jobs retry --router NAME` */
export async function retryRouterJobsAction(ctx: ServiceContext, routerName: string, opts: ActionOptions = {}): Promise<ActionResult> {
  const router = await getRouter(ctx.db, routerName);
  const jobs = await listJobs(ctx.db, { status: 'pending', routerId: router.id, limit: 1_000_000 });
  if (!jobs.length) return { message: `No queued jobs for ${router.name}.`, outcome: { status: 'none', jobs: 0, applied: 0, failed: 0, routers: [], remaining: 0, queued: [], message: null } };
  const outcome = await applyNow(ctx, jobs.map((j) => j.id), { timeoutMs: opts.routerTimeoutMs ?? 30_000, ignoreBackoff: true });
  return { message: `${router.name}: ${outcome.applied} of ${outcome.jobs} job(s) applied.${outcome.remaining ? ` ${outcome.remaining} still queued.` : ''}`, outcome };
}
