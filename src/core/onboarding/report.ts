// The inspect report: the one line a router's inspect script prints and the technician pastes
// back into ispctl.
//
//   ISPCTL-REPORT v1;ros=7.16.2%20(stable);board=hEX;id=tower-1;if=ether1|ether|true|false,…;…;len=412
//
// Fields are `key=value` separated by `;`; list items by `,`; the parts of one item by `|`.
// Every atom is percent-encoded by the router (bytes outside REPORT_SAFE as `%XX`, capital hex),
// so names holding `;`, quotes, spaces, newlines or cp1252 bytes arrive intact and can never be
// read as structure. The line ends with `len=N`, the length of everything before `;len=`, so a
// truncated or mangled paste is refused instead of half read. The report carries no secret (the
// inspect script never reads RADIUS secrets or passwords).
import { invalid } from '../errors.js';

export const REPORT_MAGIC = 'ISPCTL-REPORT';
export const REPORT_VERSION = 'v1';
/** Bytes an atom keeps as they are; everything else is written %XX. */
export const REPORT_SAFE = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789.-_:/*@+';

export interface ReportInterface {
  name: string;
  type: string;
  running: boolean;
  disabled: boolean;
}
export interface ReportAddress {
  address: string;
  interface: string;
  disabled: boolean;
}
export interface ReportPppoeServer {
  interface: string;
  serviceName: string;
  disabled: boolean;
}
export interface ReportPool {
  name: string;
  ranges: string;
}
export interface ReportRadius {
  address: string;
  service: string;
  srcAddress: string;
  disabled: boolean;
}
export interface ReportService {
  name: string;
  port: number;
  address: string;
  disabled: boolean;
}

/** What the inspect script saw on the router. Names as text (UTF-8, or cp1252 when not UTF-8). */
export interface InspectReport {
  version: string;
  /** Major.minor of RouterOS, e.g. [7, 16]. */
  versionNumber: [number, number, number];
  board: string;
  identity: string;
  interfaces: ReportInterface[];
  addresses: ReportAddress[];
  pppoeServers: ReportPppoeServer[];
  pools: ReportPool[];
  profileCount: number;
  secretCount: number;
  radius: ReportRadius[];
  radiusIncoming: { accept: boolean; port: number | null };
  pppAaa: { useRadius: boolean; interimUpdate: string };
  services: ReportService[];
  /** Users in the router's user list with the API user's name (0 or 1). */
  apiUserExists: boolean;
  /** Firewall filter rules in the input chain (static), and how many of them drop or reject. */
  firewallInput: { rules: number; drops: number };
}

/** Decodes one atom's bytes; text as UTF-8 when valid, else each byte as cp1252 would show it. */
export function decodeAtom(atom: string, where: string): string {
  const bytes: number[] = [];
  for (let i = 0; i < atom.length; i++) {
    const c = atom[i]!;
    if (c === '%') {
      const h = atom.slice(i + 1, i + 3);
      if (!/^[0-9A-F]{2}$/.test(h)) throw badReport(`a broken %-escape in ${where}`);
      bytes.push(parseInt(h, 16));
      i += 2;
    } else if (REPORT_SAFE.includes(c)) {
      bytes.push(c.charCodeAt(0));
    } else {
      throw badReport(`an unexpected character ${JSON.stringify(c)} in ${where}`);
    }
  }
  return bytesToText(Buffer.from(bytes));
}

const CP1252_HIGH = '€\u0081‚ƒ„…†‡ˆ‰Š‹Œ\u008dŽ\u008f\u0090‘’“”•–—˜™š›œ\u009džŸ';

function bytesToText(b: Buffer): string {
  const utf8 = b.toString('utf8');
  if (Buffer.from(utf8, 'utf8').equals(b)) return utf8;
  let out = '';
  for (const x of b) out += x >= 0x80 && x < 0xa0 ? CP1252_HIGH[x - 0x80] : String.fromCharCode(x);
  return out;
}

function badReport(why: string): ReturnType<typeof invalid> {
  return invalid('INVALID_REPORT', `The inspect report cannot be read: ${why}.`, [
    'Copy the whole line the inspect script printed, from ISPCTL-REPORT to the end (len=…), and paste it again',
    'If the line was cut, run the inspect script again and copy it from a wider terminal, or save it with: /system script … or :put into a file',
  ]);
}

function bool(s: string, where: string): boolean {
  if (s === 'true' || s === 'yes') return true;
  if (s === 'false' || s === 'no' || s === '') return false;
  throw badReport(`${where} is ${JSON.stringify(s)}, not true or false`);
}

function int(s: string, where: string): number {
  if (!/^\d{1,9}$/.test(s)) throw badReport(`${where} is ${JSON.stringify(s)}, not a number`);
  return Number(s);
}

/** RouterOS version text (`7.16.2 (stable)`, `6.49.17 (long-term)`) as numbers. */
export function parseRouterOsVersion(text: string): [number, number, number] | undefined {
  const m = /^(\d+)\.(\d+)(?:\.(\d+))?/.exec(text.trim());
  return m ? [Number(m[1]), Number(m[2]), Number(m[3] ?? 0)] : undefined;
}

/**
 * Finds the report in pasted text (console echo and line breaks a terminal added are ignored),
 * checks its length, and reads it.
 * @throws IspctlError INVALID_REPORT saying what is wrong
 */
export function parseReport(pasted: string): { report: InspectReport; raw: string } {
  const text = String(pasted ?? '');
  const start = text.lastIndexOf(`${REPORT_MAGIC} `);
  if (start < 0) throw badReport(`there is no line starting with ${REPORT_MAGIC}`);
  // A terminal may wrap the long line: atoms never hold raw white space, so line breaks go.
  const rest = text.slice(start).replace(/\r?\n|\r/g, '');
  const m = /^(ISPCTL-REPORT (v\d+)(?:;[^;\s]*)*);len=(\d+)/.exec(rest);
  if (!m) {
    const v = /^ISPCTL-REPORT (\S+?)[;\s]/.exec(rest);
    if (v && v[1] !== REPORT_VERSION) throw badReport(`it is a ${v[1]} report, and this ispctl reads ${REPORT_VERSION} (print the inspect script again with this ispctl)`);
    throw badReport('it does not end with len=N (the line was probably cut)');
  }
  const [, body, version, lenText] = m;
  if (version !== REPORT_VERSION) throw badReport(`it is a ${version} report, and this ispctl reads ${REPORT_VERSION}`);
  if (Buffer.byteLength(body!, 'latin1') !== Number(lenText)) throw badReport(`it is ${body!.length} characters long but says ${lenText} (part of the line was lost or changed)`);
  const fields = new Map<string, string>();
  for (const part of body!.split(';').slice(1)) {
    const eq = part.indexOf('=');
    if (eq <= 0) throw badReport(`the field ${JSON.stringify(part.slice(0, 20))} has no name`);
    fields.set(part.slice(0, eq), part.slice(eq + 1));
  }
  const atom = (key: string): string => {
    const v = fields.get(key);
    if (v === undefined) throw badReport(`the field ${key} is missing`);
    return decodeAtom(v, key);
  };
  const items = (key: string, parts: number): string[][] => {
    const v = fields.get(key);
    if (v === undefined) throw badReport(`the field ${key} is missing`);
    if (v === '') return [];
    return v.split(',').map((item, i) => {
      const p = item.split('|');
      if (p.length !== parts) throw badReport(`item ${i + 1} of ${key} has ${p.length} parts, not ${parts}`);
      return p.map((x) => decodeAtom(x, key));
    });
  };
  const version7 = atom('ros');
  const versionNumber = parseRouterOsVersion(version7);
  if (!versionNumber) throw badReport(`the RouterOS version ${JSON.stringify(version7)} is not a version number`);
  const [rinAccept = '', rinPort = ''] = items('rin', 2)[0] ?? [];
  const [aaaRadius = '', aaaInterim = ''] = items('aaa', 2)[0] ?? [];
  const [fwRules = '0', fwDrops = '0'] = items('fw', 2)[0] ?? [];
  const report: InspectReport = {
    version: version7,
    versionNumber,
    board: atom('board'),
    identity: atom('id'),
    interfaces: items('if', 4).map(([name, type, running, disabled]) => ({ name: name!, type: type!, running: bool(running!, 'if running'), disabled: bool(disabled!, 'if disabled') })),
    addresses: items('addr', 3).map(([address, iface, disabled]) => ({ address: address!, interface: iface!, disabled: bool(disabled!, 'addr disabled') })),
    pppoeServers: items('pppoe', 3).map(([iface, service, disabled]) => ({ interface: iface!, serviceName: service!, disabled: bool(disabled!, 'pppoe disabled') })),
    pools: items('pool', 2).map(([name, ranges]) => ({ name: name!, ranges: ranges! })),
    profileCount: int(atom('profiles'), 'profiles'),
    secretCount: int(atom('secrets'), 'secrets'),
    radius: items('radius', 4).map(([address, service, src, disabled]) => ({ address: address!, service: service!, srcAddress: src!, disabled: bool(disabled!, 'radius disabled') })),
    radiusIncoming: { accept: bool(rinAccept, 'rin accept'), port: rinPort === '' ? null : int(rinPort, 'rin port') },
    pppAaa: { useRadius: bool(aaaRadius, 'aaa use-radius'), interimUpdate: aaaInterim },
    services: items('svc', 4).map(([name, port, address, disabled]) => ({ name: name!, port: int(port!, 'svc port'), address: address!, disabled: bool(disabled!, 'svc disabled') })),
    apiUserExists: int(atom('apiuser'), 'apiuser') > 0,
    firewallInput: { rules: int(fwRules, 'fw rules'), drops: int(fwDrops, 'fw drops') },
  };
  return { report, raw: `${body};len=${lenText}` };
}

/** Writes a report as the inspect script would print it (tests, and what people may compare against). */
export function formatReport(r: InspectReport): string {
  const enc = (s: string | number | boolean): string => {
    let out = '';
    for (const b of Buffer.from(String(s), 'utf8')) {
      const c = String.fromCharCode(b);
      out += REPORT_SAFE.includes(c) ? c : `%${b.toString(16).toUpperCase().padStart(2, '0')}`;
    }
    return out;
  };
  const list = (rows: Array<Array<string | number | boolean>>) => rows.map((x) => x.map(enc).join('|')).join(',');
  const body = [
    `${REPORT_MAGIC} ${REPORT_VERSION}`,
    `ros=${enc(r.version)}`,
    `board=${enc(r.board)}`,
    `id=${enc(r.identity)}`,
    `if=${list(r.interfaces.map((i) => [i.name, i.type, i.running, i.disabled]))}`,
    `addr=${list(r.addresses.map((a) => [a.address, a.interface, a.disabled]))}`,
    `pppoe=${list(r.pppoeServers.map((p) => [p.interface, p.serviceName, p.disabled]))}`,
    `pool=${list(r.pools.map((p) => [p.name, p.ranges]))}`,
    `profiles=${r.profileCount}`,
    `secrets=${r.secretCount}`,
    `radius=${list(r.radius.map((x) => [x.address, x.service, x.srcAddress, x.disabled]))}`,
    `rin=${list([[r.radiusIncoming.accept, r.radiusIncoming.port ?? '']])}`,
    `aaa=${list([[r.pppAaa.useRadius, r.pppAaa.interimUpdate]])}`,
    `svc=${list(r.services.map((s) => [s.name, s.port, s.address, s.disabled]))}`,
    `apiuser=${r.apiUserExists ? 1 : 0}`,
    `fw=${list([[r.firewallInput.rules, r.firewallInput.drops]])}`,
  ].join(';');
  return `${body};len=${Buffer.byteLength(body, 'latin1')}`;
}
