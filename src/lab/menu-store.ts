// One menu's rows and the typed handles tests and the lab NAS use. Generic over the schema in
// schema.ts; what needs the whole router (ids, references, derived values, events) comes
// through the StoreHost interface, which RouterState implements.

import type { BoardInfo, FieldDef, MenuDef, RenderContext } from './schema.js';
import { RouterTrap, badArgument, failure, noSuchItem } from './trap.js';
import type { WriteValue, WriteValues } from './types.js';
import type { VersionInfo } from './values.js';
import { formatBool, normalizeId, parseBool, parseId } from './values.js';

/** Stored values of a row (references as ids). */
export type Stored = Record<string, string>;

export interface StoredRow {
  id: string;
  v: Stored;
}

/** A row as printed: `.id` first (for menus with ids), values as text. */
export type RenderedRow = Record<string, string>;

/** Internal writes (the lab NAS, tests) may set read-only fields and touch dynamic entries. */
export interface WriteOptions {
  force?: boolean;
}

export type ChangeOp = 'add' | 'set' | 'remove';

/** What a MenuStore needs from the router it belongs to. */
export interface StoreHost {
  readonly version: VersionInfo;
  readonly bootTime: number;
  readonly board: BoardInfo;
  now(): number;
  allocateId(): string;
  /** Stored form of a written value; undefined means unset. Throws RouterTrap. */
  normalizeField(f: FieldDef, raw: string): string | undefined;
  /** Printed form of a stored reference. */
  refName(f: FieldDef, stored: string): string;
  /** Fill values a menu computes from others (network, keys, generated names). */
  derive(store: MenuStore, values: Stored, existing: StoredRow | undefined): void;
  hasChangeListeners(): boolean;
  emitChange(store: MenuStore, op: ChangeOp, row: StoredRow | undefined, rendered?: RenderedRow): void;
  removeActiveSession(id: string, reason: string): unknown;
  /** Rows other menus contribute to a menu's print (`/interface` lists WireGuard interfaces too). */
  viewRows(store: MenuStore, ctx: RenderContext): RenderedRow[];
}

/** Ids at or above this value are printed after all others (as RouterOS does with built-ins). */
const PINNED_ID = 0x80000000;

function toText(value: WriteValue): string {
  if (typeof value === 'boolean') return value ? 'yes' : 'no';
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw badArgument(`invalid value ${value}`);
    return String(value);
  }
  return value;
}

function textValues(values: Record<string, WriteValue | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(values)) if (v !== undefined) out[k] = toText(v);
  return out;
}

/**
 * One menu's rows. Shared by every kind of menu; what a kind may do is checked by the callers
 * (commands.ts for the API, the typed facades for programmatic use).
 */
export class MenuStore {
  readonly def: MenuDef;
  /** Fields that exist on the emulated version, in print order. */
  readonly fields: readonly FieldDef[];
  private readonly state: StoreHost;
  private readonly fieldMap: Map<string, FieldDef>;
  private readonly rows = new Map<string, StoredRow>();
  private readonly byName = new Map<string, StoredRow>();
  private readonly byKey = new Map<string, string>();
  private singletonValues: Stored = {};

  constructor(state: StoreHost, def: MenuDef) {
    this.state = state;
    this.def = def;
    this.fields = def.fields.filter((f) => !f.available || f.available(state.version));
    this.fieldMap = new Map(this.fields.map((f) => [f.name, f]));
  }

  get path(): string {
    return this.def.path;
  }

  get isSingleton(): boolean {
    return this.def.kind === 'singleton';
  }

  field(name: string): FieldDef | undefined {
    return this.fieldMap.get(name);
  }

  get size(): number {
    return this.rows.size;
  }

  /** Rows in print order: by creation, built-ins with high ids last. */
  *storedRows(): IterableIterator<StoredRow> {
    let pinned: StoredRow[] | undefined;
    for (const row of this.rows.values()) {
      if ((parseId(row.id) ?? 0) >= PINNED_ID) (pinned ??= []).push(row);
      else yield row;
    }
    if (pinned) yield* pinned;
  }

  getStored(id: string): StoredRow | undefined {
    return this.rows.get(normalizeId(id));
  }

  getByName(name: string): StoredRow | undefined {
    return this.byName.get(name);
  }

  /** An item by id, or by name in menus keyed by name (RouterOS accepts names in `numbers`). */
  resolve(token: string): StoredRow {
    const t = token.trim();
    const byId = parseId(t) !== undefined ? this.rows.get(normalizeId(t)) : undefined;
    if (byId) return byId;
    if (this.def.keyedByName) {
      const byName = this.byName.get(t);
      if (byName) return byName;
    }
    throw noSuchItem();
  }

  /** Comma-separated ids or names; every one must exist. Duplicates are dropped. */
  resolveList(tokens: string | readonly string[]): StoredRow[] {
    const list = typeof tokens === 'string' ? tokens.split(',') : tokens.flatMap((t) => t.split(','));
    const out: StoredRow[] = [];
    const seen = new Set<string>();
    for (const token of list) {
      if (token.trim() === '') throw noSuchItem();
      const row = this.resolve(token);
      if (!seen.has(row.id)) {
        seen.add(row.id);
        out.push(row);
      }
    }
    return out;
  }

  renderContext(): RenderContext {
    return { now: this.state.now(), bootTime: this.state.bootTime, version: this.state.version, board: this.state.board };
  }

  /** The row as printed. */
  render(row: StoredRow, ctx: RenderContext = this.renderContext()): RenderedRow {
    return this.renderValues(row.v, row.id, ctx);
  }

  private renderValues(values: Readonly<Stored>, id: string | undefined, ctx: RenderContext): RenderedRow {
    const out: RenderedRow = {};
    if (id !== undefined) out['.id'] = id;
    for (const f of this.fields) {
      if (f.writeOnly) continue;
      let value = f.compute ? f.compute(values, ctx) : values[f.name];
      if (value === undefined) continue;
      if (f.type.kind === 'ref' || f.type.kind === 'ip-or-pool') value = this.state.refName(f, value);
      out[f.name] = value;
    }
    return out;
  }

  renderAll(): RenderedRow[] {
    const ctx = this.renderContext();
    if (this.isSingleton) return [this.renderValues(this.singletonValues, undefined, ctx)];
    const out: RenderedRow[] = [];
    for (const row of this.storedRows()) out.push(this.render(row, ctx));
    out.push(...this.state.viewRows(this, ctx));
    return out;
  }

  renderSingleton(): RenderedRow {
    return this.renderValues(this.singletonValues, undefined, this.renderContext());
  }

  /** A query value in stored spelling: booleans as true/false, ids in upper case. */
  normalizeQueryValue(field: string, value: string): string {
    if (field === '.id') return normalizeId(value);
    const f = this.fieldMap.get(field);
    if (f?.type.kind === 'bool') {
      const b = parseBool(value);
      return b === undefined ? value : formatBool(b);
    }
    return value;
  }

  /** Check and convert written values; returns stored values (undefined = unset the field). */
  private convert(input: Record<string, string>, opts: WriteOptions): Map<string, string | undefined> {
    const out = new Map<string, string | undefined>();
    for (const name of Object.keys(input)) {
      const f = this.fieldMap.get(name);
      if (!f || f.compute || (f.readOnly && !opts.force)) throw badArgument(`unknown parameter ${name}`);
    }
    for (const [name, raw] of Object.entries(input)) {
      const f = this.fieldMap.get(name)!;
      out.set(name, this.state.normalizeField(f, raw));
    }
    return out;
  }

  private checkUnique(values: Stored, self: StoredRow | undefined): void {
    if (this.def.keyedByName) {
      const name = values['name'];
      if (name !== undefined) {
        const other = this.byName.get(name);
        if (other && other !== self) throw failure(this.def.duplicateMessage ?? `${this.def.noun} with the same name already exists`);
      }
    }
    if (this.def.uniqueKey) {
      const key = this.def.uniqueKey(values);
      if (key !== undefined) {
        const other = this.byKey.get(key);
        if (other !== undefined && other !== self?.id) throw failure(this.def.duplicateMessage ?? `${this.def.noun} already exists`);
      }
    }
  }

  private index(row: StoredRow): void {
    if (this.def.keyedByName && row.v['name'] !== undefined) this.byName.set(row.v['name'], row);
    const key = this.def.uniqueKey?.(row.v);
    if (key !== undefined) this.byKey.set(key, row.id);
  }

  private unindex(row: StoredRow): void {
    const name = row.v['name'];
    if (this.def.keyedByName && name !== undefined && this.byName.get(name) === row) this.byName.delete(name);
    const key = this.def.uniqueKey?.(row.v);
    if (key !== undefined && this.byKey.get(key) === row.id) this.byKey.delete(key);
  }

  /** Insert a row with a given id (loading, built-ins, sessions). */
  insert(id: string, values: Stored): StoredRow {
    const row: StoredRow = { id: normalizeId(id), v: values };
    this.rows.set(row.id, row);
    this.index(row);
    return row;
  }

  add(input: Record<string, string>, opts: WriteOptions = {}): StoredRow {
    let before: StoredRow | undefined;
    if (this.def.ordered && input['place-before'] !== undefined) {
      const { 'place-before': target, ...rest } = input;
      before = this.resolvePosition(target!);
      input = rest;
    }
    const converted = this.convert(input, opts);
    const values: Stored = {};
    const missing: string[] = [];
    for (const f of this.fields) {
      const given = converted.get(f.name);
      if (given !== undefined) values[f.name] = given;
      else if (f.default !== undefined) values[f.name] = f.default;
      else if (f.required) missing.push(f.name);
    }
    if (missing.length > 0) throw badArgument(`missing value(s) of argument(s) ${missing.join(', ')}`);
    this.state.derive(this, values, undefined);
    this.checkUnique(values, undefined);
    const row = this.insert(this.state.allocateId(), values);
    if (before) this.moveBefore(row, before);
    this.state.emitChange(this, 'add', row);
    return row;
  }

  /** An item by id, name, or its number in print order (`place-before=0`). */
  resolvePosition(token: string): StoredRow {
    const t = token.trim();
    if (/^\d+$/.test(t)) {
      let i = 0;
      for (const row of this.storedRows()) if (i++ === Number(t)) return row;
      throw noSuchItem();
    }
    return this.resolve(t);
  }

  /** Put `row` just before `target` in print order. */
  moveBefore(row: StoredRow, target: StoredRow): void {
    if (row === target) return;
    const order = [...this.rows.values()].filter((r) => r !== row);
    const at = order.indexOf(target);
    order.splice(at < 0 ? order.length : at, 0, row);
    this.rows.clear();
    for (const r of order) this.rows.set(r.id, r);
  }

  set(rows: readonly StoredRow[], input: Record<string, string>, opts: WriteOptions = {}): void {
    const converted = this.convert(input, opts);
    if (converted.size === 0) return;
    if (!opts.force) for (const row of rows) this.checkWritable(row, 'change');
    if (rows.length > 1 && this.def.keyedByName && converted.get('name') !== undefined) {
      throw failure(this.def.duplicateMessage ?? `${this.def.noun} with the same name already exists`);
    }
    // Check every row first, so a failure leaves nothing half changed.
    const next = rows.map((row) => {
      const values: Stored = { ...row.v };
      for (const [name, value] of converted) {
        const f = this.fieldMap.get(name)!;
        if (value !== undefined) values[name] = value;
        else if (f.required) throw badArgument(`invalid value for argument ${name}`);
        else if (f.default !== undefined) throw badArgument(`invalid value for argument ${name}`);
        else delete values[name];
      }
      this.state.derive(this, values, row);
      this.checkUnique(values, row);
      return values;
    });
    rows.forEach((row, i) => this.replace(row, next[i]!));
  }

  /** `unset`: back to the default, or absent. */
  unset(rows: readonly StoredRow[], names: readonly string[], opts: WriteOptions = {}): void {
    for (const name of names) {
      const f = this.fieldMap.get(name);
      if (!f || f.compute || (f.readOnly && !opts.force)) throw badArgument(`unknown parameter ${name}`);
      if (f.required) throw badArgument(`can not unset ${name}`);
    }
    if (!opts.force) for (const row of rows) this.checkWritable(row, 'change');
    for (const row of rows) {
      const values: Stored = { ...row.v };
      for (const name of names) {
        const f = this.fieldMap.get(name)!;
        if (f.default !== undefined) values[name] = f.default;
        else delete values[name];
      }
      this.state.derive(this, values, row);
      this.replace(row, values);
    }
  }

  private replace(row: StoredRow, values: Stored): void {
    this.unindex(row);
    row.v = values;
    this.index(row);
    this.state.emitChange(this, 'set', row);
  }

  private checkWritable(row: StoredRow, what: 'change' | 'remove'): void {
    if (row.v['dynamic'] === 'true') throw failure(`can not ${what} dynamic`);
    if (what === 'remove' && row.v['default'] === 'true') throw failure(`can not remove default ${this.def.noun}`);
    if (what === 'remove' && this.def.builtin?.includes(row.v['name'] ?? '')) throw failure(`can not remove builtin ${this.def.noun}`);
  }

  remove(rows: readonly StoredRow[], opts: WriteOptions = {}): void {
    if (!opts.force) for (const row of rows) this.checkWritable(row, 'remove');
    for (const row of rows) {
      const rendered = this.state.hasChangeListeners() ? this.render(row) : undefined;
      this.unindex(row);
      this.rows.delete(row.id);
      this.state.emitChange(this, 'remove', row, rendered);
    }
  }

  singletonStored(): Readonly<Stored> {
    return this.singletonValues;
  }

  setSingleton(input: Record<string, string>, opts: WriteOptions = {}): void {
    if (this.def.readOnly && !opts.force) throw badArgument(`unknown parameter ${Object.keys(input)[0] ?? ''}`);
    const converted = this.convert(input, opts);
    if (converted.size === 0) return;
    const values: Stored = { ...this.singletonValues };
    for (const [name, value] of converted) {
      const f = this.fieldMap.get(name)!;
      if (value !== undefined) values[name] = value;
      else if (f.default !== undefined) throw badArgument(`invalid value for argument ${name}`);
      else delete values[name];
    }
    this.singletonValues = values;
    this.state.emitChange(this, 'set', undefined);
  }

  /** Defaults of a singleton (construction). */
  seedSingleton(values: Stored): void {
    const seeded: Stored = {};
    for (const f of this.fields) if (f.default !== undefined && !f.compute) seeded[f.name] = f.default;
    this.singletonValues = { ...seeded, ...values };
  }

  clear(): void {
    this.rows.clear();
    this.byName.clear();
    this.byKey.clear();
  }

  /** Raw rows for saving: `.id` plus stored values, dynamic rows left out. */
  snapshotRows(): Array<Record<string, string>> {
    const out: Array<Record<string, string>> = [];
    for (const row of this.storedRows()) {
      if (row.v['dynamic'] === 'true') continue;
      out.push({ '.id': row.id, ...row.v });
    }
    return out;
  }

  /** Replace all rows from a snapshot (unknown fields dropped). */
  loadRows(rows: ReadonlyArray<Record<string, unknown>>): void {
    this.clear();
    for (const raw of rows) {
      const id = raw['.id'];
      if (typeof id !== 'string' || parseId(id) === undefined) throw new Error(`state file: ${this.path}: row without a valid .id`);
      const values: Stored = {};
      for (const f of this.fields) {
        const v = raw[f.name];
        if (typeof v === 'string' && !f.compute) values[f.name] = v;
      }
      if (values['dynamic'] === 'true') continue;
      if (this.def.keyedByName && values['name'] !== undefined && this.byName.has(values['name'])) {
        throw new Error(`state file: ${this.path}: duplicate name ${JSON.stringify(values['name'])}`);
      }
      if (this.rows.has(normalizeId(id))) throw new Error(`state file: ${this.path}: duplicate id ${id}`);
      this.insert(id, values);
    }
  }
}

/** Typed handle on a menu with rows (`/ppp/secret`, `/queue/simple`, …). */
export class ListMenu<R> {
  private readonly store: MenuStore;
  private readonly state: StoreHost;

  constructor(state: StoreHost, store: MenuStore) {
    this.state = state;
    this.store = store;
  }

  get path(): string {
    return this.store.path;
  }

  get size(): number {
    return this.store.size;
  }

  /** Every row, in print order. */
  list(): R[] {
    return this.store.renderAll() as R[];
  }

  find(predicate: (row: R) => boolean): R[] {
    return this.list().filter(predicate);
  }

  /** By id (`*1A`) or, in menus keyed by name, by name. O(1). */
  get(idOrName: string): R | undefined {
    try {
      return this.store.render(this.store.resolve(idOrName)) as R;
    } catch (e) {
      if (e instanceof RouterTrap) return undefined;
      throw e;
    }
  }

  /** Adds a row; returns it as printed. Throws RouterTrap like the API would trap. */
  add(values: WriteValues<R>, opts: WriteOptions = {}): R {
    this.checkKind('add');
    return this.store.render(this.store.add(textValues(values), opts)) as R;
  }

  /** Sets fields of one or more rows (ids or names, or comma-separated lists of them). */
  set(target: string | readonly string[], values: WriteValues<R>, opts: WriteOptions = {}): void {
    this.checkKind('set');
    this.store.set(this.store.resolveList(target), textValues(values), opts);
  }

  unset(target: string | readonly string[], fields: readonly string[], opts: WriteOptions = {}): void {
    this.checkKind('set');
    this.store.unset(this.store.resolveList(target), fields, opts);
  }

  remove(target: string | readonly string[], opts: WriteOptions = {}): void {
    if (this.store.def.kind === 'active') {
      for (const row of this.store.resolveList(target)) this.state.removeActiveSession(row.id, 'admin-reset');
      return;
    }
    this.checkKind('remove');
    this.store.remove(this.store.resolveList(target), opts);
  }

  enable(target: string | readonly string[], opts: WriteOptions = {}): void {
    this.set(target, { disabled: 'no' } as WriteValues<R>, opts);
  }

  disable(target: string | readonly string[], opts: WriteOptions = {}): void {
    this.set(target, { disabled: 'yes' } as WriteValues<R>, opts);
  }

  private checkKind(op: 'add' | 'set' | 'remove'): void {
    const kind = this.store.def.kind;
    if (kind === 'active' || (kind === 'fixed' && op !== 'set')) throw new RouterTrap('no such command', 0);
  }
}

/** Typed handle on a singleton menu (`/ppp/aaa`, `/system/identity`, …). */
export class SingletonMenu<R> {
  private readonly store: MenuStore;

  constructor(store: MenuStore) {
    this.store = store;
  }

  get path(): string {
    return this.store.path;
  }

  get(): R {
    return this.store.renderSingleton() as R;
  }

  set(values: WriteValues<R>, opts: WriteOptions = {}): void {
    this.store.setSingleton(textValues(values), opts);
  }
}
