// `ispctl doctor`: is this installation healthy? Each check says ok, warn or fail, what it saw,
// and for anything not ok the fix. The database checks need a reachable database; the command
// reports a database it cannot open as the first, failed check and skips the rest.
import { statSync } from 'node:fs';
import type { ServiceContext } from './context.js';
import { daemonStatus } from './daemon/status.js';
import { isUpToDate } from './db/migrate.js';
import { isIspctlError } from './errors.js';
import { radiusRequest } from './radius/client.js';
import { checkRouter } from './routers/check.js';
import { SECRET_KEY_ENV, secretKeyPath } from './secrets.js';
import { rowsOf } from './db/sql.js';
import { describeError } from './error-text.js';

export type CheckStatus = 'ok' | 'warn' | 'fail';

export interface DoctorCheck {
  name: string;
  status: CheckStatus;
  message: string;
  /** What to do when the check is not ok. */
  fix?: string;
}

export interface DoctorOptions {
  /** Per router and for FreeRADIUS (ms). */
  timeoutMs?: number;
  /** Where FreeRADIUS listens for authentication (default 127.0.0.1:1812). */
  radiusHost?: string;
  radiusPort?: number;
  /** The shared secret of this host as a FreeRADIUS client; without it FreeRADIUS is not asked. */
  radiusSecret?: string;
  /** The real time now (not the simulation clock), for the clock check. */
  now?: () => Date;
}

const ok = (name: string, message: string): DoctorCheck => ({ name, status: 'ok', message });
const warn = (name: string, message: string, fix: string): DoctorCheck => ({ name, status: 'warn', message, fix });
const fail = (name: string, message: string, fix: string): DoctorCheck => ({ name, status: 'fail', message, fix });

/** The check for a database that could not be opened. */
export function databaseUnreachable(location: string, error: string): DoctorCheck {
  return fail('database', `Cannot use the database at ${location}: ${error}`, 'Check ISPCTL_DATABASE_URL (or --database-url), that PostgreSQL is running, or for the embedded database that no other process holds it');
}

/** Every check, the independent ones at once. */
export async function runDoctor(ctx: ServiceContext, location: string, opts: DoctorOptions = {}): Promise<DoctorCheck[]> {
  const database = await checkDatabase(ctx, location);
  if (database.status === 'fail') return [database, checkKeyFile(ctx.env, false)];
  const routerCount = Number(((await ctx.db('routers').count({ n: '*' }).first()) as { n?: unknown } | undefined)?.n ?? 0);
  const [daemon, routers, radius, clock] = await Promise.all([checkDaemon(ctx), checkRouters(ctx, opts), checkRadius(ctx, opts), checkClock(ctx, opts)]);
  return [database, checkKeyFile(ctx.env, routerCount > 0), daemon, ...routers, radius, clock];
}

async function checkDatabase(ctx: ServiceContext, location: string): Promise<DoctorCheck> {
  try {
    await ctx.db.raw('select 1');
  } catch (err) {
    return databaseUnreachable(location, describeError(err));
  }
  if (!(await isUpToDate(ctx.db))) return fail('database', `${location} is reachable but its schema is not up to date.`, 'Run ispctl db migrate');
  const init = await ctx.db('settings').where({ key: 'isp-name' }).first().catch(() => undefined);
  if (!init) return warn('database', `${location} is reachable and migrated, but ispctl has not been set up on it.`, 'Run ispctl init');
  return ok('database', `${location} is reachable and migrated (${ctx.engine === 'postgres' ? 'PostgreSQL' : 'embedded'}).`);
}

/** The key that encrypts router passwords and RADIUS secrets: present, and readable by its owner only. */
export function checkKeyFile(env: Record<string, string | undefined>, secretsStored: boolean): DoctorCheck {
  if (env[SECRET_KEY_ENV]) return ok('key file', `The secret key comes from ${SECRET_KEY_ENV}.`);
  const path = secretKeyPath(env);
  let mode: number;
  try {
    mode = statSync(path).mode & 0o777;
  } catch {
    return secretsStored
      ? fail('key file', `${path} is missing, so the router passwords and RADIUS secrets stored cannot be decrypted.`, `Restore ${path} from a backup, or set ${SECRET_KEY_ENV}`)
      : warn('key file', `${path} does not exist yet; it is created when the first secret is stored.`, `Back ${path} up once it exists`);
  }
  if ((mode & 0o077) !== 0) return fail('key file', `${path} has mode ${mode.toString(8).padStart(4, '0')}: others can read the key.`, `chmod 600 ${path}`);
  return ok('key file', `${path} is present with mode 0600.`);
}

async function checkDaemon(ctx: ServiceContext): Promise<DoctorCheck> {
  try {
    const s = await daemonStatus(ctx);
    const running = s.instances.filter((i) => i.state === 'running');
    if (running.length === 0) return warn('daemon', 'No daemon is running: schedules (billing, collections, router retries) do not run.', 'Start it: ispctl daemon (under systemd for a server)');
    const leader = running.find((i) => i.leader);
    if (!leader) return warn('daemon', `${running.length} daemon instance(s) running, none leading.`, 'Wait a heartbeat; if it lasts, restart the daemon');
    return ok('daemon', `Running: ${leader.name} on ${leader.host} (pid ${leader.pid}) leads${running.length > 1 ? `, ${running.length - 1} standing by` : ''}; heartbeat ${leader.heartbeatAgeSeconds}s ago.`);
  } catch (err) {
    return warn('daemon', `Could not read the daemon's state: ${describeError(err)}`, 'Run ispctl daemon status');
  }
}

async function checkRouters(ctx: ServiceContext, opts: DoctorOptions): Promise<DoctorCheck[]> {
  const rows: Array<{ name: string; host: string | null }> = await ctx.db('routers').select('name', 'host').orderBy('name');
  if (rows.length === 0) return [warn('routers', 'No routers yet.', 'Add one: ispctl router add NAME --host ADDRESS (or ispctl router onboard)')];
  return Promise.all(
    rows.map(async (r): Promise<DoctorCheck> => {
      const name = `router ${r.name}`;
      if (r.host === null) return warn(name, 'Pending: waiting for its onboarding scripts.', `ispctl router show ${r.name} says what is next`);
      try {
        const c = await checkRouter(ctx, r.name, { timeoutMs: opts.timeoutMs ?? 5000 });
        if (c.ok) return ok(name, `Reachable at ${c.host}:${c.port} in ${c.elapsedMs} ms${c.version ? `, RouterOS ${c.version}` : ''}.`);
        return fail(name, `Not reachable at ${c.host}:${c.port}: ${c.error ?? c.status}.`, `Check the router is up and its API service enabled, then ispctl router check ${r.name}`);
      } catch (err) {
        return fail(name, isIspctlError(err) ? err.message : String(err), isIspctlError(err) && err.suggestions[0] ? err.suggestions[0] : `ispctl router check ${r.name}`);
      }
    }),
  );
}

async function checkRadius(ctx: ServiceContext, opts: DoctorOptions): Promise<DoctorCheck> {
  const n = Number(((await ctx.db('routers').where({ mode: 'radius' }).count({ n: '*' }).first()) as { n?: unknown } | undefined)?.n ?? 0);
  if (n === 0) return ok('FreeRADIUS', 'Not used: no router is in RADIUS mode.');
  if (ctx.engine !== 'postgres') return fail('FreeRADIUS', `${n} router(s) in RADIUS mode, but the database is embedded: FreeRADIUS cannot read it.`, 'Use PostgreSQL (ISPCTL_DATABASE_URL) for RADIUS mode');
  const host = opts.radiusHost ?? '127.0.0.1';
  const port = opts.radiusPort ?? 1812;
  if (!opts.radiusSecret) {
    return warn('FreeRADIUS', `${n} router(s) in RADIUS mode; FreeRADIUS at ${host}:${port} was not asked (no secret given).`, 'Pass --radius-secret with the secret of this host as a FreeRADIUS client to check it answers');
  }
  try {
    const r = await radiusRequest({ host, port, secret: opts.radiusSecret, packet: { code: 'Status-Server', attributes: [] }, timeoutMs: opts.timeoutMs ?? 3000, retries: 0 });
    return ok('FreeRADIUS', `Answers at ${host}:${port} (${r.packet.code} in ${r.elapsedMs} ms); ${n} router(s) in RADIUS mode.`);
  } catch (err) {
    const msg = describeError(err);
    if (/authenticator|signature|Message-Authenticator/i.test(msg)) return warn('FreeRADIUS', `Answers at ${host}:${port}, but not with the secret given (${msg}).`, 'Check the secret of this host in FreeRADIUS clients.conf');
    return fail('FreeRADIUS', `No answer from ${host}:${port}: ${msg}`, 'Start FreeRADIUS (systemctl start freeradius), and enable status_server in its status site or listen section; ispctl radius config writes its configuration');
  }
}

async function checkClock(ctx: ServiceContext, opts: DoctorOptions): Promise<DoctorCheck> {
  const before = Date.now();
  const r = await rowsOf<{ now: Date | string }>(ctx.db, 'select now() as now');
  const after = Date.now();
  const dbNow = new Date(r[0]!.now).getTime();
  const local = (opts.now ? opts.now().getTime() : (before + after) / 2);
  const drift = Math.round((local - dbNow) / 1000);
  if (ctx.engine !== 'postgres') return ok('clock', 'The embedded database uses this machine\'s clock.');
  if (Math.abs(drift) > 60) return fail('clock', `This machine's clock and the database server's differ by ${Math.abs(drift)} s: due dates and schedules would be off.`, 'Run NTP (timedatectl set-ntp true) on both machines');
  if (Math.abs(drift) > 5) return warn('clock', `This machine's clock and the database server's differ by ${Math.abs(drift)} s.`, 'Run NTP (timedatectl set-ntp true) on both machines');
  return ok('clock', `This machine and the database server agree (within ${Math.max(1, Math.abs(drift))} s).`);
}
