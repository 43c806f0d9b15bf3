#!/usr/bin/env node
// Runs every benchmark in bench/ (or those whose file name contains one of the words given) one
// after another and prints one report: each figure with its baseline from the same run, the
// ratio, the target and whether it was met, and the load each benchmark ran under. The same
// report is written as JSON (default bench/results/latest.json).
//
//   npm run bench                      # build, then everything at full size
//   node bench/run.mjs --quick         # small sizes (each benchmark reads --quick / BENCH_QUICK)
//   node bench/run.mjs routeros radius # only these
//   node bench/run.mjs --json out.json
//
// Each benchmark prints one JSON line per figure on stdout (the shape is described in lib.mjs);
// anything else it prints goes to stderr. Exit status: 0 when every benchmark ran and every
// judged figure met its target, 1 otherwise.
import { spawn } from 'node:child_process';
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const quick = args.includes('--quick');
const jsonAt = args.indexOf('--json');
const jsonFile = jsonAt >= 0 ? args[jsonAt + 1] : join(here, 'results', quick ? 'latest-quick.json' : 'latest.json');
const wanted = args.filter((a, i) => !a.startsWith('--') && !(jsonAt >= 0 && i === jsonAt + 1));
const files = readdirSync(here)
  .filter((f) => f.endsWith('.mjs') && f !== 'run.mjs' && !f.startsWith('lib'))
  .filter((f) => wanted.length === 0 || wanted.some((w) => f.includes(w)))
  .sort();

const load = () => {
  const [one, five] = loadavg();
  return { loadavg1: round(one), loadavg5: round(five) };
};
function round(n) {
  return Math.round(n * 100) / 100;
}

// ---- judging a figure against its target ----------------------------------------------------

const OPS = { '<': (a, b) => a < b, '<=': (a, b) => a <= b, '>': (a, b) => a > b, '>=': (a, b) => a >= b };

/** 'pass', 'miss' or 'info' (no target it can judge). A benchmark's own `ok` wins. */
export function verdict(row) {
  if (row.error) return 'error';
  if (typeof row.ok === 'boolean') return row.ok ? 'pass' : 'miss';
  const target = String(row.target ?? 'info').trim();
  if (target === '' || target === 'info') return 'info';
  // One or more clauses: '< 1000', 'ratio >= 0.95', 'median < 200, p99 < 1000'.
  const results = [];
  for (const clause of target.split(',')) {
    const m = /^\s*(ratio|median|p99)?\s*(<=|>=|<|>)\s*(-?[\d.]+)/.exec(clause);
    if (!m) return 'info';
    const field = m[1] ?? 'median';
    const value = row[field];
    if (typeof value !== 'number' || Number.isNaN(value)) return 'info';
    results.push(OPS[m[2]](value, Number(m[3])));
  }
  return results.every(Boolean) ? 'pass' : 'miss';
}

// ---- running one benchmark -------------------------------------------------------------------

function runOne(file) {
  return new Promise((resolve) => {
    const before = load();
    const t0 = performance.now();
    const child = spawn(process.execPath, [join(here, file), ...(quick ? ['--quick'] : [])], {
      stdio: ['ignore', 'pipe', 'inherit'],
      env: { ...process.env, ...(quick ? { BENCH_QUICK: '1' } : {}) },
    });
    const rows = [];
    createInterface({ input: child.stdout }).on('line', (line) => {
      const text = line.trim();
      if (!text) return;
      try {
        const row = JSON.parse(text);
        if (row && typeof row === 'object' && typeof row.name === 'string') {
          rows.push(row);
          process.stderr.write(`  ${file}: ${row.name} ${fmt(row.median)} ${row.unit ?? ''}\n`);
          return;
        }
      } catch {
        // not a result line
      }
      process.stderr.write(`${file}: ${line}\n`);
    });
    child.once('error', (err) => resolve({ file, seconds: 0, exit: null, error: err.message, load: { before, after: load() }, rows }));
    child.once('close', (code, signal) => {
      const seconds = round((performance.now() - t0) / 1000);
      resolve({ file, seconds, exit: code, ...(code !== 0 ? { error: `exited with ${code ?? signal}` } : {}), load: { before, after: load() }, rows });
    });
  });
}

// ---- report ------------------------------------------------------------------------------------

function fmt(n) {
  if (typeof n !== 'number' || Number.isNaN(n)) return '—';
  if (Math.abs(n) >= 1000) return Math.round(n).toLocaleString('en-US');
  if (Math.abs(n) >= 100) return n.toFixed(0);
  if (Math.abs(n) >= 10) return n.toFixed(1);
  return n.toFixed(2);
}

function table(rows) {
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => String(r[c]).length)));
  return rows.map((r) => r.map((cell, c) => (c === 0 ? String(cell).padEnd(widths[c]) : String(cell).padStart(widths[c]))).join('  ')).join('\n');
}

const started = new Date();
const machine = { cores: cpus().length, cpu: cpus()[0]?.model ?? 'unknown', node: process.version, platform: `${process.platform} ${process.arch}` };
const loadAtStart = load();
process.stderr.write(`bench: ${files.length} benchmark(s)${quick ? ' (quick sizes)' : ''} on ${machine.cores} cores, load ${loadAtStart.loadavg1}\n`);
const results = [];
for (const file of files) {
  process.stderr.write(`bench: ${file}\n`);
  results.push(await runOne(file));
}
const finished = new Date();
const loadAtEnd = load();

const counts = { pass: 0, miss: 0, info: 0, error: 0 };
const lines = [];
lines.push(`ispctl benchmarks — ${started.toISOString()}${quick ? ' — QUICK sizes (not the targets\' sizes)' : ''}`);
lines.push(`machine: ${machine.cores} cores (${machine.cpu}), Node ${machine.node}, ${machine.platform}`);
lines.push(`load: ${loadAtStart.loadavg1} at the start, ${loadAtEnd.loadavg1} at the end (1-minute load average; above ${machine.cores} other work shared the cores, so times are high and rates low)`);
for (const r of results) {
  for (const row of r.rows) {
    row.verdict = verdict(row);
    counts[row.verdict]++;
  }
  // A benchmark may exit 1 because a figure missed its target (scaling.mjs does): that is the
  // miss already counted, not a failure to run.
  if (r.error && r.exit === 1 && r.rows.some((row) => row.verdict === 'miss')) {
    r.exitNote = `${r.error} (a figure missed its target)`;
    delete r.error;
  }
  if (r.error) counts.error++;
  lines.push('');
  lines.push(`${r.file} — ${r.seconds} s, load ${r.load.before.loadavg1} → ${r.load.after.loadavg1} (1-min average, ${machine.cores} cores)${r.error ? ` — ERROR: ${r.error}` : r.exitNote ? ` — ${r.exitNote}` : ''}`);
  if (r.rows.length === 0) {
    lines.push('  (no figures)');
    continue;
  }
  const head = ['  figure', 'median', 'p99', 'unit', 'baseline (same run)', 'ratio', 'target', 'result'];
  const body = r.rows.map((row) => [
    `  ${row.name}`,
    fmt(row.median),
    fmt(row.p99),
    row.unit ?? '',
    row.baseline ? `${fmt(row.baseline.median)} ${row.baseline.name ?? ''}`.trim() : '—',
    typeof row.ratio === 'number' ? `${fmt(row.ratio)}×` : '—',
    row.target ?? 'info',
    row.verdict === 'info' ? '' : row.verdict.toUpperCase(),
  ]);
  lines.push(table([head, ...body]));
  const notes = new Map();
  for (const row of r.rows) if (row.note) notes.set(row.note, [...(notes.get(row.note) ?? []), row.name]);
  for (const [note, names] of notes) lines.push(`  note (${names.join(', ')}): ${note}`);
}
lines.push('');
lines.push(`${counts.pass} pass, ${counts.miss} miss, ${counts.info} for information, ${counts.error} benchmark(s) failed to run — ${Math.round((finished - started) / 1000)} s`);

mkdirSync(dirname(jsonFile), { recursive: true });
writeFileSync(jsonFile, `${JSON.stringify({ started: started.toISOString(), finished: finished.toISOString(), quick, machine, load: { start: loadAtStart, end: loadAtEnd }, counts, benchmarks: results }, null, 2)}\n`);
lines.push(`JSON: ${relative(process.cwd(), jsonFile) || jsonFile}`);
process.stdout.write(`${lines.join('\n')}\n`);
process.exit(counts.miss > 0 || counts.error > 0 ? 1 : 0);
