import { describe, expect, it } from 'vitest';
import {
  ADMIN_STATUSES,
  COLLECTION_STATUSES,
  COLLECTION_TRANSITIONS,
  collectionTransitionAllowed,
  desiredAccess,
  hasEnded,
  type AccessInput,
  type AccessSettings,
  type PlanAccess,
} from '../../src/core/access/policy.js';

const settings: AccessSettings = { throttleDownloadKbps: 1000, throttleUploadKbps: 512, suspensionAction: 'block' };
const plan: PlanAccess = { downloadKbps: 50_000, uploadKbps: 10_000 };
const burstPlan: PlanAccess = {
  ...plan,
  burst: { downloadKbps: 100_000, uploadKbps: 20_000, thresholdDownloadKbps: 40_000, thresholdUploadKbps: 8_000, timeSeconds: 8 },
};

function access(over: Partial<AccessInput> = {}) {
  return desiredAccess({ adminStatus: 'active', collectionStatus: 'current', plan, settings, ...over });
}

describe('desiredAccess', () => {
  it('is active at the plan speed, upload first in the rate limit', () => {
    expect(access()).toEqual({ state: 'active', reason: 'ok', detail: 'Active at the plan speed.', downloadKbps: 50_000, uploadKbps: 10_000, rateLimit: '10M/50M' });
  });

  it('keeps the burst when active', () => {
    expect(access({ plan: burstPlan }).rateLimit).toBe('10M/50M 20M/100M 8M/40M 8/8');
  });

  it.each(['current', 'reminded', 'warned', 'restored'] as const)('collection %s does not touch access', (collectionStatus) => {
    expect(access({ collectionStatus }).state).toBe('active');
  });

  it('blocks an admin suspension, whatever billing says', () => {
    for (const collectionStatus of COLLECTION_STATUSES) {
      const a = access({ adminStatus: 'suspended', collectionStatus, settings: { ...settings, suspensionAction: 'throttle' } });
      expect(a).toEqual({ state: 'blocked', reason: 'admin_suspended', detail: 'Suspended by an administrator.' });
    }
  });

  it('blocks an ended service before anything else', () => {
    for (const adminStatus of ADMIN_STATUSES) {
      for (const collectionStatus of COLLECTION_STATUSES) {
        expect(access({ ended: true, adminStatus, collectionStatus })).toMatchObject({ state: 'blocked', reason: 'ended' });
      }
    }
  });

  it('blocks uncollectible accounts even when the plan throttles', () => {
    expect(access({ collectionStatus: 'uncollectible', plan: { ...plan, suspensionAction: 'throttle' } })).toMatchObject({ state: 'blocked', reason: 'uncollectible' });
  });

  it('billing suspension blocks by default (setting block)', () => {
    expect(access({ collectionStatus: 'suspended' })).toEqual({ state: 'blocked', reason: 'billing_suspended', detail: 'Suspended for non-payment.' });
  });

  it('billing suspension throttles at the setting speed when the setting says throttle', () => {
    const a = access({ collectionStatus: 'suspended', settings: { ...settings, suspensionAction: 'throttle' } });
    expect(a).toEqual({ state: 'throttled', reason: 'billing_suspended', detail: 'Throttled for non-payment.', downloadKbps: 1000, uploadKbps: 512, rateLimit: '512k/1M' });
  });

  it('the plan action wins over the setting, both ways', () => {
    expect(access({ collectionStatus: 'suspended', plan: { ...plan, suspensionAction: 'throttle' } }).state).toBe('throttled');
    expect(access({ collectionStatus: 'suspended', plan: { ...plan, suspensionAction: 'block' }, settings: { ...settings, suspensionAction: 'throttle' } }).state).toBe('blocked');
  });

  it('the plan throttle speeds win over the settings, each on its own', () => {
    const a = access({ collectionStatus: 'suspended', plan: { ...plan, suspensionAction: 'throttle', throttleDownloadKbps: 2000, throttleUploadKbps: null } });
    expect(a).toMatchObject({ state: 'throttled', downloadKbps: 2000, uploadKbps: 512, rateLimit: '512k/2M' });
  });

  it('never throttles above the plan speed, and drops the burst when throttled', () => {
    const slow: PlanAccess = { downloadKbps: 768, uploadKbps: 256, burst: burstPlan.burst, suspensionAction: 'throttle' };
    expect(access({ collectionStatus: 'suspended', plan: slow })).toMatchObject({ state: 'throttled', downloadKbps: 768, uploadKbps: 256, rateLimit: '256k/768k' });
  });

  it('is exhaustive: every combination gives one of the three states with a reason', () => {
    for (const ended of [false, true]) {
      for (const adminStatus of ADMIN_STATUSES) {
        for (const collectionStatus of COLLECTION_STATUSES) {
          for (const action of ['block', 'throttle'] as const) {
            const a = access({ ended, adminStatus, collectionStatus, settings: { ...settings, suspensionAction: action } });
            expect(['active', 'throttled', 'blocked']).toContain(a.state);
            expect(a.detail.length).toBeGreaterThan(0);
            if (a.state === 'blocked') expect(a.rateLimit).toBeUndefined();
            else expect(a.rateLimit).toMatch(/^\d+[kM]\/\d+[kM]/);
            const expected = ended || adminStatus === 'suspended' || collectionStatus === 'uncollectible' || (collectionStatus === 'suspended' && action === 'block') ? 'blocked' : collectionStatus === 'suspended' ? 'throttled' : 'active';
            expect(a.state).toBe(expected);
          }
        }
      }
    }
  });

  it('refuses statuses it does not know rather than guess', () => {
    expect(() => access({ adminStatus: 'paused' as never })).toThrow(RangeError);
    expect(() => access({ collectionStatus: 'late' as never })).toThrow(RangeError);
    expect(() => access({ collectionStatus: 'suspended', settings: { ...settings, suspensionAction: 'nap' as never } })).toThrow(RangeError);
  });

  it('is pure: the same input always gives the same output and is not changed', () => {
    const input: AccessInput = { adminStatus: 'active', collectionStatus: 'suspended', plan: { ...burstPlan, suspensionAction: 'throttle' }, settings };
    const copy = structuredClone(input);
    expect(desiredAccess(input)).toEqual(desiredAccess(input));
    expect(input).toEqual(copy);
  });
});

describe('hasEnded', () => {
  it('compares the end date with today', () => {
    expect(hasEnded(null, '2026-11-24')).toBe(false);
    expect(hasEnded(undefined, '2026-11-24')).toBe(false);
    expect(hasEnded('2026-11-25', '2026-11-24')).toBe(false);
    expect(hasEnded('2026-11-24', '2026-11-24')).toBe(true);
    expect(hasEnded('2026-11-01', '2026-11-24')).toBe(true);
  });
});

describe('collection status transitions', () => {
  it('name only known statuses and never a status itself', () => {
    for (const to of COLLECTION_STATUSES) {
      for (const from of COLLECTION_TRANSITIONS[to]) {
        expect(COLLECTION_STATUSES).toContain(from);
        expect(from).not.toBe(to);
      }
      expect(collectionTransitionAllowed(to, to)).toBe(false);
    }
  });

  it('write off only a suspended service, restore only after a suspension, and leave uncollectible never', () => {
    expect(COLLECTION_STATUSES.filter((from) => collectionTransitionAllowed(from, 'uncollectible'))).toEqual(['suspended']);
    expect(COLLECTION_STATUSES.filter((from) => collectionTransitionAllowed(from, 'restored'))).toEqual(['suspended']);
    expect(COLLECTION_STATUSES.filter((to) => collectionTransitionAllowed('uncollectible', to))).toEqual([]);
    expect(collectionTransitionAllowed('current', 'suspended')).toBe(true);
    expect(collectionTransitionAllowed('warned', 'reminded')).toBe(false);
  });
});
