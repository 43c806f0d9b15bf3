// Address pools in the lab NAS, configured the way a technician does it (a pasted script):
// the address comes from RADIUS, else the pool, else the secret's or the profile's
// remote-address; a full pool refuses the next session; no address at all is refused.
import { afterEach, describe, expect, it } from 'vitest';
import { attr, startRadiusServer } from '../../../src/core/radius/index.js';
import { runScript } from '../../../src/lab/console/index.js';
import { DialRejectedError, type LabNasOptions, type LabRouter, startLabRouter } from '../../../src/lab/index.js';

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

async function lab(nas: LabNasOptions = {}): Promise<{ router: LabRouter; log: string[] }> {
  const log: string[] = [];
  const router = await startLabRouter({ adminPassword: 'pw', nas: { ...nas, log: (l) => log.push(l) } });
  cleanups.push(() => router.close());
  return { router, log };
}

function paste(router: LabRouter, script: string): void {
  const r = runScript(router.state, script);
  expect(r.errors, r.output).toEqual([]);
}

async function refusal(p: Promise<unknown>): Promise<DialRejectedError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof DialRejectedError) return e;
    throw e;
  }
  throw new Error('expected the dial to be refused');
}

const SETUP = [
  '/ip pool add name=small ranges=10.60.0.2-10.60.0.4',
  '/ip pool add name=overflow ranges=10.61.0.2',
  '/ppp profile add name=plan local-address=10.60.0.1 remote-address=small rate-limit=5M/10M',
  '/ppp profile add name=bare',
  ':for i from=1 to=6 do={ /ppp secret add name=("u" . $i) password=pw profile=plan service=pppoe }',
  '/ppp secret add name=static password=pw profile=plan remote-address=10.60.9.9',
  '/ppp secret add name=nowhere password=pw profile=bare',
].join('\n');

describe('lab NAS address pools', () => {
  it('gives the next free address of the pool; a full pool refuses the next session and says so', async () => {
    const { router, log } = await lab();
    paste(router, SETUP);
    const nas = router.nas!;
    const a = await Promise.all(['u1', 'u2', 'u3'].map((u) => nas.dial({ username: u, password: 'pw' })));
    expect(a.map((s) => s.address)).toEqual(['10.60.0.2', '10.60.0.3', '10.60.0.4']);
    const full = await refusal(nas.dial({ username: 'u4', password: 'pw' }));
    expect(full.reason).toBe('pool-exhausted');
    expect(log.some((l) => /u4 refused \(pool-exhausted\): no free address in pool small/.test(l))).toBe(true);
    // The secret's own remote-address needs no pool.
    expect((await nas.dial({ username: 'static', password: 'pw' })).address).toBe('10.60.9.9');
    // Hanging up frees the address for the next session.
    await nas.hangup(a[1]!.id);
    expect((await nas.dial({ username: 'u4', password: 'pw' })).address).toBe('10.60.0.3');
    // A next-pool takes over when the pool is full.
    paste(router, '/ip pool set small next-pool=overflow');
    expect((await nas.dial({ username: 'u5', password: 'pw' })).address).toBe('10.61.0.2');
    expect((await refusal(nas.dial({ username: 'u6', password: 'pw' }))).reason).toBe('pool-exhausted');
    // The API shows the addresses in /ppp/active.
    const active = router.state.menu('/ppp/active').list().map((r) => [r.name, r.address]);
    expect(active).toEqual([
      ['u1', '10.60.0.2'],
      ['u3', '10.60.0.4'],
      ['static', '10.60.9.9'],
      ['u4', '10.60.0.3'],
      ['u5', '10.61.0.2'],
    ]);
  });

  it("a profile's address-list holds the session's address while it lasts", async () => {
    const { router } = await lab();
    paste(router, SETUP + '\n/ppp profile add name=isolir remote-address=overflow address-list=isolir\n/ppp secret add name=late password=pw profile=isolir');
    const s = await router.nas!.dial({ username: 'late', password: 'pw' });
    const entries = () => router.state.menu('/ip/firewall/address-list').list().map((e) => [e.list, e.address, e.dynamic]);
    expect(entries()).toEqual([['isolir', '10.61.0.2', 'true']]);
    await router.nas!.hangup(s.id);
    expect(entries()).toEqual([]);
  });

  it('refuses a session with no address to give when the router requires one', async () => {
    const { router, log } = await lab({ requireAddress: true });
    paste(router, SETUP);
    const e = await refusal(router.nas!.dial({ username: 'nowhere', password: 'pw' }));
    expect(e.reason).toBe('no-address');
    expect(log.some((l) => /nowhere refused \(no-address\): no address to give: no remote-address on the secret or on profile bare/.test(l))).toBe(true);
    expect(router.state.menu('/ppp/active').size).toBe(0);
    // Without the switch the session comes up without an address (earlier behaviour).
    const { router: lax } = await lab();
    paste(lax, SETUP);
    expect((await lax.nas!.dial({ username: 'nowhere', password: 'pw' })).address).toBe('');
  });

  it('RADIUS: Framed-IP-Address, else Framed-Pool, else the profile named by Mikrotik-Group', async () => {
    let reply: Array<ReturnType<typeof attr>> = [];
    const server = await startRadiusServer({
      secret: 'pool-test-secret',
      handler: (req) => (req.code === 'Accounting-Request' ? { code: 'Accounting-Response' } : { code: 'Access-Accept', attributes: reply }),
    });
    cleanups.push(() => server.close());
    const { router } = await lab({ requireAddress: true });
    paste(router, SETUP);
    paste(router, `/radius add service=ppp address=127.0.0.1 secret="pool-test-secret" authentication-port=${server.port} accounting-port=${server.port} timeout=500ms\n/ppp aaa set use-radius=yes`);
    const nas = router.nas!;
    reply = [attr('Framed-IP-Address', '10.70.0.7'), attr('Framed-Pool', 'small')];
    expect((await nas.dial({ username: 'r1', password: 'x' })).address).toBe('10.70.0.7');
    reply = [attr('Framed-Pool', 'overflow'), attr('Mikrotik-Group', 'plan')];
    expect((await nas.dial({ username: 'r2', password: 'x' })).address).toBe('10.61.0.2');
    reply = [attr('Mikrotik-Group', 'plan')];
    expect((await nas.dial({ username: 'r3', password: 'x' })).address).toBe('10.60.0.2');
    reply = [];
    expect((await refusal(nas.dial({ username: 'r4', password: 'x' }))).reason).toBe('no-address');
  });
});
