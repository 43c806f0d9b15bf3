import { Flags } from '@oclif/core';
import { BaseCommand } from '../../cli/base-command.js';
import { retryJobs } from '../../core/provisioning/retry.js';

export default class JobsRetry extends BaseCommand<typeof JobsRetry> {
  static override summary = 'Run queued router jobs now, including those waiting out a backoff after a failure.';
  static override description =
    'Takes the pending jobs (of one router, or the ids given, or all), carries them to their routers now, and prints what was applied and ' +
    'what still fails. Jobs converge to the state in the database when they run, so retrying never applies anything twice. Exits 3 when ' +
    'some jobs are still queued afterwards.';
  static override examples = ['<%= config.bin %> jobs retry', '<%= config.bin %> jobs retry --router core1', '<%= config.bin %> jobs retry --id 42 --id 43 --json', '<%= config.bin %> jobs retry --router core1 --wait 300'];
  static override flags = {
    router: Flags.string({ summary: 'Only jobs of this router.' }),
    id: Flags.integer({ summary: 'Only this job (repeat for more).', multiple: true, min: 1 }),
    timeout: Flags.integer({ summary: 'Seconds to wait for each router (retry is not bounded by --router-timeout).', default: 30, min: 1 }),
    wait: Flags.integer({ summary: 'Seconds to keep watching routers that cannot be reached: each job goes the moment its router answers again.', default: 0, min: 0 }),
  };

  public async run() {
    const f = this.flags;
    const ctx = await this.ctx();
    const r = await retryJobs(ctx, {
      router: f.router,
      ids: f.id,
      timeoutMs: f.timeout * 1000,
      waitMs: f.wait * 1000,
      onWait: () => this.note(`Watching the routers that could not be reached, for up to ${f.wait} s...`),
    });
    if (r.jobs.length === 0) {
      this.say('No queued jobs to retry.');
      return r;
    }
    const applied = r.jobs.filter((j) => j.status === 'done' || j.status === 'cancelled');
    const open = r.jobs.filter((j) => j.status === 'pending' || j.status === 'running');
    for (const x of r.routers) {
      this.say(`${x.router}: ${x.done} applied${x.failed ? `, ${this.chalk.red(`${x.failed} still failing`)}` : ''}${x.error && x.failed ? this.chalk.dim(` (${x.error})`) : ''}`);
    }
    const shown = this.flags.verbose ? Infinity : 50;
    for (const j of applied.slice(0, shown)) this.say(`  ${this.chalk.green('✓')} ${j.id} ${j.router} ${j.kind} ${j.target}`);
    for (const j of open.slice(0, shown)) this.say(`  ${this.chalk.red('x')} ${j.id} ${j.router} ${j.kind} ${j.target}: ${j.lastError ?? j.status}`);
    if (applied.length + open.length > 2 * shown) this.say(this.chalk.dim('  (--verbose or --json lists every job)'));
    if (open.length) this.markPartial(`${open.length} job${open.length === 1 ? ' is' : 's are'} still queued; they are retried automatically with backoff.`);
    else this.say(`All ${applied.length} job${applied.length === 1 ? '' : 's'} applied.`);
    return r;
  }
}
