import { Flags } from '@oclif/core';
import { BaseCommand } from '../../cli/base-command.js';
import { migrateDatabase } from '../../core/db/migrate.js';

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
    const result = await migrateDatabase(await this.db(), { allowForeignTables: this.flags['allow-foreign-tables'] });
    this.say(result.applied.length ? `Applied ${result.applied.length} migration(s): ${result.applied.join(', ')}` : 'The database is up to date.');
    this.say(`Schema version: ${result.version}`);
    return result;
  }
}
