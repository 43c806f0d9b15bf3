// A real WireGuard tunnel. Two network namespaces joined by a veth pair: in one the hub, with
// the configuration `ispctl wireguard config` prints, and ispctl itself; in the other the lab
// router, whose console ran the inspect and install scripts ispctl printed, with the router's
// side of the tunnel brought up from the keys and addresses those scripts configured on it. The
// lab router's API listens on its tunnel address only. ispctl brings the router from registering
// to online through the tunnel, provisions a subscriber over it, the subscriber dials in and
// gets an address from the pool, and the first billing cycle runs on him.
//
// Needs root, `ip netns`, wireguard-go and wireguard-tools (userspace WireGuard: the kernel
// module is not needed). Each namespace's interface has its own name, because wireguard-go's
// control socket (/var/run/wireguard/NAME.sock) is shared between namespaces.
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, ROOT, tempDataDir } from '../helpers/cli.js';

function which(cmd: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
}
function netnsWorks(): boolean {
  if (process.getuid?.() !== 0 || !which('ip')) return false;
  const probe = `ispctl-probe-${process.pid}`;
  const ok = spawnSync('ip', ['netns', 'add', probe]).status === 0;
  if (ok) spawnSync('ip', ['netns', 'del', probe]);
  return ok;
}
const skipReason = process.getuid?.() !== 0 ? 'not root' : !which('wireguard-go') || !which('wg') || !which('wg-quick') ? 'wireguard-go or wireguard-tools missing' : !netnsWorks() ? 'ip netns unavailable' : undefined;
if (skipReason) console.warn(`onboarding-wireguard: skipped (${skipReason})`);

const tag = String(process.pid % 100000);
const HUB_NS = `ispctl-hub-${tag}`;
const RTR_NS = `ispctl-rtr-${tag}`;
const HUB_WG = `wgh${tag}`;
const RTR_WG = `wgr${tag}`;
const WG_ENV = { ...process.env, WG_I_PREFER_BUGGY_USERSPACE_TO_POLISHED_KMOD: '1' };

function sh(args: string[], input?: string): string {
  return execFileSync(args[0]!, args.slice(1), { input, env: WG_ENV }).toString();
}
const inNs = (ns: string, args: string[], input?: string) => sh(['ip', 'netns', 'exec', ns, ...args], input);

/** The lab router process in the router namespace, spoken to in JSON lines. */
class NsLab {
  private child: ChildProcess;
  private lines: AsyncIterator<string>;
  constructor(ns: string) {
    this.child = spawn('ip', ['netns', 'exec', ns, process.execPath, join(ROOT, 'test/helpers/netns-lab.mjs'), join(ROOT, 'dist')], { stdio: ['pipe', 'pipe', 'inherit'] });
    this.lines = createInterface({ input: this.child.stdout! })[Symbol.asyncIterator]();
  }
  async call(req: Record<string, unknown>): Promise<any> { // eslint-disable-line @typescript-eslint/no-explicit-any
    this.child.stdin!.write(JSON.stringify(req) + '\n');
    const { value } = await this.lines.next();
    const res = JSON.parse(value as string);
    if (!res.ok) throw new Error(`lab: ${res.error}`);
    return res;
  }
  kill(): void {
    this.child.kill('SIGKILL');
  }
}

describe.skipIf(skipReason)('onboarding over a real WireGuard tunnel (network namespaces, wireguard-go)', () => {
  const tmp = tempDataDir({ migrated: true });
  const procs: ChildProcess[] = [];
  let lab: NsLab;
  /** ispctl run in the hub namespace (asynchronously: the test worker must stay responsive). */
  const cli = (args: string[], input?: string): Promise<{ code: number; stdout: string; stderr: string; json: any }> => // eslint-disable-line @typescript-eslint/no-explicit-any
    new Promise((resolve, reject) => {
      const child = spawn('ip', ['netns', 'exec', HUB_NS, process.execPath, BIN, ...args], {
        env: { ...process.env, NO_COLOR: '1', ...tmp.env, ISPCTL_NOW: '2026-12-01T09:00:00+08:00' },
        stdio: ['pipe', 'pipe', 'pipe'],
      });
      let stdout = '';
      let stderr = '';
      child.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d));
      child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
      child.on('error', reject);
      child.on('close', (code) => {
        let json: unknown;
        try {
          json = JSON.parse(stdout);
        } catch {
          json = undefined;
        }
        resolve({ code: code ?? -1, stdout, stderr, json });
      });
      child.stdin!.end(input ?? '');
    });

  beforeAll(() => {
    sh(['ip', 'netns', 'add', HUB_NS]);
    sh(['ip', 'netns', 'add', RTR_NS]);
    sh(['ip', 'link', 'add', `vh${tag}`, 'netns', HUB_NS, 'type', 'veth', 'peer', 'name', `vr${tag}`, 'netns', RTR_NS]);
    inNs(HUB_NS, ['ip', 'addr', 'add', '192.0.2.1/30', 'dev', `vh${tag}`]);
    inNs(RTR_NS, ['ip', 'addr', 'add', '192.0.2.2/30', 'dev', `vr${tag}`]);
    for (const [ns, dev] of [[HUB_NS, `vh${tag}`], [RTR_NS, `vr${tag}`]] as const) {
      inNs(ns, ['ip', 'link', 'set', 'lo', 'up']);
      inNs(ns, ['ip', 'link', 'set', dev, 'up']);
    }
    lab = new NsLab(RTR_NS);
  });

  afterAll(async () => {
    lab?.kill();
    for (const p of procs) p.kill('SIGTERM');
    spawnSync('ip', ['netns', 'del', HUB_NS]);
    spawnSync('ip', ['netns', 'del', RTR_NS]);
    tmp.remove();
  });

  it('pastes the printed scripts into the lab router, brings the tunnel up and the router online through it, then serves a subscriber', async () => {
    // ispctl side: a pending API-mode router with an address pool, and the hub's endpoint.
    expect((await cli(['init', '--isp-name', 'Juan Net', '--currency', 'PHP', '--timezone', 'Asia/Manila', '--yes'])).code).toBe(0);
    expect((await cli(['router', 'add', 'tower-1', '--local-address', '10.50.0.1', '--pool', '10.50.0.10-10.50.0.20', '--json'])).json).toMatchObject({ data: { status: 'pending', host: null } });
    expect((await cli(['settings', 'set', 'wireguard-endpoint', '192.0.2.1:51820'])).code).toBe(0);

    // 1. The inspect script, pasted into the router; its report back into ispctl.
    const inspect = (await cli(['router', 'inspect-script', 'tower-1'])).stdout;
    const report = await lab.call({ op: 'script', text: inspect });
    expect(report.errors).toEqual([]);
    const review = await cli(['router', 'review', 'tower-1', '--report', '-', '--json'], report.output);
    expect(review.json.data.tunnel).toMatchObject({ address: '10.233.0.2', hubAddress: '10.233.0.1' });

    // 2. The install script, pasted as printed (twice: the second run changes nothing).
    const hubFile = join(tmp.dir, 'hub.conf');
    const install = await cli(['router', 'install-script', 'tower-1', '--hub-config', hubFile, '--json']);
    expect(install.json.data).toMatchObject({ status: 'registering', host: '10.233.0.2' });
    expect((await lab.call({ op: 'script', text: install.json.data.script })).errors).toEqual([]);
    expect((await lab.call({ op: 'script', text: install.json.data.script })).errors).toEqual([]);

    // 3. The hub side, from the configuration ispctl prints.
    const hubConfig = readFileSync(hubFile, 'utf8');
    expect(hubConfig).toMatch(/^\[Peer\]\nPublicKey = \S+\nAllowedIPs = 10\.233\.0\.2\/32$/m);
    const stripped = sh(['wg-quick', 'strip', hubFile]);
    procs.push(spawn('ip', ['netns', 'exec', HUB_NS, 'wireguard-go', '-f', HUB_WG], { env: WG_ENV, stdio: 'ignore' }));
    await waitFor(() => spawnSync('ip', ['netns', 'exec', HUB_NS, 'wg', 'show', HUB_WG], { env: WG_ENV }).status === 0);
    const strippedFile = join(tmp.dir, 'hub.stripped');
    writeFileSync(strippedFile, stripped, { mode: 0o600 });
    inNs(HUB_NS, ['wg', 'setconf', HUB_WG, strippedFile]);
    inNs(HUB_NS, ['ip', 'addr', 'add', /Address = (\S+)/.exec(hubConfig)![1]!, 'dev', HUB_WG]);
    inNs(HUB_NS, ['ip', 'link', 'set', HUB_WG, 'up']);

    // 4. The router side, from what the install script configured on the lab router.
    const wg = await lab.call({ op: 'wg' });
    const [iface] = wg.interfaces;
    const [peer] = wg.peers;
    const address = wg.addresses.find((a: { interface: string }) => a.interface === iface.name).address;
    expect(peer).toMatchObject({ 'endpoint-address': '192.0.2.1', 'endpoint-port': '51820', 'allowed-address': '10.233.0.1/32', 'persistent-keepalive': '25s' });
    procs.push(spawn('ip', ['netns', 'exec', RTR_NS, 'wireguard-go', '-f', RTR_WG], { env: WG_ENV, stdio: 'ignore' }));
    await waitFor(() => spawnSync('ip', ['netns', 'exec', RTR_NS, 'wg', 'show', RTR_WG], { env: WG_ENV }).status === 0);
    const keyFile = join(tmp.dir, 'router.key');
    writeFileSync(keyFile, iface['private-key'] + '\n', { mode: 0o600 });
    inNs(RTR_NS, ['wg', 'set', RTR_WG, 'private-key', keyFile, 'peer', peer['public-key'], 'endpoint', `${peer['endpoint-address']}:${peer['endpoint-port']}`, 'allowed-ips', peer['allowed-address'], 'persistent-keepalive', '25']);
    inNs(RTR_NS, ['ip', 'addr', 'add', address, 'dev', RTR_WG]);
    inNs(RTR_NS, ['ip', 'link', 'set', RTR_WG, 'up']);
    // The lab router's API on its tunnel address only.
    expect((await lab.call({ op: 'listen', host: address.split('/')[0] })).port).toBe(8728);

    // 5. ispctl, in the hub namespace, reaches it through the tunnel: registering → online.
    let check = await cli(['router', 'check', 'tower-1', '--json']);
    for (let i = 0; i < 5 && !check.json?.ok; i++) {
      await new Promise((r) => setTimeout(r, 1000));
      check = await cli(['router', 'check', 'tower-1', '--json']);
    }
    expect(check.json, check.stderr).toMatchObject({ ok: true, data: [{ router: 'tower-1', status: 'online', identity: 'tower-1' }] });
    expect(inNs(HUB_NS, ['wg', 'show', HUB_WG, 'latest-handshakes'])).toMatch(new RegExp(`${escape(iface['public-key'])}\\s+[1-9]\\d*`));

    // 6. A subscriber provisioned over the tunnel dials in and gets an address from the pool.
    expect((await cli(['plan', 'create', 'Fiber 50', '--price', '1,500.00', '--download', '50M', '--upload', '10M'])).code).toBe(0);
    const sub = await cli(['subscriber', 'add', '--name', 'Juan Dela Cruz', '--username', 'juan', '--password', 'pw-juan', '--plan', 'Fiber 50', '--router', 'tower-1', '--start-date', '2026-12-01', '--json']);
    expect(sub.code, sub.stderr).toBe(0);
    const dial = await lab.call({ op: 'dial', user: 'juan', password: 'pw-juan' });
    expect(dial.session.address).toMatch(/^10\.50\.0\.(1\d|20)$/);

    // 7. The first billing cycle on him: invoice, payment.
    const bill = await cli(['billing', 'generate', '--period', '2026-12', '--json']);
    expect(bill.json.data).toMatchObject({ invoices: 1, totalMinor: 150000 });
    const pay = await cli(['payment', 'record', '--subscriber', 'juan', '--amount', '1,500.00', '--method', 'cash', '--reference', 'OR-1', '--json']);
    expect(pay.code, pay.stderr).toBe(0);
    expect(JSON.stringify(pay.json.data)).toMatch(/"status":"paid"/);
  }, 600_000);
});

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}

async function waitFor(cond: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 100));
  }
}
