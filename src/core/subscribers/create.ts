// `subscriber add`: one subscriber with its first service, validated and inserted by prepare.ts
// (the same steps `subscriber import` takes for many).
import type { ServiceContext } from '../context.js';
import { withTransaction } from '../db/tx.js';
import { IspctlError } from '../errors.js';
import { provisionChanges } from '../provisioning/access.js';
import { assertRouterAddressing } from '../routers/pools.js';
import { loadIspSettings } from '../settings/service.js';
import { formatLocalDate, toLocalDate } from '../time.js';
import { fieldProblems, insertPrepared, prepareSubscribers, type FieldProblem, type SubscriberInput } from './prepare.js';
import { loadService, loadSubscriber } from './repository.js';
import { mapServiceUnique } from './resolve.js';
import type { Service, Subscriber } from './types.js';

export interface AddSubscriberResult {
  subscriber: Subscriber;
  service: Service;
  plan: string;
  router: string;
  /** Present only when ispctl generated the password: show it once. */
  generatedPassword?: string;
  /** Router work queued by the change (run it with the job runner). */
  jobIds: number[];
}

const FLAG_OF: Record<keyof SubscriberInput, string> = {
  fullName: '--name',
  email: '--email',
  phone: '--phone',
  address: '--address',
  notes: '--notes',
  username: '--username',
  password: '--password',
  plan: '--plan',
  router: '--router',
  staticIp: '--static-ip',
  price: '--price',
  discount: '--discount',
  discountUntil: '--discount-until',
  startDate: '--start-date',
};

/** The first problem as the error, the others listed as suggestions (so nothing is hidden). */
function firstProblem(problems: FieldProblem[]): IspctlError {
  const [first, ...rest] = problems;
  const e = first!.error;
  if (rest.length === 0) return e;
  return new IspctlError(e.code, e.message, {
    kind: e.kind,
    suggestions: [...e.suggestions, ...rest.map((p) => `Also ${FLAG_OF[p.field]}: ${p.error.message}`)],
    details: { ...(e.details ?? {}), problems: problems.map((p) => ({ field: p.field, code: p.error.code, message: p.error.message })) },
  });
}

/** Throws what addSubscriber would about the values themselves (no database): for checkInput. */
export function checkSubscriberInput(input: SubscriberInput, currency: string): void {
  const problems = fieldProblems(input, currency);
  if (problems.length) throw firstProblem(problems);
}

/** Adds a subscriber with its first service. The plan and router must exist; nothing is invented. */
export async function addSubscriber(ctx: ServiceContext, input: SubscriberInput): Promise<AddSubscriberResult> {
  const settings = await loadIspSettings(ctx.db);
  const today = formatLocalDate(toLocalDate(ctx.clock.now(), settings.timezone));
  try {
    return await withTransaction(ctx.db, async (trx) => {
      const { prepared, problems } = await prepareSubscribers(trx, [input], { today, currency: settings.currency });
      if (problems[0]!.length > 0) throw firstProblem(problems[0]!);
      const row = prepared[0]!;
      const [created] = await insertPrepared(trx, ctx, [row]);
      await assertRouterAddressing(trx, [row.service.router_id]);
      const subscriber = (await loadSubscriber(trx, created!.subscriberId))!;
      const { jobIds } = await provisionChanges(trx, ctx, { serviceIds: [created!.serviceId] }, { created: [created!.serviceId] });
      const service = await loadService(trx, created!.serviceId);
      return { subscriber, service, plan: row.planName, router: row.routerName, ...(created!.generatedPassword ? { generatedPassword: created!.generatedPassword } : {}), jobIds };
    });
  } catch (err) {
    return mapServiceUnique(err);
  }
}
