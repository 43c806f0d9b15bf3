import { Args, Flags } from '@oclif/core';
import { errors } from '../../core/error-catalogue.js';
import { confirm } from '@inquirer/prompts';
import { BaseCommand } from '../../cli/base-command.js';
import { archivePlan, getPlan } from '../../core/plans/service.js';

export default class PlanArchive extends BaseCommand<typeof PlanArchive> {
  static override summary = 'Archive a plan: it stays on its invoices and subscribers but cannot be chosen any more. Plans are never deleted.';
  static override description = 'Refused while current subscribers are on the plan, unless --force: then they keep it, at its price and speed, until moved.';
  static override examples = ['<%= config.bin %> plan archive "Promo 2025" --yes', '<%= config.bin %> plan archive legacy-10 --force --yes'];
  static override ask = { name: 'plan' as const };
  static override args = { name: Args.string({ required: true, description: 'Plan name.' }) };
  static override flags = {
    force: Flags.boolean({ summary: 'Archive it although current subscribers are on it (they keep it).' }),
    yes: Flags.boolean({ char: 'y', summary: 'Do not ask for confirmation.' }),
  };

  public async run() {
    const ctx = await this.ctx();
    const plan = await getPlan(ctx.db, this.args.name);
    if (!plan.archivedAt && !this.flags.yes) {
      if (!this.canPrompt()) throw errors.confirmationRequired(`Archiving plan ${plan.name}`);
      if (!(await confirm({ message: `Archive plan ${plan.name}? It can no longer be chosen for subscribers.`, default: false }))) {
        this.say('Nothing changed.');
        return { plan, archived: false };
      }
    }
    const result = await archivePlan(ctx, plan.name, { force: this.flags.force });
    if (result.alreadyArchived) this.say(`Plan ${plan.name} was already archived; nothing changed.`);
    else this.say(`Archived plan ${plan.name}.${result.currentServices ? ` ${result.currentServices} current service${result.currentServices === 1 ? '' : 's'} keep it until moved.` : ''}`);
    return { ...result, archived: !result.alreadyArchived };
  }
}
