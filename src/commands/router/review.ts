import { Args, Flags } from '@oclif/core';
import { BaseCommand } from '../../cli/base-command.js';
import { readReport, reviewLines } from '../../cli/onboarding.js';
import { reviewRouter } from '../../core/onboarding/service.js';

export default class RouterReview extends BaseCommand<typeof RouterReview> {
  static override summary = "Read a router's inspect report and show the review: its tunnel address, its PPPoE interface, and what install will change.";
  static override description =
    'Stores the report (it holds no secret) and the tunnel address picked for the router: never one that overlaps the router\'s own ' +
    'networks or another router\'s. Without --report, reviews the stored report again (e.g. after changing wireguard-network). ' +
    'Changes nothing on the router. Step 2 of ispctl router onboard.';
  static override examples = [
    '<%= config.bin %> router review tower-1 --report report.txt',
    'ssh admin@192.0.2.7 < inspect.rsc | <%= config.bin %> router review tower-1 --report -',
    '<%= config.bin %> router review tower-1 --json',
  ];
  static override args = { name: Args.string({ required: true, description: 'Router name.' }) };
  static override flags = {
    report: Flags.string({ summary: 'File holding the line the inspect script printed, or - for stdin.' }),
  };

  public async run() {
    const ctx = await this.ctx();
    const pasted = this.flags.report === undefined ? undefined : await readReport(this.flags.report);
    const r = await reviewRouter(ctx, this.args.name, pasted);
    for (const line of reviewLines(r, this.chalk)) this.say(line);
    this.say('');
    this.say(this.chalk.dim(r.wireguard ? `Next: ispctl router install-script ${r.router} --out install.rsc` : `Next: ispctl router install-script ${r.router} --management-address ROUTER-IP --allow-from ISPCTL-IP`));
    return r;
  }
}
