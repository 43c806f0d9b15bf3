// `router snapshot` and `router import`: read a router that already serves customers into a
// review file, and import the reviewed file. See brownfield.ts for the file itself.
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { TextDecoder } from 'node:util';
import { LineCounter, parseDocument, type Document, type Node } from 'yaml';
import { recordAudit } from '../audit.js';
import type { ServiceContext } from '../context.js';
import { withTransaction } from '../db/tx.js';
import { invalid, IspctlError } from '../errors.js';
import { createPlan, getPlan } from '../plans/service.js';
import { refreshAccess } from '../provisioning/access.js';
import { buildDesiredState } from '../provisioning/routeros/desired.js';
import { diffState, planCounts, type RouterPlan } from '../provisioning/routeros/diff.js';
import { applyPlan, type ApplyCounts } from '../provisioning/routeros/execute.js';
import { markerComment, planKey, poolKey } from '../provisioning/routeros/naming.js';
import { readFullState } from '../provisioning/routeros/read.js';
import { menu, RouterOSClient, type Row } from '../routeros/index.js';
import { routerConnectOptions } from '../routers/check.js';
import { assertRouterAddressing, validateLocalAddress, validatePoolRanges } from '../routers/pools.js';
import { getRouter, recordRouterContact, type Router } from '../routers/service.js';
import { loadIspSettings } from '../settings/service.js';
import { parseSpeed } from '../speed.js';
import { insertPrepared, prepareSubscribers, type SubscriberInput } from '../subscribers/prepare.js';
import { formatLocalDate, toLocalDate } from '../time.js';
import { buildReview, renderReview, REVIEW_VERSION, type KnownState, type RouterRead } from './brownfield.js';
import { errors } from '../error-catalogue.js';
import { describeError } from '../error-text.js';

export const DEFAULT_TEXT_FALLBACK = 'windows-1252';
const TIMEOUT_MS = 60_000;

function checkFallback(label: string): string {
  try {
    return new TextDecoder(label).encoding;
  } catch {
    throw invalid('INVALID_ENCODING', `The text fallback ${JSON.stringify(label)} is not a known encoding.`, ['Use a WHATWG label such as cp1252 (the default), latin1, cp1250 or koi8-r']);
  }
}

async function connect(ctx: ServiceContext, router: Router, fallbackEncoding?: string): Promise<RouterOSClient> {
  const opts = await routerConnectOptions(ctx, router, { timeoutMs: TIMEOUT_MS });
  opts.connectTimeoutMs = 10_000;
  if (fallbackEncoding) opts.fallbackEncoding = fallbackEncoding;
  try {
    const client = await RouterOSClient.connect(opts);
    await recordRouterContact(ctx.db, router.id, { at: ctx.clock.now() }).catch(() => undefined);
    return client;
  } catch (err) {
    throw errors.routerUnreachable(`Router ${router.name} could not be reached at ${router.host}:${router.apiPort}: ${describeError(err)}`, [`ispctl router check ${router.name}`]);
  }
}

const PROPLISTS = {
  profiles: ['.id', 'name', 'rate-limit', 'local-address', 'remote-address', 'only-one', 'comment', 'default'],
  secrets: ['.id', 'name', 'password', 'service', 'profile', 'local-address', 'remote-address', 'caller-id', 'comment', 'disabled'],
  sessions: ['.id', 'name', 'address', 'caller-id', 'uptime'],
  pools: ['.id', 'name', 'ranges', 'next-pool', 'comment'],
  queues: ['.id', 'name', 'target', 'max-limit', 'comment', 'disabled', 'dynamic'],
} as const;
const PATHS = { profiles: '/ppp/profile', secrets: '/ppp/secret', sessions: '/ppp/active', pools: '/ip/pool', queues: '/queue/simple' } as const;

/** Reads what a snapshot needs; profiles and secrets must be read, the rest may fail (a partial read, reported). */
export async function readRouterForReview(client: RouterOSClient): Promise<RouterRead> {
  const keys = Object.keys(PATHS) as Array<keyof typeof PATHS>;
  const results = await Promise.allSettled(keys.map((k) => menu.print(client, PATHS[k], { proplist: PROPLISTS[k], timeoutMs: TIMEOUT_MS })));
  const out: RouterRead = { profiles: [], secrets: [], sessions: [], pools: [], queues: [], errors: [] };
  keys.forEach((k, i) => {
    const r = results[i]!;
    if (r.status === 'fulfilled') out[k] = r.value;
    else {
      const error = r.reason instanceof Error ? r.reason.message : String(r.reason);
      if (k === 'profiles' || k === 'secrets') throw new IspctlError('SNAPSHOT_READ_FAILED', `Could not read ${PATHS[k]} on the router: ${error}; nothing was written.`, { suggestions: ['Give the API user the read and sensitive policies'] });
      out.errors.push({ menu: PATHS[k], error });
    }
  });
  return out;
}

async function knownState(ctx: ServiceContext, router: Router): Promise<KnownState> {
  const services: Array<{ id: number; username: string; account_no: string; router_name: string | null }> = await ctx.db('services as s')
    .join('subscribers as u', 'u.id', 's.subscriber_id')
    .leftJoin('routers as r', 'r.id', 's.router_id')
    .whereNull('s.ended_on')
    .select('s.id', 's.username', 'u.account_no', 'r.name as router_name');
  const plans: Array<{ id: number; name: string }> = await ctx.db('plans').select('id', 'name');
  return {
    routerId: router.id,
    routerName: router.name,
    services: new Map(services.map((s) => [s.username.toLowerCase(), { username: s.username, routerName: s.router_name ?? '', accountNo: s.account_no, serviceId: Number(s.id) }])),
    planIds: new Map(plans.map((p) => [Number(p.id), p.name])),
    serviceIds: new Set(services.map((s) => Number(s.id))),
  };
}

export interface SnapshotOptions {
  out: string;
  /** Code page for text that is not valid UTF-8 (WHATWG label). Default cp1252. */
  textFallback?: string;
}

export interface SnapshotResult {
  router: string;
  out: string;
  counts: { plans: number; plansIncluded: number; subscribers: number; decide: number; warnings: number; importedPlans: number; importedSubscribers: number; sessions: number; pools: number; queues: number };
  partial: boolean;
  warnings: string[];
}

/** Reads the router and writes the review file (mode 0600). */
export async function snapshotRouter(ctx: ServiceContext, name: string, opts: SnapshotOptions): Promise<SnapshotResult> {
  const router = await getRouter(ctx.db, name);
  const fallback = checkFallback(opts.textFallback ?? DEFAULT_TEXT_FALLBACK);
  if (!opts.out) throw invalid('MISSING_OUT', 'Say where to write the review file with --out FILE.');
  const client = await connect(ctx, router, fallback);
  let read: RouterRead;
  try {
    read = await readRouterForReview(client);
  } finally {
    await client.close().catch(() => undefined);
  }
  const model = buildReview(read, await knownState(ctx, router), { readAt: ctx.clock.now(), textFallback: fallback });
  const text = renderReview(model);
  writeFileSync(opts.out, text, { mode: 0o600 });
  chmodSync(opts.out, 0o600); // also when the file existed with a wider mode
  await recordAudit(ctx.db, ctx, { entityType: 'router', entityId: router.id, action: 'snapshot', after: { name: router.name, out: opts.out, secrets: read.secrets.length, profiles: read.profiles.length } });
  return {
    router: router.name,
    out: opts.out,
    counts: {
      plans: model.plans.length,
      plansIncluded: model.plans.filter((p) => p.include).length,
      subscribers: model.subscribers.length,
      decide: model.decide.length,
      warnings: model.warnings.length,
      importedPlans: model.imported.plans.length,
      importedSubscribers: model.imported.subscribers.length,
      sessions: read.sessions.length,
      pools: read.pools.length,
      queues: read.queues.filter((q) => q.dynamic !== 'true' && q.dynamic !== 'yes').length,
    },
    partial: read.errors.length > 0,
    warnings: model.warnings,
  };
}

// ---- import ------------------------------------------------------------------------------------

export interface ReviewProblem {
  line: number;
  message: string;
}

interface PlanEntry {
  line: number;
  profile: string;
  include: boolean;
  name: string;
  price: string | null;
  billingType: string;
  download: string | null;
  upload: string | null;
  burst: Record<string, unknown> | null;
  localAddress: string | null;
  pool: string | null;
  fromPool: string | null;
}

interface SubscriberEntry {
  line: number;
  section: 'subscribers' | 'decide';
  username: string;
  include: boolean;
  profile: string | null;
  plan: string | null;
  name: string;
  password: string;
  staticIp: string | null;
  suspended: boolean;
}

interface ParsedReview {
  router: string;
  defaults: { localAddress: string | null; pool: string | null; fromPool: string | null; line: number };
  plans: PlanEntry[];
  subscribers: SubscriberEntry[];
}

function lineOf(doc: Document, lc: LineCounter, path: Array<string | number>): number {
  for (let i = path.length; i > 0; i--) {
    const node = doc.getIn(path.slice(0, i), true) as Node | undefined;
    if (node && (node as { range?: [number, number, number] }).range) return lc.linePos(node.range![0]).line;
  }
  return 1;
}

function text(v: unknown): string | null {
  if (v === null || v === undefined) return null;
  if (typeof v === 'string') return v.trim() === '' ? null : v;
  if (typeof v === 'number' || typeof v === 'bigint') return String(v);
  return null;
}

function flag(v: unknown, fallback: boolean): boolean | undefined {
  if (v === undefined || v === null) return fallback;
  if (typeof v === 'boolean') return v;
  if (typeof v === 'string') {
    const s = v.trim().toLowerCase();
    if (['yes', 'true', 'y', 'on'].includes(s)) return true;
    if (['no', 'false', 'n', 'off'].includes(s)) return false;
  }
  return undefined;
}

/** Parses and shape-checks the file; every problem carries its line. */
export function parseReview(source: string): { review?: ParsedReview; problems: ReviewProblem[] } {
  const lc = new LineCounter();
  const doc = parseDocument(source, { lineCounter: lc, uniqueKeys: true });
  const problems: ReviewProblem[] = [];
  for (const e of doc.errors) problems.push({ line: e.linePos?.[0]?.line ?? 1, message: `not valid YAML: ${e.message.split('\n')[0]}` });
  if (problems.length) return { problems };
  const root = doc.toJS({ maxAliasCount: 0 }) as Record<string, unknown> | null;
  if (!root || typeof root !== 'object' || Array.isArray(root)) return { problems: [{ line: 1, message: 'the file is not an ispctl review (no mapping at the top)' }] };
  const at = (...path: Array<string | number>) => lineOf(doc, lc, path);
  if (root.version !== REVIEW_VERSION) problems.push({ line: at('version'), message: `version ${JSON.stringify(root.version)} is not ${REVIEW_VERSION}: write a new review with ispctl router snapshot` });
  const list = (key: string): Array<Record<string, unknown>> => {
    const v = root[key];
    if (v === undefined || v === null) return [];
    if (!Array.isArray(v)) {
      problems.push({ line: at(key), message: `${key} must be a list` });
      return [];
    }
    return v.map((item, i) => {
      if (!item || typeof item !== 'object' || Array.isArray(item)) {
        problems.push({ line: at(key, i), message: `${key} item ${i + 1} is not a mapping` });
        return {};
      }
      return item as Record<string, unknown>;
    });
  };
  const bools = (key: string, i: number, item: Record<string, unknown>, field: string, fallback: boolean): boolean => {
    const b = flag(item[field], fallback);
    if (b === undefined) problems.push({ line: at(key, i, field), message: `${field} must be true or false, not ${JSON.stringify(item[field])}` });
    return b ?? fallback;
  };
  const plans: PlanEntry[] = list('plans').map((p, i) => ({
    line: at('plans', i),
    profile: text(p.profile) ?? '',
    include: bools('plans', i, p, 'include', false),
    name: text(p.name) ?? text(p.profile) ?? '',
    price: text(p.price),
    billingType: text(p.billingType) ?? 'postpaid',
    download: text(p.download),
    upload: text(p.upload),
    burst: p.burst && typeof p.burst === 'object' ? (p.burst as Record<string, unknown>) : null,
    localAddress: text(p.localAddress),
    pool: text(p.pool),
    fromPool: text(p.fromPool),
  }));
  const subs = (key: 'subscribers' | 'decide'): SubscriberEntry[] =>
    list(key).map((s, i) => ({
      line: at(key, i),
      section: key,
      username: text(s.username) ?? '',
      include: bools(key, i, s, 'include', false),
      profile: text(s.profile),
      plan: text(s.plan),
      name: text(s.name) ?? text(s.username) ?? '',
      password: typeof s.password === 'string' ? s.password : text(s.password) ?? '',
      staticIp: text(s.staticIp),
      suspended: bools(key, i, s, 'suspended', false),
    }));
  const d = (root.defaults ?? {}) as Record<string, unknown>;
  return {
    problems,
    review: {
      router: text(root.router) ?? '',
      defaults: { localAddress: text(d.localAddress), pool: text(d.pool), fromPool: text(d.fromPool), line: at('defaults') },
      plans,
      subscribers: [...subs('subscribers'), ...subs('decide')],
    },
  };
}

export interface ImportOptions {
  review: string;
  dryRun?: boolean;
}

export interface ImportResult {
  router: string;
  dryRun: boolean;
  plans: { created: string[]; existing: string[] };
  subscribers: { created: string[]; alreadyImported: string[]; skipped: number };
  routerDefaults: { localAddress: string | null; pool: string | null } | null;
  /** What was written on the router (undefined on a dry run or when nothing was imported). */
  applied?: ApplyCounts;
  /** Writes that failed on the router; `ispctl sync --router NAME --adopt` finishes them. */
  failures: string[];
  /** Live sessions before and after taking the router over (never fewer: nothing is dropped). */
  sessions?: { before: number; after: number };
}

class DryRun extends Error {}

function problemError(problems: ReviewProblem[], file: string): IspctlError {
  problems.sort((a, b) => a.line - b.line);
  const shown = problems.slice(0, 30).map((p) => `  line ${p.line}: ${p.message}`);
  return new IspctlError(
    'REVIEW_INVALID',
    `${file} has ${problems.length} problem${problems.length === 1 ? '' : 's'}; nothing was imported.\n${shown.join('\n')}${problems.length > 30 ? `\n  … and ${problems.length - 30} more (--json lists all)` : ''}`,
    { kind: 'invalid', suggestions: ['Fix them in the file and run the import again (--dry-run checks without writing)'], details: { problems } },
  );
}

const problemOf = (err: unknown) => (err instanceof IspctlError ? err.message : describeError(err));

/**
 * Imports a reviewed file: checks it whole (each problem with its line), creates the plans and
 * subscribers in one transaction, then takes the router's objects over in place (markers set,
 * profiles and pools renamed, secrets adopted) without removing anything or dropping a session.
 */
export async function importReview(ctx: ServiceContext, name: string, opts: ImportOptions): Promise<ImportResult> {
  const router = await getRouter(ctx.db, name);
  let source: string;
  try {
    source = readFileSync(opts.review, 'utf8');
  } catch (err) {
    throw invalid('REVIEW_NOT_READABLE', `Cannot read the review file ${opts.review}: ${(err as Error).message}`, [`Write one with ispctl router snapshot ${router.name} --out FILE`]);
  }
  const { review, problems } = parseReview(source);
  if (!review) throw problemError(problems, opts.review);
  if (review.router.toLowerCase() !== router.name.toLowerCase()) problems.push({ line: 1, message: `the file is the review of router ${JSON.stringify(review.router)}, not ${router.name}` });

  // ---- plans ----
  const existingPlans = new Map<string, string>(((await ctx.db('plans').select('name')) as Array<{ name: string }>).map((p) => [p.name.toLowerCase(), p.name]));
  const byProfile = new Map<string, PlanEntry>();
  const newPlans: PlanEntry[] = [];
  const reused: PlanEntry[] = [];
  const planNames = new Map<string, PlanEntry>();
  for (const p of review.plans) {
    if (p.profile === '') problems.push({ line: p.line, message: 'a plan candidate without its profile' });
    if (byProfile.has(p.profile)) problems.push({ line: p.line, message: `profile ${JSON.stringify(p.profile)} is listed twice` });
    byProfile.set(p.profile, p);
    if (!p.include) continue;
    const key = p.name.trim().toLowerCase();
    const twin = planNames.get(key);
    if (twin) problems.push({ line: p.line, message: `plan name ${JSON.stringify(p.name)} is also used on line ${twin.line}; give each included plan its own name` });
    planNames.set(key, p);
    if (existingPlans.has(key)) {
      reused.push(p);
      continue;
    }
    newPlans.push(p);
    if (p.price === null) problems.push({ line: p.line, message: `plan ${JSON.stringify(p.name)} (profile ${JSON.stringify(p.profile)}) has no price: ispctl never invents one; fill in price (monthly) or set include: false` });
    if (p.download === null || p.upload === null) problems.push({ line: p.line, message: `plan ${JSON.stringify(p.name)} needs download and upload speeds` });
    for (const [v, field] of [
      [p.download, 'download'],
      [p.upload, 'upload'],
    ] as const) {
      if (v !== null) {
        try {
          parseSpeed(v, { field: `${field} speed of plan ${JSON.stringify(p.name)}` });
        } catch (err) {
          problems.push({ line: p.line, message: problemOf(err) });
        }
      }
    }
    try {
      if (p.localAddress) validateLocalAddress(p.localAddress, `local address of plan ${JSON.stringify(p.name)}`);
      if (p.pool) validatePoolRanges(p.pool, `pool of plan ${JSON.stringify(p.name)}`);
    } catch (err) {
      problems.push({ line: p.line, message: problemOf(err) });
    }
  }
  try {
    if (review.defaults.localAddress) validateLocalAddress(review.defaults.localAddress, 'default local address');
    if (review.defaults.pool) validatePoolRanges(review.defaults.pool, 'default pool');
  } catch (err) {
    problems.push({ line: review.defaults.line, message: problemOf(err) });
  }

  // ---- subscribers ----
  const onRouter = new Map<string, { router: string }>(
    ((await ctx.db('services as s').leftJoin('routers as r', 'r.id', 's.router_id').whereNull('s.ended_on').select('s.username', 'r.name as router')) as Array<{ username: string; router: string | null }>).map((s) => [
      s.username.toLowerCase(),
      { router: s.router ?? '' },
    ]),
  );
  const already: string[] = [];
  const wanted: SubscriberEntry[] = [];
  let skipped = 0;
  const seen = new Map<string, number>();
  for (const s of review.subscribers) {
    if (!s.include) {
      skipped++;
      continue;
    }
    const lower = s.username.toLowerCase();
    const where = onRouter.get(lower);
    if (where && where.router.toLowerCase() === router.name.toLowerCase()) {
      already.push(s.username);
      continue;
    }
    if (seen.has(lower)) problems.push({ line: s.line, message: `user name ${JSON.stringify(s.username)} is also on line ${seen.get(lower)}` });
    seen.set(lower, s.line);
    if (s.plan === null) {
      const p = s.profile === null ? undefined : byProfile.get(s.profile);
      if (s.profile === null) problems.push({ line: s.line, message: `subscriber ${JSON.stringify(s.username)} has no plan: set profile (a plan candidate's profile) or plan (an ispctl plan)` });
      else if (!p) problems.push({ line: s.line, message: `subscriber ${JSON.stringify(s.username)} is on profile ${JSON.stringify(s.profile)}, which is not a plan candidate of this file` });
      else if (!p.include) problems.push({ line: s.line, message: `subscriber ${JSON.stringify(s.username)} is on profile ${JSON.stringify(s.profile)}, whose plan is not included (line ${p.line})` });
    } else if (!existingPlans.has(s.plan.toLowerCase()) && !planNames.has(s.plan.toLowerCase())) {
      problems.push({ line: s.line, message: `subscriber ${JSON.stringify(s.username)}: there is no plan called ${JSON.stringify(s.plan)}` });
    }
    wanted.push(s);
  }
  const planOf = (s: SubscriberEntry) => (s.plan !== null ? (existingPlans.get(s.plan.toLowerCase()) ?? planNames.get(s.plan.toLowerCase())!.name) : byProfile.get(s.profile!)!.name);

  const result: ImportResult = {
    router: router.name,
    dryRun: Boolean(opts.dryRun),
    plans: { created: [], existing: reused.map((p) => p.name) },
    subscribers: { created: [], alreadyImported: already, skipped },
    routerDefaults: null,
    failures: [],
  };
  if (problems.length) throw problemError(problems, opts.review);

  // ---- the database, in one transaction (rolled back on a dry run) ----
  const settings = await loadIspSettings(ctx.db);
  const today = formatLocalDate(toLocalDate(ctx.clock.now(), settings.timezone));
  const planIds = new Map<string, number>(); // profile → plan id (for adoption)
  let serviceIds: number[] = [];
  try {
    await withTransaction(ctx.db, async (trx) => {
      const tctx = { ...ctx, db: trx };
      const late: ReviewProblem[] = [];
      for (const p of newPlans) {
        try {
          const b = p.burst;
          const plan = await createPlan(tctx, {
            name: p.name,
            price: p.price!,
            download: p.download!,
            upload: p.upload!,
            billingType: p.billingType,
            ...(b
              ? { burstDownload: text(b.download) ?? undefined, burstUpload: text(b.upload) ?? undefined, burstThresholdDownload: text(b.thresholdDownload) ?? undefined, burstThresholdUpload: text(b.thresholdUpload) ?? undefined, burstTime: text(b.time) ?? undefined }
              : {}),
            ...(p.localAddress ? { localAddress: p.localAddress } : {}),
            ...(p.pool ? { pool: p.pool } : {}),
          });
          planIds.set(p.profile, plan.id);
          result.plans.created.push(plan.name);
        } catch (err) {
          late.push({ line: p.line, message: problemOf(err) });
        }
      }
      for (const p of reused) planIds.set(p.profile, (await getPlan(trx, p.name)).id);
      if (late.length) throw problemError(late, opts.review);

      const d = review.defaults;
      const localAddress = d.localAddress ? validateLocalAddress(d.localAddress) : null;
      const pool = d.pool ? validatePoolRanges(d.pool) : null;
      if ((localAddress && localAddress !== router.localAddress) || (pool && pool !== router.poolRanges)) {
        const update = { ...(localAddress ? { local_address: localAddress } : {}), ...(pool ? { pool_ranges: pool } : {}), revision: trx.raw('revision + 1'), updated_at: ctx.clock.now() };
        await trx('routers').where({ id: router.id }).update(update);
        await recordAudit(trx, ctx, { entityType: 'router', entityId: router.id, action: 'update', before: { localAddress: router.localAddress, poolRanges: router.poolRanges }, after: { localAddress, poolRanges: pool } });
        result.routerDefaults = { localAddress, pool };
      }

      const inputs: SubscriberInput[] = wanted.map((s) => ({
        fullName: s.name,
        username: s.username,
        password: s.password,
        plan: planOf(s),
        router: router.name,
        ...(s.staticIp ? { staticIp: s.staticIp } : {}),
        startDate: today,
      }));
      const { prepared, problems: rowProblems } = await prepareSubscribers(trx, inputs, { today, currency: settings.currency });
      rowProblems.forEach((list, i) => {
        for (const p of list) late.push({ line: wanted[i]!.line, message: `${wanted[i]!.username}: ${p.error.message}` });
      });
      if (late.length) throw problemError(late, opts.review);
      const created = await insertPrepared(trx, ctx, prepared as NonNullable<(typeof prepared)[number]>[]);
      serviceIds = created.map((c) => c.serviceId);
      result.subscribers.created = created.map((c) => c.username);
      const suspended = wanted.filter((s) => s.suspended).map((s) => s.username.toLowerCase());
      if (suspended.length) {
        const ids = created.filter((c) => suspended.includes(c.username.toLowerCase())).map((c) => c.serviceId);
        for (let i = 0; i < ids.length; i += 5000) {
          await trx('services')
            .whereIn('id', ids.slice(i, i + 5000))
            .update({ admin_status: 'suspended', admin_reason: 'disabled on the router before the import', admin_suspended_at: ctx.clock.now(), revision: trx.raw('revision + 1') });
        }
      }
      try {
        await assertRouterAddressing(trx, [router.id]);
      } catch (err) {
        throw problemError([{ line: review.defaults.line, message: problemOf(err) }], opts.review);
      }
      // Materialise access (no jobs: the import writes the router itself, in place).
      await refreshAccess(trx, ctx, { serviceIds });
      await recordAudit(trx, ctx, {
        entityType: 'router',
        entityId: router.id,
        action: 'import',
        after: { name: router.name, review: opts.review, plans: result.plans.created, subscribers: created.length, suspended: suspended.length },
      });
      if (opts.dryRun) throw new DryRun();
    });
  } catch (err) {
    if (!(err instanceof DryRun)) throw err;
    return result;
  }
  if (result.plans.created.length === 0 && serviceIds.length === 0 && !result.routerDefaults) return result;

  // ---- the router: take its objects over in place ----
  const fresh = await getRouter(ctx.db, router.name);
  if (fresh.mode !== 'api') return result; // RADIUS mode: FreeRADIUS answers from the database
  const client = await connect(ctx, fresh);
  try {
    const count = async () => (await menu.print(client, '/ppp/active', { proplist: ['.id'], timeoutMs: TIMEOUT_MS })).length;
    const before = await count();
    await markAdopted(client, fresh, review, planIds, result);
    const desired = await buildDesiredState(ctx.db, fresh);
    const actual = await readFullState(client, { timeoutMs: TIMEOUT_MS });
    const plan: RouterPlan = { ...diffState(desired, actual, { adopt: true }), sessions: [], sessionProfiles: [], remove: [] };
    const applied = await applyPlan(client, plan, { timeoutMs: TIMEOUT_MS });
    result.applied = applied.counts;
    result.failures.push(...applied.outcomes.filter((o) => !o.ok).map((o) => o.error ?? `${o.kind} ${o.name}`));
    void planCounts;
    result.sessions = { before, after: await count() };
  } finally {
    await client.close().catch(() => undefined);
  }
  return result;
}

/** Marks the profiles and pools the imported plans came from, so the diff takes them over. */
async function markAdopted(client: RouterOSClient, router: Router, review: ParsedReview, planIds: Map<string, number>, result: ImportResult): Promise<void> {
  const [profiles, pools] = await Promise.all([
    menu.print(client, '/ppp/profile', { proplist: ['.id', 'name', 'comment'], timeoutMs: TIMEOUT_MS }),
    menu.print(client, '/ip/pool', { proplist: ['.id', 'name', 'comment'], timeoutMs: TIMEOUT_MS }),
  ]);
  const byName = (rows: Row[]) => new Map(rows.filter((r) => r.name).map((r) => [r.name!, r]));
  const profileRows = byName(profiles);
  const poolRows = byName(pools);
  const marked = new Set(profiles.map((r) => r.comment ?? '').concat(pools.map((r) => r.comment ?? '')).map((c) => c.split(' ')[0]));
  const sets: Array<Promise<void>> = [];
  const mark = (path: string, row: Row | undefined, key: string, textFor: string) => {
    if (!row?.['.id'] || marked.has(`ispctl:${key}`)) return;
    marked.add(`ispctl:${key}`);
    sets.push(
      menu.set(client, path, row['.id'], { comment: markerComment(key, textFor) }, { timeoutMs: TIMEOUT_MS }).catch((err: unknown) => {
        result.failures.push(`${path} ${row.name}: ${describeError(err)}`);
      }),
    );
  };
  const created = new Set(result.plans.created.map((n) => n.toLowerCase()));
  for (const p of review.plans) {
    const id = planIds.get(p.profile);
    if (!p.include || id === undefined || !created.has(p.name.toLowerCase())) continue;
    mark('/ppp/profile', profileRows.get(p.profile), planKey(id), p.name);
    if (p.pool && p.fromPool) mark('/ip/pool', poolRows.get(p.fromPool), poolKey('plan', id), p.name);
  }
  if (review.defaults.pool && review.defaults.fromPool) mark('/ip/pool', poolRows.get(review.defaults.fromPool), poolKey('router', router.id), `default pool of ${router.name}`);
  await Promise.all(sets);
}
