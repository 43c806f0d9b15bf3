// `ispctl lab start` as a user runs it (the built binary, in a subprocess), and `ispctl lab
// dial|sessions|hangup` against it from other processes.
import { spawn, type ChildProcess } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RouterOSClient } from '../../src/core/routeros/index.js';
import { BIN, runCli, tempDataDir } from '../helpers/cli.js';

interface Running {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  exit: Promise<number | null>;
}

function startLab(args: string[], env: Record<string, string>): Running {
  const child = spawn(process.execPath, [BIN, 'lab', 'start', ...args], {
    env: { ...process.env, NO_COLOR: '1', ...env } as NodeJS.ProcessEnv,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d));
  const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, stdout: () => out, stderr: () => err, exit };
}

async function waitFor<T>(what: string, check: () => T | undefined, lab: Running, ms = 20_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = check();
    if (v !== undefined) return v;
    if (lab.child.exitCode !== null) throw new Error(`lab start exited (${lab.child.exitCode}) before ${what}:\n${lab.stdout()}\n${lab.stderr()}`);
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}:\n${lab.stdout()}\n${lab.stderr()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The one JSON document `lab start --json` prints. */
function jsonDocument(lab: Running): any | undefined { // eslint-disable-line @typescript-eslint/no-explicit-any
  try {
    return JSON.parse(lab.stdout());
  } catch {
    return undefined;
  }
}

function freeUdpPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createSocket('udp4');
    s.once('error', reject);
    s.bind(0, '127.0.0.1', () => {
      const port = s.address().port;
      s.close(() => resolve(port));
    });
  });
}

async function stop(lab: Running, signal: NodeJS.Signals): Promise<number | null> {
  lab.child.kill(signal);
  const timer = setTimeout(() => lab.child.kill('SIGKILL'), 10_000);
  const code = await lab.exit;
  clearTimeout(timer);
  return code;
}

describe('ispctl lab start / dial / sessions / hangup', () => {
  const tmp = tempDataDir();
  const env = tmp.env;
  const stateFile = join(env.ISPCTL_DATA_DIR!, 'lab', 'router.json');
  const runtimeFile = join(env.ISPCTL_DATA_DIR!, 'lab', 'router.runtime.json');
  let lab: Running;
  let info: { port: number; password: string; host: string; user: string; routerAdd: string; loopbackOnly: boolean; identity: string };

  beforeAll(async () => {
    lab = startLab(['--port', '0', '--json', '--identity', 'cli-lab'], env);
    const doc = await waitFor('the connection details', () => jsonDocument(lab), lab);
    expect(doc.ok).toBe(true);
    info = doc.data;
  });

  afterAll(async () => {
    if (lab && lab.child.exitCode === null) await stop(lab, 'SIGKILL');
    tmp.remove();
  });

  it('prints one JSON document with the connection details, on loopback, and keeps running', async () => {
    expect(info).toMatchObject({ host: '127.0.0.1', user: 'admin', identity: 'cli-lab', loopbackOnly: true, stateFile, runtimeFile });
    expect(info.port).toBeGreaterThan(0);
    expect(info.password).toMatch(/^[A-Za-z0-9]{20}$/);
    expect(info.routerAdd).toBe(`ispctl router add cli-lab --host 127.0.0.1 --api-port ${info.port} --api-user admin --api-password ${info.password} --mode api`);
    expect(lab.child.exitCode).toBeNull();
    expect(JSON.parse(readFileSync(runtimeFile, 'utf8'))).toMatchObject({ pid: lab.child.pid, port: info.port });
    // It does not need the database, so it does not hold the embedded database's lock.
    expect(existsSync(join(env.ISPCTL_DATA_DIR!, 'db.lock'))).toBe(false);
  });

  it('a second lab start on the same state file is refused while the first runs', async () => {
    const r = await runCli(['lab', 'start', '--port', '0', '--json'], { env });
    expect(r.code).toBe(5);
    expect(r.json.error.code).toBe('LAB_ALREADY_RUNNING');
  });

  it('lab dial: a secret created over the API dials in; refusals say why', async () => {
    const api = await RouterOSClient.connect({ host: info.host, port: info.port, user: info.user, password: info.password });
    try {
      await api.write('/ip/pool/add', { name: 'subs', ranges: '10.100.0.10-10.100.0.200' });
      await api.write('/ppp/profile/add', { name: 'fiber-25', 'rate-limit': '5M/25M', 'remote-address': 'subs' });
      await api.write('/ppp/secret/add', { name: 'alice', password: 'al1ce-pw', profile: 'fiber-25', service: 'pppoe' });
      for (let i = 1; i <= 4; i++) await api.write('/ppp/secret/add', { name: `bulk${i}`, password: `pw${i}`, profile: 'fiber-25' });
    } finally {
      await api.close();
    }

    const ok = await runCli(['lab', 'dial', '--user', 'alice', '--password', 'al1ce-pw', '--caller-id', 'AA:BB:CC:00:00:01', '--json'], { env });
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.json.data).toMatchObject({ name: 'alice', address: '10.100.0.10', rateLimit: '5M/25M', callerId: 'AA:BB:CC:00:00:01', radius: false });
    expect(ok.json.data.sessionId).toMatch(/^0x81[0-9A-F]{6}$/);

    const human = await runCli(['lab', 'dial', '--user', 'bulk1', '--password', 'pw1'], { env });
    expect(human.code).toBe(0);
    expect(human.stdout).toMatch(/bulk1 is connected/);
    expect(human.stdout).toMatch(/Rate limit\s+5M\/25M/);

    const wrong = await runCli(['lab', 'dial', '--user', 'alice', '--password', 'nope', '--json'], { env });
    expect(wrong.code).toBe(1);
    expect(wrong.json.error).toMatchObject({ code: 'LAB_DIAL_REJECTED', details: { reason: 'wrong-password' } });
    const wrongHuman = await runCli(['lab', 'dial', '--user', 'nobody', '--password', 'x'], { env });
    expect(wrongHuman.code).toBe(1);
    expect(wrongHuman.stderr).toMatch(/nobody was refused \(no-such-user\)/);

    // Explicit port and password reach the router from anywhere (no state file here).
    const other = tempDataDir();
    try {
      const explicit = await runCli(
        ['lab', 'dial', '--router-port', String(info.port), '--api-password', info.password, '--user', 'bulk2', '--password', 'pw2', '--json'],
        { env: other.env },
      );
      expect(explicit.code, explicit.stderr).toBe(0);
      expect(explicit.json.data.name).toBe('bulk2');
      const badLogin = await runCli(['lab', 'dial', '--router-port', String(info.port), '--api-password', 'wrong', '--user', 'x', '--json'], { env: other.env });
      expect(badLogin.code).toBe(1);
      expect(badLogin.json.error.code).toBe('LAB_LOGIN_FAILED');
      const notRunning = await runCli(['lab', 'dial', '--user', 'x', '--json'], { env: other.env });
      expect(notRunning.code).toBe(4);
      expect(notRunning.json.error.code).toBe('LAB_NOT_RUNNING');
    } finally {
      other.remove();
    }
  });

  it('lab dial --count dials many at once; some refused exits 3', async () => {
    const r = await runCli(['lab', 'dial', '--prefix', 'bulk', '--first', '3', '--count', '3', '--password', 'pw{n}', '--json'], { env });
    expect(r.code, r.stderr).toBe(3);
    expect(r.json.data).toMatchObject({ dialled: 2, refused: 1 });
    expect(r.json.data.refusals).toEqual([expect.objectContaining({ user: 'bulk5', reason: 'no-such-user' })]);
    expect(r.json.data.sessions.map((s: { name: string }) => s.name).sort()).toEqual(['bulk3', 'bulk4']);
  });

  it('lab sessions lists them; lab hangup ends them', async () => {
    const list = await runCli(['lab', 'sessions', '--json'], { env });
    expect(list.code).toBe(0);
    expect(list.json.data.sessions.map((s: { name: string }) => s.name).sort()).toEqual(['alice', 'bulk1', 'bulk2', 'bulk3', 'bulk4']);
    const alice = list.json.data.sessions.find((s: { name: string }) => s.name === 'alice');
    const byId = await runCli(['lab', 'hangup', '--id', alice.sessionId, '--json'], { env });
    expect(byId.code, byId.stderr).toBe(0);
    const byUser = await runCli(['lab', 'hangup', '--user', 'bulk1'], { env });
    expect(byUser.code).toBe(0);
    const missing = await runCli(['lab', 'hangup', '--id', '0x81FFFFFF', '--json'], { env });
    expect(missing.code).toBe(4);
    const after = await runCli(['lab', 'sessions', '--json'], { env });
    expect(after.json.data.sessions.map((s: { name: string }) => s.name).sort()).toEqual(['bulk2', 'bulk3', 'bulk4']);
  });

  it('SIGINT stops it cleanly (exit 0); a restart keeps the configuration and its password', async () => {
    expect(await stop(lab, 'SIGINT')).toBe(0);
    expect(existsSync(runtimeFile)).toBe(false);
    expect(existsSync(stateFile)).toBe(true);

    // Human output this time.
    const coaPort = await freeUdpPort();
    lab = startLab(['--port', '0', '--radius-incoming-port', String(coaPort)], env);
    const out = await waitFor('the start-up text', () => (/Press Ctrl\+C to stop/.test(lab.stdout()) ? lab.stdout() : undefined), lab);
    expect(out).toMatch(/Lab router cli-lab \(RouterOS 7\.18\.2\) is running on 127\.0\.0\.1: loopback only/);
    expect(out).toMatch(/Password\s+unchanged/);
    expect(out).not.toContain(info.password);
    expect(out).toMatch(/ispctl router add cli-lab --host 127\.0\.0\.1 --api-port \d+ --api-user admin --mode api --coa-port (\d+)/);
    expect(out).toContain(`--coa-port ${coaPort}`);
    expect(out).toMatch(new RegExp(`CoA/Disconnect\\s+UDP 127\\.0\\.0\\.1:${coaPort}`));

    // The saved secret and the saved password (read from the state file by lab dial) still work.
    const again = await runCli(['lab', 'dial', '--user', 'alice', '--password', 'al1ce-pw', '--json'], { env });
    expect(again.code, again.stderr).toBe(0);
    expect(again.json.data.address).toMatch(/^10\.100\.0\./);
    expect(await stop(lab, 'SIGTERM')).toBe(0);
  });

  it('refuses a port in use with a clear error', async () => {
    const first = startLab(['--port', '0', '--json', '--ephemeral'], env);
    try {
      const doc = await waitFor('the connection details', () => jsonDocument(first), first);
      const r = await runCli(['lab', 'start', '--port', String(doc.data.port), '--ephemeral', '--json'], { env });
      expect(r.code).toBe(5);
      expect(r.json.error.code).toBe('LAB_PORT_IN_USE');
      expect(doc.data).toMatchObject({ stateFile: null, runtimeFile: null });
    } finally {
      expect(await stop(first, 'SIGINT')).toBe(0);
    }
  });
});
