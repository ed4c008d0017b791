// The IPv4 fast paths of the providers agree with src/model/cidr.ts on every input.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseAddress, parseCidr } from '../../src/model/cidr.js';
import { parseAddressFast, parseCidrFast, splitPortRange } from '../../src/providers/common.js';

const octet = fc.oneof(fc.integer({ min: 0, max: 300 }).map(String), fc.constantFrom('00', '01', '010', '', 'x', '256'));
const v4ish = fc.tuple(octet, octet, octet, octet, fc.option(fc.oneof(fc.integer({ min: 0, max: 40 }).map(String), fc.constantFrom('08', '', '1000', 'a')), { nil: undefined }))
  .map(([a, b, c, d, p]) => `${a}.${b}.${c}.${d}${p === undefined ? '' : `/${p}`}`);

describe('parseCidrFast / parseAddressFast', () => {
  it('property: same result as parseCidr for IPv4-like text, bare or not', () => {
    fc.assert(fc.property(v4ish, fc.boolean(), (t, bare) => {
      expect(parseCidrFast(t, bare)).toEqual(parseCidr(t, bare));
      expect(parseAddressFast(t)).toEqual(parseAddress(t));
    }), { numRuns: 3000 });
  });

  it('host bits and edge prefixes', () => {
    expect(parseCidrFast('100.68.0.18/18')).toEqual({ cidr: { family: 4, addr: 0x64440000n, prefix: 18, text: '100.68.0.0/18' }, hostBitsSet: true });
    expect(parseCidrFast('255.255.255.255/0')!.cidr.text).toBe('0.0.0.0/0');
    expect(parseCidrFast('10.0.0.1')).toBeUndefined();
    expect(parseCidrFast('10.0.0.1', true)!.cidr.text).toBe('10.0.0.1/32');
    expect(parseCidrFast('2001:db8::1/64')!.cidr.text).toBe('2001:db8::/64');
  });

  it('property: splitPortRange reads what its regex reads', () => {
    const RANGE = /^\s*(-?\d{1,6})\s*\/\s*(-?\d{1,6})\s*$/;
    const part = fc.oneof(fc.integer({ min: 0, max: 9_999_999 }).map(String), fc.constantFrom('-1', '007', '', ' 80', '80 ', '+1', '1e3', '\u00a01', '٣'));
    const text = fc.oneof(fc.tuple(part, part).map(([a, b]) => `${a}/${b}`), fc.string({ maxLength: 12 }));
    fc.assert(fc.property(text, (t) => {
      const m = RANGE.exec(t);
      expect(splitPortRange(t)).toEqual(m ? [Number(m[1]), Number(m[2])] : undefined);
    }), { numRuns: 3000 });
  });

  it('splitPortRange reads "a/b" and nothing else', () => {
    expect(splitPortRange('80/443')).toEqual([80, 443]);
    expect(splitPortRange(' -1 / -1 ')).toEqual([-1, -1]);
    expect(splitPortRange('80')).toBeUndefined();
    expect(splitPortRange('80-90')).toBeUndefined();
    expect(splitPortRange('1/2/3')).toBeUndefined();
  });
});
