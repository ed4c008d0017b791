// The table layout and the verdict vocabulary exist twice, in native/table/format.h +
// native/core/reason.h and in src/table/format.ts + src/model/reason.ts: they must agree.
import { describe, expect, it } from 'vitest';
import { loadNative } from '../src/native/binding.js';
import * as fmt from '../src/table/format.js';
import { INVALID_SUBS, MALFORMED_SUBS, REASONS } from '../src/model/reason.js';

const native = loadNative().describeFormat();

describe('table format v1: TypeScript mirror == native header', () => {
  it('magic and version', () => {
    expect(native.magic).toBe(fmt.MAGIC);
    expect(Buffer.from(fmt.MAGIC_TEXT, 'latin1').readUInt32LE(0)).toBe(fmt.MAGIC); // the text a table file starts with
    expect(native.versionMajor).toBe(fmt.VERSION_MAJOR);
  });

  const sections: [string, Record<string, unknown>, Record<string, unknown>][] = [
    ['header', fmt.HEADER, native.header],
    ['iface', fmt.IFACE, native.iface],
    ['address', fmt.ADDRESS, native.address],
    ['entry', fmt.ENTRY, native.entry],
    ['rule', fmt.RULE, native.rule],
    ['conntrack', fmt.CONNTRACK, native.conntrack],
  ];
  for (const [name, ts, cc] of sections) {
    it(`${name}: every field at the same offset and length`, () => {
      expect(Object.keys(ts).sort()).toEqual(Object.keys(cc).sort());
      for (const key of Object.keys(ts)) expect(ts[key], `${name}.${key}`).toEqual(cc[key]);
    });
    it(`${name}: fields tile the record without gaps or overlaps`, () => {
      const fields = Object.entries(ts)
        .filter(([k]) => k !== 'size')
        .map(([, v]) => v as fmt.Field)
        .sort((a, b) => a.off - b.off);
      let at = 0;
      for (const f of fields) {
        expect(f.off).toBe(at);
        at += f.len;
      }
      expect(at).toBe(ts.size);
    });
  }

  it('flags', () => {
    expect(native.flags).toEqual({
      protoAny: fmt.FLAG_PROTO_ANY,
      icmpTypeAny: fmt.FLAG_ICMP_TYPE_ANY,
      icmpCodeAny: fmt.FLAG_ICMP_CODE_ANY,
      untrackedTcp: fmt.FLAG_UNTRACKED_TCP,
      untrackedUdp: fmt.FLAG_UNTRACKED_UDP,
    });
  });

  it('timeout slots, reasons and sub-reasons have the same names in the same order', () => {
    expect(native.timeoutSlots).toEqual([...fmt.TIMEOUT_SLOTS]);
    expect(native.reasons).toEqual([...REASONS]);
    expect(native.malformedSubs).toEqual([...MALFORMED_SUBS]);
    expect(native.invalidSubs).toEqual([...INVALID_SUBS]);
  });
});
