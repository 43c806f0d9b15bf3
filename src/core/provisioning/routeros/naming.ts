// What ispctl calls the objects it writes on a router, and the marker that says "ispctl manages
// this". Matching is by the marker in the comment, never by name alone: a name can be typed by a
// person, a marker only ever comes from ispctl.
//
//   PPP profile  ispctl-3-fiber-50             comment  ispctl:plan:3 Fiber 50
//   PPP profile  ispctl-3-fiber-50-throttled   comment  ispctl:plan:3:throttled Fiber 50, throttled
//   PPP secret   juan                          comment  ispctl:service:42 S-000042 Juan dela Cruz
//   queue        ispctl-juan                   comment  ispctl:service:42 S-000042 Juan dela Cruz
//   IP pool      ispctl-pool-3                 comment  ispctl:plan:3:pool Fiber 50
//   IP pool      ispctl-pool-default           comment  ispctl:router:1:pool default pool of core1
//
// Pure functions only.

/** The key a marker carries: `service:42`, `plan:3`, `plan:3:throttled`, `plan:3:pool`, `router:1:pool`. */
export type MarkerKey = string;

export interface ParsedMarker {
  kind: 'service' | 'plan' | 'router';
  id: number;
  throttled: boolean;
  /** An address pool's marker (`plan:3:pool`, `router:1:pool`). */
  pool: boolean;
  key: MarkerKey;
}

const MARKER = /^ispctl:(service|plan|router):([1-9][0-9]{0,15})(:throttled|:pool)?(?=\s|$)/;

/** The marker at the start of a comment, or undefined when ispctl does not manage the object. */
export function parseMarker(comment: string | undefined): ParsedMarker | undefined {
  if (!comment) return undefined;
  const m = MARKER.exec(comment);
  if (!m) return undefined;
  const kind = m[1] as 'service' | 'plan' | 'router';
  const id = Number(m[2]);
  if (!Number.isSafeInteger(id)) return undefined;
  const throttled = m[3] === ':throttled';
  const pool = m[3] === ':pool';
  if (throttled && kind !== 'plan') return undefined;
  if (pool && kind === 'service') return undefined;
  if (kind === 'router' && !pool) return undefined;
  return { kind, id, throttled, pool, key: `${kind}:${id}${m[3] ?? ''}` };
}

export function serviceKey(serviceId: number): MarkerKey {
  return `service:${serviceId}`;
}

export function planKey(planId: number, throttled = false): MarkerKey {
  return throttled ? `plan:${planId}:throttled` : `plan:${planId}`;
}

/** Key of a plan's address pool, or of a router's default pool. */
export function poolKey(owner: 'plan' | 'router', id: number): MarkerKey {
  return `${owner}:${id}:pool`;
}

/** The plan id of a `plan:…` key, or the service id of a `service:…` key. */
export function keyId(key: MarkerKey): number {
  return Number(key.split(':')[1]);
}

/** Longest comment ispctl writes, in characters. */
export const MAX_COMMENT_LENGTH = 200;

// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g;

/** Free text made safe for a one-line RouterOS comment: no control characters, one line, bounded. */
export function cleanText(text: string, max = MAX_COMMENT_LENGTH): string {
  const s = text.replace(CONTROL, ' ').replace(/\s+/g, ' ').trim();
  // No more UTF-16 units than the bound: no more characters either (a mass run writes one
  // comment per subscriber; most are far shorter than the bound).
  if (s.length <= max) return s;
  const chars = [...s];
  return chars.length <= max ? s : chars.slice(0, max - 1).join('').trimEnd() + '…';
}

/** `ispctl:<key> <human text>`. */
export function markerComment(key: MarkerKey, text: string): string {
  const marker = `ispctl:${key}`;
  const human = cleanText(text, MAX_COMMENT_LENGTH - marker.length - 1);
  return human ? `${marker} ${human}` : marker;
}

/** Lower-case ASCII slug of a plan name for profile names: `Fiber 50 (Promo)` → `fiber-50-promo`. */
export function slug(text: string, max = 32): string {
  const s = text
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, max)
    .replace(/-+$/g, '');
  return s || 'plan';
}

/** PPP profile of a plan: `ispctl-3-fiber-50`, or `ispctl-3-fiber-50-throttled`. */
export function profileName(plan: { id: number; name: string }, throttled = false): string {
  return `ispctl-${plan.id}-${slug(plan.name)}${throttled ? '-throttled' : ''}`;
}

/** Simple queue of a subscriber (queue shaping): `ispctl-<username>`. */
export function queueName(username: string): string {
  return `ispctl-${username}`;
}

/** Names ispctl writes: printable, no spaces at the ends, no characters RouterOS scripts trip on. */
const NAME = /^[A-Za-z0-9._@+-][A-Za-z0-9._@+ -]{0,126}[A-Za-z0-9._@+-]$|^[A-Za-z0-9._@+-]$/;

/** Why `name` cannot be written as a RouterOS name, or undefined when it can. */
export function nameProblem(name: string): string | undefined {
  if (!NAME.test(name)) return `${JSON.stringify(name)} is not a name ispctl writes to RouterOS (letters, digits and . _ @ + -, 1 to 128 characters)`;
  return undefined;
}

/** Why `value` cannot be written as a RouterOS value (control characters), or undefined. */
export function valueProblem(field: string, value: string): string | undefined {
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(value)) return `${field} contains control characters`;
  return undefined;
}
