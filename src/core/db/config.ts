// Where the database lives: PostgreSQL when a URL is given, otherwise embedded PGlite in the
// data directory.
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { errors } from '../error-catalogue.js';

export type Engine = 'postgres' | 'pglite';

export type DatabaseTarget =
  | { engine: 'postgres'; url: string }
  | { engine: 'pglite'; dataDir: string; path: string };

export type Env = Record<string, string | undefined>;

/** The data directory: ISPCTL_DATA_DIR, else $XDG_DATA_HOME/ispctl, else ~/.local/share/ispctl. */
export function dataDir(env: Env = process.env): string {
  if (env.ISPCTL_DATA_DIR) return resolve(env.ISPCTL_DATA_DIR);
  const xdg = env.XDG_DATA_HOME && env.XDG_DATA_HOME.startsWith('/') ? env.XDG_DATA_HOME : join(homedir(), '.local', 'share');
  return join(xdg, 'ispctl');
}

/** The config directory (the secret key file lives here): ISPCTL_CONFIG_DIR, else $XDG_CONFIG_HOME/ispctl. */
export function configDir(env: Env = process.env): string {
  if (env.ISPCTL_CONFIG_DIR) return resolve(env.ISPCTL_CONFIG_DIR);
  const xdg = env.XDG_CONFIG_HOME && env.XDG_CONFIG_HOME.startsWith('/') ? env.XDG_CONFIG_HOME : join(homedir(), '.config');
  return join(xdg, 'ispctl');
}

export function resolveTarget(opts: { databaseUrl?: string; env?: Env } = {}): DatabaseTarget {
  const env = opts.env ?? process.env;
  // ISPCTL_DATABASE_URL first (a DATABASE_URL is often another application's), then DATABASE_URL.
  // Set but empty, either one means the embedded database.
  const url = opts.databaseUrl ?? (env.ISPCTL_DATABASE_URL !== undefined ? env.ISPCTL_DATABASE_URL : env.DATABASE_URL);
  if (url !== undefined && url.trim() !== '') {
    validatePostgresUrl(url);
    return { engine: 'postgres', url };
  }
  const dir = dataDir(env);
  return { engine: 'pglite', dataDir: dir, path: join(dir, 'pgdata') };
}

export function validatePostgresUrl(url: string): void {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw errors.databaseUrl('INVALID_DATABASE_URL', redactUrl(url), 'is not a valid URL');
  }
  if (parsed.protocol !== 'postgres:' && parsed.protocol !== 'postgresql:') {
    throw errors.databaseUrl('INVALID_DATABASE_URL', redactUrl(url), `must start with postgres:// or postgresql://, not ${parsed.protocol}//`);
  }
}

/** A URL with its password replaced by ***, for display and logs. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return url.replace(/:\/\/([^:/@]+):[^@]*@/, '://$1:***@');
  }
}

export function describeTarget(target: DatabaseTarget): string {
  return target.engine === 'postgres' ? redactUrl(target.url) : target.path;
}
