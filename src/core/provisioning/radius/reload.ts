// FreeRADIUS with `read_clients = yes` loads its clients (the `nas` view) only at start-up, so a
// router added, changed or removed in radius mode is seen only after a restart. The setting
// `radius-reload-command` names what ispctl runs after such a change (e.g.
// `systemctl restart freeradius`). The command is the setting's text, run with `/bin/sh -c`;
// nothing ispctl knows is spliced into it. Facts reach it as environment variables only.
import { spawn } from 'node:child_process';
import type { ServiceContext } from '../../context.js';
import { getSetting } from '../../settings/service.js';

export const RADIUS_RELOAD_SETTING = 'radius-reload-command';
export const DEFAULT_RELOAD_TIMEOUT_MS = 60_000;
const MAX_OUTPUT = 4000;

export interface RadiusReloadOptions {
  /** Why (e.g. `router add tower-north`); passed as ISPCTL_RELOAD_REASON. */
  reason?: string;
  /** The router that changed; passed as ISPCTL_ROUTER. */
  router?: string;
  /** Kill the command after this long. Default 60 s. */
  timeoutMs?: number;
}

export type RadiusReloadResult =
  | { ran: false; reason: 'unset' }
  | {
      ran: true;
      ok: boolean;
      command: string;
      /** Exit code, or null when it was killed (timeout) or could not start. */
      exitCode: number | null;
      /** Last lines of its output (stdout and stderr), for messages. */
      output: string;
      error?: string;
      elapsedMs: number;
    };

/** The configured reload command, or undefined when unset (or "none"). */
export async function radiusReloadCommand(db: ServiceContext['db']): Promise<string | undefined> {
  const v = (await getSetting(db, RADIUS_RELOAD_SETTING)).value;
  const s = typeof v === 'string' ? v.trim() : '';
  return s === '' || s.toLowerCase() === 'none' ? undefined : s;
}

/**
 * Runs the configured `radius-reload-command`, if any. Never throws for the command's own
 * failure: the change that asked for it is already saved, so the caller reports `ok: false`
 * as a warning (FreeRADIUS then needs a manual restart).
 */
export async function runRadiusReload(ctx: Pick<ServiceContext, 'db' | 'env'>, opts: RadiusReloadOptions = {}): Promise<RadiusReloadResult> {
  const command = await radiusReloadCommand(ctx.db);
  if (command === undefined) return { ran: false, reason: 'unset' };
  const timeoutMs = opts.timeoutMs ?? DEFAULT_RELOAD_TIMEOUT_MS;
  const started = Date.now();
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(ctx.env)) if (v !== undefined) env[k] = v;
  // Never hand the database password or the secret key to the reload command.
  delete env.DATABASE_URL;
  delete env.ISPCTL_DATABASE_URL;
  delete env.ISPCTL_SECRET_KEY;
  if (opts.reason) env.ISPCTL_RELOAD_REASON = opts.reason;
  if (opts.router) env.ISPCTL_ROUTER = opts.router;
  return new Promise((resolve) => {
    let output = '';
    let error: string | undefined;
    let settled = false;
    // Its own process group, so a timeout stops what it started too (e.g. a hung systemctl).
    const child = spawn('/bin/sh', ['-c', command], { env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    const append = (chunk: Buffer) => {
      output += chunk.toString('utf8');
      if (output.length > MAX_OUTPUT * 2) output = output.slice(-MAX_OUTPUT);
    };
    child.stdout.on('data', append);
    child.stderr.on('data', append);
    const timer = setTimeout(() => {
      error = `did not finish within ${Math.round(timeoutMs / 100) / 10} s and was stopped`;
      try {
        if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
      } catch {
        child.kill('SIGKILL');
      }
    }, timeoutMs);
    const done = (exitCode: number | null) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      const ok = exitCode === 0 && error === undefined;
      if (!ok && error === undefined) error = `exited with ${exitCode}`;
      resolve({ ran: true, ok, command, exitCode, output: output.slice(-MAX_OUTPUT).trim(), ...(error ? { error } : {}), elapsedMs: Date.now() - started });
    };
    child.once('error', (err) => {
      error = `could not start: ${err.message}`;
      done(null);
    });
    child.once('close', (code) => done(code));
  });
}

/**
 * Whether a router change matters to FreeRADIUS's client list (the `nas` view: address, name,
 * secret; entering or leaving radius mode). `changed` are the field names the routers service
 * reports (RouterEditResult.changed).
 */
export function routerChangeNeedsRadiusReload(modeBefore: string, modeAfter: string, changed: readonly string[]): boolean {
  if (modeBefore !== 'radius' && modeAfter !== 'radius') return false;
  if (modeBefore !== modeAfter || changed.includes('mode')) return true;
  return changed.some((f) => f === 'nasAddress' || f === 'radiusSecret' || f === 'name');
}
