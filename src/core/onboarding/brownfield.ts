// Brownfield: a router that already serves PPPoE customers comes under management through a
// review file. `snapshot` reads the router and writes what it found as plan and subscriber
// candidates a person edits (prices are never invented: they are left for the person to fill
// in); `import` (import.ts) checks the edited file and takes the router over without dropping a
// live session.
//
// This module is the pure half: router rows and what the database already knows in, the review
// model out, and the model as a YAML document with comments. The `yaml` package (eemeli/yaml)
// writes and reads it: it keeps comments and tells the line of every value, which the import
// needs to point at each problem; our own YAML writer would have had to solve quoting of
// hostile text (quotes, `$`, newlines, cp1252 bytes turned into text) that it already solves.
import { Document, isMap, isSeq, type Node } from 'yaml';
import type { Row } from '../routeros/index.js';
import { canonicalRanges, parseRanges, poolContains } from '../routers/pools.js';
import { parseMarker } from '../provisioning/routeros/naming.js';
import { formatSpeed, parseMikrotikRateLimit } from '../speed.js';
import { validatePppPassword } from '../subscribers/validate.js';

export const REVIEW_VERSION = 1;

/** Profile names that mean "suspended", not a plan (left out by default). */
export const SUSPENSION_PROFILE = /isolir|expired?|suspend|blocked|block|nonaktif|non-aktif|habis|overdue|unpaid|disconnect|limit-?bayar|telat/i;

/** User names ispctl can keep (the services table's rule). */
const USERNAME = /^[A-Za-z0-9._@+][A-Za-z0-9._@+-]{0,63}$/;

export interface RouterRead {
  profiles: Row[];
  secrets: Row[];
  sessions: Row[];
  pools: Row[];
  queues: Row[];
  /** Menus that could not be read (partial read), with the error. */
  errors: Array<{ menu: string; error: string }>;
}

/** What the database already knows about the router's objects. */
export interface KnownState {
  routerId: number;
  routerName: string;
  /** Current services by lower-case user name: where they are. */
  services: Map<string, { username: string; routerName: string; accountNo: string; serviceId: number }>;
  /** Plans by id (a profile's marker names one). */
  planIds: Map<number, string>;
  /** Service ids that exist (a secret's marker names one). */
  serviceIds: Set<number>;
}

export interface ReviewBurst {
  download: string;
  upload: string;
  thresholdDownload: string;
  thresholdUpload: string;
  time: number;
}

export interface PlanCandidate {
  profile: string;
  include: boolean;
  name: string;
  price: string | null;
  billingType: 'postpaid' | 'prepaid';
  download: string | null;
  upload: string | null;
  burst: ReviewBurst | null;
  localAddress: string | null;
  pool: string | null;
  /** The router pool the plan's pool comes from (adopted at import). */
  fromPool: string | null;
  /** Shown as a comment. */
  note: string;
}

export interface SubscriberCandidate {
  username: string;
  include: boolean;
  /** Name of a plan candidate's profile, or null when a person must choose. */
  profile: string | null;
  /** An existing ispctl plan, instead of a profile. */
  plan?: string | null;
  name: string;
  password: string;
  staticIp: string | null;
  callerId: string | null;
  suspended: boolean;
  /** Why it needs a decision (decide section only). */
  problem?: string;
  note: string;
}

export interface ReviewModel {
  version: number;
  router: string;
  readAt: string;
  textFallback: string;
  defaults: { localAddress: string | null; pool: string | null; fromPool: string | null };
  plans: PlanCandidate[];
  subscribers: SubscriberCandidate[];
  decide: SubscriberCandidate[];
  warnings: string[];
  imported: { plans: string[]; subscribers: string[] };
}

const builtinProfile = (r: Row) => r.default === 'true' || r.default === 'yes' || r.name === 'default' || r.name === 'default-encryption';
const isIp = (v: string | undefined) => v !== undefined && /^\d+\.\d+\.\d+\.\d+(\/32)?$/.test(v.trim());
const bool = (v: string | undefined) => v === 'true' || v === 'yes';

function oneLine(s: string, max = 200): string {
  // eslint-disable-next-line no-control-regex
  const t = s.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, ' ').replace(/\s+/g, ' ').trim();
  return [...t].slice(0, max).join('');
}

function speedOrNull(kbps: number): string | null {
  return kbps > 0 ? formatSpeed(kbps) : null;
}

/** Builds the review from what the router holds and what the database knows. Pure. */
export function buildReview(read: RouterRead, known: KnownState, opts: { readAt: Date; textFallback: string }): ReviewModel {
  const warnings: string[] = [];
  for (const e of read.errors) warnings.push(`partial read: ${e.menu} could not be read (${e.error}); what depends on it is missing from this file`);
  const pools = new Map<string, Row>();
  for (const p of read.pools) if (p.name) pools.set(p.name, p);
  const online = new Map<string, Row>();
  for (const s of read.sessions) if (s.name) online.set(s.name, s);
  const secretsByProfile = new Map<string, number>();
  for (const s of read.secrets) secretsByProfile.set(s.profile ?? 'default', (secretsByProfile.get(s.profile ?? 'default') ?? 0) + 1);

  // ---- plan candidates -------------------------------------------------------------------
  const importedPlans: string[] = [];
  const plans: PlanCandidate[] = [];
  const profileNames = new Set<string>();
  for (const p of read.profiles) {
    if (!p.name || builtinProfile(p)) continue;
    profileNames.add(p.name);
    const marker = parseMarker(p.comment);
    if (marker?.kind === 'plan' && !marker.pool) {
      if (known.planIds.has(marker.id)) {
        if (!marker.throttled) importedPlans.push(`${known.planIds.get(marker.id)} (profile ${p.name})`);
        continue;
      }
      warnings.push(`profile ${JSON.stringify(p.name)} carries ispctl's marker for plan ${marker.id}, which this database does not know; it is offered as a new plan`);
    }
    const rate = p['rate-limit'] ? parseMikrotikRateLimit(p['rate-limit']) : undefined;
    const suspension = SUSPENSION_PROFILE.test(p.name);
    const remote = p['remote-address'];
    const pool = remote && !isIp(remote) ? pools.get(remote) : undefined;
    const users = secretsByProfile.get(p.name) ?? 0;
    const notes: string[] = [`profile ${JSON.stringify(oneLine(p.name))}`, `rate-limit ${p['rate-limit'] ? JSON.stringify(p['rate-limit']) : 'none'}`, `${users} secret${users === 1 ? '' : 's'}`];
    if (p['rate-limit'] && !rate) notes.push('rate limit not understood: fill in download and upload');
    if (remote && !pool && !isIp(remote)) notes.push(`remote-address ${JSON.stringify(remote)} is not a pool on the router`);
    if (suspension) notes.push('looks like a suspension profile: left out (ispctl blocks or throttles by itself)');
    const b = rate?.burst;
    plans.push({
      profile: p.name,
      include: !suspension,
      name: oneLine(p.name, 64) || 'plan',
      price: null,
      billingType: 'postpaid',
      download: rate ? speedOrNull(rate.downloadKbps) : null,
      upload: rate ? speedOrNull(rate.uploadKbps) : null,
      burst:
        b && b.downloadKbps > 0 && b.uploadKbps > 0
          ? { download: formatSpeed(b.downloadKbps), upload: formatSpeed(b.uploadKbps), thresholdDownload: speedOrNull(b.thresholdDownloadKbps) ?? '1k', thresholdUpload: speedOrNull(b.thresholdUploadKbps) ?? '1k', time: b.timeSeconds }
          : null,
      localAddress: p['local-address'] && isIp(p['local-address']) ? p['local-address'].replace(/\/32$/, '') : null,
      pool: pool?.ranges ? (canonicalRanges(pool.ranges) ?? null) : null,
      fromPool: pool?.name ?? null,
      note: notes.join(', '),
    });
    if (suspension) warnings.push(`profile ${JSON.stringify(oneLine(p.name))} looks like a suspension profile and is left out; its ${users} secret${users === 1 ? '' : 's'} are under decide`);
  }

  // Plan names are unique ignoring case in ispctl (profiles `10M` and `10m` can both exist).
  const taken = new Set([...known.planIds.values()].map((n) => n.toLowerCase()));
  for (const c of plans) {
    let name = c.name;
    for (let n = 2; taken.has(name.toLowerCase()); n++) name = `${c.name} (${n})`;
    if (name !== c.name) c.note += `, renamed ${JSON.stringify(name)}: ${JSON.stringify(c.name)} is taken (names are unique ignoring case)`;
    c.name = name;
    taken.add(name.toLowerCase());
  }

  // Pools several included plans share become the router's default pool (a pool belongs to one
  // plan in ispctl, and two plans with the same ranges would overlap).
  const uses = new Map<string, PlanCandidate[]>();
  for (const c of plans) if (c.include && c.fromPool) uses.set(c.fromPool, [...(uses.get(c.fromPool) ?? []), c]);
  const shared = [...uses.entries()].filter(([, list]) => list.length > 1).sort((a, b) => b[1].length - a[1].length);
  const defaults: ReviewModel['defaults'] = { localAddress: null, pool: null, fromPool: null };
  if (shared.length) {
    const [name, list] = shared[0]!;
    defaults.pool = list[0]!.pool;
    defaults.fromPool = name;
    const locals = new Map<string, number>();
    for (const c of list) if (c.localAddress) locals.set(c.localAddress, (locals.get(c.localAddress) ?? 0) + 1);
    defaults.localAddress = [...locals.entries()].sort((a, b) => b[1] - a[1])[0]?.[0] ?? null;
    for (const c of list) {
      c.pool = null;
      c.fromPool = null;
      if (c.localAddress === defaults.localAddress) c.localAddress = null;
      c.note += `, pool ${name} shared: the router's default pool`;
    }
    for (const [other, more] of shared.slice(1)) {
      warnings.push(`pool ${JSON.stringify(other)} is shared by ${more.map((c) => JSON.stringify(c.profile)).join(', ')}; only one shared pool can become the router's default: give each plan its own range, or they get the default pool ${JSON.stringify(name)} after the import`);
      for (const c of more) {
        c.pool = null;
        c.fromPool = null;
      }
    }
  }
  const planProfiles = new Map(plans.map((c) => [c.profile, c]));
  const includedPools = [defaults.pool, ...plans.filter((c) => c.include).map((c) => c.pool)].filter((x): x is string => Boolean(x));

  // ---- subscriber candidates -----------------------------------------------------------------
  const subscribers: SubscriberCandidate[] = [];
  const decide: SubscriberCandidate[] = [];
  const importedSubs: string[] = [];
  const seenNames = new Map<string, string>();
  const seenIps = new Map<string, string>();
  let disabled = 0;
  for (const s of read.secrets) {
    const username = s.name ?? '';
    const lower = username.toLowerCase();
    const marker = parseMarker(s.comment);
    const known1 = known.services.get(lower);
    if (known1 && known1.username === username) {
      if (known1.routerName.toLowerCase() === known.routerName.toLowerCase()) {
        importedSubs.push(`${username} (${known1.accountNo})`);
        continue;
      }
    }
    const session = online.get(username);
    const profile = s.profile ?? 'default';
    const staticIp = isIp(s['remote-address']) ? s['remote-address']!.replace(/\/32$/, '') : null;
    const comment = marker ? s.comment!.replace(/^ispctl:\S+\s*/, '') : (s.comment ?? '');
    const cand: SubscriberCandidate = {
      username,
      include: true,
      profile: planProfiles.has(profile) ? profile : null,
      name: oneLine(comment) || oneLine(username) || 'unnamed',
      password: s.password ?? '',
      staticIp,
      callerId: s['caller-id'] ? s['caller-id'] : null,
      suspended: bool(s.disabled),
      note: [session ? `online${session.address ? ` at ${session.address}` : ''}` : 'offline', bool(s.disabled) ? 'disabled on the router' : ''].filter(Boolean).join(', '),
    };
    const problem = ((): string | undefined => {
      if (known1 && known1.username !== username) return `same user name as subscriber ${known1.username} (${known1.accountNo}) apart from letter case; ispctl keeps user names unique ignoring case`;
      if (known1) return `already a subscriber on router ${known1.routerName} (${known1.accountNo})`;
      if (marker?.kind === 'service') return known.serviceIds.has(marker.id) ? `carries ispctl's marker of service ${marker.id}, which is on another router` : `carries ispctl's marker of service ${marker.id}, which this database does not know`;
      if (!USERNAME.test(username)) return `the user name ${JSON.stringify(username)} cannot be kept by ispctl (letters, digits and . _ @ + - only, up to 64); it stays on the router, unmanaged`;
      if (cand.password === '') return 'the secret has no password (or the API user cannot read passwords: give it the sensitive policy)';
      try {
        validatePppPassword(cand.password);
      } catch (err) {
        return `${err instanceof Error ? err.message.replace(/\.$/, '') : 'the password cannot be kept'}; ispctl cannot keep it as it is (changing it would lock the subscriber out)`;
      }
      const dupName = seenNames.get(lower);
      if (dupName !== undefined) return `same user name as ${JSON.stringify(dupName)} apart from letter case; ispctl keeps user names unique ignoring case`;
      if (staticIp && seenIps.has(staticIp)) return `static IP ${staticIp} is also on ${seenIps.get(staticIp)}`;
      if (s['remote-address'] && !staticIp) return `remote-address ${JSON.stringify(s['remote-address'])} is a pool on the secret itself; ispctl gives addresses through the plan`;
      if (!profileNames.has(profile) && profile !== 'default') return `its profile ${JSON.stringify(profile)} does not exist on the router: choose a plan`;
      if (profile === 'default' || profile === 'default-encryption') return `it is on the built-in profile ${profile}: choose a plan`;
      const plan = planProfiles.get(profile);
      if (plan && !plan.include) return SUSPENSION_PROFILE.test(profile) ? `it is on the suspension profile ${JSON.stringify(profile)}: choose its plan` : `its profile ${JSON.stringify(profile)} is left out: choose a plan`;
      if (cand.suspended && session) return 'disabled on the router but online: importing it suspended would drop the session; decide whether it is suspended';
      if (staticIp && includedPools.some((r) => poolContains(r, staticIp))) return `static IP ${staticIp} lies inside a pool; ispctl refuses that (the pool could hand it out): change the address or the pool`;
      return undefined;
    })();
    if (!seenNames.has(lower)) seenNames.set(lower, username);
    if (staticIp && !seenIps.has(staticIp)) seenIps.set(staticIp, username);
    if (problem) {
      const onSuspension = SUSPENSION_PROFILE.test(profile) && planProfiles.get(profile)?.include === false;
      // Online on a suspension profile: imported suspended, the next sync would drop the session
      // (ispctl blocks suspended subscribers); so active unless the person says otherwise.
      decide.push({ ...cand, include: false, problem: onSuspension && session ? `${problem}; it is online, so it is imported active unless you set suspended: true (then the next sync drops its session)` : problem, ...(onSuspension ? { suspended: !session, profile: null } : {}) });
    } else {
      if (cand.suspended) disabled++;
      subscribers.push(cand);
    }
  }
  if (disabled) warnings.push(`${disabled} disabled secret${disabled === 1 ? ' is' : 's are'} imported as suspended subscribers (suspended: true); set false to import them active`);
  const manual = read.queues.filter((q) => !bool(q.dynamic) && !(q.name ?? '').startsWith('<'));
  if (manual.length) {
    warnings.push(
      `${manual.length} simple queue${manual.length === 1 ? '' : 's'} on the router (e.g. ${manual.slice(0, 3).map((q) => JSON.stringify(q.name ?? '')).join(', ')}): ispctl leaves them alone; with profile shaping a subscriber who also has a queue is shaped twice: remove those queues after the import`,
    );
  }
  for (const p of read.pools) {
    if (p.ranges && !parseRanges(p.ranges)) warnings.push(`pool ${JSON.stringify(p.name ?? '')} has ranges ispctl does not understand (${JSON.stringify(p.ranges)})`);
  }
  return {
    version: REVIEW_VERSION,
    router: known.routerName,
    readAt: opts.readAt.toISOString(),
    textFallback: opts.textFallback,
    defaults,
    plans,
    subscribers,
    decide,
    warnings,
    imported: { plans: importedPlans, subscribers: importedSubs },
  };
}

const HEADER = (m: ReviewModel) => `\
 ispctl brownfield review of router ${m.router}, read ${m.readAt}

 SENSITIVE: this file holds the PPPoE password of every subscriber on the router. It was written
 with mode 0600 (only you can read it): keep it that way, and delete it after the import.

 Edit it, then check and import it:
   ispctl router import ${m.router} --review FILE --dry-run
   ispctl router import ${m.router} --review FILE
 The import checks the whole file first and names each problem with its line; it then creates
 the plans and subscribers in one transaction and takes over the router's objects in place,
 without dropping a live session. Running it again reports everything as already imported.

 plans: one candidate per PPP profile. include: true/false; name: rename freely; price: the
   monthly price, REQUIRED for every included plan (ispctl never invents one); billingType:
   postpaid or prepaid; download/upload/burst as parsed from the profile's rate limit;
   localAddress and pool: the profile's addresses (pool: ranges like 10.0.0.2-10.0.0.254).
   A plan whose name is already an ispctl plan is used as it is (no price needed).
 defaults: the router's default local address and pool, for plans without their own.
 subscribers: one per PPP secret. profile: the plan candidate (by its profile) they are on;
   or plan: the name of an existing ispctl plan instead. name: from the secret's comment.
   suspended: true imports them suspended (disabled secrets are).
 decide: secrets ispctl cannot import as they are (problem says why). Fix what it says, set
   include: true, or leave them out: they stay on the router, untouched.
 warnings and imported: for reading; the import ignores them.`;

/** The review as a YAML document with comments. */
export function renderReview(m: ReviewModel): string {
  const doc = new Document({
    version: m.version,
    router: m.router,
    readAt: m.readAt,
    textFallback: m.textFallback,
    defaults: m.defaults,
    plans: m.plans.map(({ note: _note, ...p }) => p),
    subscribers: m.subscribers.map(({ note: _note, problem: _problem, ...s }) => s),
    decide: m.decide.map(({ note: _note, ...s }) => s),
    warnings: m.warnings,
    imported: m.imported,
  });
  doc.commentBefore = HEADER(m);
  const commentItems = (key: string, notes: string[]) => {
    const seq = doc.get(key, true) as Node | undefined;
    if (!isSeq(seq)) return;
    seq.items.forEach((item, i) => {
      if (isMap(item) && notes[i]) item.commentBefore = ` ${notes[i]}`;
    });
  };
  commentItems('plans', m.plans.map((p) => p.note));
  commentItems('subscribers', m.subscribers.map((s) => s.note));
  commentItems('decide', m.decide.map((s) => s.note));
  const section = (key: string, text: string) => {
    const pair = doc.contents && isMap(doc.contents) ? doc.contents.items.find((p) => (p.key as { value?: unknown })?.value === key) : undefined;
    if (pair) (pair.key as Node).commentBefore = text;
  };
  section('defaults', ' The router\'s default addressing (for plans without their own local address and pool)');
  section('plans', ` Plan candidates (${m.plans.length}): fill in every included plan's price`);
  section('subscribers', ` Subscriber candidates (${m.subscribers.length})`);
  section('decide', ` Need a decision (${m.decide.length}): left out unless you set include: true`);
  section('warnings', ` Warnings (${m.warnings.length})`);
  section('imported', ' Already imported: nothing to do for these');
  return doc.toString({ lineWidth: 0 });
}
