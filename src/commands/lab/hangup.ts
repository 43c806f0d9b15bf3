import { Flags } from '@oclif/core';
import { labConnectionFlags } from '../../cli/lab-flags.js';
import { BaseCommand } from '../../cli/base-command.js';
import { dataDir } from '../../core/db/config.js';
import { connectToLab, labTrapError } from '../../lab/lab-client.js';
import { errors } from '../../core/error-catalogue.js';

export default class LabHangup extends BaseCommand<typeof LabHangup> {
  static override summary = 'Hang up simulated subscribers on the running lab router.';
  static override description =
    'The subscriber ends the session (Acct-Terminate-Cause User-Request in RADIUS mode), as opposed to ' +
    '`/ppp active remove` on the router (Admin-Reset) or a Disconnect-Request (NAS-Request).';
  static override examples = [
    '<%= config.bin %> lab hangup --id 0x81A3B2C1',
    '<%= config.bin %> lab hangup --user alice',
  ];

  static override flags = {
    id: Flags.string({ summary: 'Session: /ppp/active id (*1A), session-id (0x81…) or Acct-Session-Id.', multiple: true }),
    user: Flags.string({ char: 'u', summary: 'Every session of this PPPoE user.' }),
    ...labConnectionFlags,
  };

  public async run() {
    const f = this.flags;
    if (!f.id?.length && f.user === undefined) throw errors.missingFlags('Missing --id or --user.', ['ispctl lab hangup --user alice']);
    const { client } = await connectToLab({
      dataDir: dataDir(this.env),
      ...(f['state-file'] ? { stateFile: f['state-file'] } : {}),
      ...(f['router-host'] ? { host: f['router-host'] } : {}),
      ...(f['router-port'] !== undefined ? { port: f['router-port'] } : {}),
      user: f['api-user'],
      ...(f['api-password'] !== undefined ? { password: f['api-password'] } : {}),
    });
    try {
      const what = f.id?.length ? f.id.join(',') : f.user!;
      try {
        await client.write('/lab/hangup', { ...(f.id?.length ? { '.id': f.id.join(',') } : {}), ...(f.user !== undefined ? { name: f.user } : {}) });
      } catch (e) {
        throw labTrapError(e, `lab hangup ${what}`);
      }
      this.say(`Hung up ${what}.`);
      return { hungUp: what };
    } finally {
      await client.close();
    }
  }
}
