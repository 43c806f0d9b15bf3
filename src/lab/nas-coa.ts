// What the lab NAS does with a CoA-Request or Disconnect-Request that passed validation (source
// address, shared secret, authenticators, Message-Authenticator: see RadiusServer): find the
// session, check what the request asks, and decide the answer. Pure apart from the callbacks,
// so the matching rules can be tested without sockets.

import {
  attr,
  getAttribute,
  type DecodedRadiusPacket,
  type RadiusAttribute,
  type RadiusReply,
} from '../core/radius/index.js';
import { parseRateLimit } from './values.js';

/** What the CoA logic needs to know about a live session. */
export interface CoaSessionView {
  /** `/ppp/active` id. */
  id: string;
  name: string;
  /** Acct-Session-Id as sent in accounting (lower-case hex, no 0x). */
  acctSessionId: string;
  address: string;
}

export interface CoaContext {
  /** `/system/identity name`: a NAS-Identifier in the request must match it. */
  identity: string;
  /** Addresses this NAS answers to: a NAS-IP-Address in the request must be one of them. */
  nasAddresses: readonly string[];
  sessions(): readonly CoaSessionView[];
  /** CoA: apply a new rate limit to a session (already checked to parse). */
  setRateLimit(session: CoaSessionView, rateLimit: string): void;
  /** CoA: a new Session-Timeout in seconds (0 removes it). */
  setSessionTimeout(session: CoaSessionView, seconds: number): void;
  /** Disconnect: drop the session (accounting Stop follows, with NAS-Request). */
  disconnect(session: CoaSessionView): void;
}

/** Acct-Session-Id as compared: lower case, without a leading 0x. */
export function normalizeAcctSessionId(text: string): string {
  const t = text.trim().toLowerCase();
  return t.startsWith('0x') ? t.slice(2) : t;
}

export type CoaOutcome =
  | { ack: true; sessions: CoaSessionView[] }
  | { ack: false; errorCause: number; message: string };

const ERROR = {
  unsupportedAttribute: 401,
  missingAttribute: 402,
  nasIdentificationMismatch: 403,
  invalidRequest: 404,
  invalidAttributeValue: 407,
  sessionNotFound: 503,
} as const;

/**
 * Decide and apply a CoA-Request or Disconnect-Request.
 *
 * Matching: every identification attribute the request carries (User-Name, Acct-Session-Id,
 * Framed-IP-Address) must match the same session; at least one must be present. Every matching
 * session is changed (one, when the request names the Acct-Session-Id). Error-Cause on a NAK:
 * 402 no identification attribute, 403 NAS-Identifier or NAS-IP-Address of another NAS,
 * 404 a CoA that asks for nothing this NAS can change, 407 a malformed Mikrotik-Rate-Limit or
 * Session-Timeout, 503 no such session.
 */
export function handleCoaRequest(request: DecodedRadiusPacket, ctx: CoaContext): CoaOutcome {
  const nak = (errorCause: number, message: string): CoaOutcome => ({ ack: false, errorCause, message });
  const nasId = getAttribute(request, 'NAS-Identifier');
  if (nasId !== undefined && nasId !== ctx.identity) {
    return nak(ERROR.nasIdentificationMismatch, `NAS-Identifier ${JSON.stringify(nasId)} is not this router (${ctx.identity})`);
  }
  const nasIp = getAttribute(request, 'NAS-IP-Address');
  if (nasIp !== undefined && !ctx.nasAddresses.includes(nasIp)) {
    return nak(ERROR.nasIdentificationMismatch, `NAS-IP-Address ${nasIp} is not this router`);
  }

  const user = getAttribute(request, 'User-Name');
  const acct = getAttribute(request, 'Acct-Session-Id');
  const ip = getAttribute(request, 'Framed-IP-Address');
  if (user === undefined && acct === undefined && ip === undefined) {
    return nak(ERROR.missingAttribute, 'no User-Name, Acct-Session-Id or Framed-IP-Address to find the session by');
  }
  const wanted = acct === undefined ? undefined : normalizeAcctSessionId(acct);

  let rateLimit: string | undefined;
  let sessionTimeout: number | undefined;
  if (request.code === 'CoA-Request') {
    const rate = getAttribute(request, 'Mikrotik-Rate-Limit');
    if (rate !== undefined) {
      if (!parseRateLimit(rate)) return nak(ERROR.invalidAttributeValue, `Mikrotik-Rate-Limit ${JSON.stringify(rate)} is not a rate limit`);
      rateLimit = rate.trim();
    }
    const timeout = request.attributes.find((a) => a.name === 'Session-Timeout');
    if (timeout !== undefined) {
      if (typeof timeout.value !== 'number') return nak(ERROR.invalidAttributeValue, 'Session-Timeout is not a 4-octet integer');
      sessionTimeout = timeout.value;
    }
    if (rateLimit === undefined && sessionTimeout === undefined) {
      return nak(ERROR.invalidRequest, 'the CoA-Request changes nothing this router supports (Mikrotik-Rate-Limit, Session-Timeout)');
    }
  }

  const matches = ctx
    .sessions()
    .filter(
      (s) =>
        (user === undefined || s.name === user) &&
        (wanted === undefined || s.acctSessionId === wanted) &&
        (ip === undefined || s.address === ip),
    );
  if (matches.length === 0) return nak(ERROR.sessionNotFound, 'no such session');

  for (const s of matches) {
    if (request.code === 'CoA-Request') {
      if (rateLimit !== undefined) ctx.setRateLimit(s, rateLimit);
      if (sessionTimeout !== undefined) ctx.setSessionTimeout(s, sessionTimeout);
    } else {
      ctx.disconnect(s);
    }
  }
  return { ack: true, sessions: matches };
}

/** The answer packet for an outcome. */
export function coaReply(request: DecodedRadiusPacket, outcome: CoaOutcome): RadiusReply {
  const isCoa = request.code === 'CoA-Request';
  if (outcome.ack) return { code: isCoa ? 'CoA-ACK' : 'Disconnect-ACK' };
  const attributes: RadiusAttribute[] = [attr('Error-Cause', outcome.errorCause)];
  return { code: isCoa ? 'CoA-NAK' : 'Disconnect-NAK', attributes };
}

export { ERROR as COA_ERROR_CAUSES };
