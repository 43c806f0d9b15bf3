// The RADIUS-mode provisioning driver: carries `radius_coa` and `radius_disconnect` jobs to a
// router's live sessions. FreeRADIUS already answers the next login from the views; this makes a
// change take effect on sessions that are up now.
//
// For each job: find the user's open sessions in radacct on this router (nasipaddress = the
// router's NAS address), then per session
//   radius_coa         CoA-Request (User-Name, Acct-Session-Id, Framed-IP-Address, and the
//                      service's CURRENT Mikrotik-Rate-Limit, read now, not when queued)
//   radius_disconnect  Disconnect-Request (User-Name, Acct-Session-Id)
// sent to nas_address:coa_port with the router's shared secret and a Message-Authenticator,
// with a short timeout and one retransmission.
//   ACK                         done
//   NAK, Error-Cause 503        the session is not there: its radacct row is stale; close it, done
//   CoA NAK for another reason  disconnect instead (Disconnect-Request, then the API), so the
//                               re-login picks up the new attributes
//   no answer, or another NAK   RouterOS API: /ppp/active remove of the user's sessions
//   the API fails as well       the job fails with both errors (retried later with backoff)
// No open session: nothing live to change, done. A service that is blocked by now is
// disconnected whatever the job kind; one that moved to another router or was removed needs
// nothing here (its own disconnect job covers the old session).

import { setMaxListeners } from 'node:events';
import type { ServiceContext } from '../../context.js';
import {
  ERROR_CAUSE,
  RadiusAbortedError,
  RadiusClient,
  RadiusInvalidResponseError,
  RadiusTimeoutError,
  attr,
  getAttribute,
  type RadiusAttribute,
} from '../../radius/index.js';
import { RouterOSClient, RouterOSTrapError, menu, q } from '../../routeros/index.js';
import { routerConnectOptions } from '../../routers/check.js';
import type { Router } from '../../routers/service.js';
import { decryptSecret, loadSecretKey } from '../../secrets.js';
import type { Job } from '../jobs.js';
import type { JobResult, ProvisioningDriver } from '../runner.js';
import type { RadacctRow, ServiceRow } from '../../db/rows.js';
import { describeError } from '../../error-text.js';

/** Jobs of one router worked on at once. */
export const RADIUS_JOB_CONCURRENCY = 64;
/** Longest wait for one CoA/Disconnect transmission (shorter when the deadline is near). */
export const COA_ATTEMPT_TIMEOUT_MS = 1000;
/** Retransmissions of a CoA/Disconnect-Request after the first. */
export const COA_RETRIES = 1;

const SESSION_NOT_FOUND = ERROR_CAUSE['Session-Context-Not-Found'];

interface OpenSession {
  radacctId: string;
  acctSessionId: string;
  username: string;
  framedIp: string | null;
}

interface ServiceNow {
  id: number;
  routerId: number | null;
  username: string;
  rateLimit: string | null;
  accessState: string;
}

type Answer =
  | { kind: 'ack' }
  | { kind: 'nak'; cause: number | undefined; code: string }
  | { kind: 'no-answer'; error: string };

/** A step that did its work, or could not (with why). */
type Outcome = { ok: true; detail: string } | { ok: false; error: string };

function errorText(e: unknown): string {
  return describeError(e);
}

function causeText(cause: number | undefined): string {
  if (cause === undefined) return 'no Error-Cause';
  const name = Object.entries(ERROR_CAUSE).find(([, v]) => v === cause)?.[0];
  return name ? `Error-Cause ${cause} ${name}` : `Error-Cause ${cause}`;
}

function usernamesOf(job: Job, service: ServiceNow | undefined): string[] {
  const names = new Set<string>();
  const add = (v: unknown) => {
    if (typeof v === 'string' && v !== '') names.add(v);
  };
  add(job.payload.username);
  // The name before a rename: its session is still up under the old name.
  add(job.payload.previousUsername);
  if (Array.isArray(job.payload.usernames)) job.payload.usernames.forEach(add);
  if (service && (service.routerId === job.routerId || job.kind === 'radius_disconnect')) add(service.username);
  return [...names];
}

async function loadServices(db: ServiceContext['db'], ids: number[]): Promise<Map<number, ServiceNow>> {
  const out = new Map<number, ServiceNow>();
  for (let i = 0; i < ids.length; i += 10_000) {
    const rows: Array<Pick<ServiceRow, 'id' | 'router_id' | 'username' | 'rate_limit' | 'access_state'>> = await db('services')
      .whereIn('id', ids.slice(i, i + 10_000))
      .select('id', 'router_id', 'username', 'rate_limit', 'access_state');
    for (const r of rows) {
      out.set(Number(r.id), {
        id: Number(r.id),
        routerId: r.router_id === null ? null : Number(r.router_id),
        username: r.username,
        rateLimit: r.rate_limit ?? null,
        accessState: r.access_state,
      });
    }
  }
  return out;
}

async function loadOpenSessions(db: ServiceContext['db'], nasAddress: string, usernames: string[]): Promise<Map<string, OpenSession[]>> {
  const out = new Map<string, OpenSession[]>();
  for (let i = 0; i < usernames.length; i += 5_000) {
    const rows: Array<Pick<RadacctRow, 'radacctid' | 'acctsessionid'> & { username: string; framedip: string | null }> = await db('radacct')
      .whereNull('acctstoptime')
      .whereRaw('nasipaddress = ?::inet', [nasAddress])
      .whereIn('username', usernames.slice(i, i + 5_000))
      .orderBy('radacctid')
      .select('radacctid', 'acctsessionid', 'username', db.raw('host(framedipaddress) as framedip'));
    for (const r of rows) {
      const s: OpenSession = {
        radacctId: String(r.radacctid),
        acctSessionId: r.acctsessionid,
        username: r.username,
        framedIp: r.framedip ?? null,
      };
      const list = out.get(s.username) ?? [];
      list.push(s);
      out.set(s.username, list);
    }
  }
  return out;
}

/**
 * Closes a radacct row the router says is not a live session (CoA or Disconnect NAK with
 * Error-Cause 503), so it no longer counts as open (simultaneous-use checks, later CoA).
 */
export async function closeStaleSession(ctx: Pick<ServiceContext, 'db' | 'clock'>, radacctId: string | number): Promise<boolean> {
  const n = await ctx
    .db('radacct')
    .where({ radacctid: String(radacctId) })
    .whereNull('acctstoptime')
    .update({ acctstoptime: ctx.clock.now(), acctterminatecause: 'NAS-Error' });
  return Number(n) > 0;
}

class RouterRun {
  private readonly client = new RadiusClient();
  private api?: Promise<RouterOSClient>;
  private readonly removals = new Map<string, Promise<number>>();

  constructor(
    private readonly ctx: ServiceContext,
    private readonly router: Router,
    private readonly nasAddress: string,
    private readonly secret: string,
    private readonly deadline: number,
    private readonly signal: AbortSignal,
  ) {}

  private attemptTimeout(): number {
    const left = this.deadline - Date.now();
    return Math.max(100, Math.min(COA_ATTEMPT_TIMEOUT_MS, Math.floor(left / (2 * (COA_RETRIES + 1)))));
  }

  private async send(code: 'CoA-Request' | 'Disconnect-Request', attributes: RadiusAttribute[]): Promise<Answer> {
    try {
      const res = await this.client.request({
        host: this.nasAddress,
        port: this.router.coaPort,
        secret: this.secret,
        timeoutMs: this.attemptTimeout(),
        retries: COA_RETRIES,
        packet: { code, attributes },
        messageAuthenticator: true,
        signal: this.signal,
      });
      const c = res.packet.code;
      if (c === 'CoA-ACK' || c === 'Disconnect-ACK') return { kind: 'ack' };
      const cause = getAttribute(res.packet, 'Error-Cause');
      return { kind: 'nak', code: c, cause: typeof cause === 'number' ? cause : undefined };
    } catch (e) {
      if (e instanceof RadiusAbortedError) throw e;
      if (e instanceof RadiusTimeoutError || e instanceof RadiusInvalidResponseError) return { kind: 'no-answer', error: e.message };
      return { kind: 'no-answer', error: errorText(e) };
    }
  }

  private async stale(s: OpenSession): Promise<Outcome> {
    await closeStaleSession(this.ctx, s.radacctId);
    return { ok: true, detail: `session ${s.acctSessionId} was not on the router; closed its accounting record` };
  }

  /** Drops one session: Disconnect-Request unless RADIUS already did not answer, then the API. */
  private async disconnect(s: OpenSession, tryRadius: boolean, why?: string): Promise<Outcome> {
    let radiusError = why;
    if (tryRadius) {
      const a = await this.send('Disconnect-Request', [attr('User-Name', s.username), attr('Acct-Session-Id', s.acctSessionId)]);
      if (a.kind === 'ack') return { ok: true, detail: `Disconnect-ACK for session ${s.acctSessionId}` };
      if (a.kind === 'nak' && a.cause === SESSION_NOT_FOUND) return this.stale(s);
      radiusError = a.kind === 'nak' ? `${a.code} (${causeText(a.cause)})` : a.error;
    }
    try {
      const removed = await this.removeViaApi(s.username);
      return { ok: true, detail: `${radiusError ? `RADIUS: ${radiusError}; ` : ''}removed ${removed} session${removed === 1 ? '' : 's'} of ${s.username} over the RouterOS API` };
    } catch (e) {
      if (e instanceof RadiusAbortedError || this.signal.aborted) throw e;
      return { ok: false, error: `RADIUS: ${radiusError ?? 'not tried'}; RouterOS API: ${errorText(e)}` };
    }
  }

  private async coa(s: OpenSession, rateLimit: string): Promise<Outcome> {
    const attributes = [attr('User-Name', s.username), attr('Acct-Session-Id', s.acctSessionId)];
    if (s.framedIp) attributes.push(attr('Framed-IP-Address', s.framedIp));
    attributes.push(attr('Mikrotik-Rate-Limit', rateLimit));
    const a = await this.send('CoA-Request', attributes);
    if (a.kind === 'ack') return { ok: true, detail: `CoA-ACK for session ${s.acctSessionId} (${rateLimit})` };
    if (a.kind === 'nak' && a.cause === SESSION_NOT_FOUND) return this.stale(s);
    if (a.kind === 'nak') return this.disconnect(s, true, `${a.code} (${causeText(a.cause)})`);
    return this.disconnect(s, false, a.error);
  }

  /** `/ppp/active remove` of every session of the user; the number removed (0 when none). */
  private removeViaApi(username: string): Promise<number> {
    let p = this.removals.get(username);
    if (!p) {
      p = this.doRemove(username);
      this.removals.set(username, p);
    }
    return p;
  }

  private async doRemove(username: string): Promise<number> {
    const client = await this.connectApi();
    const timeoutMs = Math.max(200, this.deadline - Date.now() - 50);
    const rows = await menu.print(client, '/ppp/active', { where: [q.eq('name', username)], proplist: ['.id', 'name'], timeoutMs, signal: this.signal });
    let removed = 0;
    for (const row of rows) {
      const id = row['.id'];
      if (!id) continue;
      try {
        await menu.remove(client, '/ppp/active', id, { timeoutMs, signal: this.signal });
        removed++;
      } catch (e) {
        // Gone between print and remove: what we wanted.
        if (!(e instanceof RouterOSTrapError && /no such item/i.test(e.message))) throw e;
      }
    }
    return removed;
  }

  private connectApi(): Promise<RouterOSClient> {
    if (!this.api) {
      this.api = (async () => {
        const timeoutMs = Math.max(200, this.deadline - Date.now() - 100);
        const opts = await routerConnectOptions(this.ctx, this.router, { timeoutMs });
        return RouterOSClient.connect({ ...opts, signal: this.signal });
      })();
      // Keep a failed connection attempt from being an unhandled rejection when nobody awaits it.
      this.api.catch(() => undefined);
    }
    return this.api;
  }

  async close(): Promise<void> {
    await this.client.close();
    const api = await this.api?.catch(() => undefined);
    if (api) await api.close().catch(() => undefined);
  }

  /** Carries one job; per-session outcomes are combined (all must succeed). */
  async runJob(job: Job, service: ServiceNow | undefined, sessions: Map<string, OpenSession[]>): Promise<JobResult> {
    if (job.kind !== 'radius_coa' && job.kind !== 'radius_disconnect') {
      return { id: job.id, ok: true, detail: `skipped: a ${job.kind} job means nothing to a router in radius mode` };
    }
    let kind: 'coa' | 'disconnect' = job.kind === 'radius_coa' ? 'coa' : 'disconnect';
    if (kind === 'coa') {
      if (!service) return { id: job.id, ok: true, detail: 'the service no longer exists; nothing to change' };
      if (service.routerId !== job.routerId) return { id: job.id, ok: true, detail: 'the service is on another router now; nothing to change here' };
      if (service.accessState === 'blocked' || service.rateLimit === null) kind = 'disconnect';
    }
    const names = usernamesOf(job, service);
    if (names.length === 0) return { id: job.id, ok: false, error: 'the job names no user and its service no longer exists' };
    const open = names.flatMap((n) => sessions.get(n) ?? []);
    if (open.length === 0) return { id: job.id, ok: true, detail: `no open session of ${names.join(', ')}; nothing live to change` };
    const outcomes: Outcome[] = [];
    for (const s of open) {
      outcomes.push(kind === 'coa' ? await this.coa(s, service!.rateLimit!) : await this.disconnect(s, true));
    }
    const failed = outcomes.filter((o): o is Extract<Outcome, { ok: false }> => !o.ok);
    if (failed.length) return { id: job.id, ok: false, error: failed.map((f) => f.error).join(' | ') };
    return { id: job.id, ok: true, detail: outcomes.map((o) => (o as Extract<Outcome, { ok: true }>).detail).join('; ') };
  }
}

/** Runs one router's RADIUS-mode jobs. Throws (failing them all) only when it cannot start. */
async function runRadiusJobs(ctx: ServiceContext, router: Router, jobs: Job[], opts: { deadline: number; signal: AbortSignal }): Promise<JobResult[]> {
  const row = await ctx.db('routers').where({ id: router.id }).first('radius_secret_enc', 'coa_port', ctx.db.raw('host(nas_address) as nas_host'));
  if (!row) throw new Error(`router ${router.name} no longer exists`);
  const nasAddress = (row.nas_host as string | null) ?? null;
  if (!nasAddress) throw new Error(`router ${router.name} has no NAS address to send CoA and Disconnect-Request to`);
  const secret = decryptSecret(row.radius_secret_enc as string, loadSecretKey(ctx.env), 'RADIUS secret');
  const current: Router = { ...router, coaPort: Number(row.coa_port) };

  const serviceIds = [...new Set(jobs.map((j) => j.serviceId).filter((id): id is number => id !== null))];
  const services = await loadServices(ctx.db, serviceIds);
  const usernames = new Set<string>();
  for (const j of jobs) for (const n of usernamesOf(j, j.serviceId === null ? undefined : services.get(j.serviceId))) usernames.add(n);
  const sessions = await loadOpenSessions(ctx.db, nasAddress, [...usernames]);

  // One listener per request in flight; a signal of our own so many of them are expected.
  const local = new AbortController();
  setMaxListeners(0, local.signal);
  const forward = () => local.abort();
  if (opts.signal.aborted) local.abort();
  else opts.signal.addEventListener('abort', forward, { once: true });
  const signal = local.signal;
  const run = new RouterRun(ctx, current, nasAddress, secret, opts.deadline, signal);
  const results: JobResult[] = [];
  try {
    const queue = [...jobs];
    const worker = async () => {
      for (let job = queue.shift(); job; job = queue.shift()) {
        if (signal.aborted) {
          results.push({ id: job.id, ok: false, error: 'stopped: the deadline passed before this job was tried' });
          continue;
        }
        try {
          results.push(await run.runJob(job, job.serviceId === null ? undefined : services.get(job.serviceId), sessions));
        } catch (e) {
          results.push({ id: job.id, ok: false, error: signal.aborted ? 'stopped: the deadline passed' : errorText(e) });
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(RADIUS_JOB_CONCURRENCY, jobs.length) }, worker));
  } finally {
    opts.signal.removeEventListener('abort', forward);
    await run.close();
  }
  return results;
}

/** The driver for routers in radius mode. */
export const radiusDriver: ProvisioningDriver = { run: runRadiusJobs };
