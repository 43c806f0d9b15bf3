// Writes a FreeRADIUS 3.x configuration that serves ispctl's subscribers from its PostgreSQL
// database: a copy of the installed configuration tree, edited. The copy uses the stock sql
// module and the stock PostgreSQL queries.conf unchanged; ispctl presents radcheck, radreply,
// radgroupcheck, radgroupreply, radusergroup and nas as views in the stock column layout.
//
// Used by `ispctl radius config` and by the test harness.

import { accessSync, constants as fsConstants, existsSync } from 'node:fs';
import { chown, cp, lstat, mkdir, readFile, readdir, readlink, rm, stat, symlink, unlink, writeFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { invalid, IspctlError } from '../../errors.js';

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
  db: FreeRadiusDbOptions;
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
  /** Files written or edited, relative to configDir. */
  changedFiles: string[];
}

const MARK = '# Written by ispctl.';
const DYNAMIC_SERVER = 'ispctl_dynamic_clients';
const DYNAMIC_SITE = 'ispctl-dynamic-clients';

// ---------------------------------------------------------------------------------------------
// Values written into configuration

function rejectControl(what: string, value: string): void {
  // Newlines would end the statement and let a value inject configuration.
  if (/[\u0000-\u001f\u007f]/.test(value)) {
    throw invalid('FREERADIUS_BAD_VALUE', `${what} contains a newline or control character`, [
      `remove control characters from the ${what}`,
    ]);
  }
}

/**
 * What FreeRADIUS 3 reads from the body of a single-quoted string: a backslash and the next
 * character stay as they are, except that `\'` is a quote; an unescaped `'` ends the string.
 * Undefined when the string would end early or never end.
 */
export function readFreeRadiusSingleQuoted(body: string): string | undefined {
  let out = '';
  for (let i = 0; i < body.length; i++) {
    const c = body[i]!;
    if (c === "'") return undefined;
    if (c === '\\') {
      const next = body[i + 1];
      if (next === undefined) return undefined; // would escape the closing quote
      out += next === "'" ? "'" : c + next;
      i++;
    } else {
      out += c;
    }
  }
  return out;
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

function checkPort(what: string, port: number): number {
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw invalid('FREERADIUS_BAD_PORT', `${what} must be a port number in 1..65535, got ${String(port)}`);
  }
  return port;
}

function checkAbsolute(what: string, path: string): string {
  rejectControl(what, path);
  if (!isAbsolute(path)) throw invalid('FREERADIUS_BAD_PATH', `${what} must be an absolute path, got ${JSON.stringify(path)}`);
  return resolve(path);
}

function checkAddress(what: string, address: string): 4 | 6 {
  const family = isIP(address);
  if (family === 0) throw invalid('FREERADIUS_BAD_ADDRESS', `${what} must be an IP address, got ${JSON.stringify(address)}`);
  return family as 4 | 6;
}

function checkNetwork(what: string, network: string): 4 | 6 {
  const m = /^([^/]+)(?:\/(\d{1,3}))?$/.exec(network);
  const family = m ? isIP(m[1]!) : 0;
  const bits = m?.[2] === undefined ? undefined : Number(m[2]);
  if (!m || family === 0 || (bits !== undefined && bits > (family === 4 ? 32 : 128))) {
    throw invalid('FREERADIUS_BAD_ADDRESS', `${what} must be an IP address or CIDR network, got ${JSON.stringify(network)}`);
  }
  return family as 4 | 6;
}

function checkNonNegative(what: string, n: number): number {
  if (!Number.isInteger(n) || n < 0) throw invalid('FREERADIUS_BAD_VALUE', `${what} must be a non-negative integer, got ${String(n)}`);
  return n;
}

// ---------------------------------------------------------------------------------------------
// A small, comment- and quote-aware view of FreeRADIUS configuration text

interface Block {
  /** Text before `{`, trimmed (e.g. `server default`, `listen`, `Post-Auth-Type REJECT`). */
  header: string;
  /** Index of the first character of the header's line. */
  lineStart: number;
  /** Index of `{`. */
  open: number;
  /** Index of the matching `}`. */
  close: number;
}

function skipQuoted(text: string, i: number): number {
  const q = text[i];
  let j = i + 1;
  while (j < text.length && text[j] !== q) {
    if (text[j] === '\\') j++;
    if (text[j] === '\n') break; // unterminated: stop at the end of the line
    j++;
  }
  return j + 1;
}

function skipExpansion(text: string, i: number): number {
  // i is at `$` or `%`, followed by `{`; expansions nest.
  let depth = 0;
  let j = i + 1;
  while (j < text.length) {
    const c = text[j];
    if (c === '{') depth++;
    else if (c === '}') {
      depth--;
      if (depth === 0) return j + 1;
    } else if (c === '"' || c === "'" || c === '`') {
      j = skipQuoted(text, j);
      continue;
    } else if (c === '\n') return j;
    j++;
  }
  return j;
}

/** The blocks directly inside [from, to): nested blocks are not listed. */
function blocksIn(text: string, from = 0, to = text.length): Block[] {
  const blocks: Block[] = [];
  let depth = 0;
  let lineStart = from;
  let headerLine = from;
  let open = -1;
  let i = from;
  while (i < to) {
    const c = text[i]!;
    if (c === '#') {
      while (i < to && text[i] !== '\n') i++;
      continue;
    }
    if (c === '"' || c === "'" || c === '`') {
      i = skipQuoted(text, i);
      continue;
    }
    if ((c === '$' || c === '%') && text[i + 1] === '{') {
      i = skipExpansion(text, i);
      continue;
    }
    if (c === '\n') {
      lineStart = i + 1;
    } else if (c === '{') {
      if (depth === 0) {
        open = i;
        headerLine = lineStart;
      }
      depth++;
    } else if (c === '}') {
      depth--;
      if (depth < 0) throw new Error(`unbalanced } at offset ${i}`);
      if (depth === 0) blocks.push({ header: text.slice(headerLine, open).trim(), lineStart: headerLine, open, close: i });
    }
    i++;
  }
  if (depth !== 0) throw new Error('unbalanced { in configuration');
  return blocks;
}

function headerIs(block: Block, pattern: RegExp): boolean {
  return pattern.test(block.header.replace(/\s+/g, ' '));
}

function findBlock(text: string, pattern: RegExp, inside?: Block): Block | undefined {
  const from = inside ? inside.open + 1 : 0;
  const to = inside ? inside.close : text.length;
  return blocksIn(text, from, to).find((b) => headerIs(b, pattern));
}

function requireBlock(file: string, text: string, pattern: RegExp, inside?: Block): Block {
  const b = findBlock(text, pattern, inside);
  if (!b) throw configError(`${file}: no section matching ${pattern} found; is this a FreeRADIUS 3 configuration?`);
  return b;
}

/** End index (exclusive) of a block including the rest of its closing line. */
function blockEnd(text: string, block: Block): number {
  const nl = text.indexOf('\n', block.close);
  return nl === -1 ? text.length : nl + 1;
}

function removeBlock(text: string, block: Block): string {
  return text.slice(0, block.lineStart) + text.slice(blockEnd(text, block));
}

function insertAfterOpen(text: string, block: Block, lines: string): string {
  const nl = text.indexOf('\n', block.open);
  const at = nl === -1 ? block.open + 1 : nl + 1;
  return text.slice(0, at) + lines + text.slice(at);
}

/** Remove every block (at any depth) whose header matches. */
function removeBlocksDeep(text: string, pattern: RegExp, from = 0, to = text.length): string {
  const blocks = blocksIn(text, from, to);
  for (let k = blocks.length - 1; k >= 0; k--) {
    const b = blocks[k]!;
    if (headerIs(b, pattern)) text = removeBlock(text, b);
    else text = removeBlocksDeep(text, pattern, b.open + 1, b.close);
  }
  return text;
}

/** Lines directly in a block (depth 1) that assign one of `keys`, as [start, end) ranges. */
function assignmentsIn(text: string, block: Block, keys: readonly string[]): [number, number][] {
  const nested = blocksIn(text, block.open + 1, block.close);
  const inNested = (i: number) => nested.some((b) => i >= b.lineStart && i <= b.close);
  const out: [number, number][] = [];
  const re = new RegExp(`^[ \\t]*(?:${keys.map((k) => k.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|')})[ \\t]*=.*$`, 'gm');
  const body = text.slice(block.open + 1, block.close);
  for (const m of body.matchAll(re)) {
    const start = block.open + 1 + m.index;
    if (inNested(start)) continue;
    const end = start + m[0].length;
    out.push([start, text[end] === '\n' ? end + 1 : end]);
  }
  return out;
}

/** Replace the assignments of `values`' keys directly in a block by the given ones. */
function setItems(text: string, block: Block, values: Record<string, string>, indent: string): string {
  const keys = Object.keys(values);
  const ranges = assignmentsIn(text, block, keys);
  for (let k = ranges.length - 1; k >= 0; k--) {
    const [s, e] = ranges[k]!;
    text = text.slice(0, s) + text.slice(e);
  }
  const b = { ...block, close: block.close - ranges.reduce((n, [s, e]) => n + (e - s), 0) };
  const lines = keys.map((k) => `${indent}${k} = ${values[k]}\n`).join('');
  return insertAfterOpen(text, b, `${indent}${MARK}\n${lines}`);
}

/** Comment out top-level-in-block assignments of `keys`. */
function commentItems(text: string, block: Block, keys: readonly string[]): string {
  const ranges = assignmentsIn(text, block, keys);
  for (let k = ranges.length - 1; k >= 0; k--) {
    const [s] = ranges[k]!;
    text = `${text.slice(0, s)}#  (commented out by ispctl) ${text.slice(s).replace(/^[ \t]*/, '')}`;
  }
  return text;
}

/** Replace a top-level `key = value` line (outside any section). */
function setTopLevel(file: string, text: string, key: string, value: string): string {
  const blocks = blocksIn(text);
  const re = new RegExp(`^${key}[ \\t]*=.*$`, 'gm');
  for (const m of text.matchAll(re)) {
    if (blocks.some((b) => m.index > b.lineStart && m.index < b.close)) continue;
    return `${text.slice(0, m.index)}${key} = ${value}\t${MARK}${text.slice(m.index + m[0].length)}`;
  }
  throw configError(`${file}: no top-level "${key} =" found; is this a FreeRADIUS 3 configuration?`);
}

function removeEapCalls(text: string): string {
  text = removeBlocksDeep(text, /^-?eap$/);
  return text.replace(/^[ \t]*-?eap[ \t]*(?:#.*)?\r?\n/gm, '');
}

function configError(message: string): IspctlError {
  return new IspctlError('FREERADIUS_CONFIG', message, {
    suggestions: ['point sourceDir at a stock FreeRADIUS 3 configuration directory (the one holding radiusd.conf)'],
  });
}

// ---------------------------------------------------------------------------------------------
// Generated sections

function listenBlock(type: 'auth' | 'acct', address: string, port: number): string {
  const addr = checkAddress('listen address', address) === 6 ? `ipv6addr = ${address}` : `ipaddr = ${address}`;
  const limit =
    type === 'auth'
      ? '\t\tlimit {\n\t\t\tmax_connections = 16\n\t\t\tlifetime = 0\n\t\t\tidle_timeout = 30\n\t\t}\n'
      : '\t\tlimit {\n\t\t}\n';
  return `\tlisten {\n\t\ttype = ${type}\n\t\t${addr}\n\t\tport = ${port}\n${limit}\t}\n`;
}

function messageAuthenticatorReply(indent: string): string {
  return [
    `${indent}# Written by ispctl: makes FreeRADIUS compute a real Message-Authenticator in the reply;`,
    `${indent}# RouterOS (require-message-auth) drops replies without one.`,
    `${indent}update reply {`,
    `${indent}\t&Message-Authenticator := 0x00`,
    `${indent}}`,
    '',
  ].join('\n');
}

function clientsConf(options: FreeRadiusConfigOptions): string {
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

function dynamicClientsSite(): string {
  const q = (column: string) => `%{sql: SELECT ${column} FROM nas WHERE nasname = '%{Packet-Src-IP-Address}' LIMIT 1}`;
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
// Files

function probe(path: string): 'ok' | 'missing' | 'denied' {
  try {
    accessSync(path, fsConstants.R_OK);
    return 'ok';
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return code === 'EACCES' || code === 'EPERM' ? 'denied' : 'missing';
  }
}

/**
 * The first candidate directory holding a radiusd.conf, including one this user may not read
 * (writeFreeRadiusConfig then says so).
 */
export function detectFreeRadiusConfigDir(candidates: readonly string[] = FREERADIUS_CONFIG_CANDIDATES): string | undefined {
  return candidates.find((d) => probe(join(d, 'radiusd.conf')) !== 'missing');
}

async function isEmptyDir(dir: string): Promise<boolean> {
  try {
    return (await readdir(dir)).length === 0;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return true;
    throw err;
  }
}

function inside(parent: string, child: string): boolean {
  const rel = relative(parent, child);
  return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel));
}

/** Make absolute symlinks into the source tree point into the copy instead. */
async function relinkCopies(dir: string, sourceDir: string, targetDir: string): Promise<void> {
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name);
    if (entry.isSymbolicLink()) {
      const to = await readlink(p);
      if (isAbsolute(to) && inside(sourceDir, to)) {
        const mapped = join(targetDir, relative(sourceDir, to));
        await unlink(p);
        await symlink(relative(dirname(p), mapped), p);
      }
    } else if (entry.isDirectory()) {
      await relinkCopies(p, sourceDir, targetDir);
    }
  }
}

async function chownTree(path: string, uid: number, gid: number): Promise<void> {
  const st = await lstat(path);
  if (st.isSymbolicLink()) return;
  await chown(path, uid, gid);
  if (st.isDirectory()) for (const e of await readdir(path)) await chownTree(join(path, e), uid, gid);
}

/** The regular file a site or module link points to (inside the copy), or the path itself. */
async function realFileIn(configDir: string, path: string): Promise<string> {
  const st = await lstat(path);
  if (!st.isSymbolicLink()) return path;
  const to = await readlink(path);
  const target = resolve(dirname(path), to);
  if (!inside(configDir, target)) throw configError(`${path} points outside the configuration (${to})`);
  return target;
}

/**
 * Copy the installed FreeRADIUS configuration to `targetDir` and edit the copy so that it serves
 * ispctl's database: sql module on PostgreSQL with `read_clients`, eap and inner-tunnel removed,
 * stock clients removed, listen sections on the given address and ports, Message-Authenticator
 * in every Access-Accept and Access-Reject, logs, pid file and run directory inside the copy.
 */
export async function writeFreeRadiusConfig(options: FreeRadiusConfigOptions): Promise<FreeRadiusConfig> {
  // Validate everything before touching the file system.
  const targetDir = checkAbsolute('target directory', options.targetDir);
  const sourceDir = options.sourceDir ? checkAbsolute('source directory', options.sourceDir) : detectFreeRadiusConfigDir();
  const found = sourceDir ? probe(join(sourceDir, 'radiusd.conf')) : 'missing';
  if (found === 'denied') {
    throw new IspctlError('FREERADIUS_UNREADABLE', `cannot read the FreeRADIUS configuration in ${sourceDir}`, {
      suggestions: ['run as root, or as a user in the group that owns the FreeRADIUS configuration (freerad on Debian)'],
    });
  }
  if (!sourceDir || found === 'missing') {
    throw new IspctlError('FREERADIUS_NOT_FOUND', `no FreeRADIUS configuration (radiusd.conf) found in ${sourceDir ?? FREERADIUS_CONFIG_CANDIDATES.join(', ')}`, {
      kind: 'not_found',
      suggestions: ['install FreeRADIUS 3 (Debian: apt install freeradius freeradius-postgresql)', 'or pass the configuration directory'],
    });
  }
  if (inside(sourceDir, targetDir) || inside(targetDir, sourceDir)) {
    throw invalid('FREERADIUS_BAD_PATH', `target directory ${targetDir} must be outside the source configuration ${sourceDir}`);
  }
  const clients = options.clients ?? 'sql';
  const { db, listen } = options;
  checkAddress('listen address', listen.address);
  checkPort('authentication port', listen.authPort);
  checkPort('accounting port', listen.acctPort);
  if (listen.authPort === listen.acctPort) throw invalid('FREERADIUS_BAD_PORT', 'authentication and accounting ports must differ');
  checkPort('database port', db.port);
  if (!db.host) throw invalid('FREERADIUS_BAD_VALUE', 'database host is empty');
  if (!db.user) throw invalid('FREERADIUS_BAD_VALUE', 'database user is empty');
  if (!db.database) throw invalid('FREERADIUS_BAD_VALUE', 'database name is empty');
  if (db.database.includes('=')) {
    throw invalid('FREERADIUS_BAD_VALUE', `database name ${JSON.stringify(db.database)} contains "="; FreeRADIUS would read it as a connection string`);
  }
  const sqlItems: Record<string, string> = {
    dialect: '"postgresql"',
    driver: '"rlm_sql_${dialect}"',
    server: libpqValue('database host', db.host),
    port: String(db.port),
    login: libpqValue('database user', db.user),
    password: libpqValue('database password', db.password ?? ''),
    radius_db: libpqValue('database name', db.database),
    read_clients: clients === 'sql' ? 'yes' : 'no',
    client_table: '"nas"',
  };
  const poolItems: Record<string, string> = {};
  for (const k of ['start', 'min', 'max', 'spare'] as const) {
    const v = options.sqlPool?.[k];
    if (v !== undefined) poolItems[k] = String(checkNonNegative(`sql pool ${k}`, v));
  }
  const rejectDelay = options.rejectDelaySeconds === undefined ? undefined : checkNonNegative('reject delay', options.rejectDelaySeconds);
  if (rejectDelay !== undefined && rejectDelay > 5) throw invalid('FREERADIUS_BAD_VALUE', `reject delay must be at most 5 seconds, got ${rejectDelay}`);
  const logDir = options.logDir ? checkAbsolute('log directory', options.logDir) : join(targetDir, 'log');
  const runDir = join(targetDir, 'run');
  const pidFile = join(runDir, 'radiusd.pid');
  for (const c of options.staticClients ?? []) rejectControl('client secret', c.secret);
  const clientsText = clientsConf({ ...options, clients });
  const listenText = `\t${MARK} Listen only where ispctl was told to.\n${listenBlock('auth', listen.address, listen.authPort)}${listenBlock('acct', listen.address, listen.acctPort)}`;

  // Prepare the target.
  if (!(await isEmptyDir(targetDir))) {
    if (!options.overwrite) {
      throw invalid('FREERADIUS_TARGET_NOT_EMPTY', `${targetDir} is not empty`, ['choose an empty or new directory, or allow overwriting']);
    }
    if (!existsSync(join(targetDir, 'radiusd.conf'))) {
      throw invalid('FREERADIUS_TARGET_NOT_EMPTY', `${targetDir} is not empty and holds no FreeRADIUS configuration; refusing to replace it`);
    }
    await rm(targetDir, { recursive: true, force: true });
  }
  await mkdir(dirname(targetDir), { recursive: true });
  try {
    await cp(sourceDir, targetDir, {
      recursive: true,
      verbatimSymlinks: true,
      // Certificates and keys only serve EAP, which this configuration removes; do not copy keys.
      filter: (src) => !inside(join(sourceDir, 'certs'), src) || src === join(sourceDir, 'certs'),
    });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'EACCES' && code !== 'EPERM') throw err;
    await rm(targetDir, { recursive: true, force: true });
    throw new IspctlError('FREERADIUS_UNREADABLE', `cannot read the FreeRADIUS configuration in ${sourceDir}: ${(err as Error).message}`, {
      cause: err,
      suggestions: ['run as root, or as a user in the group that owns the FreeRADIUS configuration (freerad on Debian)'],
    });
  }
  await relinkCopies(targetDir, sourceDir, targetDir);
  await mkdir(logDir, { recursive: true, mode: 0o750 });
  await mkdir(runDir, { recursive: true, mode: 0o750 });
  await mkdir(join(logDir, 'radacct'), { recursive: true, mode: 0o750 });

  const changed: string[] = [];
  const edit = async (rel: string, fn: (text: string) => string) => {
    const path = await realFileIn(targetDir, join(targetDir, rel));
    const text = await readFile(path, 'utf8');
    await writeFile(path, fn(text));
    changed.push(relative(targetDir, path));
  };
  const write = async (rel: string, text: string) => {
    await writeFile(join(targetDir, rel), text, { mode: 0o640 });
    changed.push(rel);
  };

  // radiusd.conf: paths, logging, identity.
  await edit('radiusd.conf', (text) => {
    text = setTopLevel('radiusd.conf', text, 'raddbdir', quoteFreeRadiusString(targetDir, 'target directory'));
    text = setTopLevel('radiusd.conf', text, 'logdir', quoteFreeRadiusString(logDir, 'log directory'));
    text = setTopLevel('radiusd.conf', text, 'run_dir', quoteFreeRadiusString(runDir, 'run directory'));
    text = setTopLevel('radiusd.conf', text, 'pidfile', quoteFreeRadiusString(pidFile, 'pid file'));
    const log = requireBlock('radiusd.conf', text, /^log$/);
    text = setItems(
      text,
      log,
      options.logDir
        ? { destination: 'files', file: '"${logdir}/radius.log"', colourise: 'no' }
        : { destination: 'stdout', colourise: 'no' },
      '\t',
    );
    if (options.rejectDelaySeconds !== undefined) {
      text = setItems(text, requireBlock('radiusd.conf', text, /^security$/), { reject_delay: String(rejectDelay) }, '\t');
    }
    if (options.runAsCurrentUser) {
      const security = requireBlock('radiusd.conf', text, /^security$/);
      text = commentItems(text, security, ['user', 'group']);
    }
    return text;
  });

  // clients.conf: no stock clients.
  await write('clients.conf', clientsText);

  // mods-enabled: sql on, eap off.
  await edit('mods-available/sql', (text) => {
    let sql = requireBlock('mods-available/sql', text, /^sql$/);
    text = setItems(text, sql, sqlItems, '\t');
    if (Object.keys(poolItems).length > 0) {
      sql = requireBlock('mods-available/sql', text, /^sql$/);
      const pool = requireBlock('mods-available/sql', text, /^pool$/, sql);
      text = setItems(text, pool, poolItems, '\t\t');
    }
    return text;
  });
  const modsEnabled = join(targetDir, 'mods-enabled');
  await rm(join(modsEnabled, 'sql'), { force: true });
  await symlink('../mods-available/sql', join(modsEnabled, 'sql'));
  await rm(join(modsEnabled, 'eap'), { force: true });
  changed.push('mods-enabled/sql', 'mods-enabled/eap');

  // sites-enabled: no inner-tunnel; default listens where told; eap calls removed everywhere.
  const sitesEnabled = join(targetDir, 'sites-enabled');
  await rm(join(sitesEnabled, 'inner-tunnel'), { force: true });
  changed.push('sites-enabled/inner-tunnel');
  if (!existsSync(join(sitesEnabled, 'default'))) throw configError(`${sitesEnabled}/default not found`);
  await edit('sites-enabled/default', (text) => {
    let server = requireBlock('sites-enabled/default', text, /^server default$/);
    for (const l of blocksIn(text, server.open + 1, server.close).filter((b) => headerIs(b, /^listen$/)).reverse()) {
      text = removeBlock(text, l);
    }
    server = requireBlock('sites-enabled/default', text, /^server default$/);
    text = insertAfterOpen(text, server, listenText);
    text = removeEapCalls(text);
    server = requireBlock('sites-enabled/default', text, /^server default$/);
    const postAuth = requireBlock('sites-enabled/default', text, /^post-auth$/, server);
    const reject = findBlock(text, /^Post-Auth-Type REJECT$/, postAuth);
    if (reject) text = insertAfterOpen(text, reject, messageAuthenticatorReply('\t\t'));
    server = requireBlock('sites-enabled/default', text, /^server default$/);
    text = insertAfterOpen(text, requireBlock('sites-enabled/default', text, /^post-auth$/, server), messageAuthenticatorReply('\t'));
    return text;
  });
  for (const name of await readdir(sitesEnabled)) {
    if (name === 'default') continue;
    await edit(join('sites-enabled', name), removeEapCalls);
  }
  if (clients === 'dynamic') {
    await write(join('sites-available', DYNAMIC_SITE), dynamicClientsSite());
    await rm(join(sitesEnabled, DYNAMIC_SITE), { force: true });
    await symlink(join('..', 'sites-available', DYNAMIC_SITE), join(sitesEnabled, DYNAMIC_SITE));
    changed.push(join('sites-enabled', DYNAMIC_SITE));
  }

  // Ownership: a root-written tree for a server that drops to its own user.
  if (!options.runAsCurrentUser && process.getuid?.() === 0) {
    const st = await stat(join(sourceDir, 'radiusd.conf'));
    for (const dir of [targetDir, ...(inside(targetDir, logDir) ? [] : [logDir])]) await chownTree(dir, st.uid, st.gid);
  }

  const result: FreeRadiusConfig = {
    configDir: targetDir,
    sourceDir,
    logDir,
    runDir,
    pidFile,
    listen: { ...listen },
    clients,
    changedFiles: [...new Set(changed)].map((p) => p.split(sep).join('/')),
  };
  if (options.logDir) result.logFile = join(logDir, 'radius.log');
  return result;
}
