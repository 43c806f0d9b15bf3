import { Flags } from '@oclif/core';
import { osUser } from '../../core/audit.js';
import { BaseCommand } from '../../cli/base-command.js';
import { colourEnabled, makeChalk } from '../../cli/output.js';
import { clockFromEnv } from '../../core/clock.js';
import { Daemon, type DaemonRunResult } from '../../core/daemon/daemon.js';
import { formatJsonLine, formatTextLine, type DaemonLogger, type LogLevel } from '../../core/daemon/logger.js';
import { IspctlError } from '../../core/errors.js';

export default class DaemonRun extends BaseCommand<typeof DaemonRun> {
  static override summary = 'Run the schedules in the foreground: billing, collections, router work and health, stale RADIUS sessions, messages.';
  static override description =
    'Generates invoices on the billing day at billing-hour (and catches up on start if it was down then), runs collections every ' +
    'collections-interval-minutes, retries queued router work with backoff, checks router health, closes stale RADIUS sessions and ' +
    'sends queued messages. Meant to run under systemd (templates/systemd/ispctl.service). Several daemons may share one PostgreSQL: ' +
    'one leads and runs the schedules, all of them run router work. On the embedded database it holds the database only while it ' +
    'works, so other commands run in between. SIGTERM or SIGINT finishes the work in hand and exits 0. See docs/daemon.md.';
  static override examples = [
    '<%= config.bin %> daemon',
    '<%= config.bin %> daemon --log-format json --instance-name noc-1',
    '<%= config.bin %> daemon --once',
  ];
  static override flags = {
    once: Flags.boolean({ summary: 'Run every due schedule once and exit (for cron and tests); exits 1 if one failed.' }),
    'log-format': Flags.string({ summary: 'Log lines for people (text) or one JSON object per line (json), on stderr.', options: ['text', 'json'], default: 'text', env: 'ISPCTL_LOG_FORMAT' }),
    'instance-name': Flags.string({ summary: 'Name of this instance in logs and daemon status (default: the host name).', env: 'ISPCTL_INSTANCE_NAME' }),
  };

  public async run(): Promise<DaemonRunResult> {
    const f = this.flags;
    const minLevel: LogLevel = f.verbose ? 'debug' : f.quiet ? 'warn' : 'info';
    const daemon = new Daemon({
      target: this.target,
      env: this.env,
      clock: clockFromEnv(this.env),
      actor: { user: osUser(this.env), command: this.commandLine },
      logger: this.logger(f['log-format'] === 'json' ? 'json' : 'text', minLevel),
      instanceName: f['instance-name'],
      version: this.config.version,
      once: f.once,
      lockTimeoutMs: Math.max(60, this.flags['lock-timeout'] ?? 30) * 1000,
      routerTimeoutMs: (this.flags['router-timeout'] ?? 5) * 1000,
    });

    let signals = 0;
    const onSignal = (signal: NodeJS.Signals) => {
      signals++;
      if (signals > 1) {
        process.stderr.write(`Second ${signal}: exiting now without waiting for the work in hand.\n`);
        process.exit(130);
      }
      daemon.stop(signal);
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
    let result: DaemonRunResult;
    try {
      result = await daemon.run();
    } finally {
      process.off('SIGTERM', onSignal);
      process.off('SIGINT', onSignal);
    }
    if (f.once) {
      for (const t of result.tasks) this.say(`${t.schedule.padEnd(13)} ${t.outcome.padEnd(7)} ${t.message}`);
      const failed = result.tasks.filter((t) => t.outcome === 'failed');
      if (failed.length) {
        throw new IspctlError('DAEMON_SCHEDULE_FAILED', `${failed.length} schedule(s) failed: ${failed.map((t) => `${t.schedule} (${t.error})`).join('; ')}`, {
          kind: 'failure',
          suggestions: ['Run again with --verbose (or DEBUG=1) for more detail', 'ispctl daemon status shows the last run of each schedule'],
          details: { tasks: result.tasks },
        });
      }
    }
    return result;
  }

  /** Log lines on stderr: text for people (coloured on a terminal), or JSON lines. */
  private logger(format: 'text' | 'json', minLevel: LogLevel): DaemonLogger {
    const order: Record<LogLevel, number> = { debug: 0, info: 1, warn: 2, error: 3 };
    const chalk = makeChalk(format === 'text' && colourEnabled(process.stderr));
    const paint: Record<LogLevel, (s: string) => string> = { debug: chalk.dim, info: (s) => s, warn: chalk.yellow, error: chalk.red };
    return (entry) => {
      if (order[entry.level] < order[minLevel]) return;
      const line = format === 'json' ? formatJsonLine(entry) : paint[entry.level](formatTextLine(entry));
      process.stderr.write(line + '\n');
    };
  }
}
