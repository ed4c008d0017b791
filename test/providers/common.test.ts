// The providers' "a/b" port-range reader agrees with its regex on every input. (Their CIDRs
// are src/model/cidr.ts's, tested against ipaddr.js in test/policy/address-fast.test.ts.)
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { splitPortRange } from '../../src/providers/common.js';

describe('splitPortRange', () => {
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
