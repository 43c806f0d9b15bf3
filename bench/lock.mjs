#!/usr/bin/env node
// The embedded database's lock: one uncontended take-and-release, and how long a waiter takes to
// get it once the holder lets go (the hand-over), on this machine's mechanism.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dist, report } from './lib.mjs';

const { acquireFileLock, lockMechanism } = await import(dist('src/core/db/lock.js'));
const dir = mkdtempSync(join(tmpdir(), 'ispctl-bench-lock-'));
try {
  const path = join(dir, 'db.lock');
  const take = [];
  for (let i = 0; i < 2000; i++) {
    const t = performance.now();
    const l = await acquireFileLock(path, { timeoutMs: 5000, command: 'bench' });
    l.release();
    take.push((performance.now() - t) * 1000);
  }
  report(`lock take+release, uncontended (${lockMechanism()})`, take, 'µs');
  // Hand-over: a second lock name held by us, a waiter in the same process polling for it.
  const hand = [];
  for (let i = 0; i < 200; i++) {
    const held = await acquireFileLock(path, { timeoutMs: 5000, command: 'holder' });
    const waiting = acquireFileLock(path, { timeoutMs: 5000, command: 'waiter' });
    await new Promise((r) => setTimeout(r, 20));
    const t = performance.now();
    held.release();
    (await waiting).release();
    hand.push(performance.now() - t);
  }
  report('lock hand-over to a waiter (pollMs 100, backoff from 5 ms)', hand, 'ms');
} finally {
  rmSync(dir, { recursive: true, force: true });
}
