// The dashboard's panes. Each takes its data as props and renders lines cut to the pane's
// width (never wrapped). Rows that can be acted on carry a subscriber or a router, so the app
// can open or act on the selected one.
import { Box, Text } from 'ink';
import type { DashboardSnapshot } from '../core/dashboard/snapshot.js';
import { ago, cell, fit, money, shortTime } from './format.js';

export type PaneId = 'access' | 'collections' | 'money' | 'routers' | 'events' | 'daemon';
export const PANES: PaneId[] = ['access', 'collections', 'money', 'routers', 'events', 'daemon'];

export interface Line {
  text: string;
  color?: string;
  bold?: boolean;
  dim?: boolean;
  /** What Enter or an action key works on when this line is selected. */
  target?: { subscriber?: string; router?: string };
}

export interface PaneContent {
  title: string;
  lines: Line[];
}

/** The lines of one pane for a content width `w`. */
export function paneContent(id: PaneId, d: DashboardSnapshot, w: number, now: Date): PaneContent {
  switch (id) {
    case 'access':
      return accessLines(d, w);
    case 'collections':
      return collectionsLines(d, w);
    case 'money':
      return moneyLines(d, w);
    case 'routers':
      return routersLines(d, w, now);
    case 'events':
      return eventLines(d, w);
    case 'daemon':
      return daemonLines(d, w, now);
  }
}

function accessLines(d: DashboardSnapshot, w: number): PaneContent {
  const t = d.access.total;
  const nameW = Math.max(6, w - 25);
  const row = (name: string, a: string, th: string, b: string) => `${cell(name, nameW)} ${cell(a, 6, 'right')} ${cell(th, 9, 'right')} ${cell(b, 7, 'right')}`;
  const lines: Line[] = [{ text: row('ROUTER', 'active', 'throttled', 'blocked'), dim: true }];
  for (const r of d.access.routers) lines.push({ text: row(r.router, String(r.active), String(r.throttled), String(r.blocked)), color: r.blocked ? 'red' : undefined, target: { router: r.router } });
  lines.push({ text: row('all', String(t.active), String(t.throttled), String(t.blocked)), bold: true });
  return { title: 'Access', lines };
}

function collectionsLines(d: DashboardSnapshot, w: number): PaneContent {
  const c = d.collections.today;
  const lines: Line[] =
    w >= 56
      ? [{ text: `Today: reminded ${c.reminded} · warned ${c.warned} · suspended ${c.suspended} · restored ${c.restored}` }]
      : [{ text: `Today: reminded ${c.reminded} · warned ${c.warned}` }, { text: `       suspended ${c.suspended} · restored ${c.restored}` }];
  lines.push({ text: d.collections.next.length ? 'Suspended next if unpaid:' : 'Nobody is due for suspension.', dim: true });
  for (const s of d.collections.next) {
    const amount = money(s.balanceMinor, d.currency);
    const when = s.suspendOn <= d.today ? 'today' : s.suspendOn.slice(5);
    const nameW = Math.max(4, w - 6 - 9 - amount.length - 3);
    lines.push({ text: `${cell(when, 5)} ${cell(s.accountNo, 8)} ${cell(s.fullName, nameW)} ${amount}`, color: s.suspendOn <= d.today ? 'red' : 'yellow', target: { subscriber: s.accountNo } });
  }
  return { title: 'Collections', lines };
}

function moneyLines(d: DashboardSnapshot, w: number): PaneContent {
  const m = d.money;
  const count = m.today.reduce((a, p) => a + p.count, 0);
  const lines: Line[] = [{ text: `Today ${money(m.todayTotalMinor, d.currency)} in ${count} payment${count === 1 ? '' : 's'}`, bold: true }];
  for (const p of m.today) lines.push({ text: `  ${cell(p.method, 8)} ${cell(String(p.count), 4, 'right')}  ${money(p.amountMinor, d.currency)}` });
  const pct = m.period.dueMinor > 0n ? Number((m.period.collectedMinor * 1000n) / m.period.dueMinor) / 10 : 0;
  lines.push({ text: `Period ${m.period.start} to ${m.period.end}`, dim: true });
  const collected = `Collected ${money(m.period.collectedMinor, d.currency)}`;
  const of = `of ${money(m.period.dueMinor, d.currency)} due (${pct}%)`;
  if (collected.length + of.length + 1 <= w) lines.push({ text: `${collected} ${of}` });
  else lines.push({ text: collected }, { text: `  ${of}` });
  const barW = Math.max(0, Math.min(w, 40));
  const filled = Math.round((barW * Math.min(100, pct)) / 100);
  if (barW > 4) lines.push({ text: '█'.repeat(filled) + '░'.repeat(barW - filled), color: 'green' });
  return { title: 'Money', lines };
}

function routersLines(d: DashboardSnapshot, w: number, now: Date): PaneContent {
  const narrow = w < 48;
  const cw = narrow ? 7 : 10;
  const nameW = Math.max(6, w - (narrow ? 32 : 37));
  const row = (n: string, s: string, c: string, q: string, f: string) => `${cell(n, nameW)} ${cell(s, 8)} ${cell(c, cw)} ${cell(q, 6, 'right')} ${cell(f, 6, 'right')}`;
  const lines: Line[] = [{ text: row('ROUTER', 'state', 'contact', 'queued', 'failed'), dim: true }];
  for (const r of d.routers) {
    const color = r.status === 'online' ? 'green' : r.status === 'offline' ? 'red' : r.status === 'degraded' ? 'yellow' : undefined;
    const contact = narrow ? ago(r.lastContactAt, now).replace(' ago', '') : ago(r.lastContactAt, now);
    lines.push({ text: row(r.name, r.status, contact, String(r.queued), String(r.failed)), color: r.failed ? 'red' : color, target: { router: r.name } });
  }
  if (!d.routers.length) lines.push({ text: 'No routers yet: ispctl router add', dim: true });
  return { title: 'Routers', lines };
}

const KIND_LABEL: Record<string, string> = {
  payment: 'paid',
  reminder: 'reminded',
  warning: 'warned',
  suspension: 'suspended',
  restoration: 'restored',
  admin_suspend: 'suspended*',
  admin_resume: 'resumed*',
  router: 'router',
};

function eventLines(d: DashboardSnapshot, w: number): PaneContent {
  const lines: Line[] = d.events.map((e) => {
    const what = e.kind === 'payment' ? `${money(e.amountMinor ?? 0n, d.currency)} ${e.detail ?? ''}` : e.kind === 'router' ? `${e.subject} is ${e.detail}` : (e.detail ?? '');
    const who = e.kind === 'router' ? '' : `${e.subject} ${e.name ?? ''} `;
    const color = e.kind === 'payment' || e.kind === 'restoration' || e.kind === 'admin_resume' ? 'green' : e.kind === 'suspension' || e.kind === 'admin_suspend' ? 'red' : e.kind === 'router' ? 'cyan' : 'yellow';
    return {
      text: fit(`${cell(shortTime(e.at, d.timezone, d.today), 5)} ${cell(KIND_LABEL[e.kind] ?? e.kind, 10)} ${who}${what}`, w),
      color,
      target: e.kind === 'router' ? { router: e.subject } : { subscriber: e.subject },
    };
  });
  if (!lines.length) lines.push({ text: 'Nothing yet.', dim: true });
  return { title: 'Events', lines };
}

function daemonLines(d: DashboardSnapshot, w: number, now: Date): PaneContent {
  const dm = d.daemon;
  const lines: Line[] = [
    dm.leader
      ? { text: `Leader ${dm.leader.name} (${dm.leader.host} pid ${dm.leader.pid}), ${dm.instances} running`, color: 'green' }
      : { text: dm.running ? 'Running, no leader yet' : 'Not running: start ispctl daemon', color: dm.running ? 'yellow' : 'red' },
  ];
  const nameW = 13;
  for (const s of dm.schedules) {
    const color = s.outcome === 'failed' || s.outcome === 'interrupted' ? 'red' : s.outcome === 'ok' ? undefined : 'yellow';
    lines.push({ text: `${cell(s.schedule, nameW)} ${cell(s.outcome, 11)} ${cell(ago(s.lastFinishedAt ?? s.lastStartedAt, now), 9)}${s.error ?? ''}`, color, dim: s.outcome === 'never' });
  }
  return { title: 'Daemon', lines };
}

export interface PaneProps {
  id: PaneId;
  data: DashboardSnapshot;
  width: number;
  height: number;
  focused?: boolean;
  /** Index of the selected line (focused pane only). */
  selected?: number;
  colour?: boolean;
  now?: Date;
}

/** One pane with its border and title; exactly `width` by `height`. */
export function Pane({ id, data, width, height, focused = false, selected, colour = true, now = data.takenAt }: PaneProps) {
  const inner = Math.max(1, width - 4);
  const content = paneContent(id, data, inner, now);
  const rows = Math.max(0, height - 3);
  // Keep the selected line in view.
  const start = selected !== undefined && selected >= rows ? selected - rows + 1 : 0;
  const shown = content.lines.slice(start, start + rows);
  const col = (c?: string) => (colour ? c : undefined);
  return (
    <Box flexDirection="column" width={width} height={height} borderStyle={focused ? 'double' : 'single'} borderColor={col(focused ? 'cyan' : 'gray')} paddingX={1} overflow="hidden">
      <Text bold color={col(focused ? 'cyan' : undefined)} wrap="truncate-end">
        {fit(`${content.title}${content.lines.length > rows + 1 ? `  (${content.lines.length - 1})` : ''}`, inner)}
      </Text>
      {shown.map((l, i) => (
        <Text key={i} wrap="truncate-end" color={col(l.color)} bold={l.bold} dimColor={l.dim} inverse={focused && selected === start + i}>
          {fit(l.text, inner)}
        </Text>
      ))}
    </Box>
  );
}
