import { describe, expect, it } from 'vitest';
import { type CommandSession, defaultEmptyReply, defaultLoginMode, handleSentence } from '../../../src/lab/commands.js';
import { createFaults } from '../../../src/lab/faults.js';
import { ApiSession, redactWords, tagSentence } from '../../../src/lab/session.js';
import { RouterState, challengeResponse } from '../../../src/lab/state.js';

function session(opts: { version?: string; adminPassword?: string } = {}, loggedIn = true): CommandSession {
  const state = new RouterState({ version: opts.version, adminPassword: opts.adminPassword });
  const s: CommandSession = { state, loginMode: defaultLoginMode(state), emptyReply: defaultEmptyReply(state), faults: createFaults() };
  if (loggedIn) s.user = { name: 'admin', group: 'full' };
  return s;
}

const run = (s: CommandSession, ...words: string[]) => handleSentence(words, s).replies;

describe('handleSentence: login', () => {
  it('7.x: /login =name= =password= → !done; wrong password → !trap; nothing else before login', () => {
    const s = session({ adminPassword: 'pw' }, false);
    expect(run(s, '/system/identity/print')).toEqual([['!trap', '=message=not logged in'], ['!done']]);
    expect(run(s, '/login', '=name=admin', '=password=bad')).toEqual([['!trap', '=message=invalid user name or password (6)'], ['!done']]);
    expect(run(s, '/login', '=name=admin', '=password=pw')).toEqual([['!done']]);
    expect(run(s, '/system/identity/print')).toEqual([['!re', '=name=MikroTik'], ['!done']]);
  });

  it('before 6.43: any /login gets a challenge; the md5 response logs in', () => {
    const s = session({ version: '6.42.12', adminPassword: 'pw' }, false);
    s.randomBytes = (n) => Buffer.alloc(n, 0xab);
    expect(s.loginMode).toBe('challenge');
    const first = run(s, '/login', '=name=admin', '=password=pw');
    expect(first).toEqual([['!done', `=ret=${'ab'.repeat(16)}`]]);
    const response = challengeResponse('pw', Buffer.alloc(16, 0xab));
    expect(response).toMatch(/^00[0-9a-f]{32}$/);
    expect(run(s, '/login', '=name=admin', `=response=${response}`)).toEqual([['!done']]);
    expect(s.user?.name).toBe('admin');
  });

  it('challenge: a wrong response or a reused challenge fails with "cannot log in"', () => {
    const s = session({ version: '6.40' }, false);
    const [[, ret]] = run(s, '/login');
    const challenge = Buffer.from(ret!.slice('=ret='.length), 'hex');
    expect(run(s, '/login', '=name=admin', `=response=00${'0'.repeat(32)}`)).toEqual([['!trap', '=message=cannot log in'], ['!done']]);
    // The challenge was used up by the failed attempt.
    expect(run(s, '/login', '=name=admin', `=response=${challengeResponse('', challenge)}`)[0]![0]).toBe('!trap');
  });

  it('6.43 … 6.49: plain login works and a bare /login still gets a challenge', () => {
    const s = session({ version: '6.49.17' }, false);
    expect(s.loginMode).toBe('both');
    expect(run(s, '/login')[0]![1]).toMatch(/^=ret=[0-9a-f]{32}$/);
    expect(run(s, '/login', '=name=admin', '=password=')).toEqual([['!done']]);
  });
});

describe('handleSentence: print', () => {
  it('!empty then !done on 7.18+, only !done on 7.16 and 6.x', () => {
    expect(run(session(), '/ppp/secret/print')).toEqual([['!empty'], ['!done']]);
    expect(run(session({ version: '7.16' }), '/ppp/secret/print')).toEqual([['!done']]);
    expect(run(session({ version: '6.49.17' }), '/ppp/secret/print')).toEqual([['!done']]);
    // A query that matches nothing is empty too.
    const s = session();
    run(s, '/ppp/secret/add', '=name=a');
    expect(run(s, '/ppp/secret/print', '?name=b')).toEqual([['!empty'], ['!done']]);
  });

  it('rows print .id first; .proplist picks fields; count-only answers =ret=', () => {
    const s = session();
    const [[, ret]] = run(s, '/ppp/secret/add', '=name=alice', '=password=x', '=service=pppoe');
    const id = ret!.slice('=ret='.length);
    run(s, '/ppp/secret/add', '=name=bob', '=disabled=yes');
    const rows = run(s, '/ppp/secret/print', '?name=alice');
    expect(rows[0]!.slice(0, 3)).toEqual(['!re', `=.id=${id}`, '=name=alice']);
    expect(run(s, '/ppp/secret/print', '=.proplist=name,disabled')).toEqual([
      ['!re', '=name=alice', '=disabled=false'],
      ['!re', '=name=bob', '=disabled=true'],
      ['!done'],
    ]);
    expect(run(s, '/ppp/secret/print', '=count-only=', '?disabled=yes')).toEqual([['!done', '=ret=1']]);
    expect(run(s, '/ppp/secret/print', '=detail=', '=.proplist=name', '?disabled=no')).toEqual([['!re', '=name=alice'], ['!done']]);
    expect(run(s, '/ppp/secret/print', '=colour=red')).toEqual([['!trap', '=category=1', '=message=unknown parameter colour'], ['!done']]);
  });

  it('queries on booleans accept yes/no and ids any case', () => {
    const s = session();
    const [[, ret]] = run(s, '/ppp/secret/add', '=name=a', '=disabled=true');
    const id = ret!.slice('=ret='.length);
    expect(run(s, '/ppp/secret/print', '?disabled=yes', '=.proplist=name')).toEqual([['!re', '=name=a'], ['!done']]);
    expect(run(s, '/ppp/secret/print', `?.id=${id.toLowerCase()}`, '=.proplist=name')).toEqual([['!re', '=name=a'], ['!done']]);
  });

  it('singletons print one row without .id; getall is print', () => {
    const s = session();
    expect(run(s, '/ppp/aaa/getall')).toEqual([['!re', '=use-radius=false', '=accounting=true', '=interim-update=0s'], ['!done']]);
    expect(run(s, '/system/resource/print', '=.proplist=version,board-name')).toEqual([['!re', '=version=7.18.2 (stable)', '=board-name=CHR'], ['!done']]);
  });
});

describe('handleSentence: writes and traps', () => {
  it('add answers !done =ret=*ID; set/remove by id or name; remove takes lists', () => {
    const s = session();
    const ids = ['a', 'b', 'c'].map((n) => run(s, '/ppp/secret/add', `=name=${n}`)[0]![1]!.slice(5));
    expect(ids.every((id) => /^\*[0-9A-F]+$/.test(id))).toBe(true);
    expect(run(s, '/ppp/secret/set', `=.id=${ids[0]}`, '=comment=first')).toEqual([['!done']]);
    expect(run(s, '/ppp/secret/set', '=numbers=b', '=comment=second')).toEqual([['!done']]);
    expect(run(s, '/ppp/secret/set', '=.id=c', '=comment=third')).toEqual([['!done']]);
    expect(run(s, '/ppp/secret/print', '=.proplist=comment')).toEqual([
      ['!re', '=comment=first'],
      ['!re', '=comment=second'],
      ['!re', '=comment=third'],
      ['!done'],
    ]);
    expect(run(s, '/ppp/secret/disable', '=numbers=a,b')).toEqual([['!done']]);
    expect(run(s, '/ppp/secret/print', '=count-only=', '?disabled=true')).toEqual([['!done', '=ret=2']]);
    expect(run(s, '/ppp/secret/enable', '=.id=a')).toEqual([['!done']]);
    expect(run(s, '/ppp/secret/comment', '=numbers=a', '=comment=via comment')).toEqual([['!done']]);
    expect(run(s, '/ppp/secret/unset', '=numbers=a', '=value-name=comment')).toEqual([['!done']]);
    expect(run(s, '/ppp/secret/remove', `=.id=${ids[0]},${ids[1]}`)).toEqual([['!done']]);
    expect(run(s, '/ppp/secret/print', '=.proplist=name')).toEqual([['!re', '=name=c'], ['!done']]);
  });

  it('trap categories: duplicate (none), unknown id (0), bad or missing argument (1), unknown command (0)', () => {
    const s = session();
    run(s, '/ppp/secret/add', '=name=alice');
    expect(run(s, '/ppp/secret/add', '=name=alice')).toEqual([['!trap', '=message=failure: secret with the same name already exists'], ['!done']]);
    expect(run(s, '/ppp/secret/remove', '=.id=*FFFF')).toEqual([['!trap', '=category=0', '=message=no such item'], ['!done']]);
    expect(run(s, '/ppp/secret/set', '=.id=nobody', '=comment=x')).toEqual([['!trap', '=category=0', '=message=no such item'], ['!done']]);
    expect(run(s, '/ppp/secret/add', '=password=x')).toEqual([['!trap', '=category=1', '=message=missing value(s) of argument(s) name'], ['!done']]);
    expect(run(s, '/ppp/secret/add', '=name=b', '=profile=ghost')).toEqual([['!trap', '=category=1', '=message=input does not match any value of profile'], ['!done']]);
    expect(run(s, '/ppp/secret/add', '=name=b', '=local-address=1.2.3')).toEqual([['!trap', '=category=1', '=message=invalid value for argument local-address'], ['!done']]);
    expect(run(s, '/ppp/secret/set', '=comment=x')).toEqual([['!trap', '=category=1', '=message=missing value(s) of argument(s) numbers'], ['!done']]);
    expect(run(s, '/ppp/secret/frobnicate')).toEqual([['!trap', '=category=0', '=message=no such command'], ['!done']]);
    expect(run(s, '/ppp/active/add', '=name=x')).toEqual([['!trap', '=category=0', '=message=no such command'], ['!done']]);
    expect(run(s, '/system/resource/set', '=cpu-load=1')).toEqual([['!trap', '=category=0', '=message=no such command'], ['!done']]);
    expect(run(s, '/nowhere/print')).toEqual([['!trap', '=category=0', '=message=no such command prefix'], ['!done']]);
  });

  it('singletons: set without an id; an id is an unknown parameter', () => {
    const s = session();
    expect(run(s, '/system/identity/set', '=name=edge-1')).toEqual([['!done']]);
    expect(run(s, '/system/identity/print')).toEqual([['!re', '=name=edge-1'], ['!done']]);
    expect(run(s, '/radius/incoming/set', '=accept=yes', '=port=3799')).toEqual([['!done']]);
    expect(run(s, '/ppp/aaa/set', '=.id=*1', '=use-radius=yes')[0]).toEqual(['!trap', '=category=1', '=message=unknown parameter .id']);
  });

  it('/ppp/active/remove ends the session through the state (NAS hook fires)', () => {
    const s = session();
    const sess = s.state.addActiveSession({ name: 'alice', address: '10.0.0.2', rateLimit: '1M/2M' });
    const reasons: string[] = [];
    s.state.on('session-down', (e) => reasons.push(e.reason));
    expect(run(s, '/ppp/active/remove', `=.id=${sess.id}`)).toEqual([['!done']]);
    expect(reasons).toEqual(['admin-reset']);
    expect(run(s, '/queue/simple/print')).toEqual([['!empty'], ['!done']]);
  });

  it('read-only users can print but not write', () => {
    const s = session();
    s.user = { name: 'viewer', group: 'read' };
    expect(run(s, '/ppp/secret/print')).toEqual([['!empty'], ['!done']]);
    expect(run(s, '/ppp/secret/add', '=name=x')).toEqual([['!trap', '=message=not enough permissions (9)'], ['!done']]);
  });

  it('/quit answers !fatal and asks to close', () => {
    const r = handleSentence(['/quit'], session());
    expect(r).toEqual({ replies: [['!fatal', 'session terminated on request']], close: true });
  });

  it('/lab/faults/set and print reach the fault switches', () => {
    const s = session();
    expect(run(s, '/lab/faults/set', '=delay-ms=50', '=drop-after-commands=3')).toEqual([['!done']]);
    expect(s.faults).toMatchObject({ delayMs: 50, dropAfterCommands: 3 });
    expect(run(s, '/lab/faults/print')[0]).toEqual(['!re', '=refuse-connections=false', '=stall-replies=false', '=delay-ms=50', '=drop-after-commands=3', '=stall-after-commands=']);
    expect(run(s, '/lab/faults/set', '=drop-after-commands=')).toEqual([['!done']]);
    expect(s.faults!.dropAfterCommands).toBeNull();
  });
});

describe('ApiSession (no socket)', () => {
  function harness(version?: string) {
    const state = new RouterState({ version });
    const sent: string[][] = [];
    const io = { ended: false, destroyed: false, send: (w: string[]) => void sent.push(w), end: () => void (io.ended = true), destroy: () => void (io.destroyed = true) };
    const faults = createFaults();
    const session = new ApiSession({ state, faults, loginMode: defaultLoginMode(state), emptyReply: defaultEmptyReply(state), io });
    session.receive(['/login', '=name=admin', '=password=']);
    sent.length = 0;
    return { state, sent, io, faults, session };
  }

  it('tags every reply of a tagged command, at varying positions', () => {
    const { sent, session, state } = harness();
    state.menu('/ppp/secret').add({ name: 'a' });
    session.receive(['/ppp/secret/print', '=.proplist=name', '.tag=7']);
    session.receive(['/ppp/secret/add', '=name=a', '.tag=8']);
    session.receive(['/ip/pool/print', '.tag=9']);
    expect(sent).toEqual([
      ['!re', '=name=a', '.tag=7'],
      ['!done', '.tag=7'],
      ['!trap', '=message=failure: secret with the same name already exists', '.tag=8'],
      ['!done', '.tag=8'],
      ['!empty', '.tag=9'],
      ['!done', '.tag=9'],
    ]);
    expect(tagSentence(['!done', '=ret=*1'], 'x', 'varied')).toEqual(['!done', '.tag=x', '=ret=*1']);
    expect(tagSentence(['!done', '=ret=*1'], 'x', 'last')).toEqual(['!done', '=ret=*1', '.tag=x']);
  });

  it('listen streams changes until /cancel, which interrupts it', () => {
    const { sent, session, state } = harness();
    session.receive(['/ppp/active/listen', '.tag=L']);
    expect(sent).toEqual([]);
    const sess = state.addActiveSession({ name: 'alice', address: '10.0.0.2' });
    expect(sent[0]).toEqual(expect.arrayContaining(['!re', `=.id=${sess.id}`, '=name=alice', '.tag=L']));
    state.removeActiveSession(sess.id);
    expect(sent[1]).toEqual(['!re', `=.id=${sess.id}`, '=.dead=true', '.tag=L']);
    session.receive(['/cancel', '=tag=L', '.tag=C']);
    expect(sent.slice(2)).toEqual([
      ['!trap', '=category=2', '=message=interrupted', '.tag=L'],
      ['!done', '.tag=L'],
      ['!done', '.tag=C'],
    ]);
    state.addActiveSession({ name: 'bob' });
    expect(sent).toHaveLength(5);
    expect(session.pending).toBe(0);
  });

  it('drop-after-commands destroys the connection without a reply', () => {
    const { sent, session, faults, io } = harness();
    faults.dropAfterCommands = 1;
    session.receive(['/system/identity/print']);
    session.receive(['/system/identity/print']);
    expect(sent).toEqual([['!re', '=name=MikroTik'], ['!done']]);
    expect(io.destroyed).toBe(true);
  });

  it('never logs passwords', () => {
    expect(redactWords(['/login', '=name=admin', '=password=hunter2'])).toBe('/login =name=admin =password=***');
    expect(redactWords(['/radius/add', '=secret=s3', '=address=127.0.0.1'])).toBe('/radius/add =secret=*** =address=127.0.0.1');
  });
});
