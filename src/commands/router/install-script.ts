import { Args, Flags } from '@oclif/core';
import { BaseCommand } from '../../cli/base-command.js';
import { writeSecretFile } from '../../core/onboarding/files.js';
import { hubWireguardConfig } from '../../core/onboarding/hub.js';
import { installScript } from '../../core/onboarding/service.js';

export default class RouterInstallScript extends BaseCommand<typeof RouterInstallScript> {
  static override summary = 'Print the install script that puts a reviewed router under management: WireGuard tunnel, restricted API user, firewall, RADIUS.';
  static override description =
    'The script holds secrets (the router\'s tunnel private key, the API password, in RADIUS mode the shared secret): they appear only ' +
    'in this output (and --out, written with mode 0600), never in logs or the audit log. Pasting it twice changes nothing. Printing it ' +
    'moves a pending router to registering: ispctl then reaches it at its tunnel address, and the first good health check makes it online. ' +
    'Add the router\'s peer to the hub (ispctl wireguard config --out …, or --hub-config here). RouterOS 6 has no WireGuard: use ' +
    '--management-address with --allow-from. Step 3 of ispctl router onboard.';
  static override examples = [
    '<%= config.bin %> router install-script tower-1 --out install.rsc --hub-config /etc/wireguard/wg-ispctl.conf',
    '<%= config.bin %> router install-script old-ccr --management-address 203.0.113.9 --allow-from 198.51.100.4',
  ];
  static override args = { name: Args.string({ required: true, description: 'Router name.' }) };
  static override flags = {
    out: Flags.string({ summary: 'Write the script to this file (mode 0600) instead of printing it.' }),
    'hub-config': Flags.string({ summary: "Also rewrite the hub's wg-quick file (mode 0600) so the router's peer is added; apply it with wg syncconf." }),
    'management-address': Flags.string({ summary: 'Onboard without WireGuard: the address ispctl reaches the router at (RouterOS 6).' }),
    'allow-from': Flags.string({ summary: 'With --management-address: the address ispctl connects from, as the router sees it.', dependsOn: ['management-address'] }),
  };

  public async run() {
    const ctx = await this.ctx();
    const r = await installScript(ctx, this.args.name, { managementAddress: this.flags['management-address'], allowFrom: this.flags['allow-from'] });
    let hubConfig: string | undefined;
    if (this.flags['hub-config']) {
      const hub = await hubWireguardConfig(ctx);
      hubConfig = writeSecretFile(this.flags['hub-config'], hub.config);
      this.note(`Wrote the hub configuration (${hub.peers.length} peer(s)) to ${hubConfig}; apply it: wg syncconf ${hub.interfaceName} <(wg-quick strip ${hubConfig})`);
    }
    // FreeRADIUS knows routers by their NAS address, now the tunnel address.
    if (r.review.mode === 'radius') await this.reloadRadius(r.router, `router install-script ${r.router}`);
    const { script, ...info } = r;
    if (this.flags.out) {
      const path = writeSecretFile(this.flags.out, script);
      this.say(`Wrote the install script of ${r.router} to ${path} (mode 0600; it holds secrets: delete it once pasted).`);
      this.say(this.chalk.dim(`${r.router} is ${r.status}; ispctl will reach it at ${r.host}. Watch: ispctl router check ${r.router}`));
      return { ...info, out: path, ...(hubConfig ? { hubConfig } : {}) };
    }
    if (!this.jsonEnabled()) process.stdout.write(script);
    this.note(this.chalk.dim(`${r.router} is ${r.status}; ispctl will reach it at ${r.host}. Paste the script into the router, then: ispctl router check ${r.router}`));
    return { ...r, ...(hubConfig ? { hubConfig } : {}) };
  }
}
