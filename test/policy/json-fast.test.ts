// scanJson takes a short way for well-formed text without duplicate keys; the full scan
// (scanJsonStrict) is the reference it must agree with on every text, duplicates or not.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { scanJson, scanJsonStrict } from '../../src/policy/json-text.js';

const ws = fc.constantFrom('', ' ', '\n  ', '\t', '\r\n');
// Keys from a small set, some written with escapes, so that objects often repeat a key.
const key = fc.constantFrom('"a"', '"b"', '"\\u0061"', '"a\\"b"', '"__proto__"', '"{"', '"}"', '"x\\\\"', '"\\\\"', '"é"', '""');
const scalar = fc.oneof(
  fc.constantFrom('1', '-0.5e3', 'true', 'false', 'null', '"s"', '"{\\"a\\":1}"', '"}{"', '"\\\\"', '"\\u007b"'),
  fc.string({ maxLength: 6 }).map((s) => JSON.stringify(s)),
);
const { value } = fc.letrec<{ value: string; object: string; array: string }>((tie) => ({
  value: fc.oneof({ depthSize: 'small', withCrossShrink: true }, scalar, tie('object'), tie('array')),
  object: fc
    .array(fc.tuple(ws, key, ws, ws, tie('value'), ws), { maxLength: 5 })
    .map((ps) => `{${ps.map(([w1, k, w2, w3, v, w4]) => `${w1}${k}${w2}:${w3}${v}${w4}`).join(',')}}`),
  array: fc.array(fc.tuple(ws, tie('value'), ws), { maxLength: 4 }).map((vs) => `[${vs.map(([a, v, b]) => `${a}${v}${b}`).join(',')}]`),
}));

describe('scanJson short way', () => {
  it('property: same result as the full scan, with and without duplicate keys', () => {
    let withDuplicates = 0;
    fc.assert(
      fc.property(value, ws, (text, pad) => {
        const full = scanJsonStrict(pad + text);
        if (full.duplicates.length > 0) withDuplicates++;
        expect(scanJson(pad + text)).toEqual(full);
      }),
      { numRuns: 2000 },
    );
    expect(withDuplicates).toBeGreaterThan(50);
  });

  it('property: same result on broken text', () => {
    fc.assert(
      fc.property(value, fc.nat(), fc.constantFrom('', '"', '{', '}', ',', ':', '\\', 'x', '\n'), (text, at, junk) => {
        const i = at % (text.length + 1);
        const broken = text.slice(0, i) + junk + text.slice(i + 1);
        expect(scanJson(broken)).toEqual(scanJsonStrict(broken));
      }),
      { numRuns: 2000 },
    );
  });

  it('an enumerable property added to Object.prototype does not hide a duplicate', () => {
    const proto = Object.prototype as Record<string, unknown>;
    proto.polluted = 1;
    try {
      expect(scanJson('{"a": 1, "a": 2}').duplicates).toEqual([{ path: '', key: 'a' }]);
      expect(scanJson('{"a": 1, "b": {"c": 2}}').duplicates).toEqual([]);
    } finally {
      delete proto.polluted;
    }
  });

  it('finds duplicates only in the same object, after decoding escapes', () => {
    expect(scanJson('{"a": {"a": 1}, "b": [{"a": 1}, {"a": 2}]}').duplicates).toEqual([]);
    expect(scanJson('{"a": 1, "b": {"c": 1, "\\u0063": 2}}').duplicates).toEqual([{ path: 'b', key: 'c' }]);
    expect(scanJson('\uFEFF{"a": "{\\"a\\": 1}", "a": 2}').duplicates).toEqual([{ path: '', key: 'a' }]);
    expect(scanJson('[{"x": 1}, {"y": {"z": 1, "z": 2}}]').duplicates).toEqual([{ path: '[1].y', key: 'z' }]);
  });
});
