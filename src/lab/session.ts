// One API connection's protocol state, without the socket: login, tags, commands in flight,
// `/cancel`, `/quit`, and the fault switches that act per command (stall, delay, drop).

import type { CommandResult, CommandSession, LabCommandHandler, LoginMode, ParsedSentence } from './commands.js';
import { parseSentence, runCommand, trapSentence } from './commands.js';
import type { Faults } from './faults.js';
import type { RouterState } from './state.js';
import { RouterTrap, TrapCategory } from './trap.js';
import { describeError } from '../core/error-text.js';

/**
 * Where `.tag=` goes in a reply sentence. `varied` (default) puts it last in `!re` and `!trap`
 * and right after the reply word in `!done` and `!empty`, to keep clients honest.
 */
export type TagPlacement = 'first' | 'last' | 'varied';

export interface SessionIO {
  /** Send one sentence (untagged words are already tagged here). */
  send(words: string[]): void;
  /** Finish sending and close (after `/quit`). */
  end(): void;
  /** Drop the connection at once (fault: drop after N commands). */
  destroy(): void;
}

export interface ApiSessionOptions {
  state: RouterState;
  faults: Faults;
  loginMode: LoginMode;
  emptyReply: boolean;
  io: SessionIO;
  remoteAddress?: string;
  tagPlacement?: TagPlacement;
  /** Enables `/lab/faults/print` and `/lab/faults/set`. Default true. */
  faultCommands?: boolean;
  /** Extra `/lab/...` commands (the lab NAS's). */
  labCommands?: LabCommandHandler;
  /** Prefix for log lines, e.g. `conn #3`. */
  label?: string;
  log?: (line: string) => void;
  randomBytes?: (n: number) => Buffer;
}

interface InFlight {
  tag: string | undefined;
  command: string;
  timer?: ReturnType<typeof setTimeout>;
  stop?: () => void;
}

/** Words whose values never go to a log. */
const SECRET_ATTRS = /^=(password|response|secret|private-key|preshared-key)=/;

export function redactWords(words: readonly string[]): string {
  return words.map((w) => (SECRET_ATTRS.test(w) ? `${w.slice(0, w.indexOf('=', 1) + 1)}***` : w)).join(' ');
}

export function tagSentence(words: readonly string[], tag: string | undefined, placement: TagPlacement): string[] {
  if (tag === undefined || words[0] === '!fatal') return [...words];
  const word = `.tag=${tag}`;
  const last = placement === 'last' || (placement === 'varied' && (words[0] === '!re' || words[0] === '!trap'));
  return last ? [...words, word] : [words[0]!, word, ...words.slice(1)];
}

export class ApiSession {
  private readonly opts: ApiSessionOptions;
  private readonly ctx: CommandSession;
  private readonly inFlight = new Set<InFlight>();
  private commands = 0;
  private closed = false;

  constructor(opts: ApiSessionOptions) {
    this.opts = opts;
    this.ctx = {
      state: opts.state,
      loginMode: opts.loginMode,
      emptyReply: opts.emptyReply,
      remoteAddress: opts.remoteAddress,
      faults: opts.faultCommands === false ? undefined : opts.faults,
      randomBytes: opts.randomBytes,
      labCommands: opts.labCommands,
    };
  }

  /** The logged-in user's name, if any. */
  get user(): string | undefined {
    return this.ctx.user?.name;
  }

  /** Commands still running (delayed, stalled, following). */
  get pending(): number {
    return this.inFlight.size;
  }

  private log(line: string): void {
    this.opts.log?.(this.opts.label ? `${this.opts.label} ${line}` : line);
  }

  /** Feed one received sentence. */
  receive(words: string[]): void {
    if (this.closed || words.length === 0) return;
    const p = parseSentence(words);
    if (this.opts.log) this.log(`> ${redactWords(words)}`); // formatted only when someone reads the log
    const faults = this.opts.faults;
    if (p.command !== '/login') {
      this.commands++;
      if (faults.dropAfterCommands !== null && this.commands > faults.dropAfterCommands) {
        this.log('fault: dropping the connection');
        this.close(true);
        return;
      }
    }
    const entry: InFlight = { tag: p.tag, command: p.command };
    if (faults.stallReplies || (faults.stallAfterCommands !== null && p.command !== '/login' && this.commands > faults.stallAfterCommands)) {
      // Accepted, never answered (a /cancel can still end it once the stall is lifted).
      this.inFlight.add(entry);
      return;
    }
    if (p.command === '/cancel' && this.ctx.user) {
      this.cancel(p);
      return;
    }
    if (faults.delayMs > 0) {
      this.inFlight.add(entry);
      entry.timer = setTimeout(() => {
        entry.timer = undefined;
        this.inFlight.delete(entry);
        this.execute(p, entry);
      }, faults.delayMs);
      return;
    }
    this.execute(p, entry);
  }

  private send(words: string[], tag: string | undefined): void {
    if (this.closed) return;
    this.opts.io.send(tagSentence(words, tag, this.opts.tagPlacement ?? 'varied'));
  }

  private execute(p: ParsedSentence, entry: InFlight): void {
    if (this.closed) return;
    let result: CommandResult;
    try {
      result = runCommand(p, this.ctx);
    } catch (e) {
      this.log(`internal error in ${p.command}: ${describeError(e)}`);
      result = { replies: [trapSentence('internal error', TrapCategory.general), ['!done']] };
    }
    if (p.command === '/login') {
      const failed = result.replies[0]?.[0] === '!trap';
      this.log(failed ? 'login failed' : this.ctx.user ? `logged in as ${this.ctx.user.name}` : 'login challenge sent');
    }
    for (const s of result.replies) this.send(s, p.tag);
    if (result.follow) {
      this.inFlight.add(entry);
      entry.stop = result.follow((s) => this.send(s, p.tag));
    }
    if (result.deferred) this.awaitDeferred(p, entry, result.deferred);
    if (result.close) this.close(false);
  }

  /** Send a deferred reply when it is ready, unless the command was cancelled meanwhile. */
  private awaitDeferred(p: ParsedSentence, entry: InFlight, deferred: Promise<string[][]>): void {
    let live = true;
    this.inFlight.add(entry);
    entry.stop = () => {
      live = false;
    };
    deferred
      .catch((e: unknown): string[][] => {
        if (e instanceof RouterTrap) return [trapSentence(e.message, e.category), ['!done']];
        this.log(`internal error in ${p.command}: ${describeError(e)}`);
        return [trapSentence('internal error', TrapCategory.general), ['!done']];
      })
      .then((replies) => {
        if (!live || this.closed) return;
        this.inFlight.delete(entry);
        for (const s of replies) this.send(s, p.tag);
      })
      .catch(() => undefined);
  }

  /** `/cancel` (all commands) or `/cancel =tag=X`. */
  private cancel(p: ParsedSentence): void {
    const target = p.attrs.get('tag');
    for (const entry of [...this.inFlight]) {
      if (target !== undefined && entry.tag !== target) continue;
      this.inFlight.delete(entry);
      if (entry.timer) clearTimeout(entry.timer);
      entry.stop?.();
      this.send(trapSentence('interrupted', TrapCategory.interrupted), entry.tag);
      this.send(['!done'], entry.tag);
    }
    this.send(['!done'], p.tag);
  }

  /** Stop everything this session runs; `destroy` drops the connection instead of ending it. */
  close(destroy: boolean): void {
    if (this.closed) return;
    this.dispose();
    if (destroy) this.opts.io.destroy();
    else this.opts.io.end();
  }

  /** The connection went away: stop timers and subscriptions. */
  dispose(): void {
    this.closed = true;
    for (const entry of this.inFlight) {
      if (entry.timer) clearTimeout(entry.timer);
      entry.stop?.();
    }
    this.inFlight.clear();
  }
}
