import { BaseCommand } from '../../cli/base-command.js';
import { databaseStatus } from '../../core/db/migrate.js';

export default class DbStatus extends BaseCommand<typeof DbStatus> {
  static override summary = 'Show the database engine, where it is, the schema version and pending migrations.';
  static override examples = ['<%= config.bin %> db status', 'DATABASE_URL=postgres://isp@db/isp <%= config.bin %> db status --json'];
  protected override autoMigrate = false;

  public async run() {
    const status = await databaseStatus(await this.db());
    const result = { engine: status.engine, location: status.location, version: status.version, applied: status.applied.length, pending: status.pending };
    this.details([
      ['engine', status.engine === 'pglite' ? 'pglite (embedded)' : 'postgres'],
      ['location', status.location],
      ['schema version', status.version ?? '(empty database)'],
      ['applied', status.applied.length],
      ['pending', status.pending.length ? status.pending.join(', ') : 'none'],
    ]);
    if (status.pending.length) this.say(this.chalk.yellow('Run ispctl db migrate to apply the pending migrations.'));
    return result;
  }
}
