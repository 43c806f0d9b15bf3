// RADIUS packet codes (RFC 2865, RFC 2866, RFC 5176, RFC 5997) and which responses belong to which
// request.

export const RADIUS_CODES = {
  'Access-Request': 1,
  'Access-Accept': 2,
  'Access-Reject': 3,
  'Accounting-Request': 4,
  'Accounting-Response': 5,
  'Access-Challenge': 11,
  'Status-Server': 12,
  'Disconnect-Request': 40,
  'Disconnect-ACK': 41,
  'Disconnect-NAK': 42,
  'CoA-Request': 43,
  'CoA-ACK': 44,
  'CoA-NAK': 45,
} as const;

export type RadiusCode = keyof typeof RADIUS_CODES;

export type RadiusRequestCode =
  | 'Access-Request'
  | 'Accounting-Request'
  | 'Status-Server'
  | 'Disconnect-Request'
  | 'CoA-Request';

export type RadiusResponseCode = Exclude<RadiusCode, RadiusRequestCode>;

/** The responses a server may send to each kind of request. */
export const RESPONSE_CODES: Readonly<Record<RadiusRequestCode, readonly RadiusResponseCode[]>> = {
  'Access-Request': ['Access-Accept', 'Access-Reject', 'Access-Challenge'],
  'Accounting-Request': ['Accounting-Response'],
  // RFC 5997: Access-Accept when sent to an authentication port, Accounting-Response to an
  // accounting port.
  'Status-Server': ['Access-Accept', 'Accounting-Response'],
  'Disconnect-Request': ['Disconnect-ACK', 'Disconnect-NAK'],
  'CoA-Request': ['CoA-ACK', 'CoA-NAK'],
};

const REQUEST_CODES: readonly RadiusCode[] = Object.keys(RESPONSE_CODES) as RadiusRequestCode[];

export function codeNumber(code: RadiusCode): number {
  return RADIUS_CODES[code];
}

/** The name of a numeric packet code, or undefined if this codec does not know it. */
export function codeName(code: number): RadiusCode | undefined {
  for (const [name, value] of Object.entries(RADIUS_CODES)) {
    if (value === code) return name as RadiusCode;
  }
  return undefined;
}

export function isRequestCode(code: RadiusCode): code is RadiusRequestCode {
  return REQUEST_CODES.includes(code);
}

export function isResponseCode(code: RadiusCode): code is RadiusResponseCode {
  return !isRequestCode(code);
}

/**
 * Whether the Request Authenticator is computed (MD5 over the packet with a zero authenticator
 * and the secret, RFC 2866 / RFC 5176) rather than random (Access-Request, Status-Server).
 */
export function hasComputedRequestAuthenticator(code: RadiusRequestCode): boolean {
  return code === 'Accounting-Request' || code === 'CoA-Request' || code === 'Disconnect-Request';
}
