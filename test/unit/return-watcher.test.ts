// The probe of routers with failed work: one router's slow probe (a stalled router holds it for
// the whole login timeout) does not hold back the news that another one answers again.
import { expect, test } from 'vitest';
import { PROBE_MAX_MS, PROBE_MIN_MS, ReturnWatcher, type ProbeTarget } from '../../src/core/provisioning/probe.js';

const target = (routerId: number): ProbeTarget => ({ routerId, host: `10.0.0.${routerId}`, port: 8728 });
const settle = () => new Promise((r) => setImmediate(r));

test('a router that answers again is reported while another probe still waits', async () => {
  let release: ((ok: boolean) => void) | undefined;
  const calls = new Map<number, number>();
  let secondAnswers = false;
  const watcher = new ReturnWatcher((_h, _p, t) => {
    calls.set(t.routerId, (calls.get(t.routerId) ?? 0) + 1);
    if (t.routerId === 1 && calls.get(1) === 1) return new Promise<boolean>((r) => (release = r));
    return Promise.resolve(t.routerId === 1 || secondAnswers);
  });
  watcher.setTargets([target(1), target(2)]);
  const first = watcher.tick(0); // router 1's probe hangs, router 2 does not answer
  await settle();
  secondAnswers = true;
  // A later tick, once router 2's backoff is over: it is back, though router 1's probe still waits.
  expect(await watcher.tick(Date.now() + PROBE_MAX_MS)).toEqual([2]);
  expect(calls.get(1)).toBe(1); // never two probes of one router at once
  expect(calls.get(2)).toBe(2);
  release!(true);
  expect(await first).toEqual([1]);
  // Both answer now: nothing more to report until one goes away and comes back.
  expect(await watcher.tick(Date.now() + PROBE_MAX_MS)).toEqual([]);
});

test('a probe that throws counts as no answer, and the backoff grows to its cap', async () => {
  let fail = true;
  const watcher = new ReturnWatcher(async () => {
    if (fail) throw new Error('boom');
    return true;
  });
  watcher.setTargets([target(7)]);
  const t0 = Date.now();
  expect(await watcher.tick(t0)).toEqual([]);
  // Not due again before the first backoff.
  expect(await watcher.tick(Date.now() + PROBE_MIN_MS / 2)).toEqual([]);
  fail = false;
  expect(await watcher.tick(Date.now() + PROBE_MIN_MS + 10)).toEqual([7]);
});
