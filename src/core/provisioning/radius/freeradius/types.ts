// The options and result of writing a FreeRADIUS configuration (see install.ts).

/** Where distributions install the FreeRADIUS 3 configuration, most likely first. */
export const FREERADIUS_CONFIG_CANDIDATES: readonly string[] = [
  '/etc/freeradius/3.0',
  '/etc/freeradius',
  '/etc/raddb',
  '/usr/local/etc/raddb',
];

export interface FreeRadiusDbOptions {
  host: string;
  port: number;
  user: string;
  password?: string;
  database: string;
}

export interface FreeRadiusListenOptions {
  /** IPv4 or IPv6 address to listen on (`0.0.0.0` or `::` for every address). */
  address: string;
  authPort: number;
  acctPort: number;
}

/** A client written into clients.conf (in addition to, and shadowing, the `nas` table). */
export interface FreeRadiusStaticClient {
  /** Section name: letters, digits, `_`, `-`, `.`. */
  name: string;
  /** IP address or network in CIDR notation. */
  address: string;
  secret: string;
  shortname?: string;
  requireMessageAuthenticator?: boolean;
}

export interface FreeRadiusDynamicClientsOptions {
  /** Networks whose routers are looked up in the `nas` table on first contact. Default: all IPv4. */
  networks?: string[];
  /** Seconds a looked-up client is cached before it is looked up again. Default 600. */
  lifetimeSeconds?: number;
}

export interface FreeRadiusSqlPoolOptions {
  /** Connections opened at start-up; 0 lets FreeRADIUS start while PostgreSQL is down. */
  start?: number;
  min?: number;
  max?: number;
  spare?: number;
}

export interface FreeRadiusConfigOptions {
  /** Directory to write; must not exist or be empty (see `overwrite`). */
  targetDir: string;
  /** Installed configuration to copy. Default: the first of FREERADIUS_CONFIG_CANDIDATES found. */
  sourceDir?: string;
  /** The database FreeRADIUS writes accounting and post-auth to (the primary). */
  db: FreeRadiusDbOptions;
  /**
   * A second database to read subscribers and routers from (authorize and clients), such as a
   * streaming replica of `db`. Written as a second sql module instance (`sql_authorize`); the
   * authorize section tries it first and `db` when it fails. Default: `db` for everything.
   */
  authDb?: FreeRadiusDbOptions;
  listen: FreeRadiusListenOptions;
  /**
   * Comment out `user`/`group` in radiusd.conf so the server keeps the identity it was started
   * with (needed to run it as a non-root user, and for a throwaway root-owned copy). Otherwise,
   * when written by root, the tree is given to the owner of the source's radiusd.conf.
   */
  runAsCurrentUser?: boolean;
  /**
   * Where routers (RADIUS clients) come from. `sql` (default): the `nas` table, read once at
   * start-up (`read_clients = yes`); a new router needs a restart. `dynamic`: looked up in the
   * `nas` table when an unknown address first sends a packet, cached for a lifetime.
   */
  clients?: 'sql' | 'dynamic';
  dynamicClients?: FreeRadiusDynamicClientsOptions;
  /** Extra clients for clients.conf (none by default). */
  staticClients?: FreeRadiusStaticClient[];
  /** Log to `radius.log` in this directory; without it, log to stdout. */
  logDir?: string;
  sqlPool?: FreeRadiusSqlPoolOptions;
  /**
   * Seconds FreeRADIUS waits before sending an Access-Reject (security.reject_delay; the stock
   * value 1 slows down password guessing). 0 answers at once, which tests want.
   */
  rejectDelaySeconds?: number;
  /** Replace an existing FreeRADIUS configuration in targetDir. */
  overwrite?: boolean;
}

export interface FreeRadiusConfig {
  /** Pass as `-d` to freeradius / radiusd. */
  configDir: string;
  sourceDir: string;
  /** `raddbdir`'s log directory (detail files, radwtmp and, with logDir, radius.log). */
  logDir: string;
  /** radius.log, when logging to files. */
  logFile?: string;
  runDir: string;
  pidFile: string;
  listen: FreeRadiusListenOptions;
  clients: 'sql' | 'dynamic';
  /** The sql module instance authorize reads from first, with `authDb`. */
  authInstance?: string;
  /** Files written or edited, relative to configDir. */
  changedFiles: string[];
}

