// The job kind decision table for one service, without a database: what each router is told
// for each kind of change, in API and RADIUS mode.
import { describe, expect, it } from 'vitest';
import { planServiceJob, type AccessChange, type RouterMode, type ServiceFlags } from '../../src/core/provisioning/access.js';

const api: RouterMode = { id: 1, mode: 'api', shaping: 'profile' };
const apiQueue: RouterMode = { id: 1, mode: 'api', shaping: 'queue' };
const radius: RouterMode = { id: 2, mode: 'radius', shaping: 'profile' };
const none: ServiceFlags = { created: false, credentialsChanged: false, addressChanged: false, planChanged: false, moved: false };
const svc = (accessState: 'active' | 'throttled' | 'blocked') => ({ id: 7, username: 'juan', accessState });
const change = (before: [string, string | null], after: [string, string | null]): AccessChange => ({
  serviceId: 7,
  routerId: 1,
  before: { state: before[0] as 'active', rateLimit: before[1], reason: 'x' },
  after: { state: after[0] as 'active', rateLimit: after[1], reason: 'y' },
});

describe('planServiceJob', () => {
  it('API mode converges the secret, with the old username after a rename', () => {
    expect(planServiceJob(svc('active'), api, undefined, { ...none, created: true })).toEqual({ routerId: 1, kind: 'service', target: 'service:7', serviceId: 7 });
    expect(planServiceJob(svc('active'), api, undefined, { ...none, credentialsChanged: true }, 'juan.old')).toEqual({ routerId: 1, kind: 'service', target: 'service:7', serviceId: 7, payload: { usernames: ['juan.old'] } });
    expect(planServiceJob(svc('blocked'), api, change(['active', '10M/50M'], ['blocked', null]), none)?.kind).toBe('service');
  });

  it('API mode: a rate change alone is the profile job when the profile carries the rate, the secret job with queues', () => {
    const rateOnly = change(['active', '10M/50M'], ['active', '20M/100M']);
    expect(planServiceJob(svc('active'), api, rateOnly, none)).toBeNull();
    expect(planServiceJob(svc('active'), apiQueue, rateOnly, none)?.kind).toBe('service');
  });

  it('RADIUS mode: nothing for a new or moved service; the views answer its next login', () => {
    expect(planServiceJob(svc('active'), radius, undefined, { ...none, created: true })).toBeNull();
    expect(planServiceJob(svc('active'), radius, undefined, { ...none, moved: true })).toBeNull();
  });

  it('RADIUS mode: blocked, new credentials or a new address drop the session (by its old name after a rename)', () => {
    expect(planServiceJob(svc('blocked'), radius, change(['active', '10M/50M'], ['blocked', null]), none)).toEqual({ routerId: 2, kind: 'radius_disconnect', target: 'service:7', serviceId: 7, payload: { username: 'juan' } });
    expect(planServiceJob(svc('active'), radius, undefined, { ...none, addressChanged: true })?.kind).toBe('radius_disconnect');
    expect(planServiceJob(svc('active'), radius, undefined, { ...none, credentialsChanged: true }, 'juan.old')?.payload).toEqual({ username: 'juan.old' });
    expect(planServiceJob(svc('blocked'), radius, undefined, { ...none, planChanged: true })?.kind).toBe('radius_disconnect');
  });

  it('RADIUS mode: a new rate, or access back from blocked, is a CoA; no change at all is nothing', () => {
    expect(planServiceJob(svc('throttled'), radius, change(['active', '10M/50M'], ['throttled', '1M/1M']), none)).toEqual({ routerId: 2, kind: 'radius_coa', target: 'service:7', serviceId: 7, payload: { username: 'juan' } });
    expect(planServiceJob(svc('active'), radius, change(['blocked', null], ['active', '10M/50M']), none)?.kind).toBe('radius_coa');
    expect(planServiceJob(svc('active'), radius, undefined, none)).toBeNull();
    expect(planServiceJob(svc('active'), radius, undefined, { ...none, planChanged: true })).toBeNull();
  });
});
