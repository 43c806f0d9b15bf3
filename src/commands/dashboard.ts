import { Flags } from '@oclif/core';
import { BaseCommand } from '../cli/base-command.js';
import { colourEnabled } from '../cli/output.js';

export default class Dashboard extends BaseCommand<typeof Dashboard> {
  static override summary = 'The NOC screen: access, collections, money, routers, live events and the daemon, with search and actions.';
  static override description =
    'Full screen on a terminal: Tab and the arrows move between panes, / finds a subscriber (profile, balance, invoices, live session, ' +
    'events) where p records a payment, s suspends, r resumes and k kicks the session, each after a y/N confirmation; r on a router ' +
    'retries its jobs; ? lists the keys; q quits. On PostgreSQL it follows changes as they happen (LISTEN/NOTIFY); on the embedded ' +
    'database it polls every --interval seconds and opens the database only for each refresh, so other commands and the daemon keep ' +
    'working. When stdout is not a terminal it prints the summary once (--json: the same data as JSON).';
  static override examples = ['<%= config.bin %> dashboard', '<%= config.bin %> dashboard --interval 5', '<%= config.bin %> dashboard --json | jq .data.money'];
  static override flags = {
    interval: Flags.integer({ summary: 'Embedded database: seconds between refreshes.', default: 2, min: 1, max: 3600 }),
  };

  public async run() {
    const ctx = await this.ctx();
    const { dashboardSnapshot } = await import('../core/dashboard/snapshot.js');
    if (this.jsonEnabled() || !process.stdout.isTTY || !process.stdin.isTTY) {
      const snapshot = await dashboardSnapshot(ctx);
      if (!this.jsonEnabled()) {
        const { summaryText } = await import('../tui/summary.js');
        this.say(summaryText(snapshot, 76));
      }
      return snapshot;
    }
    const engine = ctx.engine;
    // Migrated and readable: let go of the database; each refresh opens its own session.
    await this.releaseDatabase();
    // Ink draws only the last frame when it thinks it runs in CI (CI or CONTINUOUS_INTEGRATION set),
    // which leaves a live screen blank. Stdin and stdout are a terminal here, so a person is watching.
    for (const k of ['CI', 'CONTINUOUS_INTEGRATION']) delete process.env[k];
    const [{ render }, { createElement }, { App }, { coreSource }] = await Promise.all([import('ink'), import('react'), import('../tui/app.js'), import('../tui/source.js')]);
    const source = await coreSource({
      engine: engine === 'postgres' ? 'postgres' : 'pglite',
      databaseUrl: this.target.engine === 'postgres' ? this.target.url : undefined,
      open: () => this.openSession(engine === 'postgres' ? 10_000 : Math.max(5_000, (this.flags['lock-timeout'] ?? 30) * 1000)),
      pollMs: this.flags.interval * 1000,
      routerTimeoutMs: (this.flags['router-timeout'] ?? 5) * 1000,
    });
    // The alternate screen, as full-screen terminal programs do: the shell comes back as it was.
    process.stdout.write('\u001b[?1049h\u001b[H');
    try {
      const app = render(createElement(App, { source, colour: colourEnabled() }), { exitOnCtrlC: true, patchConsole: true });
      await app.waitUntilExit();
    } finally {
      process.stdout.write('\u001b[?1049l');
      await source.close();
    }
    return undefined;
  }
}
