// Installing a FreeRADIUS configuration: a copy of the installed tree (symlinks kept inside the
// copy, keys left behind), edited with what render.ts produced, owned by FreeRADIUS's user when
// root writes it. Used by `ispctl radius config` and by the test harness.
import { accessSync, constants as fsConstants, existsSync } from 'node:fs';
import { chown, cp, lstat, mkdir, readFile, readdir, readlink, rm, stat, symlink, unlink, writeFile } from 'node:fs/promises';
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { invalid, IspctlError } from '../../../errors.js';
import { commentItems, insertAfterOpen, removeBlock, removeEapCalls, renameBlock, replaceModuleCall, setItems, setTopLevel } from './edit.js';
import { blocksIn, configError, findBlock, headerIs, requireBlock } from './parse.js';
import { AUTH_SQL_INSTANCE, authorizeFromReplica, checkAbsolute, DYNAMIC_SITE, dropPasswordsBeforePostAuth, messageAuthenticatorReply, renderFreeRadiusConfig } from './render.js';
import { FREERADIUS_CONFIG_CANDIDATES, type FreeRadiusConfig, type FreeRadiusConfigOptions } from './types.js';
import { errors } from '../../../error-catalogue.js';

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
 * in every Access-Accept and Access-Reject, the password left out of the post-auth log, logs,
 * pid file and run directory inside the copy.
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
    throw errors.freeRadiusPath('The target directory', targetDir, `is inside the source configuration ${JSON.stringify(sourceDir)}; it must be outside it`);
  }
  const r = renderFreeRadiusConfig(options, targetDir);
  const { clients, logDir, runDir, pidFile } = r;

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
    for (const [key, value] of Object.entries(r.radiusd)) text = setTopLevel('radiusd.conf', text, key, value);
    text = setItems(text, requireBlock('radiusd.conf', text, /^log$/), r.log, '\t');
    if (Object.keys(r.security).length > 0) text = setItems(text, requireBlock('radiusd.conf', text, /^security$/), r.security, '\t');
    if (options.runAsCurrentUser) text = commentItems(text, requireBlock('radiusd.conf', text, /^security$/), ['user', 'group']);
    return text;
  });

  // clients.conf: no stock clients.
  await write('clients.conf', r.clientsConf);

  // mods-enabled: sql on, eap off.
  await edit('mods-available/sql', (text) => {
    let sql = requireBlock('mods-available/sql', text, /^sql$/);
    text = setItems(text, sql, r.sql, '\t');
    if (Object.keys(r.pool).length > 0) {
      sql = requireBlock('mods-available/sql', text, /^sql$/);
      const pool = requireBlock('mods-available/sql', text, /^pool$/, sql);
      text = setItems(text, pool, r.pool, '\t\t');
    }
    return text;
  });
  const modsEnabled = join(targetDir, 'mods-enabled');
  await rm(join(modsEnabled, 'sql'), { force: true });
  await symlink('../mods-available/sql', join(modsEnabled, 'sql'));
  if (r.authSql) {
    // A second instance of the same module (same queries.conf), on the read database.
    const authSql = r.authSql;
    const primary = await readFile(await realFileIn(targetDir, join(targetDir, 'mods-available/sql')), 'utf8');
    let text = renameBlock(primary, requireBlock('mods-available/sql', primary, /^sql$/), `sql ${AUTH_SQL_INSTANCE}`);
    text = setItems(text, requireBlock('mods-available/sql', text, new RegExp(`^sql ${AUTH_SQL_INSTANCE}$`)), authSql, '\t');
    await write(join('mods-available', AUTH_SQL_INSTANCE), text);
    await rm(join(modsEnabled, AUTH_SQL_INSTANCE), { force: true });
    await symlink(`../mods-available/${AUTH_SQL_INSTANCE}`, join(modsEnabled, AUTH_SQL_INSTANCE));
    changed.push(`mods-enabled/${AUTH_SQL_INSTANCE}`);
  }
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
    text = insertAfterOpen(text, server, r.listen);
    text = removeEapCalls(text);
    if (r.authSql) {
      server = requireBlock('sites-enabled/default', text, /^server default$/);
      text = replaceModuleCall('sites-enabled/default', text, requireBlock('sites-enabled/default', text, /^authorize$/, server), 'sql', authorizeFromReplica('\t'));
    }
    server = requireBlock('sites-enabled/default', text, /^server default$/);
    const postAuth = requireBlock('sites-enabled/default', text, /^post-auth$/, server);
    const reject = findBlock(text, /^Post-Auth-Type REJECT$/, postAuth);
    if (reject) text = insertAfterOpen(text, reject, messageAuthenticatorReply('\t\t') + dropPasswordsBeforePostAuth('\t\t'));
    server = requireBlock('sites-enabled/default', text, /^server default$/);
    text = insertAfterOpen(text, requireBlock('sites-enabled/default', text, /^post-auth$/, server), messageAuthenticatorReply('\t') + dropPasswordsBeforePostAuth('\t'));
    return text;
  });
  for (const name of await readdir(sitesEnabled)) {
    if (name === 'default') continue;
    await edit(join('sites-enabled', name), removeEapCalls);
  }
  if (r.dynamicSite !== undefined) {
    await write(join('sites-available', DYNAMIC_SITE), r.dynamicSite);
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
    listen: { ...options.listen },
    clients,
    ...(r.authSql ? { authInstance: AUTH_SQL_INSTANCE } : {}),
    changedFiles: [...new Set(changed)].map((p) => p.split(sep).join('/')),
  };
  if (options.logDir) result.logFile = join(logDir, 'radius.log');
  return result;
}
