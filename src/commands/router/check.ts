import { Args, Flags } from '@oclif/core';
import { BaseCommand } from '../../cli/base-command.js';
import { checkRouter, type RouterCheckResult } from '../../core/routers/check.js';
import { listRouters } from '../../core/routers/service.js';
import { errors } from '../../core/error-catalogue.js';

export default class RouterCheck extends BaseCommand<typeof RouterCheck> {
  static override summary = 'Log in to a router over the API, read its identity, version and resources, and record its health.';
  static override description = 'Without a name, checks every router. Exits 1 when a router cannot be reached or refuses the login.';
  static override examples = ['<%= config.bin %> router check core1', '<%= config.bin %> router check --json'];
  static override args = { name: Args.string({ required: false, description: 'Router name (default: every router).' }) };
  static override flags = {
    timeout: Flags.integer({ summary: 'Seconds to wait for each router.', default: 5, min: 1, max: 120 }),
  };

  public async run() {
    const ctx = await this.ctx();
    const names = this.args.name ? [this.args.name] : (await listRouters(ctx.db)).map((r) => r.name);
    const results: RouterCheckResult[] = await Promise.all(names.map((n) => checkRouter(ctx, n, { timeoutMs: this.flags.timeout * 1000 })));
    for (const r of results) {
      if (r.ok) {
        this.say(`${this.chalk.green('✓')} ${r.router}: ${r.identity ?? '?'}, RouterOS ${r.version ?? '?'} on ${r.board ?? '?'}, up ${r.uptime ?? '?'} (${r.elapsedMs} ms)`);
      } else {
        this.say(`${this.chalk.red('✗')} ${r.router} (${r.host}:${r.port}) ${r.status}: ${r.error}`);
      }
    }
    if (names.length === 0) this.say(this.chalk.dim('No routers yet: ispctl router add …'));
    const failed = results.filter((r) => !r.ok);
    if (failed.length > 0) {
      const one = failed.length === 1 ? failed[0]! : undefined;
      throw errors.routerUnreachable(
        one ? `Router ${one.router} (${one.host}:${one.port}) is ${one.status}: ${one.error}` : `${failed.length} of ${results.length} routers failed the check: ${failed.map((f) => f.router).join(', ')}.`,
        ['ispctl router edit NAME --host … --api-port … --api-password … to fix what is wrong'],
        { results },
      );
    }
    return results;
  }
}
