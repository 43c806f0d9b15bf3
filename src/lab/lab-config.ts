// Where a running lab router (`ispctl lab start`) keeps its files, and how other commands
// (`ispctl lab dial`) find it: the state file holds the configuration (users and their
// passwords included, as a router's own configuration does; mode 0600), and a small runtime
// file next to it says where the running router listens and which process runs it.

import { randomBytes } from 'node:crypto';
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { readStateFile, writeFileAtomic } from './persistence.js';

/** Default state file of the lab router in a data directory. */
export function defaultLabStateFile(dataDir: string): string {
  return join(dataDir, 'lab', 'router.json');
}

/** The runtime file that goes with a state file: `router.json` → `router.runtime.json`. */
export function runtimeFileFor(stateFile: string): string {
  return stateFile.endsWith('.json') ? `${stateFile.slice(0, -5)}.runtime.json` : `${stateFile}.runtime.json`;
}

export interface LabRuntimeInfo {
  format: 'ispctl-lab-runtime';
  formatVersion: 1;
  pid: number;
  host: string;
  port: number;
  tlsPort?: number;
  /** API user created for the operator (the password is in the state file). */
  user: string;
  identity: string;
  version: string;
  nasAddress: string;
  stateFile: string;
  startedAt: string;
}

export async function writeRuntimeFile(file: string, info: LabRuntimeInfo): Promise<void> {
  await writeFileAtomic(file, `${JSON.stringify(info, null, 2)}\n`);
}

export async function removeRuntimeFile(file: string): Promise<void> {
  await rm(file, { force: true });
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * The runtime file of a lab router that is running now, or undefined (no file, unreadable, or
 * its process is gone: a stale file from a crash).
 */
export async function readRuntimeFile(file: string): Promise<LabRuntimeInfo | undefined> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    return undefined;
  }
  let info: Partial<LabRuntimeInfo>;
  try {
    info = JSON.parse(text) as Partial<LabRuntimeInfo>;
  } catch {
    return undefined;
  }
  if (info.format !== 'ispctl-lab-runtime' || typeof info.pid !== 'number' || typeof info.port !== 'number' || typeof info.host !== 'string') {
    return undefined;
  }
  if (!processAlive(info.pid)) return undefined;
  return info as LabRuntimeInfo;
}

/** The API password of `user` as saved in a lab state file, or undefined. */
export async function readSavedApiPassword(stateFile: string, user: string): Promise<string | undefined> {
  let snapshot: unknown;
  try {
    snapshot = await readStateFile(stateFile);
  } catch {
    return undefined;
  }
  const users = (snapshot as { lists?: Record<string, unknown> } | undefined)?.lists?.['/user'];
  if (!Array.isArray(users)) return undefined;
  const row = users.find((u) => typeof u === 'object' && u !== null && (u as Record<string, unknown>)['name'] === user) as
    | Record<string, unknown>
    | undefined;
  const password = row?.['password'];
  return typeof password === 'string' ? password : undefined;
}

/** A password for a new lab router: 20 (or `length`) characters, letters and digits. */
export function generateLabPassword(length = 20): string {
  const alphabet = 'ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789';
  const bytes = randomBytes(length);
  let out = '';
  for (const b of bytes) out += alphabet[b % alphabet.length];
  return out;
}

/** Quote a word for a POSIX shell when it needs it. */
export function shellQuote(word: string): string {
  if (/^[A-Za-z0-9_@%+=:,./-]+$/.test(word)) return word;
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

export interface RouterAddLineOptions {
  name: string;
  host: string;
  port: number;
  user: string;
  /** Left out (ispctl then asks for it, or reads it from the environment) when undefined. */
  password?: string;
  tls?: boolean;
  /** `api` (default) or `radius`. */
  mode?: 'api' | 'radius';
  nasAddress?: string;
  coaPort?: number;
  /** RADIUS mode: the shared secret the router's /radius entry has. */
  radiusSecret?: string;
}

/** The `ispctl router add …` line that registers a lab router. */
export function routerAddLine(o: RouterAddLineOptions): string {
  const words = ['ispctl', 'router', 'add', shellQuote(o.name), '--host', o.host, '--api-port', String(o.port), '--api-user', shellQuote(o.user)];
  if (o.password !== undefined) words.push('--api-password', shellQuote(o.password));
  if (o.tls) words.push('--tls', '--no-tls-verify');
  words.push('--mode', o.mode ?? 'api');
  if (o.nasAddress) words.push('--nas-address', o.nasAddress);
  if (o.coaPort !== undefined) words.push('--coa-port', String(o.coaPort));
  if (o.radiusSecret !== undefined) words.push('--radius-secret', shellQuote(o.radiusSecret));
  return words.join(' ');
}
