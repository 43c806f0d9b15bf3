// The lab router as a PPPoE NAS: simulated subscribers dial in with a user name and password and
// get a `/ppp/active` session (with its dynamic queue), authenticated by the local PPP secrets
// (API mode) or by a real RADIUS server (RADIUS mode, `/ppp/aaa use-radius=yes`), with RADIUS
// accounting and a CoA/Disconnect listener on `/radius/incoming`, as a MikroTik does.
//
// No PPPoE frames are exchanged: a dial is a function call (or `/lab/dial` over the API). What
// crosses the wire is what ispctl cares about: RADIUS packets and the RouterOS API.

import { randomBytes, randomInt } from 'node:crypto';
import { isIPv4 } from 'node:net';
import { IspctlError } from '../core/errors.js';
import {
  RadiusClient,
  RadiusInvalidResponseError,
  RadiusServer,
  attr,
  chapPassword,
  getAttribute,
  getAttributes,
  type RadiusAttribute,
  type RadiusDropEvent,
  type RadiusRequestCode,
  type RadiusResponse,
} from '../core/radius/index.js';
import { coaReply, handleCoaRequest, type CoaContext, type CoaSessionView } from './nas-coa.js';
import type { ActiveSession, DisconnectReason, PppUserLookup, RouterState } from './state.js';
import { DEFAULT_PROFILE_ID } from './state.js';
import { RouterTrap } from './trap.js';
import type { PppProfile, RadiusServer as RadiusServerRow } from './types.js';
import { isIpAddress, parseRateLimit, parseTime } from './values.js';
import { describeError } from '../core/error-text.js';

export type DialAuth = 'pap' | 'chap';

export interface DialRequest {
  username: string;
  password: string;
  /** The subscriber's MAC (Calling-Station-Id, `/ppp/active caller-id`). Default: generated. */
  callerId?: string;
  /** How the password travels to RADIUS. Default chap (what PPPoE clients prefer over PAP). */
  auth?: DialAuth;
}

/** Why a dial failed. */
export type DialRejectReason =
  /** No enabled local secret by that name, and RADIUS is off. */
  | 'no-such-user'
  /** The local secret is disabled (API mode). */
  | 'secret-disabled'
  /** The local secret's service is not `any` or `pppoe`. */
  | 'service-mismatch'
  | 'wrong-password'
  /** The secret's `caller-id` is set and the dialling MAC is another. */
  | 'caller-id-mismatch'
  /** `only-one=yes` and the user already has a session. */
  | 'already-connected'
  /** The pool (and its next pools) has no free address, or does not exist. */
  | 'pool-exhausted'
  /** Nothing gives the session an address (no Framed-IP-Address or Framed-Pool, no remote-address). */
  | 'no-address'
  /** The address the session should get is in use by another session. */
  | 'address-in-use'
  /** The rate limit (profile or Mikrotik-Rate-Limit) does not parse. */
  | 'invalid-rate-limit'
  /** RADIUS answered Access-Reject. */
  | 'radius-reject'
  /** RADIUS answered Access-Challenge, which PPP PAP/CHAP cannot follow. */
  | 'radius-challenge'
  /** No RADIUS server answered (every `/radius` entry for ppp timed out). */
  | 'radius-timeout'
  /** Answers came but none was valid (wrong secret, or no Message-Authenticator when required). */
  | 'radius-invalid-response'
  /** RADIUS is on but no enabled `/radius` entry has service ppp. */
  | 'radius-not-configured'
  /** The NAS is closed. */
  | 'nas-closed';

/** A dial the router refused, with the reason. */
export class DialRejectedError extends IspctlError {
  readonly reason: DialRejectReason;
  readonly username: string;
  constructor(reason: DialRejectReason, username: string, detail: string) {
    super('LAB_DIAL_REJECTED', `${username} was refused (${reason}): ${detail}`, { kind: 'failure', details: { reason, username } });
    this.name = 'DialRejectedError';
    this.reason = reason;
    this.username = username;
  }
}

/** A live session of the lab NAS. */
export interface LabSession extends ActiveSession {
  /** Acct-Session-Id: `session-id` in lower case without 0x (e.g. `81a3b2c1`). */
  acctSessionId: string;
  auth: DialAuth;
  /** Who accepted the password. */
  authenticatedBy: 'local' | 'radius';
  /** Session-Timeout from RADIUS (seconds), if any. */
  sessionTimeout?: number;
  /** Interim-Update period in ms, when accounting is on and an interval is set. */
  interimMs?: number;
  /** Octets and packets so far (from the subscriber: in; to the subscriber: out). */
  bytesIn: number;
  bytesOut: number;
  packetsIn: number;
  packetsOut: number;
}

export interface LabNasOptions {
  /**
   * NAS-IP-Address when a `/radius` entry has no `src-address`, and the address RADIUS requests
   * are sent from when it is a loopback address. Default 127.0.0.1.
   */
  nasAddress?: string;
  /** Where `/radius/incoming` listens. Default 127.0.0.1. */
  incomingHost?: string;
  /** The PPPoE server's interface, sent as NAS-Port-Id. Default ether2. */
  serverInterface?: string;
  /** Retransmissions per RADIUS server before trying the next one. Default 1. */
  radiusRetries?: number;
  /**
   * RADIUS requests in flight per server and port at most; more wait their turn. Default 64:
   * a burst of thousands of dials would otherwise overflow the server's socket buffer, and
   * the dropped packets would only come back after a timeout.
   */
  radiusMaxInFlight?: number;
  /** Send Accounting-On when the NAS starts (FreeRADIUS then closes this NAS's open sessions). */
  sendAccountingOn?: boolean;
  /** On close, end every session (Stop with NAS-Reboot). Default true. */
  stopSessionsOnClose?: boolean;
  /**
   * Refuse a session that gets no address (RADIUS Framed-IP-Address or Framed-Pool, the secret's
   * remote-address, the profile's remote-address), as RouterOS does: PPP cannot finish without
   * one. Default false for now, so that profiles written without addresses still dial.
   */
  requireAddress?: boolean;
  /** Simulated traffic per session, in bytes per second (default none). */
  traffic?: { upBytesPerSecond?: number; downBytesPerSecond?: number };
  log?: (line: string) => void;
}

interface SessionRecord {
  session: LabSession;
  accounting: boolean;
  acctAuthentic: 'RADIUS' | 'Local';
  /** Class attributes of the Access-Accept, echoed in accounting (RFC 2865). */
  classes: Buffer[];
  nasPort: number;
  /** Accounting packets for this session, one after the other. */
  chain: Promise<void>;
  interim?: NodeJS.Timeout;
  timeout?: NodeJS.Timeout;
  ended: boolean;
}

interface RadiusTarget {
  row: RadiusServerRow;
  sourceAddress: string | undefined;
  nasIp: string;
}

const TERMINATE_CAUSES: Record<string, string> = {
  'user-request': 'User-Request',
  'lost-carrier': 'Lost-Carrier',
  'idle-timeout': 'Idle-Timeout',
  'session-timeout': 'Session-Timeout',
  'admin-reset': 'Admin-Reset',
  'admin-reboot': 'Admin-Reboot',
  'nas-error': 'NAS-Error',
  'nas-request': 'NAS-Request',
  'nas-reboot': 'NAS-Reboot',
};

const TWO_32 = 2 ** 32;

/** Acct-Terminate-Cause for a disconnect reason. */
export function terminateCause(reason: DisconnectReason): string {
  return TERMINATE_CAUSES[reason] ?? 'NAS-Error';
}

function isLoopbackV4(ip: string): boolean {
  return isIPv4(ip) && ip.startsWith('127.');
}

function errorText(e: unknown): string {
  return describeError(e);
}

/**
 * A PPPoE NAS on a lab router's state. `start()` it (the `/radius/incoming` listener follows the
 * configuration from then on), `dial()` subscribers in, `close()` it when done.
 */
export class LabNas {
  readonly state: RouterState;
  private readonly opts: LabNasOptions;
  private readonly records = new Map<string, SessionRecord>();
  /** The records' accounting session ids (allocateSessionId). */
  private readonly acctSessionIds = new Set<string>();
  private readonly clients = new Map<string, RadiusClient>();
  private readonly gates = new Map<string, Gate>();
  private readonly pending = new Set<Promise<unknown>>();
  private readonly unsubscribe: Array<() => void> = [];
  private incoming: { server: RadiusServer; port: number } | undefined;
  private incomingError: string | undefined;
  private reconcileChain: Promise<void> = Promise.resolve();
  private nextSessionNumber = randomInt(0, 0x1000000);
  private nextNasPort = 1;
  private nextMac = randomInt(0, 0x1000000);
  private started = false;
  private closed = false;
  private readonly drops: RadiusDropEvent[] = [];

  constructor(target: RouterState | { state: RouterState }, opts: LabNasOptions = {}) {
    this.state = 'state' in target ? target.state : target;
    this.opts = opts;
  }

  get nasAddress(): string {
    return this.opts.nasAddress ?? '127.0.0.1';
  }

  private log(line: string): void {
    this.opts.log?.(`nas: ${line}`);
  }

  /** Follow `/radius/incoming` and session removals; send Accounting-On when asked. */
  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    this.unsubscribe.push(
      this.state.on('change', (e) => {
        if (e.path === '/radius/incoming') this.reconcileIncoming();
      }),
      this.state.on('session-down', (e) => this.onSessionDown(e.session.id, e.reason)),
    );
    this.reconcileIncoming();
    if (this.opts.sendAccountingOn && this.accountingEnabled()) {
      this.track(
        this.sendToRadius('Accounting-Request', 'accounting', (t) => [
          attr('Acct-Status-Type', 'Accounting-On'),
          attr('Acct-Session-Id', '00000000'),
          ...this.nasAttributes(t),
          attr('Event-Timestamp', new Date(this.state.now())),
        ]).catch((e: unknown) => this.log(`Accounting-On failed: ${errorText(e)}`)),
      );
    }
    await this.reconcileChain;
  }

  /**
   * Stop listening, end sessions (Stop with NAS-Reboot, unless `stopSessionsOnClose` is false),
   * wait up to `graceMs` for accounting in flight, close the RADIUS sockets.
   */
  async close(graceMs = 3000): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.opts.stopSessionsOnClose !== false) {
      for (const id of [...this.records.keys()]) this.state.removeActiveSession(id, 'nas-reboot');
    }
    for (const off of this.unsubscribe.splice(0)) off();
    for (const rec of this.records.values()) this.clearTimers(rec);
    this.records.clear();
    this.acctSessionIds.clear();
    this.reconcileChain = this.reconcileChain.then(() => this.stopIncoming());
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      this.settled(),
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, graceMs);
        timer.unref();
      }),
    ]);
    if (timer) clearTimeout(timer);
    await this.reconcileChain;
    const clients = [...this.clients.values()];
    this.clients.clear();
    await Promise.all(clients.map((c) => c.close()));
  }

  /** Resolves once the incoming listener follows the configuration and no accounting is in flight. */
  async settled(): Promise<void> {
    for (;;) {
      await this.reconcileChain;
      if (this.pending.size === 0) return;
      await Promise.allSettled([...this.pending]);
    }
  }

  /** The port `/radius/incoming` listens on now, if it does. */
  incomingPort(): number | undefined {
    return this.incoming?.port;
  }

  /** Why the incoming listener could not start, if it could not. */
  incomingFailure(): string | undefined {
    return this.incomingError;
  }

  /** Packets the incoming listener dropped without an answer (bad secret, unknown source, ...). */
  droppedRequests(): readonly RadiusDropEvent[] {
    return this.drops;
  }

  /** Live sessions of this NAS. */
  sessions(): LabSession[] {
    return [...this.records.values()].map((r) => this.snapshot(r));
  }

  /** A session by `/ppp/active` id, session-id (`0x81…`) or Acct-Session-Id. */
  session(key: string): LabSession | undefined {
    const rec = this.find(key);
    return rec ? this.snapshot(rec) : undefined;
  }

  private find(key: string): SessionRecord | undefined {
    const k = key.trim();
    const byId = this.records.get(k.startsWith('*') ? k.toUpperCase() : k);
    if (byId) return byId;
    const acct = (k.toLowerCase().startsWith('0x') ? k.slice(2) : k).toLowerCase();
    for (const rec of this.records.values()) if (rec.session.acctSessionId === acct) return rec;
    return undefined;
  }

  /** Count traffic on a session (shows in Interim-Update and Stop). */
  addTraffic(key: string, upBytes: number, downBytes: number, packets?: { up: number; down: number }): void {
    const rec = this.find(key);
    if (!rec) throw new RouterTrap('no such item', 0);
    rec.session.bytesIn += upBytes;
    rec.session.bytesOut += downBytes;
    rec.session.packetsIn += packets?.up ?? Math.ceil(upBytes / 1400);
    rec.session.packetsOut += packets?.down ?? Math.ceil(downBytes / 1400);
  }

  // -------------------------------------------------------------------------------------------
  // Dialling

  /**
   * A subscriber dials in. Resolves with the session once it is up (accounting Start is sent in
   * the background; `settled()` waits for it); rejects with DialRejectedError.
   */
  async dial(req: DialRequest): Promise<LabSession> {
    try {
      return await this.dialOnce(req);
    } catch (e) {
      if (e instanceof DialRejectedError) this.log(`${e.username} refused (${e.reason}): ${e.message.slice(e.message.indexOf(': ') + 2)}`);
      throw e;
    }
  }

  private async dialOnce(req: DialRequest): Promise<LabSession> {
    const username = req.username ?? '';
    if (this.closed) throw new DialRejectedError('nas-closed', username, 'the lab NAS is closed');
    if (!this.started) await this.start();
    if (username === '') throw new DialRejectedError('no-such-user', username, 'empty user name');
    const callerId = req.callerId ?? this.generateMac();
    const auth = req.auth ?? 'chap';
    const aaa = this.state.singleton('/ppp/aaa').get();
    const useRadius = aaa['use-radius'] === 'true';
    const local = this.state.lookupPppUser(username);
    const localUsable = local !== undefined && local.secret.disabled === 'false' && serviceAllowsPppoe(local.secret.service);
    if (local && (localUsable || !useRadius)) return this.dialLocal(local, req, callerId, auth);
    if (useRadius) return this.dialRadius(req, callerId, auth);
    throw new DialRejectedError('no-such-user', username, 'no PPP secret by that name (and /ppp aaa use-radius=no)');
  }

  private dialLocal(local: PppUserLookup, req: DialRequest, callerId: string, auth: DialAuth): LabSession {
    const name = req.username;
    const secret = local.secret;
    if (secret.disabled === 'true') throw new DialRejectedError('secret-disabled', name, 'the PPP secret is disabled');
    if (!serviceAllowsPppoe(secret.service)) throw new DialRejectedError('service-mismatch', name, `the PPP secret is for service ${secret.service}`);
    if ((secret.password ?? '') !== req.password) throw new DialRejectedError('wrong-password', name, 'wrong password');
    if (secret['caller-id'] && secret['caller-id'].toUpperCase() !== callerId.toUpperCase()) {
      throw new DialRejectedError('caller-id-mismatch', name, `the PPP secret only allows caller-id ${secret['caller-id']}`);
    }
    if (local.onlyOne && local.activeSessions.length > 0) throw new DialRejectedError('already-connected', name, 'only-one=yes and the user is connected');
    const address = this.resolveAddress(name, local.remoteAddress);
    this.checkAddress(name, address, `no remote-address on the secret or on profile ${local.profile.name}`);
    return this.bringUp({
      name,
      callerId,
      auth,
      address,
      rateLimit: local.rateLimit,
      addressList: local.profile['address-list'],
      radius: false,
      classes: [],
    });
  }

  private async dialRadius(req: DialRequest, callerId: string, auth: DialAuth): Promise<LabSession> {
    const name = req.username;
    const sessionId = this.allocateSessionId();
    const acctSessionId = sessionId.slice(2).toLowerCase();
    const nasPort = this.nextNasPort++;
    let response: RadiusResponse;
    try {
      response = await this.sendToRadius('Access-Request', 'authentication', (t) => {
        const credentials: RadiusAttribute[] = [];
        if (auth === 'pap') credentials.push(attr('User-Password', req.password));
        else {
          const challenge = randomBytes(16);
          credentials.push(attr('CHAP-Password', chapPassword(randomInt(0, 256), req.password, challenge)), attr('CHAP-Challenge', challenge));
        }
        return [
          attr('User-Name', name),
          ...credentials,
          attr('Service-Type', 'Framed-User'),
          attr('Framed-Protocol', 'PPP'),
          ...this.nasAttributes(t, nasPort),
          attr('Calling-Station-Id', callerId),
          attr('Acct-Session-Id', acctSessionId),
        ];
      });
    } catch (e) {
      if (e instanceof NoRadiusServerError) throw new DialRejectedError('radius-not-configured', name, e.message);
      if (e instanceof RadiusInvalidResponseError) throw new DialRejectedError('radius-invalid-response', name, e.message);
      throw new DialRejectedError('radius-timeout', name, errorText(e));
    }
    const reply = response.packet;
    if (reply.code === 'Access-Reject') {
      const message = getAttribute(reply, 'Reply-Message');
      throw new DialRejectedError('radius-reject', name, `RADIUS rejected the login${message ? `: ${message}` : ''}`);
    }
    if (reply.code !== 'Access-Accept') throw new DialRejectedError('radius-challenge', name, `RADIUS answered ${reply.code}`);
    if (this.closed) throw new DialRejectedError('nas-closed', name, 'the lab NAS closed during the dial');

    // Mikrotik-Group names the PPP profile; otherwise the default profile applies.
    const profiles = this.state.menu('/ppp/profile');
    const group = getAttribute(reply, 'Mikrotik-Group');
    const profile: PppProfile = (group !== undefined ? profiles.get(group) : undefined) ?? profiles.get(DEFAULT_PROFILE_ID)!;
    let onlyOne = profile['only-one'];
    if (onlyOne === 'default') onlyOne = profiles.get(DEFAULT_PROFILE_ID)!['only-one'];
    if (onlyOne === 'yes' && this.state.sessionsOf(name).length > 0) {
      throw new DialRejectedError('already-connected', name, 'only-one=yes and the user is connected');
    }

    const framedIp = getAttribute(reply, 'Framed-IP-Address');
    const framedPool = getAttribute(reply, 'Framed-Pool');
    let address: string | undefined;
    // 255.255.255.254: the NAS chooses; 255.255.255.255: the user may choose (RFC 2865 5.8).
    if (framedIp !== undefined && framedIp !== '255.255.255.254' && framedIp !== '255.255.255.255') address = framedIp;
    else if (framedPool !== undefined) address = this.resolveAddress(name, framedPool);
    else address = this.resolveAddress(name, profile['remote-address']);
    this.checkAddress(name, address, `no Framed-IP-Address or Framed-Pool in the Access-Accept and no remote-address on profile ${profile.name}`);

    const interval = getAttribute(reply, 'Acct-Interim-Interval');
    const timeout = getAttribute(reply, 'Session-Timeout');
    return this.bringUp({
      name,
      callerId,
      auth,
      address,
      rateLimit: getAttribute(reply, 'Mikrotik-Rate-Limit') ?? profile['rate-limit'],
      addressList: (getAttribute(reply, 'Mikrotik-Address-List') as string | undefined) ?? profile['address-list'],
      radius: true,
      classes: getAttributes(reply, 'Class'),
      sessionId,
      nasPort,
      interimSeconds: typeof interval === 'number' && interval > 0 ? interval : undefined,
      sessionTimeout: typeof timeout === 'number' && timeout > 0 ? timeout : undefined,
    });
  }

  /** A session without an address is refused when `requireAddress` is on. */
  private checkAddress(name: string, address: string | undefined, why: string): void {
    if (address === undefined && this.opts.requireAddress) throw new DialRejectedError('no-address', name, `no address to give: ${why}`);
  }

  /** An address, or a pool name to allocate from; undefined when neither is set. */
  private resolveAddress(name: string, addressOrPool: string | undefined): string | undefined {
    if (addressOrPool === undefined || addressOrPool === '') return undefined;
    if (isIpAddress(addressOrPool)) return addressOrPool;
    const ip = this.state.allocatePoolAddress(addressOrPool);
    if (ip === undefined) throw new DialRejectedError('pool-exhausted', name, `no free address in pool ${addressOrPool}`);
    return ip;
  }

  private bringUp(input: {
    name: string;
    callerId: string;
    auth: DialAuth;
    address: string | undefined;
    rateLimit: string | undefined;
    addressList?: string | undefined;
    radius: boolean;
    classes: Buffer[];
    sessionId?: string;
    nasPort?: number;
    interimSeconds?: number;
    sessionTimeout?: number;
  }): LabSession {
    const { name } = input;
    if (input.rateLimit !== undefined && !parseRateLimit(input.rateLimit)) {
      throw new DialRejectedError('invalid-rate-limit', name, `rate limit ${JSON.stringify(input.rateLimit)} does not parse`);
    }
    const sessionId = input.sessionId ?? this.allocateSessionId();
    let active: ActiveSession;
    try {
      active = this.state.addActiveSession({
        name,
        service: 'pppoe',
        callerId: input.callerId,
        address: input.address,
        sessionId,
        radius: input.radius,
        encoding: '',
        rateLimit: input.rateLimit,
        ...(input.addressList ? { addressList: input.addressList } : {}),
      });
    } catch (e) {
      if (e instanceof RouterTrap) {
        const reason = /in use/.test(e.message) ? 'address-in-use' : 'invalid-rate-limit';
        throw new DialRejectedError(reason, name, e.message);
      }
      throw e;
    }
    const accounting = this.accountingEnabled();
    const aaaInterim = parseTime(this.state.singleton('/ppp/aaa').get()['interim-update']) ?? 0;
    const interimMs = input.interimSeconds !== undefined ? input.interimSeconds * 1000 : aaaInterim;
    const session: LabSession = {
      ...active,
      acctSessionId: sessionId.slice(2).toLowerCase(),
      auth: input.auth,
      authenticatedBy: input.radius ? 'radius' : 'local',
      bytesIn: 0,
      bytesOut: 0,
      packetsIn: 0,
      packetsOut: 0,
    };
    if (input.sessionTimeout !== undefined) session.sessionTimeout = input.sessionTimeout;
    if (accounting && interimMs > 0) session.interimMs = interimMs;
    const rec: SessionRecord = {
      session,
      accounting,
      acctAuthentic: input.radius ? 'RADIUS' : 'Local',
      classes: input.classes,
      nasPort: input.nasPort ?? this.nextNasPort++,
      chain: Promise.resolve(),
      ended: false,
    };
    this.records.set(active.id, rec);
    this.acctSessionIds.add(rec.session.acctSessionId);
    this.log(`${name} up: ${active.id} ${sessionId} ${input.address ?? '(no address)'}${input.rateLimit ? ` ${input.rateLimit}` : ''}`);
    if (accounting) {
      this.account(rec, 'Start');
      if (session.interimMs) {
        rec.interim = setInterval(() => this.account(rec, 'Interim-Update'), session.interimMs);
        rec.interim.unref();
      }
    }
    if (session.sessionTimeout) this.armSessionTimeout(rec, session.sessionTimeout);
    return this.snapshot(rec);
  }

  private armSessionTimeout(rec: SessionRecord, seconds: number): void {
    if (rec.timeout) clearTimeout(rec.timeout);
    rec.timeout = undefined;
    if (seconds <= 0) {
      delete rec.session.sessionTimeout;
      return;
    }
    rec.session.sessionTimeout = seconds;
    const left = Math.max(0, seconds * 1000 - (this.state.now() - rec.session.startedAt));
    rec.timeout = setTimeout(() => this.state.removeActiveSession(rec.session.id, 'session-timeout'), left);
    rec.timeout.unref();
  }

  /**
   * The subscriber hangs up (Acct-Terminate-Cause User-Request, unless another reason is given).
   * Resolves with the ended session once its accounting Stop was answered (or given up), or
   * undefined when there is no such session.
   */
  async hangup(key: string, reason: DisconnectReason = 'user-request'): Promise<LabSession | undefined> {
    const rec = this.find(key);
    if (!rec) return undefined;
    const ended = this.snapshot(rec);
    this.state.removeActiveSession(rec.session.id, reason);
    await rec.chain;
    return ended;
  }

  private onSessionDown(id: string, reason: DisconnectReason): void {
    const rec = this.records.get(id);
    if (!rec || rec.ended) return;
    rec.ended = true;
    this.records.delete(id);
    this.acctSessionIds.delete(rec.session.acctSessionId);
    this.clearTimers(rec);
    this.log(`${rec.session.name} down: ${id} (${reason})`);
    if (rec.accounting) this.account(rec, 'Stop', terminateCause(reason));
  }

  private clearTimers(rec: SessionRecord): void {
    if (rec.interim) clearInterval(rec.interim);
    if (rec.timeout) clearTimeout(rec.timeout);
    rec.interim = undefined;
    rec.timeout = undefined;
  }

  private snapshot(rec: SessionRecord): LabSession {
    const s = { ...rec.session };
    const traffic = this.opts.traffic;
    if (traffic) {
      const seconds = Math.max(0, (this.state.now() - s.startedAt) / 1000);
      const up = Math.floor((traffic.upBytesPerSecond ?? 0) * seconds);
      const down = Math.floor((traffic.downBytesPerSecond ?? 0) * seconds);
      s.bytesIn += up;
      s.bytesOut += down;
      s.packetsIn += Math.ceil(up / 1400);
      s.packetsOut += Math.ceil(down / 1400);
    }
    return s;
  }

  private allocateSessionId(): string {
    // The records' accounting session ids, looked up as a set kept beside them (not rebuilt for
    // every dial: 3,000 dials at once were quadratic, bench/scaling.mjs).
    const inUse = this.acctSessionIds;
    for (;;) {
      const n = this.nextSessionNumber;
      this.nextSessionNumber = (n + 1) & 0xffffff;
      const id = `0x81${n.toString(16).toUpperCase().padStart(6, '0')}`;
      if (!inUse.has(id.slice(2).toLowerCase())) return id;
    }
  }

  private generateMac(): string {
    const n = this.nextMac;
    this.nextMac = (n + 1) & 0xffffff;
    const hex = n.toString(16).toUpperCase().padStart(6, '0');
    return `02:00:00:${hex.slice(0, 2)}:${hex.slice(2, 4)}:${hex.slice(4, 6)}`;
  }

  // -------------------------------------------------------------------------------------------
  // RADIUS client side

  private accountingEnabled(): boolean {
    const aaa = this.state.singleton('/ppp/aaa').get();
    return aaa['use-radius'] === 'true' && aaa.accounting === 'true';
  }

  private target(row: RadiusServerRow): RadiusTarget {
    const src = row['src-address'];
    const explicit = src !== undefined && src !== '0.0.0.0' && src !== '::' ? src : undefined;
    const nasIp = explicit ?? this.nasAddress;
    const sourceAddress = explicit ?? (isLoopbackV4(this.nasAddress) ? this.nasAddress : undefined);
    return { row, sourceAddress, nasIp };
  }

  private client(sourceAddress: string | undefined): RadiusClient {
    const key = sourceAddress ?? '';
    let c = this.clients.get(key);
    if (!c) {
      c = new RadiusClient(sourceAddress ? { sourceAddress } : {});
      this.clients.set(key, c);
    }
    return c;
  }

  private nasAttributes(t: RadiusTarget, nasPort?: number): RadiusAttribute[] {
    const out: RadiusAttribute[] = [
      attr('NAS-Identifier', this.state.singleton('/system/identity').get().name),
      attr('NAS-IP-Address', isIPv4(t.nasIp) ? t.nasIp : '127.0.0.1'),
    ];
    if (nasPort !== undefined) {
      out.push(attr('NAS-Port', nasPort), attr('NAS-Port-Type', 'Ethernet'), attr('NAS-Port-Id', this.opts.serverInterface ?? 'ether2'));
    }
    return out;
  }

  /**
   * Send to each enabled `/radius` entry with service ppp in order, moving on when one does not
   * answer (validly) within its `timeout` and retries. `build` makes the attributes per server
   * (NAS-IP-Address follows the entry's src-address).
   */
  private async sendToRadius(
    code: RadiusRequestCode,
    kind: 'authentication' | 'accounting',
    build: (t: RadiusTarget) => RadiusAttribute[],
  ): Promise<RadiusResponse> {
    const servers = this.state.radiusServersFor('ppp');
    if (servers.length === 0) throw new NoRadiusServerError();
    let lastError: unknown;
    for (const row of servers) {
      const t = this.target(row);
      const port = Number(kind === 'authentication' ? row['authentication-port'] : row['accounting-port']);
      const timeoutMs = Math.max(1, parseTime(row.timeout) ?? 300);
      const requireMa = code === 'Access-Request' ? row['require-message-auth'] === 'yes-for-request-resp' : undefined;
      const gate = this.gate(`${row.address}|${port}`);
      await gate.enter();
      try {
        return await this.client(t.sourceAddress).request({
          host: row.address,
          port,
          secret: row.secret ?? '',
          timeoutMs,
          retries: this.opts.radiusRetries ?? 1,
          packet: { code, attributes: build(t) },
          ...(requireMa === undefined ? {} : { requireResponseMessageAuthenticator: requireMa }),
        });
      } catch (e) {
        lastError = e;
        this.log(`${code} to ${row.address}:${port} failed: ${errorText(e)}`);
      } finally {
        gate.leave();
      }
    }
    throw lastError;
  }

  private gate(key: string): Gate {
    let g = this.gates.get(key);
    if (!g) {
      g = new Gate(Math.max(1, this.opts.radiusMaxInFlight ?? 64));
      this.gates.set(key, g);
    }
    return g;
  }

  private track<T>(p: Promise<T>): Promise<T> {
    this.pending.add(p);
    const done = (): void => {
      this.pending.delete(p);
    };
    p.then(done, done);
    return p;
  }

  /** Queue an accounting packet for a session (after its earlier ones). */
  private account(rec: SessionRecord, status: 'Start' | 'Interim-Update' | 'Stop', cause?: string): void {
    const s = this.snapshot(rec);
    const now = this.state.now();
    const send = async (): Promise<void> => {
      try {
        await this.sendToRadius('Accounting-Request', 'accounting', (t) => {
          const a: RadiusAttribute[] = [
            attr('Acct-Status-Type', status),
            attr('User-Name', s.name),
            attr('Acct-Session-Id', s.acctSessionId),
            attr('Acct-Authentic', rec.acctAuthentic),
            ...this.nasAttributes(t, rec.nasPort),
            attr('Service-Type', 'Framed-User'),
            attr('Framed-Protocol', 'PPP'),
            attr('Calling-Station-Id', s.callerId),
            attr('Event-Timestamp', new Date(now)),
            attr('Acct-Delay-Time', Math.max(0, Math.floor((this.state.now() - now) / 1000))),
          ];
          if (s.address && isIPv4(s.address)) a.push(attr('Framed-IP-Address', s.address));
          for (const c of rec.classes) a.push(attr('Class', c));
          if (status !== 'Start') {
            a.push(
              attr('Acct-Session-Time', Math.max(0, Math.floor((now - s.startedAt) / 1000))),
              attr('Acct-Input-Octets', s.bytesIn % TWO_32),
              attr('Acct-Input-Gigawords', Math.floor(s.bytesIn / TWO_32)),
              attr('Acct-Output-Octets', s.bytesOut % TWO_32),
              attr('Acct-Output-Gigawords', Math.floor(s.bytesOut / TWO_32)),
              attr('Acct-Input-Packets', s.packetsIn % TWO_32),
              attr('Acct-Output-Packets', s.packetsOut % TWO_32),
            );
          }
          if (status === 'Stop' && cause) a.push(attr('Acct-Terminate-Cause', cause));
          return a;
        });
      } catch (e) {
        this.log(`accounting ${status} for ${s.name} (${s.acctSessionId}) was not answered: ${errorText(e)}`);
      }
    };
    rec.chain = this.track(rec.chain.then(send));
  }

  // -------------------------------------------------------------------------------------------
  // /radius incoming (CoA and Disconnect)

  private reconcileIncoming(): void {
    this.reconcileChain = this.reconcileChain.then(async () => {
      if (this.closed) return;
      const row = this.state.singleton('/radius/incoming').get();
      const want = row.accept === 'true' ? Number(row.port) : undefined;
      if (this.incoming && this.incoming.port === want) return;
      await this.stopIncoming();
      if (want === undefined) return;
      const server = new RadiusServer({
        host: this.opts.incomingHost ?? '127.0.0.1',
        port: want,
        secret: ({ address }) => this.incomingSecret(address),
        handler: (request) => coaReply(request, handleCoaRequest(request, this.coaContext())),
        onDrop: (e) => {
          this.drops.push(e);
          if (this.drops.length > 100) this.drops.shift();
          this.log(`incoming ${e.code ?? 'packet'} from ${e.client.address} dropped: ${e.reason} (${e.message})`);
        },
      });
      try {
        const bound = await server.listen();
        this.incoming = { server, port: want === 0 ? bound.port : want };
        this.incomingError = undefined;
        this.log(`/radius incoming listening on ${bound.address}:${bound.port}`);
      } catch (e) {
        this.incomingError = errorText(e);
        this.log(`/radius incoming cannot listen on port ${want}: ${this.incomingError}`);
      }
    });
  }

  private async stopIncoming(): Promise<void> {
    const current = this.incoming;
    this.incoming = undefined;
    if (current) await current.server.close();
  }

  /** The secret of the `/radius` entry with this address; packets from anywhere else are dropped. */
  private incomingSecret(address: string): string | undefined {
    const plain = address.startsWith('::ffff:') ? address.slice(7) : address;
    const row = this.state.menu('/radius').find((r) => r.disabled === 'false' && r.address === plain)[0];
    return row?.secret;
  }

  private coaContext(): CoaContext {
    const addresses = new Set<string>([this.nasAddress, this.opts.incomingHost ?? '127.0.0.1']);
    for (const row of this.state.radiusServersFor('ppp')) addresses.add(this.target(row).nasIp);
    const view = (rec: SessionRecord): CoaSessionView => ({
      id: rec.session.id,
      name: rec.session.name,
      acctSessionId: rec.session.acctSessionId,
      address: rec.session.address,
    });
    return {
      identity: this.state.singleton('/system/identity').get().name,
      nasAddresses: [...addresses],
      sessions: () => [...this.records.values()].map(view),
      setRateLimit: (s, rateLimit) => {
        const updated = this.state.setSessionRateLimit(s.id, rateLimit);
        const rec = this.records.get(s.id);
        if (rec) {
          rec.session.rateLimit = updated.rateLimit;
          rec.session.queueId = updated.queueId;
        }
        this.log(`CoA: ${s.name} (${s.acctSessionId}) rate limit ${rateLimit}`);
      },
      setSessionTimeout: (s, seconds) => {
        const rec = this.records.get(s.id);
        if (rec) this.armSessionTimeout(rec, seconds);
      },
      disconnect: (s) => {
        this.log(`Disconnect: ${s.name} (${s.acctSessionId})`);
        this.state.removeActiveSession(s.id, 'nas-request');
      },
    };
  }
}

/** At most `limit` holders at once; the others wait in order. */
class Gate {
  private active = 0;
  private readonly waiting: Array<() => void> = [];
  constructor(private readonly limit: number) {}

  enter(): Promise<void> {
    if (this.active < this.limit) {
      this.active++;
      return Promise.resolve();
    }
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  leave(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.active--;
  }
}

class NoRadiusServerError extends Error {
  constructor() {
    super('no enabled /radius entry has service=ppp');
  }
}

function serviceAllowsPppoe(service: string | undefined): boolean {
  return service === undefined || service === 'any' || service === 'pppoe';
}
