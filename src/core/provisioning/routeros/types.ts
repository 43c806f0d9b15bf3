// Shapes shared by the desired-state builder, the diff, the executor, the driver and sync.
import type { AccessState } from '../../access/policy.js';
import type { Row } from '../../routeros/index.js';
import type { BlockAction, Shaping } from '../../routers/service.js';
import type { MarkerKey } from './naming.js';

export type ObjectKind = 'pool' | 'profile' | 'secret' | 'queue';

export const OBJECT_KINDS: readonly ObjectKind[] = ['pool', 'profile', 'secret', 'queue'];

/** The RouterOS menu of each kind of object ispctl writes. */
export const MENU: Record<ObjectKind, string> = {
  pool: '/ip/pool',
  profile: '/ppp/profile',
  secret: '/ppp/secret',
  queue: '/queue/simple',
};

/**
 * Fields ispctl owns on each kind of object. Anything else on the object (caller-id,
 * local-address, limit-at, …) is left as the router has it.
 */
export const MANAGED_FIELDS: Record<ObjectKind, readonly string[]> = {
  pool: ['name', 'ranges', 'comment'],
  profile: ['name', 'rate-limit', 'local-address', 'remote-address', 'comment'],
  secret: ['name', 'password', 'service', 'profile', 'remote-address', 'disabled', 'comment'],
  queue: ['name', 'target', 'max-limit', 'burst-limit', 'burst-threshold', 'burst-time', 'disabled', 'comment'],
};

/** What ispctl reads of each kind (managed fields, the id, and flags that exclude a row). */
export const PROPLIST: Record<ObjectKind, readonly string[]> = {
  pool: ['.id', ...MANAGED_FIELDS.pool],
  profile: ['.id', ...MANAGED_FIELDS.profile, 'default'],
  secret: ['.id', ...MANAGED_FIELDS.secret],
  queue: ['.id', ...MANAGED_FIELDS.queue, 'dynamic'],
};

export const SESSION_PROPLIST: readonly string[] = ['.id', 'name', 'address'];

/** One object as ispctl wants it on the router. */
export interface DesiredObject {
  kind: ObjectKind;
  key: MarkerKey;
  name: string;
  /**
   * Values of the managed fields, as written (`disabled` as yes/no). A managed field missing
   * here must be unset on the router (e.g. no `remote-address`, no `rate-limit`).
   */
  fields: Record<string, string>;
}

/** A service of the router as session handling needs it. */
export interface DesiredService {
  serviceId: number;
  key: MarkerKey;
  username: string;
  state: AccessState;
  staticIp: string | null;
  /** False when the service is not (or no longer) on this router. */
  present: boolean;
}

export interface RouterFacts {
  id: number;
  name: string;
  shaping: Shaping;
  /** The router's block action, or the setting's when the router does not say. */
  blockAction: BlockAction;
  /** Default local address and pool for plans that carry none. */
  localAddress?: string | null;
  poolRanges?: string | null;
}

export interface InvalidObject {
  key: MarkerKey;
  kind: ObjectKind;
  error: string;
}

export interface DesiredState {
  router: RouterFacts;
  /** `/ip/pool` of the plans used on the router and the router's default pool. */
  pools: DesiredObject[];
  profiles: DesiredObject[];
  secrets: DesiredObject[];
  queues: DesiredObject[];
  /** Services the state speaks for, by key (every service on the router for a full state). */
  services: Map<MarkerKey, DesiredService>;
  /** Objects that cannot be written as they are (left alone on the router, reported). */
  invalid: InvalidObject[];
  /** Things people should know (e.g. services queue shaping cannot limit). */
  warnings: string[];
  /** Service keys this state speaks for; undefined means the whole router. */
  scope?: ReadonlySet<MarkerKey>;
}

/** What the router holds, as printed (only the rows that were read). */
export interface ActualState {
  /** Undefined when pools were not read (a router without pool support in an old test double). */
  pools?: Row[];
  profiles: Row[];
  secrets: Row[];
  queues: Row[];
  /** Live sessions, when they were read. */
  sessions?: Row[];
}
