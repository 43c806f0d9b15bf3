// The inspect script: read-only RouterOS script (6.x and 7.x) that prints the one-line report
// (report.ts) a technician pastes back into ispctl. It only reads (`get`, `find`), never reads
// a secret, and uses only menus that exist on RouterOS 6 and 7 (WireGuard interfaces show up in
// /interface with type wg), so one script serves every router.
//
// RouterOS has no string-escaping function, so each value is percent-encoded by a short loop
// written out where it is needed: bytes in REPORT_SAFE stay, every other byte is found in a
// table of all bytes 01..FF and written %XX.
import { REPORT_MAGIC, REPORT_SAFE, REPORT_VERSION } from './report.js';
import { rosName, rosQuote } from './script.js';

const TABLE = Buffer.from(Array.from({ length: 255 }, (_, i) => i + 1));

/** Encodes $v (made a string first) into $e. */
const ENCODE =
  ':set v [:tostr $v]; :set e ""; :if ([:len $v] > 0) do={ :for i from=0 to=([:len $v] - 1) do={ :local c [:pick $v $i]; ' +
  ':if ([:typeof [:find $safe $c]] = "num") do={ :set e ($e . $c) } else={ :local n [:find $tbl $c]; ' +
  ':if ([:typeof $n] = "num") do={ :set n ($n + 1) } else={ :set n 0 }; :set e ($e . "%" . [:pick $hex ($n / 16)] . [:pick $hex ($n % 16)]) } } }';

function field(key: string, valueExpr: string): string[] {
  return [`:set v ${valueExpr}`, ENCODE, `:set out ($out . ";${key}=" . $e)`];
}

/** One list field: each row of `menu` (a `find` filter optional) as its properties joined by `|`. */
function listField(key: string, menu: string, props: string[], where = ''): string[] {
  const lines = [`:set out ($out . ";${key}=")`, ':set sep ""', `:foreach i in=[${menu} find${where ? ` where ${where}` : ''}] do={`, '  :set out ($out . $sep)'];
  props.forEach((p, idx) => {
    lines.push(`  :set v [${menu} get $i ${p}]`, `  ${ENCODE}`, `  :set out ($out . $e${idx < props.length - 1 ? ' . "|"' : ''})`);
  });
  lines.push('  :set sep ","', '}');
  return lines;
}

/** One item made of single values (`rin=accept|port`). */
function tupleField(key: string, exprs: string[]): string[] {
  const lines = [`:set out ($out . ";${key}=")`];
  exprs.forEach((x, idx) => {
    lines.push(`:set v ${x}`, ENCODE, `:set out ($out . $e${idx < exprs.length - 1 ? ' . "|"' : ''})`);
  });
  return lines;
}

export interface InspectScriptOptions {
  router: string;
  /** The API user the install script will create (the report says whether it exists already). */
  apiUser: string;
}

export function buildInspectScript(opts: InspectScriptOptions): string {
  const router = rosName(opts.router, 'router name');
  const apiUser = rosName(opts.apiUser, 'API user');
  const body = [
    `:local safe ${rosQuote(REPORT_SAFE)}`,
    ':local hex "0123456789ABCDEF"',
    `:local tbl ${rosQuote(TABLE)}`,
    `:local out ${rosQuote(`${REPORT_MAGIC} ${REPORT_VERSION}`)}`,
    ':local v ""',
    ':local e ""',
    ':local sep ""',
    ...field('ros', '[/system resource get version]'),
    ...field('board', '[/system resource get board-name]'),
    ...field('id', '[/system identity get name]'),
    ...listField('if', '/interface', ['name', 'type', 'running', 'disabled']),
    ...listField('addr', '/ip address', ['address', 'interface', 'disabled']),
    ...listField('pppoe', '/interface pppoe-server server', ['interface', 'service-name', 'disabled']),
    ...listField('pool', '/ip pool', ['name', 'ranges']),
    ...field('profiles', '[:len [/ppp profile find]]'),
    ...field('secrets', '[:len [/ppp secret find]]'),
    ...listField('radius', '/radius', ['address', 'service', 'src-address', 'disabled']),
    ...tupleField('rin', ['[/radius incoming get accept]', '[/radius incoming get port]']),
    ...tupleField('aaa', ['[/ppp aaa get use-radius]', '[/ppp aaa get interim-update]']),
    ...listField('svc', '/ip service', ['name', 'port', 'address', 'disabled']),
    ...field('apiuser', `[:len [/user find where name=${rosQuote(apiUser)}]]`),
    ...tupleField('fw', ['[:len [/ip firewall filter find where chain="input" and dynamic=no]]', '[:len [/ip firewall filter find where chain="input" and action="drop"]]']),
    ':put ($out . ";len=" . [:len $out])',
  ];
  return [
    `# ispctl inspect script (report ${REPORT_VERSION}) for router ${router}.`,
    '# Read-only: it changes nothing. Paste it into the router\'s terminal (Winbox: New Terminal, or SSH),',
    `# then copy the one line it prints, from ${REPORT_MAGIC} to len=..., back into ispctl.`,
    '{',
    ...body.map((l) => `  ${l}`),
    '}',
    '',
  ].join('\n');
}
