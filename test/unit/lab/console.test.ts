// The lab router's console: RouterOS script syntax (strings and escapes, lines, blocks, paths),
// the scripting commands, menu commands on the lab state, errors as RouterOS prints them, and
// scripts pasted twice.
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { bytesFromText, textFromBytes } from '../../../src/lab/bytes.js';
import { parseScript, quoteScriptString, runScript, scriptIsComplete } from '../../../src/lab/console/index.js';
import { RouterState } from '../../../src/lab/state.js';
import { publicKeyOf } from '../../../src/lab/wireguard-keys.js';

function lab(version?: string): RouterState {
  return new RouterState(version ? { version } : {});
}

/** Run and expect no errors; returns the output. */
function ok(state: RouterState, script: string): string {
  const r = runScript(state, script);
  expect(r.errors, r.output).toEqual([]);
  return r.output;
}

/** Bytes of a one-value `:put`, newline removed. */
function putBytes(state: RouterState, literal: string): Buffer {
  const out = bytesFromText(ok(state, `:put ${literal}`));
  expect(out[out.length - 1]).toBe(0x0a);
  return out.subarray(0, -1);
}

describe('lab console: strings and escapes', () => {
  it('reads every escape RouterOS defines', () => {
    const s = lab();
    expect(putBytes(s, '"a\\"b\\\\c"').toString()).toBe('a"b\\c');
    expect([...putBytes(s, '"\\n\\r\\t\\a\\b\\f\\v\\_"')]).toEqual([0x0a, 0x0d, 0x09, 0x07, 0x08, 0x0c, 0x0b, 0x20]);
    expect(putBytes(s, '"cost \\$5 or \\?"').toString()).toBe('cost $5 or ?');
    // \XX is a byte in hex with capital letters; lower-case letters are the named escapes.
    expect([...putBytes(s, '"\\F1\\00\\7F\\0A"')]).toEqual([0xf1, 0x00, 0x7f, 0x0a]);
    expect([...putBytes(s, '"\\ab"')]).toEqual([0x07, 0x62]);
    // UTF-8 written as bytes reads as the character.
    expect(ok(s, ':put "Ni\\C3\\B1o"')).toBe('Niño\n');
  });

  it('refuses what RouterOS would not read as the same string', () => {
    const s = lab();
    for (const bad of [':put "a$"', ':put "what?"', ':put "\\q"', ':put "\\A"', ':put "open', ':put "\\Fg"']) {
      const r = runScript(s, bad);
      expect(r.errors.map((e) => e.kind), bad).toEqual(['syntax']);
      expect(r.output).toMatch(/^syntax error \(line 1 column \d+\)\n$/);
    }
  });

  it('interpolates $var, $(expr) and $[cmd] inside strings', () => {
    const s = lab();
    expect(ok(s, ':local n "x"; :put "a-$n-$(1 + 2)-$[:len "abcd"]"')).toBe('a-x-3-4\n');
  });

  it('any byte sequence, escaped, comes back exactly: through :put, the state and back', () => {
    const s = lab();
    const samples: Buffer[] = [
      Buffer.from(Array.from({ length: 256 }, (_, i) => i)),
      Buffer.from('"; /system reset-configuration; :put "', 'utf8'),
      Buffer.from('$x $(y) $[z] ? \\ \\" \n\r\t end', 'utf8'),
      Buffer.from([0x4e, 0x69, 0xf1, 0x6f]),
      Buffer.from('Niño ☃ 🚀', 'utf8'),
      Buffer.from([0xc3]),
    ];
    for (let i = 0; i < 30; i++) samples.push(randomBytes(1 + (i % 17) * 7));
    for (const [n, bytes] of samples.entries()) {
      const quoted = quoteScriptString(bytes);
      expect(quoted).toMatch(/^"[\x20-\x7e]*"$/);
      expect(putBytes(s, quoted).equals(bytes), quoted).toBe(true);
      ok(s, `/ip pool add name=p${n} ranges=10.0.0.1 comment=${quoted}`);
      const stored = s.menu('/ip/pool').get(`p${n}`)!;
      expect(bytesFromText(stored.comment ?? '').equals(bytes), quoted).toBe(true);
      // And what is stored, quoted again, is the same script.
      expect(quoteScriptString(stored.comment ?? '')).toBe(quoted);
    }
  });

  it('keeps hostile values inside the string: nothing else runs', () => {
    const s = lab();
    const hostile = 'x"; /ip pool add name=evil ranges=1.1.1.1; :put "';
    ok(s, `/ip pool add name=good ranges=10.0.0.1 comment=${quoteScriptString(hostile)}`);
    expect(s.menu('/ip/pool').list().map((p) => p.name)).toEqual(['good']);
    expect(s.menu('/ip/pool').get('good')!.comment).toBe(hostile);
  });
});

describe('lab console: lines, blocks and menu paths', () => {
  it('ends lines at ; and newlines, skips comments, joins backslash continuations', () => {
    const s = lab();
    const out = ok(
      s,
      [
        '# a comment line',
        '/ip pool add name=a ranges=10.0.0.1-10.0.0.9; /ip pool add \\',
        '    name=b ranges=10.1.0.1   # trailing comment',
        '  :put [/ip pool print count-only]',
      ].join('\r\n'),
    );
    expect(out).toBe('2\n2\n');
    expect(s.menu('/ip/pool').get('b')!.ranges).toBe('10.1.0.1');
  });

  it('relative commands after a menu line, / and /ip/pool/add forms, [find] in the command’s own menu', () => {
    const s = lab();
    ok(
      s,
      [
        '/ip pool',
        'add name=one ranges=10.0.0.1',
        'set [find where name="one"] comment=first',
        '/ip/pool/add name=two ranges=10.0.0.2',
        '/',
        'ip pool add name=three ranges=10.0.0.3',
        '/interface wireguard add name=wg1',
        '/interface wireguard peers add interface=wg1 public-key="' + publicKeyOf(Buffer.alloc(32, 7).toString('base64')) + '" allowed-address=10.99.0.1/32',
      ].join('\n'),
    );
    expect(s.menu('/ip/pool').list().map((p) => [p.name, p.comment])).toEqual([
      ['one', 'first'],
      ['two', undefined],
      ['three', undefined],
    ]);
    expect(s.menu('/interface/wireguard/peers').list()[0]!.interface).toBe('wg1');
  });

  it('blocks: a path change inside stays inside; :local lives for one terminal line', () => {
    const s = lab();
    const r = runScript(s, ['{ /ip pool; add name=in ranges=10.0.0.1 }', 'add name=out ranges=10.0.0.2', ':local x "kept"; :put $x', ':put "[$x]"'].join('\n'));
    // `add` at the root is not a command.
    expect(r.errors.map((e) => e.message)).toEqual(['bad command name add (line 2 column 1)']);
    // The check runs before anything: nothing was added.
    expect(s.menu('/ip/pool').size).toBe(0);
    expect(ok(s, ':local x "kept"; :put $x\n:put "[$x]"')).toBe('kept\n[]\n');
    expect(ok(s, ':global g "everywhere"\n:put $g')).toBe('everywhere\n');
    expect(ok(s, ':put $g')).toBe('everywhere\n');
  });

  it('syntax errors say where, and nothing of the script runs', () => {
    const s = lab();
    const r = runScript(s, '/ip pool add name=a ranges=10.0.0.1\n:if (1 = 1) do={ :put "x" ');
    expect(r.errors).toMatchObject([{ kind: 'syntax', line: 2 }]);
    expect(r.output).toMatch(/^syntax error \(line 2 column \d+\)\n$/);
    expect(s.menu('/ip/pool').size).toBe(0);
    expect(runScript(s, '/ip pool add name=a ranges=10.0.0.1 bogus=1').output).toBe('expected end of command (line 1 column 37)\n');
    expect(s.menu('/ip/pool').size).toBe(0);
  });

  it('tells a complete terminal line from one that needs more', () => {
    expect(scriptIsComplete(':put 1')).toBe(true);
    expect(scriptIsComplete(':if (1=1) do={')).toBe(false);
    expect(scriptIsComplete(':put "a{"')).toBe(true);
    expect(scriptIsComplete(':put "open')).toBe(false);
    expect(scriptIsComplete('/ip pool add \\')).toBe(false);
  });

  it('parses a statement list with positions', () => {
    const stmts = parseScript('/ip pool add name=x\n  :put "y"');
    expect(stmts.map((s) => s.pos)).toEqual([
      { line: 1, column: 1 },
      { line: 2, column: 3 },
    ]);
  });
});

describe('lab console: scripting commands', () => {
  it(':if / else, :foreach, :for, :while, :do on-error, operators', () => {
    const s = lab();
    const out = ok(
      s,
      [
        ':local n 3',
        '{ :local n 3; :if ($n > 2 && !($n = 5)) do={ :put "big" } else={ :put "small" } }',
        '{ :local total 0; :foreach i in={1;2} do={ } ; :put "x" }'.replace('{1;2}', '[:toarray "1,2,3"]'),
        '{ :local t 0; :foreach i in=[:toarray "1,2,3"] do={ :set t ($t + $i) }; :put $t }',
        '{ :local t ""; :for i from=1 to=3 do={ :set t ($t . $i) }; :put $t }',
        '{ :local i 0; :while ($i < 4) do={ :set i ($i + 1) }; :put $i }',
        ':do { :error "boom" } on-error={ :put "caught" }',
        ':put ("a" . "b" . 1)',
        ':put (10.0.0.5 in 10.0.0.0/24)',
        ':put ("wg-isp" ~ "^wg-")',
        ':put (1 != 2 || false)',
      ].join('\n'),
    );
    expect(out).toBe('big\nx\n6\n123\n4\ncaught\nab1\ntrue\ntrue\ntrue\n');
  });

  it('-> reads array items; :parse defers a command the version lacks to run time, where :do on-error catches it', () => {
    const s = lab();
    ok(s, '/ip pool add name=a ranges=10.0.0.1');
    expect(ok(s, ':foreach p in=[/ip pool print as-value] do={ :put ($p->"name" . " " . $p->"ranges") }')).toBe('a 10.0.0.1\n');
    expect(ok(s, ':local l [:toarray "x,y"]; :put ($l->1)')).toBe('y\n');
    const v6 = lab('6.49.17');
    const probe = ':local wg "none"; :do { :set wg [[:parse ":return [/interface wireguard print count-only]"]] } on-error={ :set wg "unsupported" }; :put $wg';
    expect(ok(v6, probe)).toBe('unsupported\n');
    expect(ok(s, probe.replace(':return ', ''))).toBe('0\n0\n');
    expect(runScript(v6, '[:parse "/interface wireguard print"]').output).toBe('bad command name wireguard (line 1 column 12)\n');
  });

  it(':len counts bytes, :pick, :tostr, :tonum, :typeof, :find', () => {
    const s = lab();
    expect(ok(s, ':put [:len "ñ"]; :put [:len [:toarray "a,b"]]')).toBe('2\n2\n');
    expect(ok(s, ':put [:pick "hello" 1 3]; :put [:pick "hello" 4]')).toBe('el\no\n');
    expect(ok(s, ':put [:typeof 5]; :put [:typeof "5"]; :put [:typeof [:tonum "5"]]; :put [:typeof [/ip pool find]]; :put [:typeof $nope]')).toBe(
      'num\nstr\nnum\narray\nnil\n',
    );
    expect(ok(s, ':put [:tostr 42]; :put [:find "abcd" "c"]')).toBe('42\n2\n');
  });
});

describe('lab console: menus', () => {
  it('find where / find name= / get / print count-only / print as-value', () => {
    const s = lab();
    ok(s, '/ppp profile add name=10M rate-limit=10M/10M\n/ppp profile add name=5M rate-limit="5M/5M" comment="Five"');
    expect(ok(s, ':put [:len [/ppp profile find where name="10M"]]; :put [:len [/ppp profile find name=5M]]')).toBe('1\n1\n');
    expect(ok(s, ':put [/ppp profile get [find name=5M] rate-limit]')).toBe('5M/5M\n');
    expect(ok(s, ':put [/ppp profile get 5M comment]')).toBe('Five\n');
    expect(ok(s, '/ppp profile print count-only where rate-limit~"^10"')).toBe('1\n');
    expect(ok(s, ':put [/ppp profile print count-only]')).toBe('4\n4\n');
    expect(ok(s, ':foreach p in=[/ppp profile print as-value where !default] do={ :put ($p->"name") }'.replace('($p->"name")', '[:len $p]'))).toMatch(/^\d+\n\d+\n$/);
    expect(ok(s, ':put [/system resource get version]; :put [/system identity get name]')).toBe('7.18.2 (stable)\nMikroTik\n');
    expect(ok(s, ':put [/system routerboard get model]')).toBe('CHR\n');
    expect(ok(s, ':put [:typeof [/ip service get api disabled]]')).toBe('bool\n');
  });

  it('export prints what would make the menu, and it runs back to the same items', () => {
    const s = lab();
    ok(s, '/ip pool add name=a ranges=10.0.0.1-10.0.0.9 comment="x \\"y\\""\n/ip service set www-ssl disabled=no\n/ppp aaa set use-radius=yes');
    const exported = ok(s, '/ip pool export\n/ppp aaa export\n/ip service export');
    expect(exported).toContain('/ip pool\nadd name=a ranges=10.0.0.1-10.0.0.9 comment="x \\"y\\""\n');
    expect(exported).toContain('/ppp aaa\nset use-radius=yes\n');
    const copy = lab();
    ok(copy, exported);
    expect(copy.menu('/ip/pool').list()).toEqual(s.menu('/ip/pool').list().map((r) => ({ ...r, '.id': copy.menu('/ip/pool').list()[0]!['.id'] })));
    expect(copy.singleton('/ppp/aaa').get()).toEqual(s.singleton('/ppp/aaa').get());
    expect(copy.menu('/ip/service').get('www-ssl')!.disabled).toBe('false');
  });

  it('errors as RouterOS prints them', () => {
    const s = lab();
    const run = (script: string) => runScript(s, script).output;
    ok(s, '/ip pool add name=p ranges=10.0.0.1-10.0.0.9');
    expect(run('/ip pool add name=p ranges=10.0.0.1')).toBe('failure: already have such name\n');
    expect(run('/ppp secret add name=u profile=nope')).toBe('input does not match any value of profile\n');
    expect(run('/ip pool set nope ranges=10.0.0.1')).toBe('no such item\n');
    expect(run('/ip pool remove nope')).toBe('no such item\n');
    expect(run('/ip pool frobnicate')).toBe('bad command name frobnicate (line 1 column 10)\n');
    expect(run(':frobnicate')).toBe('bad command name frobnicate (line 1 column 2)\n');
    expect(run('/ppp active add name=x')).toBe('bad command name add (line 1 column 13)\n');
    // An error ends its line; the next line runs.
    expect(run('/ip pool add name=p ranges=10.0.0.1; :put "not reached"\n:put "next line"')).toBe(
      'failure: already have such name\nnext line\n',
    );
    // An empty selection changes nothing and is no error.
    expect(run('/ip pool set [find where name="nope"] comment=x')).toBe('');
  });

  it('follows the emulated version: WireGuard from 7, require-message-auth from 7.15', () => {
    expect(runScript(lab('6.49.17'), '/interface wireguard add name=wg-isp').output).toBe('bad command name wireguard (line 1 column 12)\n');
    expect(runScript(lab('7.14'), '/radius add address=10.0.0.1 secret=s require-message-auth=no').output).toBe('expected end of command (line 1 column 39)\n');
    const s = lab('7.15');
    ok(s, '/radius add address=10.0.0.1 secret=s require-message-auth=yes-for-request-resp service=ppp');
    expect(s.menu('/radius').list()[0]!['require-message-auth']).toBe('yes-for-request-resp');
  });

  it('WireGuard: public-key derived from private-key; one generated when add has none', () => {
    const s = lab();
    const priv = Buffer.alloc(32, 1).toString('base64');
    ok(s, `/interface wireguard add name=wg-a private-key="${priv}" listen-port=13231\n/interface wireguard add name=wg-b`);
    const a = s.menu('/interface/wireguard').get('wg-a')!;
    expect(a['public-key']).toBe(publicKeyOf(priv));
    const b = s.menu('/interface/wireguard').get('wg-b')!;
    expect(b['public-key']).toBe(publicKeyOf(b['private-key']));
    expect(ok(s, ':put [/interface find where type=wg]')).toMatch(/^\*[0-9A-F]+;\*[0-9A-F]+\n$/);
    // /interface shows them, and reads them by id and name like its own rows.
    expect(ok(s, ':foreach i in=[/interface find] do={ :put ([/interface get $i name] . " " . [/interface get $i type]) }')).toBe(
      'ether1 ether\nether2 ether\nether3 ether\nether4 ether\nether5 ether\nwg-a wg\nwg-b wg\n',
    );
    expect(ok(s, ':put [/interface get wg-b mtu]; :put [/interface get 0 name]')).toBe('1420\nether1\n');
  });

  it('firewall place-before, user groups with policies, /ip service address', () => {
    const s = lab();
    ok(
      s,
      [
        '/ip firewall filter add chain=input action=drop comment=last',
        '/ip firewall filter add chain=input action=accept protocol=udp dst-port=13231 place-before=0 comment=first',
        '/user group add name=ispctl policy=read,write,api,!ftp,!policy',
        '/user add name=ispctl group=ispctl password="pw"',
        '/ip service set api address=10.99.0.0/24',
        '/ip service set api-ssl address=10.99.0.0/24 disabled=yes',
      ].join('\n'),
    );
    expect(s.menu('/ip/firewall/filter').list().map((r) => r.comment)).toEqual(['first', 'last']);
    expect(s.checkApiLogin({ name: 'ispctl', password: 'pw' })).toEqual({ name: 'ispctl', group: 'write' });
    expect(s.menu('/ip/service').get('api')!.address).toBe('10.99.0.0/24');
    expect(runScript(s, '/user group add name=bad policy=api,root').output).toBe('input does not match any value of policy\n');
    expect(runScript(s, '/user group remove full').output).toBe('failure: can not remove builtin group\n');
  });
});

describe('lab console: pasted twice changes nothing the second time', () => {
  const script = (hubKey: string) =>
    [
      '/interface wireguard',
      ':if ([:len [find where name="wg-isp"]] = 0) do={ add name=wg-isp listen-port=13231 comment="managed by ispctl" } else={ set [find where name="wg-isp"] listen-port=13231 comment="managed by ispctl" }',
      `:if ([:len [/interface wireguard peers find where interface="wg-isp" and public-key="${hubKey}"]] = 0) do={`,
      `  /interface wireguard peers add interface=wg-isp public-key="${hubKey}" endpoint-address=hub.example.net endpoint-port=51820 allowed-address=10.99.0.1/32 persistent-keepalive=25s`,
      '} else={',
      `  /interface wireguard peers set [find where interface="wg-isp" and public-key="${hubKey}"] endpoint-address=hub.example.net endpoint-port=51820`,
      '}',
      ':if ([:len [/ip address find where address="10.99.0.2/24" and interface="wg-isp"]] = 0) do={ /ip address add address=10.99.0.2/24 interface=wg-isp }',
      ':if ([:len [/user group find where name="ispctl"]] = 0) do={ /user group add name=ispctl policy=read,write,api,!ftp } else={ /user group set ispctl policy=read,write,api,!ftp }',
      ':if ([:len [/user find where name="ispctl"]] = 0) do={ /user add name=ispctl group=ispctl password="p\\$\\"w\\?" } else={ /user set ispctl group=ispctl password="p\\$\\"w\\?" }',
      '/ip service set api address=10.99.0.0/24',
      ':if ([:len [/ip firewall filter find where comment="ispctl: management"]] = 0) do={ /ip firewall filter add chain=input action=accept in-interface=wg-isp protocol=tcp dst-port=8728,8729 comment="ispctl: management" place-before=0 }',
      '/ip pool',
      ':if ([:len [find where name="ispctl-pool"]] = 0) do={ add name=ispctl-pool ranges=10.50.0.2-10.50.0.254 } else={ set ispctl-pool ranges=10.50.0.2-10.50.0.254 }',
    ].join('\n');

  it('the second run leaves the configuration exactly as the first', () => {
    const s = lab();
    ok(s, '/ip firewall filter add chain=input action=drop comment="drop all"');
    const hub = publicKeyOf(Buffer.alloc(32, 9).toString('base64'));
    ok(s, script(hub));
    const first = JSON.stringify(s.toJSON());
    ok(s, script(hub));
    expect(JSON.stringify(s.toJSON())).toBe(first);
    expect(s.menu('/interface/wireguard/peers').size).toBe(1);
    expect(s.menu('/ip/firewall/filter').list().map((r) => r.comment)).toEqual(['ispctl: management', 'drop all']);
    expect(s.checkApiLogin({ name: 'ispctl', password: 'p$"w?' })).toEqual({ name: 'ispctl', group: 'write' });
  });
});

describe('lab console: bytes', () => {
  it('a script read as bytes keeps cp1252 bytes it holds', () => {
    const s = lab();
    const script = Buffer.concat([Buffer.from('/ip pool add name=p ranges=10.0.0.1 comment="Ni'), Buffer.from([0xf1]), Buffer.from('o"')]);
    ok(s, textFromBytes(script));
    expect([...bytesFromText(s.menu('/ip/pool').get('p')!.comment!)]).toEqual([0x4e, 0x69, 0xf1, 0x6f]);
    // The state file keeps the bytes too.
    const saved = JSON.stringify(s.toJSON());
    expect(saved).toMatch(/^[\x20-\x7e\n]*$/);
    const reloaded = RouterState.fromJSON(JSON.parse(saved));
    expect([...bytesFromText(reloaded.menu('/ip/pool').get('p')!.comment!)]).toEqual([0x4e, 0x69, 0xf1, 0x6f]);
  });
});
