import { labConnectionFlags } from '../../cli/lab-flags.js';
import { BaseCommand } from '../../cli/base-command.js';
import { listFlags } from '../../cli/table.js';
import { dataDir } from '../../core/db/config.js';
import { connectToLab, labTrapError } from '../../lab/lab-client.js';

export default class LabSessions extends BaseCommand<typeof LabSessions> {
  static override summary = 'List the PPPoE sessions of the running lab router.';
  static override examples = ['<%= config.bin %> lab sessions', '<%= config.bin %> lab sessions --json'];

  static override flags = {
    ...labConnectionFlags,
    ...listFlags,
  };

  public async run() {
    const f = this.flags;
    const { client } = await connectToLab({
      dataDir: dataDir(this.env),
      ...(f['state-file'] ? { stateFile: f['state-file'] } : {}),
      ...(f['router-host'] ? { host: f['router-host'] } : {}),
      ...(f['router-port'] !== undefined ? { port: f['router-port'] } : {}),
      user: f['api-user'],
      ...(f['api-password'] !== undefined ? { password: f['api-password'] } : {}),
    });
    try {
      let rows;
      try {
        rows = (await client.write('/lab/sessions/print')).rows;
      } catch (e) {
        throw labTrapError(e, 'lab sessions');
      }
      const sessions = rows.map((r) => ({
        id: r['.id'] ?? '',
        name: r['name'] ?? '',
        address: r['address'] ?? null,
        rateLimit: r['rate-limit'] ?? null,
        sessionId: r['session-id'] ?? '',
        acctSessionId: r['acct-session-id'] ?? '',
        callerId: r['caller-id'] ?? '',
        radius: r['radius'] === 'true',
        bytesIn: Number(r['bytes-in'] ?? 0),
        bytesOut: Number(r['bytes-out'] ?? 0),
      }));
      this.table(sessions, [
        { header: 'User', get: (s) => s.name },
        { header: 'Address', get: (s) => s.address ?? '' },
        { header: 'Rate limit', get: (s) => s.rateLimit ?? '' },
        { header: 'Session', get: (s) => s.sessionId },
        { header: 'Caller id', get: (s) => s.callerId },
        { header: 'Auth', get: (s) => (s.radius ? 'radius' : 'local') },
      ]);
      return { sessions };
    } finally {
      await client.close();
    }
  }
}
