// The conventions people expect of a CLI: root help, help and -h, did-you-mean, version, shell
// completion, and usage errors that say what was wrong (also as a JSON envelope).
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { runCli, tempDataDir } from '../helpers/cli.js';

describe('help, did-you-mean, version, completion', () => {
  const data = tempDataDir();
  afterAll(() => data.remove());
  const cli = (...args: string[]) => runCli(args, { env: { ...data.env, HOME: data.dir, XDG_CACHE_HOME: `${data.dir}/cache` } });

  test('ispctl alone shows topics with their own descriptions and how to start', async () => {
    const r = await cli();
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/TOPICS\n/);
    expect(r.stdout).toMatch(/\n {2}subscriber +Subscribers and their PPPoE services/);
    expect(r.stdout).not.toMatch(/settings +Print one setting/);
    expect(r.stdout).toContain('GET STARTED');
    expect(r.stdout).not.toMatch(/\n {2}tutorial /); // aliases stay out of the root list
  });

  test('help COMMAND and -h print the same help', async () => {
    const [a, b] = await Promise.all([cli('help', 'subscriber', 'add'), cli('subscriber', 'add', '-h')]);
    expect(a.code).toBe(0);
    expect(a.stdout).toContain('$ ispctl subscriber add --name <value>');
    expect(b.stdout).toBe(a.stdout);
  });

  test('a mistyped command or topic suggests the closest one; --json gets the envelope', async () => {
    const r = await cli('subscriber', 'lst');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('"subscriber lst" is not an ispctl command. Did you mean "ispctl subscriber list"?');
    const t = await cli('subscrber', 'list', '--json');
    expect(t.code).toBe(2);
    expect(t.json).toEqual({
      ok: false,
      error: { code: 'UNKNOWN_COMMAND', message: expect.stringContaining('Did you mean "ispctl subscriber list"?'), suggestions: expect.arrayContaining(['ispctl subscriber list']) },
    });
    const far = await cli('frobnicate', '--json');
    expect(far.json.error.message).toBe('"frobnicate" is not an ispctl command.');
  });

  test('usage errors carry the reason in message', async () => {
    const port = await cli('router', 'add', '--api-port', 'abc', '--json');
    expect(port.code).toBe(2);
    expect(port.json.error).toMatchObject({ code: 'INVALID_USAGE', message: '--api-port: Expected an integer but received: abc' });
    const extra = await cli('plan', 'list', 'extra', '--json');
    expect(extra.code).toBe(2);
    expect(extra.json.error).toMatchObject({ code: 'INVALID_USAGE', message: 'Unexpected argument: extra' });
    const arg = await cli('plan', 'show', '--json');
    expect(arg.json.error).toMatchObject({ code: 'MISSING_FLAGS', message: 'Missing NAME.' });
  });

  test('in a script, one error names every missing flag and argument; nothing is asked', async () => {
    const add = await cli('subscriber', 'add', '--name', 'Ana', '--json');
    expect(add.code).toBe(2);
    expect(add.json.error).toMatchObject({ code: 'MISSING_FLAGS', message: 'Missing --username, --plan and --router.', details: { missing: ['--username', '--plan', '--router'] } });
    const both = await cli('subscriber', 'suspend');
    expect(both.code).toBe(2);
    expect(both.stderr).toContain('Error: Missing REF and --reason (not running in a terminal, so ispctl cannot ask).');
    // The suggested command keeps what was typed: the KEY given, the VALUE missing.
    const value = await cli('settings', 'set', 'billing-day', '--json');
    expect(value.json.error).toMatchObject({ code: 'MISSING_FLAGS', message: 'Missing VALUE.', suggestions: ['ispctl settings set billing-day VALUE', 'Add --help to see what each one means'] });
  });

  test('version and completion scripts for bash and zsh', async () => {
    const v = await cli('version');
    expect(v.stdout).toMatch(/^ispctl\/\d+\.\d+\.\d+ /);
    const bash = await cli('autocomplete', 'script', 'bash');
    expect(bash.code).toBe(0);
    expect(bash.stdout).toContain('ISPCTL_AC_BASH_SETUP_PATH');
    const zsh = await cli('autocomplete', 'script', 'zsh');
    expect(zsh.code).toBe(0);
    expect(zsh.stdout).toContain('ISPCTL_AC_ZSH_SETUP_PATH');
    // After `ispctl autocomplete` builds its cache, bash really completes commands and flags.
    const refresh = await cli('autocomplete', '--refresh-cache');
    expect(refresh.code).toBe(0);
    const fn = join(data.dir, 'cache', 'ispctl', 'autocomplete', 'functions', 'bash', 'ispctl.bash');
    const complete = (words: string[]) =>
      execFileSync('bash', ['-c', `source "${fn}"; COMP_WORDS=(${words.map((w) => `'${w}'`).join(' ')}); COMP_CWORD=${words.length - 1}; _ispctl_autocomplete; echo "\${COMPREPLY[@]}"`], { encoding: 'utf8' }).trim();
    expect(complete(['ispctl', 'subscriber', 'l'])).toBe('list');
    expect(complete(['ispctl', 'subscriber', 'list', '--s']).split(' ').sort()).toEqual(['--search', '--sort', '--state']);
  });
});
