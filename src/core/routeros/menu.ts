// Typed helpers for the usual menu commands: print, add, set, remove, enable, disable.
// `menu` is a path such as `/ppp/secret`; the helpers append the command.

import { RouterOSArgumentError, RouterOSProtocolError } from './errors.js';
import type { CommandOptions, CommandResult, Row, WriteOptions } from './client.js';
import { type Params, type Query, assertCommand, q } from './query.js';

/** What the helpers need from a client (RouterOSClient, or anything that forwards to one). */
export interface RouterOSWriter {
  write(command: string, params?: Params, opts?: WriteOptions): Promise<CommandResult>;
}

export interface PrintOptions extends CommandOptions {
  /** Conditions, ANDed; build them with `q`. */
  where?: readonly Query[];
  /** Properties to return. */
  proplist?: readonly string[];
  /** Return only the number of matching items. */
  countOnly?: boolean;
}

function menuCommand(menu: string, command: string): string {
  assertCommand(menu);
  return `${menu}/${command}`;
}

function commandOptions(opts: CommandOptions): CommandOptions {
  const out: CommandOptions = {};
  if (opts.timeoutMs !== undefined) out.timeoutMs = opts.timeoutMs;
  if (opts.signal !== undefined) out.signal = opts.signal;
  return out;
}

function checkId(id: string): string {
  if (typeof id !== 'string' || id === '' || id.includes(',') || id.includes('\0')) {
    throw new RouterOSArgumentError(`invalid RouterOS item id ${JSON.stringify(id)}`);
  }
  return id;
}

function idList(ids: string | readonly string[]): string {
  const list = typeof ids === 'string' ? [ids] : [...ids];
  if (list.length === 0) throw new RouterOSArgumentError('at least one item id is required');
  return list.map(checkId).join(',');
}

function checkFields(fields: Params, command: string): void {
  if ('.id' in fields) throw new RouterOSArgumentError(`${command}: pass the item id as its own argument, not in fields`);
}

/** `print`: matching rows, or their number with `countOnly`. */
export function print(client: RouterOSWriter, menu: string, opts?: PrintOptions & { countOnly?: false }): Promise<Row[]>;
export function print(client: RouterOSWriter, menu: string, opts: PrintOptions & { countOnly: true }): Promise<number>;
export async function print(client: RouterOSWriter, menu: string, opts: PrintOptions = {}): Promise<Row[] | number> {
  const command = menuCommand(menu, 'print');
  const write: WriteOptions = { ...commandOptions(opts) };
  if (opts.where) write.query = opts.where;
  if (opts.proplist && !opts.countOnly) write.proplist = opts.proplist;
  if (opts.countOnly) {
    const res = await client.write(command, { 'count-only': '' }, write);
    const n = res.ret === undefined ? NaN : Number(res.ret);
    if (!Number.isInteger(n) || n < 0) throw new RouterOSProtocolError(`${command} count-only returned ${JSON.stringify(res.ret)}, not a count`);
    return n;
  }
  const res = await client.write(command, undefined, write);
  return res.rows;
}

/** The item with this id, or undefined. */
export async function get(client: RouterOSWriter, menu: string, id: string, opts: Omit<PrintOptions, 'where' | 'countOnly'> = {}): Promise<Row | undefined> {
  const rows = await print(client, menu, { ...opts, where: [q.eq('.id', checkId(id))] });
  return rows[0];
}

/** `add`: creates an item and returns its new `*ID`. */
export async function add(client: RouterOSWriter, menu: string, fields: Params, opts: CommandOptions = {}): Promise<string> {
  const command = menuCommand(menu, 'add');
  checkFields(fields, command);
  const res = await client.write(command, fields, commandOptions(opts));
  if (res.ret === undefined || res.ret === '') throw new RouterOSProtocolError(`${command} did not return the new item's id`);
  return res.ret;
}

/** `set`: changes fields of one item (or several, given a list of ids). */
export async function set(client: RouterOSWriter, menu: string, id: string | readonly string[], fields: Params, opts: CommandOptions = {}): Promise<void> {
  const command = menuCommand(menu, 'set');
  checkFields(fields, command);
  await client.write(command, { '.id': idList(id), ...fields }, commandOptions(opts));
}

/** `remove`: deletes one or several items. */
export async function remove(client: RouterOSWriter, menu: string, id: string | readonly string[], opts: CommandOptions = {}): Promise<void> {
  await client.write(menuCommand(menu, 'remove'), { '.id': idList(id) }, commandOptions(opts));
}

/** `enable`: one or several items. */
export async function enable(client: RouterOSWriter, menu: string, id: string | readonly string[], opts: CommandOptions = {}): Promise<void> {
  await client.write(menuCommand(menu, 'enable'), { '.id': idList(id) }, commandOptions(opts));
}

/** `disable`: one or several items. */
export async function disable(client: RouterOSWriter, menu: string, id: string | readonly string[], opts: CommandOptions = {}): Promise<void> {
  await client.write(menuCommand(menu, 'disable'), { '.id': idList(id) }, commandOptions(opts));
}
