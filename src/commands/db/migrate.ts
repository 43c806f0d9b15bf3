import { BaseCommand } from '../../cli/base-command.js';
import { migrateLatest, migrationStatus } from '../../core/db/migrate.js';

export default class DbMigrate extends BaseCommand<typeof DbMigrate> {
  static override summary = 'Apply pending database migrations (commands also do this on first use).';
  static override examples = ['<%= config.bin %> db migrate'];
  protected override autoMigrate = false;

  public async run() {
    const db = await this.db();
    const applied = await migrateLatest(db.knex);
    const status = await migrationStatus(db.knex);
    this.say(applied.length ? `Applied ${applied.length} migration(s): ${applied.join(', ')}` : 'The database is up to date.');
    this.say(`Schema version: ${status.version}`);
    return { engine: db.engine, location: db.location, applied, version: status.version };
  }
}
