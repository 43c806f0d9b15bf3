// The one base command: --json envelope, global flags, errors and exit codes decided in one
// place, and lazy access to the database and the core's service context.
import { Command, Errors, Flags, type Interfaces } from '@oclif/core';
import type { ChalkInstance } from 'chalk';
import { maskCommandLine, osUser } from '../core/audit.js';
import { clockFromEnv } from '../core/clock.js';
import type { ServiceContext } from '../core/context.js';
import { describeTarget, resolveTarget, type DatabaseTarget } from '../core/db/config.js';
import { openDatabase, type Database } from '../core/db/connection.js';
import { UniqueViolationError, databaseRefusal, failedStatement } from '../core/db/errors.js';
import { errors } from '../core/error-catalogue.js';
import { environmentError, type EnvironmentContext } from '../core/db/env-errors.js';
import { foreignDatabase, inspectSchema, isUpToDate, migrateLatest } from '../core/db/migrate.js';
import { ispFormatsFrom, isSetUp, readIspFormats, storedSettings } from '../core/settings/service.js';
import { statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { applyNow, describeOutcome, jobIdsOf, mergeOutcomes, type ApplyOutcome, type QueuedJob, type QueuedWork } from '../core/provisioning/apply.js';
import { EXIT_CODES, IspctlError, invalid, isIspctlError } from '../core/errors.js';
import { defaultAskKind, isPromptExit, listWords, missingLabel, type AskKind, type Missing } from './ask.js';
import { colourEnabled, jsonListWriter, makeChalk, renderDetails, toJson } from './output.js';
import type { Formats } from './format.js';
import { ProgressLine } from './progress.js';
import { renderCsv, renderTable, selectColumns, sortRows, tableWidth, type Column } from './table.js';
import { describeError } from '../core/error-text.js';

export type BaseFlags<T extends typeof Command> = Interfaces.InferredFlags<(typeof BaseCommand)['baseFlags'] & T['flags']>;
export type BaseArgs<T extends typeof Command> = Interfaces.InferredArgs<T['args']>;

export interface JsonSuccess<T> {
  ok: true;
  /** The exit code the command ends with: 0, or 3 when router work stays queued. */
  status: number;
  data: T;
  /** Router work this command queued that has not reached its router yet (status 3). */
  queued?: QueuedJob[];
  warnings?: string[];
}

export interface JsonFailure {
  ok: false;
  error: { code: string; message: string; suggestions: string[]; details?: Record<string, unknown> };
}

export abstract class BaseCommand<T extends typeof Command> extends Command {
  static override enableJsonFlag = true;

  static override baseFlags = {
    'database-url': Flags.string({
      summary: 'PostgreSQL URL (postgres://user:pass@host/db). Default: ISPCTL_DATABASE_URL, else DATABASE_URL; unset, the embedded database.',
      helpGroup: 'GLOBAL',
    }),
    'lock-timeout': Flags.integer({
      summary: 'Seconds to wait for another process using the embedded database.',
      env: 'ISPCTL_LOCK_TIMEOUT',
      default: 30,
      min: 0,
      helpGroup: 'GLOBAL',
    }),
    'router-timeout': Flags.integer({
      summary: 'Seconds to wait for routers when a change must reach them now; what does not make it stays queued.',
      env: 'ISPCTL_ROUTER_TIMEOUT',
      default: 5,
      min: 0,
      helpGroup: 'GLOBAL',
    }),
    quiet: Flags.boolean({ char: 'q', summary: 'Print only what scripts need.', helpGroup: 'GLOBAL', exclusive: ['verbose'] }),
    verbose: Flags.boolean({ char: 'v', summary: 'Print more detail on stderr.', helpGroup: 'GLOBAL' }),
  };

  protected flags!: BaseFlags<T>;
  protected args!: BaseArgs<T>;
  protected chalk: ChalkInstance = makeChalk(false);
  /** The database this command opened (migrated or not yet); closed in finally. */
  private opened?: Database;
  /** This command had its database open (for errors: a server gone since was lost mid-run). */
  private reached = false;
  /** The same database once migrated: what db() hands out. */
  private database?: Database;
  private serviceContext?: ServiceContext;
  private warnings: string[] = [];
  /** Exit code for a run that succeeded in part (3): set by markPartial. */
  private partialReason?: string;
  /** What applying router work now achieved, for the envelope. */
  private applied?: ApplyOutcome;

  /** Override to open the database without applying migrations (db status, db migrate). */
  protected autoMigrate = true;
  /**
   * A command that only reads (list, show, status): on a database never initialised it says so
   * and points to `ispctl init` instead of creating an empty schema and printing nothing.
   */
  protected readsOnly = false;
  /**
   * Only a set-up command (init) creates the schema. Every other command, pointed at a database
   * never initialised (no embedded database yet, or an empty PostgreSQL one), says so and creates
   * nothing: a mistyped command on a new machine must not leave a database behind.
   */
  protected createsSchema = false;

  /**
   * How to ask for a required flag or argument when it is missing on a terminal, by name:
   * `plan` and `router` choose from a list, `subscriber` searches, `password` is masked. Flags
   * not named here get a text prompt (a list when the flag has options).
   */
  static ask: Record<string, AskKind> = {};

  public override async init(): Promise<void> {
    await super.init();
    this.chalk = makeChalk(!this.jsonEnabled() && colourEnabled());
    await this.parseOrAsk();
    await this.checkInput();
  }

  /**
   * Checks the command's flags and arguments before the database is created, migrated or written:
   * bad input changes nothing, not even the schema of a database with migrations pending. Runs
   * after parsing, before run(). A command whose values can be wrong overrides it with the core's
   * own parsers (the core checks them again); what it needs of the ISP (currency, time zone)
   * comes from inputFormats(), never from ctx() or db(), which migrate.
   */
  protected async checkInput(): Promise<void> {}

  /**
   * The ISP's currency and time zone for checkInput, read without creating or migrating the
   * database (the defaults where there is none yet: the command then says it is not set up).
   */
  protected async inputFormats(): Promise<Formats> {
    if (this.database) return this.formats();
    const target = this.target;
    if (target.engine === 'pglite' && !embeddedExists(target)) return ispFormatsFrom(new Map());
    return readIspFormats((await this.open(target)).knex);
  }

  /** "Now" on this command's clock (ISPCTL_NOW in tests and demos), for checkInput. */
  protected now(): Date {
    return clockFromEnv(this.env).now();
  }

  /**
   * Parses with required flags and arguments relaxed, then deals with what is missing in one go:
   * on a terminal it asks for each; in a script (--json, or stdin not a terminal) one error
   * names every missing flag and argument.
   */
  private async parseOrAsk(): Promise<void> {
    const ctor = this.ctor as unknown as typeof BaseCommand & { flags?: Record<string, any>; args?: Record<string, any> }; // eslint-disable-line @typescript-eslint/no-explicit-any
    const relax = <V extends { required?: boolean }>(defs: Record<string, V> | undefined) =>
      Object.fromEntries(Object.entries(defs ?? {}).map(([k, d]) => [k, d.required ? { ...d, required: false } : d]));
    const parsed = await this.parse({ ...ctor, flags: relax(ctor.flags), baseFlags: ctor.baseFlags, enableJsonFlag: ctor.enableJsonFlag, args: relax(ctor.args), strict: ctor.strict });
    const flags = parsed.flags as Record<string, unknown>;
    const args = parsed.args as Record<string, unknown>;
    this.flags = flags as BaseFlags<T>;
    this.args = args as BaseArgs<T>;
    const missing: Missing[] = [
      ...Object.entries(ctor.args ?? {})
        .filter(([k, d]) => d.required && args[k] === undefined)
        .map(([k, d]) => ({ name: k, kind: 'arg' as const, label: String(d.description ?? k), options: d.options, ask: ctor.ask[k] ?? defaultAskKind(k, d.options) })),
      ...Object.entries(ctor.flags ?? {})
        .filter(([k, d]) => d.required && flags[k] === undefined)
        .map(([k, d]) => ({ name: k, kind: 'flag' as const, label: String(d.summary ?? d.description ?? k), options: d.options, ask: ctor.ask[k] ?? defaultAskKind(k, d.options) })),
    ];
    if (missing.length === 0) return;
    const names = missing.map(missingLabel);
    if (!this.canPrompt()) {
      // The command as typed so far, with what is missing in its place: `ispctl settings set billing-day VALUE`.
      const given = Object.keys(ctor.args ?? {}).map((k) => (args[k] !== undefined ? shellWord(String(args[k])) : missing.some((m) => m.kind === 'arg' && m.name === k) ? k.toUpperCase() : undefined));
      const usage = [`ispctl ${(this.id ?? '').replaceAll(':', ' ')}`, ...given.filter((w): w is string => w !== undefined), ...missing.filter((m) => m.kind === 'flag').map((m) => `--${m.name} <value>`)].join(' ');
      throw errors.missingFlags(`Missing ${listWords(names)}${this.jsonEnabled() ? '' : ' (not running in a terminal, so ispctl cannot ask)'}.`, [usage, 'Add --help to see what each one means'], {
        missing: missing.map((m) => (m.kind === 'flag' ? `--${m.name}` : m.name)),
      });
    }
    const { askFor } = await import('./ask.js');
    for (const m of missing) {
      const value = await askFor(m, () => this.ctx());
      (m.kind === 'flag' ? flags : args)[m.name] = value;
    }
  }

  /**
   * Asks before a destructive or wide-reaching change unless --yes was given. A script (no
   * terminal, or --json) must pass --yes: it gets an error and nothing changes.
   */
  protected async confirmOrAbort(question: string, what: string, why?: string): Promise<void> {
    if ((this.flags as Record<string, unknown>).yes) return;
    if (!this.canPrompt()) throw errors.confirmationRequired(what, why);
    const { askConfirm } = await import('./ask.js');
    if (!(await askConfirm(question))) throw new IspctlError('CANCELLED', 'Cancelled; nothing was changed.', { kind: 'failure' });
  }

  protected get env(): Record<string, string | undefined> {
    return process.env;
  }

  protected get target(): DatabaseTarget {
    return resolveTarget({ databaseUrl: this.flags['database-url'], env: this.env });
  }

  /** The command line as the audit log records it (secrets masked). */
  protected get commandLine(): string {
    return `ispctl ${[...(this.id ?? '').split(':'), ...maskCommandLine(this.argv).split(' ').filter(Boolean)].join(' ')}`.trim();
  }

  /** Opens the database on first use (waiting for the embedded lock) and migrates it. */
  protected async db(): Promise<Database> {
    if (this.database) return this.database;
    const target = this.target;
    // Using an embedded database that does not exist would create one just to refuse or print nothing.
    if (this.autoMigrate && !this.createsSchema && target.engine === 'pglite' && !embeddedExists(target)) throw this.notInitialised(describeTarget(target));
    // The first start of the embedded database creates it (several seconds on a slow disk).
    const progress = target.engine === 'pglite' && !embeddedExists(target) ? this.progress() : undefined;
    progress?.update({ phase: 'Creating the embedded database' });
    try {
      return await this.openAndMigrate(target, progress);
    } finally {
      progress?.stop();
    }
  }

  /**
   * Whether the database is set up (`ispctl init` ran), found out without creating, migrating or
   * changing anything: a command decides on its input with it before it touches the database.
   */
  protected async databaseSetUp(): Promise<boolean> {
    if (this.database) return isSetUp(this.database.knex);
    const target = this.target;
    if (target.engine === 'pglite' && !embeddedExists(target)) return false;
    return isSetUp((await this.open(target)).knex);
  }

  private notInitialised(location: string): IspctlError {
    return errors.notInitialised(location, this.readsOnly ? 'read' : 'write');
  }

  private async open(target: DatabaseTarget): Promise<Database> {
    this.opened ??= await openDatabase(target, {
      lockTimeoutMs: (this.flags['lock-timeout'] ?? 30) * 1000,
      command: this.commandLine,
      onLockWait: (holder) => {
        const who = holder ? `process ${holder.pid} (${holder.command})` : 'another process';
        this.note(`Waiting for the embedded database, in use by ${who}...`);
      },
    });
    this.reached = true;
    return this.opened;
  }

  private async openAndMigrate(target: DatabaseTarget, progress: ProgressLine | undefined): Promise<Database> {
    const db = await this.open(target);
    if (this.autoMigrate && !(await isUpToDate(db.knex))) {
      const schema = await inspectSchema(db.knex);
      if (schema.kind === 'foreign') throw foreignDatabase(db.location, schema.tables);
      if (schema.kind === 'empty' && !this.createsSchema) throw this.notInitialised(db.location);
      progress?.update({ phase: 'Creating the tables' });
      const applied = await migrateLatest(db.knex);
      if (applied.length) this.debugLine(`applied migrations: ${applied.join(', ')}`);
    }
    this.database = db;
    return db;
  }

  /**
   * Between two transactions of a long command (a collections run between its chunks): on the
   * embedded database served to several processes, lets a command waiting for it (a payment)
   * have its turn. Nothing to do on PostgreSQL, where they run side by side.
   */
  protected async yieldDatabase(): Promise<void> {
    await this.database?.yieldTurn?.();
  }

  /** Closes the database this command opened, so others can use the embedded one meanwhile. */
  protected async releaseDatabase(): Promise<void> {
    const db = this.opened;
    this.opened = undefined;
    this.database = undefined;
    this.serviceContext = undefined;
    await db?.close();
  }

  /**
   * A separate, short-lived connection and context (the dashboard opens one per refresh, so it
   * never holds the embedded database between refreshes). Waits at most `lockTimeoutMs`.
   */
  protected async openSession(lockTimeoutMs: number): Promise<{ ctx: ServiceContext; close(): Promise<void> }> {
    const db = await openDatabase(this.target, { lockTimeoutMs, command: this.commandLine });
    const ctx: ServiceContext = { db: db.knex, engine: db.engine, clock: clockFromEnv(this.env), actor: { user: osUser(this.env), command: this.commandLine }, env: this.env };
    return { ctx, close: () => db.close() };
  }

  /** The context every core service takes. */
  protected async ctx(): Promise<ServiceContext> {
    if (this.serviceContext) return this.serviceContext;
    const db = await this.db();
    this.serviceContext = {
      db: db.knex,
      engine: db.engine,
      clock: clockFromEnv(this.env),
      actor: { user: osUser(this.env), command: this.commandLine },
      env: this.env,
    };
    return this.serviceContext;
  }

  /** The ISP's currency and time zone, for formatting money and times (src/cli/format.ts). */
  protected async formats(): Promise<Formats> {
    return ispFormatsFrom(await storedSettings((await this.ctx()).db));
  }

  public override async finally(err: Error | undefined): Promise<void> {
    try {
      await this.opened?.close();
    } finally {
      this.opened = undefined;
      this.database = undefined;
      await super.finally(err);
    }
    if (!err && this.partialReason && (process.exitCode === undefined || process.exitCode === 0)) process.exitCode = EXIT_CODES.partial;
  }

  /**
   * Carries what a change queued to the routers now (the core apply step, bounded by
   * --router-timeout) and renders the outcome. What does not make it stays queued (retried by
   * the daemon or `ispctl jobs retry`): the command then exits 3 and its JSON envelope says
   * `"status": 3` with the jobs still `"queued"`.
   */
  protected async applyNow(work: QueuedWork): Promise<ApplyOutcome> {
    if (jobIdsOf(work).length === 0) return this.recordApply({ status: 'none', jobs: 0, applied: 0, failed: 0, routers: [], remaining: 0, queued: [], message: null });
    const ctx = await this.ctx();
    const progress = this.progress();
    progress.update({ phase: 'Sending the changes to the routers' });
    const outcome = await applyNow(ctx, work, { timeoutMs: (this.flags['router-timeout'] ?? 5) * 1000 }).finally(() => progress.stop());
    return this.recordApply(outcome);
  }

  /** Renders an apply outcome (from this command's applyNow or one a service ran) and keeps it for the envelope. */
  protected recordApply(outcome: ApplyOutcome): ApplyOutcome {
    if (outcome.status === 'none') return outcome;
    this.applied = this.applied ? mergeOutcomes(this.applied, outcome) : outcome;
    if (outcome.status === 'partial') this.markPartial(outcome.message ?? describeOutcome(outcome));
    else this.debugLine(`applied ${outcome.applied} router job(s)`);
    return outcome;
  }

  /**
   * After a router change that FreeRADIUS's client list depends on, runs the configured
   * `radius-reload-command`. Its failure is a warning: the change is saved.
   */
  protected async reloadRadius(router: string, reason: string): Promise<void> {
    const ctx = await this.ctx();
    const { runRadiusReload } = await import('../core/provisioning/radius/reload.js');
    const r = await runRadiusReload(ctx, { router, reason });
    if (!r.ran) {
      this.note(this.chalk.dim('FreeRADIUS loads routers at start-up: restart it, or set radius-reload-command to have ispctl do it.'));
    } else if (r.ok) {
      this.debugLine(`radius-reload-command finished in ${r.elapsedMs} ms`);
    } else {
      this.warnLine(`radius-reload-command failed (${r.error}); restart FreeRADIUS by hand so it sees router ${router}.${r.output ? ` Output: ${r.output}` : ''}`);
    }
  }

  // ---- output -------------------------------------------------------------------------------

  /** A line for people on stdout; silent with --json or --quiet. */
  protected say(message = ''): void {
    if (this.jsonEnabled() || this.flags?.quiet || this.csvEnabled()) return;
    process.stdout.write(message + '\n');
  }

  /** Output that --quiet keeps (e.g. an id a script reads); silent with --json. */
  protected essential(message: string): void {
    if (this.jsonEnabled() || this.csvEnabled()) return;
    process.stdout.write(message + '\n');
  }

  /** Progress and notices on stderr; silent with --quiet. */
  protected note(message: string): void {
    if (this.flags?.quiet) return;
    process.stderr.write(message + '\n');
  }

  /**
   * The progress line on stderr for work that can take more than a second (src/cli/progress.ts):
   * pass `.update` as the core's onProgress and call `.stop()` when it returns. Silent with
   * --json or --quiet, or when stderr is not a terminal.
   */
  protected progress(): ProgressLine {
    return new ProgressLine(process.stderr, Boolean(process.stderr.isTTY) && !this.jsonEnabled() && !this.flags?.quiet);
  }

  /** Runs `work` with the progress line, and clears it whatever happens. */
  protected async withProgress<R>(work: (onProgress: ProgressLine['update']) => Promise<R>): Promise<R> {
    const p = this.progress();
    try {
      return await work(p.update);
    } finally {
      p.stop();
    }
  }

  protected debugLine(message: string): void {
    if (this.flags?.verbose) process.stderr.write(this.chalk.dim(message) + '\n');
  }

  protected warnLine(message: string): void {
    this.warnings.push(message);
    if (!this.jsonEnabled()) process.stderr.write(this.chalk.yellow(`Warning: ${message}`) + '\n');
  }

  protected markPartial(reason: string): void {
    this.partialReason = reason;
    this.warnLine(reason);
  }

  /**
   * A list as a table that fits the terminal. The command's main list (the default) follows the
   * list flags when the command takes them (--columns, --sort, --csv, --no-truncate); a
   * secondary table (`secondary: true`) only fits the width and is left out of CSV. `footer`
   * rows (totals) stay last whatever the sort.
   */
  protected table<R>(rows: R[], columns: Column<R>[], opts: { secondary?: boolean; footer?: R[] } = {}): void {
    const f = this.flags as Record<string, unknown>;
    const primary = !opts.secondary;
    if (this.jsonEnabled()) {
      // The JSON is the data as it is; a wrong column name is still an error.
      if (primary) {
        selectColumns(columns, f.columns as string | undefined);
        sortRows([], columns, f.sort as string | undefined);
      }
      return;
    }
    if (this.csvEnabled()) {
      if (!primary) return;
      const cols = selectColumns(columns, f.columns as string | undefined);
      process.stdout.write(renderCsv([...sortRows(rows, columns, f.sort as string | undefined, Boolean(f.desc)), ...(opts.footer ?? [])], cols));
      return;
    }
    if (rows.length === 0) {
      this.say(this.chalk.dim('(none)'));
      return;
    }
    const cols = primary ? selectColumns(columns, f.columns as string | undefined) : columns;
    const sorted = primary ? sortRows(rows, columns, f.sort as string | undefined, Boolean(f.desc)) : rows;
    const width = tableWidth(f.truncate !== false);
    const explicit = primary && typeof f.columns === 'string' && f.columns.trim() !== '';
    process.stdout.write(renderTable([...sorted, ...(opts.footer ?? [])], cols, { width, chalk: this.chalk, explicit }) + '\n');
  }

  /**
   * Whether the main list may be written a page at a time (streamList): as JSON or CSV, in the
   * order it is read (--sort needs every row first). A table is for people and stays whole.
   */
  protected listStreams(): boolean {
    const f = this.flags as Record<string, unknown>;
    return (this.jsonEnabled() || this.csvEnabled()) && (typeof f.sort !== 'string' || f.sort.trim() === '');
  }

  /**
   * The main list written a page at a time as it is read (when listStreams()), so a command
   * listing a million rows holds one page of them: the JSON envelope `--json` gives any result
   * (`{"ok": true, "status": 0, "data": [...]}`, the same text), or the CSV. Waits for stdout to
   * drain between pages. Resolves with the number of rows; the command then returns nothing.
   */
  protected async streamList<R>(pages: AsyncIterable<R[]>, columns: Column<R>[]): Promise<number> {
    const f = this.flags as Record<string, unknown>;
    const cols = selectColumns(columns, f.columns as string | undefined);
    const json = this.jsonEnabled() ? jsonListWriter() : undefined;
    const out = process.stdout;
    const write = async (text: string) => {
      if (text && !out.write(text)) await new Promise<void>((resolve) => out.once('drain', resolve));
    };
    let n = 0;
    if (json) await write(json.head);
    for await (const page of pages) {
      await write(json ? json.page(page) : renderCsv(page, cols, n === 0));
      n += page.length;
    }
    if (json) await write(json.tail(this.warnings));
    else if (n === 0) await write(renderCsv([], cols));
    return n;
  }

  /** A file's text, or standard input for `-`; an unreadable file is FILE_UNREADABLE. `stdin` says how to pass `-`. */
  protected async readInputFile(file: string, stdin = 'use - to read standard input'): Promise<string> {
    try {
      if (file === '-') {
        const chunks: Buffer[] = [];
        for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
        return Buffer.concat(chunks).toString('utf8');
      }
      return await readFile(file, 'utf8');
    } catch (err) {
      throw invalid('FILE_UNREADABLE', `Cannot read ${JSON.stringify(file)}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message}.`, [`Check the path, or ${stdin}`]);
    }
  }

  /** --csv given: the main list prints as CSV and the lines around it are left out. */
  protected csvEnabled(): boolean {
    return Boolean((this.flags as Record<string, unknown> | undefined)?.csv) && !this.jsonEnabled();
  }

  protected details(pairs: Array<[string, unknown]>): void {
    this.say(renderDetails(pairs, this.chalk));
  }

  /** Prompts are allowed only for people: stdin a TTY and --json off. */
  protected canPrompt(): boolean {
    return Boolean(process.stdin.isTTY) && !this.jsonEnabled() && this.env.CI === undefined;
  }

  // ---- JSON envelope and errors -------------------------------------------------------------

  public override logJson(json: unknown): void {
    process.stdout.write(toJson(json) + '\n');
  }

  protected override toSuccessJson(result: unknown): JsonSuccess<unknown> {
    const status = this.partialReason ? EXIT_CODES.partial : 0;
    return {
      ok: true,
      status,
      data: result,
      ...(this.applied?.queued.length ? { queued: this.applied.queued } : {}),
      ...(this.warnings.length ? { warnings: this.warnings } : {}),
    };
  }

  /** What environment errors are judged against: the engine and where its data lives. */
  private environment(): EnvironmentContext {
    try {
      const t = this.target;
      return t.engine === 'pglite' ? { engine: 'pglite', dataDir: t.dataDir } : { engine: 'postgres', location: describeTarget(t), reached: this.reached };
    } catch {
      return {};
    }
  }

  protected override toErrorJson(err: unknown): JsonFailure {
    const e = toUserError(err, this.environment());
    return { ok: false, error: { code: e.code, message: e.message, suggestions: e.suggestions, ...(e.details ? { details: e.details } : {}) } };
  }

  public override async catch(err: Error & { exitCode?: number }): Promise<void> {
    if (err instanceof Errors.ExitError) throw err;
    if (isPromptExit(err)) {
      // Ctrl-C at a prompt: the shell's convention for SIGINT, no message, no stack.
      process.exitCode = 130;
      return;
    }
    const e = toUserError(err, this.environment());
    process.exitCode = e.exitCode;
    if (this.jsonEnabled()) {
      this.logJson(this.toErrorJson(err));
    } else {
      const chalk = makeChalk(colourEnabled(process.stderr));
      const lines = [`${chalk.red('Error:')} ${e.message}`];
      for (const s of e.suggestions) lines.push(`  ${chalk.dim('→')} ${s}`);
      process.stderr.write(lines.join('\n') + '\n');
    }
    if (this.env.DEBUG) {
      const statement = failedStatement(err);
      if (statement) process.stderr.write(`The statement:\n${statement}\n`);
      process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
    }
  }
}

/** A word as a shell reads it back: quoted when it holds anything but plain characters. */
function shellWord(s: string): string {
  return /^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

/** Turns anything thrown into a user-facing error with a code and an exit code. */
export function toUserError(err: unknown, environment?: EnvironmentContext): IspctlError {
  if (isIspctlError(err)) return err;
  const env = environmentError(err, environment);
  if (env) return env;
  if (err instanceof UniqueViolationError) {
    return errors.alreadyExists(err.detail ?? err.constraint ?? 'unique constraint', err);
  }
  if (err instanceof Errors.CLIError) return usageError(err);
  const refused = databaseRefusal(err);
  if (refused) {
    return new IspctlError('DATABASE_REFUSED', `The database refused a statement (SQLSTATE ${refused.sqlstate}): ${refused.text}.`, {
      kind: 'failure',
      cause: err,
      suggestions: ['Run again with DEBUG=1 to see the statement (never the values sent with it) and the stack trace'],
    });
  }
  const message = describeError(err);
  return new IspctlError('INTERNAL_ERROR', message || 'Unexpected error', {
    kind: 'failure',
    cause: err,
    suggestions: ['Run again with DEBUG=1 to see the stack trace'],
  });
}

/**
 * oclif's parse errors put the reason on the lines after a heading ("Parsing --api-port " then
 * "Expected an integer but received: abc"). The message gets the whole reason on one line; the
 * suggestions keep only what to do next.
 */
function usageError(err: InstanceType<typeof Errors.CLIError>): IspctlError {
  const exit = err.oclif?.exit;
  // eslint-disable-next-line no-control-regex
  const lines = err.message.replace(/\u001b\[[0-9;]*m/g, '').split('\n').map((l) => l.trim()).filter(Boolean);
  const kind = exit === 2 || /flag|argument|arg\b|Expected|Missing|Unexpected|Nonexistent|Parsing/i.test(err.message) ? 'invalid' : 'failure';
  const head = lines[0]!.replace(/^Error: /, '');
  const reasons = lines.slice(1).filter((l) => !/^See more help with --help$/.test(l));
  let message: string;
  const parsing = /^Parsing (--[\w-]+)\s*$/.exec(head);
  if (parsing) message = `${parsing[1]}: ${reasons.join('; ')}`;
  else if (/^The following errors? occurred:?$/.test(head)) message = reasons.join('; ');
  else if (/^Missing \d+ required args?:?$/.test(head)) {
    const names = reasons.map((l) => l.split(/\s{2,}/)[0]!.toUpperCase());
    message = `Missing required argument${names.length === 1 ? '' : 's'}: ${names.join(', ')}`;
  } else message = reasons.length && head.endsWith(':') ? `${head} ${reasons.join('; ')}` : head;
  if (kind === 'invalid') return errors.invalidUsage(message || head, err);
  return new IspctlError('FAILED', message || head, { kind, cause: err });
}

/** Whether the embedded database exists; a data directory this user cannot read is said so, not taken for none. */
function embeddedExists(target: { path: string; dataDir: string }): boolean {
  try {
    statSync(target.path);
    return true;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return false;
    throw environmentError(err, { engine: 'pglite', dataDir: target.dataDir }) ?? err;
  }
}

/** Exit 1: the database holds another application's tables; ispctl adds none unless told to. */
export { foreignDatabase };
