import { Flags } from '@oclif/core';
import { input } from '@inquirer/prompts';
import { BaseCommand } from '../cli/base-command.js';
import { initialise, INIT_KEYS } from '../core/settings/init.js';
import { settingDef } from '../core/settings/registry.js';
import { isInitialised } from '../core/settings/service.js';
import { errors } from '../core/error-catalogue.js';

export default class Init extends BaseCommand<typeof Init> {
  static override summary = 'Set up ispctl: create the database and record the ISP\'s name, currency, time zone and billing terms.';
  static override description =
    'Creates the data directory and database (embedded, or the PostgreSQL server in DATABASE_URL) and stores the ISP settings. ' +
    'Asks for each value when run in a terminal; scripts pass flags (and --yes to accept defaults). Running it again changes nothing unless --force is given.';
  static override examples = [
    '<%= config.bin %> init',
    '<%= config.bin %> init --isp-name "Juan Net" --currency PHP --timezone Asia/Manila --billing-day 1 --due-days 15 --grace-days 5 --yes',
  ];

  static override flags = {
    'isp-name': Flags.string({ summary: "The ISP's name, shown on invoices." }),
    currency: Flags.string({ summary: 'ISO 4217 currency code, e.g. PHP.' }),
    timezone: Flags.string({ summary: 'IANA time zone, e.g. Asia/Manila.' }),
    'billing-day': Flags.string({ summary: 'Day of the month billing periods start (1 to 28).' }),
    'due-days': Flags.string({ summary: 'Days from invoice to due date.' }),
    'grace-days': Flags.string({ summary: 'Days after the due date before suspension.' }),
    yes: Flags.boolean({ char: 'y', summary: 'Do not ask; use defaults for values not given.' }),
    force: Flags.boolean({ summary: 'Change the given settings even if ispctl is already set up.' }),
  };

  /** Init is the command that creates the schema. */
  protected override createsSchema = true;

  public async run() {
    const given: Record<string, unknown> = {};
    for (const key of INIT_KEYS) {
      const v = (this.flags as Record<string, unknown>)[key];
      if (v !== undefined) given[key] = v;
    }
    // Bad input changes nothing: every value given is checked, and a missing ISP name found,
    // before any database is created, migrated or written.
    for (const [k, v] of Object.entries(given)) settingDef(k).parse(v);
    const ask = !this.flags.yes && this.canPrompt();
    if (!ask && given['isp-name'] === undefined && !(await this.databaseSetUp())) {
      throw errors.missingFlags(
        `Missing --isp-name: ispctl is not set up yet and needs the ISP's name${this.flags.yes || this.jsonEnabled() ? '' : ' (not running in a terminal, so ispctl cannot ask)'}. Nothing was created.`,
        ['ispctl init --isp-name "My ISP" --currency PHP --timezone Asia/Manila --yes'],
        { missing: ['--isp-name'] },
      );
    }

    const ctx = await this.ctx();
    const already = await isInitialised(ctx.db);
    if (!already && ask) {
      for (const key of INIT_KEYS) {
        if (given[key] !== undefined) continue;
        const def = settingDef(key);
        given[key] = await input({
          message: def.description,
          default: def.default === undefined ? undefined : String(def.default),
          validate: (v) => {
            try {
              def.parse(v);
              return true;
            } catch (err) {
              return (err as Error).message;
            }
          },
        });
      }
    }

    const result = await initialise(ctx, { values: given, force: this.flags.force });
    const db = await this.db();
    if (result.alreadyInitialised && !this.flags.force) {
      this.say(`ispctl is already set up on ${db.location}; nothing changed.`);
      if (Object.keys(given).length) this.say('Use --force to change settings here, or ispctl settings set KEY VALUE.');
    } else if (result.alreadyInitialised) {
      this.say(result.changed.length ? `Updated ${result.changed.join(', ')}.` : 'Nothing to change.');
    } else {
      this.say(`Set up ispctl (${db.engine === 'pglite' ? 'embedded database' : 'PostgreSQL'} at ${db.location}).`);
    }
    this.details(result.settings.map((s) => [s.key, s.value]));
    return { engine: db.engine, location: db.location, ...result };
  }
}
