import { Flags } from '@oclif/core';
import { BaseCommand, toUserError } from '../cli/base-command.js';
import { describeTarget } from '../core/db/config.js';
import { checkKeyFile, databaseUnreachable, runDoctor, type DoctorCheck } from '../core/doctor.js';
import { IspctlError } from '../core/errors.js';

export default class Doctor extends BaseCommand<typeof Doctor> {
  static override summary = 'Check this installation: database, key file, daemon, routers, FreeRADIUS and clock; each problem with its fix.';
  static override description =
    'Each check is ok, warn or fail. Exits 1 when any check fails (the JSON error then carries every check in details.checks); ' +
    'warnings alone exit 0. Routers are checked at once, each bounded by --timeout; FreeRADIUS is asked with a Status-Server ' +
    'when RADIUS-mode routers exist and --radius-secret is given.';
  static override examples = ['<%= config.bin %> doctor', '<%= config.bin %> doctor --json', '<%= config.bin %> doctor --radius-secret testing123 --timeout 2'];
  static override flags = {
    timeout: Flags.integer({ summary: 'Seconds to wait for each router and for FreeRADIUS.', default: 5, min: 1 }),
    'radius-host': Flags.string({ summary: 'Where FreeRADIUS listens for authentication.', default: '127.0.0.1' }),
    'radius-port': Flags.integer({ summary: 'FreeRADIUS authentication port.', default: 1812 }),
    'radius-secret': Flags.string({ summary: 'The secret of this host as a FreeRADIUS client (to send a Status-Server).', env: 'ISPCTL_RADIUS_SECRET' }),
  };
  protected override autoMigrate = false;
  // An embedded database that does not exist is reported, not created.
  protected override readsOnly = true;

  public async run() {
    const f = this.flags;
    let location = '';
    let checks: DoctorCheck[];
    try {
      location = describeTarget(this.target);
      const db = await this.db();
      location = db.location;
      const ctx = await this.ctx();
      checks = await runDoctor(ctx, location, { timeoutMs: f.timeout * 1000, radiusHost: f['radius-host'], radiusPort: f['radius-port'], radiusSecret: f['radius-secret'] });
    } catch (err) {
      checks = [databaseUnreachable(location || 'the configured location', toUserError(err).message), checkKeyFile(this.env, false)];
    }
    const mark = { ok: this.chalk.green('✓'), warn: this.chalk.yellow('!'), fail: this.chalk.red('✗') };
    for (const c of checks) {
      this.say(`${mark[c.status]} ${this.chalk.bold(c.name)}: ${c.message}`);
      if (c.fix) this.say(`  ${this.chalk.dim('→')} ${c.fix}`);
    }
    const failed = checks.filter((c) => c.status === 'fail');
    const warned = checks.filter((c) => c.status === 'warn');
    if (failed.length) {
      throw new IspctlError('CHECKS_FAILED', `${failed.length} of ${checks.length} checks failed: ${failed.map((c) => c.name).join(', ')}.`, {
        kind: 'failure',
        suggestions: failed.map((c) => c.fix!).filter(Boolean),
        details: { checks },
      });
    }
    this.say(warned.length ? this.chalk.yellow(`${warned.length} warning${warned.length === 1 ? '' : 's'}; nothing failed.`) : this.chalk.green('Everything looks right.'));
    return { ok: true, checks };
  }
}
