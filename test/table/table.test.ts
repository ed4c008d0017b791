// Table blob v1 (native/table/format.h): exact bytes of the header and an entry, round trips,
// and every validation that decodeTable performs.
import fc from 'fast-check';
import { randomBytes } from 'node:crypto';
import * as zlib from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { compile } from '../../src/compile/compile.js';
import type { CompiledTable } from '../../src/compile/table.js';
import { crc32, crc32Portable } from '../../src/table/crc32.js';
import { decodeTable, TableFormatError } from '../../src/table/decode.js';
import { encodeTable } from '../../src/table/encode.js';
import * as F from '../../src/table/format.js';
import { loadNative } from '../../src/native/binding.js';
import { referenceMatch } from '../../src/table/reference-match.js';
import { allowIn, allowOut, ingress, policy, tcp } from '../helpers/policy-builder.js';
import { arbPolicy } from '../helpers/random-policy.js';

/** The table as the wire can say it: a /0 prefix and "no prefix" are the same thing. */
function wireForm(t: CompiledTable): CompiledTable {
  return {
    ...t,
    interfaces: t.interfaces.map((i) => ({
      ...i,
      ingress: i.ingress.map((e) => ({ ...e, src: e.src?.prefix === 0 ? null : e.src, dst: e.dst?.prefix === 0 ? null : e.dst })),
      egress: i.egress.map((e) => ({ ...e, src: e.src?.prefix === 0 ? null : e.src, dst: e.dst?.prefix === 0 ? null : e.dst })),
    })),
  };
}

function tableOf(d: ReturnType<typeof decodeTable>): CompiledTable {
  const { cloud, interfaces, rules, conntrack } = d;
  return { cloud, interfaces, rules, conntrack };
}

const sample = policy('alibaba')
  .group('sg-a', [
    ingress('accept', 'tcp', '192.0.2.0/24', { ports: [22, '8000-8080'], locals: '10.0.1.10/32', srcPorts: '1024-65535', priority: 9, id: 'ssh' }),
    ingress('drop', 'icmpv6', '2001:db8::/32', { icmp: [128, 'any'], id: 'no-ping6' }),
  ])
  .iface('eni-web', ['10.0.1.10', '2001:db8:1::10'], ['sg-a'], 'intranet')
  .build();

/** Re-seal a blob after a test edited it, so that checks beyond the crc are reached. */
function reseal(b: Uint8Array): Uint8Array {
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  v.setUint32(F.HEADER.crc32.off, 0, true);
  v.setUint32(F.HEADER.crc32.off, crc32(b), true);
  return b;
}

function codeOf(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(TableFormatError);
    return `${(e as TableFormatError).code}: ${(e as Error).message}`;
  }
  return 'no error';
}

describe('crc32', () => {
  it('is the IEEE/zlib CRC (check value of "123456789") in both implementations', () => {
    const check = new TextEncoder().encode('123456789');
    expect(crc32(check)).toBe(0xcbf43926);
    expect(crc32Portable(check)).toBe(0xcbf43926);
    const data = new Uint8Array(randomBytes(4096));
    expect(crc32Portable(data)).toBe(zlib.crc32(data) >>> 0);
  });

  it('the addon\'s CRC (what crc32() uses when built) equals the portable one, also over views into a buffer', () => {
    const native = loadNative();
    const data = new Uint8Array(randomBytes(70_000));
    for (const [from, to] of [[0, 0], [0, 1], [3, 3 + 8191], [1, 70_000], [0, 70_000]] as const) {
      const view = data.subarray(from, to);
      expect(native.crc32(view)).toBe(crc32Portable(view));
      expect(crc32(view)).toBe(crc32Portable(view));
    }
    expect(() => native.crc32(new Uint16Array(4) as unknown as Uint8Array)).toThrow(/Uint8Array/);
  });
});

describe('encodeTable: layout', () => {
  const blob = encodeTable(compile(sample));
  const v = new DataView(blob.buffer);
  const H = F.HEADER;
  const u32 = (o: number) => v.getUint32(o, true);

  it('header fields', () => {
    expect(u32(H.magic.off)).toBe(F.MAGIC);
    expect(String.fromCharCode(...blob.subarray(0, 4))).toBe('SGFT');
    expect(v.getUint16(H.version.off, true)).toBe(1);
    expect(v.getUint16(H.headerLen.off, true)).toBe(64);
    expect(v.getUint8(H.cloud.off)).toBe(F.CLOUD_CODES.alibaba);
    expect(v.getUint16(H.entryRecordSize.off, true)).toBe(64);
    expect(u32(H.interfaceCount.off)).toBe(1);
    expect(u32(H.addressCount.off)).toBe(2);
    expect(u32(H.totalLen.off)).toBe(blob.length);
    for (const f of [H.interfacesOff, H.addressesOff, H.entriesOff, H.rulesOff, H.conntrackOff, H.stringsOff]) {
      expect(u32(f.off) % 8).toBe(0);
    }
    expect(u32(H.interfacesOff.off)).toBe(64);
  });

  it('an entry record, byte for byte (the "ssh" rule, first expansion)', () => {
    const t = compile(sample);
    const pos = t.interfaces[0]!.ingress.findIndex((e) => t.rules[e.rule]!.id === 'ssh');
    const base = u32(H.entriesOff.off) + pos * 64;
    const E = F.ENTRY;
    const rec = new DataView(blob.buffer, base, 64);
    expect(rec.getUint32(E.rule.off, true)).toBe(t.rules.findIndex((r) => r.id === 'ssh'));
    expect(rec.getUint16(E.iface.off, true)).toBe(0);
    expect(rec.getUint8(E.direction.off)).toBe(0);
    expect(rec.getUint8(E.action.off)).toBe(1);
    expect(rec.getUint8(E.reason.off)).toBe(0);
    expect(rec.getUint8(E.family.off)).toBe(4);
    expect(rec.getUint8(E.proto.off)).toBe(6);
    expect(rec.getUint8(E.flags.off)).toBe(F.FLAG_ICMP_TYPE_ANY | F.FLAG_ICMP_CODE_ANY);
    expect([rec.getUint16(E.sportLo.off, true), rec.getUint16(E.sportHi.off, true)]).toEqual([1024, 65535]);
    expect([rec.getUint16(E.dportLo.off, true), rec.getUint16(E.dportHi.off, true)]).toEqual([22, 22]);
    expect([rec.getUint8(E.srcLen.off), rec.getUint8(E.dstLen.off)]).toEqual([24, 32]);
    expect([...blob.subarray(base + E.src.off, base + E.src.off + 16)]).toEqual([192, 0, 2, 0, ...new Array(12).fill(0)]);
    expect([...blob.subarray(base + E.dst.off, base + E.dst.off + 4)]).toEqual([10, 0, 1, 10]);
    expect(rec.getUint16(E.priority.off, true)).toBe(9);
    expect(rec.getUint32(E.order.off, true)).toBe(pos);
  });
});

describe('decodeTable', () => {
  it('round-trips random compiled tables (a /0 prefix reads back as "any")', () => {
    fc.assert(
      fc.property(arbPolicy(), (p) => {
        const t = compile(p);
        const blob = encodeTable(t);
        const d = decodeTable(blob);
        expect(tableOf(d)).toEqual(wireForm(t));
        expect(encodeTable(tableOf(d))).toEqual(blob);
      }),
      { numRuns: 150 },
    );
  });

  it('keeps the interface nicType, addresses and conntrack settings', () => {
    const d = decodeTable(encodeTable(compile(sample)));
    expect(d.interfaces[0]!.nicType).toBe('intranet');
    expect(d.interfaces[0]!.addresses.map((a) => a.text)).toEqual(['10.0.1.10', '2001:db8:1::10']);
    expect(d.conntrack).toEqual(sample.conntrack);
    expect(referenceMatch(d, 0, 'ingress', tcp('192.0.2.5', '10.0.1.10', 22, 2000))!.rule).toBe('ssh');
  });

  const good = () => encodeTable(compile(policy('aws').group('sg-a', [allowIn('tcp', '0.0.0.0/0', { ports: 22 }), allowOut('any', '0.0.0.0/0')]).iface('eni-1', ['10.0.1.10'], ['sg-a']).build()));
  const edit = (f: (v: DataView, b: Uint8Array) => void, seal = true) => {
    const b = good();
    f(new DataView(b.buffer), b);
    return seal ? reseal(b) : b;
  };
  const entriesOff = (v: DataView) => v.getUint32(F.HEADER.entriesOff.off, true);

  it('rejects a flipped bit (crc32), truncation and a short blob', () => {
    expect(codeOf(() => decodeTable(edit((_, b) => (b[200]! ^= 1), false)))).toMatch(/^ERR_TABLE_CRC: .*crc32/);
    expect(codeOf(() => decodeTable(good().subarray(0, 100)))).toMatch(/^ERR_TABLE_CRC: .*total_len/);
    expect(codeOf(() => decodeTable(new Uint8Array(10)))).toMatch(/^ERR_TABLE_FORMAT: .*shorter than/);
  });

  it('rejects a wrong magic and an unknown version', () => {
    expect(codeOf(() => decodeTable(edit((v) => v.setUint32(0, 0x12345678, true))))).toMatch(/^ERR_TABLE_FORMAT: .*magic/);
    expect(codeOf(() => decodeTable(edit((v) => v.setUint16(F.HEADER.version.off, 2, true))))).toMatch(/^ERR_TABLE_VERSION/);
  });

  it('rejects bad sections, indexes, orders and codes', () => {
    expect(codeOf(() => decodeTable(edit((v) => v.setUint32(F.HEADER.entriesOff.off, entriesOff(v) + 4, true))))).toMatch(/aligned/);
    expect(codeOf(() => decodeTable(edit((v) => v.setUint32(F.HEADER.entryCount.off, 1000, true))))).toMatch(/past the end/);
    expect(codeOf(() => decodeTable(edit((v) => v.setUint32(entriesOff(v) + F.ENTRY.rule.off, 99, true))))).toMatch(/beyond .* rules/);
    expect(codeOf(() => decodeTable(edit((v) => v.setUint32(entriesOff(v) + F.ENTRY.order.off, 5, true))))).toMatch(/order 5/);
    expect(codeOf(() => decodeTable(edit((v) => v.setUint8(entriesOff(v) + F.ENTRY.direction.off, 1))))).toMatch(/direction/);
    expect(codeOf(() => decodeTable(edit((v) => v.setUint8(entriesOff(v) + F.ENTRY.family.off, 5))))).toMatch(/family 5/);
    expect(codeOf(() => decodeTable(edit((v) => v.setUint8(entriesOff(v) + F.ENTRY.reason.off, 2))))).toMatch(/reason code 2/);
    expect(codeOf(() => decodeTable(edit((v) => v.setUint8(entriesOff(v) + F.ENTRY.srcLen.off, 33))))).toMatch(/prefix length 33/);
    const hostBits = (len: number) => (v: DataView) => {
      v.setUint8(entriesOff(v) + F.ENTRY.srcLen.off, len);
      v.setUint8(entriesOff(v) + F.ENTRY.src.off + 1, 1);
    };
    expect(codeOf(() => decodeTable(edit(hostBits(8))))).toMatch(/bits set beyond \/8/);
    expect(codeOf(() => decodeTable(edit(hostBits(0))))).toMatch(/prefix length 0 with non-zero/);
    expect(codeOf(() => decodeTable(edit((v) => v.setUint8(F.HEADER.cloud.off, 9))))).toMatch(/cloud code 9/);
    expect(codeOf(() => decodeTable(edit((v) => v.setUint16(F.HEADER.entryRecordSize.off, 32, true))))).toMatch(/entry_record_size/);
  });

  it('the unmodified blob decodes (the edits above are what fail)', () => {
    expect(codeOf(() => decodeTable(reseal(good())))).toBe('no error');
  });
});

describe('referenceMatch', () => {
  it('returns undefined when a hand-made run has no catch-all, and throws on a bad index', () => {
    const t = compile(sample);
    const bare: CompiledTable = { ...t, interfaces: [{ ...t.interfaces[0]!, ingress: [] }] };
    expect(referenceMatch(bare, 0, 'ingress', tcp('192.0.2.5', '10.0.1.10', 22))).toBeUndefined();
    expect(() => referenceMatch(t, 3, 'ingress', tcp('192.0.2.5', '10.0.1.10', 22))).toThrow(RangeError);
  });
});
