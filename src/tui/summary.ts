// The dashboard as plain text, for a stdout that is not a terminal (a cron mail, a pipe).
import type { DashboardSnapshot } from '../core/dashboard/snapshot.js';
import { dateTime, zoneLabel } from './format.js';
import { PANES, paneContent } from './panes.js';

export function summaryText(d: DashboardSnapshot, width = 100): string {
  const out = [`ispctl · ${d.ispName} · ${dateTime(d.takenAt, d.timezone)} ${zoneLabel(d.takenAt, d.timezone)} (${d.timezone})`];
  for (const id of PANES) {
    const c = paneContent(id, d, width, d.takenAt);
    out.push('', c.title.toUpperCase(), ...c.lines.filter((l) => !/^[█░]+$/.test(l.text)).map((l) => `  ${l.text}`.trimEnd()));
  }
  return out.join('\n');
}
