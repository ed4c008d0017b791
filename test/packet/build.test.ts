import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import * as b from '../../src/packet/build.js';
import { TcpFlow } from '../../src/packet/flow.js';
import { writePcap } from '../../src/packet/pcap-write.js';
import { CHECKSUM_COMPLAINT, parseFrame, parseIp, TCPDUMP, tcpdump } from './wire.js';

const A = '198.18.0.1';
const B = '198.18.1.10';
const A6 = '2001:db8::1';
const B6 = '2001:db8:1::10';

const tmp = mkdtempSync(join(tmpdir(), 'sgfw-packet-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
if (!TCPDUMP) console.warn('tcpdump not installed: the tcpdump cross-checks in test/packet are skipped');

/** Verify a transport checksum over the pseudo-header: the sum of everything must fold to 0. */
function l4Verifies(src: string, dst: string, proto: number, seg: Uint8Array): boolean {
  return b.internetChecksum(seg, b.pseudoHeaderSum(src, dst, proto, seg.length)) === 0;
}

const be16 = (x: Uint8Array, o: number): number => (x[o]! << 8) | x[o + 1]!;

describe('internetChecksum', () => {
  it('matches the classic IPv4 header example (0xb861)', () => {
    const h = Uint8Array.from([0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11, 0x00, 0x00,
      0xc0, 0xa8, 0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7]);
    expect(b.internetChecksum(h)).toBe(0xb861);
    h[10] = 0xb8;
    h[11] = 0x61;
    expect(b.internetChecksum(h)).toBe(0);
  });

  it('pads odd lengths with a zero byte', () => {
    expect(b.internetChecksum(Uint8Array.of(0x12, 0x34, 0x56))).toBe(~(0x1234 + 0x5600) & 0xffff);
  });
});

describe('addresses', () => {
  it('parses text and passes bytes through', () => {
    expect(Array.from(b.ipBytes('198.18.0.1'))).toEqual([198, 18, 0, 1]);
    expect(b.ipBytes('2001:db8::1')).toHaveLength(16);
    expect(b.ipText(b.ipBytes('2001:DB8:0::1'))).toBe('2001:db8::1');
    expect(() => b.ipBytes('198.18.0.256')).toThrow(/not an IP address/);
    expect(() => b.ipBytes('10.0.0.0/8')).toThrow();
    expect(Array.from(b.macBytes('02:00:5e:00:00:0a'))).toEqual([2, 0, 0x5e, 0, 0, 10]);
    expect(() => b.macBytes('02:00:5e:00:00')).toThrow(/MAC/);
  });

  it('derives solicited-node groups and their MACs', () => {
    expect(b.ipText(b.solicitedNodeAddress('2001:db8:1::10'))).toBe('ff02::1:ff00:10');
    expect(Array.from(b.ipv6MulticastMac('ff02::1:ff00:10'))).toEqual([0x33, 0x33, 0xff, 0, 0, 0x10]);
  });
});

describe('ethernet', () => {
  it('writes MACs, infers the ethertype and stacks QinQ tags outer first', () => {
    const ip = b.udpPacket({ src: A, dst: B, srcPort: 1, dstPort: 2 });
    const f = b.ethernet(ip, { src: '02:00:00:00:00:aa', dst: '02:00:00:00:00:bb', vlans: [100, { vid: 200, pcp: 5 }] });
    expect(Array.from(f.subarray(0, 12))).toEqual([2, 0, 0, 0, 0, 0xbb, 2, 0, 0, 0, 0, 0xaa]);
    expect(be16(f, 12)).toBe(b.ETHERTYPE_QINQ);
    expect(be16(f, 14)).toBe(100);
    expect(be16(f, 16)).toBe(b.ETHERTYPE_VLAN);
    expect(be16(f, 18)).toBe((5 << 13) | 200);
    expect(be16(f, 20)).toBe(b.ETHERTYPE_IPV4);
    expect(f.length).toBe(22 + ip.length);
    const p = parseFrame(f);
    expect(p.vlans).toEqual([100, 200]);
    expect(p.dstPort).toBe(2);
    expect(be16(b.ethernet(b.udpPacket({ src: A6, dst: B6, srcPort: 1, dstPort: 2 })), 12)).toBe(b.ETHERTYPE_IPV6);
    expect(() => b.ethernet(Uint8Array.of(0, 1, 2))).toThrow(/etherType/);
  });
});

describe('ipv4', () => {
  it('fills every header field and a checksum that verifies', () => {
    const p = b.ipv4({ src: A, dst: B, protocol: 17, payload: new Uint8Array(10), id: 0xbeef, ttl: 9, tos: 0x10, df: true });
    expect(p[0]).toBe(0x45);
    expect(p[1]).toBe(0x10);
    expect(be16(p, 2)).toBe(30);
    expect(be16(p, 4)).toBe(0xbeef);
    expect(be16(p, 6)).toBe(0x4000);
    expect(p[8]).toBe(9);
    expect(p[9]).toBe(17);
    expect(b.internetChecksum(p.subarray(0, 20))).toBe(0);
  });

  it('pads options to a multiple of 4 and counts them in IHL', () => {
    const p = b.ipv4({ src: A, dst: B, protocol: 6, payload: new Uint8Array(0), options: Uint8Array.of(0x94, 4, 0, 0, 1) });
    expect(p[0]! & 0xf).toBe(7);
    expect(Array.from(p.subarray(20, 28))).toEqual([0x94, 4, 0, 0, 1, 0, 0, 0]);
    expect(b.internetChecksum(p.subarray(0, 28))).toBe(0);
  });

  it('encodes fragment fields and honours overrides for malformed packets', () => {
    const p = b.ipv4({ src: A, dst: B, protocol: 6, payload: new Uint8Array(8), mf: true, fragOffset: 1480 });
    expect(be16(p, 6)).toBe(0x2000 | 185);
    const bad = b.ipv4({ src: A, dst: B, protocol: 6, payload: new Uint8Array(8), totalLength: 999, ihl: 4, checksum: 0 });
    expect(be16(bad, 2)).toBe(999);
    expect(bad[0]! & 0xf).toBe(4);
    expect(be16(bad, 10)).toBe(0);
    expect(() => b.ipv4({ src: A, dst: B, protocol: 6, payload: new Uint8Array(0), fragOffset: 3 })).toThrow();
    expect(() => b.ipv4({ src: A6, dst: B, protocol: 6, payload: new Uint8Array(0) })).toThrow(/IPv4/);
  });
});

describe('ipv6', () => {
  it('chains extension headers to the payload protocol', () => {
    const payload = b.udp({ src: A6, dst: B6, srcPort: 7, dstPort: 9, payload: new Uint8Array(5) });
    const p = b.ipv6({
      src: A6, dst: B6, nextHeader: 17, payload, hopLimit: 3, flowLabel: 0xabcde, trafficClass: 0x22,
      extensions: [{ type: 'hop-by-hop', options: Uint8Array.of(5, 2, 0, 0) }, { type: 'destination' }, { type: 'fragment', offset: 0, more: false, id: 77 }],
    });
    expect(p[0]! >> 4).toBe(6);
    expect(((p[0]! & 0xf) << 4) | (p[1]! >> 4)).toBe(0x22);
    expect(((p[1]! & 0xf) << 16) | be16(p, 2)).toBe(0xabcde);
    expect(be16(p, 4)).toBe(p.length - 40);
    expect(p[6]).toBe(b.IPPROTO_HOPOPTS);
    expect(p[7]).toBe(3);
    expect(p[40]).toBe(b.IPPROTO_DSTOPTS); // hop-by-hop -> destination options
    expect(p[41]).toBe(0); // 8 bytes
    expect(Array.from(p.subarray(42, 48))).toEqual([5, 2, 0, 0, 1, 0]); // router alert + PadN
    expect(p[48]).toBe(b.IPPROTO_FRAGMENT);
    expect(p[56]).toBe(17);
    expect(be16(p, 58)).toBe(0); // offset 0, M clear: an atomic fragment
    const parsed = parseIp(p);
    expect(parsed.protocol).toBe(17);
    expect(parsed.dstPort).toBe(9);
    expect(l4Verifies(A6, B6, 17, p.subarray(parsed.l4Offset!))).toBe(true);
  });

  it('writes routing headers and raw extension headers', () => {
    const p = b.ipv6({ src: A6, dst: B6, nextHeader: b.IPPROTO_NONE, payload: new Uint8Array(0),
      extensions: [{ type: 'routing', routingType: 4, segmentsLeft: 0, data: new Uint8Array(4) }, { type: 'raw', protocol: 60, body: new Uint8Array(6) }] });
    expect(p[6]).toBe(b.IPPROTO_ROUTING);
    expect(p[40]).toBe(60);
    expect(p[42]).toBe(4);
    expect(p[48]).toBe(b.IPPROTO_NONE);
    expect(() => b.ipv6({ src: A6, dst: B6, nextHeader: 59, payload: new Uint8Array(0), extensions: [{ type: 'raw', protocol: 60, body: new Uint8Array(3) }] })).toThrow();
  });
});

describe('transport checksums', () => {
  const addrPair = fc.oneof(
    fc.tuple(fc.ipV4(), fc.ipV4()),
    fc.tuple(fc.ipV6(), fc.ipV6()),
  );

  it('TCP verifies over the pseudo-header for random segments (v4 and v6), and breaks when a byte flips', () => {
    fc.assert(fc.property(addrPair, fc.integer({ min: 0, max: 65535 }), fc.integer({ min: 0, max: 65535 }),
      fc.integer({ min: 0, max: 0xffffffff }), fc.integer({ min: 0, max: 255 }), fc.uint8Array({ maxLength: 300 }),
      ([src, dst], sp, dp, seq, flags, payload) => {
        const seg = b.tcp({ src, dst, srcPort: sp, dstPort: dp, seq, ack: seq ^ 0x5555, flags, payload });
        expect(l4Verifies(src, dst, 6, seg)).toBe(true);
        const i = seq % seg.length;
        const broken = seg.slice();
        broken[i] = broken[i]! ^ 0x01;
        expect(l4Verifies(src, dst, 6, broken)).toBe(false);
      }), { numRuns: 200 });
  });

  it('UDP verifies, never sends 0 as a computed checksum, and may omit it on IPv4', () => {
    fc.assert(fc.property(addrPair, fc.uint8Array({ maxLength: 200 }), ([src, dst], payload) => {
      const d = b.udp({ src, dst, srcPort: 53, dstPort: 40000, payload });
      expect(be16(d, 4)).toBe(d.length);
      expect(be16(d, 6)).not.toBe(0);
      expect(l4Verifies(src, dst, 17, d)).toBe(true);
    }), { numRuns: 200 });
    expect(be16(b.udp({ src: A, dst: B, srcPort: 1, dstPort: 2, noChecksum: true }), 6)).toBe(0);
    expect(be16(b.udp({ src: A6, dst: B6, srcPort: 1, dstPort: 2, noChecksum: true }), 6)).not.toBe(0);
  });

  it('TCP header fields and options', () => {
    const s = b.tcp({ src: A, dst: B, srcPort: 50000, dstPort: 443, seq: 0xfffffff0, ack: 7, flags: b.TCP_SYN | b.TCP_ACK,
      window: 1000, options: b.tcpMssOption(1460) });
    expect(be16(s, 0)).toBe(50000);
    expect(be16(s, 2)).toBe(443);
    expect(((be16(s, 4) << 16) | be16(s, 6)) >>> 0).toBe(0xfffffff0);
    expect(s[12]! >> 4).toBe(6);
    expect(s[13]).toBe(0x12);
    expect(be16(s, 14)).toBe(1000);
    expect(Array.from(s.subarray(20, 24))).toEqual([2, 4, 0x05, 0xb4]);
  });
});

describe('ICMP', () => {
  it('echo carries id and seq and a checksum that verifies', () => {
    const m = b.icmpEcho({ id: 0x1234, seq: 7, payload: new Uint8Array(56).fill(1) });
    expect(m[0]).toBe(8);
    expect(be16(m, 4)).toBe(0x1234);
    expect(be16(m, 6)).toBe(7);
    expect(b.internetChecksum(m)).toBe(0);
    expect(b.icmpEcho({ id: 1, seq: 1, reply: true })[0]).toBe(0);
  });

  it('errors quote the inner IP header plus 8 bytes by default, and carry the next-hop MTU', () => {
    const inner = b.tcpPacket({ src: B, dst: A, srcPort: 80, dstPort: 50000, flags: b.TCP_ACK, payload: new Uint8Array(1460), df: true,
      ipOptions: Uint8Array.of(1, 1, 1, 1) });
    const m = b.icmpError({ type: 3, code: 4, quoted: inner, mtu: 1400 });
    expect(m.length).toBe(8 + 24 + 8);
    expect(be16(m, 6)).toBe(1400);
    expect(Array.from(m.subarray(8))).toEqual(Array.from(inner.subarray(0, 32)));
    expect(b.internetChecksum(m)).toBe(0);
    const quoted = parseIp(m.subarray(8));
    expect(quoted.srcPort).toBe(80);
    expect(quoted.dstPort).toBe(50000);
    expect(b.icmpError({ type: 3, code: 3, quoted: inner, quoteBytes: 548 }).length).toBe(8 + 548);
    expect(b.icmpError({ type: 12, code: 0, quoted: inner, pointer: 9 })[4]).toBe(9);
  });

  it('ICMPv6 errors stay within the 1280-byte minimum MTU and verify', () => {
    const inner = b.tcpPacket({ src: B6, dst: A6, srcPort: 443, dstPort: 50000, flags: b.TCP_ACK, payload: new Uint8Array(1440) });
    const pkt = b.icmpv6ErrorPacket({ src: '2001:db8:1::1', dst: B6, type: b.ICMPV6_PACKET_TOO_BIG, code: 0, rest: 1280, quoted: inner });
    expect(pkt.length).toBe(1280);
    const p = parseIp(pkt);
    expect(p.icmpType).toBe(2);
    const msg = pkt.subarray(40);
    expect(be16(msg, 6)).toBe(1280);
    expect(l4Verifies('2001:db8:1::1', B6, 58, msg)).toBe(true);
    expect(Array.from(msg.subarray(8, 48))).toEqual(Array.from(inner.subarray(0, 40)));
    const small = b.icmpv6PacketTooBig({ src: A6, dst: B6, mtu: 1280, quoted: inner.subarray(0, 100) });
    expect(small.length).toBe(108);
  });

  it('neighbour solicitation and advertisement', () => {
    const ns = b.icmpv6NeighborSolicitation({ src: A6, target: B6, sourceLinkAddr: '02:00:00:00:00:01' });
    expect(ns[0]).toBe(135);
    expect(b.ipText(ns.subarray(8, 24))).toBe(B6);
    expect(Array.from(ns.subarray(24, 32))).toEqual([1, 1, 2, 0, 0, 0, 0, 1]);
    expect(l4Verifies(A6, b.ipText(b.solicitedNodeAddress(B6)), 58, ns)).toBe(true);
    const na = b.icmpv6NeighborAdvertisement({ src: B6, dst: A6, target: B6, targetLinkAddr: '02:00:00:00:00:02', solicited: true });
    expect(na[0]).toBe(136);
    expect(na[4]).toBe(0x60);
    expect(l4Verifies(B6, A6, 58, na)).toBe(true);
  });

  it('echoPacket picks ICMP or ICMPv6 by family', () => {
    expect(parseIp(b.echoPacket({ src: A, dst: B, id: 1, seq: 2 })).protocol).toBe(1);
    const v6 = b.echoPacket({ src: A6, dst: B6, id: 1, seq: 2, reply: true });
    expect(parseIp(v6).protocol).toBe(58);
    expect(parseIp(v6).icmpType).toBe(129);
    expect(l4Verifies(A6, B6, 58, v6.subarray(40))).toBe(true);
  });
});

describe('ARP', () => {
  it('writes an Ethernet/IPv4 ARP request to broadcast and a reply to the asker', () => {
    const req = b.arpFrame({ op: 'request', senderMac: '02:00:00:00:00:01', senderIp: A, targetIp: B });
    expect(req.length).toBe(42);
    expect(Array.from(req.subarray(0, 6))).toEqual([255, 255, 255, 255, 255, 255]);
    expect(be16(req, 12)).toBe(b.ETHERTYPE_ARP);
    expect(Array.from(req.subarray(14, 22))).toEqual([0, 1, 8, 0, 6, 4, 0, 1]);
    expect(Array.from(req.subarray(28, 32))).toEqual([198, 18, 0, 1]);
    expect(Array.from(req.subarray(38, 42))).toEqual([198, 18, 1, 10]);
    const rep = b.arpFrame({ op: 'reply', senderMac: '02:00:00:00:00:02', senderIp: B, targetMac: '02:00:00:00:00:01', targetIp: A });
    expect(Array.from(rep.subarray(0, 6))).toEqual([2, 0, 0, 0, 0, 1]);
    expect(be16(rep, 20)).toBe(2);
  });
});

/** Reassemble fragments by offset; returns the payload bytes. */
function reassemble(parts: { offset: number; data: Uint8Array }[]): Uint8Array {
  const end = Math.max(...parts.map((p) => p.offset + p.data.length));
  const out = new Uint8Array(end);
  for (const p of parts) out.set(p.data, p.offset);
  return out;
}

describe('fragmentIpv4', () => {
  it('splits on 8-byte boundaries, fits the MTU, and reassembles to the original payload', () => {
    fc.assert(fc.property(fc.integer({ min: 1, max: 4000 }), fc.integer({ min: 68, max: 1500 }), fc.boolean(), (n, mtu, withOpts) => {
      const payload = Uint8Array.from({ length: n }, (_, i) => (i * 7) & 0xff);
      const opts = withOpts ? Uint8Array.of(0x94, 4, 0, 0, 0x07, 3, 4, 0) : undefined; // router alert (copied), record route (not)
      const pkt = b.ipv4({ src: A, dst: B, protocol: 17, payload, id: 4242, ...(opts ? { options: opts } : {}) });
      const frags = b.fragmentIpv4(pkt, mtu);
      const parts = frags.map((f, i) => {
        expect(f.length).toBeLessThanOrEqual(mtu);
        expect(b.internetChecksum(f.subarray(0, b.ipv4HeaderLength(f)))).toBe(0);
        expect(be16(f, 4)).toBe(4242);
        const fl = be16(f, 6);
        expect((fl & 0x2000) !== 0).toBe(i < frags.length - 1);
        const hl = b.ipv4HeaderLength(f);
        if (i > 0 && withOpts) expect(hl).toBe(24); // only the copied router-alert option
        return { offset: (fl & 0x1fff) * 8, data: f.subarray(hl) };
      });
      if (frags.length > 1) parts.slice(0, -1).forEach((p) => expect(p.data.length % 8).toBe(0));
      expect(Array.from(reassemble(parts))).toEqual(Array.from(payload));
    }), { numRuns: 150 });
  });

  it('refuses DF packets that do not fit, unless told to ignore DF', () => {
    const pkt = b.ipv4({ src: A, dst: B, protocol: 17, payload: new Uint8Array(2000), df: true });
    expect(() => b.fragmentIpv4(pkt, 1500)).toThrow(/DF/);
    expect(b.fragmentIpv4(pkt, 1500, { ignoreDf: true })).toHaveLength(2);
    expect(b.fragmentIpv4(pkt, 3000)).toHaveLength(1);
  });

  it('keeps MF on the last piece when refragmenting a middle fragment', () => {
    const mid = b.ipv4({ src: A, dst: B, protocol: 17, payload: new Uint8Array(1000), mf: true, fragOffset: 800 });
    const frags = b.fragmentIpv4(mid, 500);
    expect(frags.length).toBe(3);
    for (const f of frags) expect(be16(f, 6) & 0x2000).toBe(0x2000);
    expect((be16(frags[0]!, 6) & 0x1fff) * 8).toBe(800);
  });
});

describe('fragmentIpv6', () => {
  it('inserts a fragment header after hop-by-hop and reassembles', () => {
    const inner = b.tcp({ src: A6, dst: B6, srcPort: 443, dstPort: 50000, flags: b.TCP_ACK, payload: Uint8Array.from({ length: 3000 }, (_, i) => i & 0xff) });
    const pkt = b.ipv6({ src: A6, dst: B6, nextHeader: 6, payload: inner, extensions: [{ type: 'hop-by-hop' }] });
    const frags = b.fragmentIpv6(pkt, 1280, 0xdeadbeef);
    expect(frags.length).toBe(3);
    const parts = frags.map((f, i) => {
      expect(f.length).toBeLessThanOrEqual(1280);
      expect(f[6]).toBe(b.IPPROTO_HOPOPTS);
      expect(f[40]).toBe(b.IPPROTO_FRAGMENT);
      expect(f[48]).toBe(6);
      expect(be16(f, 4)).toBe(f.length - 40);
      const fo = be16(f, 50);
      expect((fo & 1) === 1).toBe(i < frags.length - 1);
      expect(((be16(f, 52) << 16) | be16(f, 54)) >>> 0).toBe(0xdeadbeef);
      return { offset: fo & 0xfff8, data: f.subarray(56) };
    });
    const whole = reassemble(parts);
    expect(Array.from(whole)).toEqual(Array.from(inner));
    expect(l4Verifies(A6, B6, 6, whole)).toBe(true);
    expect(b.fragmentIpv6(pkt, 9000, 1)).toHaveLength(1);
  });
});

describe('TcpFlow', () => {
  it('keeps sequence and acknowledgement numbers consistent through handshake, data and close', () => {
    const f = new TcpFlow({ client: A, server: B, clientPort: 50000, serverPort: 80, clientIsn: 0xfffffffe, serverIsn: 100 });
    const seqAck = (p: Uint8Array): [number, number, number] => {
      const l4 = parseIp(p).l4Offset!;
      return [((be16(p, l4 + 4) << 16) | be16(p, l4 + 6)) >>> 0, ((be16(p, l4 + 8) << 16) | be16(p, l4 + 10)) >>> 0, p[l4 + 13]!];
    };
    const [syn, synAck, ack] = f.handshake();
    expect(seqAck(syn!)).toEqual([0xfffffffe, 0, b.TCP_SYN]);
    expect(seqAck(synAck!)).toEqual([100, 0xffffffff, b.TCP_SYN | b.TCP_ACK]);
    expect(seqAck(ack!)).toEqual([0xffffffff, 101, b.TCP_ACK]);
    const req = f.data('client', new Uint8Array(10));
    expect(seqAck(req)).toEqual([0xffffffff, 101, b.TCP_PSH | b.TCP_ACK]);
    const resp = f.data('server', new Uint8Array(5));
    expect(seqAck(resp)).toEqual([101, 9, b.TCP_PSH | b.TCP_ACK]); // wrapped past 2^32
    const [fin1, fin2, last] = f.close('client');
    expect(seqAck(fin1!)).toEqual([9, 106, b.TCP_FIN | b.TCP_ACK]);
    expect(seqAck(fin2!)).toEqual([106, 10, b.TCP_FIN | b.TCP_ACK]);
    expect(seqAck(last!)).toEqual([10, 107, b.TCP_ACK]);
    for (const p of [syn!, synAck!, ack!, req, resp, fin1!, fin2!, last!]) {
      const parsed = parseIp(p);
      const fromClient = parsed.srcPort === 50000;
      expect(l4Verifies(fromClient ? A : B, fromClient ? B : A, 6, p.subarray(parsed.l4Offset!))).toBe(true);
    }
    const g = new TcpFlow({ client: A, server: B, clientPort: 1, serverPort: 2, clientIsn: 77 });
    expect(seqAck(g.syn())[0]).toBe(77);
    expect(seqAck(g.synRetransmit())[0]).toBe(77);
    expect(seqAck(g.synAck())[1]).toBe(78);
  });
});

describe.skipIf(!TCPDUMP)('tcpdump agrees', () => {
  it('decodes every builder output with correct checksums', () => {
    const big = b.udpPacket({ src: A, dst: B, srcPort: 5000, dstPort: 6000, payload: new Uint8Array(3000) });
    const big6 = b.tcpPacket({ src: A6, dst: B6, srcPort: 443, dstPort: 50000, flags: b.TCP_ACK, payload: new Uint8Array(2000) });
    const syn = b.tcpPacket({ src: A, dst: B, srcPort: 40000, dstPort: 80, flags: b.TCP_SYN, seq: 1, options: b.tcpMssOption(1460), df: true });
    const frames = [
      b.ethernet(syn),
      b.ethernet(b.tcpPacket({ src: A6, dst: B6, srcPort: 40000, dstPort: 443, flags: b.TCP_SYN, extensions: [{ type: 'destination' }] }), { vlans: [7] }),
      b.ethernet(b.udpPacket({ src: A6, dst: B6, srcPort: 5353, dstPort: 53, payload: new Uint8Array(20) }), { vlans: [1, 2] }),
      ...b.fragmentIpv4(big, 1500).map((f) => b.ethernet(f)),
      ...b.fragmentIpv6(big6, 1280, 9).map((f) => b.ethernet(f)),
      b.ethernet(b.icmpErrorPacket({ src: '198.18.1.1', dst: A, type: 3, code: 4, mtu: 1400, quoted: syn })),
      b.ethernet(b.icmpv6ErrorPacket({ src: '2001:db8:1::1', dst: A6, type: 2, code: 0, rest: 1280, quoted: big6 })),
      b.ethernet(b.echoPacket({ src: A, dst: B, id: 3, seq: 4 })),
      b.ethernet(b.echoPacket({ src: A6, dst: B6, id: 3, seq: 4 })),
      b.ethernet(b.ipPacket({ src: A6, dst: b.solicitedNodeAddress(B6), ttl: 255, protocol: 58, payload: b.icmpv6NeighborSolicitation({ src: A6, target: B6 }) })),
      b.arpFrame({ op: 'request', senderMac: '02:00:00:00:00:01', senderIp: A, targetIp: B }),
    ];
    const file = join(tmp, 'builders.pcap');
    writeFileSync(file, writePcap(frames.map((data, i) => ({ tsNs: 1_704_067_200_000_000_000n + BigInt(i) * 1000n, data }))));
    const lines = tcpdump(file, '-vv', '-e');
    const text = lines.join('\n');
    expect(text).not.toMatch(CHECKSUM_COMPLAINT);
    expect(text).toMatch(/198\.18\.0\.1\.40000 > 198\.18\.1\.10\.80: Flags \[S\], cksum 0x[0-9a-f]+ \(correct\), seq 1, .*options \[mss 1460\]/);
    expect(text).toMatch(/vlan 7,.*2001:db8::1 > 2001:db8:1::10: DSTOPT .*40000 > 443: Flags \[S\], cksum 0x[0-9a-f]+ \(correct\)/);
    expect(text).toMatch(/vlan 1, .*vlan 2, .*2001:db8::1\.5353 > 2001:db8:1::10\.53: \[udp sum ok\]/);
    expect(text).toMatch(/offset 1480, flags \[\+\], proto UDP/);
    expect(text).toMatch(/frag \(0x00000009:0\|1232\)/);
    expect(text).toMatch(/need to frag \(mtu 1400\)/);
    expect(text).toMatch(/\[icmp6 sum ok\] ICMP6, packet too big, mtu 1280/);
    expect(text).toMatch(/ICMP echo request, id 3, seq 4/);
    expect(text).toMatch(/\[icmp6 sum ok\] ICMP6, echo request, id 3, seq 4/);
    expect(text).toMatch(/neighbor solicitation, length 24, who has 2001:db8:1::10/);
    expect(text).toMatch(/Request who-has 198\.18\.1\.10 tell 198\.18\.0\.1/);
    expect(tcpdump(file)).toHaveLength(frames.length);
  });

  it('flags the broken checksums that the overrides produce (the check above can fail)', () => {
    const echo = b.icmpEcho({ id: 1, seq: 1 });
    echo[2] = echo[2]! ^ 0xff;
    const frames = [
      b.ipv4({ src: A, dst: B, protocol: 6, payload: b.tcp({ src: A, dst: B, srcPort: 1, dstPort: 2, flags: 2 }), checksum: 0x1234 }),
      b.ipv4({ src: A, dst: B, protocol: 6, payload: b.tcp({ src: A, dst: B, srcPort: 1, dstPort: 2, flags: 2, checksum: 0x1234 }) }),
      b.ipv6({ src: A6, dst: B6, nextHeader: 17, payload: b.udp({ src: A6, dst: B6, srcPort: 1, dstPort: 2, checksum: 0x1234 }) }),
      b.ipv4({ src: A, dst: B, protocol: 1, payload: echo }),
    ].map((p) => b.ethernet(p));
    const file = join(tmp, 'broken.pcap');
    writeFileSync(file, writePcap(frames.map((data, i) => ({ tsNs: i, data }))));
    const complaints = tcpdump(file, '-vv').filter((l) => CHECKSUM_COMPLAINT.test(l));
    expect(complaints).toHaveLength(4);
  });
});
