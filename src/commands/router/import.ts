import { Args, Flags } from '@oclif/core';
import { BaseCommand } from '../../cli/base-command.js';
import { importReview } from '../../core/onboarding/brownfield-service.js';

export default class RouterImport extends BaseCommand<typeof RouterImport> {
  static override summary = 'Import a reviewed router snapshot: create its plans and subscribers and take its objects over without dropping a session.';
  static override description =
    'Checks the whole review file first and lists every problem with its line (an included plan without a price is one: prices are never invented). ' +
    'Then creates the plans and subscribers in one transaction, and in API mode takes over the router\'s profiles, pools and secrets in place: ' +
    'marks them as managed, renames profiles and pools to ispctl\'s names and sets what differs; it removes nothing and drops no live session. ' +
    'Afterwards ispctl sync NAME --dry-run plans nothing. Running it again reports everything as already imported.';
  static override examples = ['<%= config.bin %> router import core1 --review core1-review.yaml --dry-run', '<%= config.bin %> router import core1 --review core1-review.yaml'];
  static override args = { name: Args.string({ required: true, description: 'Router name.' }) };
  static override flags = {
    review: Flags.string({ required: true, summary: 'The review file written by ispctl router snapshot and edited.' }),
    'dry-run': Flags.boolean({ summary: 'Check the file and show what would be imported; change nothing.' }),
  };

  public async run() {
    const ctx = await this.ctx();
    const r = await importReview(ctx, this.args.name, { review: this.flags.review, dryRun: this.flags['dry-run'] });
    const verb = r.dryRun ? 'Would create' : 'Created';
    this.say(`${verb} ${r.plans.created.length} plan${r.plans.created.length === 1 ? '' : 's'}${r.plans.created.length ? ` (${r.plans.created.join(', ')})` : ''} and ${r.subscribers.created.length} subscriber${r.subscribers.created.length === 1 ? '' : 's'} on ${r.router}.`);
    if (r.plans.existing.length) this.say(this.chalk.dim(`  Existing plans used as they are: ${r.plans.existing.join(', ')}.`));
    if (r.subscribers.alreadyImported.length) this.say(`  Already imported: ${r.subscribers.alreadyImported.length} subscriber${r.subscribers.alreadyImported.length === 1 ? '' : 's'}.`);
    if (r.subscribers.skipped) this.say(this.chalk.dim(`  Left out (include: false): ${r.subscribers.skipped}.`));
    if (r.routerDefaults) this.say(`  Router defaults: local address ${r.routerDefaults.localAddress ?? '-'}, pool ${r.routerDefaults.pool ?? '-'}.`);
    if (r.applied) {
      const a = r.applied;
      this.say(`  On the router: ${a.created} created, ${a.updated} taken over or updated in place, nothing removed; live sessions ${r.sessions?.before} before, ${r.sessions?.after} after.`);
    }
    if (r.dryRun) this.say(this.chalk.dim('Dry run: nothing was changed.'));
    else if (r.applied) this.say(this.chalk.dim(`Check: ispctl sync --router ${r.router} --dry-run`));
    if (r.failures.length) this.markPartial(`${r.failures.length} write${r.failures.length === 1 ? '' : 's'} failed on the router (${r.failures.slice(0, 3).join('; ')}); the database is imported: run ispctl sync --router ${r.router} --adopt to finish.`);
    return r;
  }
}
