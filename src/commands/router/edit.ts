import { Args, Flags } from '@oclif/core';
import { errors } from '../../core/error-catalogue.js';
import { confirm } from '@inquirer/prompts';
import { routerChangeNeedsRadiusReload } from '../../core/provisioning/radius/reload.js';
import { BaseCommand } from '../../cli/base-command.js';
import { BLOCK_ACTIONS, editRouter, getRouter, ROUTER_MODES, SHAPING_MODES } from '../../core/routers/service.js';

export default class RouterEdit extends BaseCommand<typeof RouterEdit> {
  static override summary = 'Change a router: address, API credentials, mode, NAS address, CoA port, shaping, block action, secrets.';
  static override examples = [
    '<%= config.bin %> router edit core1 --host 10.8.0.12',
    '<%= config.bin %> router edit core1 --mode radius --nas-address 10.8.0.12',
    '<%= config.bin %> router edit core1 --rotate-radius-secret --yes',
  ];
  static override ask = { name: 'router' as const };
  static override args = { name: Args.string({ required: true, description: 'Router name.' }) };
  static override flags = {
    'new-name': Flags.string({ summary: 'Rename the router.' }),
    host: Flags.string({ summary: 'Address ispctl reaches the router API at.' }),
    'api-user': Flags.string({ summary: 'RouterOS user for the API.' }),
    'api-password': Flags.string({ summary: 'New password of the API user.' }),
    'api-port': Flags.integer({ summary: 'API port.', min: 1, max: 65535 }),
    tls: Flags.boolean({ summary: 'Use API-SSL (--no-tls for plain API).', allowNo: true }),
    'tls-verify': Flags.boolean({ summary: 'Verify the router certificate with API-SSL.', allowNo: true }),
    mode: Flags.string({ summary: 'radius or api.', options: [...ROUTER_MODES] }),
    'nas-address': Flags.string({ summary: 'Source address FreeRADIUS sees the router at ("none" clears it in api mode).' }),
    'coa-port': Flags.integer({ summary: 'Port of /radius incoming on the router.', min: 1, max: 65535 }),
    shaping: Flags.string({ summary: 'profile or queue.', options: [...SHAPING_MODES] }),
    'block-action': Flags.string({ summary: 'disable, remove, or default (the setting api-block-action).', options: [...BLOCK_ACTIONS, 'default'] }),
    'radius-secret': Flags.string({ summary: 'Set the RADIUS shared secret (16+ characters).' }),
    'rotate-radius-secret': Flags.boolean({ summary: 'Generate a new RADIUS shared secret.' }),
    'local-address': Flags.string({ summary: 'Default PPP profile local-address for plans without one ("none" clears it).', helpGroup: 'ADDRESSING' }),
    pool: Flags.string({ summary: 'Default remote address pool for plans without one, e.g. 10.10.0.2-10.10.3.254 ("none" clears it).', helpGroup: 'ADDRESSING' }),
    yes: Flags.boolean({ char: 'y', summary: 'Do not ask before changing the RADIUS secret.' }),
  };

  public async run() {
    const f = this.flags;
    const ctx = await this.ctx();
    if ((f['rotate-radius-secret'] || f['radius-secret'] !== undefined) && !f.yes) {
      const router = await getRouter(ctx.db, this.args.name);
      if (!this.canPrompt()) {
        throw errors.confirmationRequired(`Changing the RADIUS secret of ${router.name}`, 'until the router and FreeRADIUS both have the new one, logins through it fail');
      }
      if (!(await confirm({ message: `Change the RADIUS secret of ${router.name}? Logins fail until the router has the new one.`, default: false }))) {
        this.say('Nothing changed.');
        return { router, changed: [], affectedServiceIds: [], jobIds: [] };
      }
    }
    const result = await editRouter(ctx, this.args.name, {
      name: f['new-name'],
      host: f.host,
      apiUser: f['api-user'],
      apiPassword: f['api-password'],
      apiPort: f['api-port'],
      apiTls: f.tls,
      apiTlsVerify: f['tls-verify'],
      mode: f.mode,
      nasAddress: f['nas-address'],
      coaPort: f['coa-port'],
      shaping: f.shaping,
      blockAction: f['block-action'],
      radiusSecret: f['radius-secret'],
      rotateRadiusSecret: f['rotate-radius-secret'],
      localAddress: f['local-address'],
      pool: f.pool,
    });
    if (result.changed.length === 0) this.say(`Router ${result.router.name} already looks like that; nothing changed.`);
    else this.say(`Updated router ${result.router.name}: ${result.changed.join(', ')}.`);
    const after = result.router.mode;
    const before = result.changed.includes('mode') ? (after === 'radius' ? 'api' : 'radius') : after;
    if (routerChangeNeedsRadiusReload(before, after, result.changed)) await this.reloadRadius(result.router.name, `router edit ${result.router.name}`);
    const routerJobs = await this.applyNow(result.jobIds);
    return routerJobs.status === 'none' ? result : { ...result, routerJobs };
  }
}
