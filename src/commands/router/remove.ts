import { Args, Flags } from '@oclif/core';
import { errors } from '../../core/error-catalogue.js';
import { confirm } from '@inquirer/prompts';
import { BaseCommand } from '../../cli/base-command.js';
import { getRouter, removeRouter } from '../../core/routers/service.js';

export default class RouterRemove extends BaseCommand<typeof RouterRemove> {
  static override summary = 'Remove a router. Refused while subscribers use it, unless they are moved to another router.';
  static override description =
    'A router with current services is never removed from under them: move them with --move-to. When only ended services (history) ' +
    'still refer to it, --force removes it and keeps their history without a router.';
  static override examples = ['<%= config.bin %> router remove old-core --move-to core2 --yes', '<%= config.bin %> router remove lab1 --yes'];
  static override ask = { name: 'router' as const };
  static override args = { name: Args.string({ required: true, description: 'Router name.' }) };
  static override flags = {
    'move-to': Flags.string({ summary: 'Move every service on this router to that router first.' }),
    force: Flags.boolean({ summary: 'Remove it although ended services still refer to it (never with current services).' }),
    yes: Flags.boolean({ char: 'y', summary: 'Do not ask for confirmation.' }),
  };

  public async run() {
    const ctx = await this.ctx();
    const router = await getRouter(ctx.db, this.args.name);
    if (!this.flags.yes) {
      if (!this.canPrompt()) throw errors.confirmationRequired(`Removing router ${router.name}`);
      const what = this.flags['move-to'] ? ` and move its subscribers to ${this.flags['move-to']}` : '';
      if (!(await confirm({ message: `Remove router ${router.name}${what}?`, default: false }))) {
        this.say('Nothing changed.');
        return { removed: false, router };
      }
    }
    const result = await removeRouter(ctx, router.name, { moveTo: this.flags['move-to'], force: this.flags.force });
    this.say(`Removed router ${router.name}.`);
    if (result.movedServiceIds.length) this.say(`Moved ${result.movedServiceIds.length} service${result.movedServiceIds.length === 1 ? '' : 's'} to ${result.movedTo}.`);
    if (result.detachedServiceIds.length) this.say(`Kept the history of ${result.detachedServiceIds.length} ended service${result.detachedServiceIds.length === 1 ? '' : 's'} without a router.`);
    if (result.router.mode === 'radius') await this.reloadRadius(result.router.name, `router remove ${result.router.name}`);
    const routerJobs = await this.applyNow(result.jobIds);
    return { removed: true, ...result, ...(routerJobs.status === 'none' ? {} : { routerJobs }) };
  }
}
