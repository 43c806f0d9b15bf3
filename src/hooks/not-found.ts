// What happens when the words typed are not a command: "did you mean" with the closest command
// (within the topic when the topic is right), a JSON error envelope with --json, and exit 2.
// A command followed by stray words ("subscriber list extra") runs that command, whose own parser
// then reports the unexpected argument the usual way.
import { Errors, type Hook } from '@oclif/core';
import { closestCommand } from '../cli/suggest.js';
import { colourEnabled, makeChalk, toJson } from '../cli/output.js';

const hook: Hook<'command_not_found'> = async function (opts) {
  const { config } = opts;
  const argv = opts.argv ?? [];
  const parts = opts.id.split(':');
  const json = argv.includes('--json') || parts.includes('--json');

  // The longest prefix that is a command takes the rest as its arguments.
  for (let n = parts.length - 1; n > 0; n--) {
    const id = parts.slice(0, n).join(':');
    if (config.findCommand(id)) return config.runCommand(id, [...parts.slice(n), ...argv]);
  }

  const visible = config.commands.filter((c) => !c.hidden);
  const ids = [...visible.map((c) => c.id), ...visible.flatMap((c) => c.aliases), ...config.topics.filter((t) => !t.hidden).map((t) => t.name)];
  const typed = parts.join(' ');
  const topic = parts.length > 1 && config.findTopic(parts[0]!) ? parts[0]! : undefined;
  const guess = closestCommand(opts.id, ids);
  const suggestion = guess ? `${config.bin} ${guess.replaceAll(':', ' ')}` : undefined;
  const helpLine = `${config.bin} help${topic ? ` ${topic}` : ''}`;
  const message = `"${typed}" is not an ${config.bin} command.${suggestion ? ` Did you mean "${suggestion}"?` : ''}`;
  const suggestions = [...(suggestion ? [suggestion] : []), `Run ${helpLine} to see ${topic ? `the ${topic}` : "every"} command${topic ? "s" : ""}`];

  if (json) {
    process.stdout.write(toJson({ ok: false, error: { code: 'UNKNOWN_COMMAND', message, suggestions } }) + '\n');
    throw new Errors.ExitError(2);
  }

  // On a terminal, offer to run the suggestion, as git's help.autocorrect and oclif's
  // plugin-not-found do. Scripts get the error.
  if (guess && process.stdin.isTTY && process.stdout.isTTY && !process.env.CI) {
    const chalk = makeChalk(colourEnabled(process.stderr));
    process.stderr.write(`${chalk.yellow(`"${typed}" is not an ${config.bin} command.`)}\n`);
    const { confirm } = await import('@inquirer/prompts');
    let yes = false;
    try {
      yes = await confirm({ message: `Did you mean ${chalk.cyan(suggestion!)}?`, default: true });
    } catch {
      throw new Errors.ExitError(130);
    }
    if (yes) return config.findCommand(guess) ? config.runCommand(guess, argv) : config.runCommand('help', guess.split(':'));
    throw new Errors.ExitError(2);
  }

  const chalk = makeChalk(colourEnabled(process.stderr));
  const lines = [`${chalk.red('Error:')} ${message}`, ...suggestions.map((s) => `  ${chalk.dim('→')} ${s}`)];
  process.stderr.write(lines.join('\n') + '\n');
  throw new Errors.ExitError(2);
};

export default hook;
