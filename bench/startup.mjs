#!/usr/bin/env node
// CLI start-up: `ispctl --version` (target median < 300 ms) and a read command on the embedded
// database (`settings list`, target median < 1 s), measured as whole processes.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const bin = join(dirname(fileURLToPath(import.meta.url)), '..', 'bin', 'run.js');
const dir = mkdtempSync(join(tmpdir(), 'ispctl-bench-'));
const env = { ...process.env, ISPCTL_DATA_DIR: join(dir, 'data'), DATABASE_URL: '', NO_COLOR: '1' };

function run(args) {
  const t0 = performance.now();
  const r = spawnSync(process.execPath, [bin, ...args], { env, encoding: 'utf8' });
  const ms = performance.now() - t0;
  if (r.status !== 0) throw new Error(`ispctl ${args.join(' ')} failed: ${r.stderr}`);
  return ms;
}

function stats(name, samples, target) {
  const s = [...samples].sort((a, b) => a - b);
  const q = (p) => s[Math.min(s.length - 1, Math.ceil(p * s.length) - 1)];
  const median = q(0.5);
  return { name, runs: s.length, median: Math.round(median * 10) / 10, p99: Math.round(q(0.99) * 10) / 10, unit: 'ms', target, ok: median < target };
}

try {
  run(['init', '--isp-name', 'Bench ISP', '--yes']);
  run(['--version']); // warm the file cache
  const version = Array.from({ length: 20 }, () => run(['--version']));
  console.log(JSON.stringify(stats('cli.version', version, 300)));
  const list = Array.from({ length: 10 }, () => run(['settings', 'list']));
  console.log(JSON.stringify(stats('cli.settings-list.embedded', list, 1000)));
} finally {
  rmSync(dir, { recursive: true, force: true });
}
