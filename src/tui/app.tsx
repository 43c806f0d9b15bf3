// The dashboard application: the pane grid, search, one subscriber, actions with confirmation,
// keys. Data and actions come through a DashboardSource (core functions and services); nothing
// here decides anything about access or money.
import { Box, Text, useApp, useInput, useStdout } from 'ink';
import { useCallback, useEffect, useRef, useState } from 'react';
import type { DashboardSnapshot } from '../core/dashboard/snapshot.js';
import type { SubscriberCard } from '../core/dashboard/subscriber.js';
import { dateTime, fit, zoneLabel } from './format.js';
import { PANES, Pane, paneContent, type PaneId } from './panes.js';
import type { DashboardAction, DashboardSource, SubscriberHit } from './source.js';
import { SubscriberView } from './subscriber-view.js';
import { describeError } from '../core/error-text.js';

export interface AppProps {
  source: DashboardSource;
  colour?: boolean;
  /** Fixed size (tests); otherwise the terminal's, following resizes. */
  size?: { columns: number; rows: number };
}

type Mode =
  | { kind: 'grid' }
  | { kind: 'help' }
  | { kind: 'search'; term: string; hits: SubscriberHit[]; selected: number }
  | { kind: 'subscriber'; ref: string; card?: SubscriberCard; error?: string }
  | { kind: 'input'; label: string; value: string; secret?: boolean; fields: string[]; values: Record<string, string>; field: number; then: (values: Record<string, string>) => DashboardAction; back: Mode }
  | { kind: 'confirm'; question: string; action: DashboardAction; back: Mode };

function useTerminalSize(fixed?: { columns: number; rows: number }) {
  const { stdout } = useStdout();
  const read = () => fixed ?? { columns: stdout.columns || 80, rows: stdout.rows || 24 };
  const [size, setSize] = useState(read);
  useEffect(() => {
    if (fixed) return;
    const onResize = () => setSize(read());
    stdout.on('resize', onResize);
    return () => {
      stdout.off('resize', onResize);
    };
  }, [stdout, fixed]);
  return size;
}

export function App({ source, colour = true, size: fixedSize }: AppProps) {
  const { exit } = useApp();
  const size = useTerminalSize(fixedSize);
  const [data, setData] = useState<DashboardSnapshot>();
  const [error, setError] = useState<string>();
  const [status, setStatus] = useState<string>('');
  const [focus, setFocusState] = useState(0);
  const [selected, setSelectedState] = useState<Record<PaneId, number>>({ access: 0, collections: 0, money: 0, routers: 0, events: 0, daemon: 0 });
  // Like the mode below: a key that arrives before the screen caught up with the one before it
  // (↓ then r, typed fast or on a busy machine) must act on the row the first key chose.
  const focusRef = useRef(focus);
  focusRef.current = focus;
  const selectedRef = useRef(selected);
  selectedRef.current = selected;
  const setFocus = (f: number) => {
    focusRef.current = f;
    setFocusState(f);
  };
  const setSelected = (s: Record<PaneId, number>) => {
    selectedRef.current = s;
    setSelectedState(s);
  };
  const [mode, setModeState] = useState<Mode>({ kind: 'grid' });
  const modeRef = useRef(mode);
  modeRef.current = mode;
  // Several keys can arrive in one read; each must see the mode the key before it left.
  const setMode = useCallback((next: Mode | ((cur: Mode) => Mode)) => {
    if (typeof next !== 'function') modeRef.current = next;
    setModeState(next);
  }, []);
  const busy = useRef(false);
  const again = useRef(false);

  const refresh = useCallback(async () => {
    if (busy.current) {
      again.current = true;
      return;
    }
    busy.current = true;
    try {
      do {
        again.current = false;
        try {
          setData(await source.snapshot());
          setError(undefined);
        } catch (err) {
          setError(describeError(err));
        }
        const m = modeRef.current;
        if (m.kind === 'subscriber') {
          try {
            const card = await source.card(m.ref);
            setMode((cur) => (cur.kind === 'subscriber' && cur.ref === m.ref ? { ...cur, card, error: undefined } : cur));
          } catch (err) {
            setMode((cur) => (cur.kind === 'subscriber' && cur.ref === m.ref ? { ...cur, error: describeError(err) } : cur));
          }
        }
      } while (again.current);
    } finally {
      busy.current = false;
    }
  }, [source]);

  useEffect(() => {
    void refresh();
    return source.watch(() => void refresh());
  }, [source, refresh]);

  const openSubscriber = (ref: string) => {
    setMode({ kind: 'subscriber', ref });
    source.card(ref).then(
      (card) => setMode((cur) => (cur.kind === 'subscriber' && cur.ref === ref ? { ...cur, card } : cur)),
      (err: unknown) => setMode((cur) => (cur.kind === 'subscriber' && cur.ref === ref ? { ...cur, error: describeError(err) } : cur)),
    );
  };

  const run = (action: DashboardAction, back: Mode) => {
    setStatus('Working…');
    setMode(back);
    source.act(action).then(
      (r) => {
        setStatus(r.message);
        void refresh();
      },
      (err: unknown) => setStatus(`Error: ${describeError(err)}`),
    );
  };

  const searchTimer = useRef<NodeJS.Timeout | undefined>(undefined);
  const search = (term: string) => {
    // Typing fast asks once, for the last term.
    if (searchTimer.current) clearTimeout(searchTimer.current);
    searchTimer.current = setTimeout(() => searchNow(term), 250);
  };
  const searchNow = (term: string) => {
    source.search(term).then(
      (hits) => setMode((cur) => (cur.kind === 'search' && cur.term === term ? { ...cur, hits, selected: 0 } : cur)),
      () => undefined,
    );
  };

  const cols = size.columns >= 120 ? 3 : 2;
  const paneRows = Math.ceil(PANES.length / cols);
  // One line for the header and one for the status line; leave the last terminal row free so
  // Ink redraws in place instead of clearing the screen (no flicker).
  const gridHeight = Math.max(paneRows * 4, size.rows - 3);
  const paneHeight = Math.floor(gridHeight / paneRows);
  const paneWidth = Math.floor(size.columns / cols);
  // What the screen shows now, for keys handled before the handler of this render is attached.
  const shown = useRef({ data, paneWidth });
  shown.current = { data, paneWidth };

  useInput((input, key) => {
    // Several keys in one read (a fast typist, a paste, tmux send-keys "ab"): one at a time,
    // except where text is being typed, which takes them all.
    const special = key.ctrl || key.meta || key.escape || key.return || key.tab || key.backspace || key.delete || key.upArrow || key.downArrow || key.leftArrow || key.rightArrow;
    const typing = modeRef.current.kind === 'input' || modeRef.current.kind === 'search';
    if (input.length > 1 && !special && !typing) {
      for (const ch of [...input]) {
        onKey(ch, key);
      }
      return;
    }
    onKey(input, key);
  });

  function onKey(input: string, key: Parameters<Parameters<typeof useInput>[0]>[1]): void {
    const m = modeRef.current;
    if (m.kind === 'help') {
      setMode({ kind: 'grid' });
      return;
    }
    if (m.kind === 'confirm') {
      if (input === 'y' || input === 'Y') run(m.action, m.back);
      else if (input === 'n' || input === 'N' || key.escape) {
        setStatus('Cancelled; nothing was changed.');
        setMode(m.back);
      }
      return;
    }
    if (m.kind === 'input') {
      if (key.escape) return setMode(m.back);
      if (key.return) {
        const values = { ...m.values, [m.fields[m.field]!]: m.value };
        if (m.field + 1 < m.fields.length) return setMode({ ...m, values, field: m.field + 1, value: values[m.fields[m.field + 1]!] ?? '' });
        const action = m.then(values);
        return setMode({ kind: 'confirm', question: describe(action), action, back: m.back });
      }
      if (key.backspace || key.delete) return setMode({ ...m, value: m.value.slice(0, -1) });
      if (input && !key.ctrl && !key.meta) setMode({ ...m, value: m.value + input });
      return;
    }
    if (m.kind === 'search') {
      if (key.escape) return setMode({ kind: 'grid' });
      if (key.upArrow) return setMode({ ...m, selected: Math.max(0, m.selected - 1) });
      if (key.downArrow) return setMode({ ...m, selected: Math.min(m.hits.length - 1, m.selected + 1) });
      if (key.return) {
        const hit = m.hits[m.selected];
        if (hit) openSubscriber(hit.accountNo);
        return;
      }
      const term = key.backspace || key.delete ? m.term.slice(0, -1) : input && !key.ctrl && !key.meta ? m.term + input : m.term;
      if (term !== m.term) {
        setMode({ ...m, term });
        search(term);
      }
      return;
    }
    if (input === 'q' || (key.ctrl && input === 'c')) {
      exit();
      return;
    }
    if (input === '?') return setMode({ kind: 'help' });
    if (input === '/') {
      setMode({ kind: 'search', term: '', hits: [], selected: 0 });
      search('');
      return;
    }
    if (m.kind === 'subscriber') {
      const ref = m.card?.subscriber.accountNo ?? m.ref;
      if (key.escape || key.backspace) return setMode({ kind: 'grid' });
      if (input === 'p') {
        return setMode({
          kind: 'input',
          label: 'Record payment',
          fields: ['amount', 'method', 'reference'],
          values: { method: 'cash' },
          field: 0,
          value: '',
          then: (v) => ({ kind: 'payment', subscriber: ref, amount: v.amount ?? '', method: (v.method || 'cash').trim(), reference: v.reference?.trim() || undefined }),
          back: m,
        });
      }
      if (input === 's') {
        return setMode({ kind: 'input', label: 'Suspend', fields: ['reason'], values: {}, field: 0, value: '', then: (v) => ({ kind: 'suspend', subscriber: ref, reason: v.reason ?? '' }), back: m });
      }
      if (input === 'r') return setMode({ kind: 'confirm', question: describe({ kind: 'resume', subscriber: ref }), action: { kind: 'resume', subscriber: ref }, back: m });
      if (input === 'k') return setMode({ kind: 'confirm', question: describe({ kind: 'kick', subscriber: ref }), action: { kind: 'kick', subscriber: ref }, back: m });
      return;
    }
    // The grid: focus and selection as the keys before this one left them.
    const f = focusRef.current;
    const id = PANES[f]!;
    const view = shown.current;
    const lines = view.data ? paneContent(id, view.data, view.paneWidth - 4, view.data.takenAt).lines : [];
    const line = lines[selectedRef.current[id]];
    if (key.tab && key.shift) return setFocus((f + PANES.length - 1) % PANES.length);
    if (key.tab || key.rightArrow) return setFocus((f + 1) % PANES.length);
    if (key.leftArrow) return setFocus((f + PANES.length - 1) % PANES.length);
    if (key.upArrow || key.downArrow) {
      const max = Math.max(0, lines.length - 1);
      const s = selectedRef.current;
      return setSelected({ ...s, [id]: Math.max(0, Math.min(max, s[id] + (key.upArrow ? -1 : 1))) });
    }
    if (key.return && line?.target?.subscriber) return openSubscriber(line.target.subscriber);
    if (input === 'r' && line?.target?.router) {
      const action: DashboardAction = { kind: 'retry', router: line.target.router };
      return setMode({ kind: 'confirm', question: describe(action), action, back: { kind: 'grid' } });
    }
  }

  const col = (c?: string) => (colour ? c : undefined);
  const now = data?.takenAt ?? new Date();
  const tz = data?.timezone ?? 'UTC';
  const header = data
    ? `ispctl · ${data.ispName} · ${dateTime(now, tz)} ${zoneLabel(now, tz)} (${tz}) · ${source.live === 'listen' ? 'live' : `polling`}`
    : 'ispctl dashboard · loading…';
  const headerRight = size.columns < 100 ? '? keys' : '? keys  q quit';
  const width = size.columns;

  let body;
  if (mode.kind === 'help') body = <Help width={width} height={gridHeight} colour={colour} />;
  else if (mode.kind === 'subscriber' || ((mode.kind === 'input' || mode.kind === 'confirm') && mode.back.kind === 'subscriber')) {
    const sm = (mode.kind === 'subscriber' ? mode : (mode as { back: Mode }).back) as Extract<Mode, { kind: 'subscriber' }>;
    body = <SubscriberView card={sm.card} error={sm.error} refName={sm.ref} width={width} height={gridHeight} colour={colour} />;
  } else if (mode.kind === 'search') body = <SearchView term={mode.term} hits={mode.hits} selected={mode.selected} width={width} height={gridHeight} />;
  else if (!data) body = <Box height={gridHeight}><Text>{error ? `Error: ${error}` : 'Reading the database…'}</Text></Box>;
  else {
    const rows = [];
    for (let r = 0; r < paneRows; r++) {
      rows.push(
        <Box key={r} flexDirection="row">
          {PANES.slice(r * cols, r * cols + cols).map((id) => (
            <Pane key={id} id={id} data={data} width={paneWidth} height={paneHeight} focused={PANES[focus] === id} selected={PANES[focus] === id ? selected[id] : undefined} colour={colour} />
          ))}
        </Box>,
      );
    }
    body = <Box flexDirection="column" height={gridHeight}>{rows}</Box>;
  }

  let footer: string;
  if (mode.kind === 'confirm') footer = `${mode.question} [y/N]`;
  else if (mode.kind === 'input') footer = `${mode.label}: ${mode.fields[mode.field]}${mode.fields[mode.field] === 'method' ? ` (${source.paymentMethods.join('/')})` : ''}> ${mode.value}▏  (Enter next, Esc cancel)`;
  else if (mode.kind === 'search') footer = `/ ${mode.term}▏  ↑↓ choose · Enter open · Esc back`;
  else if (mode.kind === 'subscriber') footer = status || 'p payment · s suspend · r resume · k kick session · Esc back · / search';
  else footer = status || (error ? `Error: ${error}` : 'Tab/←→ pane · ↑↓ row · Enter open · r retry router jobs · / search');

  return (
    <Box flexDirection="column" width={width}>
      <Box width={width}>
        <Box flexGrow={1}>
          <Text bold color={col('cyan')} wrap="truncate-end">
            {fit(header, Math.max(10, width - headerRight.length - 1))}
          </Text>
        </Box>
        <Text dimColor>{headerRight}</Text>
      </Box>
      {body}
      <Text wrap="truncate-end" color={col(mode.kind === 'confirm' ? 'yellow' : status.startsWith('Error') ? 'red' : undefined)} inverse={mode.kind === 'confirm'}>
        {fit(footer, width)}
      </Text>
    </Box>
  );
}

/** The confirmation question for an action. */
export function describe(a: DashboardAction): string {
  switch (a.kind) {
    case 'payment':
      return `Record ${a.amount} by ${a.method}${a.reference ? ` (ref ${a.reference})` : ''} from ${a.subscriber}?`;
    case 'suspend':
      return `Suspend ${a.subscriber} (${a.reason})? They are disconnected now.`;
    case 'resume':
      return `Resume ${a.subscriber}?`;
    case 'kick':
      return `Disconnect the live session of ${a.subscriber}? They dial in again.`;
    case 'retry':
      return `Retry the queued jobs of router ${a.router} now?`;
  }
}

const KEYS: Array<[string, string]> = [
  ['Tab, →  /  Shift-Tab, ←', 'next / previous pane'],
  ['↑ ↓', 'choose a row in the pane'],
  ['Enter', 'open the subscriber of the row'],
  ['r', 'retry the router jobs of the row (Routers, Access)'],
  ['/', 'search a subscriber by name, account or username'],
  ['p  s  r  k', 'on a subscriber: payment, suspend, resume, kick session'],
  ['Esc', 'back'],
  ['?', 'these keys'],
  ['q, Ctrl-C', 'quit'],
];

function Help({ width, height, colour }: { width: number; height: number; colour: boolean }) {
  return (
    <Box flexDirection="column" height={height} width={width} borderStyle="single" borderColor={colour ? 'cyan' : undefined} paddingX={1}>
      <Text bold>Keys (any key closes)</Text>
      {KEYS.map(([k, v]) => (
        <Text key={k} wrap="truncate-end">
          {fit(`${k.padEnd(26)} ${v}`, width - 4)}
        </Text>
      ))}
      <Text dimColor wrap="truncate-end">
        {fit('Actions ask y/N first and call the same services as the ispctl commands.', width - 4)}
      </Text>
    </Box>
  );
}

function SearchView({ term, hits, selected, width, height }: { term: string; hits: SubscriberHit[]; selected: number; width: number; height: number }) {
  return (
    <Box flexDirection="column" height={height} width={width} borderStyle="single" paddingX={1}>
      <Text bold wrap="truncate-end">{fit(`Find a subscriber: ${term || '(type a name, account number or username)'}`, width - 4)}</Text>
      {hits.slice(0, Math.max(0, height - 3)).map((h, i) => (
        <Text key={h.accountNo + h.username} inverse={i === selected} wrap="truncate-end">
          {fit(`${h.accountNo}  ${h.fullName}  ${h.username}  ${h.plan}  ${h.access}`, width - 4)}
        </Text>
      ))}
      {hits.length === 0 ? <Text dimColor>No match.</Text> : null}
    </Box>
  );
}
