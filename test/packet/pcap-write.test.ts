import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ethernet, udpPacket } from '../../src/packet/build.js';
import {
  LINKTYPE_ETHERNET, LINKTYPE_RAW, PCAP_MAGIC_NS, PCAP_MAGIC_US, PcapWriter, pcapFileHeader, writePcap, writePcapFile,
  type PcapRecord,
} from '../../src/packet/pcap-write.js';
import { readPcap, TCPDUMP, tcpdump } from './wire.js';

const tmp = mkdtempSync(join(tmpdir(), 'sgfw-pcap-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const T0 = 1_704_067_200_000_000_000n; // 2024-01-01T00:00:00Z

function records(n: number, raw = false): PcapRecord[] {
  return Array.from({ length: n }, (_, i) => {
    const ip = udpPacket({ src: '198.18.0.1', dst: '198.18.0.2', srcPort: 1000 + (i % 50000), dstPort: 53, payload: new Uint8Array(i % 100) });
    return { tsNs: T0 + BigInt(i) * 1_234_567n, data: raw ? ip : ethernet(ip) };
  });
}

describe('pcap file header', () => {
  it('writes magic, version 2.4, snaplen and link type, little-endian', () => {
    const us = new DataView(pcapFileHeader().buffer);
    expect(us.getUint32(0, true)).toBe(PCAP_MAGIC_US);
    expect(us.getUint16(4, true)).toBe(2);
    expect(us.getUint16(6, true)).toBe(4);
    expect(us.getUint32(16, true)).toBe(262144);
    expect(us.getUint32(20, true)).toBe(LINKTYPE_ETHERNET);
    const ns = new DataView(pcapFileHeader({ resolution: 'ns', linkType: LINKTYPE_RAW, snaplen: 96 }).buffer);
    expect(ns.getUint32(0, true)).toBe(PCAP_MAGIC_NS);
    expect(ns.getUint32(16, true)).toBe(96);
    expect(ns.getUint32(20, true)).toBe(LINKTYPE_RAW);
  });
});

describe('writePcap (in memory)', () => {
  it('round-trips timestamps at microsecond and nanosecond resolution', () => {
    const recs = [{ tsNs: T0 + 123_456_789n, data: Uint8Array.of(1, 2, 3) }, { tsNs: 5_000_001_999, data: new Uint8Array(0) }];
    const us = readPcap(writePcap(recs));
    expect(us.nanosecond).toBe(false);
    expect(us.records.map((r) => r.tsNs)).toEqual([T0 + 123_456_000n, 5_000_001_000n]);
    const ns = readPcap(writePcap(recs, { resolution: 'ns' }));
    expect(ns.nanosecond).toBe(true);
    expect(ns.records.map((r) => r.tsNs)).toEqual([T0 + 123_456_789n, 5_000_001_999n]);
    expect(Array.from(ns.records[0]!.data)).toEqual([1, 2, 3]);
  });

  it('truncates to snaplen, keeps the wire length, and honours origLen', () => {
    const f = readPcap(writePcap([{ tsNs: 0, data: new Uint8Array(100).fill(9) }, { tsNs: 1, data: new Uint8Array(10), origLen: 60 }], { snaplen: 64 }));
    expect(f.snaplen).toBe(64);
    expect(f.records[0]!.data.length).toBe(64);
    expect(f.records[0]!.origLen).toBe(100);
    expect(f.records[1]!.data.length).toBe(10);
    expect(f.records[1]!.origLen).toBe(60);
  });

  it('rejects timestamps it cannot store', () => {
    expect(() => writePcap([{ tsNs: -1, data: new Uint8Array(1) }])).toThrow(/timestamp/);
    expect(() => writePcap([{ tsNs: 2n ** 32n * 1_000_000_000n, data: new Uint8Array(1) }])).toThrow(/2106/);
  });
});

describe('PcapWriter (streaming)', () => {
  it('produces the same bytes as writePcap across many buffer flushes, and moves the file into place on close', () => {
    const recs = records(3000);
    const file = join(tmp, 'stream.pcap');
    const w = new PcapWriter(file, { resolution: 'ns' }, 1 << 16); // 64 KiB buffer: ~5 flushes
    for (const r of recs) w.write(r);
    expect(existsSync(file)).toBe(false);
    w.close();
    const bytes = new Uint8Array(readFileSync(file));
    expect(w.packets).toBe(3000);
    expect(w.bytes).toBe(bytes.length);
    expect(Buffer.from(bytes).equals(Buffer.from(writePcap(recs, { resolution: 'ns' })))).toBe(true);
    expect(() => w.write(recs[0]!)).toThrow(/closed/);
  });

  it('handles a record larger than its buffer', () => {
    const file = join(tmp, 'big.pcap');
    const w = new PcapWriter(file, {}, 1 << 16);
    w.write({ tsNs: 0, data: new Uint8Array(100_000).fill(1) });
    w.write({ tsNs: 1, data: new Uint8Array(10).fill(2) });
    w.close();
    const f = readPcap(new Uint8Array(readFileSync(file)));
    expect(f.records.map((r) => r.data.length)).toEqual([100_000, 10]);
  });

  it('leaves nothing behind when aborted or when a record fails', () => {
    const dir = mkdtempSync(join(tmp, 'abort-'));
    const w = new PcapWriter(join(dir, 'x.pcap'));
    w.write(records(1)[0]!);
    w.abort();
    expect(() => writePcapFile(join(dir, 'y.pcap'), [records(1)[0]!, { tsNs: -5, data: new Uint8Array(1) }])).toThrow();
    expect(readdirSync(dir)).toEqual([]);
  });
});

describe.skipIf(!TCPDUMP)('tcpdump reads what we write', () => {
  it('Ethernet, microseconds: right count, times and contents', () => {
    const file = join(tmp, 'eth.pcap');
    const res = writePcapFile(file, records(500));
    expect(res.packets).toBe(500);
    const lines = tcpdump(file, '-tt');
    expect(lines).toHaveLength(500);
    expect(lines[0]).toMatch(/^1704067200\.000000 IP 198\.18\.0\.1\.1000 > 198\.18\.0\.2\.53: /);
    expect(lines[1]).toMatch(/^1704067200\.001234 IP 198\.18\.0\.1\.1001 > /);
  });

  it('raw IP, nanoseconds', () => {
    const file = join(tmp, 'raw.pcap');
    writePcapFile(file, records(20, true), { linkType: LINKTYPE_RAW, resolution: 'ns' });
    const lines = tcpdump(file, '-tt', '--time-stamp-precision=nano');
    expect(lines).toHaveLength(20);
    expect(lines[1]).toMatch(/^1704067200\.001234567 IP 198\.18\.0\.1\.1001 > 198\.18\.0\.2\.53/);
  });
});
