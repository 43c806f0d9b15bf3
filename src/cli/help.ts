// Root help with a short "start here" section after oclif's usual topics and commands.
import { Help } from '@oclif/core';

export default class IspctlHelp extends Help {
  protected override async showRootHelp(): Promise<void> {
    await super.showRootHelp();
    const bin = this.config.bin;
    this.log(
      [
        '',
        this.section(
          'GET STARTED',
          [
            `${bin} demo                   the first billing cycle on a lab router, step by step`,
            `${bin} init                   set up: ISP name, currency, time zone, billing terms`,
            `${bin} help COMMAND           flags and examples of one command (or COMMAND -h)`,
            `${bin} autocomplete           shell completion for bash and zsh`,
          ].join('\n'),
        ),
        '',
        'Every command takes --json (one JSON document on stdout) and exits 0 ok, 1 failed, 2 bad input, 3 done in part, 4 not found, 5 conflict.',
      ].join('\n'),
    );
  }
}
