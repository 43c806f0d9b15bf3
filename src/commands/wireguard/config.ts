import { Flags } from '@oclif/core';
import { BaseCommand } from '../../cli/base-command.js';
import { writeSecretFile } from '../../core/onboarding/files.js';
import { hubWireguardConfig } from '../../core/onboarding/hub.js';

export default class WireguardConfig extends BaseCommand<typeof WireguardConfig> {
  static override summary = "Print the WireGuard hub's wg-quick configuration: this host's interface and one peer per onboarded router.";
  static override description =
    'The hub key pair is generated on first use and kept encrypted with the other secrets; the output holds the private key. ' +
    'With --out the file is written with mode 0600. Apply a new peer without dropping the others: ' +
    'wg syncconf IFACE <(wg-quick strip FILE). See docs/onboarding.md for a systemd path unit that does it on every change.';
  static override examples = [
    '<%= config.bin %> wireguard config --out /etc/wireguard/wg-ispctl.conf',
    'wg syncconf wg-ispctl <(wg-quick strip /etc/wireguard/wg-ispctl.conf)',
    '<%= config.bin %> wireguard config --json',
  ];
  static override flags = {
    out: Flags.string({ summary: 'Write the configuration to this file (mode 0600) instead of printing it.' }),
  };

  public async run() {
    const ctx = await this.ctx();
    const r = await hubWireguardConfig(ctx);
    const { config, ...info } = r;
    if (!info.endpoint) this.warnLine('wireguard-endpoint is not set: routers need it to dial this host (ispctl settings set wireguard-endpoint HOST:PORT).');
    if (this.flags.out) {
      const path = writeSecretFile(this.flags.out, config);
      this.say(`Wrote the hub configuration (${info.peers.length} router peer${info.peers.length === 1 ? '' : 's'}) to ${path} (mode 0600).`);
      this.say(this.chalk.dim(`First time: wg-quick up ${path}   Then after each change: wg syncconf ${info.interfaceName} <(wg-quick strip ${path})`));
      return { ...info, out: path };
    }
    // The configuration itself is the output: on stdout (or in --json as `config`), nowhere else.
    if (!this.jsonEnabled()) process.stdout.write(config);
    return r;
  }
}
