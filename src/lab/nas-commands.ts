// Lab-only RouterOS API commands that reach the lab NAS, so that a process other than the one
// running the lab router (`ispctl lab dial`) can dial and hang up simulated subscribers:
//
//   /lab/dial =name=alice =password=pw [=caller-id=AA:BB:CC:DD:EE:FF] [=auth=pap|chap]
//     → !re with the session (.id, name, address, rate-limit, session-id, acct-session-id, ...)
//       then !done =ret=*ID; a refused dial traps (category 4) with =reason=<why>.
//   /lab/hangup =.id=*ID | =.id=<session-id> | =name=alice   (Acct-Terminate-Cause User-Request)
//     → !done once the accounting Stop was answered; no such session traps `no such item`.
//   /lab/sessions/print → one !re per session of the NAS, with its octet counters.

import type { CommandResult, LabCommandHandler, ParsedSentence } from './commands.js';
import { rowSentence, trapSentence } from './commands.js';
import type { LabNas, LabSession } from './nas.js';
import { DialRejectedError } from './nas.js';
import { RouterTrap, TrapCategory, badArgument, noSuchItem } from './trap.js';

/** A session as the lab commands print it. */
export function sessionRow(s: LabSession): Record<string, string> {
  const row: Record<string, string> = {
    '.id': s.id,
    name: s.name,
    service: s.service,
    'caller-id': s.callerId,
    'session-id': s.sessionId,
    'acct-session-id': s.acctSessionId,
    radius: s.radius ? 'true' : 'false',
    auth: s.auth,
    interface: s.interfaceName,
    'bytes-in': String(s.bytesIn),
    'bytes-out': String(s.bytesOut),
  };
  if (s.address) row['address'] = s.address;
  if (s.rateLimit) row['rate-limit'] = s.rateLimit;
  if (s.sessionTimeout !== undefined) row['session-timeout'] = String(s.sessionTimeout);
  if (s.interimMs !== undefined) row['interim-update'] = `${Math.round(s.interimMs / 1000)}s`;
  return row;
}

function checkParams(p: ParsedSentence, allowed: readonly string[]): void {
  for (const name of p.attrs.keys()) {
    if (name === '.proplist') continue;
    if (!allowed.includes(name)) throw badArgument(`unknown parameter ${name}`);
  }
}

function dial(nas: LabNas, p: ParsedSentence): CommandResult {
  checkParams(p, ['name', 'password', 'caller-id', 'auth']);
  const name = p.attrs.get('name');
  if (name === undefined || name === '') throw badArgument('missing value(s) of argument(s) name');
  const auth = p.attrs.get('auth');
  if (auth !== undefined && auth !== 'pap' && auth !== 'chap') throw badArgument('invalid value for argument auth (pap or chap)');
  const callerId = p.attrs.get('caller-id');
  const deferred = nas
    .dial({
      username: name,
      password: p.attrs.get('password') ?? '',
      ...(callerId ? { callerId } : {}),
      ...(auth ? { auth } : {}),
    })
    .then(
      (s) => [rowSentence(sessionRow(s)), ['!done', `=ret=${s.id}`]],
      (e: unknown) => {
        if (e instanceof DialRejectedError) {
          return [[...trapSentence(e.message, TrapCategory.general), `=reason=${e.reason}`], ['!done']];
        }
        throw e;
      },
    );
  return { replies: [], deferred };
}

function hangup(nas: LabNas, p: ParsedSentence): CommandResult {
  checkParams(p, ['.id', 'numbers', 'name']);
  const target = p.attrs.get('.id') ?? p.attrs.get('numbers');
  const name = p.attrs.get('name');
  if (target === undefined && name === undefined) throw badArgument('missing value(s) of argument(s) numbers');
  const keys: string[] = [];
  if (target !== undefined) {
    for (const k of target.split(',')) {
      if (!nas.session(k)) throw noSuchItem();
      keys.push(k);
    }
  }
  if (name !== undefined) {
    const mine = nas.sessions().filter((s) => s.name === name);
    if (mine.length === 0 && target === undefined) throw noSuchItem();
    keys.push(...mine.map((s) => s.id));
  }
  const deferred = Promise.all(keys.map((k) => nas.hangup(k))).then(() => [['!done']]);
  return { replies: [], deferred };
}

function printSessions(nas: LabNas, p: ParsedSentence): CommandResult {
  checkParams(p, []);
  const proplistText = p.attrs.get('.proplist');
  const proplist = proplistText === undefined ? undefined : proplistText.split(',').filter((n) => n !== '');
  return { replies: [...nas.sessions().map((s) => rowSentence(sessionRow(s), proplist)), ['!done']] };
}

/** The `/lab/...` commands of a lab NAS, for `startLabRouter({ labCommands })`. */
export function labNasCommands(nas: LabNas): LabCommandHandler {
  return (p, session) => {
    const write = p.command === '/lab/dial' || p.command === '/lab/hangup';
    if (write && session.user.group === 'read') throw new RouterTrap('not enough permissions (9)');
    switch (p.command) {
      case '/lab/dial':
        return dial(nas, p);
      case '/lab/hangup':
        return hangup(nas, p);
      case '/lab/sessions/print':
        return printSessions(nas, p);
      default:
        return undefined;
    }
  };
}
