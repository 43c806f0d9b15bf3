// One subscriber on the dashboard: profile and services, balance, invoices, live session and
// events. Data as props.
import { Box, Text } from 'ink';
import type { SubscriberCard } from '../core/dashboard/subscriber.js';
import { formatSpeed } from '../core/speed.js';
import { formatLocalDate, toLocalDate } from '../core/time.js';
import { cell, fit, money } from './format.js';

export interface SubscriberViewProps {
  card?: SubscriberCard;
  error?: string;
  refName: string;
  width: number;
  height: number;
  colour?: boolean;
}

export function subscriberLines(c: SubscriberCard, w: number): Array<{ text: string; color?: string; bold?: boolean; dim?: boolean }> {
  const s = c.subscriber;
  const cur = c.invoices[0]?.currency ?? c.payments[0]?.currency ?? 'PHP';
  const m = (v: bigint) => money(v, cur);
  // The day on the ISP's clock: a payment at 07:00 in Manila is that day's, not the UTC day before.
  const day = (at: Date) => formatLocalDate(toLocalDate(at, c.timezone));
  const out: Array<{ text: string; color?: string; bold?: boolean; dim?: boolean }> = [];
  out.push({ text: `${s.accountNo}  ${s.fullName}`, bold: true });
  const contact = [s.phone, s.email, s.address].filter(Boolean).join(' · ');
  if (contact) out.push({ text: contact, dim: true });
  for (const v of c.services) {
    const a = v.access;
    const speed = a.state === 'blocked' ? '' : ` download ${formatSpeed(a.downloadKbps!)} / upload ${formatSpeed(a.uploadKbps!)}`;
    const state = a.state === 'blocked' ? `blocked (${a.reason.replace(/_/g, ' ')}${v.adminReason ? `: ${v.adminReason}` : ''})` : `${a.state}${speed}`;
    out.push({
      text: `${v.username}  ${v.plan} via ${v.router ?? '-'}${v.staticIp ? ` at ${v.staticIp}` : ''}  ${v.endedOn ? `ended ${v.endedOn}` : state}`,
      color: a.state === 'blocked' ? 'red' : a.state === 'throttled' ? 'yellow' : 'green',
    });
  }
  const b = c.balance;
  out.push({
    text: `Balance: ${m(b.owedMinor)} owed${b.overdueMinor > 0n ? ` (${m(b.overdueMinor)} overdue)` : ''}, ${m(b.creditMinor)} credit${b.nextDue ? ` · next due ${b.nextDue.dueDate}` : ''}`,
    color: b.overdueMinor > 0n ? 'red' : undefined,
    bold: true,
  });
  if (c.sessions === undefined) out.push({ text: `Live session: unknown (${c.sessionError ?? 'router not reachable'})`, color: 'yellow' });
  else if (!c.sessions.length) out.push({ text: 'Live session: none', dim: true });
  else for (const x of c.sessions) out.push({ text: `Live session: ${x.username} on ${x.router}${x.address ? ` at ${x.address}` : ''}${x.uptime ? `, up ${x.uptime}` : ''}`, color: 'green' });
  out.push({ text: 'Invoices', dim: true });
  for (const i of c.invoices) out.push({ text: `  ${cell(i.number, 16)} ${cell(i.periodKey, 8)} due ${i.dueDate}  ${cell(m(i.totalMinor), 12, 'right')}  ${cell(i.status.replace('_', ' '), 14)} ${i.balanceMinor > 0n ? `${m(i.balanceMinor)} due` : ''}` });
  if (!c.invoices.length) out.push({ text: '  none', dim: true });
  out.push({ text: 'Payments', dim: true });
  for (const p of c.payments) out.push({ text: `  ${cell(p.ref, 8)} ${day(p.receivedAt)}  ${cell(p.method, 6)} ${cell(m(p.amountMinor), 12, 'right')}${p.voidedAt ? '  void' : ''}` });
  if (!c.payments.length) out.push({ text: '  none', dim: true });
  out.push({ text: 'Events', dim: true });
  for (const e of c.events) out.push({ text: `  ${day(e.occurredAt)} ${cell(e.kind, 11)} ${e.reason ?? ''}` });
  if (!c.events.length) out.push({ text: '  none', dim: true });
  return out.map((l) => ({ ...l, text: fit(l.text, w) }));
}

export function SubscriberView({ card, error, refName, width, height, colour = true }: SubscriberViewProps) {
  const inner = width - 4;
  const lines = card ? subscriberLines(card, inner) : [{ text: error ? `Error: ${error}` : `Opening ${refName}…`, color: error ? 'red' : undefined }];
  return (
    <Box flexDirection="column" width={width} height={height} borderStyle="double" borderColor={colour ? 'cyan' : undefined} paddingX={1} overflow="hidden">
      {lines.slice(0, Math.max(0, height - 2)).map((l, i) => (
        <Text key={i} wrap="truncate-end" color={colour ? (l as { color?: string }).color : undefined} bold={(l as { bold?: boolean }).bold} dimColor={(l as { dim?: boolean }).dim}>
          {l.text}
        </Text>
      ))}
    </Box>
  );
}
