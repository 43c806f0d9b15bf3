// The dashboard's panes and keys, rendered with ink-testing-library from data given as props
// (no database): what fits at 80 columns, moving between panes, search, and an action that is
// only carried out after its confirmation.
import { render } from 'ink-testing-library';
import { describe, expect, test } from 'vitest';
import type { DashboardSnapshot } from '../../../src/core/dashboard/snapshot.js';
import type { SubscriberCard } from '../../../src/core/dashboard/subscriber.js';
import { App } from '../../../src/tui/app.js';
import { Pane, PANES } from '../../../src/tui/panes.js';
import type { DashboardAction, DashboardSource } from '../../../src/tui/source.js';
import { summaryText } from '../../../src/tui/summary.js';
import { subscriberLines } from '../../../src/tui/subscriber-view.js';

const at = (s: string) => new Date(s);
const SNAP: DashboardSnapshot = {
  takenAt: at('2027-01-22T01:00:00Z'),
  ispName: 'Juan Net',
  currency: 'PHP',
  timezone: 'Asia/Manila',
  today: '2027-01-22',
  access: { total: { active: 2, throttled: 1, blocked: 1 }, routers: [{ router: 'core1', active: 2, throttled: 1, blocked: 0 }, { router: 'tower-north-long-name', active: 0, throttled: 0, blocked: 1 }] },
  collections: {
    today: { reminded: 3, warned: 1, suspended: 1, restored: 2 },
    next: [{ accountNo: 'S-000007', fullName: 'Carlo Santos with a very long name', invoice: 'INV-2027-000007', balanceMinor: 117000n, dueDate: '2027-01-20', suspendOn: '2027-01-26' }],
  },
  money: { today: [{ method: 'gcash', count: 2, amountMinor: 300000n }, { method: 'cash', count: 1, amountMinor: 117000n }], todayTotalMinor: 417000n, period: { key: '2027-01', start: '2027-01-01', end: '2027-01-31', dueMinor: 900000n, collectedMinor: 417000n } },
  routers: [
    { name: 'core1', mode: 'api', status: 'online', lastContactAt: at('2027-01-22T00:58:00Z'), lastError: null, queued: 0, failed: 0 },
    { name: 'tower-north-long-name', mode: 'radius', status: 'offline', lastContactAt: at('2027-01-21T20:00:00Z'), lastError: 'timeout', queued: 4, failed: 2 },
  ],
  events: [
    { at: at('2027-01-22T00:59:00Z'), kind: 'payment', subject: 'S-000002', name: 'Maria Santos', detail: 'gcash', amountMinor: 150000n },
    { at: at('2027-01-22T00:30:00Z'), kind: 'suspension', subject: 'S-000003', name: 'Pedro Reyes', detail: 'Invoice INV-2027-000003 unpaid', amountMinor: null },
  ],
  daemon: { running: true, engine: 'postgres', leader: { name: 'noc-1', host: 'noc', pid: 4242, since: at('2027-01-21T00:00:00Z') }, instances: 1, schedules: [{ schedule: 'collections', when: 'daily 08:00', lastStartedAt: at('2027-01-22T00:00:00Z'), lastFinishedAt: at('2027-01-22T00:00:05Z'), outcome: 'ok', error: null }] },
};

const CARD = {
  subscriber: { id: 3, accountNo: 'S-000003', fullName: 'Pedro Reyes', email: null, phone: '0919', address: null, notes: null, createdAt: at('2026-12-01T00:00:00Z'), updatedAt: at('2026-12-01T00:00:00Z') },
  services: [],
  balance: { subscriberId: 3, owedMinor: 150000n, overdueMinor: 150000n, creditMinor: 0n, netMinor: 150000n, oldestDueDate: '2027-01-16', openInvoices: [], nextDue: null },
  invoices: [],
  payments: [],
  events: [],
  sessions: [],
  sessionError: null,
  timezone: 'Asia/Manila',
} as unknown as SubscriberCard;

/** A source over fixed data that records what the app asks it to do. */
function fixedSource() {
  const acted: DashboardAction[] = [];
  const source: DashboardSource = {
    live: 'poll',
    paymentMethods: ['cash', 'gcash'],
    snapshot: async () => SNAP,
    search: async (term) => (term && 'pedro reyes'.includes(term.toLowerCase()) ? [{ accountNo: 'S-000003', fullName: 'Pedro Reyes', username: 'pedro', plan: 'Fiber 50', access: 'active' }] : []),
    card: async () => CARD,
    act: async (a) => {
      acted.push(a);
      return { message: `done ${a.kind}`, outcome: { status: 'applied', jobs: 1, applied: 1, failed: 0, routers: [], remaining: 0, queued: [], message: null } };
    },
    watch: () => () => undefined,
    close: async () => undefined,
  };
  return { source, acted };
}

const tick = (ms = 30) => new Promise((r) => setTimeout(r, ms));
// Waits on what the screen shows, not on time: a busy machine only makes it wait longer.
async function until(check: () => boolean, what: string) {
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    if (check()) return;
    await tick(20);
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe('panes', () => {
  test.each(PANES)('%s fits 40 columns: no line wider, nothing wrapped', (id) => {
    const { lastFrame } = render(<Pane id={id} data={SNAP} width={40} height={9} colour={false} />);
    const lines = lastFrame()!.split('\n');
    expect(lines).toHaveLength(9);
    for (const l of lines) expect([...l].length).toBeLessThanOrEqual(40);
  });

  test('money in the currency form, labelled speeds and counts', () => {
    const money = render(<Pane id="money" data={SNAP} width={60} height={9} colour={false} />).lastFrame()!;
    expect(money).toContain('Today ₱4,170.00 in 3 payments');
    expect(money).toContain('gcash');
    expect(money).toContain('Collected ₱4,170.00 of ₱9,000.00 due (46.3%)');
    const access = render(<Pane id="access" data={SNAP} width={60} height={7} colour={false} />).lastFrame()!;
    expect(access).toMatch(/ROUTER +active +throttled +blocked/);
    expect(access).toMatch(/all +2 +1 +1/);
    const coll = render(<Pane id="collections" data={SNAP} width={40} height={8} colour={false} />).lastFrame()!;
    expect(coll).toContain('suspended 1 · restored 2');
    expect(coll).toMatch(/01-26 S-000007 Carlo Sa.*…/);
    const events = render(<Pane id="events" data={SNAP} width={70} height={6} colour={false} />).lastFrame()!;
    expect(events).toContain('08:59 paid'); // 00:59 UTC is 08:59 in Manila
  });

  test("the subscriber card's days are the ISP's: 23:30 UTC is the next day in Manila", () => {
    const card = {
      ...CARD,
      payments: [{ ref: 'P-7', receivedAt: at('2027-01-21T23:30:00Z'), method: 'gcash', amountMinor: 150000n, currency: 'PHP', voidedAt: null }],
      events: [{ occurredAt: at('2027-01-20T16:10:00Z'), kind: 'suspended', reason: 'Invoice INV-2027-000003 unpaid' }],
    } as unknown as SubscriberCard;
    const text = subscriberLines(card, 76).map((l) => l.text).join('\n');
    expect(text).toMatch(/P-7 +2027-01-22 +gcash/);
    expect(text).toMatch(/2027-01-21 suspended/);
    const utc = subscriberLines({ ...card, timezone: 'UTC' }, 76).map((l) => l.text).join('\n');
    expect(utc).toMatch(/P-7 +2027-01-21 +gcash/);
  });

  test('the one-shot summary has every pane', () => {
    const text = summaryText(SNAP, 76);
    for (const t of ['ACCESS', 'COLLECTIONS', 'MONEY', 'ROUTERS', 'EVENTS', 'DAEMON']) expect(text).toContain(t);
    expect(text).toContain('2027-01-22 09:00');
    expect(text).toContain('(Asia/Manila)');
  });
});

describe('the app', () => {
  test('80x24: every pane, times in the ISP zone, no line wider than the terminal', async () => {
    const { source } = fixedSource();
    const app = render(<App source={source} colour={false} size={{ columns: 80, rows: 24 }} />);
    await until(() => app.lastFrame()!.includes('Juan Net'), 'the snapshot');
    const frame = app.lastFrame()!;
    for (const title of ['Access', 'Collections', 'Money', 'Routers', 'Events', 'Daemon']) expect(frame).toContain(title);
    expect(frame).toContain('2027-01-22 09:00');
    const lines = frame.split('\n');
    expect(lines.length).toBeLessThanOrEqual(23);
    for (const l of lines) expect([...l].length).toBeLessThanOrEqual(80);
    app.unmount();
  });

  test('keys: ? shows the keys; / finds and opens a subscriber; s asks a reason and y/N before suspending', async () => {
    const { source, acted } = fixedSource();
    const app = render(<App source={source} colour={false} size={{ columns: 100, rows: 30 }} />);
    await until(() => app.lastFrame()!.includes('Juan Net'), 'the snapshot');
    app.stdin.write('?');
    await until(() => app.lastFrame()!.includes('Keys (any key closes)'), 'the keys');
    app.stdin.write('x');
    await until(() => !app.lastFrame()!.includes('Keys (any key closes)'), 'the grid');
    app.stdin.write('/');
    await tick();
    app.stdin.write('ped');
    await until(() => app.lastFrame()!.includes('S-000003  Pedro Reyes'), 'the search hit');
    app.stdin.write('\r');
    await until(() => app.lastFrame()!.includes('Balance: ₱1,500.00 owed (₱1,500.00 overdue)'), 'the subscriber');
    app.stdin.write('s');
    await until(() => app.lastFrame()!.includes('Suspend: reason>'), 'the reason prompt');
    app.stdin.write('abuse');
    await tick();
    app.stdin.write('\r');
    await until(() => app.lastFrame()!.includes('Suspend S-000003 (abuse)? They are disconnected now. [y/N]'), 'the confirmation');
    app.stdin.write('n');
    await until(() => app.lastFrame()!.includes('Cancelled; nothing was changed.'), 'cancelled');
    expect(acted).toEqual([]);
    app.stdin.write('k');
    await until(() => app.lastFrame()!.includes('[y/N]'), 'the kick confirmation');
    app.stdin.write('y');
    await until(() => app.lastFrame()!.includes('done kick'), 'the kick');
    expect(acted).toEqual([{ kind: 'kick', subscriber: 'S-000003' }]);
    app.unmount();
  });

  test('two keys in one read are two keys (tmux send-keys "/ped"; "ky" on a subscriber)', async () => {
    const { source, acted } = fixedSource();
    const app = render(<App source={source} colour={false} size={{ columns: 100, rows: 30 }} />);
    await until(() => app.lastFrame()!.includes('Juan Net'), 'the snapshot');
    app.stdin.write('/ped');
    await until(() => app.lastFrame()!.includes('S-000003  Pedro Reyes'), 'the search hit');
    app.stdin.write('\r');
    await until(() => app.lastFrame()!.includes('Balance: ₱1,500.00 owed'), 'the subscriber');
    app.stdin.write('ky');
    await until(() => acted.length === 1, 'the kick, confirmed by the second key of the same read');
    expect(acted).toEqual([{ kind: 'kick', subscriber: 'S-000003' }]);
    app.unmount();
  });

  test('Tab moves the focus; r on a router row retries its jobs after y', async () => {
    const { source, acted } = fixedSource();
    const app = render(<App source={source} colour={false} size={{ columns: 100, rows: 40 }} />);
    await until(() => app.lastFrame()!.includes('Juan Net'), 'the snapshot');
    // The keys go in back to back, before the screen catches up with any of them (a fast
    // typist, a busy machine): each must act on what the keys before it chose.
    for (let i = 0; i < 3; i++) app.stdin.write('\t');
    app.stdin.write('\u001b[B'); // down: the first router row
    app.stdin.write('r');
    await until(() => app.lastFrame()!.includes('Retry the queued jobs of router core1 now? [y/N]'), 'the retry confirmation');
    expect(app.lastFrame()).toContain('║ Routers');
    app.stdin.write('y');
    await until(() => acted.length === 1, 'the retry');
    expect(acted).toEqual([{ kind: 'retry', router: 'core1' }]);
    app.unmount();
  });
});
