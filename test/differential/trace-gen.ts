// Traces for the differential test: conversations aimed at every entry of a compiled table
// (peer addresses and ports at the edges of the entry's CIDRs and ranges, ICMP types), plus
// random ones and a few packets between two unprotected hosts, interleaved a few at a time.
// Every packet carries its index in the trace as its IPv4 identification or IPv6 flow label,
// so that the kernel side can report per-packet outcomes (nft-translate.ts, set passed4/6).
//
// What is generated on purpose (and what not) follows the semantic differences documented in
// kernel.test.ts: no fragments, no IPv6 neighbour discovery, no mid-stream FIN pickup, no
// TCP packets that make an impossible transition in an existing flow, no reuse of a tuple.
// TCP sequence numbers are consistent, as real endpoints send them.
import type { Cidr, Family } from '../../src/model/cidr.js';
import { formatAddr } from '../../src/model/cidr.js';
import { prng } from '../helpers/random-policy.js';
import type { CompiledEntry, CompiledTable } from '../../src/compile/table.js';
import type { Direction } from '../../src/model/reason.js';
import {
  echoPacket, icmp, icmpErrorPacket, icmpv6, icmpv6ErrorPacket, ipPacket, TCP_ACK, TCP_FIN, TCP_PSH, TCP_RST,
  TCP_SYN, tcpPacket, udpPacket, type IpFields,
} from '../../src/packet/build.js';

export interface TracePacket {
  ip: Uint8Array;
  /** Sent by a protected interface (the inside of the router), else by an outside host. */
  inside: boolean;
  /** One line for messages: "tcp 198.19.0.1:40000 > 198.18.1.10:80 [S]". */
  what: string;
  /** The conversation it belongs to, for messages. */
  conv: string;
}

/** The fields the generator needs to know per packet before its index is known. */
type Build = (id: number) => Uint8Array;
interface Spec {
  build: Build;
  inside: boolean;
  what: string;
}
interface Conv {
  name: string;
  pkts: Spec[];
}

/** Addresses the generator may use: the test ranges minus the router's own link subnets. */
const V4_ALLOWED = { addr: 0xc6120000n, prefix: 15 }; // 198.18.0.0/15
const V6_ALLOWED = { addr: 0x20010db8n << 96n, prefix: 32 }; // 2001:db8::/32
/** The router's link subnets (see kernel.test.ts): never a peer. */
export const ROUTER_V4 = ['198.18.250.0/24', '198.18.251.0/24'];
export const ROUTER_V6 = ['2001:db8:fa::/64', '2001:db8:fb::/64'];

function inBlock(family: Family, a: bigint, net: bigint, prefix: number): boolean {
  const bits = family === 4 ? 32 : 128;
  const shift = BigInt(bits - prefix);
  return a >> shift === net >> shift;
}

function parseCidrText(text: string): { family: Family; addr: bigint; prefix: number } {
  const [a, p] = text.split('/');
  if (a!.includes(':')) {
    // Enough for the fixed router prefixes above.
    const groups = a!.split('::');
    const head = groups[0] ? groups[0].split(':') : [];
    const tail = groups[1] ? groups[1].split(':') : [];
    const all = [...head, ...Array(8 - head.length - tail.length).fill('0'), ...tail];
    let v = 0n;
    for (const g of all) v = (v << 16n) | BigInt(parseInt(g, 16));
    return { family: 6, addr: v, prefix: Number(p) };
  }
  const v = a!.split('.').reduce((acc, o) => (acc << 8n) | BigInt(Number(o)), 0n);
  return { family: 4, addr: v, prefix: Number(p) };
}

const ROUTER_NETS = [...ROUTER_V4, ...ROUTER_V6].map(parseCidrText);

export interface GenOptions {
  seed: number;
  /** Conversations aimed at each entry. */
  perEntry: number;
  /** Extra conversations with random peers, ports and protocols. */
  random: number;
  /** Packets between two unprotected hosts (no-interface). */
  strangers: number;
  /** Conversations in flight at once. */
  interleave: number;
}

export function generateTrace(table: CompiledTable, o: GenOptions): TracePacket[] {
  const rnd = prng(o.seed);
  const pick = <T,>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  const chance = (p: number) => rnd() < p;
  const protectedSet = new Set(table.interfaces.flatMap((i) => i.addresses.map((a) => `${a.family}|${a.addr}`)));
  const usable = (family: Family, a: bigint): boolean => {
    const allowed = family === 4 ? V4_ALLOWED : V6_ALLOWED;
    if (!inBlock(family, a, allowed.addr, allowed.prefix)) return false;
    if (protectedSet.has(`${family}|${a}`)) return false;
    if (ROUTER_NETS.some((n) => n.family === family && inBlock(family, a, n.addr, n.prefix))) return false;
    const low = family === 4 ? a & 0xffn : a & 0xffffn;
    return low !== 0n && !(family === 4 && low === 0xffn);
  };
  const poolPeer = (family: Family): string => {
    for (;;) {
      const a = family === 4
        ? (chance(0.7) ? 0xc6130000n : 0xc6120000n) + BigInt(Math.floor(rnd() * 65536)) // 198.19/16 or 198.18/16
        : (0x20010db8n << 96n) + (BigInt(pick([2, 2, 3, 1])) << 80n) + BigInt(Math.floor(rnd() * 65536));
      if (usable(family, a)) return formatAddr(family, a);
    }
  };
  /** An address at an edge of the CIDR (first, last, just outside, middle) that we may use. */
  const nearCidr = (c: Cidr | null, family: Family): string => {
    if (!c || c.prefix === 0) return poolPeer(family);
    const bits = c.family === 4 ? 32 : 128;
    const size = 1n << BigInt(bits - c.prefix);
    const cands = [c.addr, c.addr + size - 1n, c.addr - 1n, c.addr + size, c.addr + size / 2n, c.addr + 1n]
      .filter((a) => a >= 0n && usable(c.family, a));
    return cands.length > 0 && chance(0.9) ? formatAddr(c.family, pick(cands)) : poolPeer(c.family);
  };
  let ephemeral = 20000 + Math.floor(rnd() * 1000);
  const nextEphemeral = () => {
    ephemeral = ephemeral >= 60000 ? 20000 : ephemeral + 1;
    return ephemeral;
  };
  const nearPorts = (r: { from: number; to: number }): number => {
    if (r.from === 0 && r.to === 65535) return pick([22, 25, 53, 80, 443, 3306, 8080, nextEphemeral()]);
    const c = [r.from, r.to, r.from - 1, r.to + 1, Math.floor((r.from + r.to) / 2)].filter((p) => p >= 1 && p <= 65535);
    return pick(c);
  };
  const used = new Set<string>();
  const tupleKey = (p: number, a: string, ap: number, b: string, bp: number) => (a < b ? `${p}|${a}|${ap}|${b}|${bp}` : `${p}|${b}|${bp}|${a}|${ap}`);
  let icmpId = 1 + Math.floor(rnd() * 1000);
  const ip = (src: string, id: number): Partial<IpFields> => (src.includes(':') ? { flowLabel: id & 0xfffff } : { ipId: id & 0xffff });

  const convs: Conv[] = [];

  /** TCP from initiator I to responder R. */
  function tcpConv(name: string, I: string, ip_: number, R: string, rp: number, iInside: boolean): Conv | undefined {
    const key = tupleKey(6, I, ip_, R, rp);
    if (used.has(key)) return undefined;
    used.add(key);
    let iseq = Math.floor(rnd() * 2 ** 31);
    let rseq = Math.floor(rnd() * 2 ** 31);
    const pkts: Spec[] = [];
    const fl = (f: number) => [f & TCP_SYN ? 'S' : '', f & TCP_FIN ? 'F' : '', f & TCP_RST ? 'R' : '', f & TCP_PSH ? 'P' : '', f & TCP_ACK ? '.' : ''].join('');
    const seg = (fromI: boolean, flags: number, seq: number, ack: number, data = 0) => {
      const [s, d, sp, dp] = fromI ? [I, R, ip_, rp] : [R, I, rp, ip_];
      pkts.push({
        inside: fromI === iInside,
        what: `tcp ${s}:${sp} > ${d}:${dp} [${fl(flags)}]`,
        build: (id) => tcpPacket({ src: s, dst: d, srcPort: sp, dstPort: dp, flags, seq: seq >>> 0, ack: ack >>> 0, payload: new Uint8Array(data), ...ip(s, id) }),
      });
    };
    let variant = pick(['full', 'full', 'full', 'full', 'rst', 'rst', 'retry', 'retry', 'midstream', 'midstream', 'invalid', 'router', 'router']);
    // A router's error only where it can come from outside to the protected side: an error to
    // an outside initiator would travel outside -> outside, past no protected interface.
    if (variant === 'router' && !iInside) variant = 'full';
    if (variant === 'invalid') {
      seg(true, TCP_SYN | TCP_FIN, iseq, 0);
      seg(true, 0, iseq, 0);
      return { name: `${name} tcp-invalid-flags`, pkts };
    }
    if (variant === 'retry') {
      seg(true, TCP_SYN, iseq, 0);
      seg(true, TCP_SYN, iseq, 0);
      return { name: `${name} tcp-syn-retry`, pkts };
    }
    if (variant === 'midstream') {
      seg(true, TCP_PSH | TCP_ACK, iseq, rseq, 30);
      iseq += 30;
      seg(false, TCP_ACK, rseq, iseq);
      seg(true, TCP_PSH | TCP_ACK, iseq, rseq, 10);
      iseq += 10;
      seg(false, TCP_PSH | TCP_ACK, rseq, iseq, 50);
      return { name: `${name} tcp-midstream`, pkts };
    }
    // Handshake
    seg(true, TCP_SYN, iseq, 0);
    iseq += 1;
    seg(false, TCP_SYN | TCP_ACK, rseq, iseq);
    rseq += 1;
    seg(true, TCP_ACK, iseq, rseq);
    const idata = 10 + Math.floor(rnd() * 100);
    const dataSeq = iseq;
    seg(true, TCP_PSH | TCP_ACK, iseq, rseq, idata);
    iseq += idata;
    if (variant === 'router') {
      // A router on the way sends the initiator an error about its data segment.
      const router = poolPeer(I.includes(':') ? 6 : 4);
      const quoted = tcpPacket({ src: I, dst: R, srcPort: ip_, dstPort: rp, flags: TCP_PSH | TCP_ACK, seq: dataSeq, ack: rseq, payload: new Uint8Array(idata) });
      const v6 = I.includes(':');
      const type = v6 ? pick([2, 3]) : pick([3, 11]);
      const code = v6 ? 0 : type === 3 ? 4 : 0;
      pkts.push({
        inside: !iInside,
        what: `icmp${v6 ? 'v6' : ''} ${router} > ${I} type ${type}/${code} quoting ${I}:${ip_} > ${R}:${rp}`,
        build: (id) => v6
          ? icmpv6ErrorPacket({ src: router, dst: I, type, code, rest: type === 2 ? 1280 : 0, quoted, ...ip(router, id) })
          : icmpErrorPacket({ src: router, dst: I, type, code, mtu: type === 3 ? 1400 : undefined, quoted, ...ip(router, id) }),
      });
    }
    const rdata = 20 + Math.floor(rnd() * 200);
    seg(false, TCP_PSH | TCP_ACK, rseq, iseq, rdata);
    rseq += rdata;
    if (variant === 'rst') {
      seg(false, TCP_RST | TCP_ACK, rseq, iseq);
      return { name: `${name} tcp-rst`, pkts };
    }
    seg(true, TCP_FIN | TCP_ACK, iseq, rseq);
    iseq += 1;
    seg(false, TCP_ACK, rseq, iseq);
    seg(false, TCP_FIN | TCP_ACK, rseq, iseq);
    rseq += 1;
    seg(true, TCP_ACK, iseq, rseq);
    return { name: `${name} tcp-${variant}`, pkts };
  }

  function udpConv(name: string, I: string, ip_: number, R: string, rp: number, iInside: boolean): Conv | undefined {
    const key = tupleKey(17, I, ip_, R, rp);
    if (used.has(key)) return undefined;
    used.add(key);
    const pkts: Spec[] = [];
    const dgram = (fromI: boolean, size: number) => {
      const [s, d, sp, dp] = fromI ? [I, R, ip_, rp] : [R, I, rp, ip_];
      pkts.push({
        inside: fromI === iInside,
        what: `udp ${s}:${sp} > ${d}:${dp} len ${size}`,
        build: (id) => udpPacket({ src: s, dst: d, srcPort: sp, dstPort: dp, payload: new Uint8Array(size), ...ip(s, id) }),
      });
    };
    const variant = pick(['reqresp', 'reqresp', 'reqresp', 'reqonly', 'unreach', 'unreach']);
    dgram(true, 30);
    if (variant === 'reqonly') {
      dgram(true, 31);
      return { name: `${name} udp-unanswered`, pkts };
    }
    if (variant === 'unreach') {
      // The responder has no listener: port unreachable, quoting the request.
      const v6 = I.includes(':');
      const quoted = udpPacket({ src: I, dst: R, srcPort: ip_, dstPort: rp, payload: new Uint8Array(30) });
      pkts.push({
        inside: !iInside,
        what: `icmp${v6 ? 'v6' : ''} ${R} > ${I} port unreachable quoting udp ${I}:${ip_} > ${R}:${rp}`,
        build: (id) => v6
          ? icmpv6ErrorPacket({ src: R, dst: I, type: 1, code: 4, quoted, ...ip(R, id) })
          : icmpErrorPacket({ src: R, dst: I, type: 3, code: 3, quoted, ...ip(R, id) }),
      });
      return { name: `${name} udp-port-unreachable`, pkts };
    }
    dgram(false, 90);
    dgram(true, 32);
    dgram(false, 91);
    return { name: `${name} udp`, pkts };
  }

  function icmpConv(name: string, I: string, R: string, iInside: boolean, icmpMatch: CompiledEntry['icmp'] | undefined): Conv {
    const v6 = I.includes(':');
    const pkts: Spec[] = [];
    const inside = (fromI: boolean) => fromI === iInside;
    const wantType = icmpMatch && icmpMatch.type !== 'any' && chance(0.8) ? icmpMatch.type : undefined;
    const wantCode = icmpMatch && icmpMatch.code !== 'any' ? icmpMatch.code : 0;
    const echoType = v6 ? 128 : 8;
    const type = wantType ?? (chance(0.7) ? echoType : pick(v6 ? [129, 1, 3, 2] : [0, 3, 11, 13, 12]));
    const id = icmpId++ & 0xffff;
    if (type === echoType && wantCode === 0) {
      const echo = (fromI: boolean, seq: number) => {
        const [s, d] = fromI ? [I, R] : [R, I];
        pkts.push({
          inside: inside(fromI),
          what: `icmp${v6 ? 'v6' : ''} ${s} > ${d} echo ${fromI ? 'request' : 'reply'} id ${id} seq ${seq}`,
          build: (n) => echoPacket({ src: s, dst: d, id, seq, reply: !fromI, payload: new Uint8Array(16), ...ip(s, n) }),
        });
      };
      echo(true, 1);
      if (chance(0.3)) echo(true, 2);
      echo(false, 1);
      if (chance(0.5)) {
        echo(true, 3);
        echo(false, 3);
      }
      return { name: `${name} echo`, pkts };
    }
    if (!v6 && type === 13 && wantCode === 0) {
      const ts = (fromI: boolean) => {
        const [s, d] = fromI ? [I, R] : [R, I];
        const t = fromI ? 13 : 14;
        pkts.push({
          inside: inside(fromI),
          what: `icmp ${s} > ${d} timestamp ${fromI ? 'request' : 'reply'} id ${id}`,
          build: (n) => ipPacket({ src: s, dst: d, protocol: 1, payload: icmp({ type: t, code: 0, rest: (id << 16) | 1, payload: new Uint8Array(12) }), ...ip(s, n) }),
        });
      };
      ts(true);
      ts(false);
      return { name: `${name} timestamp`, pkts };
    }
    // Anything else: one message from I, unsolicited (an error quotes a packet of no flow).
    const isError = v6 ? type < 128 : [3, 4, 5, 11, 12].includes(type);
    const code = wantType !== undefined ? wantCode : type === 3 || type === 1 ? 3 : 0;
    const bogusPort = 61000 + Math.floor(rnd() * 4000);
    const quoted = udpPacket({ src: R, dst: I, srcPort: bogusPort, dstPort: bogusPort + 1, payload: new Uint8Array(8) });
    pkts.push({
      inside: inside(true),
      what: `icmp${v6 ? 'v6' : ''} ${I} > ${R} type ${type}/${code}${isError ? ' (quotes no flow)' : ''}`,
      build: (n) => {
        if (v6) {
          return isError
            ? icmpv6ErrorPacket({ src: I, dst: R, type, code, rest: type === 2 ? 1280 : 0, quoted, ...ip(I, n) })
            : ipPacket({ src: I, dst: R, protocol: 58, payload: icmpv6({ src: I, dst: R, type, code, rest: (id << 16) | 1, payload: new Uint8Array(8) }), ...ip(I, n) });
        }
        return isError
          ? icmpErrorPacket({ src: I, dst: R, type, code, quoted, ...ip(I, n) })
          : ipPacket({ src: I, dst: R, protocol: 1, payload: icmp({ type, code, rest: (id << 16) | 1, payload: new Uint8Array(8) }), ...ip(I, n) });
      },
    });
    return { name: `${name} icmp-${type}/${code}`, pkts };
  }

  /** A conversation aimed at entry e of interface iface's dir list (or a random one). */
  function aimed(ifaceIdx: number, dir: Direction, e: CompiledEntry | undefined, name: string): Conv | undefined {
    const iface = table.interfaces[ifaceIdx]!;
    const families = [...new Set(iface.addresses.map((a) => a.family))];
    let family: Family = e && e.family !== 0 ? e.family : pick(families);
    if (!families.includes(family)) return undefined;
    const locals = iface.addresses.filter((a) => a.family === family);
    const localConstraint = e ? (dir === 'ingress' ? e.dst : e.src) : null;
    const inLocal = locals.filter((a) => !localConstraint || inBlock(family, a.addr, localConstraint.addr, localConstraint.prefix));
    const local = (inLocal.length > 0 && chance(0.8) ? pick(inLocal) : pick(locals)).text;
    const peer = nearCidr(e ? (dir === 'ingress' ? e.src : e.dst) : null, family);
    let proto: number;
    if (e && e.protocol !== 'any' && chance(0.9)) proto = e.protocol;
    else proto = pick([6, 6, 17, 17, family === 4 ? 1 : 58]);
    if (proto === 1 && family === 6) proto = 58;
    if (proto === 58 && family === 4) proto = 1;
    // Ports: the local side's (service or source) and the peer's.
    const localRange = e ? (dir === 'ingress' ? e.dstPorts : e.srcPorts) : { from: 0, to: 65535 };
    const peerRange = e ? (dir === 'ingress' ? e.srcPorts : e.dstPorts) : { from: 0, to: 65535 };
    const full = (r: { from: number; to: number }) => r.from === 0 && r.to === 65535;
    const localPort = full(localRange) && dir === 'egress' ? nextEphemeral() : nearPorts(localRange);
    const peerPort = full(peerRange) && dir === 'ingress' ? nextEphemeral() : nearPorts(peerRange);
    // Ingress: the peer initiates to the local side; egress: the local side initiates.
    const [I, ip_, R, rp, iInside] = dir === 'ingress' ? [peer, peerPort, local, localPort, false] : [local, localPort, peer, peerPort, true];
    if (proto === 6) return tcpConv(name, I, ip_, R, rp, iInside);
    if (proto === 17) return udpConv(name, I, ip_, R, rp, iInside);
    if (proto === 1 || proto === 58) return icmpConv(name, I, R, iInside, e && (e.protocol === 1 || e.protocol === 58) ? e.icmp : undefined);
    return undefined; // other protocols are not generated (see kernel.test.ts)
  }

  table.interfaces.forEach((iface, k) => {
    for (const dir of ['ingress', 'egress'] as const) {
      (dir === 'ingress' ? iface.ingress : iface.egress).forEach((e, pos) => {
        for (let n = 0; n < o.perEntry; n++) {
          const c = aimed(k, dir, e, `${iface.id} ${dir}[${pos}] ${table.rules[e.rule]!.id}`);
          if (c) convs.push(c);
        }
      });
    }
  });
  for (let n = 0; n < o.random; n++) {
    const k = Math.floor(rnd() * table.interfaces.length);
    const c = aimed(k, pick(['ingress', 'egress'] as const), undefined, `${table.interfaces[k]!.id} random`);
    if (c) convs.push(c);
  }
  for (let n = 0; n < o.strangers; n++) {
    const family: Family = chance(0.7) ? 4 : 6;
    const c = udpConv('strangers', poolPeer(family), nextEphemeral(), poolPeer(family), 53, false);
    if (c) convs.push({ ...c, pkts: c.pkts.map((p) => ({ ...p, inside: false })) });
  }
  // Shuffle the conversations, then interleave a few at a time.
  for (let i = convs.length - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    [convs[i], convs[j]] = [convs[j]!, convs[i]!];
  }
  const out: TracePacket[] = [];
  const active: { c: Conv; next: number }[] = [];
  let queued = 0;
  while (queued < convs.length || active.length > 0) {
    while (active.length < o.interleave && queued < convs.length) active.push({ c: convs[queued++]!, next: 0 });
    const k = Math.floor(rnd() * active.length);
    const a = active[k]!;
    const s = a.c.pkts[a.next++]!;
    const id = out.length;
    out.push({ ip: s.build(id), inside: s.inside, what: s.what, conv: a.c.name });
    if (a.next >= a.c.pkts.length) active.splice(k, 1);
  }
  if (out.length > 65536) throw new Error(`trace of ${out.length} packets: the IPv4 id cannot number it`);
  return out;
}
