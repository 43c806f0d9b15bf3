import { Flags } from '@oclif/core';
import { BaseCommand } from '../../cli/base-command.js';
import { invalid } from '../../core/errors.js';
import { defaultDrivers } from '../../core/provisioning/drivers.js';
import { listJobs, toJob, type Job } from '../../core/provisioning/jobs.js';
import { runJobs } from '../../core/provisioning/runner.js';
import { getRouter } from '../../core/routers/service.js';

export default class JobsRetry extends BaseCommand<typeof JobsRetry> {
  static override summary = 'Run queued router jobs now, including those waiting out a backoff after a failure.';
  static override description =
    'Takes the pending jobs (of one router, or the ids given, or all), carries them to their routers now, and prints what was applied and ' +
    'what still fails. Jobs converge to the state in the database when they run, so retrying never applies anything twice. Exits 3 when ' +
    'some jobs are still queued afterwards.';
  static override examples = ['<%= config.bin %> jobs retry', '<%= config.bin %> jobs retry --router core1', '<%= config.bin %> jobs retry --id 42 --id 43 --json'];
  static override flags = {
    router: Flags.string({ summary: 'Only jobs of this router.' }),
    id: Flags.integer({ summary: 'Only this job (repeat for more).', multiple: true, min: 1 }),
    timeout: Flags.integer({ summary: 'Seconds to wait for each router (retry is not bounded by --router-timeout).', default: 30, min: 1 }),
  };

  public async run() {
    const f = this.flags;
    const ctx = await this.ctx();
    const router = f.router !== undefined ? await getRouter(ctx.db, f.router) : undefined;
    const ids = f.id?.length ? [...new Set(f.id)] : undefined;
    if (ids) {
      const found = await ctx.db('provisioning_jobs').whereIn('id', ids).select('id', 'status');
      const missing = ids.filter((id) => !found.some((r: { id: unknown }) => Number(r.id) === id));
      if (missing.length) throw invalid('JOB_NOT_FOUND', `There is no job ${missing.join(', ')}.`, ['ispctl jobs list --status open shows the queued jobs']);
    }
    const before = await listJobs(ctx.db, { status: 'pending', routerId: router?.id, limit: 1_000_000 });
    const asked = ids ? before.filter((j) => ids.includes(j.id)) : before;
    if (asked.length === 0) {
      this.say('No queued jobs to retry.');
      return { tried: 0, done: 0, failed: 0, remaining: 0, jobs: [] as Job[] };
    }
    const summary = await runJobs(ctx, await defaultDrivers(), {
      ids: asked.map((j) => j.id),
      routerIds: router ? [router.id] : undefined,
      ignoreBackoff: true,
      timeoutMs: f.timeout * 1000,
    });
    const after: Job[] = [];
    const askedIds = asked.map((j) => j.id);
    for (let i = 0; i < askedIds.length; i += 10_000) {
      const rows = await ctx.db('provisioning_jobs').whereIn('id', askedIds.slice(i, i + 10_000)).orderBy('id');
      after.push(...rows.map(toJob));
    }
    const names = new Map<number, string>(((await ctx.db('routers').select('id', 'name')) as Array<{ id: number; name: string }>).map((r) => [Number(r.id), r.name]));
    const applied = after.filter((j) => j.status === 'done' || j.status === 'cancelled');
    const open = after.filter((j) => j.status === 'pending' || j.status === 'running');
    for (const r of summary.routers) {
      this.say(`${r.router}: ${r.done} applied${r.failed ? `, ${this.chalk.red(`${r.failed} still failing`)}` : ''}${r.error && r.failed ? this.chalk.dim(` (${r.error})`) : ''}`);
    }
    const shown = this.flags.verbose ? Infinity : 50;
    for (const j of applied.slice(0, shown)) this.say(`  ${this.chalk.green('✓')} ${j.id} ${names.get(j.routerId) ?? j.routerId} ${j.kind} ${j.target}`);
    for (const j of open.slice(0, shown)) this.say(`  ${this.chalk.red('x')} ${j.id} ${names.get(j.routerId) ?? j.routerId} ${j.kind} ${j.target}: ${j.lastError ?? j.status}`);
    if (applied.length + open.length > 2 * shown) this.say(this.chalk.dim('  (--verbose or --json lists every job)'));
    if (open.length) this.markPartial(`${open.length} job${open.length === 1 ? ' is' : 's are'} still queued; they are retried automatically with backoff.`);
    else this.say(`All ${applied.length} job${applied.length === 1 ? '' : 's'} applied.`);
    return {
      tried: summary.claimed,
      done: summary.done,
      failed: summary.failed,
      remaining: open.length,
      jobs: after.map((j) => ({ ...j, router: names.get(j.routerId) ?? `#${j.routerId}` })),
    };
  }
}
