// Runs parsed RouterOS scripts against a lab router's state: menu commands (add, set, remove,
// print, find, get, enable, disable, unset) on the same stores the API serves, and the scripting
// commands (:local, :global, :set, :if, :foreach, :for, :while, :do, :put, :len, …).
//
// A script is checked whole before anything runs (syntax, command names, parameter names), so
// a mistyped line changes nothing; then it runs top-level line by line as a paste into a
// RouterOS terminal does: an error ends the line (block) it happened in, the next line runs,
// and `:local` variables live for one top-level line.

import type { MenuStore, RenderedRow, StoredRow } from '../menu-store.js';
import { compareValues } from '../query.js';
import type { FieldDef } from '../schema.js';
import type { RouterState } from '../state.js';
import { RouterTrap, noSuchItem } from '../trap.js';
import { ipv4InPrefix, normalizeId } from '../values.js';
import { bytesFromText, textFromBytes } from '../bytes.js';
import type { Expr, Item, Pos, Stmt } from './syntax.js';
import { ScriptSyntaxError, parseScript } from './syntax.js';
import type { ScriptValue } from './values.js';
import {
  NIL,
  NOTHING,
  bool,
  compare,
  contains,
  display,
  equal,
  lengthOf,
  list,
  literal,
  num,
  propertyText,
  str,
  truthy,
  typeName,
} from './values.js';

export interface ConsoleError {
  /** As the console prints it: `syntax error (line 3 column 7)`, `failure: …`, `no such item`. */
  message: string;
  line: number;
  column: number;
  /** `syntax`: nothing ran. `runtime`: the line (block) stopped there. */
  kind: 'syntax' | 'runtime';
  /** More about a syntax error than RouterOS says. */
  detail?: string;
}

export interface ConsoleResult {
  /** What the console printed, errors included, as text (see bytes.ts for non-UTF-8 bytes). */
  output: string;
  errors: ConsoleError[];
  /** The current menu after the script (`/ip/pool` after a line `/ip pool`); `` is the root. */
  path: string;
}

export interface RunScriptOptions {
  /** Current menu at the start (`/ip/pool`), for relative commands. Default: the root. */
  path?: string;
  /** Flag a bare `?` inside strings (as a terminal would show help). Default true. */
  strictQuestionMark?: boolean;
  /** Stop at the first runtime error instead of going on with the next line. Default false. */
  stopOnError?: boolean;
  /** Upper bound on loop iterations, so a runaway `:while` ends. Default 1,000,000. */
  maxIterations?: number;
}

/** A runtime error, printed as RouterOS prints it. */
class ScriptRuntimeError extends Error {
  constructor(
    message: string,
    readonly pos: Pos,
    /** Errors RouterOS finds when it reads a line print their position. */
    readonly withPosition = false,
  ) {
    super(message);
  }
}

class Scope {
  readonly vars = new Map<string, ScriptValue>();
  constructor(readonly parent?: Scope) {}

  lookup(name: string): Scope | undefined {
    for (let s: Scope | undefined = this; s; s = s.parent) if (s.vars.has(name)) return s;
    return undefined;
  }
}

interface Ctx {
  scope: Scope;
  /** Current menu path (`` is the root). */
  path: string;
  /** The menu of the command whose arguments are being evaluated (`[find]` inside `set`). */
}

const LIST_VERBS = ['add', 'set', 'remove', 'print', 'find', 'get', 'enable', 'disable', 'unset', 'comment', 'export'];
const PRINT_FLAGS = new Set(['count-only', 'as-value', 'detail', 'terse', 'brief', 'without-paging', 'value-list', 'show-ids']);
const SCRIPTING = new Set([
  'put', 'local', 'global', 'set', 'if', 'foreach', 'for', 'while', 'do', 'error', 'len', 'tostr', 'tonum', 'tobool',
  'toip', 'toarray', 'typeof', 'pick', 'find', 'nothing', 'delay', 'log', 'return', 'parse',
]);

function verbsOf(store: MenuStore): string[] {
  switch (store.def.kind) {
    case 'list':
      return LIST_VERBS.filter((v) => v !== 'enable' && v !== 'disable' ? true : store.field('disabled') !== undefined);
    case 'fixed':
      return ['set', 'print', 'find', 'get', 'unset', 'export', ...(store.field('disabled') ? ['enable', 'disable'] : [])];
    case 'singleton':
      return store.def.readOnly ? ['print', 'get'] : ['set', 'print', 'get', 'export'];
    case 'active':
      return ['print', 'find', 'get', 'remove'];
  }
}

function writable(f: FieldDef | undefined): boolean {
  return f !== undefined && !f.readOnly && !f.compute;
}

/** Quote a printed value when it is not a plain word. */
function printValue(v: string): string {
  return /^[A-Za-z0-9._:/*,+@-]+$/.test(v) ? v : `"${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

export class Interpreter {
  private readonly out: string[] = [];
  private readonly errors: ConsoleError[] = [];
  private readonly dirs: Set<string>;
  private readonly maxIterations: number;
  private path: string;

  constructor(
    private readonly state: RouterState,
    private readonly opts: RunScriptOptions = {},
  ) {
    this.path = opts.path ?? '';
    this.maxIterations = opts.maxIterations ?? 1_000_000;
    this.dirs = new Set(['']);
    for (const p of state.menuPaths()) {
      const segs = p.split('/');
      for (let i = 2; i <= segs.length; i++) this.dirs.add(segs.slice(0, i).join('/'));
    }
  }

  run(text: string): ConsoleResult {
    let stmts: Stmt[];
    try {
      stmts = parseScript(text, { strictQuestionMark: this.opts.strictQuestionMark });
      this.check(stmts, this.path);
    } catch (e) {
      if (e instanceof ScriptSyntaxError) {
        this.error({ message: e.message, line: e.line, column: e.column, kind: 'syntax', detail: e.detail });
        return this.result();
      }
      if (e instanceof ScriptRuntimeError) {
        this.error({ message: `${e.message} (line ${e.pos.line} column ${e.pos.column})`, line: e.pos.line, column: e.pos.column, kind: 'syntax' });
        return this.result();
      }
      throw e;
    }
    // One line of the terminal: statements joined by `;` share their :local variables, and an
    // error skips the rest of that line.
    let i = 0;
    while (i < stmts.length) {
      const line = [stmts[i]!];
      while (i + line.length < stmts.length && stmts[i + line.length]!.sameLine) line.push(stmts[i + line.length]!);
      i += line.length;
      const ctx: Ctx = { scope: new Scope(), path: this.path };
      let failed = false;
      try {
        for (const stmt of line) this.exec(stmt, ctx);
      } catch (e) {
        this.error(this.runtimeError(e));
        failed = true;
      }
      this.path = ctx.path;
      if (failed && this.opts.stopOnError) break;
    }
    return this.result();
  }

  private result(): ConsoleResult {
    return { output: this.out.join(''), errors: this.errors, path: this.path };
  }

  private error(e: ConsoleError): void {
    this.errors.push(e);
    this.out.push(`${e.message}\n`);
  }

  private runtimeError(e: unknown): ConsoleError {
    if (e instanceof ScriptRuntimeError) {
      const message = e.withPosition ? `${e.message} (line ${e.pos.line} column ${e.pos.column})` : e.message;
      return { message, line: e.pos.line, column: e.pos.column, kind: 'runtime' };
    }
    throw e;
  }

  private put(line: string): void {
    this.out.push(`${line}\n`);
  }

  // -------------------------------------------------------------------------------------------
  // Menu paths

  /** The menu a command names, its verb and the rest of its items; undefined verb = path change. */
  private resolve(stmt: Extract<Stmt, { k: 'cmd' }>, base: string): { menu: string; verb?: Item & { k: 'word' }; rest: Item[] } {
    let cur = stmt.abs ? '' : base;
    let i = 0;
    const items = stmt.items;
    while (i < items.length) {
      const it = items[i]!;
      if (it.k !== 'word') break;
      if (it.text === '..') {
        cur = cur.slice(0, Math.max(0, cur.lastIndexOf('/')));
        i++;
        continue;
      }
      const cand = `${cur}/${it.text}`;
      if (!this.dirs.has(cand)) break;
      cur = cand;
      i++;
    }
    const next = items[i];
    if (next === undefined) return { menu: cur, rest: [] };
    if (next.k !== 'word') throw new ScriptRuntimeError('expected command name', next.pos, true);
    return { menu: cur, verb: next, rest: items.slice(i + 1) };
  }

  // -------------------------------------------------------------------------------------------
  // Checking before running

  private check(stmts: Stmt[], path: string): string {
    let cur = path;
    for (const s of stmts) {
      if (s.k === 'block') {
        this.check(s.body, cur);
        continue;
      }
      if (s.scripting) {
        const name = (s.items[0] as Item & { k: 'word' }).text;
        if (!SCRIPTING.has(name)) throw new ScriptRuntimeError(`bad command name ${name}`, s.items[0]!.pos, true);
        for (const it of s.items.slice(1)) this.checkItem(it, cur);
        continue;
      }
      const { menu, verb, rest } = this.resolve(s, cur);
      if (!verb) {
        cur = menu;
        continue;
      }
      const store = this.state.store(menu);
      if (!store || !verbsOf(store).includes(verb.text)) throw new ScriptRuntimeError(`bad command name ${verb.text}`, verb.pos, true);
      for (const it of rest) {
        this.checkArgument(store, verb.text, it);
        this.checkItem(it, menu);
      }
    }
    return cur;
  }

  private checkArgument(store: MenuStore, verb: string, it: Item): void {
    const bad = (): never => {
      throw new ScriptRuntimeError('expected end of command', it.pos, true);
    };
    if (it.k === 'where') {
      if (verb !== 'find' && verb !== 'print') bad();
      return;
    }
    if (it.k === 'word' && verb === 'print' && !PRINT_FLAGS.has(it.text)) {
      // `print detail`, `print count-only`; anything else is not a print flag.
      bad();
    }
    if (it.k !== 'named') return;
    const name = it.name;
    switch (verb) {
      case 'add':
        if (name === 'place-before' && store.def.ordered) return;
        if (!writable(store.field(name))) bad();
        return;
      case 'set':
      case 'comment':
        if (name === 'numbers') return;
        if (!writable(store.field(name))) bad();
        return;
      case 'find':
        if (!store.field(name) && name !== '.id') bad();
        return;
      case 'print':
        if (name !== 'proplist' && name !== '.proplist') bad();
        return;
      case 'get':
      case 'unset':
        if (name !== 'value-name' && name !== 'numbers') bad();
        return;
      default:
        if (name !== 'numbers') bad();
    }
  }

  private checkItem(it: Item, path: string): void {
    if (it.k === 'named' && it.value) this.checkExpr(it.value, path);
    else if (it.k === 'value') this.checkExpr(it.expr, path);
    else if (it.k === 'where' && it.cond) this.checkExpr(it.cond, path);
  }

  private checkExpr(e: Expr, path: string): void {
    switch (e.k) {
      case 'sub':
      case 'code':
        this.check(e.body, path);
        return;
      case 'str':
        for (const p of e.parts) if (typeof p !== 'string') this.checkExpr(p, path);
        return;
      case 'bin':
        this.checkExpr(e.left, path);
        this.checkExpr(e.right, path);
        return;
      case 'not':
      case 'neg':
        this.checkExpr(e.expr, path);
        return;
      default:
        return;
    }
  }

  // -------------------------------------------------------------------------------------------
  // Running

  private execBody(body: Stmt[], ctx: Ctx): ScriptValue {
    let last: ScriptValue = NOTHING;
    for (const s of body) last = this.exec(s, ctx);
    return last;
  }

  private exec(stmt: Stmt, ctx: Ctx): ScriptValue {
    if (stmt.k === 'block') {
      const inner: Ctx = { scope: new Scope(ctx.scope), path: ctx.path };
      return this.execBody(stmt.body, inner);
    }
    try {
      if (stmt.scripting) return this.scripting(stmt, ctx);
      const { menu, verb, rest } = this.resolve(stmt, ctx.path);
      if (!verb) {
        ctx.path = menu;
        return NOTHING;
      }
      return this.menuCommand(menu, verb.text, rest, stmt.pos, ctx);
    } catch (e) {
      if (e instanceof RouterTrap) throw new ScriptRuntimeError(e.message, stmt.pos);
      throw e;
    }
  }

  // -------------------------------------------------------------------------------------------
  // Expressions

  private eval(e: Expr, ctx: Ctx): ScriptValue {
    switch (e.k) {
      case 'word':
        return literal(e.text);
      case 'str':
        return str(e.parts.map((p) => (typeof p === 'string' ? p : display(this.eval(p, ctx)))).join(''));
      case 'var': {
        const scope = ctx.scope.lookup(e.name);
        if (scope) return scope.vars.get(e.name)!;
        const g = this.state.scriptGlobals.get(e.name) as ScriptValue | undefined;
        return g ?? NIL;
      }
      case 'sub':
        return this.execBody(e.body, { scope: ctx.scope, path: ctx.path });
      case 'code':
        return { t: 'code', body: e.body };
      case 'not':
        return bool(!truthy(this.eval(e.expr, ctx)));
      case 'neg': {
        const v = this.eval(e.expr, ctx);
        return num(-(v.t === 'num' ? v.v : Number(display(v))));
      }
      case 'prop':
        return str(e.name);
      case 'bin':
        return this.binary(e.op, e.left, e.right, ctx, e.pos);
    }
  }

  private binary(op: string, l: Expr, r: Expr, ctx: Ctx, pos: Pos): ScriptValue {
    if (op === '&&') return bool(truthy(this.eval(l, ctx)) && truthy(this.eval(r, ctx)));
    if (op === '||') return bool(truthy(this.eval(l, ctx)) || truthy(this.eval(r, ctx)));
    const a = this.eval(l, ctx);
    const b = this.eval(r, ctx);
    switch (op) {
      case '=':
        return bool(equal(a, b));
      case '!=':
        return bool(!equal(a, b));
      case '<':
        return bool(compare(a, b) < 0);
      case '>':
        return bool(compare(a, b) > 0);
      case '<=':
        return bool(compare(a, b) <= 0);
      case '>=':
        return bool(compare(a, b) >= 0);
      case '.':
        if (a.t === 'array' || b.t === 'array') {
          const items = [...(a.t === 'array' ? a.items : [[undefined, a] as [undefined, ScriptValue]]), ...(b.t === 'array' ? b.items : [[undefined, b] as [undefined, ScriptValue]])];
          return { t: 'array', items };
        }
        return str(display(a) + display(b));
      case '~':
        return bool(this.regex(display(b), pos).test(display(a)));
      case '->': {
        if (a.t !== 'array') return NIL;
        if (b.t === 'num') return a.items[b.v]?.[1] ?? NIL;
        const key = display(b);
        return a.items.find(([k]) => k === key)?.[1] ?? NIL;
      }
      case 'in':
        return bool(contains(a, b));
      case '+':
      case '-':
      case '*':
      case '/':
      case '%': {
        const x = a.t === 'num' ? a.v : Number(display(a));
        const y = b.t === 'num' ? b.v : Number(display(b));
        if (!Number.isFinite(x) || !Number.isFinite(y)) throw new ScriptRuntimeError('cannot do arithmetic on these values', pos);
        if ((op === '/' || op === '%') && y === 0) throw new ScriptRuntimeError('division by zero', pos);
        const v = op === '+' ? x + y : op === '-' ? x - y : op === '*' ? x * y : op === '/' ? Math.trunc(x / y) : x % y;
        return num(v);
      }
      default:
        throw new ScriptRuntimeError(`unknown operator ${op}`, pos);
    }
  }

  private regex(pattern: string, pos: Pos): RegExp {
    try {
      return new RegExp(pattern);
    } catch {
      throw new ScriptRuntimeError('invalid regular expression', pos);
    }
  }

  /** A `where` condition on one printed row. */
  private matches(cond: Expr, row: RenderedRow, store: MenuStore, ctx: Ctx): boolean {
    switch (cond.k) {
      case 'prop': {
        const v = row[cond.name];
        return v !== undefined && v !== '' && v !== 'false' && v !== 'no';
      }
      case 'not':
        return !this.matches(cond.expr, row, store, ctx);
      case 'bin': {
        if (cond.op === '&&') return this.matches(cond.left, row, store, ctx) && this.matches(cond.right, row, store, ctx);
        if (cond.op === '||') return this.matches(cond.left, row, store, ctx) || this.matches(cond.right, row, store, ctx);
        if (cond.left.k !== 'prop') return truthy(this.eval(cond, ctx));
        const name = cond.left.name;
        const have = row[name] ?? '';
        const want = store.normalizeQueryValue(name, this.text(cond.right, ctx));
        switch (cond.op) {
          case '=':
            return have === want;
          case '!=':
            return have !== want;
          case '<':
            return row[name] !== undefined && compareValues(have, want) < 0;
          case '>':
            return row[name] !== undefined && compareValues(have, want) > 0;
          case '<=':
            return row[name] !== undefined && compareValues(have, want) <= 0;
          case '>=':
            return row[name] !== undefined && compareValues(have, want) >= 0;
          case '~':
            return this.regex(want, cond.pos).test(have);
          case 'in':
            return ipv4InPrefix(have, want);
          default:
            return false;
        }
      }
      default:
        return truthy(this.eval(cond, ctx));
    }
  }

  /** A value as menu property text: an unquoted word as written, anything else as printed. */
  private text(e: Expr | undefined, ctx: Ctx): string {
    if (e === undefined) return '';
    if (e.k === 'word') return e.text;
    return propertyText(this.eval(e, ctx));
  }

  /** A positional value: a word read as a literal. */
  private valueOf(it: Item, ctx: Ctx): ScriptValue {
    if (it.k === 'word') return literal(it.text);
    if (it.k === 'value') return this.eval(it.expr, ctx);
    if (it.k === 'named') return it.value ? this.eval(it.value, ctx) : str('');
    return NIL;
  }

  // -------------------------------------------------------------------------------------------
  // Menu commands

  private rowsOf(store: MenuStore, v: ScriptValue): StoredRow[] {
    const out: StoredRow[] = [];
    const add = (row: StoredRow): void => {
      if (!out.includes(row)) out.push(row);
    };
    const one = (x: ScriptValue): void => {
      switch (x.t) {
        case 'array':
          for (const [, item] of x.items) one(item);
          return;
        case 'nil':
        case 'nothing':
          return;
        case 'num':
          add(store.resolvePosition(String(x.v)));
          return;
        case 'id': {
          const row = store.getStored(x.v);
          if (!row) throw noSuchItem();
          add(row);
          return;
        }
        default: {
          const t = display(x);
          if (t === '') return;
          for (const token of t.split(',')) add(store.resolvePosition(token));
        }
      }
    };
    one(v);
    return out;
  }

  private menuCommand(menu: string, verb: string, items: Item[], pos: Pos, ctx: Ctx): ScriptValue {
    const store = this.state.store(menu)!;
    // Arguments are evaluated in the command's own menu: `set [find where name=x]`.
    const argCtx: Ctx = { scope: ctx.scope, path: menu };
    const named = new Map<string, Item & { k: 'named' }>();
    const positional: Item[] = [];
    const flags = new Set<string>();
    let where: Expr | undefined;
    let hasWhere = false;
    for (const it of items) {
      if (it.k === 'named') named.set(it.name, it);
      else if (it.k === 'where') {
        hasWhere = true;
        where = it.cond;
      } else if (it.k === 'word' && verb === 'print') flags.add(it.text);
      else positional.push(it);
    }
    const values = (skip: readonly string[]): Record<string, string> => {
      const out: Record<string, string> = {};
      for (const [name, it] of named) if (!skip.includes(name)) out[name] = this.text(it.value, argCtx);
      return out;
    };
    const target = (): StoredRow[] => {
      const t = named.get('numbers') ?? positional[0];
      if (t === undefined) throw new ScriptRuntimeError('missing value(s) of argument(s) numbers', pos);
      if (t.k === 'word') return this.rowsOf(store, str(t.text));
      return this.rowsOf(store, this.valueOf(t, argCtx));
    };
    if (verb !== 'print' && verb !== 'find' && verb !== 'get' && (store.isSingleton ? positional.length > 0 : positional.length > 1)) {
      throw new ScriptRuntimeError('expected end of command', positional[store.isSingleton ? 0 : 1]!.pos, true);
    }

    switch (verb) {
      case 'add': {
        const row = store.add(values([]));
        return { t: 'id', v: row.id };
      }
      case 'set':
      case 'comment': {
        if (store.isSingleton) {
          store.setSingleton(values([]));
          return NOTHING;
        }
        const rows = target();
        const input = values(['numbers']);
        if (rows.length > 0) store.set(rows, input);
        return NOTHING;
      }
      case 'enable':
      case 'disable': {
        const rows = target();
        if (rows.length > 0) store.set(rows, { disabled: verb === 'disable' ? 'yes' : 'no' });
        return NOTHING;
      }
      case 'remove': {
        const rows = target();
        if (store.def.kind === 'active') for (const row of rows) this.state.removeActiveSession(row.id, 'admin-reset');
        else store.remove(rows);
        return NOTHING;
      }
      case 'unset': {
        const rows = target();
        const names = named.get('value-name');
        const fields = names ? this.text(names.value, argCtx).split(',') : positional.slice(1).map((p) => (p.k === 'word' ? p.text : ''));
        if (fields.length === 0 || fields.some((f) => f === '')) throw new ScriptRuntimeError('missing value(s) of argument(s) value-name', pos);
        store.unset(rows, fields);
        return NOTHING;
      }
      case 'find': {
        const rows = this.select(store, named, hasWhere ? where : undefined, argCtx);
        return list(rows.map((r) => ({ t: 'id', v: r['.id'] ?? '' })));
      }
      case 'get':
        return this.get(store, named, positional, argCtx, pos);
      case 'print':
        return this.print(store, flags, named, hasWhere ? where : undefined, argCtx);
      case 'export':
        this.export(store, menu);
        return NOTHING;
      default:
        throw new ScriptRuntimeError(`bad command name ${verb}`, pos, true);
    }
  }

  private select(store: MenuStore, named: Map<string, Item & { k: 'named' }>, where: Expr | undefined, ctx: Ctx): RenderedRow[] {
    const equalities: Array<[string, string]> = [];
    for (const [name, it] of named) {
      if (name === 'proplist' || name === '.proplist') continue;
      equalities.push([name, store.normalizeQueryValue(name, this.text(it.value, ctx))]);
    }
    return store.renderAll().filter((row) => {
      for (const [name, want] of equalities) if ((row[name] ?? '') !== want) return false;
      return where === undefined || this.matches(where, row, store, ctx);
    });
  }

  private typed(store: MenuStore, name: string, value: string | undefined): ScriptValue {
    if (value === undefined) return NIL;
    const f = store.field(name);
    if (name === '.id') return { t: 'id', v: value };
    if (f?.type.kind === 'bool') return bool(value === 'true');
    if (f?.type.kind === 'int' && /^\d+$/.test(value)) return num(Number(value));
    return str(value);
  }

  private get(store: MenuStore, named: Map<string, Item & { k: 'named' }>, positional: Item[], ctx: Ctx, pos: Pos): ScriptValue {
    let row: RenderedRow;
    let propItem: Item | undefined;
    if (store.isSingleton) {
      row = store.renderSingleton();
      propItem = named.get('value-name') ?? positional[0];
    } else {
      const t = named.get('numbers') ?? positional[0];
      if (t === undefined) throw new ScriptRuntimeError('missing value(s) of argument(s) numbers', pos);
      const target = t.k === 'word' ? str(t.text) : this.valueOf(t, ctx);
      // `get` reads a row as print shows it: by id, name or number, rows other menus show
      // here (WireGuard interfaces in /interface) included.
      const first = target.t === 'array' ? target.items[0]?.[1] : target;
      if (first === undefined || first.t === 'nil' || first.t === 'nothing') throw noSuchItem();
      const key = display(first);
      const shown = store.renderAll();
      const found = /^\d+$/.test(key) ? shown[Number(key)] : shown.find((r) => r['.id'] === normalizeId(key)) ?? shown.find((r) => r['name'] === key);
      if (!found) throw noSuchItem();
      row = found;
      propItem = named.get('value-name') ?? positional[1];
    }
    if (propItem === undefined) {
      return { t: 'array', items: Object.entries(row).map(([k, v]) => [k, this.typed(store, k, v)]) };
    }
    const name = propItem.k === 'word' ? propItem.text : propItem.k === 'named' ? this.text(propItem.value, ctx) : display(this.valueOf(propItem, ctx));
    if (name !== '.id' && !store.fields.some((f) => f.name === name && !f.writeOnly)) {
      throw new ScriptRuntimeError('input does not match any value of value-name', propItem.pos);
    }
    return this.typed(store, name, row[name]);
  }

  private print(store: MenuStore, flags: Set<string>, named: Map<string, Item & { k: 'named' }>, where: Expr | undefined, ctx: Ctx): ScriptValue {
    const proplistItem = named.get('proplist') ?? named.get('.proplist');
    const proplist = proplistItem ? this.text(proplistItem.value, ctx).split(',').filter((p) => p !== '') : undefined;
    const rest = new Map(named);
    rest.delete('proplist');
    rest.delete('.proplist');
    if (store.isSingleton) {
      const row = store.renderSingleton();
      if (flags.has('as-value')) return { t: 'array', items: Object.entries(row).map(([k, v]) => [k, this.typed(store, k, v)]) };
      const keys = Object.keys(row).filter((k) => !proplist || proplist.includes(k));
      const width = Math.max(0, ...keys.map((k) => k.length));
      for (const k of keys) this.put(`${k.padStart(width + 2)}: ${row[k]}`);
      return NOTHING;
    }
    const all = store.renderAll();
    const numbered = all.map((row, n) => ({ row, n }));
    const selected = numbered.filter(({ row }) => {
      for (const [name, it] of rest) if ((row[name] ?? '') !== store.normalizeQueryValue(name, this.text(it.value, ctx))) return false;
      return where === undefined || this.matches(where, row, store, ctx);
    });
    if (flags.has('count-only')) {
      this.put(String(selected.length));
      return num(selected.length);
    }
    if (flags.has('as-value')) {
      return list(
        selected.map(({ row }) => ({
          t: 'array',
          items: Object.entries(row)
            .filter(([k]) => !proplist || k === '.id' || proplist.includes(k))
            .map(([k, v]) => [k, this.typed(store, k, v)] as [string, ScriptValue]),
        })),
      );
    }
    const flagNames: string[] = [];
    if (store.field('disabled')) flagNames.push('X - DISABLED');
    if (store.field('dynamic')) flagNames.push('D - DYNAMIC');
    if (flagNames.length) this.put(`Flags: ${flagNames.join('; ')}`);
    for (const { row, n } of selected) {
      const f = `${row['disabled'] === 'true' ? 'X' : ' '}${row['dynamic'] === 'true' ? 'D' : ' '}`;
      const props = Object.entries(row)
        .filter(([k]) => k !== '.id' && k !== 'disabled' && k !== 'dynamic' && (!proplist || proplist.includes(k)))
        .map(([k, v]) => `${k}=${printValue(v)}`);
      this.put(`${String(n).padStart(2)} ${f} ${props.join(' ')}`);
    }
    return NOTHING;
  }

  /** `export`: the menu's items as the commands that would make them. */
  private export(store: MenuStore, menu: string): void {
    this.put(`${menu.split('/').join(' ').trim() ? `/${menu.slice(1).split('/').join(' ')}` : '/'}`);
    const rows = store.isSingleton ? [store.renderSingleton()] : store.renderAll().filter((r) => r['dynamic'] !== 'true');
    for (const row of rows) {
      const props = Object.entries(row)
        .filter(([k, v]) => k !== '.id' && writable(store.field(k)) && (store.def.kind === 'fixed' || store.field(k)?.default !== v))
        .map(([k, v]) => `${k}=${store.field(k)?.type.kind === 'bool' ? (v === 'true' ? 'yes' : 'no') : printValue(v)}`);
      if (props.length === 0 && store.def.kind !== 'list') continue;
      if (store.isSingleton) this.put(`set ${props.join(' ')}`);
      else if (store.def.kind === 'list') this.put(`add ${props.join(' ')}`);
      else this.put(`set [ find ${store.def.keyedByName ? `name=${printValue(row['name'] ?? '')}` : `.id=${row['.id']}`} ] ${props.join(' ')}`);
    }
  }

  // -------------------------------------------------------------------------------------------
  // Scripting commands

  private scripting(stmt: Extract<Stmt, { k: 'cmd' }>, ctx: Ctx): ScriptValue {
    const [head, ...items] = stmt.items;
    const name = (head as Item & { k: 'word' }).text;
    const named = new Map<string, Item & { k: 'named' }>();
    const positional: Item[] = [];
    for (const it of items) {
      if (it.k === 'named') named.set(it.name, it);
      else positional.push(it);
    }
    const arg = (i: number): ScriptValue => (positional[i] ? this.valueOf(positional[i]!, ctx) : NIL);
    const code = (key: string): Stmt[] | undefined => {
      const it = named.get(key);
      if (!it) return undefined;
      const v = it.value ? this.eval(it.value, ctx) : NIL;
      if (v.t !== 'code') throw new ScriptRuntimeError(`${key}= expects a block { … }`, it.pos);
      return v.body;
    };
    const block = (body: Stmt[]): ScriptValue => this.execBody(body, { scope: new Scope(ctx.scope), path: ctx.path });
    const pos = stmt.pos;
    switch (name) {
      case 'put':
        this.put(display(arg(0)));
        return NOTHING;
      case 'nothing': {
        // A value alone on a line; a code value (from :parse) alone is called.
        const v = arg(0);
        if (v.t === 'code') return block(v.body);
        return v;
      }
      case 'parse': {
        const text = display(arg(0));
        try {
          const body = parseScript(text, { strictQuestionMark: this.opts.strictQuestionMark });
          this.check(body, ctx.path);
          return { t: 'code', body };
        } catch (e) {
          if (e instanceof ScriptSyntaxError) throw new ScriptRuntimeError(e.message, pos);
          if (e instanceof ScriptRuntimeError) throw new ScriptRuntimeError(`${e.message} (line ${e.pos.line} column ${e.pos.column})`, pos);
          throw e;
        }
      }
      case 'delay':
        return NOTHING;
      case 'log': {
        // :log info "message": the lab has no log to show; the message is evaluated and dropped.
        arg(1);
        return NOTHING;
      }
      case 'local':
      case 'global': {
        const varName = positional[0];
        if (varName?.k !== 'word') throw new ScriptRuntimeError('expected a variable name', pos);
        const value = positional[1] ? arg(1) : named.get('value') ? this.valueOf(named.get('value')!, ctx) : undefined;
        if (name === 'local') ctx.scope.vars.set(varName.text, value ?? NIL);
        else if (value !== undefined || !this.state.scriptGlobals.has(varName.text)) this.state.scriptGlobals.set(varName.text, value ?? NIL);
        return NOTHING;
      }
      case 'set': {
        const varName = positional[0];
        if (varName?.k !== 'word') throw new ScriptRuntimeError('expected a variable name', pos);
        const value = positional[1] ? arg(1) : NIL;
        const scope = ctx.scope.lookup(varName.text);
        if (scope) scope.vars.set(varName.text, value);
        else if (this.state.scriptGlobals.has(varName.text)) this.state.scriptGlobals.set(varName.text, value);
        else ctx.scope.vars.set(varName.text, value);
        return NOTHING;
      }
      case 'if': {
        const cond = positional[0] ? arg(0) : named.get('condition') ? this.valueOf(named.get('condition')!, ctx) : NIL;
        const yes = code('do');
        const no = code('else');
        if (truthy(cond)) return yes ? block(yes) : NOTHING;
        return no ? block(no) : NOTHING;
      }
      case 'foreach': {
        const varItem = positional[0];
        if (varItem?.k !== 'word') throw new ScriptRuntimeError('expected a variable name', pos);
        const [keyVar, valueVar] = varItem.text.includes(',') ? varItem.text.split(',') : [undefined, varItem.text];
        const inItem = named.get('in');
        const over = inItem ? this.valueOf(inItem, ctx) : NIL;
        const body = code('do') ?? [];
        const entries: Array<[string | undefined, ScriptValue]> = over.t === 'array' ? over.items : over.t === 'nil' ? [] : [[undefined, over]];
        let n = 0;
        for (const [k, v] of entries) {
          if (++n > this.maxIterations) throw new ScriptRuntimeError('too many iterations', pos);
          const scope = new Scope(ctx.scope);
          if (keyVar !== undefined) scope.vars.set(keyVar, k === undefined ? num(n - 1) : str(k));
          scope.vars.set(valueVar!, v);
          this.execBody(body, { scope, path: ctx.path });
        }
        return NOTHING;
      }
      case 'for': {
        const varItem = positional[0];
        if (varItem?.k !== 'word') throw new ScriptRuntimeError('expected a variable name', pos);
        const n = (key: string, dflt: number): number => {
          const it = named.get(key);
          if (!it) return dflt;
          const v = this.valueOf(it, ctx);
          const x = v.t === 'num' ? v.v : Number(display(v));
          if (!Number.isFinite(x)) throw new ScriptRuntimeError(`${key}= expects a number`, it.pos);
          return x;
        };
        const from = n('from', 0);
        const to = n('to', 0);
        const step = n('step', from <= to ? 1 : -1);
        if (step === 0) throw new ScriptRuntimeError('step= cannot be 0', pos);
        const body = code('do') ?? [];
        let count = 0;
        for (let i = from; step > 0 ? i <= to : i >= to; i += step) {
          if (++count > this.maxIterations) throw new ScriptRuntimeError('too many iterations', pos);
          const scope = new Scope(ctx.scope);
          scope.vars.set(varItem.text, num(i));
          this.execBody(body, { scope, path: ctx.path });
        }
        return NOTHING;
      }
      case 'while': {
        const condItem = positional[0];
        const body = code('do') ?? [];
        let count = 0;
        while (condItem && truthy(this.valueOf(condItem, ctx))) {
          if (++count > this.maxIterations) throw new ScriptRuntimeError('too many iterations', pos);
          block(body);
        }
        return NOTHING;
      }
      case 'do': {
        const bodyItem = positional[0] ?? named.get('command');
        const v = bodyItem ? this.valueOf(bodyItem, ctx) : NIL;
        if (v.t !== 'code') throw new ScriptRuntimeError(':do expects a block { … }', pos);
        const onError = code('on-error');
        try {
          return block(v.body);
        } catch (e) {
          if (onError && e instanceof ScriptRuntimeError) return block(onError);
          throw e;
        }
      }
      case 'error':
        throw new ScriptRuntimeError(display(arg(0)), pos);
      case 'return':
        return arg(0);
      case 'len':
        return num(lengthOf(arg(0)));
      case 'typeof':
        return str(typeName(arg(0)));
      case 'tostr':
        return str(display(arg(0)));
      case 'tonum': {
        const v = arg(0);
        if (v.t === 'num') return v;
        const t = display(v).trim();
        return /^-?\d+$/.test(t) ? num(Number(t)) : NIL;
      }
      case 'tobool': {
        const v = arg(0);
        if (v.t === 'bool') return v;
        const t = display(v);
        return t === 'true' || t === 'yes' ? bool(true) : t === 'false' || t === 'no' ? bool(false) : NIL;
      }
      case 'toip': {
        const v = literal(display(arg(0)));
        return v.t === 'ip' ? v : NIL;
      }
      case 'toarray': {
        const v = arg(0);
        if (v.t === 'array') return v;
        const t = display(v);
        return list(t === '' ? [] : t.split(',').map((p) => literal(p)));
      }
      case 'pick':
        return this.pick(arg(0), positional[1] ? arg(1) : num(0), positional[2] ? arg(2) : undefined);
      case 'find': {
        const hay = arg(0);
        const needle = arg(1);
        if (hay.t === 'array') {
          const i = hay.items.findIndex(([, v]) => equal(v, needle));
          return i < 0 ? NIL : num(i);
        }
        const i = bytesFromText(display(hay)).indexOf(bytesFromText(display(needle)));
        return i < 0 ? NIL : num(i);
      }
      default:
        throw new ScriptRuntimeError(`bad command name ${name}`, head!.pos, true);
    }
  }

  private pick(v: ScriptValue, start: ScriptValue, end: ScriptValue | undefined): ScriptValue {
    const s = start.t === 'num' ? start.v : Number(display(start));
    if (v.t === 'array') {
      if (end === undefined) return v.items[s]?.[1] ?? NIL;
      const e = end.t === 'num' ? end.v : Number(display(end));
      return { t: 'array', items: v.items.slice(s, e) };
    }
    const bytes = bytesFromText(display(v));
    if (end === undefined) return s < bytes.length ? str(textFromBytes(bytes.subarray(s, s + 1))) : NIL;
    const e = end.t === 'num' ? end.v : Number(display(end));
    return str(textFromBytes(bytes.subarray(s, Math.max(s, e))));
  }
}

/**
 * Run a script on a lab router, as if pasted into its terminal. Changes go to the same state
 * the API serves (so API clients read what a script added).
 */
export function runScript(state: RouterState, text: string, opts: RunScriptOptions = {}): ConsoleResult {
  return new Interpreter(state, opts).run(text);
}
