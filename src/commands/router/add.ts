import { Args, Flags } from '@oclif/core';
import { password } from '@inquirer/prompts';
import { BaseCommand } from '../../cli/base-command.js';
import { addRouter, BLOCK_ACTIONS, ROUTER_MODES, SHAPING_MODES } from '../../core/routers/service.js';
import { errors } from '../../core/error-catalogue.js';

export default class RouterAdd extends BaseCommand<typeof RouterAdd> {
  static override summary = 'Register a MikroTik router: how to reach its API, and how FreeRADIUS and provisioning treat it.';
  static override description =
    'Without --host the router is added pending, to be brought in over WireGuard (ispctl router onboard NAME): ispctl generates its ' +
    'tunnel key pair and the API user and password its install script creates. ' +
    'The API password is stored encrypted (AES-256-GCM, key in the config directory or ISPCTL_SECRET_KEY). A strong RADIUS shared secret ' +
    'is generated unless given. In radius mode FreeRADIUS must see the router at its NAS address (default: --host when it is an IP address).';
  static override examples = [
    '<%= config.bin %> router add tower-north --mode radius   # pending: then ispctl router onboard tower-north',
    '<%= config.bin %> router add core1 --host 10.8.0.2 --api-user ispctl --api-password … --mode api',
    'ISPCTL_ROUTER_API_PASSWORD=… <%= config.bin %> router add tower-north --host 203.0.113.10 --api-user ispctl --mode radius --nas-address 10.8.0.3',
  ];
  static override args = { name: Args.string({ required: true, description: 'Short name: letters, digits, . _ -' }) };
  static override flags = {
    host: Flags.string({ summary: 'Address ispctl reaches the router API at (public or WireGuard IP, or host name). Omit it to add the router pending and onboard it over WireGuard.' }),
    'api-user': Flags.string({ summary: 'RouterOS user for the API (required with --host).' }),
    'api-password': Flags.string({ summary: 'Password of the API user (asked for in a terminal when omitted).', env: 'ISPCTL_ROUTER_API_PASSWORD' }),
    'api-port': Flags.integer({ summary: 'API port (default 8728, or 8729 with --tls).', min: 1, max: 65535 }),
    tls: Flags.boolean({ summary: 'Use API-SSL.' }),
    'tls-verify': Flags.boolean({ summary: 'Verify the router certificate with API-SSL (default on).', allowNo: true, default: true }),
    mode: Flags.string({ summary: 'radius: FreeRADIUS answers the router; api: ispctl writes PPP secrets over the API.', options: [...ROUTER_MODES], default: 'api' }),
    'nas-address': Flags.string({ summary: 'Source address FreeRADIUS sees the router at (default: --host when it is an IP).' }),
    'coa-port': Flags.integer({ summary: 'Port of /radius incoming on the router for CoA and Disconnect (default 3799).', min: 1, max: 65535 }),
    shaping: Flags.string({ summary: 'API mode: rate limit on the PPP profile, or a simple queue per static IP.', options: [...SHAPING_MODES] }),
    'block-action': Flags.string({ summary: 'API mode: disable or remove the PPP secret of a blocked subscriber (default: setting api-block-action).', options: [...BLOCK_ACTIONS] }),
    'radius-secret': Flags.string({ summary: 'RADIUS shared secret to use instead of a generated one (16+ characters).' }),
    'local-address': Flags.string({ summary: "Default PPP profile local-address for plans without one (the router's side of the PPP links), e.g. 10.10.0.1.", helpGroup: 'ADDRESSING' }),
    pool: Flags.string({ summary: 'Default remote address pool for plans without one: 10.10.0.2-10.10.3.254, several comma-separated, or a prefix.', helpGroup: 'ADDRESSING' }),
  };

  public async run() {
    let apiPassword = this.flags['api-password'];
    if (this.flags.host !== undefined && this.flags['api-user'] === undefined) {
      throw errors.missingFlags('Missing --api-user: a router registered with --host needs the API user ispctl logs in as.', [
        `Add --api-user, or leave out --host to add it pending and onboard it over WireGuard: ispctl router onboard ${this.args.name}`,
      ]);
    }
    if (this.flags.host !== undefined && apiPassword === undefined) {
      if (!this.canPrompt()) {
        throw errors.missingFlags('Missing --api-password (and not running in a terminal, so ispctl cannot ask).', [
          'Pass --api-password, or set ISPCTL_ROUTER_API_PASSWORD so the password stays out of the shell history',
        ]);
      }
      apiPassword = await password({ message: `API password for ${this.flags['api-user']}@${this.flags.host}`, mask: '*' });
    }
    const ctx = await this.ctx();
    const router = await addRouter(ctx, {
      name: this.args.name,
      host: this.flags.host,
      apiUser: this.flags['api-user'],
      apiPassword,
      apiPort: this.flags['api-port'],
      apiTls: this.flags.tls,
      apiTlsVerify: this.flags['tls-verify'],
      mode: this.flags.mode,
      nasAddress: this.flags['nas-address'],
      coaPort: this.flags['coa-port'],
      shaping: this.flags.shaping,
      blockAction: this.flags['block-action'],
      radiusSecret: this.flags['radius-secret'],
      localAddress: this.flags['local-address'],
      pool: this.flags.pool,
    });
    if (router.host === null) {
      this.say(`Added router ${router.name} (${router.mode} mode), pending: it gets its address when it is onboarded over WireGuard.`);
      this.say(this.chalk.dim(`Next: ispctl router onboard ${router.name}   (or router inspect-script, review, install-script)`));
      this.essential(router.name);
      return router;
    }
    this.say(`Added router ${router.name} (${router.mode} mode) at ${router.host}:${router.apiPort}${router.apiTls ? ' with API-SSL' : ''}.`);
    if (router.mode === 'radius') this.say(`FreeRADIUS will know it as ${router.nasAddress}; CoA goes to port ${router.coaPort}.`);
    this.say(this.chalk.dim(`Check that ispctl can reach it: ispctl router check ${router.name}`));
    this.essential(router.name);
    if (router.mode === 'radius') await this.reloadRadius(router.name, `router add ${router.name}`);
    return router;
  }
}
