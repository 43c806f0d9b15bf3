// A throwaway FreeRADIUS for one test file: the configuration ispctl writes, in a temporary
// directory, on free loopback ports, started in debug mode (-X) with its output captured.
import { spawn, type ChildProcess } from 'node:child_process';
import { allocatePort } from './ports.js';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  writeFreeRadiusConfig,
  type FreeRadiusConfigOptions,
  type FreeRadiusDbOptions,
} from '../../src/core/provisioning/radius/freeradius-config.js';

export interface StartFreeRadiusOptions {
  /** Database to write a configuration for (not needed with `configDir`). */
  db?: FreeRadiusDbOptions;
  /**
   * Run this configuration as it is (e.g. one written by `ispctl radius config`) instead of
   * writing one; give the ports it listens on in `listen`. The directory is left in place.
   */
  configDir?: string;
  /** With `configDir`: where it listens (address default 127.0.0.1). */
  listen?: { address?: string; authPort: number; acctPort: number };
  clients?: FreeRadiusConfigOptions['clients'];
  dynamicClients?: FreeRadiusConfigOptions['dynamicClients'];
  staticClients?: FreeRadiusConfigOptions['staticClients'];
  sqlPool?: FreeRadiusConfigOptions['sqlPool'];
  /** Seconds before an Access-Reject; default 0 here (the stock 1 s slows tests down). */
  rejectDelaySeconds?: number;
  /** Installed configuration to copy (default: detected). */
  sourceDir?: string;
  /** The daemon (default: freeradius or radiusd from /usr/sbin, else PATH). */
  binary?: string;
  /** Give up waiting for "Ready to process requests" after this long. Default 20 s. */
  startTimeoutMs?: number;
  /** Keep the temporary directory after stop() (for debugging a failing test). */
  keepDir?: boolean;
}

export interface FreeRadiusInstance {
  address: string;
  authPort: number;
  acctPort: number;
  configDir: string;
  pid: number;
  /** Everything FreeRADIUS printed so far (stdout and stderr, -X debug output). */
  logs(): string;
  /** Resolve once the output matches (e.g. the end of a request), or reject after timeoutMs. */
  waitForLog(pattern: RegExp, timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

const MAX_LOG = 8 * 1024 * 1024;

export function findFreeRadiusBinary(): string {
  for (const p of ['/usr/sbin/freeradius', '/usr/sbin/radiusd', '/usr/local/sbin/radiusd']) if (existsSync(p)) return p;
  return 'freeradius';
}

/** A UDP port on 127.0.0.1, free when checked and outside the ephemeral range (see ports.ts). */
export async function freeUdpPort(exclude: readonly number[] = []): Promise<number> {
  return allocatePort(exclude);
}

interface Running {
  child: ChildProcess;
  output: { text: string };
  exited: Promise<number | null>;
}

function launch(binary: string, configDir: string): Running {
  const child = spawn(binary, ['-X', '-d', configDir], { stdio: ['ignore', 'pipe', 'pipe'] });
  const output = { text: '' };
  const append = (chunk: Buffer) => {
    output.text += chunk.toString('utf8');
    if (output.text.length > MAX_LOG) output.text = output.text.slice(-MAX_LOG / 2);
  };
  child.stdout!.on('data', append);
  child.stderr!.on('data', append);
  const exited = new Promise<number | null>((resolve) => {
    child.once('exit', (code) => resolve(code));
    child.once('error', (err) => {
      append(Buffer.from(`\n[spawn ${binary} failed: ${err.message}]\n`));
      resolve(-1);
    });
  });
  return { child, output, exited };
}

function waitFor(run: Running, pattern: RegExp, timeoutMs: number, from = 0): Promise<'match' | 'exit' | 'timeout'> {
  return new Promise((resolve) => {
    const check = () => pattern.test(run.output.text.slice(from));
    if (check()) return resolve('match');
    const onData = () => {
      if (check()) done('match');
    };
    const timer = setTimeout(() => done('timeout'), timeoutMs);
    const done = (r: 'match' | 'exit' | 'timeout') => {
      clearTimeout(timer);
      run.child.stdout?.off('data', onData);
      run.child.stderr?.off('data', onData);
      resolve(r);
    };
    run.child.stdout?.on('data', onData);
    run.child.stderr?.on('data', onData);
    void run.exited.then(() => setImmediate(() => done(check() ? 'match' : 'exit')));
  });
}

async function terminate(run: Running): Promise<void> {
  if (run.child.exitCode !== null || run.child.signalCode !== null) return;
  run.child.kill('SIGTERM');
  const t = setTimeout(() => run.child.kill('SIGKILL'), 5000);
  await run.exited;
  clearTimeout(t);
}

function tail(text: string, lines = 60): string {
  return text.split('\n').slice(-lines).join('\n');
}

/**
 * Write a configuration for `db` into a temporary directory and start FreeRADIUS on two free
 * loopback ports. Works as root (user/group are commented out, so it stays root) and as a
 * non-root user who can read the installed configuration.
 */
export async function startFreeRadius(options: StartFreeRadiusOptions): Promise<FreeRadiusInstance> {
  const binary = options.binary ?? findFreeRadiusBinary();
  if (options.configDir) return startFromDir(binary, options.configDir, options);
  if (!options.db) throw new Error('startFreeRadius needs db (to write a configuration) or configDir (to run one)');
  const dir = await mkdtemp(join(tmpdir(), 'ispctl-freeradius-'));
  const configDir = join(dir, 'raddb');
  const timeoutMs = options.startTimeoutMs ?? 20_000;
  let lastError = '';
  try {
    // Ports are picked before FreeRADIUS binds them; another process may win the race.
    for (let attempt = 0; attempt < 3; attempt++) {
      const authPort = await freeUdpPort();
      const acctPort = await freeUdpPort([authPort]);
      await writeFreeRadiusConfig({
        targetDir: configDir,
        db: options.db,
        listen: { address: '127.0.0.1', authPort, acctPort },
        runAsCurrentUser: true,
        overwrite: true,
        rejectDelaySeconds: options.rejectDelaySeconds ?? 0,
        ...(options.sourceDir ? { sourceDir: options.sourceDir } : {}),
        ...(options.clients ? { clients: options.clients } : {}),
        ...(options.dynamicClients ? { dynamicClients: options.dynamicClients } : {}),
        ...(options.staticClients ? { staticClients: options.staticClients } : {}),
        ...(options.sqlPool ? { sqlPool: options.sqlPool } : {}),
      });
      const run = launch(binary, configDir);
      const ready = await waitFor(run, /Ready to process requests/, timeoutMs);
      if (ready === 'match') {
        return {
          address: '127.0.0.1',
          authPort,
          acctPort,
          configDir,
          pid: run.child.pid!,
          logs: () => run.output.text,
          async waitForLog(pattern: RegExp, ms = 5000) {
            const r = await waitFor(run, pattern, ms);
            if (r !== 'match') throw new Error(`FreeRADIUS output never matched ${pattern} (${r}):\n${tail(run.output.text)}`);
          },
          async stop() {
            await terminate(run);
            if (!options.keepDir) await rm(dir, { recursive: true, force: true });
          },
        };
      }
      await terminate(run);
      lastError = `FreeRADIUS did not start (${ready === 'timeout' ? `not ready after ${timeoutMs} ms` : `exited with ${run.child.exitCode}`}):\n${tail(run.output.text)}`;
      if (!/Address already in use|Failed binding to/.test(run.output.text)) break;
    }
    throw new Error(lastError);
  } catch (err) {
    if (!options.keepDir) await rm(dir, { recursive: true, force: true });
    throw err;
  }
}

function instance(run: Running, configDir: string, address: string, authPort: number, acctPort: number, cleanup: () => Promise<void>): FreeRadiusInstance {
  return {
    address,
    authPort,
    acctPort,
    configDir,
    pid: run.child.pid!,
    logs: () => run.output.text,
    async waitForLog(pattern: RegExp, ms = 5000) {
      const r = await waitFor(run, pattern, ms);
      if (r !== 'match') throw new Error(`FreeRADIUS output never matched ${pattern} (${r}):\n${tail(run.output.text)}`);
    },
    async stop() {
      await terminate(run);
      await cleanup();
    },
  };
}

/** Start FreeRADIUS on a configuration directory that is already written. */
async function startFromDir(binary: string, configDir: string, options: StartFreeRadiusOptions): Promise<FreeRadiusInstance> {
  if (!options.listen) throw new Error('startFreeRadius with configDir needs listen: { authPort, acctPort }');
  const timeoutMs = options.startTimeoutMs ?? 20_000;
  const run = launch(binary, configDir);
  const ready = await waitFor(run, /Ready to process requests/, timeoutMs);
  if (ready !== 'match') {
    await terminate(run);
    throw new Error(`FreeRADIUS did not start on ${configDir} (${ready === 'timeout' ? `not ready after ${timeoutMs} ms` : `exited with ${run.child.exitCode}`}):\n${tail(run.output.text)}`);
  }
  return instance(run, configDir, options.listen.address ?? '127.0.0.1', options.listen.authPort, options.listen.acctPort, async () => undefined);
}

export interface RadclientResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Run radclient (without blocking the event loop, so a RadiusServer in this process can answer):
 * `radclient -x [args] HOST:PORT KIND SECRET` with `input` on stdin.
 */
export function radclient(target: string, kind: 'auth' | 'acct' | 'status' | 'coa' | 'disconnect', secret: string, input: string, extraArgs: string[] = ['-r', '1', '-t', '2']): Promise<RadclientResult> {
  return new Promise((resolve, reject) => {
    const child = spawn('radclient', ['-x', ...extraArgs, target, kind, secret], { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString('utf8')));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString('utf8')));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(input.endsWith('\n') ? input : `${input}\n`);
  });
}
