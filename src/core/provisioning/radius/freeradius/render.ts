// The text ispctl writes into a FreeRADIUS configuration: the sql module's items, listen
// sections, clients.conf, the dynamic-clients virtual server and the Message-Authenticator reply.
// Every value is validated and escaped here, and renderFreeRadiusConfig validates all of them
// before install.ts touches the file system.
import { isIP } from 'node:net';
import { isAbsolute, join, resolve } from 'node:path';
import { invalid } from '../../../errors.js';
import { MARK } from './edit.js';
import { readFreeRadiusSingleQuoted } from './parse.js';
import type { FreeRadiusConfigOptions, FreeRadiusDbOptions } from './types.js';
import { errors } from '../../../error-catalogue.js';

export const DYNAMIC_SERVER = 'ispctl_dynamic_clients';
export const DYNAMIC_SITE = 'ispctl-dynamic-clients';
/** The sql module instance that reads from the authorize database (a replica), with authDb. */
export const AUTH_SQL_INSTANCE = 'sql_authorize';

// ---------------------------------------------------------------------------------------------
// Values

export function rejectControl(what: string, value: string): void {
  // Newlines would end the statement and let a value inject configuration.
  if (/[\u0000-\u001f\u007f]/.test(value)) {
    throw invalid('FREERADIUS_BAD_VALUE', `${what} contains a newline or control character`, [
      `remove control characters from the ${what}`,
    ]);
  }
}

/**
 * A FreeRADIUS single-quoted string (no `${...}` expansion): quotes escaped with a backslash,
 * backslashes left alone, since FreeRADIUS 3 keeps a backslash and the character after it.
 * Rejects control characters, and the few values FreeRADIUS cannot read back (an odd run of
 * backslashes before a quote or at the end).
 */
export function quoteFreeRadiusString(value: string, what = 'value'): string {
  rejectControl(what, value);
  const body = value.replace(/'/g, "\\'");
  if (readFreeRadiusSingleQuoted(body) !== value) {
    throw invalid('FREERADIUS_BAD_VALUE', `${what} ends in a backslash or has a backslash before a quote; FreeRADIUS cannot read it`, [
      `choose a ${what} without that backslash`,
    ]);
  }
  return `'${body}'`;
}

/**
 * rlm_sql_postgresql puts server, login, password and radius_db between single quotes in a
 * libpq connection string without escaping them. Backslashes can be escaped for libpq; a quote
 * cannot get through FreeRADIUS's single-quoted strings as libpq needs it (`\'`).
 */
function libpqValue(what: string, value: string): string {
  if (value.includes("'")) {
    throw invalid('FREERADIUS_BAD_VALUE', `${what} contains a single quote, which FreeRADIUS cannot pass to PostgreSQL`, [
      `choose a ${what} without single quotes`,
      ...(what === 'database password'
        ? ['or leave the password out and give it to FreeRADIUS through PGPASSWORD or a pgpass file']
        : []),
    ]);
  }
  return quoteFreeRadiusString(value.replace(/\\/g, '\\\\'), what);
}

export function checkPort(what: string, port: number): number {
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw invalid('FREERADIUS_BAD_PORT', `${what} must be a port number in 1..65535, got ${String(port)}`);
  }
  return port;
}

export function checkAbsolute(what: string, path: string): string {
  rejectControl(what, path);
  if (!isAbsolute(path)) throw errors.freeRadiusPath(what, path, 'is not an absolute path');
  return resolve(path);
}

export function checkAddress(what: string, address: string): 4 | 6 {
  const family = isIP(address);
  if (family === 0) throw invalid('FREERADIUS_BAD_ADDRESS', `${what} must be an IP address, got ${JSON.stringify(address)}`);
  return family as 4 | 6;
}

export function checkNetwork(what: string, network: string): 4 | 6 {
  const m = /^([^/]+)(?:\/(\d{1,3}))?$/.exec(network);
  const family = m ? isIP(m[1]!) : 0;
  const bits = m?.[2] === undefined ? undefined : Number(m[2]);
  if (!m || family === 0 || (bits !== undefined && bits > (family === 4 ? 32 : 128))) {
    throw invalid('FREERADIUS_BAD_ADDRESS', `${what} must be an IP address or CIDR network, got ${JSON.stringify(network)}`);
  }
  return family as 4 | 6;
}

export function checkNonNegative(what: string, n: number): number {
  if (!Number.isInteger(n) || n < 0) throw invalid('FREERADIUS_BAD_VALUE', `${what} must be a non-negative integer, got ${String(n)}`);
  return n;
}

// ---------------------------------------------------------------------------------------------
// Sections

export function listenBlock(type: 'auth' | 'acct', address: string, port: number): string {
  const addr = checkAddress('listen address', address) === 6 ? `ipv6addr = ${address}` : `ipaddr = ${address}`;
  const limit =
    type === 'auth'
      ? '\t\tlimit {\n\t\t\tmax_connections = 16\n\t\t\tlifetime = 0\n\t\t\tidle_timeout = 30\n\t\t}\n'
      : '\t\tlimit {\n\t\t}\n';
  return `\tlisten {\n\t\ttype = ${type}\n\t\t${addr}\n\t\tport = ${port}\n${limit}\t}\n`;
}

/**
 * The start of post-auth (and of Post-Auth-Type REJECT): authentication is over, so the
 * password and the CHAP response leave the request before the stock post-auth query, which
 * logs '%{%{User-Password}:-%{Chap-Password}}' to radpostauth, runs. The password never reaches
 * the database (nor its statement log or replicas); the database's trigger need not blank it.
 */
export function dropPasswordsBeforePostAuth(indent: string): string {
  return [
    `${indent}# Written by ispctl: the stock post-auth query would log the password (or CHAP response)`,
    `${indent}# in radpostauth; authentication is over, so both leave the request first.`,
    `${indent}update request {`,
    `${indent}	&User-Password !* ANY`,
    `${indent}	&CHAP-Password !* ANY`,
    `${indent}}`,
    '',
  ].join('\n');
}

export function messageAuthenticatorReply(indent: string): string {
  return [
    `${indent}# Written by ispctl: makes FreeRADIUS compute a real Message-Authenticator in the reply;`,
    `${indent}# RouterOS (require-message-auth) drops replies without one.`,
    `${indent}update reply {`,
    `${indent}\t&Message-Authenticator := 0x00`,
    `${indent}}`,
    '',
  ].join('\n');
}

export function clientsConf(options: FreeRadiusConfigOptions): string {
  const lines = [
    MARK,
    '# Routers (RADIUS clients) come from the `nas` table of the ispctl database',
    options.clients === 'dynamic'
      ? `# when they first send a packet (virtual server ${DYNAMIC_SERVER}).`
      : '# (read_clients = yes in mods-enabled/sql), read once at start-up.',
    '# A client defined in this file for the same address shadows the table entry; the stock',
    '# localhost client was removed for that reason.',
    '',
  ];
  for (const c of options.staticClients ?? []) {
    if (!/^[A-Za-z0-9_.-]+$/.test(c.name)) {
      throw invalid('FREERADIUS_BAD_VALUE', `client name ${JSON.stringify(c.name)} may hold only letters, digits, "_", "-" and "."`);
    }
    const family = checkNetwork(`address of client ${c.name}`, c.address);
    lines.push(
      `client ${c.name} {`,
      `\t${family === 6 ? 'ipv6addr' : 'ipaddr'} = ${c.address}`,
      `\tsecret = ${quoteFreeRadiusString(c.secret, `secret of client ${c.name}`)}`,
      `\tshortname = ${quoteFreeRadiusString(c.shortname ?? c.name, `shortname of client ${c.name}`)}`,
      `\tnas_type = other`,
      `\trequire_message_authenticator = ${c.requireMessageAuthenticator ? 'yes' : 'no'}`,
      '}',
      '',
    );
  }
  if (options.clients === 'dynamic') {
    const lifetime = checkNonNegative('dynamic client lifetime', options.dynamicClients?.lifetimeSeconds ?? 600);
    const networks = options.dynamicClients?.networks ?? ['0.0.0.0/0'];
    networks.forEach((net, k) => {
      const family = checkNetwork('dynamic client network', net);
      lines.push(
        `client ispctl_dynamic_${k} {`,
        `\t${family === 6 ? 'ipv6addr' : 'ipaddr'} = ${net}`,
        `\tdynamic_clients = ${DYNAMIC_SERVER}`,
        `\tlifetime = ${lifetime}`,
        '}',
        '',
      );
    });
  }
  return lines.join('\n');
}

export function dynamicClientsSite(sqlInstance = 'sql'): string {
  const q = (column: string) => `%{${sqlInstance}: SELECT ${column} FROM nas WHERE nasname = '%{Packet-Src-IP-Address}' LIMIT 1}`;
  return [
    MARK,
    '# Looks up a router that is not yet a known client in the `nas` table. FreeRADIUS caches it',
    '# for the lifetime set in clients.conf; unknown addresses stay unknown.',
    `server ${DYNAMIC_SERVER} {`,
    '\tauthorize {',
    `\t\tif ("${q('nasname')}") {`,
    '\t\t\tupdate control {',
    '\t\t\t\t&FreeRADIUS-Client-IP-Address = "%{Packet-Src-IP-Address}"',
    `\t\t\t\t&FreeRADIUS-Client-Shortname = "${q('shortname')}"`,
    `\t\t\t\t&FreeRADIUS-Client-Secret = "${q('secret')}"`,
    `\t\t\t\t&FreeRADIUS-Client-NAS-Type = "${q('type')}"`,
    '\t\t\t}',
    '\t\t\tok',
    '\t\t}',
    '\t\telse {',
    '\t\t\tfail',
    '\t\t}',
    '\t}',
    '}',
    '',
  ].join('\n');
}


// ---------------------------------------------------------------------------------------------
// The whole configuration, validated

/**
 * The authorize section's call of the sql module with a read database: its instance first,
 * the primary (`sql`) when it fails (unreachable, or a query error); a subscriber it does not
 * know is not looked up again.
 */
export function authorizeFromReplica(indent: string): string {
  return [
    `${indent}${MARK} Subscribers are read from ${AUTH_SQL_INSTANCE} (the read database, e.g. a streaming`,
    `${indent}# replica); when it fails, from sql (the primary). Accounting and post-auth use sql only.`,
    `${indent}redundant {`,
    `${indent}\t${AUTH_SQL_INSTANCE}`,
    `${indent}\tsql`,
    `${indent}}`,
    '',
  ].join('\n');
}

/** Everything install.ts writes, every value validated and quoted; no file touched yet. */
export interface RenderedFreeRadiusConfig {
  targetDir: string;
  logDir: string;
  runDir: string;
  pidFile: string;
  clients: 'sql' | 'dynamic';
  /** Top-level items of radiusd.conf (raddbdir, logdir, run_dir, pidfile). */
  radiusd: Record<string, string>;
  /** Items of radiusd.conf's `log` section. */
  log: Record<string, string>;
  /** Items of radiusd.conf's `security` section (none: left as installed). */
  security: Record<string, string>;
  /** Items of the sql module. */
  sql: Record<string, string>;
  /** Items of the sql module's `pool` section (none: left as installed). */
  pool: Record<string, string>;
  /** Items of the second sql instance (AUTH_SQL_INSTANCE), with authDb. */
  authSql?: Record<string, string>;
  clientsConf: string;
  /** The listen sections put at the top of `server default`. */
  listen: string;
  /** The dynamic-clients virtual server, with clients `dynamic`. */
  dynamicSite?: string;
}

/** The sql module items for a database: rlm_sql_postgresql and the libpq connection values. */
export function sqlItems(db: FreeRadiusDbOptions, readClients: boolean): Record<string, string> {
  checkPort('database port', db.port);
  if (!db.host) throw invalid('FREERADIUS_BAD_VALUE', 'database host is empty');
  if (!db.user) throw invalid('FREERADIUS_BAD_VALUE', 'database user is empty');
  if (!db.database) throw invalid('FREERADIUS_BAD_VALUE', 'database name is empty');
  if (db.database.includes('=')) {
    throw invalid('FREERADIUS_BAD_VALUE', `database name ${JSON.stringify(db.database)} contains "="; FreeRADIUS would read it as a connection string`);
  }
  return {
    dialect: '"postgresql"',
    driver: '"rlm_sql_${dialect}"',
    server: libpqValue('database host', db.host),
    port: String(db.port),
    login: libpqValue('database user', db.user),
    password: libpqValue('database password', db.password ?? ''),
    radius_db: libpqValue('database name', db.database),
    read_clients: readClients ? 'yes' : 'no',
    client_table: '"nas"',
  };
}

/**
 * Validates every option and renders what install.ts writes. `targetDir` must already be an
 * absolute path (checkAbsolute).
 */
export function renderFreeRadiusConfig(options: FreeRadiusConfigOptions, targetDir: string): RenderedFreeRadiusConfig {
  const clients = options.clients ?? 'sql';
  const { db, listen } = options;
  checkAddress('listen address', listen.address);
  checkPort('authentication port', listen.authPort);
  checkPort('accounting port', listen.acctPort);
  if (listen.authPort === listen.acctPort) throw invalid('FREERADIUS_BAD_PORT', 'authentication and accounting ports must differ');
  const sql = sqlItems(db, clients === 'sql' && options.authDb === undefined);
  // Clients come from the read database too; the group comparison needs a name of its own.
  const authSql = options.authDb
    ? { ...sqlItems(options.authDb, clients === 'sql'), group_attribute: `"${AUTH_SQL_INSTANCE}-SQL-Group"` }
    : undefined;
  const pool: Record<string, string> = {};
  for (const k of ['start', 'min', 'max', 'spare'] as const) {
    const v = options.sqlPool?.[k];
    if (v !== undefined) pool[k] = String(checkNonNegative(`sql pool ${k}`, v));
  }
  const security: Record<string, string> = {};
  if (options.rejectDelaySeconds !== undefined) {
    const rejectDelay = checkNonNegative('reject delay', options.rejectDelaySeconds);
    if (rejectDelay > 5) throw invalid('FREERADIUS_BAD_VALUE', `reject delay must be at most 5 seconds, got ${rejectDelay}`);
    security.reject_delay = String(rejectDelay);
  }
  const logDir = options.logDir ? checkAbsolute('log directory', options.logDir) : join(targetDir, 'log');
  const runDir = join(targetDir, 'run');
  const pidFile = join(runDir, 'radiusd.pid');
  for (const c of options.staticClients ?? []) rejectControl('client secret', c.secret);
  const rendered: RenderedFreeRadiusConfig = {
    targetDir,
    logDir,
    runDir,
    pidFile,
    clients,
    radiusd: {
      raddbdir: quoteFreeRadiusString(targetDir, 'target directory'),
      logdir: quoteFreeRadiusString(logDir, 'log directory'),
      run_dir: quoteFreeRadiusString(runDir, 'run directory'),
      pidfile: quoteFreeRadiusString(pidFile, 'pid file'),
    },
    log: options.logDir
      ? { destination: 'files', file: '"${logdir}/radius.log"', colourise: 'no' }
      : { destination: 'stdout', colourise: 'no' },
    security,
    sql,
    pool,
    ...(authSql ? { authSql } : {}),
    clientsConf: clientsConf({ ...options, clients }),
    listen: `\t${MARK} Listen only where ispctl was told to.\n${listenBlock('auth', listen.address, listen.authPort)}${listenBlock('acct', listen.address, listen.acctPort)}`,
  };
  if (clients === 'dynamic') rendered.dynamicSite = dynamicClientsSite(authSql ? AUTH_SQL_INSTANCE : 'sql');
  return rendered;
}
