// Router health from consecutive checks, and the daemon's log lines.
import { describe, expect, it } from 'vitest';
import { nextHealth, type HealthState, type ProbeResult } from '../../src/core/daemon/health.js';
import { ROUTER_STATUSES } from '../../src/core/routers/service.js';
import { ROUTER_TRANSITIONS, routerTransitionAllowed } from '../../src/core/routers/status.js';
import { formatJsonLine, formatTextLine, taskLog, type LogEntry } from '../../src/core/daemon/logger.js';

const ok: ProbeResult = { ok: true };
const down: ProbeResult = { ok: false, reachable: false, error: 'connect ECONNREFUSED 127.0.0.1:8728' };
const refused: ProbeResult = { ok: false, reachable: true, error: 'refused the API user or password' };

function walk(start: HealthState, probes: ProbeResult[], t = { degradedAfter: 1, offlineAfter: 3 }): string[] {
  const seen: string[] = [];
  let s = start;
  for (const p of probes) {
    s = nextHealth(s, p, t);
    seen.push(`${s.status}:${s.failures}`);
  }
  return seen;
}

describe('router health thresholds', () => {
  it('online → degraded → offline on failed checks in a row, online again on the first good one', () => {
    expect(walk({ status: 'online', failures: 0 }, [down, down, down, down, ok, down])).toEqual([
      'degraded:1',
      'degraded:2',
      'offline:3',
      'offline:4',
      'online:0',
      'degraded:1',
    ]);
  });

  it('waits for degraded-after failures before calling a router degraded', () => {
    expect(walk({ status: 'online', failures: 0 }, [down, down, down, ok], { degradedAfter: 2, offlineAfter: 3 })).toEqual(['online:1', 'degraded:2', 'offline:3', 'online:0']);
    expect(walk({ status: 'unknown', failures: 0 }, [down, down], { degradedAfter: 2, offlineAfter: 3 })).toEqual(['unknown:1', 'degraded:2']);
  });

  it('a router that answers but refuses the login is degraded, never offline', () => {
    expect(walk({ status: 'online', failures: 0 }, [refused, refused, refused, refused])).toEqual(['degraded:1', 'degraded:2', 'degraded:3', 'degraded:4']);
    // Was unreachable, now answers (wrong password after a reset): degraded.
    expect(walk({ status: 'offline', failures: 5 }, [refused])).toEqual(['degraded:6']);
  });

  it('a failed check never makes a router look better than it was seen', () => {
    // Recorded offline by a failed provisioning run; the first failed check keeps it offline.
    expect(walk({ status: 'offline', failures: 0 }, [down])).toEqual(['offline:1']);
  });

  it('contact by someone else since the last check starts the count again', () => {
    expect(nextHealth({ status: 'online', failures: 2 }, down, { degradedAfter: 1, offlineAfter: 3 }, true)).toEqual({ status: 'degraded', failures: 1 });
  });
});

describe('daemon log lines', () => {
  const entry: LogEntry = {
    time: new Date('2026-12-01T06:00:00.123Z'),
    level: 'warn',
    task: 'health',
    message: 'Router core1: online → degraded',
    fields: { router: 'core1', failures: 1, totalMinor: 150000n, note: 'two words' },
  };

  it('text: time, level, task, message, then key=value facts', () => {
    expect(formatTextLine(entry)).toBe('2026-12-01T06:00:00.123Z WARN  health        Router core1: online → degraded router=core1 failures=1 totalMinor=150000 note="two words"');
    expect(formatTextLine(entry, { fields: false })).toBe('2026-12-01T06:00:00.123Z WARN  health        Router core1: online → degraded');
  });

  it('json: one object per line, bigint as a string', () => {
    const line = formatJsonLine(entry);
    expect(line).not.toContain('\n');
    expect(JSON.parse(line)).toEqual({
      time: '2026-12-01T06:00:00.123Z',
      level: 'warn',
      task: 'health',
      message: 'Router core1: online → degraded',
      router: 'core1',
      failures: 1,
      totalMinor: '150000',
      note: 'two words',
    });
  });

  it('a task logger hands entries to the callback and never prints', () => {
    const got: LogEntry[] = [];
    const log = taskLog((e) => got.push(e), 'billing');
    log.info('Generated', { invoices: 3 });
    log.error('Failed');
    expect(got.map((e) => [e.level, e.task, e.message, e.fields])).toEqual([
      ['info', 'billing', 'Generated', { invoices: 3 }],
      ['error', 'billing', 'Failed', undefined],
    ]);
  });
});

describe('router status transitions', () => {
  it('allow every step a health check can take, and nothing back to pending or unknown', () => {
    const thresholds = { degradedAfter: 2, offlineAfter: 4 };
    const probes: ProbeResult[] = [{ ok: true }, { ok: false, reachable: true, error: 'login' }, { ok: false, reachable: false, error: 'timeout' }];
    for (const status of ROUTER_STATUSES) {
      for (const failures of [0, 1, 3, 9]) {
        for (const probe of probes) {
          for (const contact of [false, true]) {
            const next = nextHealth({ status, failures }, probe, thresholds, contact);
            // A pending router has no address: the health pass never probes it.
            if (status !== 'pending') expect(routerTransitionAllowed(status, next.status), `${status} → ${next.status}`).toBe(true);
          }
        }
      }
    }
    expect(ROUTER_TRANSITIONS.pending).toEqual([]);
    expect(ROUTER_TRANSITIONS.unknown).toEqual(['pending']);
    expect(routerTransitionAllowed('online', 'unknown')).toBe(false);
    expect(routerTransitionAllowed('registering', 'offline')).toBe(false);
  });
});
