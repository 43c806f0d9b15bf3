// The lab console over the RouterOS API, so that `ispctl lab console` (another process) can run
// scripts on a running lab router:
//
//   /lab/console/run =script=<text> | =script-base64=<bytes> [=path=/ip/pool]
//     → !re =output=<text> =output-base64=<exact bytes> =path=<menu after the script>
//           =error-count=N =errors=<JSON list of {message,line,column,kind}>
//       then !done. Script errors are part of the reply, not a trap.

import { bytesFromText, textFromBytes } from './bytes.js';
import type { CommandResult, LabCommandHandler } from './commands.js';
import { runScript } from './console/index.js';
import type { RouterState } from './state.js';
import { RouterTrap, badArgument } from './trap.js';

export function labConsoleCommands(state: RouterState): LabCommandHandler {
  return (p, session): CommandResult | undefined => {
    if (p.command !== '/lab/console/run') return undefined;
    if (session.user.group !== 'full') throw new RouterTrap('not enough permissions (9)');
    for (const name of p.attrs.keys()) {
      if (!['script', 'script-base64', 'path', '.proplist'].includes(name)) throw badArgument(`unknown parameter ${name}`);
    }
    const b64 = p.attrs.get('script-base64');
    const script = b64 !== undefined ? textFromBytes(Buffer.from(b64, 'base64')) : p.attrs.get('script');
    if (script === undefined) throw badArgument('missing value(s) of argument(s) script');
    const path = p.attrs.get('path') ?? '';
    if (path !== '' && !state.menuPaths().some((m) => m === path || m.startsWith(`${path}/`))) throw badArgument('invalid value for argument path');
    const result = runScript(state, script, { path });
    return {
      replies: [
        [
          '!re',
          `=output=${result.output}`,
          `=output-base64=${bytesFromText(result.output).toString('base64')}`,
          `=path=${result.path}`,
          `=error-count=${result.errors.length}`,
          `=errors=${JSON.stringify(result.errors)}`,
        ],
        ['!done'],
      ],
    };
  };
}

/** Lab commands tried in order; the first that knows the command answers. */
export function combineLabCommands(...handlers: Array<LabCommandHandler | undefined>): LabCommandHandler {
  return (p, session) => {
    for (const h of handlers) {
      const r = h?.(p, session);
      if (r) return r;
    }
    return undefined;
  };
}
