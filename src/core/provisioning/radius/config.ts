// `ispctl radius config`: a FreeRADIUS configuration that serves ispctl's PostgreSQL database
// (the views of migration 20261124030000_radius), written with writeFreeRadiusConfig, and the
// published NAS secrets brought up to date so the `nas` view lists every radius-mode router.
import { resolve } from 'node:path';
import type { ServiceContext } from '../../context.js';
import { redactUrl, resolveTarget, validatePostgresUrl, type DatabaseTarget } from '../../db/config.js';
import { IspctlError } from '../../errors.js';
import { syncNasSecrets } from './nas-secret.js';
import { radiusReloadCommand } from './reload.js';
import { writeFreeRadiusConfig, type FreeRadiusConfig, type FreeRadiusDbOptions } from './freeradius-config.js';
import { errors } from '../../error-catalogue.js';

export interface RadiusConfigOptions {
  /** Directory to write (created; must be empty unless `force`). */
  outDir: string;
  /** Address FreeRADIUS listens on. Default 0.0.0.0. */
  listen?: string;
  authPort?: number;
  acctPort?: number;
  clients?: 'sql' | 'dynamic';
  /** Networks dynamic clients may come from. Default: every IPv4 address. */
  dynamicNetworks?: string[];
  /** The URL ispctl itself uses (default: DATABASE_URL from the context's environment). */
  databaseUrl?: string;
  /** URL FreeRADIUS connects with (its own role). Default: the URL ispctl uses. */
  radiusDbUrl?: string;
  /**
   * URL FreeRADIUS reads subscribers and routers from (authorize, clients): a streaming replica
   * of the primary. Accounting and post-auth still go to `radiusDbUrl`. Default: none (one
   * database for everything).
   */
  radiusAuthDbUrl?: string;
  /** Replace an earlier configuration in outDir. */
  force?: boolean;
  /** Installed FreeRADIUS configuration to copy. Default: detected (/etc/freeradius/3.0, ...). */
  sourceDir?: string;
  /** Comment out user/group: FreeRADIUS keeps the identity it is started with. */
  runAsCurrentUser?: boolean;
}

export interface RadiusConfigResult {
  configDir: string;
  sourceDir: string;
  listen: { address: string; authPort: number; acctPort: number };
  clients: 'sql' | 'dynamic';
  /** How FreeRADIUS reaches the database (password masked). */
  database: { url: string; host: string; port: number; user: string; database: string };
  /** Where FreeRADIUS reads subscribers and routers from, when not `database` (password masked). */
  authDatabase: { url: string; host: string; port: number; user: string; database: string; instance: string } | null;
  /** Radius-mode routers FreeRADIUS will know (from the nas view). */
  routers: Array<{ name: string; nasAddress: string }>;
  /** Routers whose published secret was missing or stale and has been published now. */
  publishedSecrets: string[];
  /** The reload command ispctl runs after router changes, if set. */
  reloadCommand: string | null;
  changedFiles: string[];
  pidFile: string;
  logDir: string;
  warnings: string[];
}

/** The parts of a PostgreSQL URL FreeRADIUS's sql module takes. */
export function freeRadiusDbFromUrl(url: string): FreeRadiusDbOptions {
  validatePostgresUrl(url);
  const u = new URL(url);
  const socketHost = u.searchParams.get('host');
  const host = u.hostname !== '' ? u.hostname.replace(/^\[(.*)\]$/, '$1') : (socketHost ?? '');
  const database = decodeURIComponent(u.pathname.replace(/^\//, ''));
  const user = decodeURIComponent(u.username);
  const missing = !host ? 'host' : !user ? 'user' : !database ? 'database' : undefined;
  if (missing) throw errors.databaseUrl('RADIUS_DB_URL', redactUrl(url), `names no ${missing}; FreeRADIUS needs one`);
  return {
    host,
    port: u.port ? Number(u.port) : 5432,
    user,
    ...(u.password ? { password: decodeURIComponent(u.password) } : {}),
    database,
  };
}

function radiusNeedsPostgres(): IspctlError {
  return new IspctlError('RADIUS_NEEDS_POSTGRES', 'RADIUS mode needs PostgreSQL: FreeRADIUS must connect to the database ispctl uses, and this is the embedded database.', {
    kind: 'invalid',
    suggestions: [
      'Set DATABASE_URL (or --database-url) to a PostgreSQL database, run ispctl db migrate there, then ispctl radius config again',
      'See docs/radius-mode.md',
    ],
  });
}

/**
 * Refuses the embedded database before anything is opened: checked from the target alone, so
 * the refusal neither creates nor migrates an embedded database first.
 */
export function assertRadiusTarget(target: DatabaseTarget): void {
  if (target.engine !== 'postgres') throw radiusNeedsPostgres();
}

/**
 * Writes the FreeRADIUS configuration. Refuses on the embedded database: FreeRADIUS is another
 * process and needs a PostgreSQL server.
 */
export async function writeRadiusConfig(ctx: ServiceContext, opts: RadiusConfigOptions): Promise<RadiusConfigResult> {
  const target = resolveTarget({ databaseUrl: opts.databaseUrl, env: ctx.env });
  if (ctx.engine !== 'postgres' || target.engine !== 'postgres') throw radiusNeedsPostgres();
  const radiusUrl = opts.radiusDbUrl ?? target.url;
  const db = freeRadiusDbFromUrl(radiusUrl);
  const mine = freeRadiusDbFromUrl(target.url);
  const warnings: string[] = [];
  if (opts.radiusDbUrl && db.database !== mine.database) {
    warnings.push(`FreeRADIUS will use database ${db.database}, but ispctl uses ${mine.database}; they must be the same database.`);
  }
  const authDb = opts.radiusAuthDbUrl ? freeRadiusDbFromUrl(opts.radiusAuthDbUrl) : undefined;
  if (authDb && authDb.database !== mine.database) {
    warnings.push(`FreeRADIUS will read subscribers from database ${authDb.database}, but ispctl uses ${mine.database}; a replica has the same database name as its primary.`);
  }
  if (opts.radiusDbUrl === undefined && ['postgres'].includes(db.user)) {
    warnings.push(`FreeRADIUS will connect as ${db.user}, a superuser. Give it a role of its own (see docs/radius-mode.md) and pass --radius-db-url.`);
  }

  // The nas view lists only routers whose secret is published; repair what is missing first.
  const sync = await syncNasSecrets(ctx);
  const routers: Array<{ name: string; nas_address: string }> = await ctx
    .db('nas')
    .join('routers', 'routers.id', 'nas.id')
    .orderBy('routers.name')
    .select('routers.name', 'nas.nasname as nas_address');
  const radiusRouters: Array<{ name: string }> = await ctx.db('routers').where({ mode: 'radius' }).select('name');
  if (radiusRouters.length === 0) warnings.push('No router is in radius mode yet: FreeRADIUS will know no client. Add one with ispctl router add … --mode radius.');

  const outDir = resolve(opts.outDir);
  if (outDir === '/etc/freeradius' || outDir.startsWith('/etc/freeradius/')) {
    warnings.push(`${outDir} is read-only for the packaged freeradius.service (ReadOnlyDirectories=/etc/freeradius/), and this configuration keeps its logs and pid file in its own directory; prefer a directory such as /var/lib/ispctl/freeradius.`);
  }
  const clients = opts.clients ?? 'sql';
  const written: FreeRadiusConfig = await writeFreeRadiusConfig({
    targetDir: outDir,
    ...(opts.sourceDir ? { sourceDir: resolve(opts.sourceDir) } : {}),
    db,
    ...(authDb ? { authDb } : {}),
    listen: { address: opts.listen ?? '0.0.0.0', authPort: opts.authPort ?? 1812, acctPort: opts.acctPort ?? 1813 },
    clients,
    ...(clients === 'dynamic' && opts.dynamicNetworks?.length ? { dynamicClients: { networks: opts.dynamicNetworks } } : {}),
    overwrite: opts.force ?? false,
    runAsCurrentUser: opts.runAsCurrentUser ?? false,
  });
  const reload = await radiusReloadCommand(ctx.db);
  if (clients === 'sql' && reload === undefined && radiusRouters.length > 0) {
    warnings.push('FreeRADIUS reads routers only at start-up (clients sql). Set radius-reload-command so ispctl restarts it after router changes, or use --clients dynamic.');
  }
  const masked = (url: string) => {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  };
  return {
    configDir: written.configDir,
    sourceDir: written.sourceDir,
    listen: written.listen,
    clients,
    database: { url: masked(radiusUrl), host: db.host, port: db.port, user: db.user, database: db.database },
    authDatabase:
      authDb && opts.radiusAuthDbUrl && written.authInstance
        ? { url: masked(opts.radiusAuthDbUrl), host: authDb.host, port: authDb.port, user: authDb.user, database: authDb.database, instance: written.authInstance }
        : null,
    routers: routers.map((r) => ({ name: r.name, nasAddress: r.nas_address })),
    publishedSecrets: sync.published,
    reloadCommand: reload ?? null,
    changedFiles: written.changedFiles,
    pidFile: written.pidFile,
    logDir: written.logDir,
    warnings,
  };
}
