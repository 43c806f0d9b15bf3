import { spawnSync } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import {
  detectFreeRadiusConfigDir,
  quoteFreeRadiusString,
  readFreeRadiusSingleQuoted,
  writeFreeRadiusConfig,
  type FreeRadiusConfigOptions,
} from '../../../src/core/provisioning/radius/freeradius-config.js';
import { isIspctlError } from '../../../src/core/errors.js';
import { findFreeRadiusBinary } from '../../helpers/freeradius.js';

describe('quoting values for FreeRADIUS', () => {
  it('escapes quotes and leaves backslashes and ${} alone', () => {
    expect(quoteFreeRadiusString(`it's`)).toBe(`'it\\'s'`);
    expect(quoteFreeRadiusString('a\\b ${x} "q"')).toBe(`'a\\b \${x} "q"'`);
    expect(quoteFreeRadiusString('')).toBe(`''`);
  });

  it('refuses control characters and what FreeRADIUS cannot read back', () => {
    for (const bad of ['a\nb', 'a\rb', 'a\u0000', 'tab\there', 'ends in \\', "odd \\' run"]) {
      expect(() => quoteFreeRadiusString(bad, 'secret')).toThrow(/secret/);
    }
    expect(quoteFreeRadiusString("even \\\\' run")).toBe(`'even \\\\\\' run'`);
  });

  it('round-trips whatever it accepts', () => {
    fc.assert(
      fc.property(fc.string({ unit: fc.constantFrom('a', 'Z', '\\', "'", '"', '$', '{', '}', ' ', '#', 'é') }), (s) => {
        let quoted: string;
        try {
          quoted = quoteFreeRadiusString(s);
        } catch {
          return; // refused is fine; read back wrong is not
        }
        expect(readFreeRadiusSingleQuoted(quoted.slice(1, -1))).toBe(s);
      }),
    );
  });
});

const sourceDir = detectFreeRadiusConfigDir();

describe.skipIf(!sourceDir)('writeFreeRadiusConfig', () => {
  const dirs: string[] = [];
  afterEach(async () => {
    for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
  });
  async function target(): Promise<string> {
    const d = await mkdtemp(join(tmpdir(), 'ispctl-frconf-'));
    dirs.push(d);
    return join(d, 'raddb');
  }
  const base = (targetDir: string): FreeRadiusConfigOptions => ({
    targetDir,
    db: { host: '127.0.0.1', port: 5432, user: 'radius', password: 'pw', database: 'ispctl' },
    listen: { address: '127.0.0.1', authPort: 11812, acctPort: 11813 },
    runAsCurrentUser: true,
  });
  const read = (dir: string, rel: string) => readFileSync(join(dir, rel), 'utf8');
  /** The text without comments. */
  const code = (text: string) => text.replace(/#.*$/gm, '');

  it('edits a copy of the installed tree', async () => {
    const dir = await target();
    const result = await writeFreeRadiusConfig(base(dir));
    expect(result).toMatchObject({ configDir: dir, sourceDir, clients: 'sql', runDir: join(dir, 'run'), logDir: join(dir, 'log') });
    expect(result.logFile).toBeUndefined();

    // sql on PostgreSQL, clients from the nas table, stock queries.conf untouched.
    expect(lstatSync(join(dir, 'mods-enabled/sql')).isSymbolicLink()).toBe(true);
    const sql = code(read(dir, 'mods-enabled/sql'));
    expect(sql).toMatch(/dialect = "postgresql"/);
    expect(sql).toMatch(/driver = "rlm_sql_\$\{dialect\}"/);
    expect(sql).toMatch(/server = '127\.0\.0\.1'/);
    expect(sql).toMatch(/port = 5432/);
    expect(sql).toMatch(/login = 'radius'/);
    expect(sql).toMatch(/password = 'pw'/);
    expect(sql).toMatch(/radius_db = 'ispctl'/);
    expect(sql).toMatch(/read_clients = yes/);
    expect(sql).toMatch(/client_table = "nas"/);
    expect(sql).not.toMatch(/dialect = "sqlite"|rlm_sql_null/);
    expect(sql.match(/^\s*dialect\s*=/gm)).toHaveLength(1);
    const queries = 'mods-config/sql/main/postgresql/queries.conf';
    expect(read(dir, queries)).toBe(read(sourceDir!, queries));

    // eap and inner-tunnel gone, and nothing calls eap any more.
    expect(existsSync(join(dir, 'mods-enabled/eap'))).toBe(false);
    expect(readdirSync(join(dir, 'sites-enabled'))).toEqual(['default']);
    const site = code(read(dir, 'sites-enabled/default'));
    expect(site).not.toMatch(/^\s*-?eap\b/m);

    // Only our listen sections.
    const listens = [...site.matchAll(/listen \{([^]*?)\n\t\}/g)].map((m) => m[1]!.replace(/\s+/g, ' ').trim());
    expect(listens).toHaveLength(2);
    expect(listens[0]).toMatch(/^type = auth ipaddr = 127\.0\.0\.1 port = 11812/);
    expect(listens[1]).toMatch(/^type = acct ipaddr = 127\.0\.0\.1 port = 11813/);

    // Message-Authenticator in Accept (post-auth) and Reject (Post-Auth-Type REJECT).
    expect(site.match(/update reply \{\s*&Message-Authenticator := 0x00\s*\}/g)).toHaveLength(2);
    expect(site).toMatch(/post-auth \{\s*update reply \{\s*&Message-Authenticator := 0x00/);
    expect(site).toMatch(/Post-Auth-Type REJECT \{\s*update reply \{\s*&Message-Authenticator := 0x00/);
    // The password and the CHAP response leave the request before the post-auth log is written,
    // in both sections, ahead of their sql calls.
    const dropped = /update request \{\s*&User-Password !\* ANY\s*&CHAP-Password !\* ANY\s*\}/g;
    expect(site.match(dropped)).toHaveLength(2);
    for (const section of [/\n\s*post-auth \{/, /Post-Auth-Type REJECT \{/]) {
      const from = site.search(section);
      const body = site.slice(from);
      expect(body.search(/&User-Password !\* ANY/)).toBeLessThan(body.search(/^\s*-?sql\b/m));
    }

    // No stock clients.
    expect(code(read(dir, 'clients.conf')).trim()).toBe('');

    // Paths, logging and identity.
    const radiusd = code(read(dir, 'radiusd.conf'));
    expect(radiusd).toContain(`raddbdir = '${dir}'`);
    expect(radiusd).toContain(`logdir = '${join(dir, 'log')}'`);
    expect(radiusd).toContain(`run_dir = '${join(dir, 'run')}'`);
    expect(radiusd).toContain(`pidfile = '${join(dir, 'run', 'radiusd.pid')}'`);
    expect(radiusd).toMatch(/log \{[^}]*destination = stdout/);
    expect(radiusd).not.toMatch(/^\s*(user|group)\s*=/m);
    expect(existsSync(join(dir, 'log'))).toBe(true);
    // The copy never carries keys.
    expect(readdirSync(join(dir, 'certs'))).toEqual([]);
  });

  it('logs to files, keeps user/group, and sets the reject delay and pool when asked', async () => {
    const dir = await target();
    const logDir = join(dir, '..', 'logs');
    const r = await writeFreeRadiusConfig({ ...base(dir), runAsCurrentUser: false, logDir, rejectDelaySeconds: 0, sqlPool: { start: 0, max: 8 } });
    expect(r.logFile).toBe(join(logDir, 'radius.log'));
    const radiusd = code(read(dir, 'radiusd.conf'));
    expect(radiusd).toMatch(/log \{[^}]*destination = files[^}]*file = "\$\{logdir\}\/radius.log"/);
    expect(radiusd).toMatch(/^\s*user\s*=/m);
    expect(radiusd).toMatch(/security \{[^}]*reject_delay = 0/);
    expect(radiusd.match(/^\s*reject_delay\s*=/gm)).toHaveLength(1);
    const sql = code(read(dir, 'mods-enabled/sql'));
    expect(sql).toMatch(/pool \{[^}]*start = 0[^}]*max = 8/);
    expect(sql.match(/^\s*start\s*=/gm)).toHaveLength(1);
  });

  it('writes dynamic clients, static clients and IPv6 listeners that FreeRADIUS accepts', async () => {
    const dir = await target();
    await writeFreeRadiusConfig({
      ...base(dir),
      listen: { address: '::1', authPort: 11812, acctPort: 11813 },
      clients: 'dynamic',
      dynamicClients: { networks: ['10.0.0.0/8', '2001:db8::/32'], lifetimeSeconds: 60 },
      staticClients: [{ name: 'core-1', address: '192.0.2.1', secret: `it's "${'${x}'}" \\ok`, requireMessageAuthenticator: true }],
      sqlPool: { start: 0 },
    });
    expect(code(read(dir, 'mods-enabled/sql'))).toMatch(/read_clients = no/);
    const clients = read(dir, 'clients.conf');
    expect(clients).toContain(`secret = 'it\\'s "\${x}" \\ok'`);
    expect(clients).toContain('require_message_authenticator = yes');
    expect(clients).toMatch(/client ispctl_dynamic_1 \{\s*ipv6addr = 2001:db8::\/32\s*dynamic_clients = ispctl_dynamic_clients\s*lifetime = 60/);
    expect(readdirSync(join(dir, 'sites-enabled')).sort()).toEqual(['default', 'ispctl-dynamic-clients']);
    expect(code(read(dir, 'sites-enabled/default'))).toMatch(/ipv6addr = ::1/);
    const bin = findFreeRadiusBinary();
    if (existsSync(bin)) {
      const check = spawnSync(bin, ['-XC', '-d', dir], { encoding: 'utf8' });
      expect(check.stdout + check.stderr).toMatch(/Configuration appears to be OK/);
    }
  });

  it('with a read database: a second sql instance that authorize tries first, clients from it, accounting to the primary', async () => {
    const dir = await target();
    const r = await writeFreeRadiusConfig({ ...base(dir), authDb: { host: '127.0.0.2', port: 5433, user: 'radius_ro', password: 'ro', database: 'ispctl' }, sqlPool: { start: 0 } });
    expect(r.authInstance).toBe('sql_authorize');
    expect(r.changedFiles).toContain('mods-enabled/sql_authorize');
    const primary = code(read(dir, 'mods-enabled/sql'));
    expect(primary).toMatch(/^sql \{/m);
    expect(primary).toMatch(/server = '127\.0\.0\.1'/);
    expect(primary).toMatch(/read_clients = no/);
    const replica = code(read(dir, 'mods-enabled/sql_authorize'));
    expect(replica).toMatch(/^sql sql_authorize \{/m);
    expect(replica).toMatch(/server = '127\.0\.0\.2'/);
    expect(replica).toMatch(/port = 5433/);
    expect(replica).toMatch(/login = 'radius_ro'/);
    expect(replica).toMatch(/read_clients = yes/);
    expect(replica).toMatch(/group_attribute = "sql_authorize-SQL-Group"/);
    for (const k of ['server', 'port', 'login', 'read_clients', 'group_attribute']) expect(replica.match(new RegExp(`^\\s*${k}\\s*=`, 'gm')), k).toHaveLength(1);
    // The same stock queries for both instances.
    expect(replica).toContain('$INCLUDE ${modconfdir}/${.:name}/main/${dialect}/queries.conf');
    const site = code(read(dir, 'sites-enabled/default'));
    const authorize = /authorize \{([^]*?)\n\}/.exec(site)![1]!;
    expect(authorize).toMatch(/redundant \{\s*sql_authorize\s*sql\s*\}/);
    expect(authorize).not.toMatch(/^\s*-sql\s*$/m);
    // Accounting and post-auth keep calling the primary only.
    expect(site.match(/^\s*-sql\s*$/gm)!.length).toBeGreaterThanOrEqual(3);
    expect(site.match(/sql_authorize/g)).toHaveLength(1);

    // Dynamic clients are looked up through the read database too; FreeRADIUS accepts the whole
    // (with clients from SQL it would connect to load them, which -C cannot do without a server).
    const dyn = await target();
    await writeFreeRadiusConfig({ ...base(dyn), clients: 'dynamic', authDb: { host: '127.0.0.2', port: 5433, user: 'radius_ro', database: 'ispctl' }, sqlPool: { start: 0 } });
    expect(code(read(dyn, 'mods-enabled/sql_authorize'))).toMatch(/read_clients = no/);
    expect(read(dyn, 'sites-enabled/ispctl-dynamic-clients')).toContain('%{sql_authorize: SELECT secret FROM nas');
    const bin = findFreeRadiusBinary();
    if (existsSync(bin)) {
      const check = spawnSync(bin, ['-XC', '-d', dyn], { encoding: 'utf8' });
      expect(check.stdout + check.stderr).toMatch(/Configuration appears to be OK/);
    }
  });

  it('validates every value before writing anything', async () => {
    const dir = await target();
    const bad: [Partial<FreeRadiusConfigOptions>, RegExp][] = [
      [{ db: { host: '127.0.0.1', port: 5432, user: 'radius', password: "it's", database: 'x' } }, /single quote/],
      [{ db: { host: '127.0.0.1', port: 5432, user: 'radius', password: 'a\nread_clients = no', database: 'x' } }, /control character/],
      [{ db: { host: '127.0.0.1', port: 5432, user: 'radius', database: 'a=b' } }, /connection string/],
      [{ db: { host: '127.0.0.1', port: 0, user: 'radius', database: 'x' } }, /port/],
      [{ listen: { address: 'localhost', authPort: 1812, acctPort: 1813 } }, /IP address/],
      [{ listen: { address: '127.0.0.1', authPort: 1812, acctPort: 1812 } }, /differ/],
      [{ listen: { address: '127.0.0.1', authPort: 1812, acctPort: 70000 } }, /port/],
      [{ staticClients: [{ name: 'x y', address: '10.0.0.1', secret: 's' }] }, /client name/],
      [{ staticClients: [{ name: 'x', address: '10.0.0.1/33', secret: 's' }] }, /CIDR/],
      [{ staticClients: [{ name: 'x', address: '10.0.0.1', secret: 's\n}' }] }, /control character/],
      [{ logDir: 'relative/logs' }, /absolute/],
      [{ targetDir: 'relative' }, /absolute/],
      [{ targetDir: join(sourceDir!, 'copy') }, /outside/],
      [{ sourceDir: join(dir, 'nowhere') }, /no FreeRADIUS configuration/],
      [{ rejectDelaySeconds: 9 }, /at most 5/],
      [{ authDb: { host: '127.0.0.2', port: 5432, user: 'ro', password: "it's", database: 'x' } }, /single quote/],
      [{ authDb: { host: '', port: 5432, user: 'ro', database: 'x' } }, /host is empty/],
    ];
    for (const [patch, message] of bad) {
      const err = await writeFreeRadiusConfig({ ...base(dir), ...patch }).catch((e: unknown) => e);
      expect(isIspctlError(err), String(err)).toBe(true);
      expect((err as Error).message).toMatch(message);
    }
    expect(existsSync(dir)).toBe(false);
  });

  it('refuses to replace a directory that is not a FreeRADIUS configuration', async () => {
    const dir = await target();
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'precious.txt'), 'keep me');
    await expect(writeFreeRadiusConfig(base(dir))).rejects.toMatchObject({ code: 'FREERADIUS_TARGET_NOT_EMPTY' });
    await expect(writeFreeRadiusConfig({ ...base(dir), overwrite: true })).rejects.toMatchObject({ code: 'FREERADIUS_TARGET_NOT_EMPTY' });
    expect(read(dir, 'precious.txt')).toBe('keep me');
    const ours = await target();
    await writeFreeRadiusConfig(base(ours));
    await expect(writeFreeRadiusConfig(base(ours))).rejects.toMatchObject({ code: 'FREERADIUS_TARGET_NOT_EMPTY' });
    await writeFreeRadiusConfig({ ...base(ours), overwrite: true, listen: { address: '127.0.0.1', authPort: 2000, acctPort: 2001 } });
    expect(code(read(ours, 'sites-enabled/default'))).toMatch(/port = 2000/);
  });
});
