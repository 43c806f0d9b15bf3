import { Flags } from '@oclif/core';
import { BaseCommand } from '../../cli/base-command.js';
import { listFlags } from '../../cli/table.js';
import { formatLocalIso } from '../../core/time.js';
import { listJobsWithRouter, type Job } from '../../core/provisioning/jobs.js';
import { getRouter } from '../../core/routers/service.js';

export const JOB_STATUS_FILTERS = ['open', 'pending', 'running', 'done', 'cancelled'] as const;

/** `in 12s`, `3m ago`: when a job is next tried, relative to now. */
export function relativeTime(at: Date, now: Date): string {
  const s = Math.round((at.getTime() - now.getTime()) / 1000);
  const abs = Math.abs(s);
  const text = abs < 60 ? `${abs}s` : abs < 3600 ? `${Math.round(abs / 60)}m` : abs < 86400 ? `${Math.round(abs / 3600)}h` : `${Math.round(abs / 86400)}d`;
  return s > 0 ? `in ${text}` : s === 0 ? 'now' : `${text} ago`;
}

export interface JobView extends Job {
  router: string;
}

export default class JobsList extends BaseCommand<typeof JobsList> {
  protected override readsOnly = true;
  static override summary = 'List provisioning jobs: router work that is queued, running, done or cancelled.';
  static override description =
    'A job says which target a router must converge (a service, a plan\'s profiles, a removal, a RADIUS CoA or disconnect). A change is ' +
    'saved first and its jobs tried at once; what fails stays queued with its error and is retried with backoff (5 s, 10 s, 20 s … up to ' +
    '10 minutes). By default the open jobs (pending and running) are listed, newest first.';
  static override examples = [
    '<%= config.bin %> jobs list',
    '<%= config.bin %> jobs list --router core1 --status pending',
    '<%= config.bin %> jobs list --status done --limit 20 --json',
  ];
  static override flags = {
    router: Flags.string({ summary: 'Only jobs of this router.' }),
    status: Flags.string({ summary: 'open (pending and running), pending, running, done or cancelled.', options: [...JOB_STATUS_FILTERS], default: 'open' }),
    limit: Flags.integer({ summary: 'At most this many jobs, newest first.', default: 100, min: 1, max: 100_000 }),
    ...listFlags,
  };

  public async run() {
    const ctx = await this.ctx();
    const router = this.flags.router !== undefined ? await getRouter(ctx.db, this.flags.router) : undefined;
    const views: JobView[] = await listJobsWithRouter(ctx.db, { status: this.flags.status as (typeof JOB_STATUS_FILTERS)[number], routerId: router?.id, limit: this.flags.limit });
    const now = ctx.clock.now();
    const { timezone } = await this.formats();
    this.table(views, [
      { header: 'ID', get: (j) => j.id, align: 'right' },
      { header: 'ROUTER', get: (j) => j.router },
      { header: 'KIND', get: (j) => j.kind },
      { header: 'TARGET', get: (j) => j.target + (typeof j.payload.username === 'string' ? ` (${j.payload.username})` : '') },
      { header: 'STATUS', get: (j) => (j.status === 'pending' && j.attempts > 0 ? this.chalk.yellow('retrying') : j.status) },
      { header: 'ATTEMPTS', get: (j) => j.attempts, align: 'right' },
      { header: 'NEXT TRY', sortBy: (j) => (j.status === 'pending' ? j.nextAttemptAt : j.doneAt), raw: (j) => (j.status === 'pending' ? formatLocalIso(j.nextAttemptAt, timezone) : j.doneAt ? formatLocalIso(j.doneAt, timezone) : ''), get: (j) => (j.status === 'pending' ? relativeTime(j.nextAttemptAt, now) : j.doneAt ? `done ${relativeTime(j.doneAt, now)}` : '') },
      { header: 'LAST ERROR', get: (j) => j.lastError ?? '' },
    ]);
    if (views.length === this.flags.limit) this.say(this.chalk.dim(`(showing the newest ${this.flags.limit}; --limit shows more)`));
    return views;
  }
}
