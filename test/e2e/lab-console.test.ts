// `ispctl lab console` against a running `ispctl lab start`, through the built binary.
import { spawn, type ChildProcess } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RouterOSClient } from '../../src/core/routeros/index.js';
import { BIN, runCli, tempDataDir } from '../helpers/cli.js';

interface Running {
  child: ChildProcess;
  out: () => string;
  err: () => string;
  exit: Promise<number | null>;
}

function startLab(args: string[], env: Record<string, string>): Running {
  const child = spawn(process.execPath, [BIN, 'lab', 'start', '--port', '0', '--json', ...args], {
    env: { ...process.env, NO_COLOR: '1', ...env } as NodeJS.ProcessEnv,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d));
  const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, out: () => out, err: () => err, exit };
}

async function details(lab: Running): Promise<any> { // eslint-disable-line @typescript-eslint/no-explicit-any
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      const doc = JSON.parse(lab.out());
      if (!doc.ok) throw new Error(`lab start failed: ${lab.out()}`);
      return doc.data;
    } catch (e) {
      if (/lab start failed/.test(String(e))) throw e;
      if (lab.child.exitCode !== null || Date.now() > deadline) throw new Error(`lab start did not come up:\n${lab.out()}\n${lab.err()}`);
      await new Promise((r) => setTimeout(r, 50));
    }
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

async function stop(lab: Running): Promise<void> {
  lab.child.kill('SIGINT');
  const t = setTimeout(() => lab.child.kill('SIGKILL'), 10_000);
  await lab.exit;
  clearTimeout(t);
}

describe('ispctl lab console', () => {
  const tmp = tempDataDir();
  let lab: Running;
  let info: { port: number; password: string };

  beforeAll(async () => {
    lab = startLab(['--identity', 'console-lab'], tmp.env);
    info = await details(lab);
  });
  afterAll(async () => {
    await stop(lab);
    tmp.remove();
  });

  it('runs a script from stdin and from --file; the API reads what it wrote; a failing line exits 1', async () => {
    const script = [
      '/ip pool',
      ':if ([:len [find where name="pool-a"]] = 0) do={ add name=pool-a ranges=10.50.0.2-10.50.0.254 comment="Ni\\F1o" } else={ set pool-a ranges=10.50.0.2-10.50.0.254 }',
      ':put ("pools: " . [:len [find]])',
      ':put [/system identity get name]',
    ].join('\n');
    const first = await runCli(['lab', 'console'], { env: tmp.env, input: script });
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    expect(first.stdout).toBe('pools: 1\nconsole-lab\n');

    const file = join(tmp.dir, 'again.rsc');
    writeFileSync(file, script);
    const second = await runCli(['lab', 'console', '--file', file, '--json'], { env: tmp.env });
    expect(second.code).toBe(0);
    expect(second.json).toMatchObject({ ok: true, data: { output: 'pools: 1\nconsole-lab\n', errors: [] } });

    const c = await RouterOSClient.connect({ host: '127.0.0.1', port: info.port, user: 'admin', password: info.password });
    try {
      expect((await c.write('/ip/pool/print')).rows).toMatchObject([{ name: 'pool-a', ranges: '10.50.0.2-10.50.0.254', comment: 'Niño' }]);
    } finally {
      await c.close();
    }

    const failing = await runCli(['lab', 'console', '--json'], { env: tmp.env, input: '/ip pool add name=pool-a ranges=10.0.0.1\n:put "after"' });
    expect(failing.code).toBe(1);
    expect(failing.json).toMatchObject({
      ok: false,
      error: { code: 'LAB_SCRIPT_FAILED', details: { output: 'failure: already have such name\nafter\n' } },
    });
  });
});

describe('ispctl lab start --radius --preset brownfield', () => {
  const tmp = tempDataDir();
  let lab: Running;
  let info: any; // eslint-disable-line @typescript-eslint/no-explicit-any

  beforeAll(async () => {
    const coaPort = await freeUdpPort();
    lab = startLab(['--ephemeral', '--radius', '--radius-server', '127.0.0.1:18120', '--radius-incoming-port', String(coaPort), '--preset', 'brownfield', '--preset-secrets', '100'], tmp.env);
    info = await details(lab);
  });
  afterAll(async () => {
    await stop(lab);
    tmp.remove();
  });

  it('comes up as a RADIUS client whose router add line matches, filled like a hand-made router', async () => {
    expect(info.mode).toBe('radius');
    expect(info.preset).toMatchObject({ preset: 'brownfield', secrets: 109 });
    const secret = /--radius-secret (\S+)/.exec(info.routerAdd)?.[1];
    expect(secret).toMatch(/^[A-Za-z0-9]{24}$/);
    expect(info.routerAdd).toContain(`--mode radius --coa-port ${info.radiusIncoming.port}`);
    expect(info.radiusIncoming.accept).toBe(true);
    const conn = ['--router-port', String(info.port), '--api-password', info.password];
    const script = [
      ':put [/radius get [find] secret]',
      ':put [/radius get [find] authentication-port]',
      ':put [/ppp aaa get use-radius]',
      ':put [/radius incoming get port]',
      '/ppp secret add name=e2e password=pw profile=10M',
    ].join('\n');
    const shown = await runCli(['lab', 'console', ...conn], { env: tmp.env, input: script });
    expect(shown.stdout).toBe(`${secret}\n18120\ntrue\n${info.radiusIncoming.port}\n`);
    // A subscriber gets an address from the profile's pool, and lab dial prints it.
    const dial = await runCli(['lab', 'dial', '--user', 'e2e', '--password', 'pw', '--json', ...conn], { env: tmp.env });
    expect(dial.json?.data?.address, dial.stdout + dial.stderr).toMatch(/^10\.10\.\d+\.\d+$/);
  });
});
