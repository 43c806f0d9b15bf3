// The review file from router rows, pure: shared pools become the router's default, a partial
// read is said, hostile text survives YAML both ways, and the import's parser points at lines.
import { describe, expect, it } from 'vitest';
import { parseDocument } from 'yaml';
import { buildReview, renderReview, type KnownState, type RouterRead } from '../../src/core/onboarding/brownfield.js';
import { parseReview } from '../../src/core/onboarding/brownfield-service.js';

const known: KnownState = { routerId: 7, routerName: 'core1', services: new Map(), planIds: new Map([[3, 'Fiber 50']]), serviceIds: new Set() };
const read = (over: Partial<RouterRead> = {}): RouterRead => ({
  profiles: [
    { '.id': '*1', name: 'default', default: 'true' },
    { '.id': '*2', name: 'A', 'rate-limit': '2M/4M', 'local-address': '10.1.0.1', 'remote-address': 'shared' },
    { '.id': '*3', name: 'B', 'rate-limit': '4M/8M', 'local-address': '10.1.0.1', 'remote-address': 'shared' },
    { '.id': '*4', name: 'C', 'rate-limit': 'nonsense', 'remote-address': 'own' },
    { '.id': '*5', name: 'old', comment: 'ispctl:plan:3 Fiber 50' },
  ],
  secrets: [
    { '.id': '*a', name: 'x1', password: 'p1', profile: 'A', comment: 'He said "$(reboot)"\n; /system reset' },
    { '.id': '*b', name: 'x2', password: 'p2', profile: 'C', 'remote-address': '10.1.0.9' },
    { '.id': '*c', name: 'x3', password: 'p3', profile: 'C', 'remote-address': '10.1.0.9' },
  ],
  sessions: [],
  pools: [
    { '.id': '*p1', name: 'shared', ranges: '10.1.0.0/24' },
    { '.id': '*p2', name: 'own', ranges: '10.2.0.2-10.2.0.9' },
  ],
  queues: [{ '.id': '*q', name: '<pppoe-x1>', dynamic: 'true' }],
  errors: [],
  ...over,
});

describe('the brownfield review', () => {
  it('turns a pool two plans share into the router default, keeps a plan\'s own pool, and says what it did not understand', () => {
    const m = buildReview(read(), known, { readAt: new Date('2026-12-01T00:00:00Z'), textFallback: 'windows-1252' });
    expect(m.defaults).toEqual({ localAddress: '10.1.0.1', pool: '10.1.0.0-10.1.0.255', fromPool: 'shared' });
    expect(m.plans.map((p) => [p.profile, p.pool, p.localAddress, p.download])).toEqual([
      ['A', null, null, '4M'],
      ['B', null, null, '8M'],
      ['C', '10.2.0.2-10.2.0.9', null, null],
    ]);
    expect(m.imported.plans).toEqual(['Fiber 50 (profile old)']);
    // x2's static IP lies inside the pool that became the default; x3 has the same IP.
    expect(m.decide.map((d) => [d.username, d.problem])).toEqual([
      ['x2', expect.stringMatching(/^static IP 10\.1\.0\.9 lies inside a pool/)],
      ['x3', 'static IP 10.1.0.9 is also on x2'],
    ]);
    expect(m.subscribers.map((s) => s.username)).toEqual(['x1']);
    expect(m.warnings).toEqual([]);
  });

  it('says when a menu could not be read', () => {
    const m = buildReview(read({ pools: [], errors: [{ menu: '/ip/pool', error: 'timeout' }] }), known, { readAt: new Date(), textFallback: 'windows-1252' });
    expect(m.warnings[0]).toMatch(/^partial read: \/ip\/pool could not be read \(timeout\)/);
  });

  it('writes hostile text so that it reads back the same, and the parser names lines', () => {
    const m = buildReview(read(), known, { readAt: new Date('2026-12-01T00:00:00Z'), textFallback: 'windows-1252' });
    const text = renderReview(m);
    expect(text.startsWith('# ispctl brownfield review of router core1')).toBe(true);
    expect(text).toContain('SENSITIVE');
    const back = parseDocument(text).toJS();
    expect(back.subscribers[0].name).toBe('He said "$(reboot)" ; /system reset');
    const parsed = parseReview(text);
    expect(parsed.problems).toEqual([]);
    expect(parsed.review!.subscribers[0]).toMatchObject({ username: 'x1', profile: 'A', password: 'p1' });
    expect(text.split('\n')[parsed.review!.plans[2]!.line - 1]).toContain('profile: C');
    const edited = text.replace(/^(\s+)include: true$/m, '$1include: perhaps');
    const bad = parseReview(edited);
    expect(bad.problems).toEqual([{ line: expect.any(Number), message: 'include must be true or false, not "perhaps"' }]);
    expect(edited.split('\n')[bad.problems[0]!.line - 1]).toContain('perhaps');
  });
});
