import { Flags } from '@oclif/core';
import { BaseCommand, foreignDatabase } from '../../cli/base-command.js';
import { inspectSchema, migrateLatest, migrationStatus } from '../../core/db/migrate.js';

export default class DbMigrate extends BaseCommand<typeof DbMigrate> {
  static override summary = 'Apply pending database migrations (commands also do this on first use).';
  static override examples = ['<%= config.bin %> db migrate'];
  static override flags = {
    'allow-foreign-tables': Flags.boolean({
      summary: "Create ispctl's tables even though the database already holds another application's tables.",
    }),
  };
  protected override autoMigrate = false;

  public async run() {
    const db = await this.db();
    const schema = await inspectSchema(db.knex);
    if (schema.kind === 'foreign' && !this.flags['allow-foreign-tables']) throw foreignDatabase(db.location, schema.tables);
    const applied = await migrateLatest(db.knex);
    const status = await migrationStatus(db.knex);
    this.say(applied.length ? `Applied ${applied.length} migration(s): ${applied.join(', ')}` : 'The database is up to date.');
    this.say(`Schema version: ${status.version}`);
    return { engine: db.engine, location: db.location, applied, version: status.version };
  }
}
