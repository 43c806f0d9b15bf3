import { BaseCommand } from '../../cli/base-command.js';
import { IspctlError } from '../../core/errors.js';
import { runRadiusReload } from '../../core/provisioning/radius/reload.js';

export default class RadiusReload extends BaseCommand<typeof RadiusReload> {
  static override summary = 'Run the radius-reload-command setting now, so FreeRADIUS loads the current routers.';
  static override description =
    'ispctl runs this command itself after a radius-mode router is added, changed or removed. The command is the setting\'s text, run with ' +
    '/bin/sh -c; ISPCTL_RELOAD_REASON tells it why.';
  static override examples = ['<%= config.bin %> settings set radius-reload-command "systemctl restart freeradius"', '<%= config.bin %> radius reload'];

  public async run() {
    const ctx = await this.ctx();
    const result = await runRadiusReload(ctx, { reason: 'radius reload' });
    if (!result.ran) {
      throw new IspctlError('RADIUS_RELOAD_UNSET', 'No reload command is set, so there is nothing to run.', {
        kind: 'invalid',
        suggestions: ['ispctl settings set radius-reload-command "systemctl restart freeradius"'],
      });
    }
    if (!result.ok) {
      throw new IspctlError('RADIUS_RELOAD_FAILED', `The reload command ${JSON.stringify(result.command)} failed: ${result.error}.${result.output ? `\n${result.output}` : ''}`, {
        kind: 'failure',
        suggestions: ['Run the command by hand to see what is wrong', 'ispctl settings set radius-reload-command "…" to change it'],
        details: { exitCode: result.exitCode },
      });
    }
    this.say(`Ran ${result.command} (${result.elapsedMs} ms).`);
    return result;
  }
}
