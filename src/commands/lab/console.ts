import { readFile } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { Flags } from '@oclif/core';
import { labConnectionFlags } from '../../cli/lab-flags.js';
import { BaseCommand } from '../../cli/base-command.js';
import { dataDir } from '../../core/db/config.js';
import { IspctlError, invalid } from '../../core/errors.js';
import type { RouterOSClient } from '../../core/routeros/index.js';
import { connectToLab, labTrapError } from '../../lab/lab-client.js';
import { scriptIsComplete } from '../../lab/console/index.js';
import { errors } from '../../core/error-catalogue.js';

interface ScriptError {
  message: string;
  line: number;
  column: number;
  kind: 'syntax' | 'runtime';
  detail?: string;
}

interface RunResult {
  output: Buffer;
  errors: ScriptError[];
  path: string;
}

async function runOnLab(client: RouterOSClient, script: Buffer, path: string): Promise<RunResult> {
  let row;
  try {
    row = (await client.write('/lab/console/run', { 'script-base64': script.toString('base64'), path })).rows[0] ?? {};
  } catch (e) {
    throw labTrapError(e, 'lab console');
  }
  let errors: ScriptError[] = [];
  try {
    errors = JSON.parse(row['errors'] ?? '[]') as ScriptError[];
  } catch {
    errors = [];
  }
  return { output: Buffer.from(row['output-base64'] ?? '', 'base64'), errors, path: row['path'] ?? '' };
}

export default class LabConsole extends BaseCommand<typeof LabConsole> {
  static override summary = "Run a RouterOS script on the running lab router, as if pasted into its terminal.";
  static override description =
    'Reads a script from --file, from stdin, or (on a terminal) line by line at a prompt, runs it on the lab router ' +
    'started by `ispctl lab start` and prints what its console printed. What a script adds is what API clients then ' +
    'read. The whole script is checked first: a syntax error, an unknown command or an unknown parameter runs nothing. ' +
    'Then it runs line by line like a paste into a RouterOS terminal: an error ends its line and the next line runs; ' +
    'the command exits 1 when any line failed.\n\n' +
    'See docs/lab-console.md for the syntax the console understands.';
  static override examples = [
    '<%= config.bin %> lab console --file install.rsc',
    "echo ':put [/system resource get version]' | <%= config.bin %> lab console",
    '<%= config.bin %> lab console',
  ];

  static override flags = {
    file: Flags.string({ char: 'f', summary: 'Run the script in this file (default: stdin, or a prompt on a terminal).' }),
    ...labConnectionFlags,
  };

  public async run() {
    const f = this.flags;
    const interactive = f.file === undefined && Boolean(process.stdin.isTTY) && !this.jsonEnabled();
    let script: Buffer | undefined;
    if (f.file !== undefined) {
      try {
        script = await readFile(f.file);
      } catch (e) {
        throw invalid('UNREADABLE_FILE', `Cannot read --file ${f.file}: ${(e as Error).message}`);
      }
    } else if (!interactive) {
      if (process.stdin.isTTY) throw errors.missingFlags('With --json, give the script with --file or on stdin.', ['ispctl lab console --json --file install.rsc']);
      const chunks: Buffer[] = [];
      for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
      script = Buffer.concat(chunks);
    }

    const { client } = await connectToLab({
      dataDir: dataDir(this.env),
      ...(f['state-file'] ? { stateFile: f['state-file'] } : {}),
      ...(f['router-host'] ? { host: f['router-host'] } : {}),
      ...(f['router-port'] !== undefined ? { port: f['router-port'] } : {}),
      user: f['api-user'],
      ...(f['api-password'] !== undefined ? { password: f['api-password'] } : {}),
    });
    try {
      if (script === undefined) return await this.prompt(client, f['api-user']);
      const result = await runOnLab(client, script, '');
      const output = result.output.toString('utf8');
      if (!this.jsonEnabled()) process.stdout.write(result.output);
      if (result.errors.length > 0) {
        const first = result.errors[0]!;
        throw new IspctlError(
          'LAB_SCRIPT_FAILED',
          first.kind === 'syntax'
            ? `The script was not run: ${first.message}${first.detail ? ` (${first.detail})` : ''}.`
            : `${result.errors.length} line(s) of the script failed; the first at line ${first.line}: ${first.message}.`,
          {
            kind: first.kind === 'syntax' ? 'invalid' : 'failure',
            details: { output, errors: result.errors },
            suggestions: ['Fix the script and run it again (a second run of an idempotent script changes nothing)'],
          },
        );
      }
      return { output, errors: result.errors, path: result.path };
    } finally {
      await client.close();
    }
  }

  /** A terminal-like prompt: each complete line (braces closed) runs as it is entered. */
  private async prompt(client: RouterOSClient, user: string): Promise<{ lines: number }> {
    const identity = (await client.write('/system/identity/print')).rows[0]?.['name'] ?? 'lab';
    const rl = createInterface({ input: process.stdin, output: process.stdout, terminal: true });
    let path = '';
    let pending = '';
    let lines = 0;
    const promptText = (): string => (pending ? '... ' : `[${user}@${identity}] ${path ? path.split('/').join(' ').trim().replace(/^/, '/') : ''}> `);
    this.say(this.chalk.dim('Lab router console: type RouterOS commands; Ctrl+D or /quit leaves.'));
    rl.setPrompt(promptText());
    rl.prompt();
    for await (const line of rl) {
      if (!pending && (line.trim() === '/quit' || line.trim() === 'quit')) break;
      pending = pending ? `${pending}\n${line}` : line;
      if (!scriptIsComplete(pending)) {
        rl.setPrompt(promptText());
        rl.prompt();
        continue;
      }
      const result = await runOnLab(client, Buffer.from(pending, 'utf8'), path);
      pending = '';
      lines++;
      process.stdout.write(result.output);
      path = result.path;
      rl.setPrompt(promptText());
      rl.prompt();
    }
    rl.close();
    return { lines };
  }
}
