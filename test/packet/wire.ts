// A small, independent frame parser and pcap reader for the packet/demo/bench tests: enough to
// check what the builders wrote (it is not the product's parser, which is native).
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

export interface ParsedFrame {
  vlans: number[];
  etherType: number;
  family?: 4 | 6;
  protocol?: number;
  src?: bigint;
  dst?: bigint;
  srcPort?: number;
  dstPort?: number;
  icmpType?: number;
  icmpCode?: number;
  tcpFlags?: number;
  /** Offset of the IP header in the frame. */
  ipOffset?: number;
  /** Offset of the transport header in the frame. */
  l4Offset?: number;
  /** IPv4 fragment offset in bytes / IPv6 fragment header present. */
  fragOffset?: number;
  moreFragments?: boolean;
}

const be16 = (b: Uint8Array, o: number): number => (b[o]! << 8) | b[o + 1]!;

function big(b: Uint8Array): bigint {
  let v = 0n;
  for (const x of b) v = (v << 8n) | BigInt(x);
  return v;
}

/** Parse an Ethernet frame; throws on truncation. */
export function parseFrame(f: Uint8Array): ParsedFrame {
  if (f.length < 14) throw new Error('short ethernet');
  let off = 12;
  let et = be16(f, off);
  const vlans: number[] = [];
  while (et === 0x8100 || et === 0x88a8) {
    vlans.push(be16(f, off + 2) & 0xfff);
    off += 4;
    et = be16(f, off);
  }
  off += 2;
  const out: ParsedFrame = { vlans, etherType: et };
  if (et === 0x0800) return { ...out, ...parseIp(f, off) };
  if (et === 0x86dd) return { ...out, ...parseIp(f, off) };
  return out;
}

/** Parse an IP packet starting at off. */
export function parseIp(b: Uint8Array, off = 0): Partial<ParsedFrame> {
  const v = b[off]! >> 4;
  const out: Partial<ParsedFrame> = { ipOffset: off };
  let proto: number;
  let l4: number;
  if (v === 4) {
    const ihl = (b[off]! & 0xf) * 4;
    if (b.length < off + ihl || ihl < 20) throw new Error('short ipv4');
    out.family = 4;
    proto = b[off + 9]!;
    out.src = big(b.subarray(off + 12, off + 16));
    out.dst = big(b.subarray(off + 16, off + 20));
    const fl = be16(b, off + 6);
    out.fragOffset = (fl & 0x1fff) * 8;
    out.moreFragments = (fl & 0x2000) !== 0;
    l4 = off + ihl;
    if (out.fragOffset > 0) return { ...out, protocol: proto };
  } else if (v === 6) {
    if (b.length < off + 40) throw new Error('short ipv6');
    out.family = 6;
    out.src = big(b.subarray(off + 8, off + 24));
    out.dst = big(b.subarray(off + 24, off + 40));
    proto = b[off + 6]!;
    l4 = off + 40;
    while ([0, 43, 44, 60].includes(proto)) {
      if (proto === 44) {
        out.fragOffset = be16(b, l4 + 2) & 0xfff8;
        out.moreFragments = (be16(b, l4 + 2) & 1) === 1;
        proto = b[l4]!;
        l4 += 8;
        if (out.fragOffset > 0) return { ...out, protocol: proto };
      } else {
        const next = b[l4]!;
        l4 += (b[l4 + 1]! + 1) * 8;
        proto = next;
      }
    }
  } else {
    throw new Error(`not IP (version ${v})`);
  }
  out.protocol = proto;
  out.l4Offset = l4;
  if (proto === 6 || proto === 17) {
    out.srcPort = be16(b, l4);
    out.dstPort = be16(b, l4 + 2);
    if (proto === 6) out.tcpFlags = b[l4 + 13]!;
  } else if (proto === 1 || proto === 58) {
    out.icmpType = b[l4]!;
    out.icmpCode = b[l4 + 1]!;
  }
  return out;
}

export interface PcapRead {
  linkType: number;
  nanosecond: boolean;
  snaplen: number;
  records: { tsNs: bigint; data: Uint8Array; origLen: number }[];
}

/** Read a little-endian classic pcap. */
export function readPcap(b: Uint8Array): PcapRead {
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const magic = v.getUint32(0, true);
  if (magic !== 0xa1b2c3d4 && magic !== 0xa1b23c4d) throw new Error(`bad magic ${magic.toString(16)}`);
  const nanosecond = magic === 0xa1b23c4d;
  const out: PcapRead = { linkType: v.getUint32(20, true), nanosecond, snaplen: v.getUint32(16, true), records: [] };
  let off = 24;
  while (off < b.length) {
    const sec = BigInt(v.getUint32(off, true));
    const frac = BigInt(v.getUint32(off + 4, true));
    const incl = v.getUint32(off + 8, true);
    const orig = v.getUint32(off + 12, true);
    out.records.push({
      tsNs: sec * 1_000_000_000n + (nanosecond ? frac : frac * 1000n),
      data: b.subarray(off + 16, off + 16 + incl),
      origLen: orig,
    });
    off += 16 + incl;
  }
  if (off !== b.length) throw new Error('trailing bytes');
  return out;
}

export const TCPDUMP = ['/usr/bin/tcpdump', '/usr/sbin/tcpdump'].find((p) => existsSync(p));

/** tcpdump -nr FILE with extra args; stdout lines. Only call when TCPDUMP is set. */
export function tcpdump(file: string, ...args: string[]): string[] {
  const r = spawnSync(TCPDUMP!, ['-nr', file, ...args], { encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(`tcpdump failed: ${r.stderr}`);
  return r.stdout.split('\n').filter((l) => l.length > 0);
}

/** tcpdump's checksum complaints (-vv): IP "bad cksum", TCP "(incorrect", UDP/ICMPv6 "bad ... cksum". */
export const CHECKSUM_COMPLAINT = /bad cksum|\(incorrect|bad udp cksum|bad icmp6? cksum|wrong icmp cksum/i;
