// RouterOS API command dispatch for the lab router: one sentence in, reply sentences out.
// No sockets and no timers: the session layer (session.ts) adds tags, delays and cancelling.

import { randomBytes as cryptoRandomBytes } from 'node:crypto';
import type { Faults } from './faults.js';
import { compileQuery } from './query.js';
import type { MenuStore, RenderedRow } from './menu-store.js';
import type { ApiUser, RouterState } from './state.js';
import { RouterTrap, TrapCategory, badArgument } from './trap.js';
import { parseBool, versionAtLeast } from './values.js';

/**
 * How `/login` works:
 * - plain: `/login =name= =password=` only (RouterOS 7)
 * - challenge: only the pre-6.43 form; any `/login` without `=response=` gets a challenge
 * - both: plain login, and a bare `/login` gets a challenge (RouterOS 6.43 … 6.49)
 */
export type LoginMode = 'plain' | 'challenge' | 'both';

/** Default login mode of an emulated version. */
export function defaultLoginMode(state: RouterState): LoginMode {
  const v = state.version;
  if (!versionAtLeast(v, 6, 43)) return 'challenge';
  return v.major < 7 ? 'both' : 'plain';
}

/** Whether an emulated version answers an empty print with `!empty` (7.18 and later). */
export function defaultEmptyReply(state: RouterState): boolean {
  return versionAtLeast(state.version, 7, 18);
}

/** Per-connection state the dispatcher reads and updates. */
export interface CommandSession {
  state: RouterState;
  loginMode: LoginMode;
  emptyReply: boolean;
  /** Set by a successful `/login`. */
  user?: ApiUser;
  /** Outstanding challenge of the pre-6.43 login. */
  challenge?: Buffer;
  remoteAddress?: string;
  /** When present, `/lab/faults/print` and `/lab/faults/set` reach these switches. */
  faults?: Faults;
  /** Source of challenge bytes (tests may fix it). */
  randomBytes?: (n: number) => Buffer;
  /** Extra lab-only commands under `/lab/` (the lab NAS's `/lab/dial`, `/lab/hangup`). */
  labCommands?: LabCommandHandler;
}

/**
 * Runs a lab-only command (`/lab/...`, after login); returns undefined for a command it does not
 * know, which then traps like any unknown command. May throw RouterTrap.
 */
export type LabCommandHandler = (p: ParsedSentence, session: CommandSession & { user: ApiUser }) => CommandResult | undefined;

export interface CommandResult {
  /** Reply sentences, without tags. */
  replies: string[][];
  /** Close the connection once the replies are sent (`/quit`). */
  close?: boolean;
  /**
   * The command keeps running after `replies` (print with follow, listen): subscribe to further
   * sentences; the returned function stops it. It ends only through `/cancel`.
   */
  follow?: (emit: (sentence: string[]) => void) => () => void;
  /**
   * The rest of the reply comes later (a lab command waiting on RADIUS): these sentences are
   * sent when the promise resolves, unless the command was cancelled or the connection closed
   * first. A rejection with a RouterTrap becomes that `!trap` and `!done`.
   */
  deferred?: Promise<string[][]>;
}

export interface ParsedSentence {
  command: string;
  /** `=name=value` attributes (including `.id`, `.proplist`), last one wins. */
  attrs: Map<string, string>;
  /** Query words, in order, with their leading `?`. */
  queries: string[];
  tag?: string;
  /** Words that are none of the above. */
  stray: string[];
}

export function parseSentence(words: readonly string[]): ParsedSentence {
  const parsed: ParsedSentence = { command: words[0] ?? '', attrs: new Map(), queries: [], stray: [] };
  for (let i = 1; i < words.length; i++) {
    const w = words[i]!;
    if (w.startsWith('.tag=')) parsed.tag = w.slice(5);
    else if (w.startsWith('=')) {
      const eq = w.indexOf('=', 1);
      if (eq < 0) parsed.attrs.set(w.slice(1), '');
      else parsed.attrs.set(w.slice(1, eq), w.slice(eq + 1));
    } else if (w.startsWith('?')) parsed.queries.push(w);
    else parsed.stray.push(w);
  }
  if (parsed.attrs.has('.tag')) {
    parsed.tag ??= parsed.attrs.get('.tag');
    parsed.attrs.delete('.tag');
  }
  return parsed;
}

export function trapSentence(message: string, category?: number): string[] {
  return category === undefined ? ['!trap', `=message=${message}`] : ['!trap', `=category=${category}`, `=message=${message}`];
}

function trap(message: string, category?: number): CommandResult {
  return { replies: [trapSentence(message, category), ['!done']] };
}

function done(ret?: string): CommandResult {
  return { replies: [ret === undefined ? ['!done'] : ['!done', `=ret=${ret}`]] };
}

export function rowSentence(row: RenderedRow, proplist?: readonly string[]): string[] {
  const s = ['!re'];
  if (proplist) {
    for (const name of proplist) {
      const v = row[name];
      if (v !== undefined) s.push(`=${name}=${v}`);
    }
  } else {
    for (const name in row) s.push(`=${name}=${row[name]}`);
  }
  return s;
}

const PRINT_PARAMS = new Set(['.proplist', 'count-only', 'detail', 'without-paging', 'terse', 'brief', 'stats', 'follow', 'follow-only', 'value-list']);

const READ_VERBS = new Set(['print', 'getall', 'listen']);

/** Parse and run one sentence. */
export function handleSentence(words: readonly string[], session: CommandSession): CommandResult {
  return runCommand(parseSentence(words), session);
}

/** Run a parsed sentence. RouterTraps become `!trap` + `!done`; other errors propagate. */
export function runCommand(p: ParsedSentence, session: CommandSession): CommandResult {
  try {
    return dispatch(p, session);
  } catch (e) {
    if (e instanceof RouterTrap) return trap(e.message, e.category);
    throw e;
  }
}

function loginFailed(session: CommandSession): CommandResult {
  return trap(session.state.version.major >= 7 ? 'invalid user name or password (6)' : 'cannot log in');
}

function login(p: ParsedSentence, session: CommandSession): CommandResult {
  const name = p.attrs.get('name');
  const response = p.attrs.get('response');
  const password = p.attrs.get('password');
  const mode = session.loginMode;
  if (response !== undefined && mode !== 'plain') {
    const challenge = session.challenge;
    session.challenge = undefined;
    if (!challenge || name === undefined) return loginFailed(session);
    const user = session.state.checkApiLogin({ name, response, challenge }, session.remoteAddress);
    if (!user) return loginFailed(session);
    session.user = user;
    return done();
  }
  const wantsChallenge = mode === 'challenge' || (mode === 'both' && name === undefined && password === undefined);
  if (wantsChallenge) {
    const challenge = (session.randomBytes ?? cryptoRandomBytes)(16);
    session.challenge = challenge;
    return done(challenge.toString('hex'));
  }
  if (name === undefined) return loginFailed(session);
  const user = session.state.checkApiLogin({ name, password: password ?? '' }, session.remoteAddress);
  if (!user) return loginFailed(session);
  session.user = user;
  return done();
}

function splitCommand(command: string): { menu: string; verb: string } {
  const slash = command.lastIndexOf('/');
  return { menu: command.slice(0, slash), verb: command.slice(slash + 1) };
}

function unknownCommand(state: RouterState, command: string, menu: string): CommandResult {
  const known = state.menuPaths();
  const prefixKnown =
    menu === '' || known.some((m) => m === menu || m === command || m.startsWith(`${menu}/`) || m.startsWith(`${command}/`));
  return trap(prefixKnown ? 'no such command' : 'no such command prefix', TrapCategory.missingItemOrCommand);
}

function dispatch(p: ParsedSentence, session: CommandSession): CommandResult {
  const { command } = p;
  if (command === '/login') return login(p, session);
  if (command === '/quit') return { replies: [['!fatal', 'session terminated on request']], close: true };
  if (!session.user) return trap('not logged in');
  if (command === '/cancel') return done();
  if (!command.startsWith('/') || command.length < 2) return trap('no such command prefix', TrapCategory.missingItemOrCommand);
  if (p.stray.length > 0) return trap(`unknown parameter ${p.stray[0]}`, TrapCategory.badArgument);

  const { menu, verb } = splitCommand(command);
  if (menu === '/lab/faults' && session.faults) return faultsCommand(verb, p, session.faults);
  if (command.startsWith('/lab/') && session.labCommands) {
    const user = session.user;
    const result = session.labCommands(p, { ...session, user });
    if (result) return result;
  }
  const store = session.state.store(menu);
  if (!store) return unknownCommand(session.state, command, menu);

  const group = session.user.group;
  if (!READ_VERBS.has(verb) && (group === 'read' || (group === 'write' && menu === '/user'))) {
    return trap('not enough permissions (9)');
  }

  const kind = store.def.kind;
  switch (verb) {
    case 'print':
    case 'getall':
      return print(store, p, session);
    case 'listen':
      return print(store, withAttr(p, 'follow-only', ''), session);
    case 'set':
      if (kind === 'active' || store.def.readOnly) break;
      return setCommand(store, p);
    case 'add':
      if (kind !== 'list') break;
      return addCommand(store, p);
    case 'remove':
      if (kind !== 'list' && kind !== 'active') break;
      return removeCommand(store, p, session.state);
    case 'enable':
    case 'disable':
      if (kind === 'singleton' || kind === 'active' || !store.field('disabled')) break;
      return setCommand(store, withAttrs(p, { disabled: verb === 'disable' ? 'yes' : 'no' }));
    case 'comment':
      if (kind === 'singleton' || kind === 'active' || !store.field('comment')) break;
      return setCommand(store, withAttrs(p, { comment: p.attrs.get('comment') ?? '' }));
    case 'unset':
      if (kind === 'singleton' || kind === 'active') break;
      return unsetCommand(store, p);
    default:
      break;
  }
  return trap('no such command', TrapCategory.missingItemOrCommand);
}

function withAttr(p: ParsedSentence, name: string, value: string): ParsedSentence {
  return { ...p, attrs: new Map(p.attrs).set(name, value) };
}

/** Keep only the target words and put `values` in place of the rest. */
function withAttrs(p: ParsedSentence, values: Record<string, string>): ParsedSentence {
  const attrs = new Map<string, string>();
  for (const k of ['.id', 'numbers']) if (p.attrs.has(k)) attrs.set(k, p.attrs.get(k)!);
  for (const [k, v] of Object.entries(values)) attrs.set(k, v);
  return { ...p, attrs };
}

/** Remove and return the target (`.id` or `numbers`) of a command. */
function takeTarget(attrs: Map<string, string>): string | undefined {
  const id = attrs.get('.id');
  const numbers = attrs.get('numbers');
  attrs.delete('.id');
  attrs.delete('numbers');
  return id ?? numbers;
}

function attrsObject(attrs: Map<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of attrs) {
    if (k === '.proplist') continue;
    out[k] = v;
  }
  return out;
}

function print(store: MenuStore, p: ParsedSentence, session: CommandSession): CommandResult {
  for (const name of p.attrs.keys()) {
    if (!PRINT_PARAMS.has(name)) throw badArgument(`unknown parameter ${name}`);
  }
  const predicate = compileQuery(p.queries, (f, v) => store.normalizeQueryValue(f, v));
  const proplistText = p.attrs.get('.proplist');
  const proplist = proplistText === undefined ? undefined : proplistText.split(',').filter((n) => n !== '');
  const flag = (name: string): boolean => p.attrs.has(name) && parseBool(p.attrs.get(name) || 'yes') !== false;
  const follow = flag('follow');
  const followOnly = flag('follow-only');

  const replies: string[][] = [];
  if (flag('count-only')) {
    let n = 0;
    for (const row of store.renderAll()) if (predicate(row)) n++;
    return done(String(n));
  }
  if (!followOnly) {
    for (const row of store.renderAll()) if (predicate(row)) replies.push(rowSentence(row, proplist));
  }
  if (!follow && !followOnly) {
    if (replies.length === 0 && session.emptyReply) replies.push(['!empty']);
    replies.push(['!done']);
    return { replies };
  }
  const path = store.path;
  return {
    replies,
    follow: (emit) =>
      session.state.on('change', (e) => {
        if (e.path !== path) return;
        if (e.op === 'remove' || !predicate(e.row)) {
          if (e.id !== undefined) emit(['!re', `=.id=${e.id}`, '=.dead=true']);
          return;
        }
        emit(rowSentence(e.row, proplist));
      }),
  };
}

function addCommand(store: MenuStore, p: ParsedSentence): CommandResult {
  const row = store.add(attrsObject(p.attrs));
  return done(row.id);
}

function setCommand(store: MenuStore, p: ParsedSentence): CommandResult {
  const attrs = new Map(p.attrs);
  const target = takeTarget(attrs);
  if (store.isSingleton) {
    if (target !== undefined) throw badArgument(`unknown parameter ${p.attrs.has('.id') ? '.id' : 'numbers'}`);
    store.setSingleton(attrsObject(attrs));
    return done();
  }
  if (target === undefined) {
    throw badArgument(`missing value(s) of argument(s) numbers`);
  }
  store.set(store.resolveList(target), attrsObject(attrs));
  return done();
}

function unsetCommand(store: MenuStore, p: ParsedSentence): CommandResult {
  const attrs = new Map(p.attrs);
  const target = takeTarget(attrs);
  const names = attrs.get('value-name');
  attrs.delete('value-name');
  if (target === undefined) throw badArgument('missing value(s) of argument(s) numbers');
  if (names === undefined || names === '') throw badArgument('missing value(s) of argument(s) value-name');
  const extra = [...attrs.keys()].find((k) => k !== '.proplist');
  if (extra !== undefined) throw badArgument(`unknown parameter ${extra}`);
  store.unset(store.resolveList(target), names.split(','));
  return done();
}

function removeCommand(store: MenuStore, p: ParsedSentence, state: RouterState): CommandResult {
  const attrs = new Map(p.attrs);
  const target = takeTarget(attrs);
  const extra = [...attrs.keys()].find((k) => k !== '.proplist');
  if (extra !== undefined) throw badArgument(`unknown parameter ${extra}`);
  if (target === undefined) throw badArgument('missing value(s) of argument(s) numbers');
  const rows = store.resolveList(target);
  if (store.def.kind === 'active') {
    for (const row of rows) state.removeActiveSession(row.id, 'admin-reset');
  } else {
    store.remove(rows);
  }
  return done();
}

function faultsCommand(verb: string, p: ParsedSentence, faults: Faults): CommandResult {
  if (verb === 'print' || verb === 'getall') {
    return {
      replies: [
        [
          '!re',
          `=refuse-connections=${faults.refuseConnections}`,
          `=stall-replies=${faults.stallReplies}`,
          `=delay-ms=${faults.delayMs}`,
          `=drop-after-commands=${faults.dropAfterCommands ?? ''}`,
          `=stall-after-commands=${faults.stallAfterCommands ?? ''}`,
        ],
        ['!done'],
      ],
    };
  }
  if (verb !== 'set') return trap('no such command', TrapCategory.missingItemOrCommand);
  const next = { ...faults };
  for (const [name, value] of p.attrs) {
    switch (name) {
      case 'refuse-connections':
      case 'stall-replies': {
        const b = parseBool(value);
        if (b === undefined) throw badArgument(`value of ${name} must be yes or no`);
        if (name === 'refuse-connections') next.refuseConnections = b;
        else next.stallReplies = b;
        break;
      }
      case 'delay-ms':
        if (!/^\d+$/.test(value)) throw badArgument(`invalid value for argument ${name}`);
        next.delayMs = Number(value);
        break;
      case 'drop-after-commands':
        if (value !== '' && !/^\d+$/.test(value)) throw badArgument(`invalid value for argument ${name}`);
        next.dropAfterCommands = value === '' ? null : Number(value);
        break;
      case 'stall-after-commands':
        if (value !== '' && !/^\d+$/.test(value)) throw badArgument(`invalid value for argument ${name}`);
        next.stallAfterCommands = value === '' ? null : Number(value);
        break;
      default:
        throw badArgument(`unknown parameter ${name}`);
    }
  }
  Object.assign(faults, next);
  return done();
}
