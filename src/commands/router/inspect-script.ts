import { Args, Flags } from '@oclif/core';
import { BaseCommand } from '../../cli/base-command.js';
import { writeSecretFile } from '../../core/onboarding/files.js';
import { inspectScript } from '../../core/onboarding/service.js';

export default class RouterInspectScript extends BaseCommand<typeof RouterInspectScript> {
  static override summary = "Print the read-only RouterOS script whose one-line report starts a router's onboarding.";
  static override description =
    'Paste the script into the router\'s terminal (RouterOS 6 or 7). It changes nothing and prints one line, ISPCTL-REPORT v1 …; ' +
    'give that line to ispctl router review NAME --report FILE (or - for stdin). Step 1 of ispctl router onboard.';
  static override examples = ['<%= config.bin %> router inspect-script tower-1', '<%= config.bin %> router inspect-script tower-1 --out inspect.rsc'];
  static override args = { name: Args.string({ required: true, description: 'Router name (add it first: ispctl router add NAME).' }) };
  static override flags = {
    out: Flags.string({ summary: 'Write the script to this file instead of printing it.' }),
  };

  public async run() {
    const ctx = await this.ctx();
    const r = await inspectScript(ctx, this.args.name);
    if (this.flags.out) {
      const path = writeSecretFile(this.flags.out, r.script);
      this.say(`Wrote the inspect script of ${r.router} to ${path}.`);
      return { ...r, out: path };
    }
    if (!this.jsonEnabled()) process.stdout.write(r.script);
    this.note(this.chalk.dim(`Paste it into ${r.router}'s terminal, then: ispctl router review ${r.router} --report - < report.txt`));
    return r;
  }
}
