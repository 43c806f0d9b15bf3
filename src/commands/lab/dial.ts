import { Flags } from '@oclif/core';
import { labConnectionFlags } from '../../cli/lab-flags.js';
import { BaseCommand } from '../../cli/base-command.js';
import { dataDir } from '../../core/db/config.js';
import { invalid } from '../../core/errors.js';
import type { Row } from '../../core/routeros/index.js';
import { RouterOSTrapError } from '../../core/routeros/index.js';
import { connectToLab, labTrapError } from '../../lab/lab-client.js';
import { errors } from '../../core/error-catalogue.js';

interface DialedSession {
  id: string;
  name: string;
  address: string | null;
  rateLimit: string | null;
  sessionId: string;
  acctSessionId: string;
  callerId: string;
  radius: boolean;
  auth: string;
}

interface Refusal {
  user: string;
  reason: string;
  message: string;
}

function toSession(row: Row): DialedSession {
  return {
    id: row['.id'] ?? '',
    name: row['name'] ?? '',
    address: row['address'] ?? null,
    rateLimit: row['rate-limit'] ?? null,
    sessionId: row['session-id'] ?? '',
    acctSessionId: row['acct-session-id'] ?? '',
    callerId: row['caller-id'] ?? '',
    radius: row['radius'] === 'true',
    auth: row['auth'] ?? '',
  };
}

export default class LabDial extends BaseCommand<typeof LabDial> {
  static override summary = 'Dial a simulated PPPoE subscriber into the running lab router.';
  static override description =
    'The lab router authenticates the subscriber as a MikroTik would: against its PPP secrets, or with an Access-Request to ' +
    'its RADIUS server when /ppp aaa use-radius=yes. Prints the session (address, rate limit, session id) or why it was ' +
    'refused (exit 1).\n\n' +
    'With --count N, dials N subscribers at once: `{n}` in --user and --password is replaced by the number (--prefix P ' +
    'is short for --user P{n}); some refused exits 3, all refused exits 1.\n\n' +
    'Finds the router started by `ispctl lab start` through its files in the data directory; --router-port and ' +
    '--api-password reach any other.';
  static override examples = [
    '<%= config.bin %> lab dial --user alice --password s3cret',
    '<%= config.bin %> lab dial --user alice --password s3cret --caller-id AA:BB:CC:00:11:22 --auth pap',
    "<%= config.bin %> lab dial --prefix sub --password 'pw{n}' --count 1000",
    '<%= config.bin %> lab dial --router-port 18728 --api-password LABPASS --user alice --password s3cret --json',
  ];

  static override flags = {
    user: Flags.string({ char: 'u', summary: 'PPPoE user name (with --count, `{n}` is replaced by the number).', exclusive: ['prefix'] }),
    password: Flags.string({ char: 'p', summary: 'PPPoE password (with --count, `{n}` is replaced by the number).', default: '' }),
    'caller-id': Flags.string({ summary: "The subscriber's MAC address (default: generated)." }),
    auth: Flags.string({ summary: 'How the password goes to RADIUS.', options: ['chap', 'pap'], default: 'chap' }),
    count: Flags.integer({ summary: 'Dial this many subscribers at once.', min: 1 }),
    prefix: Flags.string({ summary: 'With --count: user names PREFIX1, PREFIX2, ...', dependsOn: ['count'] }),
    first: Flags.integer({ summary: 'With --count: the first number.', default: 1, min: 0 }),
    concurrency: Flags.integer({ summary: 'With --count: dials in flight at once.', default: 64, min: 1, max: 10_000 }),
    ...labConnectionFlags,
  };

  public async run() {
    const f = this.flags;
    const pattern = f.prefix !== undefined ? `${f.prefix}{n}` : f.user;
    if (pattern === undefined || pattern === '') {
      throw errors.missingFlags('Missing --user (or --prefix with --count).', ['ispctl lab dial --user alice --password s3cret']);
    }
    if (f['caller-id'] && f.count !== undefined && f.count > 1) {
      throw invalid('INVALID_FLAGS', '--caller-id names one MAC; it cannot go with --count above 1.');
    }
    const { client, host, port } = await connectToLab({
      dataDir: dataDir(this.env),
      ...(f['state-file'] ? { stateFile: f['state-file'] } : {}),
      ...(f['router-host'] ? { host: f['router-host'] } : {}),
      ...(f['router-port'] !== undefined ? { port: f['router-port'] } : {}),
      user: f['api-user'],
      ...(f['api-password'] !== undefined ? { password: f['api-password'] } : {}),
    });
    try {
      const dialOne = (user: string, password: string) =>
        client.write('/lab/dial', { name: user, password, auth: f.auth, ...(f['caller-id'] ? { 'caller-id': f['caller-id'] } : {}) });

      if (f.count === undefined) {
        const user = pattern.replaceAll('{n}', String(f.first));
        let row: Row;
        try {
          row = (await dialOne(user, f.password.replaceAll('{n}', String(f.first)))).rows[0] ?? {};
        } catch (e) {
          throw labTrapError(e, `lab dial ${user}`);
        }
        const session = toSession(row);
        this.say(`${session.name} is connected to the lab router at ${host}:${port}.`);
        this.details([
          ['Address', session.address ?? '(none)'],
          ['Rate limit', session.rateLimit ?? '(none)'],
          ['Session', `${session.sessionId} (Acct-Session-Id ${session.acctSessionId}, /ppp/active ${session.id})`],
          ['Caller id', session.callerId],
          ['Authenticated by', session.radius ? `RADIUS (${session.auth})` : 'local PPP secret'],
        ]);
        this.say(this.chalk.dim(`Hang up with: ispctl lab hangup --id ${session.sessionId}`));
        if (this.flags.quiet) this.essential(session.sessionId);
        return session;
      }

      const numbers = Array.from({ length: f.count }, (_, i) => f.first + i);
      const sessions: DialedSession[] = [];
      const refusals: Refusal[] = [];
      const started = Date.now();
      let next = 0;
      const worker = async (): Promise<void> => {
        while (next < numbers.length) {
          const n = numbers[next++]!;
          const user = pattern.replaceAll('{n}', String(n));
          try {
            const res = await dialOne(user, f.password.replaceAll('{n}', String(n)));
            sessions.push(toSession(res.rows[0] ?? {}));
          } catch (e) {
            if (e instanceof RouterOSTrapError && e.attributes['reason'] !== undefined) {
              refusals.push({ user, reason: e.attributes['reason'], message: e.message });
            } else {
              throw labTrapError(e, `lab dial ${user}`);
            }
          }
        }
      };
      await Promise.all(Array.from({ length: Math.min(f.concurrency, numbers.length) }, worker));
      const seconds = (Date.now() - started) / 1000;
      const byReason = new Map<string, number>();
      for (const r of refusals) byReason.set(r.reason, (byReason.get(r.reason) ?? 0) + 1);
      const reasons = [...byReason].map(([k, v]) => `${k} ×${v}`).join(', ');
      this.say(
        `Dialled ${sessions.length} of ${numbers.length} in ${seconds.toFixed(2)} s` + (refusals.length ? ` (${refusals.length} refused: ${reasons})` : '') + '.',
      );
      if (refusals.length) {
        this.table(refusals.slice(0, 20), [
          { header: 'User', get: (r) => r.user },
          { header: 'Reason', get: (r) => r.reason },
        ]);
        if (refusals.length > 20) this.say(this.chalk.dim(`... and ${refusals.length - 20} more (--json lists them all)`));
      }
      const result = { dialled: sessions.length, refused: refusals.length, seconds, sessions, refusals };
      if (sessions.length === 0) {
        throw errors.labDialRejected(`All ${refusals.length} dials were refused (${reasons}).`, { refused: refusals.length, reasons: Object.fromEntries(byReason) });
      }
      if (refusals.length) this.markPartial(`${refusals.length} of ${numbers.length} dials were refused (${reasons})`);
      return result;
    } finally {
      await client.close();
    }
  }
}
