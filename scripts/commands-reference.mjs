#!/usr/bin/env node
// Rewrites the command reference in README.md (between the COMMANDS markers) from
// oclif.manifest.json. Run after `npm run build`: `node scripts/commands-reference.mjs`.
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const manifest = JSON.parse(readFileSync(join(root, 'oclif.manifest.json'), 'utf8'));
const global = new Set(['json', 'database-url', 'lock-timeout', 'router-timeout', 'quiet', 'verbose']);
const list = new Set(['columns', 'sort', 'desc', 'csv', 'truncate']);

const lines = [];
for (const id of Object.keys(manifest.commands).sort()) {
  const c = manifest.commands[id];
  const name = id.replaceAll(':', ' ');
  const args = Object.values(c.args ?? {}).map((a) => (a.required ? a.name.toUpperCase() : `[${a.name.toUpperCase()}]`));
  lines.push(`### \`ispctl ${[name, ...args].join(' ')}\``, '', c.summary ?? c.description ?? '', '');
  const isList = ['columns', 'sort', 'desc', 'csv', 'truncate'].every((n) => c.flags?.[n]);
  const flags = Object.values(c.flags ?? {}).filter((f) => !global.has(f.name) && !(isList && list.has(f.name)));
  if (flags.length || isList) {
    for (const f of flags) {
      const value = f.type === 'option' ? ` <${f.options ? f.options.join('|') : 'value'}>` : '';
      lines.push(`- \`--${f.name}${value}\`${f.summary ? `: ${f.summary}` : ''}`);
    }
    if (isList) lines.push('- `--columns`, `--sort`, `--desc`, `--csv`, `--no-truncate`: the list flags (see Lists above).');
    lines.push('');
  }
  const examples = (c.examples ?? []).map((ex) => (typeof ex === 'string' ? ex : ex.command).replaceAll('<%= config.bin %>', 'ispctl'));
  if (examples.length) lines.push('```sh', ...examples, '```');
  lines.push('');
}
const readmePath = join(root, 'README.md');
const readme = readFileSync(readmePath, 'utf8');
const start = '<!-- COMMANDS:START -->';
const end = '<!-- COMMANDS:END -->';
const i = readme.indexOf(start);
const j = readme.indexOf(end);
if (i < 0 || j < 0) throw new Error('README.md has no COMMANDS markers');
writeFileSync(readmePath, readme.slice(0, i + start.length) + '\n\n' + lines.join('\n').trim() + '\n\n' + readme.slice(j));
console.error(`README.md: ${Object.keys(manifest.commands).length} commands`);
