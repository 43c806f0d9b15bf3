import { confirm } from '@inquirer/prompts';
import { dirname, join } from 'node:path';
import { Flags } from '@oclif/core';
import { BaseCommand } from '../cli/base-command.js';
import { runDemo } from '../cli/demo.js';
import { dataDir } from '../core/db/config.js';

export default class Demo extends BaseCommand<typeof Demo> {
  static override summary = 'Walk the first billing cycle on a lab router: router, plan, three subscribers, invoices, payments, suspension and reconnection.';
  static override description =
    'Starts a lab router (a simulated MikroTik) for the length of the demo and runs the real ispctl commands a technician would type, ' +
    'against an embedded database in a demo directory (emptied first, so the demo can be run again). It moves the clock past the due ' +
    'date and grace period with ISPCTL_NOW, so one subscriber is suspended and dropped, then pays and is back at full speed; it prints ' +
    'how long the reconnection took. The data stays for you to explore with the other commands.';
  static override examples = ['<%= config.bin %> demo', '<%= config.bin %> demo --dir /tmp/ispctl-demo'];
  static override aliases = ['tutorial'];
  static override flags = {
    dir: Flags.string({
      summary: 'Demo directory (default: ispctl-demo next to the data directory). Emptied first: it must be new, empty or made by an earlier demo.',
    }),
  };

  public async run() {
    const dir = this.flags.dir ?? join(dirname(dataDir(this.env)), 'ispctl-demo');
    const bin = join(this.config.root, 'bin', 'run.js');
    const quiet = this.jsonEnabled() || this.flags.quiet;
    const confirmForeign = this.canPrompt()
      ? (target: string, entries: string[]) =>
          confirm({ message: `${target} holds ${entries.length} entries that ispctl demo did not make. Delete them all and use it for the demo?`, default: false })
      : undefined;
    const result = await runDemo({
      dir,
      bin,
      chalk: this.chalk,
      env: { ...this.env, ISPCTL_NOW: undefined },
      out: quiet ? undefined : (line) => process.stdout.write(line + '\n'),
      confirmForeign,
    });
    return result;
  }
}
