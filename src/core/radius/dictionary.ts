// The built-in RADIUS dictionary: the attributes ispctl sends, receives or stores, with the names
// and numbers FreeRADIUS uses (dictionary.rfc2865, rfc2866, rfc2869, rfc3576, rfc5176 and
// dictionary.mikrotik), so values read from radreply/radacct map one to one.

export type RadiusDataType = 'string' | 'octets' | 'ipaddr' | 'integer' | 'date';

export interface AttributeSpec {
  /** Attribute number; for a vendor-specific attribute, the vendor's own number. */
  readonly type: number;
  /** Vendor (SMI private enterprise) number for a vendor-specific attribute. */
  readonly vendorId?: number;
  readonly dataType: RadiusDataType;
  /** Named values of an integer attribute. */
  readonly values?: Readonly<Record<string, number>>;
  /** User-Password is hidden with the shared secret (RFC 2865 section 5.2). */
  readonly encrypt?: 'user-password';
}

export interface AttributeDefinition extends AttributeSpec {
  readonly name: string;
}

export const VENDOR_SPECIFIC_TYPE = 26;
export const MESSAGE_AUTHENTICATOR_TYPE = 80;
export const MIKROTIK_VENDOR_ID = 14988;

export const RADIUS_DICTIONARY = {
  'User-Name': { type: 1, dataType: 'string' },
  'User-Password': { type: 2, dataType: 'string', encrypt: 'user-password' },
  'CHAP-Password': { type: 3, dataType: 'octets' },
  'NAS-IP-Address': { type: 4, dataType: 'ipaddr' },
  'NAS-Port': { type: 5, dataType: 'integer' },
  'Service-Type': {
    type: 6,
    dataType: 'integer',
    values: {
      'Login-User': 1,
      'Framed-User': 2,
      'Callback-Login-User': 3,
      'Callback-Framed-User': 4,
      'Outbound-User': 5,
      'Administrative-User': 6,
      'NAS-Prompt-User': 7,
      'Authenticate-Only': 8,
      'Callback-NAS-Prompt': 9,
      'Call-Check': 10,
      'Callback-Administrative': 11,
      'Authorize-Only': 17,
    },
  },
  'Framed-Protocol': {
    type: 7,
    dataType: 'integer',
    values: { PPP: 1, SLIP: 2, ARAP: 3, 'Gandalf-SLML': 4, 'Xylogics-IPX-SLIP': 5, 'X.75-Synchronous': 6 },
  },
  'Framed-IP-Address': { type: 8, dataType: 'ipaddr' },
  'Framed-IP-Netmask': { type: 9, dataType: 'ipaddr' },
  'Reply-Message': { type: 18, dataType: 'string' },
  State: { type: 24, dataType: 'octets' },
  Class: { type: 25, dataType: 'octets' },
  'Session-Timeout': { type: 27, dataType: 'integer' },
  'Idle-Timeout': { type: 28, dataType: 'integer' },
  'Called-Station-Id': { type: 30, dataType: 'string' },
  'Calling-Station-Id': { type: 31, dataType: 'string' },
  'NAS-Identifier': { type: 32, dataType: 'string' },
  'Proxy-State': { type: 33, dataType: 'octets' },
  'Acct-Status-Type': {
    type: 40,
    dataType: 'integer',
    values: { Start: 1, Stop: 2, 'Interim-Update': 3, 'Accounting-On': 7, 'Accounting-Off': 8, Failed: 15 },
  },
  'Acct-Delay-Time': { type: 41, dataType: 'integer' },
  'Acct-Input-Octets': { type: 42, dataType: 'integer' },
  'Acct-Output-Octets': { type: 43, dataType: 'integer' },
  'Acct-Session-Id': { type: 44, dataType: 'string' },
  'Acct-Authentic': { type: 45, dataType: 'integer', values: { RADIUS: 1, Local: 2, Remote: 3, Diameter: 4 } },
  'Acct-Session-Time': { type: 46, dataType: 'integer' },
  'Acct-Input-Packets': { type: 47, dataType: 'integer' },
  'Acct-Output-Packets': { type: 48, dataType: 'integer' },
  'Acct-Terminate-Cause': {
    type: 49,
    dataType: 'integer',
    values: {
      'User-Request': 1,
      'Lost-Carrier': 2,
      'Lost-Service': 3,
      'Idle-Timeout': 4,
      'Session-Timeout': 5,
      'Admin-Reset': 6,
      'Admin-Reboot': 7,
      'Port-Error': 8,
      'NAS-Error': 9,
      'NAS-Request': 10,
      'NAS-Reboot': 11,
      'Port-Unneeded': 12,
      'Port-Preempted': 13,
      'Port-Suspended': 14,
      'Service-Unavailable': 15,
      Callback: 16,
      'User-Error': 17,
      'Host-Request': 18,
    },
  },
  'Acct-Multi-Session-Id': { type: 50, dataType: 'string' },
  'Acct-Input-Gigawords': { type: 52, dataType: 'integer' },
  'Acct-Output-Gigawords': { type: 53, dataType: 'integer' },
  'Event-Timestamp': { type: 55, dataType: 'date' },
  'CHAP-Challenge': { type: 60, dataType: 'octets' },
  'NAS-Port-Type': {
    type: 61,
    dataType: 'integer',
    values: {
      Async: 0,
      Sync: 1,
      ISDN: 2,
      'ISDN-V120': 3,
      'ISDN-V110': 4,
      Virtual: 5,
      PIAFS: 6,
      'HDLC-Clear-Channel': 7,
      'X.25': 8,
      'X.75': 9,
      'G.3-Fax': 10,
      SDSL: 11,
      'ADSL-CAP': 12,
      'ADSL-DMT': 13,
      IDSL: 14,
      Ethernet: 15,
      xDSL: 16,
      Cable: 17,
      'Wireless-Other': 18,
      'Wireless-802.11': 19,
    },
  },
  'Message-Authenticator': { type: MESSAGE_AUTHENTICATOR_TYPE, dataType: 'octets' },
  'Acct-Interim-Interval': { type: 85, dataType: 'integer' },
  'NAS-Port-Id': { type: 87, dataType: 'string' },
  'Framed-Pool': { type: 88, dataType: 'string' },
  'Error-Cause': {
    type: 101,
    dataType: 'integer',
    values: {
      'Residual-Context-Removed': 201,
      'Invalid-EAP-Packet': 202,
      'Unsupported-Attribute': 401,
      'Missing-Attribute': 402,
      'NAS-Identification-Mismatch': 403,
      'Invalid-Request': 404,
      'Unsupported-Service': 405,
      'Unsupported-Extension': 406,
      'Invalid-Attribute-Value': 407,
      'Administratively-Prohibited': 501,
      'Proxy-Request-Not-Routable': 502,
      'Session-Context-Not-Found': 503,
      'Session-Context-Not-Removable': 504,
      'Proxy-Processing-Error': 505,
      'Resources-Unavailable': 506,
      'Request-Initiated': 507,
      'Multiple-Session-Selection-Unsupported': 508,
    },
  },
  'Mikrotik-Recv-Limit': { type: 1, vendorId: MIKROTIK_VENDOR_ID, dataType: 'integer' },
  'Mikrotik-Xmit-Limit': { type: 2, vendorId: MIKROTIK_VENDOR_ID, dataType: 'integer' },
  'Mikrotik-Group': { type: 3, vendorId: MIKROTIK_VENDOR_ID, dataType: 'string' },
  'Mikrotik-Rate-Limit': { type: 8, vendorId: MIKROTIK_VENDOR_ID, dataType: 'string' },
  'Mikrotik-Realm': { type: 9, vendorId: MIKROTIK_VENDOR_ID, dataType: 'string' },
  'Mikrotik-Host-IP': { type: 10, vendorId: MIKROTIK_VENDOR_ID, dataType: 'ipaddr' },
  'Mikrotik-Recv-Limit-Gigawords': { type: 14, vendorId: MIKROTIK_VENDOR_ID, dataType: 'integer' },
  'Mikrotik-Xmit-Limit-Gigawords': { type: 15, vendorId: MIKROTIK_VENDOR_ID, dataType: 'integer' },
  'Mikrotik-Address-List': { type: 19, vendorId: MIKROTIK_VENDOR_ID, dataType: 'string' },
} as const satisfies Record<string, AttributeSpec>;

/** RFC 5176 Error-Cause values, by name. */
export const ERROR_CAUSE = RADIUS_DICTIONARY['Error-Cause'].values;

export type RadiusDictionary = typeof RADIUS_DICTIONARY;
export type AttributeName = keyof RadiusDictionary;

interface ValueByDataType {
  string: string;
  octets: Buffer;
  ipaddr: string;
  integer: number;
  date: Date;
}

/** The decoded value of a known attribute. */
export type AttributeValueOf<N extends AttributeName> = ValueByDataType[RadiusDictionary[N]['dataType']];

/** Named values of an integer attribute (never for attributes without named values). */
export type NamedValueOf<N extends AttributeName> = RadiusDictionary[N] extends { values: infer V } ? keyof V & string : never;

/** What `attr()` accepts for a known attribute: its value, a named value, or raw bytes. */
export type AttributeInputOf<N extends AttributeName> = AttributeValueOf<N> | NamedValueOf<N> | Buffer;

const DEFINITIONS: readonly AttributeDefinition[] = Object.entries(RADIUS_DICTIONARY).map(
  ([name, spec]) => Object.freeze({ name, ...(spec as AttributeSpec) }),
);

function codeKey(type: number, vendorId: number | undefined): string {
  return vendorId === undefined ? String(type) : `${vendorId}.${type}`;
}

const BY_NAME: ReadonlyMap<string, AttributeDefinition> = new Map(DEFINITIONS.map((d) => [d.name.toLowerCase(), d]));
const BY_CODE: ReadonlyMap<string, AttributeDefinition> = new Map(DEFINITIONS.map((d) => [codeKey(d.type, d.vendorId), d]));

export function isAttributeName(name: string): name is AttributeName {
  return Object.prototype.hasOwnProperty.call(RADIUS_DICTIONARY, name);
}

/** Look an attribute up by name (case-insensitive, as FreeRADIUS does). */
export function findAttribute(name: string): AttributeDefinition | undefined {
  return BY_NAME.get(name.toLowerCase());
}

/** Look an attribute up by number, and vendor number for a vendor-specific attribute. */
export function findAttributeByCode(type: number, vendorId?: number): AttributeDefinition | undefined {
  return BY_CODE.get(codeKey(type, vendorId));
}

/** Vendors whose attributes use the RFC 2865 format (1-octet type, 1-octet length). */
export function isKnownVendor(vendorId: number): boolean {
  return vendorId === MIKROTIK_VENDOR_ID;
}

/** The name FreeRADIUS gives an attribute the dictionary does not know. */
export function unknownAttributeName(type: number, vendorId?: number): string {
  return vendorId === undefined ? `Attr-${type}` : `Attr-${VENDOR_SPECIFIC_TYPE}.${vendorId}.${type}`;
}

/** The name of an integer value (e.g. 503 → `Session-Context-Not-Found`), if it has one. */
export function valueName(name: string, value: number): string | undefined {
  const values = findAttribute(name)?.values;
  if (!values) return undefined;
  for (const [k, v] of Object.entries(values)) if (v === value) return k;
  return undefined;
}

/** The number of a named integer value (e.g. `Acct-Status-Type`, `Stop` → 2), if it exists. */
export function namedValue(name: string, valueName: string): number | undefined {
  const values = findAttribute(name)?.values;
  if (!values) return undefined;
  if (Object.prototype.hasOwnProperty.call(values, valueName)) return values[valueName];
  const lower = valueName.toLowerCase();
  for (const [k, v] of Object.entries(values)) if (k.toLowerCase() === lower) return v;
  return undefined;
}
