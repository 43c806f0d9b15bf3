import { Args, Flags } from '@oclif/core';
import { BaseCommand } from '../../cli/base-command.js';
import { DEFAULT_TEXT_FALLBACK, snapshotRouter } from '../../core/onboarding/brownfield-service.js';

export default class RouterSnapshot extends BaseCommand<typeof RouterSnapshot> {
  static override summary = 'Read a router that already serves PPPoE customers into a review file to edit before importing it.';
  static override description =
    'Reads the PPP profiles, secrets (with passwords), active sessions, IP pools and simple queues over the API and writes a YAML file with ' +
    'comments: plan candidates from the profiles (rate limits parsed, price to fill in), subscriber candidates from the secrets (plan, static IP, ' +
    'name from the comment), secrets that need a decision, warnings, and what is already imported. The file holds every PPPoE password: ' +
    'it is written with mode 0600. Text that is not valid UTF-8 (comments typed in Winbox) is read in --text-fallback. Changes nothing on the router. ' +
    'Then: ispctl router import NAME --review FILE.';
  static override examples = ['<%= config.bin %> router snapshot core1 --out core1-review.yaml', '<%= config.bin %> router snapshot core1 --out review.yaml --text-fallback cp1250'];
  static override args = { name: Args.string({ required: true, description: 'Router name.' }) };
  static override flags = {
    out: Flags.string({ required: true, summary: 'File to write the review to (mode 0600: it holds passwords).' }),
    'text-fallback': Flags.string({ summary: `Code page for router text that is not valid UTF-8 (default ${DEFAULT_TEXT_FALLBACK}, as Winbox writes on Western Windows).`, default: 'cp1252' }),
  };

  public async run() {
    const ctx = await this.ctx();
    const r = await snapshotRouter(ctx, this.args.name, { out: this.flags.out, textFallback: this.flags['text-fallback'] });
    const c = r.counts;
    this.say(`Wrote ${r.out} (mode 0600: it holds the PPPoE passwords; delete it after the import).`);
    this.say(`  ${c.plans} plan candidate${c.plans === 1 ? '' : 's'} (${c.plansIncluded} included: fill in their prices), ${c.subscribers} subscriber${c.subscribers === 1 ? '' : 's'}, ${c.decide} to decide, ${c.importedSubscribers} already imported.`);
    this.say(this.chalk.dim(`  Read ${c.sessions} live session${c.sessions === 1 ? '' : 's'}, ${c.pools} pool${c.pools === 1 ? '' : 's'}, ${c.queues} simple queue${c.queues === 1 ? '' : 's'}.`));
    for (const w of r.warnings.slice(0, this.flags.verbose ? Infinity : 10)) this.warnLine(w);
    if (r.partial) this.markPartial('Some menus could not be read; the file says which.');
    this.say(`Next: edit it, then ispctl router import ${r.router} --review ${r.out} --dry-run`);
    this.essential(r.out);
    return r;
  }
}
