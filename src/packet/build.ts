// Packet crafting for tests, the demo trace and the benchmark generator.
// Small typed builders that return Uint8Array: each layer takes its payload as bytes, so
// layers compose (`ethernet(ipv4({ ..., payload: tcp({ ... }) }))`). Checksums are computed
// unless an override is given (tests build broken packets on purpose). Addresses are text
// ("198.18.0.1", "2001:db8::1") or raw bytes (4 or 16), MACs "02:00:00:00:00:01" or 6 bytes.
import ipaddr from 'ipaddr.js';

export const ETHERTYPE_IPV4 = 0x0800;
export const ETHERTYPE_ARP = 0x0806;
export const ETHERTYPE_VLAN = 0x8100;
export const ETHERTYPE_QINQ = 0x88a8;
export const ETHERTYPE_IPV6 = 0x86dd;

export const IPPROTO_HOPOPTS = 0;
export const IPPROTO_ICMP = 1;
export const IPPROTO_TCP = 6;
export const IPPROTO_UDP = 17;
export const IPPROTO_ROUTING = 43;
export const IPPROTO_FRAGMENT = 44;
export const IPPROTO_GRE = 47;
export const IPPROTO_ICMPV6 = 58;
export const IPPROTO_NONE = 59;
export const IPPROTO_DSTOPTS = 60;

export const TCP_FIN = 0x01;
export const TCP_SYN = 0x02;
export const TCP_RST = 0x04;
export const TCP_PSH = 0x08;
export const TCP_ACK = 0x10;
export const TCP_URG = 0x20;
export const TCP_ECE = 0x40;
export const TCP_CWR = 0x80;

export const ICMP_ECHO_REPLY = 0;
export const ICMP_DEST_UNREACH = 3;
export const ICMP_ECHO_REQUEST = 8;
export const ICMP_TIME_EXCEEDED = 11;
export const ICMP_PARAM_PROBLEM = 12;
/** Destination unreachable codes. */
export const ICMP_UNREACH_PORT = 3;
export const ICMP_UNREACH_FRAG_NEEDED = 4;

export const ICMPV6_DEST_UNREACH = 1;
export const ICMPV6_PACKET_TOO_BIG = 2;
export const ICMPV6_TIME_EXCEEDED = 3;
export const ICMPV6_PARAM_PROBLEM = 4;
export const ICMPV6_ECHO_REQUEST = 128;
export const ICMPV6_ECHO_REPLY = 129;
export const ICMPV6_NEIGHBOR_SOLICIT = 135;
export const ICMPV6_NEIGHBOR_ADVERT = 136;

/** IPv6 minimum MTU: an ICMPv6 error never exceeds it (RFC 4443 2.4(c)). */
export const IPV6_MIN_MTU = 1280;

/** An address as text or as its 4 / 16 network-order bytes. */
export type AddrInput = string | Uint8Array;
/** A MAC address as "aa:bb:cc:dd:ee:ff" or 6 bytes. */
export type MacInput = string | Uint8Array;

export const MAC_BROADCAST = 'ff:ff:ff:ff:ff:ff';
const DEFAULT_SRC_MAC = '02:00:00:00:00:01';
const DEFAULT_DST_MAC = '02:00:00:00:00:02';

// ---------------------------------------------------------------------------------------------
// Small helpers

const addrCache = new Map<string, Uint8Array>();

/** Address bytes (4 for IPv4, 16 for IPv6). Throws on text that is not an address. */
export function ipBytes(a: AddrInput): Uint8Array {
  if (typeof a !== 'string') {
    if (a.length !== 4 && a.length !== 16) throw new Error(`address must be 4 or 16 bytes, got ${a.length}`);
    return a;
  }
  const hit = addrCache.get(a);
  if (hit) return hit;
  let bytes: Uint8Array;
  if (ipaddr.IPv4.isValidFourPartDecimal(a)) bytes = Uint8Array.from(ipaddr.IPv4.parse(a).toByteArray());
  else if (ipaddr.IPv6.isValid(a) && !a.includes('%')) bytes = Uint8Array.from(ipaddr.IPv6.parse(a).toByteArray());
  else throw new Error(`not an IP address: ${JSON.stringify(a)}`);
  if (addrCache.size < 4096) addrCache.set(a, bytes);
  return bytes;
}

/** 4 or 6, from an address's text or length. */
export function ipFamily(a: AddrInput): 4 | 6 {
  return ipBytes(a).length === 4 ? 4 : 6;
}

/** Address bytes as canonical text. */
export function ipText(b: Uint8Array): string {
  return ipaddr.fromByteArray(Array.from(b)).toString();
}

export function macBytes(m: MacInput): Uint8Array {
  if (typeof m !== 'string') {
    if (m.length !== 6) throw new Error(`MAC must be 6 bytes, got ${m.length}`);
    return m;
  }
  const parts = m.split(/[:-]/);
  if (parts.length !== 6 || parts.some((p) => !/^[0-9a-fA-F]{1,2}$/.test(p))) {
    throw new Error(`not a MAC address: ${JSON.stringify(m)}`);
  }
  return Uint8Array.from(parts.map((p) => parseInt(p, 16)));
}

export function concat(...parts: Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

function put16(b: Uint8Array, off: number, v: number): void {
  b[off] = (v >>> 8) & 0xff;
  b[off + 1] = v & 0xff;
}

function put32(b: Uint8Array, off: number, v: number): void {
  b[off] = (v >>> 24) & 0xff;
  b[off + 1] = (v >>> 16) & 0xff;
  b[off + 2] = (v >>> 8) & 0xff;
  b[off + 3] = v & 0xff;
}

function get16(b: Uint8Array, off: number): number {
  return ((b[off] ?? 0) << 8) | (b[off + 1] ?? 0);
}

/** Unfolded ones'-complement sum of big-endian 16-bit words (odd length padded with zero). */
export function sum16(data: Uint8Array, acc = 0): number {
  const n = data.length & ~1;
  for (let i = 0; i < n; i += 2) acc += (data[i]! << 8) | data[i + 1]!;
  if (data.length & 1) acc += data[data.length - 1]! << 8;
  // Fold now and then so the sum stays a small integer.
  while (acc > 0xffff) acc = (acc & 0xffff) + (acc >>> 16);
  return acc;
}

/** RFC 1071 Internet checksum of data (plus an already summed prefix). 0 when data verifies. */
export function internetChecksum(data: Uint8Array, initial = 0): number {
  let s = sum16(data, initial);
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  return ~s & 0xffff;
}

/** Sum of the TCP/UDP/ICMPv6 pseudo-header (RFC 793 / RFC 8200 8.1) for the address family. */
export function pseudoHeaderSum(src: AddrInput, dst: AddrInput, protocol: number, length: number): number {
  const s = ipBytes(src);
  const d = ipBytes(dst);
  if (s.length !== d.length) throw new Error('pseudo-header: source and destination families differ');
  let acc = sum16(s, sum16(d));
  acc += protocol;
  acc += (length >>> 16) + (length & 0xffff);
  return acc;
}

// ---------------------------------------------------------------------------------------------
// Ethernet and 802.1Q

export interface VlanTag {
  vid: number;
  pcp?: number;
  dei?: boolean;
  /** Tag protocol id; default 0x88a8 for outer tags of a stack, 0x8100 for the innermost. */
  tpid?: number;
}

export interface EthernetOptions {
  src?: MacInput;
  dst?: MacInput;
  /** 802.1Q tags, outermost first (two or more = QinQ). A number is a VLAN id. */
  vlans?: (number | VlanTag)[];
  /** Default: inferred from the payload's IP version nibble (IPv4 / IPv6). */
  etherType?: number;
}

/** An Ethernet II frame around payload (no FCS, as captures show them). */
export function ethernet(payload: Uint8Array, o: EthernetOptions = {}): Uint8Array {
  let etherType = o.etherType;
  if (etherType === undefined) {
    const v = (payload[0] ?? 0) >> 4;
    if (v === 4) etherType = ETHERTYPE_IPV4;
    else if (v === 6) etherType = ETHERTYPE_IPV6;
    else throw new Error('ethernet: etherType not given and payload is not IP');
  }
  const tags = o.vlans ?? [];
  const out = new Uint8Array(14 + 4 * tags.length + payload.length);
  out.set(macBytes(o.dst ?? DEFAULT_DST_MAC), 0);
  out.set(macBytes(o.src ?? DEFAULT_SRC_MAC), 6);
  let off = 12;
  tags.forEach((t, i) => {
    const tag: VlanTag = typeof t === 'number' ? { vid: t } : t;
    const tpid = tag.tpid ?? (i < tags.length - 1 ? ETHERTYPE_QINQ : ETHERTYPE_VLAN);
    put16(out, off, tpid);
    put16(out, off + 2, ((tag.pcp ?? 0) << 13) | (tag.dei ? 0x1000 : 0) | (tag.vid & 0xfff));
    off += 4;
  });
  put16(out, off, etherType);
  out.set(payload, off + 2);
  return out;
}

// ---------------------------------------------------------------------------------------------
// IPv4

export interface Ipv4Options {
  src: AddrInput;
  dst: AddrInput;
  protocol: number;
  payload: Uint8Array;
  ttl?: number;
  id?: number;
  tos?: number;
  /** Don't fragment. */
  df?: boolean;
  /** More fragments. */
  mf?: boolean;
  /** Fragment offset in bytes (a multiple of 8). */
  fragOffset?: number;
  /** Raw option bytes; padded with End-of-Options to a multiple of 4 (at most 40). */
  options?: Uint8Array;
  /** Overrides, to build malformed packets. */
  totalLength?: number;
  ihl?: number;
  checksum?: number;
}

/** An IPv4 packet with a correct header checksum (unless overridden). */
export function ipv4(o: Ipv4Options): Uint8Array {
  const src = ipBytes(o.src);
  const dst = ipBytes(o.dst);
  if (src.length !== 4 || dst.length !== 4) throw new Error('ipv4: addresses must be IPv4');
  const opt = o.options ?? new Uint8Array(0);
  const optLen = (opt.length + 3) & ~3;
  if (optLen > 40) throw new Error('ipv4: options longer than 40 bytes');
  const hlen = 20 + optLen;
  const fragOffset = o.fragOffset ?? 0;
  if (fragOffset % 8 !== 0 || fragOffset > 0xfff8) throw new Error(`ipv4: bad fragment offset ${fragOffset}`);
  const out = new Uint8Array(hlen + o.payload.length);
  out[0] = 0x40 | ((o.ihl ?? hlen / 4) & 0xf);
  out[1] = o.tos ?? 0;
  put16(out, 2, o.totalLength ?? out.length);
  put16(out, 4, o.id ?? 0);
  put16(out, 6, (o.df ? 0x4000 : 0) | (o.mf ? 0x2000 : 0) | (fragOffset >> 3));
  out[8] = o.ttl ?? 64;
  out[9] = o.protocol;
  out.set(src, 12);
  out.set(dst, 16);
  out.set(opt, 20);
  put16(out, 10, o.checksum ?? internetChecksum(out.subarray(0, hlen)));
  out.set(o.payload, hlen);
  return out;
}

/** Header length of an IPv4 packet in bytes (IHL * 4). */
export function ipv4HeaderLength(packet: Uint8Array): number {
  return ((packet[0] ?? 0) & 0xf) * 4;
}

/**
 * Split an IPv4 packet into fragments that fit mtu (RFC 791): payload cut at multiples of 8,
 * options without the copy flag kept in the first fragment only, header checksums recomputed.
 * A packet that fits is returned alone; a DF packet that does not fit throws unless ignoreDf.
 * Fragmenting a fragment keeps its offset and MF bit on the last piece.
 */
export function fragmentIpv4(packet: Uint8Array, mtu: number, o: { ignoreDf?: boolean } = {}): Uint8Array[] {
  const hlen = ipv4HeaderLength(packet);
  const total = get16(packet, 2);
  if (hlen < 20 || total < hlen || total > packet.length) throw new Error('fragmentIpv4: malformed packet');
  if (total <= mtu) return [packet.slice(0, total)];
  const flags = get16(packet, 6);
  if (flags & 0x4000 && !o.ignoreDf) throw new Error('fragmentIpv4: DF set and packet larger than MTU');
  const baseOffset = (flags & 0x1fff) * 8;
  const lastMf = (flags & 0x2000) !== 0;
  const options = packet.subarray(20, hlen);
  const copied = copiedOptions(options);
  const payload = packet.subarray(hlen, total);
  const src = packet.subarray(12, 16);
  const dst = packet.subarray(16, 20);
  const frags: Uint8Array[] = [];
  let off = 0;
  while (off < payload.length) {
    const first = off === 0;
    const h = 20 + ((first ? options.length : copied.length) + 3 & ~3);
    const room = Math.floor((mtu - h) / 8) * 8;
    if (room <= 0) throw new Error(`fragmentIpv4: MTU ${mtu} too small`);
    const len = Math.min(room, payload.length - off);
    const more = off + len < payload.length || lastMf;
    frags.push(ipv4({
      src, dst,
      protocol: packet[9]!,
      payload: payload.subarray(off, off + len),
      ttl: packet[8]!,
      id: get16(packet, 4),
      tos: packet[1]!,
      df: (flags & 0x4000) !== 0,
      mf: more,
      fragOffset: baseOffset + off,
      options: first ? options : copied,
    }));
    off += len;
  }
  return frags;
}

/** The options whose copied flag (0x80) is set: they go into every fragment. */
function copiedOptions(opts: Uint8Array): Uint8Array {
  const keep: number[] = [];
  let i = 0;
  while (i < opts.length) {
    const t = opts[i]!;
    if (t === 0) break; // end of options
    if (t === 1) { i += 1; continue; } // NOP: not copied
    const l = opts[i + 1] ?? 0;
    if (l < 2 || i + l > opts.length) break;
    if (t & 0x80) keep.push(...opts.subarray(i, i + l));
    i += l;
  }
  return Uint8Array.from(keep);
}

// ---------------------------------------------------------------------------------------------
// IPv6

export type Ipv6Extension =
  /** Options are padded with Pad1/PadN to a multiple of 8 bytes (with the 2-byte header). */
  | { type: 'hop-by-hop' | 'destination'; options?: Uint8Array }
  | { type: 'routing'; routingType?: number; segmentsLeft?: number; data?: Uint8Array }
  | { type: 'fragment'; offset: number; more: boolean; id: number }
  /** Any header in the generic (next header, length in 8-byte units) format, body after 2 bytes. */
  | { type: 'raw'; protocol: number; body: Uint8Array };

export interface Ipv6Options {
  src: AddrInput;
  dst: AddrInput;
  /** Protocol of the payload (after all extension headers). */
  nextHeader: number;
  payload: Uint8Array;
  hopLimit?: number;
  trafficClass?: number;
  flowLabel?: number;
  /** Extension headers in wire order. */
  extensions?: Ipv6Extension[];
  /** Override, to build malformed packets. */
  payloadLength?: number;
}

export function extensionProtocol(e: Ipv6Extension): number {
  switch (e.type) {
    case 'hop-by-hop': return IPPROTO_HOPOPTS;
    case 'destination': return IPPROTO_DSTOPTS;
    case 'routing': return IPPROTO_ROUTING;
    case 'fragment': return IPPROTO_FRAGMENT;
    case 'raw': return e.protocol;
  }
}

function extensionBytes(e: Ipv6Extension, next: number): Uint8Array {
  if (e.type === 'fragment') {
    if (e.offset % 8 !== 0 || e.offset > 0xfff8) throw new Error(`ipv6: bad fragment offset ${e.offset}`);
    const b = new Uint8Array(8);
    b[0] = next;
    put16(b, 2, e.offset | (e.more ? 1 : 0));
    put32(b, 4, e.id >>> 0);
    return b;
  }
  let body: Uint8Array;
  if (e.type === 'routing') {
    const data = e.data ?? new Uint8Array(4); // type 0/2 style: 4 reserved bytes, then addresses
    body = concat(Uint8Array.of(e.routingType ?? 0, e.segmentsLeft ?? 0), data);
  } else if (e.type === 'raw') {
    body = e.body;
  } else {
    const opts = e.options ?? new Uint8Array(0);
    const pad = (8 - ((2 + opts.length) % 8)) % 8;
    const padding = pad === 0 ? new Uint8Array(0) : pad === 1 ? Uint8Array.of(0) : new Uint8Array(pad);
    if (pad >= 2) { padding[0] = 1; padding[1] = pad - 2; } // PadN
    body = concat(opts, padding);
  }
  const total = 2 + body.length;
  if (total % 8 !== 0) throw new Error('ipv6: extension header length must be a multiple of 8');
  const b = new Uint8Array(total);
  b[0] = next;
  b[1] = total / 8 - 1;
  b.set(body, 2);
  return b;
}

/** An IPv6 packet with optional extension headers. */
export function ipv6(o: Ipv6Options): Uint8Array {
  const src = ipBytes(o.src);
  const dst = ipBytes(o.dst);
  if (src.length !== 16 || dst.length !== 16) throw new Error('ipv6: addresses must be IPv6');
  const exts = o.extensions ?? [];
  const extBytes = exts.map((e, i) => extensionBytes(e, i + 1 < exts.length ? extensionProtocol(exts[i + 1]!) : o.nextHeader));
  const rest = concat(...extBytes, o.payload);
  const out = new Uint8Array(40 + rest.length);
  const tc = o.trafficClass ?? 0;
  const fl = o.flowLabel ?? 0;
  put32(out, 0, ((6 << 28) | ((tc & 0xff) << 20) | (fl & 0xfffff)) >>> 0);
  put16(out, 4, o.payloadLength ?? rest.length);
  out[6] = exts.length > 0 ? extensionProtocol(exts[0]!) : o.nextHeader;
  out[7] = o.hopLimit ?? 64;
  out.set(src, 8);
  out.set(dst, 24);
  out.set(rest, 40);
  return out;
}

/**
 * Split an IPv6 packet into fragments that fit mtu (RFC 8200 4.5). The unfragmentable part is
 * the IPv6 header plus leading hop-by-hop and routing headers; the fragment header goes after it.
 */
export function fragmentIpv6(packet: Uint8Array, mtu: number, id: number): Uint8Array[] {
  const plen = get16(packet, 4);
  if (packet.length < 40 || 40 + plen > packet.length) throw new Error('fragmentIpv6: malformed packet');
  const total = 40 + plen;
  let next = packet[6]!;
  let nextOff = 6; // where the "next header" byte that leads to the fragmentable part lives
  let off = 40;
  while (next === IPPROTO_HOPOPTS || next === IPPROTO_ROUTING) {
    if (off + 8 > total) throw new Error('fragmentIpv6: truncated extension header');
    nextOff = off;
    next = packet[off]!;
    off += (packet[off + 1]! + 1) * 8;
  }
  if (total <= mtu) return [packet.slice(0, total)];
  const unfrag = packet.slice(0, off);
  const body = packet.subarray(off, total);
  const room = Math.floor((mtu - off - 8) / 8) * 8;
  if (room <= 0) throw new Error(`fragmentIpv6: MTU ${mtu} too small`);
  const frags: Uint8Array[] = [];
  for (let p = 0; p < body.length; p += room) {
    const len = Math.min(room, body.length - p);
    const fh = new Uint8Array(8);
    fh[0] = next;
    put16(fh, 2, p | (p + len < body.length ? 1 : 0));
    put32(fh, 4, id >>> 0);
    const f = concat(unfrag, fh, body.subarray(p, p + len));
    f[nextOff] = IPPROTO_FRAGMENT;
    put16(f, 4, f.length - 40);
    frags.push(f);
  }
  return frags;
}

// ---------------------------------------------------------------------------------------------
// Transport

export interface TcpOptions {
  /** IP addresses, for the pseudo-header checksum. */
  src: AddrInput;
  dst: AddrInput;
  srcPort: number;
  dstPort: number;
  seq?: number;
  ack?: number;
  /** TCP_* bits or'ed. */
  flags: number;
  window?: number;
  urgent?: number;
  /** Raw option bytes, padded with End-of-Options to a multiple of 4. */
  options?: Uint8Array;
  payload?: Uint8Array;
  /** Overrides, to build malformed segments. */
  dataOffset?: number;
  checksum?: number;
}

/** A TCP segment with a correct checksum over the pseudo-header (unless overridden). */
export function tcp(o: TcpOptions): Uint8Array {
  const opt = o.options ?? new Uint8Array(0);
  const optLen = (opt.length + 3) & ~3;
  if (optLen > 40) throw new Error('tcp: options longer than 40 bytes');
  const hlen = 20 + optLen;
  const payload = o.payload ?? new Uint8Array(0);
  const out = new Uint8Array(hlen + payload.length);
  put16(out, 0, o.srcPort);
  put16(out, 2, o.dstPort);
  put32(out, 4, (o.seq ?? 0) >>> 0);
  put32(out, 8, (o.ack ?? 0) >>> 0);
  out[12] = ((o.dataOffset ?? hlen / 4) & 0xf) << 4;
  out[13] = o.flags & 0xff;
  put16(out, 14, o.window ?? 65535);
  put16(out, 18, o.urgent ?? 0);
  out.set(opt, 20);
  out.set(payload, hlen);
  put16(out, 16, o.checksum ?? internetChecksum(out, pseudoHeaderSum(o.src, o.dst, IPPROTO_TCP, out.length)));
  return out;
}

/** TCP MSS option (kind 2), for SYNs. */
export function tcpMssOption(mss: number): Uint8Array {
  return Uint8Array.of(2, 4, (mss >> 8) & 0xff, mss & 0xff);
}

export interface UdpOptions {
  src: AddrInput;
  dst: AddrInput;
  srcPort: number;
  dstPort: number;
  payload?: Uint8Array;
  /** IPv4 only: send a zero checksum (allowed by RFC 768). */
  noChecksum?: boolean;
  /** Overrides, to build malformed datagrams. */
  length?: number;
  checksum?: number;
}

/** A UDP datagram with a correct checksum (0 computed as 0xffff, RFC 768). */
export function udp(o: UdpOptions): Uint8Array {
  const payload = o.payload ?? new Uint8Array(0);
  const out = new Uint8Array(8 + payload.length);
  put16(out, 0, o.srcPort);
  put16(out, 2, o.dstPort);
  put16(out, 4, o.length ?? out.length);
  out.set(payload, 8);
  let ck = 0;
  if (o.checksum !== undefined) ck = o.checksum;
  else if (!(o.noChecksum && ipFamily(o.src) === 4)) {
    ck = internetChecksum(out, pseudoHeaderSum(o.src, o.dst, IPPROTO_UDP, out.length)) || 0xffff;
  }
  put16(out, 6, ck);
  return out;
}

// ---------------------------------------------------------------------------------------------
// ICMP (v4)

export interface IcmpOptions {
  type: number;
  code: number;
  /** The 4 bytes after the checksum (identifier/sequence, unused, MTU, pointer). */
  rest?: number | Uint8Array;
  payload?: Uint8Array;
}

function restBytes(rest: number | Uint8Array | undefined): Uint8Array {
  const b = new Uint8Array(4);
  if (rest === undefined) return b;
  if (typeof rest === 'number') put32(b, 0, rest >>> 0);
  else b.set(rest.subarray(0, 4));
  return b;
}

/** An ICMP message with a correct checksum. */
export function icmp(o: IcmpOptions): Uint8Array {
  const payload = o.payload ?? new Uint8Array(0);
  const out = new Uint8Array(8 + payload.length);
  out[0] = o.type;
  out[1] = o.code;
  out.set(restBytes(o.rest), 4);
  out.set(payload, 8);
  put16(out, 2, internetChecksum(out));
  return out;
}

export interface EchoOptions {
  id: number;
  seq: number;
  payload?: Uint8Array;
  reply?: boolean;
}

/** ICMP echo request or reply. */
export function icmpEcho(o: EchoOptions): Uint8Array {
  return icmp({
    type: o.reply ? ICMP_ECHO_REPLY : ICMP_ECHO_REQUEST,
    code: 0,
    rest: ((o.id & 0xffff) << 16) | (o.seq & 0xffff),
    payload: o.payload ?? new Uint8Array(0),
  });
}

export interface IcmpErrorOptions {
  type: number;
  code: number;
  /** The offending IP packet as it was sent (its header and leading payload are quoted). */
  quoted: Uint8Array;
  /** Bytes of the offending packet to quote; default its IP header + 8 (RFC 792). */
  quoteBytes?: number;
  /** Next-hop MTU for destination unreachable / fragmentation needed (RFC 1191). */
  mtu?: number;
  /** Pointer for parameter problem. */
  pointer?: number;
}

/** An ICMP error (unreachable, time exceeded, parameter problem) quoting an inner packet. */
export function icmpError(o: IcmpErrorOptions): Uint8Array {
  const n = Math.min(o.quoted.length, o.quoteBytes ?? ipv4HeaderLength(o.quoted) + 8);
  let rest = 0;
  if (o.mtu !== undefined) rest = o.mtu & 0xffff;
  if (o.pointer !== undefined) rest = (o.pointer & 0xff) << 24;
  return icmp({ type: o.type, code: o.code, rest, payload: o.quoted.subarray(0, n) });
}

// ---------------------------------------------------------------------------------------------
// ICMPv6

export interface Icmpv6Options {
  /** IPv6 addresses of the enclosing packet, for the pseudo-header checksum. */
  src: AddrInput;
  dst: AddrInput;
  type: number;
  code: number;
  rest?: number | Uint8Array;
  payload?: Uint8Array;
}

/** An ICMPv6 message with a correct checksum (pseudo-header included, RFC 4443 2.3). */
export function icmpv6(o: Icmpv6Options): Uint8Array {
  const payload = o.payload ?? new Uint8Array(0);
  const out = new Uint8Array(8 + payload.length);
  out[0] = o.type;
  out[1] = o.code;
  out.set(restBytes(o.rest), 4);
  out.set(payload, 8);
  put16(out, 2, internetChecksum(out, pseudoHeaderSum(o.src, o.dst, IPPROTO_ICMPV6, out.length)));
  return out;
}

export function icmpv6Echo(o: EchoOptions & { src: AddrInput; dst: AddrInput }): Uint8Array {
  return icmpv6({
    src: o.src, dst: o.dst,
    type: o.reply ? ICMPV6_ECHO_REPLY : ICMPV6_ECHO_REQUEST,
    code: 0,
    rest: ((o.id & 0xffff) << 16) | (o.seq & 0xffff),
    payload: o.payload ?? new Uint8Array(0),
  });
}

export interface Icmpv6ErrorOptions {
  src: AddrInput;
  dst: AddrInput;
  type: number;
  code: number;
  /** The offending IPv6 packet; quoted as far as the error stays within 1280 bytes. */
  quoted: Uint8Array;
  /** MTU (packet too big) or pointer (parameter problem). */
  rest?: number;
}

/** An ICMPv6 error quoting as much of the offending packet as fits the minimum MTU. */
export function icmpv6Error(o: Icmpv6ErrorOptions): Uint8Array {
  const room = IPV6_MIN_MTU - 40 - 8;
  return icmpv6({
    src: o.src, dst: o.dst, type: o.type, code: o.code, rest: o.rest ?? 0,
    payload: o.quoted.subarray(0, Math.min(room, o.quoted.length)),
  });
}

export function icmpv6PacketTooBig(o: { src: AddrInput; dst: AddrInput; mtu: number; quoted: Uint8Array }): Uint8Array {
  return icmpv6Error({ src: o.src, dst: o.dst, type: ICMPV6_PACKET_TOO_BIG, code: 0, rest: o.mtu, quoted: o.quoted });
}

/** The solicited-node multicast address ff02::1:ffXX:XXXX of an IPv6 address (RFC 4291). */
export function solicitedNodeAddress(target: AddrInput): Uint8Array {
  const t = ipBytes(target);
  const out = Uint8Array.from([0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0xff, 0, 0, 0]);
  out.set(t.subarray(13, 16), 13);
  return out;
}

/** The Ethernet multicast MAC 33:33:xx:xx:xx:xx for an IPv6 multicast address. */
export function ipv6MulticastMac(group: AddrInput): Uint8Array {
  const g = ipBytes(group);
  return Uint8Array.from([0x33, 0x33, g[12]!, g[13]!, g[14]!, g[15]!]);
}

/** Neighbour solicitation (RFC 4861 4.3); dst defaults to the target's solicited-node group. */
export function icmpv6NeighborSolicitation(o: {
  src: AddrInput; dst?: AddrInput; target: AddrInput; sourceLinkAddr?: MacInput;
}): Uint8Array {
  const opt = o.sourceLinkAddr === undefined ? new Uint8Array(0) : concat(Uint8Array.of(1, 1), macBytes(o.sourceLinkAddr));
  return icmpv6({
    src: o.src, dst: o.dst ?? solicitedNodeAddress(o.target),
    type: ICMPV6_NEIGHBOR_SOLICIT, code: 0, rest: 0,
    payload: concat(ipBytes(o.target), opt),
  });
}

/** Neighbour advertisement (RFC 4861 4.4). */
export function icmpv6NeighborAdvertisement(o: {
  src: AddrInput; dst: AddrInput; target: AddrInput; targetLinkAddr?: MacInput;
  router?: boolean; solicited?: boolean; override?: boolean;
}): Uint8Array {
  const flags = (o.router ? 0x80 : 0) | (o.solicited ? 0x40 : 0) | (o.override ?? true ? 0x20 : 0);
  const opt = o.targetLinkAddr === undefined ? new Uint8Array(0) : concat(Uint8Array.of(2, 1), macBytes(o.targetLinkAddr));
  return icmpv6({
    src: o.src, dst: o.dst, type: ICMPV6_NEIGHBOR_ADVERT, code: 0, rest: Uint8Array.of(flags, 0, 0, 0),
    payload: concat(ipBytes(o.target), opt),
  });
}

// ---------------------------------------------------------------------------------------------
// ARP

export interface ArpOptions {
  /** 'request' (1) or 'reply' (2). */
  op: 'request' | 'reply' | number;
  senderMac: MacInput;
  senderIp: AddrInput;
  /** Default 00:00:00:00:00:00 (what requests carry). */
  targetMac?: MacInput;
  targetIp: AddrInput;
}

/** An ARP packet for Ethernet/IPv4 (28 bytes, RFC 826). */
export function arp(o: ArpOptions): Uint8Array {
  const out = new Uint8Array(28);
  put16(out, 0, 1); // hardware: Ethernet
  put16(out, 2, ETHERTYPE_IPV4);
  out[4] = 6;
  out[5] = 4;
  put16(out, 6, o.op === 'request' ? 1 : o.op === 'reply' ? 2 : o.op);
  out.set(macBytes(o.senderMac), 8);
  out.set(ipBytes(o.senderIp), 14);
  out.set(macBytes(o.targetMac ?? '00:00:00:00:00:00'), 18);
  out.set(ipBytes(o.targetIp), 24);
  return out;
}

/** An ARP frame: requests go to broadcast, replies to the target MAC. */
export function arpFrame(o: ArpOptions & { vlans?: EthernetOptions['vlans'] }): Uint8Array {
  const isRequest = o.op === 'request' || o.op === 1;
  const eth: EthernetOptions = {
    src: o.senderMac,
    dst: isRequest ? MAC_BROADCAST : (o.targetMac ?? MAC_BROADCAST),
    etherType: ETHERTYPE_ARP,
  };
  if (o.vlans) eth.vlans = o.vlans;
  return ethernet(arp(o), eth);
}

// ---------------------------------------------------------------------------------------------
// Whole IP packets, family chosen by the addresses

/** IP header fields for the one-call packet builders; v4-only and v6-only fields are ignored by the other family. */
export interface IpFields {
  src: AddrInput;
  dst: AddrInput;
  /** TTL / hop limit. */
  ttl?: number;
  /** IPv4 identification. */
  ipId?: number;
  df?: boolean;
  tos?: number;
  ipOptions?: Uint8Array;
  /** IPv6 extension headers. */
  extensions?: Ipv6Extension[];
  flowLabel?: number;
}

/** An IPv4 or IPv6 packet (by the source address's family) carrying payload of the given protocol. */
export function ipPacket(f: IpFields & { protocol: number; payload: Uint8Array }): Uint8Array {
  if (ipFamily(f.src) === 4) {
    const o: Ipv4Options = { src: f.src, dst: f.dst, protocol: f.protocol, payload: f.payload };
    if (f.ttl !== undefined) o.ttl = f.ttl;
    if (f.ipId !== undefined) o.id = f.ipId;
    if (f.df !== undefined) o.df = f.df;
    if (f.tos !== undefined) o.tos = f.tos;
    if (f.ipOptions !== undefined) o.options = f.ipOptions;
    return ipv4(o);
  }
  const o: Ipv6Options = { src: f.src, dst: f.dst, nextHeader: f.protocol, payload: f.payload };
  if (f.ttl !== undefined) o.hopLimit = f.ttl;
  if (f.tos !== undefined) o.trafficClass = f.tos;
  if (f.flowLabel !== undefined) o.flowLabel = f.flowLabel;
  if (f.extensions !== undefined) o.extensions = f.extensions;
  return ipv6(o);
}

type TcpSegmentFields = Omit<TcpOptions, 'src' | 'dst'>;
type UdpDatagramFields = Omit<UdpOptions, 'src' | 'dst'>;

/** A whole IPv4/IPv6 packet carrying one TCP segment. */
export function tcpPacket(f: IpFields & TcpSegmentFields): Uint8Array {
  return ipPacket({ ...f, protocol: IPPROTO_TCP, payload: tcp(f) });
}

/** A whole IPv4/IPv6 packet carrying one UDP datagram. */
export function udpPacket(f: IpFields & UdpDatagramFields): Uint8Array {
  return ipPacket({ ...f, protocol: IPPROTO_UDP, payload: udp(f) });
}

/** ICMP or ICMPv6 echo request/reply, by family. */
export function echoPacket(f: IpFields & EchoOptions): Uint8Array {
  if (ipFamily(f.src) === 4) return ipPacket({ ...f, protocol: IPPROTO_ICMP, payload: icmpEcho(f) });
  return ipPacket({ ...f, protocol: IPPROTO_ICMPV6, payload: icmpv6Echo(f) });
}

/** IPv4 packet carrying an ICMP error that quotes `quoted`. */
export function icmpErrorPacket(f: IpFields & IcmpErrorOptions): Uint8Array {
  return ipPacket({ ...f, protocol: IPPROTO_ICMP, payload: icmpError(f) });
}

/** IPv6 packet carrying an ICMPv6 error that quotes `quoted`. */
export function icmpv6ErrorPacket(f: IpFields & Omit<Icmpv6ErrorOptions, 'src' | 'dst'>): Uint8Array {
  return ipPacket({ ...f, protocol: IPPROTO_ICMPV6, payload: icmpv6Error(f) });
}
