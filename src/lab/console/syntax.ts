// RouterOS script syntax for the lab console: a scanner-driven recursive-descent parser that
// turns a pasted script into statements. Lexing depends on where the parser is (a command's
// words, an expression in parentheses, a `where` condition, a quoted string), as it does on
// RouterOS: `10.0.0.1/24` is one word in an argument, `$a . $b` is a concatenation in an
// expression.
//
// Layout of a script: logical lines ended by `;` or a newline; `#` starts a comment where a word
// could start; a backslash at the end of a line joins it with the next; `{ }` blocks; `[ ]`
// command substitution; `( )` expressions; `"…"` strings with escapes and `$var`, `$(…)`,
// `$[…]` inside them.

import { bytesFromText, textFromBytes } from '../bytes.js';

export interface Pos {
  line: number;
  column: number;
}

/** A script error with RouterOS's wording and position. */
export class ScriptSyntaxError extends Error {
  readonly line: number;
  readonly column: number;
  /** What went wrong, for people (RouterOS itself only says `syntax error`). */
  readonly detail: string;
  constructor(pos: Pos, detail: string, message = 'syntax error') {
    super(`${message} (line ${pos.line} column ${pos.column})`);
    this.name = 'ScriptSyntaxError';
    this.line = pos.line;
    this.column = pos.column;
    this.detail = detail;
  }
}

// ---------------------------------------------------------------------------------------------
// AST

export type Expr =
  /** An unquoted word: kept as written (a property value), typed when used in an expression. */
  | { k: 'word'; text: string; pos: Pos }
  /** A quoted string: literal text and interpolated parts, joined at run time. */
  | { k: 'str'; parts: Array<string | Expr>; pos: Pos }
  | { k: 'var'; name: string; pos: Pos }
  /** `[ … ]`: the value of the last command. */
  | { k: 'sub'; body: Stmt[]; pos: Pos }
  /** `{ … }` used as a value: code for `do=`, `else=`, `on-error=`. */
  | { k: 'code'; body: Stmt[]; pos: Pos }
  | { k: 'bin'; op: string; left: Expr; right: Expr; pos: Pos }
  | { k: 'not'; expr: Expr; pos: Pos }
  | { k: 'neg'; expr: Expr; pos: Pos }
  /** A property name in a `where` condition (`name`, `.id`, `disabled`). */
  | { k: 'prop'; name: string; pos: Pos };

export type Item =
  /** A bare word without `=`: a path segment, a verb, a flag (`count-only`) or a positional value. */
  | { k: 'word'; text: string; pos: Pos }
  | { k: 'named'; name: string; value: Expr | undefined; pos: Pos }
  | { k: 'value'; expr: Expr; pos: Pos }
  | { k: 'where'; cond: Expr | undefined; pos: Pos };

export type Stmt = (
  | { k: 'block'; body: Stmt[]; pos: Pos }
  /** `/path verb …` (abs) or `verb …`, `:cmd …` (scripting). */
  | { k: 'cmd'; abs: boolean; scripting: boolean; items: Item[]; pos: Pos }
) & {
  /** Follows the previous statement on the same line (after `;`): they share `:local`s. */
  sameLine?: boolean;
};

// ---------------------------------------------------------------------------------------------
// Scanner

const NAMED_ESCAPES: Record<string, number> = {
  '"': 0x22,
  '\\': 0x5c,
  n: 0x0a,
  r: 0x0d,
  t: 0x09,
  $: 0x24,
  '?': 0x3f,
  _: 0x20,
  a: 0x07,
  b: 0x08,
  f: 0x0c,
  v: 0x0b,
};
const UPPER_HEX = /^[0-9A-F]$/;

/** Characters that end an unquoted word in a command. */
const WORD_END = new Set([' ', '\t', '\n', ';', '{', '}', '[', ']', '(', ')', '"', '$']);
/** Characters that end an unquoted word in an expression or a `where` value. */
const EXPR_WORD_END = new Set([...WORD_END, '=', '!', '<', '>', '&', '|', '~', ',']);

export interface ParseOptions {
  /**
   * A bare `?` in a string is a syntax error: pasted into a RouterOS terminal it would print
   * help instead of being part of the string. Default true.
   */
  strictQuestionMark?: boolean;
}

class Parser {
  private i = 0;
  private readonly s: string;
  private readonly lineStarts: number[] = [0];
  private readonly strictQ: boolean;

  constructor(text: string, opts: ParseOptions) {
    this.s = text.replace(/\r\n?/g, '\n');
    for (let i = 0; i < this.s.length; i++) if (this.s[i] === '\n') this.lineStarts.push(i + 1);
    this.strictQ = opts.strictQuestionMark ?? true;
  }

  pos(at = this.i): Pos {
    let lo = 0;
    let hi = this.lineStarts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.lineStarts[mid]! <= at) lo = mid;
      else hi = mid - 1;
    }
    return { line: lo + 1, column: at - this.lineStarts[lo]! + 1 };
  }

  private fail(detail: string, at = this.i): never {
    throw new ScriptSyntaxError(this.pos(at), detail);
  }

  /** The character at the cursor, after any line continuations (backslash, newline). */
  private peek(): string | undefined {
    this.skipContinuations();
    return this.s[this.i];
  }

  private skipContinuations(): void {
    while (this.s[this.i] === '\\' && this.s[this.i + 1] === '\n') this.i += 2;
  }

  private next(): string {
    this.skipContinuations();
    return this.s[this.i++]!;
  }

  private eof(): boolean {
    return this.peek() === undefined;
  }

  /** Spaces and tabs (and line continuations), not newlines. */
  private skipBlanks(): void {
    for (;;) {
      const c = this.peek();
      if (c === ' ' || c === '\t') this.i++;
      else return;
    }
  }

  /** Blanks, newlines, `;` and comments between statements; whether a newline was crossed. */
  private skipSeparators(): boolean {
    let newline = false;
    for (;;) {
      const c = this.peek();
      if (c === '\n') newline = true;
      if (c === ' ' || c === '\t' || c === '\n' || c === ';') this.i++;
      else if (c === '#') this.skipComment();
      else return newline;
    }
  }

  private skipComment(): void {
    while (this.i < this.s.length && this.s[this.i] !== '\n') this.i++;
  }

  // -------------------------------------------------------------------------------------------
  // Statements

  script(): Stmt[] {
    const body = this.statements(undefined);
    if (!this.eof()) this.fail(`unexpected ${JSON.stringify(this.peek())}`);
    return body;
  }

  /** Statements until `end` (not consumed) or the end of the text. */
  private statements(end: '}' | ']' | undefined): Stmt[] {
    const out: Stmt[] = [];
    for (;;) {
      const newline = this.skipSeparators();
      const c = this.peek();
      if (c === undefined) {
        if (end) this.fail(`missing ${end}`);
        return out;
      }
      if (c === end) return out;
      if (c === '}' || c === ']' || c === ')') this.fail(`unexpected ${c}`);
      const stmt = this.statement();
      if (out.length > 0 && !newline) stmt.sameLine = true;
      out.push(stmt);
    }
  }

  private statement(): Stmt {
    const start = this.i;
    const c = this.peek();
    if (c === '{') {
      this.i++;
      const body = this.statements('}');
      this.i++;
      this.endOfCommand();
      return { k: 'block', body, pos: this.pos(start) };
    }
    let abs = false;
    let scripting = false;
    const items: Item[] = [];
    if (c === ':') {
      scripting = true;
      this.i++;
      const name = this.bareWord(WORD_END);
      if (!name) this.fail('expected a command after :');
      items.push({ k: 'word', text: name, pos: this.pos(start + 1) });
    } else if (c === '/') {
      abs = true;
      this.i++;
      // `/ip/pool/add` (RouterOS 7) is the same as `/ip pool add`.
      const at = this.i;
      const first = this.peek() !== undefined && !WORD_END.has(this.peek()!) ? this.bareWord(WORD_END) : '';
      if (first.includes('=')) this.fail('expected a menu path', at);
      let col = at;
      for (const seg of first.split('/')) {
        if (seg !== '') items.push({ k: 'word', text: seg, pos: this.pos(col) });
        col += seg.length + 1;
      }
    } else if (c === '$' || c === '"' || c === '[' || c === '(') {
      // A value alone on a line (`$x`, `[find]`): evaluated, nothing printed.
      items.push({ k: 'value', expr: this.value(false), pos: this.pos(start) });
      this.endOfCommand();
      return { k: 'cmd', abs: false, scripting: true, items: [{ k: 'word', text: 'nothing', pos: this.pos(start) }, ...items], pos: this.pos(start) };
    }
    this.items(items);
    return { k: 'cmd', abs, scripting, items, pos: this.pos(start) };
  }

  /** After a block: only a separator or the end of the enclosing block may follow. */
  private endOfCommand(): void {
    this.skipBlanks();
    const c = this.peek();
    if (c === undefined || c === '\n' || c === ';' || c === '}' || c === ']' || c === '#') return;
    this.fail(`expected end of command, found ${JSON.stringify(c)}`);
  }

  /** The words and arguments of a command, up to its end. */
  private items(out: Item[]): void {
    for (;;) {
      const before = this.i;
      this.skipBlanks();
      const c = this.peek();
      if (c === undefined || c === '\n' || c === ';' || c === '}' || c === ']') return;
      if (c === ')') this.fail('unexpected )');
      if (c === '#') {
        if (this.i === before && out.length > 0) this.fail('expected end of command');
        this.skipComment();
        return;
      }
      if (this.i === before && out.length > 0) this.fail('expected a space between arguments');
      const at = this.i;
      if (c === '$' || c === '"' || c === '[' || c === '(' || c === '{') {
        out.push({ k: 'value', expr: this.value(false), pos: this.pos(at) });
        continue;
      }
      const word = this.bareWord(WORD_END, true);
      if (word === '') this.fail(`unexpected ${JSON.stringify(c)}`);
      const eq = word.indexOf('=');
      if (eq < 0) {
        if (word === 'where') {
          this.skipBlanks();
          const cond = this.atCommandEnd() ? undefined : this.condition();
          out.push({ k: 'where', cond, pos: this.pos(at) });
          continue;
        }
        out.push({ k: 'word', text: word, pos: this.pos(at) });
        continue;
      }
      const name = word.slice(0, eq);
      if (name === '') this.fail('expected a parameter name', at);
      const rest = word.slice(eq + 1);
      if (rest !== '') {
        out.push({ k: 'named', name, value: { k: 'word', text: rest, pos: this.pos(at + eq + 1) }, pos: this.pos(at) });
        continue;
      }
      // `name=` followed by a string, variable, substitution, expression or block; or empty.
      const v = this.peek();
      if (v === '$' || v === '"' || v === '[' || v === '(' || v === '{') {
        out.push({ k: 'named', name, value: this.value(false), pos: this.pos(at) });
      } else {
        out.push({ k: 'named', name, value: undefined, pos: this.pos(at) });
      }
    }
  }

  private atCommandEnd(): boolean {
    const c = this.peek();
    return c === undefined || c === '\n' || c === ';' || c === '}' || c === ']' || c === '#';
  }

  /**
   * An unquoted word up to one of `ends`. In a command word (`allowEq`), `=` is part of it
   * (split later); a value right after `name=` ends at the same characters.
   */
  private bareWord(ends: Set<string>, allowEq = false): string {
    let out = '';
    for (;;) {
      const c = this.peek();
      if (c === undefined || ends.has(c)) break;
      if (c === '=' && allowEq) {
        out += c;
        this.i++;
        // A value after `=` that is quoted, a variable, … is parsed by the caller.
        const n = this.peek();
        if (n === '"' || n === '$' || n === '[' || n === '(' || n === '{') break;
        continue;
      }
      if (c === '\\') this.fail('unexpected \\ outside a string');
      out += c;
      this.i++;
    }
    return out;
  }

  // -------------------------------------------------------------------------------------------
  // Values

  /** `"…"`, `$var`, `[…]`, `(…)`, `{…}`, or (in an expression) a word. */
  private value(inExpr: boolean): Expr {
    const at = this.i;
    const c = this.peek();
    switch (c) {
      case '"':
        return this.string();
      case '$':
        return this.variable();
      case '[': {
        this.i++;
        const body = this.statements(']');
        this.i++;
        return { k: 'sub', body, pos: this.pos(at) };
      }
      case '(': {
        this.i++;
        this.skipExprSpace();
        const expr = this.expression();
        this.skipExprSpace();
        if (this.peek() !== ')') this.fail('missing )');
        this.i++;
        return expr;
      }
      case '{': {
        this.i++;
        const body = this.statements('}');
        this.i++;
        return { k: 'code', body, pos: this.pos(at) };
      }
      default: {
        if (!inExpr) this.fail(`unexpected ${JSON.stringify(c ?? 'end of script')}`);
        const word = this.bareWord(EXPR_WORD_END);
        if (word === '') this.fail(`expected a value, found ${JSON.stringify(c ?? 'end of script')}`);
        return { k: 'word', text: word, pos: this.pos(at) };
      }
    }
  }

  private variable(): Expr {
    const at = this.i;
    this.i++; // $
    const c = this.peek();
    if (c === '"') {
      const s = this.string();
      const name = s.k === 'str' && s.parts.every((p) => typeof p === 'string') ? s.parts.join('') : undefined;
      if (name === undefined) this.fail('a quoted variable name cannot hold variables', at);
      return { k: 'var', name, pos: this.pos(at) };
    }
    let name = '';
    for (;;) {
      const ch = this.peek();
      if (ch !== undefined && /[A-Za-z0-9_]/.test(ch)) {
        name += ch;
        this.i++;
      } else break;
    }
    if (name === '') this.fail('expected a variable name after $', at);
    return { k: 'var', name, pos: this.pos(at) };
  }

  /** A quoted string with escapes and `$var`, `$(…)`, `$[…]` inside. */
  private string(): Expr {
    const at = this.i;
    this.i++; // opening quote
    const parts: Array<string | Expr> = [];
    // Bytes and text are gathered as one byte sequence per literal run and decoded once, so that
    // `\C3\B1` (the UTF-8 bytes of ñ) reads as ñ.
    let bytes: number[] = [];
    const chunks: Buffer[] = [];
    const pushText = (t: string): void => {
      if (bytes.length) {
        chunks.push(Buffer.from(bytes));
        bytes = [];
      }
      chunks.push(bytesFromText(t));
    };
    const flush = (): void => {
      if (bytes.length) {
        chunks.push(Buffer.from(bytes));
        bytes = [];
      }
      if (chunks.length) {
        parts.push(textFromBytes(Buffer.concat(chunks)));
        chunks.length = 0;
      }
    };
    for (;;) {
      if (this.i >= this.s.length) this.fail('missing closing quote', at);
      const c = this.s[this.i]!;
      if (c === '"') {
        this.i++;
        break;
      }
      if (c === '\\') {
        const n = this.s[this.i + 1];
        if (n === '\n') {
          this.i += 2;
          continue;
        }
        const n2 = this.s[this.i + 2];
        if (n !== undefined && n2 !== undefined && UPPER_HEX.test(n) && UPPER_HEX.test(n2)) {
          bytes.push(Number.parseInt(n + n2, 16));
          this.i += 3;
          continue;
        }
        if (n !== undefined && NAMED_ESCAPES[n] !== undefined) {
          bytes.push(NAMED_ESCAPES[n]!);
          this.i += 2;
          continue;
        }
        this.fail(`unknown escape \\${n ?? ''}`);
      }
      if (c === '$') {
        const n = this.s[this.i + 1];
        if (n === '(' || n === '[') {
          flush();
          this.i++;
          parts.push(this.value(false));
          continue;
        }
        if (n !== undefined && /[A-Za-z0-9_"]/.test(n)) {
          flush();
          parts.push(this.variable());
          continue;
        }
        this.fail('a $ in a string must be escaped as \\$ or start a variable');
      }
      if (c === '?' && this.strictQ) this.fail('a ? in a string must be escaped as \\? (the console prints help for a bare ?)');
      // Take the run of ordinary characters at once.
      let j = this.i + 1;
      while (j < this.s.length && !'"\\$?'.includes(this.s[j]!)) j++;
      pushText(this.s.slice(this.i, j));
      this.i = j;
    }
    flush();
    return { k: 'str', parts, pos: this.pos(at) };
  }

  // -------------------------------------------------------------------------------------------
  // Expressions in ( )

  private skipExprSpace(): void {
    for (;;) {
      const c = this.peek();
      if (c === ' ' || c === '\t' || c === '\n') this.i++;
      else return;
    }
  }

  /** Operator at the cursor, if any (longest first). */
  private operator(ops: readonly string[]): string | undefined {
    this.skipExprSpace();
    for (const op of ops) {
      if (this.s.startsWith(op, this.i)) {
        if (/^[a-z]+$/.test(op)) {
          const after = this.s[this.i + op.length];
          if (after !== undefined && /[A-Za-z0-9_-]/.test(after)) continue;
        }
        // `!` must not be the start of `!=`.
        if (op === '!' && this.s[this.i + 1] === '=') continue;
        if (op === '<' && this.s[this.i + 1] === '=') continue;
        if (op === '>' && this.s[this.i + 1] === '=') continue;
        if (op === '=' && this.s[this.i + 1] === '=') continue;
        if (op === '-' && this.s[this.i + 1] === '>') continue;
        return op;
      }
    }
    return undefined;
  }

  private expression(): Expr {
    return this.binary(0);
  }

  private static readonly LEVELS: ReadonlyArray<readonly string[]> = [
    ['||', 'or'],
    ['&&', 'and'],
    ['=', '!=', '<=', '>=', '<', '>', '~', 'in'],
    ['.'],
    ['+', '-'],
    ['*', '/', '%'],
    ['->'],
  ];

  private binary(level: number): Expr {
    if (level >= Parser.LEVELS.length) return this.unary();
    let left = this.binary(level + 1);
    for (;;) {
      const at = this.i;
      const op = this.operator(Parser.LEVELS[level]!);
      if (op === undefined) {
        this.i = at;
        return left;
      }
      this.i += op.length;
      this.skipExprSpace();
      const right = this.binary(level + 1);
      left = { k: 'bin', op: op === 'or' ? '||' : op === 'and' ? '&&' : op, left, right, pos: this.pos(at) };
    }
  }

  private unary(): Expr {
    this.skipExprSpace();
    const at = this.i;
    const c = this.peek();
    if (c === '!' && this.s[this.i + 1] !== '=') {
      this.i++;
      return { k: 'not', expr: this.unary(), pos: this.pos(at) };
    }
    if (c === '-' && this.s[this.i + 1] !== undefined && /[$([]/.test(this.s[this.i + 1]!)) {
      this.i++;
      return { k: 'neg', expr: this.unary(), pos: this.pos(at) };
    }
    if (c === undefined || c === ')') this.fail('expected a value');
    return this.value(true);
  }

  // -------------------------------------------------------------------------------------------
  // `where` conditions

  /** A condition up to the end of the command: `name="x" and !disabled`. */
  private condition(): Expr {
    return this.condOr();
  }

  private condSpace(): void {
    this.skipBlanks();
  }

  private condKeyword(words: readonly string[]): string | undefined {
    this.condSpace();
    for (const w of words) {
      if (!this.s.startsWith(w, this.i)) continue;
      if (/^[a-z]+$/.test(w)) {
        const after = this.s[this.i + w.length];
        if (after !== undefined && /[A-Za-z0-9_.=-]/.test(after)) continue;
      }
      return w;
    }
    return undefined;
  }

  private condOr(): Expr {
    let left = this.condAnd();
    for (;;) {
      const at = this.i;
      const op = this.condKeyword(['||', 'or']);
      if (!op) return left;
      this.i += op.length;
      left = { k: 'bin', op: '||', left, right: this.condAnd(), pos: this.pos(at) };
    }
  }

  private condAnd(): Expr {
    let left = this.condNot();
    for (;;) {
      const at = this.i;
      const op = this.condKeyword(['&&', 'and']);
      if (op) {
        this.i += op.length;
      } else {
        // Conditions side by side mean "and".
        this.condSpace();
        if (this.atCommandEnd() || this.peek() === ')' || this.condKeyword(['||', 'or'])) return left;
      }
      left = { k: 'bin', op: '&&', left, right: this.condNot(), pos: this.pos(at) };
    }
  }

  private condNot(): Expr {
    this.condSpace();
    const at = this.i;
    const op = this.condKeyword(['!', 'not']);
    if (op && !(op === '!' && this.s[this.i + 1] === '=')) {
      this.i += op.length;
      return { k: 'not', expr: this.condNot(), pos: this.pos(at) };
    }
    return this.condAtom();
  }

  private condAtom(): Expr {
    this.condSpace();
    const at = this.i;
    if (this.peek() === '(') {
      this.i++;
      const inner = this.condOr();
      this.condSpace();
      if (this.peek() !== ')') this.fail('missing )');
      this.i++;
      return inner;
    }
    let name = '';
    for (;;) {
      const c = this.peek();
      if (c !== undefined && /[A-Za-z0-9_.-]/.test(c)) {
        name += c;
        this.i++;
      } else break;
    }
    if (name === '') this.fail(`expected a property name, found ${JSON.stringify(this.peek() ?? 'end of script')}`);
    const prop: Expr = { k: 'prop', name, pos: this.pos(at) };
    this.condSpace();
    const opAt = this.i;
    let op: string | undefined;
    for (const o of ['!=', '<=', '>=', '=', '<', '>', '~']) {
      if (this.s.startsWith(o, this.i)) {
        op = o;
        break;
      }
    }
    if (!op && this.condKeyword(['in'])) op = 'in';
    if (!op) return prop;
    this.i += op.length;
    this.condSpace();
    const c = this.peek();
    let right: Expr;
    if (c === '"' || c === '$' || c === '[' || c === '(') right = this.value(false);
    else {
      const word = this.bareWord(new Set([' ', '\t', '\n', ';', ']', '}', ')', '#']));
      if (word === '') this.fail('expected a value');
      right = { k: 'word', text: word, pos: this.pos(opAt + op.length) };
    }
    return { k: 'bin', op, left: prop, right, pos: this.pos(opAt) };
  }
}

/** Parse a whole script; throws ScriptSyntaxError. */
export function parseScript(text: string, opts: ParseOptions = {}): Stmt[] {
  return new Parser(text, opts).script();
}

// ---------------------------------------------------------------------------------------------
// Writing strings

/**
 * A RouterOS quoted string for a value: every byte that could end the string, start a
 * variable, print help or break the line is escaped (`\"`, `\\`, `\$`, `\?`, `\n`, `\r`, `\t`),
 * other control bytes and every byte from 0x80 as `\XX`. Reading it back gives the same bytes.
 */
export function quoteScriptString(value: string | Uint8Array): string {
  const bytes = typeof value === 'string' ? bytesFromText(value) : value;
  let out = '"';
  for (const b of bytes) {
    switch (b) {
      case 0x22:
        out += '\\"';
        break;
      case 0x5c:
        out += '\\\\';
        break;
      case 0x24:
        out += '\\$';
        break;
      case 0x3f:
        out += '\\?';
        break;
      case 0x0a:
        out += '\\n';
        break;
      case 0x0d:
        out += '\\r';
        break;
      case 0x09:
        out += '\\t';
        break;
      default:
        out += b < 0x20 || b >= 0x7f ? `\\${b.toString(16).toUpperCase().padStart(2, '0')}` : String.fromCharCode(b);
    }
  }
  return `${out}"`;
}

/**
 * Whether a terminal line is complete: no open `{`, `[`, `(` or string and no trailing
 * backslash. The prompt of `ispctl lab console` waits for more lines until it is.
 */
export function scriptIsComplete(text: string): boolean {
  let depth = 0;
  let inString = false;
  let comment = false;
  const s = text.replace(/\r\n?/g, '\n');
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (comment) {
      if (c === '\n') comment = false;
      continue;
    }
    if (inString) {
      if (c === '\\') i++;
      else if (c === '"') inString = false;
      continue;
    }
    if (c === '"') inString = true;
    else if (c === '#' && (i === 0 || /\s/.test(s[i - 1]!))) comment = true;
    else if (c === '{' || c === '[' || c === '(') depth++;
    else if (c === '}' || c === ']' || c === ')') depth--;
  }
  return !inString && depth <= 0 && !/\\\n?$/.test(s);
}
