import { Flags } from '@oclif/core';
import { BaseCommand } from '../../cli/base-command.js';
import { assertRadiusTarget, writeRadiusConfig } from '../../core/provisioning/radius/config.js';

export default class RadiusConfig extends BaseCommand<typeof RadiusConfig> {
  static override summary = 'Write a FreeRADIUS configuration that serves subscribers from the ispctl database (RADIUS mode).';
  static override description =
    'Copies the installed FreeRADIUS 3 configuration into --out and edits the copy: the stock sql module on the PostgreSQL ispctl uses ' +
    '(radcheck and radreply are tables ispctl keeps from its own, nas is a view), routers as clients from the nas view, EAP removed, a Message-Authenticator ' +
    'in every reply, and listen sections on --listen. RADIUS mode needs PostgreSQL; the embedded database is refused. With --clients sql ' +
    '(default) FreeRADIUS loads routers only at start-up: set radius-reload-command so ispctl restarts it after router changes, or use ' +
    '--clients dynamic.';
  static override examples = [
    '<%= config.bin %> radius config --out /var/lib/ispctl/freeradius --radius-db-url postgres://freeradius:…@127.0.0.1/ispctl',
    '<%= config.bin %> radius config --out /var/lib/ispctl/freeradius --radius-db-url postgres://freeradius:…@db-primary/ispctl --radius-auth-db-url postgres://freeradius:…@127.0.0.1/ispctl',
    '<%= config.bin %> radius config --out ./raddb --listen 10.8.0.1 --clients dynamic --dynamic-network 10.8.0.0/24',
  ];
  static override flags = {
    out: Flags.string({ required: true, summary: 'Directory to write the configuration to (new or empty, or an earlier one with --force).' }),
    listen: Flags.string({ summary: 'Address FreeRADIUS listens on.', default: '0.0.0.0' }),
    'auth-port': Flags.integer({ summary: 'Authentication port.', default: 1812, min: 1, max: 65535 }),
    'acct-port': Flags.integer({ summary: 'Accounting port.', default: 1813, min: 1, max: 65535 }),
    clients: Flags.string({ summary: 'Routers from the nas view at start-up (sql), or looked up when they first send a packet (dynamic).', options: ['sql', 'dynamic'], default: 'sql' }),
    'dynamic-network': Flags.string({ summary: 'With --clients dynamic: network routers may come from (repeatable; default every IPv4 address).', multiple: true }),
    'radius-db-url': Flags.string({ summary: 'PostgreSQL URL FreeRADIUS connects with, as its own role (default: the URL ispctl uses).', env: 'ISPCTL_RADIUS_DB_URL' }),
    'radius-auth-db-url': Flags.string({
      summary: 'PostgreSQL URL FreeRADIUS reads subscribers and routers from, such as a streaming replica; accounting and post-auth still go to --radius-db-url (see docs/scale-out.md).',
      env: 'ISPCTL_RADIUS_AUTH_DB_URL',
    }),
    from: Flags.string({ summary: 'Installed FreeRADIUS configuration to copy (default: /etc/freeradius/3.0 or where it is found).' }),
    'run-as-current-user': Flags.boolean({ summary: 'Comment out user/group, so FreeRADIUS keeps the identity it is started with (running it as a non-root user).' }),
    force: Flags.boolean({ summary: 'Replace an earlier FreeRADIUS configuration in --out.' }),
  };

  public async run() {
    // Refused before the database is opened: on the embedded one that would create and migrate it first.
    assertRadiusTarget(this.target);
    const ctx = await this.ctx();
    const result = await writeRadiusConfig(ctx, {
      outDir: this.flags.out,
      databaseUrl: this.flags['database-url'],
      listen: this.flags.listen,
      authPort: this.flags['auth-port'],
      acctPort: this.flags['acct-port'],
      clients: this.flags.clients as 'sql' | 'dynamic',
      ...(this.flags['dynamic-network'] ? { dynamicNetworks: this.flags['dynamic-network'] } : {}),
      ...(this.flags['radius-db-url'] ? { radiusDbUrl: this.flags['radius-db-url'] } : {}),
      ...(this.flags['radius-auth-db-url'] ? { radiusAuthDbUrl: this.flags['radius-auth-db-url'] } : {}),
      ...(this.flags.from ? { sourceDir: this.flags.from } : {}),
      runAsCurrentUser: this.flags['run-as-current-user'],
      force: this.flags.force,
    });
    for (const w of result.warnings) this.warnLine(w);
    const dir = result.configDir;
    this.say(`Wrote a FreeRADIUS configuration to ${dir} (copied from ${result.sourceDir}).`);
    this.details([
      ['Listens on', `${result.listen.address} auth ${result.listen.authPort}, acct ${result.listen.acctPort}`],
      [result.authDatabase ? 'Accounting to' : 'Database', `${result.database.user}@${result.database.host}:${result.database.port}/${result.database.database}`],
      ...(result.authDatabase
        ? ([['Subscribers from', `${result.authDatabase.user}@${result.authDatabase.host}:${result.authDatabase.port}/${result.authDatabase.database} (${result.authDatabase.instance}; the primary when it fails)`]] as [string, string][])
        : []),
      ['Clients', result.clients === 'sql' ? 'nas view, read at start-up' : 'nas view, looked up on first contact'],
      ['Routers', result.routers.length ? result.routers.map((r) => `${r.name} (${r.nasAddress})`).join(', ') : '(none in radius mode yet)'],
      ['Reload command', result.reloadCommand ?? '(unset: settings set radius-reload-command …)'],
    ]);
    if (result.publishedSecrets.length) this.say(`Published the shared secret of ${result.publishedSecrets.join(', ')} to FreeRADIUS.`);
    this.say('');
    this.say('Test it in the foreground (stop the packaged service first, or use other ports):');
    this.say(`  freeradius -X -d ${dir}`);
    this.say('Run it as the packaged service: set FREERADIUS_OPTIONS in /etc/default/freeradius, then restart it:');
    this.say(`  FREERADIUS_OPTIONS="-d ${dir}"`);
    this.say('  systemctl restart freeradius');
    if (result.clients === 'sql') {
      this.say('Routers are read at start-up only. After adding, changing or removing a radius-mode router, FreeRADIUS must restart:');
      this.say('  ispctl settings set radius-reload-command "systemctl restart freeradius"');
    } else {
      this.say('New routers are looked up on first contact; a changed secret is seen once the cached client expires (10 minutes).');
    }
    this.say(this.chalk.dim('Each router: /radius add service=ppp address=<this server> secret=<ispctl router secret show NAME --which radius> require-message-auth=yes-for-request-resp'));
    this.say(this.chalk.dim('             /ppp aaa set use-radius=yes accounting=yes interim-update=5m; /radius incoming set accept=yes port=<its CoA port>'));
    this.essential(dir);
    return result;
  }
}
