// The first billing cycle as a runnable tutorial. It starts a lab router in this process and
// runs the real `ispctl` binary for every step, exactly as a technician would type it, against
// an embedded database in a demo directory. The clock is moved with ISPCTL_NOW.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ChalkInstance } from 'chalk';
import { conflict, IspctlError } from '../core/errors.js';
import { formatTime } from './format.js';

export interface DemoStep {
  title: string;
  command: string;
  code: number;
  ms: number;
}

export interface DemoResult {
  dir: string;
  dataDir: string;
  routerPort: number;
  steps: DemoStep[];
  /** From `payment record` starting to the subscriber's session being back at full speed. */
  reconnectMs: number;
  suspended: string;
  restoredRate: string;
}

export interface DemoOptions {
  /**
   * Directory for the demo's database, key and lab router state. Emptied first, but only when
   * it is empty or an earlier demo made it (it holds {@link DEMO_MARKER}).
   */
  dir: string;
  /** Asked before emptying a directory that is neither (on a TTY); refused without it. */
  confirmForeign?: (dir: string, entries: string[]) => Promise<boolean>;
  /** Path of bin/run.js. */
  bin: string;
  /** Where to print (people) — nothing when undefined (--json). */
  out?: (line: string) => void;
  chalk: ChalkInstance;
  env: Record<string, string | undefined>;
}

interface Run {
  code: number;
  stdout: string;
  stderr: string;
  ms: number;
}

const SUBSCRIBERS = [
  { name: 'Juan dela Cruz', username: 'juan.delacruz', password: 'pppoe-pass-01', email: 'juan@example.com', phone: '09171234567', staticIp: '100.64.10.11' },
  { name: 'Maria Santos', username: 'maria.santos', password: 'pppoe-pass-02', email: 'maria@example.com', phone: '09181234567' },
  { name: 'Pedro Reyes', username: 'pedro.reyes', password: 'pppoe-pass-03', email: 'pedro@example.com', phone: '09191234567' },
];

function isoDate(d: Date): string {
  return d.toISOString().slice(0, 10).replaceAll('-', '');
}

/** The file that marks a directory as one the demo made, and so may empty again. */
export const DEMO_MARKER = '.ispctl-demo';
/** The demo ISP's zone: its clock is shown on it. */
const DEMO_TIMEZONE = 'Asia/Manila';

/**
 * Makes `dir` an empty demo directory. An existing directory is emptied only when it is empty
 * or holds the demo marker; anything else (a home directory, a project, a typo) is refused
 * unless `confirmForeign` says yes.
 */
export async function prepareDemoDir(dir: string, confirmForeign?: DemoOptions['confirmForeign']): Promise<void> {
  if (existsSync(dir)) {
    if (!statSync(dir).isDirectory()) {
      throw conflict('DEMO_DIR_NOT_A_DIRECTORY', `The demo directory ${dir} is a file, not a directory.`, ['Give --dir a new or empty directory']);
    }
    const entries = readdirSync(dir);
    if (entries.length > 0 && !entries.includes(DEMO_MARKER)) {
      const yes = confirmForeign ? await confirmForeign(dir, entries) : false;
      if (!yes) {
        const shown = entries.slice(0, 3).join(', ') + (entries.length > 3 ? `, … (${entries.length} entries)` : '');
        throw conflict(
          'DEMO_DIR_NOT_EMPTY',
          `The demo directory ${dir} is not empty (${shown}) and was not made by ispctl demo; the demo empties its directory, so it will not use this one.`,
          ['Give --dir a new or empty directory, e.g. --dir /tmp/ispctl-demo', 'Leave out --dir to use the default demo directory'],
          { dir, entries: entries.length },
        );
      }
    }
    rmSync(dir, { recursive: true, force: true });
  }
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  writeFileSync(join(dir, DEMO_MARKER), 'Made by `ispctl demo`, which empties this directory each time it runs.\n');
}

export async function runDemo(opts: DemoOptions): Promise<DemoResult> {
  const { chalk } = opts;
  const out = opts.out ?? (() => undefined);
  const dir = opts.dir;
  await prepareDemoDir(dir, opts.confirmForeign);
  const dataDir = join(dir, 'data');
  const stateFile = join(dir, 'lab', 'router.json');
  const apiPassword = randomBytes(9).toString('base64url');

  const { startLabRouter } = await import('../lab/index.js');
  const lab = await startLabRouter({ port: 0, nas: true, identity: 'demo-router', adminPassword: apiPassword, stateFile });
  const steps: DemoStep[] = [];
  // The demo starts on the next billing day (the 1st, 09:00 in Manila), so every subscriber
  // starts with the period and the first invoices are for the full month.
  const real = new Date();
  const start = new Date(Date.UTC(real.getUTCFullYear(), real.getUTCMonth() + 1, 1, 1, 0, 0));
  let now = start;
  const baseEnv: Record<string, string | undefined> = {
    ...opts.env,
    ISPCTL_DATA_DIR: dataDir,
    ISPCTL_CONFIG_DIR: join(dir, 'config'),
    ISPCTL_DATABASE_URL: '',
    DATABASE_URL: '',
    ISPCTL_LAB_API_PASSWORD: apiPassword,
  };

  const run = (args: string[], display: string[] = args): Promise<Run> =>
    new Promise((resolve, reject) => {
      const env: Record<string, string> = {};
      for (const [k, v] of Object.entries({ ...baseEnv, ISPCTL_NOW: now.toISOString() })) if (v !== undefined) env[k] = v;
      const t0 = performance.now();
      const child = spawn(process.execPath, [opts.bin, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.setEncoding('utf8').on('data', (d) => (stdout += d));
      child.stderr.setEncoding('utf8').on('data', (d) => (stderr += d));
      child.on('error', reject);
      child.on('close', (code) => {
        const ms = performance.now() - t0;
        steps.push({ title: '', command: `ispctl ${display.join(' ')}`, code: code ?? -1, ms: Math.round(ms) });
        resolve({ code: code ?? -1, stdout, stderr, ms });
      });
    });

  const show = (display: string[]) => out(`${chalk.green('$')} ${chalk.bold(`ispctl ${display.map(quote).join(' ')}`)}`);
  const step = async (args: string[], opts2: { display?: string[]; allow?: number[] } = {}): Promise<Run> => {
    const display = opts2.display ?? args;
    show(display);
    const r = await run(args, display);
    const printed = `${r.stdout}${r.stderr}`.trimEnd();
    if (printed) out(chalk.dim(printed.split('\n').map((l) => `    ${l}`).join('\n')));
    if (!(opts2.allow ?? [0]).includes(r.code)) {
      throw new IspctlError('DEMO_STEP_FAILED', `The demo step "ispctl ${display.join(' ')}" failed (exit ${r.code}).`, {
        kind: 'failure',
        suggestions: [`The demo data is in ${dir}; run the step yourself with ISPCTL_DATA_DIR=${dataDir} to see more`],
      });
    }
    return r;
  };
  const heading = (n: number, text: string) => out(`\n${chalk.cyan(`Step ${n}.`)} ${chalk.bold(text)}${chalk.dim(`   (clock: ${formatTime(now, DEMO_TIMEZONE)})`)}`);
  const say = (text: string) => out(`  ${text}`);

  try {
    out(chalk.bold('The first billing cycle, on a lab router and the embedded database.'));
    out(chalk.dim(`Demo data: ${dir}. A lab router (a simulated MikroTik) runs at 127.0.0.1:${lab.port} while the demo runs.`));

    heading(1, 'Set up ispctl');
    await step(['init', '--isp-name', 'Demo ISP', '--currency', 'PHP', '--timezone', DEMO_TIMEZONE, '--billing-day', '1', '--due-days', '15', '--grace-days', '5', '--yes']);
    say(`Embedded database created; currency PHP, time zone ${DEMO_TIMEZONE}, invoices due in 15 days, 5 days of grace.`);

    heading(2, 'Register the router (API mode: ispctl writes PPP secrets and profiles over the RouterOS API)');
    await step(['router', 'add', 'demo-router', '--host', '127.0.0.1', '--api-port', String(lab.port), '--api-user', 'admin', '--api-password', apiPassword, '--mode', 'api'], {
      display: ['router', 'add', 'demo-router', '--host', '127.0.0.1', '--api-port', String(lab.port), '--api-user', 'admin', '--api-password', '••••••', '--mode', 'api'],
    });
    await step(['router', 'check', 'demo-router']);

    heading(3, 'Create a 50 Mbps plan at ₱1,500.00 a month');
    await step(['plan', 'create', 'Fiber 50 Mbps', '--price', '1500', '--download', '50Mbps', '--upload', '50Mbps', '--billing-type', 'postpaid']);

    heading(4, 'Add three subscribers (each is provisioned on the router at once)');
    for (const s of SUBSCRIBERS) {
      const ip = 'staticIp' in s && s.staticIp ? ['--static-ip', s.staticIp] : [];
      await step(['subscriber', 'add', '--name', s.name, '--email', s.email, '--phone', s.phone, '--username', s.username, '--password', s.password, '--plan', 'Fiber 50 Mbps', '--router', 'demo-router', ...ip]);
    }
    const secrets = lab.state.menu('/ppp/secret').list();
    say(`The router now holds ${secrets.length} PPP secrets: ${secrets.map((x) => `${x.name} (profile ${x.profile})`).join(', ')}.`);

    heading(5, 'Subscribers dial in over PPPoE');
    for (const s of SUBSCRIBERS) await step(['lab', 'dial', '--router-port', String(lab.port), '--user', s.username, '--password', s.password]);
    say(`${lab.state.activeSessions().length} sessions up, each at the plan rate: ${lab.state.activeSessions().map((x) => `${x.name} ${x.rateLimit ?? '?'}`).join(', ')}.`);

    heading(6, 'Generate this month\'s invoices');
    await step(['billing', 'generate']);
    await step(['invoice', 'list']);

    heading(7, 'Juan pays by GCash; Maria pays cash');
    await step(['payment', 'record', '--subscriber', 'juan.delacruz', '--amount', '1500', '--method', 'gcash', '--reference', `GCash-${isoDate(start)}-001`]);
    await step(['payment', 'record', '--subscriber', 'maria.santos', '--amount', '1,500.00', '--method', 'cash', '--reference', `OR-${isoDate(start)}-0002`]);

    now = new Date(start.getTime() + 21 * 86_400_000);
    heading(8, 'Three weeks later: past the due date and the grace period, collections run');
    await step(['collections', 'run'], { allow: [0, 3] });
    const pedroSecret = lab.state.lookupPppUser('pedro.reyes')?.secret;
    const pedroOnline = lab.state.activeSessions().some((x) => x.name === 'pedro.reyes');
    say(`On the router: pedro.reyes's secret is ${isTrue(pedroSecret?.disabled) ? 'disabled' : 'enabled'} and his session is ${pedroOnline ? 'still up' : 'dropped'}.`);
    await step(['lab', 'sessions', '--router-port', String(lab.port)]);
    say("Pedro's modem redials and is refused:");
    await step(['lab', 'dial', '--router-port', String(lab.port), '--user', 'pedro.reyes', '--password', 'pppoe-pass-03'], { allow: [1] });

    heading(9, 'Pedro pays; access follows at once');
    // The moment the router lets Pedro in again: his secret is enabled.
    let enabledAt: number | undefined;
    const stop = lab.state.on('change', () => {
      if (enabledAt === undefined && !isTrue(lab.state.lookupPppUser('pedro.reyes')?.secret.disabled)) enabledAt = performance.now();
    });
    const t0 = performance.now();
    const paid = await step(['payment', 'record', '--subscriber', 'pedro.reyes', '--amount', '1500', '--method', 'gcash', '--reference', `GCash-${isoDate(now)}-117`]);
    stop();
    const commandMs = Math.round(paid.ms);
    await step(['lab', 'dial', '--router-port', String(lab.port), '--user', 'pedro.reyes', '--password', 'pppoe-pass-03']);
    const reconnectMs = enabledAt === undefined ? Math.round(performance.now() - t0) : Math.round(enabledAt - t0);
    const session = lab.state.activeSessions().find((x) => x.name === 'pedro.reyes');
    const restoredRate = String(session?.rateLimit ?? '?');
    say(`The router let pedro.reyes back in ${reconnectMs} ms after \`payment record\` started (the whole command, start-up included, took ${commandMs} ms);`);
    say(`his modem redialed and he is online again at ${restoredRate} (upload/download), the full plan speed.`);

    out('');
    out(chalk.bold('Done. Explore the demo data with the other commands:'));
    out(`  export ISPCTL_DATA_DIR=${quote(dataDir)} ISPCTL_CONFIG_DIR=${quote(join(dir, 'config'))}`);
    out('  ispctl subscriber list; ispctl invoice list; ispctl payment list; ispctl audit list');
    out(`  ispctl lab start --state-file ${quote(stateFile)} --port ${lab.port}   # bring the lab router back`);
    out(chalk.dim(`  (the demo clock stopped at ${now.toISOString()}: set ISPCTL_NOW to it to continue in demo time)`));
    return { dir, dataDir, routerPort: lab.port, steps, reconnectMs, suspended: 'pedro.reyes', restoredRate };
  } finally {
    await lab.close();
  }
}

function isTrue(v: unknown): boolean {
  return v === true || v === 'true' || v === 'yes';
}

function quote(s: string): string {
  return /^[\w@%+=:,./•-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}
