import { BaseCommand } from '../../cli/base-command.js';
import { formatTime } from '../../cli/format.js';
import { daemonStatus, type DaemonStatus, type InstanceView, type ScheduleView } from '../../core/daemon/status.js';

function ago(d: Date | null, now: number, tz: string): string {
  if (!d) return '';
  const s = Math.round((now - d.getTime()) / 1000);
  if (s < 0) return formatTime(d, tz);
  if (s < 90) return `${s} s ago`;
  if (s < 5400) return `${Math.round(s / 60)} min ago`;
  if (s < 172_800) return `${Math.round(s / 3600)} h ago`;
  return `${Math.round(s / 86_400)} days ago`;
}

export default class DaemonStatusCommand extends BaseCommand<typeof DaemonStatusCommand> {
  protected override readsOnly = true;
  static override summary = 'Show whether a daemon is running, which instance leads, how each schedule last ended, and the router work waiting.';
  static override description =
    'An instance is running while its heartbeat is recent; gone when it stopped without saying so (crash, kill -9, lost host). ' +
    'On PostgreSQL the leader is the instance holding the leader lock. See docs/daemon.md.';
  static override examples = ['<%= config.bin %> daemon status', '<%= config.bin %> daemon status --json'];

  public async run(): Promise<DaemonStatus> {
    const ctx = await this.ctx();
    const { timezone: tz } = await this.formats();
    const s = await daemonStatus(ctx);
    const now = Date.now();
    const c = this.chalk;
    const running = s.instances.filter((i) => i.state === 'running');
    if (s.running) {
      this.say(`${c.green('●')} Daemon running: ${running.length} instance(s)${s.leader ? `, leader ${c.bold(s.leader.name)} (${s.leader.host}, pid ${s.leader.pid})${s.leader.leaderSince ? ` since ${ago(s.leader.leaderSince, now, tz)}` : ''}` : ', no leader at the moment'}.`);
    } else {
      this.say(`${c.red('●')} No daemon is running. Start one with ispctl daemon (or systemctl start ispctl).`);
    }
    // Running instances, and those that stopped or died in the last hour (--json: the last day).
    const shown = s.instances
      .filter((i) => i.state === 'running' || i.heartbeatAgeSeconds < 3600)
      .sort((a, b) => Number(b.state === 'running') - Number(a.state === 'running') || b.startedAt.getTime() - a.startedAt.getTime());
    const older = s.instances.length - shown.length;
    if (shown.length) {
      this.say();
      this.table<InstanceView>(shown.slice(0, 10), [
        { header: 'INSTANCE', get: (i) => i.name },
        { header: 'HOST', get: (i) => i.host },
        { header: 'PID', get: (i) => i.pid, align: 'right' },
        { header: 'STATE', get: (i) => (i.state === 'running' ? c.green(i.state) : i.state === 'gone' ? c.red(i.state) : c.dim(i.state)) },
        { header: 'ROLE', get: (i) => (i.leader ? c.bold('leader') : i.state === 'running' ? 'follower' : '') },
        { header: 'STARTED', get: (i) => ago(i.startedAt, now, tz) },
        { header: 'HEARTBEAT', get: (i) => ago(i.heartbeatAt, now, tz) },
      ]);
    }
    const hidden = older + Math.max(0, shown.length - 10);
    if (hidden > 0) this.say(c.dim(`(${hidden} earlier instance(s) not shown; --json lists the last day)`));
    this.say();
    this.table<ScheduleView>(s.schedules, [
      { header: 'SCHEDULE', get: (r) => r.schedule },
      { header: 'WHEN', get: (r) => r.when },
      { header: 'LAST RUN', get: (r) => ago(r.lastStartedAt, now, tz) },
      {
        header: 'OUTCOME',
        get: (r) => {
          const text = `${r.outcome}${r.slot ? ` (${r.slot})` : ''}${r.consecutiveFailures > 1 ? ` ×${r.consecutiveFailures}` : ''}`;
          return r.outcome === 'ok' ? c.green(text) : r.outcome === 'failed' || r.outcome === 'interrupted' ? c.red(text) : r.outcome === 'never' ? c.dim(text) : text;
        },
      },
      { header: 'BY', get: (r) => r.instance ?? '', optional: true },
      // Only when a run failed: an empty column would take the width WHEN needs.
      ...(s.schedules.some((r) => r.error) ? [{ header: 'ERROR', get: (r: ScheduleView) => (r.error ? r.error.slice(0, 80) : '') }] : []),
    ]);
    if (s.billing) this.say(`\nNext billing run: ${s.billing.nextPeriod} at ${formatTime(s.billing.nextRunAt, tz)}.`);
    const j = s.jobs;
    this.say(`Router work: ${j.pending} queued${j.failing ? `, ${c.yellow(`${j.failing} failing`)}` : ''}${j.running ? `, ${j.running} running` : ''}.`);
    const r = s.routers;
    this.say(
      `Routers: ${r.total} (${r.online} online${r.degraded ? `, ${c.yellow(`${r.degraded} degraded`)}` : ''}${r.offline ? `, ${c.red(`${r.offline} offline`)}` : ''}${r.unknown ? `, ${r.unknown} not checked yet` : ''}).`,
    );
    for (const a of r.attention.filter((x) => x.status !== 'unknown').slice(0, 10)) {
      this.say(`  ${a.name}: ${a.status}${a.failures ? ` after ${a.failures} failed check(s)` : ''}${a.lastContactAt ? `, last contact ${ago(a.lastContactAt, now, tz)}` : ''}${a.lastError ? ` — ${a.lastError}` : ''}`);
    }
    return s;
  }
}
