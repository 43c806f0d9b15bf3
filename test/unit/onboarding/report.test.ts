import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatReport, parseReport, type InspectReport } from '../../../src/core/onboarding/report.js';

const name = fc.string({ unit: 'grapheme', maxLength: 20 });
const bool = fc.boolean();
const report: fc.Arbitrary<InspectReport> = fc.record({
  version: fc.constantFrom('7.16.2 (stable)', '6.49.17 (long-term)', '7.18'),
  versionNumber: fc.constant<[number, number, number]>([0, 0, 0]),
  board: name,
  identity: name,
  interfaces: fc.array(fc.record({ name, type: fc.constantFrom('ether', 'wg', 'vlan'), running: bool, disabled: bool }), { maxLength: 4 }),
  addresses: fc.array(fc.record({ address: fc.constantFrom('10.0.0.1/24', '192.168.88.1/24'), interface: name, disabled: bool }), { maxLength: 3 }),
  pppoeServers: fc.array(fc.record({ interface: name, serviceName: name, disabled: bool }), { maxLength: 2 }),
  pools: fc.array(fc.record({ name, ranges: fc.constantFrom('10.1.0.2-10.1.0.254', '10.2.0.2-10.2.0.9;10.3.0.1') }), { maxLength: 3 }),
  profileCount: fc.nat(5000),
  secretCount: fc.nat(100000),
  radius: fc.array(fc.record({ address: fc.constant('192.0.2.1'), service: fc.constantFrom('ppp', 'ppp;login'), srcAddress: fc.constant('0.0.0.0'), disabled: bool }), { maxLength: 2 }),
  radiusIncoming: fc.record({ accept: bool, port: fc.option(fc.integer({ min: 1, max: 65535 }), { nil: null }) }),
  pppAaa: fc.record({ useRadius: bool, interimUpdate: fc.constantFrom('0s', '5m', '00:05:00') }),
  services: fc.array(fc.record({ name: fc.constantFrom('api', 'api-ssl'), port: fc.integer({ min: 1, max: 65535 }), address: fc.constantFrom('', '10.0.0.0/8'), disabled: bool }), { maxLength: 2 }),
  apiUserExists: bool,
  firewallInput: fc.record({ rules: fc.nat(100), drops: fc.nat(100) }),
});

describe('inspect report format', () => {
  it('reads back whatever it wrote, names of any characters included', () => {
    fc.assert(
      fc.property(report, (r) => {
        const line = formatReport(r);
        expect(line).toMatch(/^[\x21-\x7e ]+$/);
        const { report: back } = parseReport(`junk before\n${line}\nprompt after`);
        expect(back).toEqual({ ...r, versionNumber: back.versionNumber });
      }),
      { numRuns: 200 },
    );
  });

  it('refuses a report of another version', () => {
    expect(() => parseReport('ISPCTL-REPORT v9;ros=7;len=20')).toThrow(/v9 report/);
  });
});
